//! Cloud Storage as a [`Sink`], through the `gcloud-storage` client and
//! Google's JSON API (simple media uploads, object listing, deletes), which
//! the GCS emulators implement as well. Credentials: none for an emulator
//! (`anonymous`), a service-account key (file or JSON), or Application
//! Default Credentials. Keys are never printed.

use futures::future::BoxFuture;
use gcloud_storage::client::google_cloud_auth::credentials::CredentialsFile;
use gcloud_storage::client::{Client, ClientConfig};
use gcloud_storage::http::objects::delete::DeleteObjectRequest;
use gcloud_storage::http::objects::list::ListObjectsRequest;
use gcloud_storage::http::objects::upload::{Media, UploadObjectRequest, UploadType};

use super::sink::{Sink, write_error};
use crate::error::{Diagnostic, Error, Result};
use crate::profile::Secret;

/// How to reach Cloud Storage.
#[derive(Debug, Clone, Default)]
pub struct GcsSettings {
    /// A custom endpoint, e.g. an emulator on `http://127.0.0.1:4443`.
    pub endpoint: Option<String>,
    /// Send no credentials (emulators).
    pub anonymous: bool,
    /// A service-account key file.
    pub keyfile: Option<std::path::PathBuf>,
    /// A service-account key as JSON.
    pub keyfile_json: Option<Secret>,
}

/// One folder in a bucket.
pub struct GcsSink {
    client: Client,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for GcsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GcsSink(gs://{}/{})", self.bucket, self.prefix)
    }
}

fn setup_error(bucket: &str, message: impl std::fmt::Display) -> Error {
    Error::config(
        Diagnostic::new(format!("cannot set up Cloud Storage for gs://{bucket}: {message}"))
            .help("set `storage:` in the profile target (endpoint, anonymous, keyfile, keyfile_json), or GOOGLE_APPLICATION_CREDENTIALS; STORAGE_EMULATOR_HOST points at an emulator"),
    )
}

/// A client for `settings` (the TLS crypto provider is installed once, here).
pub async fn client(bucket: &str, settings: &GcsSettings) -> Result<Client> {
    // reqwest is built without a bundled provider: use ring (already a dependency).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = ClientConfig::default();
    if let Some(endpoint) = &settings.endpoint {
        config.storage_endpoint = endpoint.trim_end_matches('/').to_string();
    }
    let config = if settings.anonymous {
        config.anonymous()
    } else if let Some(key) = &settings.keyfile_json {
        let credentials = CredentialsFile::new_from_str(key.expose())
            .await
            .map_err(|_| setup_error(bucket, "keyfile_json is not a service-account key"))?;
        config
            .with_credentials(credentials)
            .await
            .map_err(|e| setup_error(bucket, e))?
    } else if let Some(path) = &settings.keyfile {
        let credentials = CredentialsFile::new_from_file(path.display().to_string())
            .await
            .map_err(|e| setup_error(bucket, format!("keyfile {}: {e}", path.display())))?;
        config
            .with_credentials(credentials)
            .await
            .map_err(|e| setup_error(bucket, e))?
    } else {
        config
            .with_auth()
            .await
            .map_err(|e| setup_error(bucket, e))?
    };
    Ok(Client::new(config))
}

impl GcsSink {
    /// The folder `prefix` (no leading or trailing `/`) of `bucket`.
    pub async fn connect(bucket: &str, prefix: &str, settings: &GcsSettings) -> Result<GcsSink> {
        Ok(GcsSink {
            client: client(bucket, settings).await?,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn object(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    fn fail(&self, action: &str, name: &str, e: impl std::fmt::Display) -> Error {
        Error::execution(Diagnostic::new(format!(
            "could not {action} {}: {e}",
            self.address(name)
        )))
    }
}

fn not_found(e: &gcloud_storage::http::Error) -> bool {
    matches!(e, gcloud_storage::http::Error::Response(r) if r.code == 404)
}

impl Sink for GcsSink {
    fn address(&self, name: &str) -> String {
        format!("gs://{}/{}", self.bucket, self.object(name))
    }

    fn put<'a>(&'a self, name: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut media = Media::new(self.object(name));
            media.content_type = if name.ends_with(".json") {
                "application/json".into()
            } else {
                "text/csv".into()
            };
            let request = UploadObjectRequest {
                bucket: self.bucket.clone(),
                ..Default::default()
            };
            self.client
                .upload_object(&request, bytes, &UploadType::Simple(media))
                .await
                .map(|_| ())
                .map_err(|e| write_error(&self.address(name), e))
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let folder = if self.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", self.prefix)
            };
            let mut names = Vec::new();
            let mut page_token = None;
            loop {
                let request = ListObjectsRequest {
                    bucket: self.bucket.clone(),
                    prefix: (!folder.is_empty()).then(|| folder.clone()),
                    delimiter: Some("/".into()),
                    page_token,
                    ..Default::default()
                };
                let page = self
                    .client
                    .list_objects(&request)
                    .await
                    .map_err(|e| self.fail("list", "", e))?;
                for object in page.items.into_iter().flatten() {
                    if let Some(name) = object.name.strip_prefix(folder.as_str())
                        && !name.is_empty()
                        && !name.contains('/')
                    {
                        names.push(name.to_string());
                    }
                }
                match page.next_page_token {
                    Some(token) if !token.is_empty() => page_token = Some(token),
                    _ => break,
                }
            }
            names.sort();
            Ok(names)
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let request = DeleteObjectRequest {
                bucket: self.bucket.clone(),
                object: self.object(name),
                ..Default::default()
            };
            match self.client.delete_object(&request).await {
                Ok(()) => Ok(()),
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(self.fail("delete", name, e)),
            }
        })
    }
}

