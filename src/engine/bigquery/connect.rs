//! A `gcp-bigquery-client` [`Client`] for a BigQuery target of
//! `profiles.yml`: the credentials its `method` names, and its
//! `api_base_url` (an emulator) when set. Failures say which credential is
//! missing and how to provide it, and never quote a secret.

use std::sync::Arc;

use gcp_bigquery_client::Client;
use gcp_bigquery_client::auth::Authenticator;
use gcp_bigquery_client::client_builder::ClientBuilder;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::yup_oauth2;

use crate::error::{Diagnostic, Error, Result};
use crate::profile::BigQueryTarget;

/// The credential methods a BigQuery target accepts.
pub const METHODS: &str = "service-account, service-account-json, oauth, none";

/// How requests are authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A service-account key file.
    KeyFile(std::path::PathBuf),
    /// A service-account key given inline (usually from an environment variable).
    KeyJson,
    /// Application default credentials (`gcloud auth application-default login`, metadata server).
    ApplicationDefault,
    /// No credentials: only for an emulator (`api_base_url`).
    None,
}

impl Credentials {
    /// Which credentials `target` asks for, or what is missing.
    pub fn of(target: &BigQueryTarget, target_name: &str) -> Result<Credentials> {
        let missing = |what: &str, help: &str| {
            Error::config(
                Diagnostic::new(format!("target `{target_name}`: {what}")).help(help.to_string()),
            )
        };
        match target.method.as_str() {
            "service-account" => match (&target.keyfile, &target.keyfile_json) {
                (Some(path), _) => Ok(Credentials::KeyFile(path.clone())),
                (None, Some(_)) => Ok(Credentials::KeyJson),
                (None, None) => Err(missing(
                    "method `service-account` needs `keyfile` (a path to the key JSON) or `keyfile_json`",
                    "add `keyfile: /path/to/key.json`, or `keyfile_json: \"{{ env_var('COHORT_SA_KEY') }}\"`",
                )),
            },
            "service-account-json" => match &target.keyfile_json {
                Some(_) => Ok(Credentials::KeyJson),
                None => Err(missing(
                    "method `service-account-json` needs `keyfile_json`",
                    "add `keyfile_json: \"{{ env_var('COHORT_SA_KEY') }}\"` and export the key in that variable",
                )),
            },
            "oauth" => Ok(Credentials::ApplicationDefault),
            "none" if target.api_base_url.is_some() => Ok(Credentials::None),
            "none" => Err(missing(
                "method `none` (no credentials) only works with an emulator",
                "set `api_base_url: http://127.0.0.1:PORT` to the emulator, or use method `oauth` or `service-account`",
            )),
            other => Err(missing(
                &format!("unknown method `{other}`"),
                &format!("use one of: {METHODS}"),
            )),
        }
    }

    /// How the credentials are described to a person (never the secret).
    pub fn describe(&self) -> String {
        match self {
            Credentials::KeyFile(path) => format!("service-account key file {}", path.display()),
            Credentials::KeyJson => "service-account key from `keyfile_json` (redacted)".into(),
            Credentials::ApplicationDefault => "application default credentials".into(),
            Credentials::None => "none (emulator)".into(),
        }
    }
}

/// An authenticator for emulators, which accept any bearer token.
#[derive(Clone)]
struct NoCredentials;

#[async_trait::async_trait]
impl Authenticator for NoCredentials {
    async fn access_token(&self) -> std::result::Result<String, BQError> {
        Ok("emulator".into())
    }
}

/// Build the client for `target`.
pub async fn client(target: &BigQueryTarget, target_name: &str) -> Result<Client> {
    let credentials = Credentials::of(target, target_name)?;
    if target.impersonate_service_account.is_some() {
        return Err(Error::config(
            Diagnostic::new(format!(
                "target `{target_name}`: `impersonate_service_account` is not supported yet"
            ))
            .help("remove it and authenticate as the service account itself (method: service-account)"),
        ));
    }
    let mut builder = ClientBuilder::new();
    if let Some(url) = &target.api_base_url {
        builder.with_v2_base_url(v2_url(url));
    }
    let fail = |what: &str, e: BQError| {
        Error::config(
            Diagnostic::new(format!(
                "target `{target_name}`: cannot use {what}: {}",
                redact(&e.to_string(), target)
            ))
            .help(match &credentials {
                Credentials::ApplicationDefault => "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file, or use method: service-account".to_string(),
                _ => "check that the key is a service-account key JSON (type: service_account)".to_string(),
            }),
        )
    };
    match &credentials {
        Credentials::KeyFile(path) => {
            if !path.is_file() {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "target `{target_name}`: the key file {} does not exist",
                        path.display()
                    ))
                    .help("point `keyfile` at a service-account key JSON, or use `keyfile_json` with env_var()"),
                ));
            }
            let key = yup_oauth2::read_service_account_key(path)
                .await
                .map_err(|e| fail(&credentials.describe(), BQError::from(e)))?;
            builder
                .build_from_service_account_key(key, false)
                .await
                .map_err(|e| fail(&credentials.describe(), e))
        }
        Credentials::KeyJson => {
            let json = target
                .keyfile_json
                .as_ref()
                .map(|s| s.expose())
                .unwrap_or_default();
            // The parse error of serde_json could quote the key: never show it.
            let key = yup_oauth2::parse_service_account_key(json).map_err(|_| {
                Error::config(
                    Diagnostic::new(format!(
                        "target `{target_name}`: `keyfile_json` is not a service-account key JSON"
                    ))
                    .help("export the whole key file's content, e.g. COHORT_SA_KEY=\"$(cat key.json)\""),
                )
            })?;
            builder
                .build_from_service_account_key(key, false)
                .await
                .map_err(|e| fail(&credentials.describe(), e))
        }
        Credentials::ApplicationDefault => {
            if !application_default_available() {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "target `{target_name}`: method `oauth` found no application default credentials (GOOGLE_APPLICATION_CREDENTIALS is not set, there is no gcloud application-default login, and this is not a Google Cloud machine)"
                    ))
                    .help("run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file, or use method: service-account with `keyfile`"),
                ));
            }
            builder
                .build_from_application_default_credentials()
                .await
                .map_err(|e| fail(&credentials.describe(), e))
        }
        Credentials::None => builder
            .build_from_authenticator(Arc::new(NoCredentials))
            .await
            .map_err(|e| fail(&credentials.describe(), e)),
    }
}

