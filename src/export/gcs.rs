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