/// Whole objects of one bucket read and written under generation
/// preconditions (`ifGenerationMatch`): the schedule state and its lock in
/// Cloud Storage. Writes go as multipart uploads, which carry the
/// precondition on Cloud Storage and on the fake-gcs-server emulator alike
/// (the emulator ignores it on simple media uploads, and on deletes: there
/// [`GcsObjects::delete_if`] deletes whatever generation is there).
pub struct GcsObjects {
    client: Client,
    bucket: String,
}

impl std::fmt::Debug for GcsObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GcsObjects(gs://{})", self.bucket)
    }
}

fn precondition_failed(e: &gcloud_storage::http::Error) -> bool {
    matches!(e, gcloud_storage::http::Error::Response(r) if r.code == 412)
}

/// Reads retried when the object changes between its metadata and its bytes.
const READ_ATTEMPTS: usize = 3;

impl GcsObjects {
    pub async fn connect(bucket: &str, settings: &GcsSettings) -> Result<GcsObjects> {
        Ok(GcsObjects {
            client: client(bucket, settings).await?,
            bucket: bucket.to_string(),
        })
    }

    /// `gs://bucket/name`.
    pub fn address(&self, name: &str) -> String {
        format!("gs://{}/{name}", self.bucket)
    }

    fn fail(&self, action: &str, name: &str, e: impl std::fmt::Display) -> Error {
        Error::execution(
            Diagnostic::new(format!("could not {action} {}: {e}", self.address(name))).help(
                "check the bucket and the credentials (`storage:` in the profile target, GOOGLE_APPLICATION_CREDENTIALS or STORAGE_EMULATOR_HOST)",
            ),
        )
    }

    /// The object's bytes and generation; `None` when it does not exist.
    pub async fn read(&self, name: &str) -> Result<Option<(Vec<u8>, i64)>> {
        use gcloud_storage::http::objects::download::Range;
        use gcloud_storage::http::objects::get::GetObjectRequest;
        for _ in 0..READ_ATTEMPTS {
            let request = GetObjectRequest {
                bucket: self.bucket.clone(),
                object: name.to_string(),
                ..Default::default()
            };
            let generation = match self.client.get_object(&request).await {
                Ok(object) => object.generation,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(self.fail("read", name, e)),
            };
            // The bytes of exactly that generation, or a retry.
            let pinned = GetObjectRequest {
                if_generation_match: Some(generation),
                ..request
            };
            match self
                .client
                .download_object(&pinned, &Range::default())
                .await
            {
                Ok(bytes) => return Ok(Some((bytes, generation))),
                Err(e) if not_found(&e) || precondition_failed(&e) => continue,
                Err(e) => return Err(self.fail("read", name, e)),
            }
        }
        Err(self.fail(
            "read",
            name,
            format!("it changed during each of {READ_ATTEMPTS} reads"),
        ))
    }

    /// Write `bytes` if the object's generation is still `if_generation`
    /// (0: only if it does not exist). The new generation, or `None` when
    /// the precondition failed (someone else wrote the object).
    pub async fn write_if(
        &self,
        name: &str,
        bytes: Vec<u8>,
        if_generation: i64,
    ) -> Result<Option<i64>> {
        use gcloud_storage::http::objects::Object;
        let object = Object {
            name: name.to_string(),
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        let request = UploadObjectRequest {
            bucket: self.bucket.clone(),
            if_generation_match: Some(if_generation),
            ..Default::default()
        };
        match self
            .client
            .upload_object(&request, bytes, &UploadType::Multipart(Box::new(object)))
            .await
        {
            Ok(object) => Ok(Some(object.generation)),
            Err(e) if precondition_failed(&e) => Ok(None),
            Err(e) => Err(self.fail("write", name, e)),
        }
    }

    /// Delete the object if its generation is still `generation`; a missing
    /// object or a newer generation is left alone.
    pub async fn delete_if(&self, name: &str, generation: i64) -> Result<()> {
        let request = DeleteObjectRequest {
            bucket: self.bucket.clone(),
            object: name.to_string(),
            if_generation_match: Some(generation),
            ..Default::default()
        };
        match self.client.delete_object(&request).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) || precondition_failed(&e) => Ok(()),
            Err(e) => Err(self.fail("delete", name, e)),
        }
    }
}