/// Whether application default credentials can be found without asking a
/// server: the key file of GOOGLE_APPLICATION_CREDENTIALS, gcloud's
/// application-default login, or a Google Cloud machine (whose metadata
/// server gives tokens; detected as google-auth does, by the DMI product
/// name, or `GCE_METADATA_HOST`).
fn application_default_available() -> bool {
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some()
        || std::env::var_os("GCE_METADATA_HOST").is_some()
    {
        return true;
    }
    let gcloud = std::env::var_os("CLOUDSDK_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config/gcloud"))
        });
    if gcloud.is_some_and(|dir| dir.join("application_default_credentials.json").is_file()) {
        return true;
    }
    std::fs::read_to_string("/sys/class/dmi/id/product_name")
        .is_ok_and(|name| name.trim().starts_with("Google"))
}

/// `http://127.0.0.1:9050` → `http://127.0.0.1:9050/bigquery/v2` (a full
/// v2 URL is kept as given).
pub fn v2_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/bigquery/v2") {
        base.to_string()
    } else {
        format!("{base}/bigquery/v2")
    }
}

/// `text` with the target's secret removed, should an error quote it.
pub fn redact(text: &str, target: &BigQueryTarget) -> String {
    Redactor::for_target(target).apply(text)
}

/// Removes a target's secrets from text: the whole inline key and each of
/// its longer values (the private key, its id, ...). Never shows them in Debug.
#[derive(Clone, Default)]
pub struct Redactor(Vec<String>);

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.0.len())
    }
}

impl Redactor {
    pub fn for_target(target: &BigQueryTarget) -> Redactor {
        let Some(secret) = target.keyfile_json.as_ref().map(|s| s.expose()) else {
            return Redactor::default();
        };
        let mut secrets = vec![secret.to_string()];
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(secret) {
            for value in map.values() {
                if let Some(text) = value.as_str().filter(|t| t.len() >= 8) {
                    secrets.push(text.to_string());
                    // A PEM key's lines, should one be quoted alone.
                    secrets.extend(
                        text.lines()
                            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                            .map(str::to_string),
                    );
                }
            }
        }
        secrets.retain(|s| !s.trim().is_empty());
        // Longest first, so a value inside another is not left half-replaced.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor(secrets)
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: &str) -> BigQueryTarget {
        serde_json::from_value(serde_json::json!({
            "project": "p", "dataset": "d", "method": method,
        }))
        .unwrap()
    }

    #[test]
    fn the_v2_path_is_added_once() {
        assert_eq!(
            v2_url("http://127.0.0.1:9050/"),
            "http://127.0.0.1:9050/bigquery/v2"
        );
        assert_eq!(v2_url("http://h/bigquery/v2"), "http://h/bigquery/v2");
    }

    #[test]
    fn the_key_and_its_parts_are_redacted() {
        let mut t = target("service-account-json");
        let key = r#"{"type": "service_account", "private_key_id": "abcdef0123456789", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}"#;
        t.keyfile_json = serde_json::from_value(serde_json::json!(key)).unwrap();
        let redactor = Redactor::for_target(&t);
        let text = redactor.apply("bad key abcdef0123456789 near MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
        assert_eq!(text, "bad key <redacted> near <redacted>");
        assert!(!format!("{redactor:?}").contains("abcdef"));
    }

    #[test]
    fn missing_credentials_say_what_to_add() {
        let err = Credentials::of(&target("service-account"), "prod").unwrap_err();
        let d = err.diagnostic().unwrap();
        assert!(d.message.contains("needs `keyfile`"), "{d}");
        assert!(err.is_config());
        let err = Credentials::of(&target("none"), "prod").unwrap_err();
        assert!(err.to_string().contains("emulator"), "{err}");
        let err = Credentials::of(&target("kerberos"), "prod").unwrap_err();
        assert!(
            err.diagnostic()
                .unwrap()
                .help
                .as_deref()
                .unwrap()
                .contains("oauth")
        );
    }
}
