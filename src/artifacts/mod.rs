//! Files a run leaves in `target/`: the compiled SQL of every model
//! (`compiled/`, `run/`), `manifest.json` (deterministic: the same project
//! gives the same bytes) and `run_results.json`. Each is written to a
//! temporary name and renamed into place; compiled files whose bytes did
//! not change are not written again ([`folder`]).

mod folder;
mod manifest;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::compile::{CompiledNode, CompiledProject};
use crate::error::{Error, Result};
use crate::project::Project;
use crate::run::RunSummary;
use crate::testing::CompiledTest;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The run results' file name.
pub const RUN_RESULTS: &str = "run_results.json";

/// `target/compiled/<dir>/<model>.sql`: where a node's SELECT is written.
pub fn compiled_path(target_dir: &Path, node: &CompiledNode) -> PathBuf {
    target_dir.join("compiled").join(node_relative_path(node))
}

/// `target/run/<dir>/<model>.sql`: where a node's full statement is written.
pub fn run_path(target_dir: &Path, node: &CompiledNode) -> PathBuf {
    target_dir.join("run").join(node_relative_path(node))
}

fn node_relative_path(node: &CompiledNode) -> PathBuf {
    let dir = node
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    dir.join(format!("{}.sql", node.name))
}

/// `<model>.incremental.sql` next to an incremental model's files: its batch
/// SELECT (`compiled/`) and the script applying it (`run/`).
pub fn incremental_relative_path(node: &CompiledNode) -> PathBuf {
    node_relative_path(node).with_extension("incremental.sql")
}

/// Write `compiled/` (every node's SELECT and every test's query), `run/`
/// (every node's statement) and `manifest.json` for `compiled`. Files
/// already holding the same bytes are left alone; files of nodes or tests
/// that are gone are removed (see [`folder::sync`]).
pub fn write_compiled(
    target_dir: &Path,
    project: &Project,
    compiled: &CompiledProject,
    tests: &[CompiledTest],
) -> Result<()> {
    let mut selects: BTreeMap<PathBuf, &[u8]> = BTreeMap::new();
    let mut statements: BTreeMap<PathBuf, &[u8]> = BTreeMap::new();
    for node in compiled.nodes.values() {
        let path = node_relative_path(node);
        selects.insert(path.clone(), node.sql.as_bytes());
        statements.insert(path, node.run_sql.as_bytes());
        if let Some(incremental) = &node.incremental {
            let path = incremental_relative_path(node);
            selects.insert(path.clone(), incremental.sql.as_bytes());
            statements.insert(path, incremental.run_sql.as_bytes());
        }
    }
    for test in tests {
        selects.insert(test_relative_path(test), test.sql.as_bytes());
    }
    let daily_refresh = daily_refresh_script(project, compiled);
    if let Some(script) = &daily_refresh {
        statements.insert(PathBuf::from(DAILY_REFRESH), script.as_bytes());
    }
    // The manifest is rendered and written while the folders are synced.
    std::thread::scope(|scope| {
        let manifest = scope.spawn(|| {
            write_json(
                &target_dir.join(MANIFEST),
                &manifest::Manifest::new(project, compiled),
            )
        });
        let folders = folder::sync(&target_dir.join("compiled"), &selects)
            .and_then(|_| folder::sync(&target_dir.join("run"), &statements));
        let manifest = manifest
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        folders.and(manifest)
    })
}

/// Where `cohort compile` writes the daily segment tables' script (under `target/run/`).
pub const DAILY_REFRESH: &str = "segment_daily/refresh.sql";

/// The BigQuery script of `cohort segments refresh` for `as_of`, every
/// segment; `None` without segments.
fn daily_refresh_script(project: &Project, compiled: &CompiledProject) -> Option<String> {
    use crate::compile::segment::daily;
    let names: Vec<String> = compiled.graph.order().to_vec();
    let segments = daily::daily_segments(project, compiled, &names);
    if segments.is_empty() {
        return None;
    }
    let tables = daily::DailyTables::new(
        compiled.target.project().map(str::to_string),
        compiled.target.dataset(),
    );
    Some(daily::bigquery_script(&segments, &tables, project.as_of))
}

/// `target/compiled/<dir>/tests/<test>.sql`: where a data test's query is written.
pub fn compiled_test_path(target_dir: &Path, test: &CompiledTest) -> PathBuf {
    target_dir.join("compiled").join(test_relative_path(test))
}

fn test_relative_path(test: &CompiledTest) -> PathBuf {
    let dir = test
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    dir.join("tests").join(format!("{}.sql", test.name))
}

/// Write `run_results.json`.
pub fn write_run_results(target_dir: &Path, command: &str, summary: &RunSummary) -> Result<()> {
    let value = json!({
        "metadata": {
            "cohort_version": env!("CARGO_PKG_VERSION"),
            "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "command": command,
        },
        "elapsed_time": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "interrupted": summary.interrupted,
        "results": summary.results,
        "tests": summary.tests,
    });
    write_json(&target_dir.join(RUN_RESULTS), &value)
}

/// Write pretty JSON atomically (temp file, then rename).
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| {
        Error::execution(crate::Diagnostic::new(format!(
            "cannot serialize {}: {e}",
            path.display()
        )))
    })?;
    write_atomic(path, format!("{text}\n").as_bytes())
}

/// Write `bytes` to `path` through a hidden temporary file next to it and a
/// rename: a reader sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_file(path, bytes, false)
}

/// [`write_atomic`], synced to disk (the file, then its folder's entry)
/// before it returns: for what must survive a crash (table pointers,
/// schedule state, exported objects).
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_file(path, bytes, true)
}

fn replace_file(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            if durable { file.sync_all() } else { Ok(()) }
        })
        .map_err(|e| Error::io("write", &tmp, e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    if durable {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Sync a folder, so the entries renamed into it survive a crash (Unix;
/// elsewhere a no-op).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
        handle.sync_all().map_err(|e| Error::io("sync", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
