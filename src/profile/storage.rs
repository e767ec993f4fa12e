//! `storage:` in a local target: how exports reach Cloud Storage (without
//! it, Application Default Credentials). The `STORAGE_EMULATOR_HOST`
//! environment variable (as Google's client libraries read it) points at
//! an emulator without credentials.

use std::path::PathBuf;

use serde::Deserialize;

use super::target::Secret;

/// Cloud Storage settings of a target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageProfile {
    /// A custom endpoint, e.g. an emulator: `http://127.0.0.1:4443`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Send no credentials (emulators).
    #[serde(default)]
    pub anonymous: bool,
    /// A service-account key file.
    #[serde(default)]
    pub keyfile: Option<PathBuf>,
    /// A service-account key as JSON (use `{{ env_var('...') }}`).
    #[serde(default)]
    pub keyfile_json: Option<Secret>,
}
