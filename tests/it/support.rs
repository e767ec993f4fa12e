//! Shared test helpers: run the real `cohort` binary in temp dirs, copy the
//! example project, and generate sample data once per test run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The date all tests use as `as_of`, so results never depend on the day.
pub const AS_OF: &str = "2026-11-23";

/// The repository root (holds the example project).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The result of one `cohort` invocation.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panic with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect_code(0)
    }
}

/// A `cohort` command in `dir`, with colors off and a clean environment for profiles.
pub fn cohort(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cohort"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir.join(".home"))
        .env_remove("COHORT_TARGET")
        .env_remove("COHORT_PROJECT_DIR")
        .env_remove("COHORT_PROFILES_DIR");
    cmd
}

/// Run `cohort args...` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    let output = cohort(dir).args(args).output().expect("run cohort");
    Run::from_output(output)
}

/// A temp dir holding a copy of the example project (cohort.yml, models/, macros/, segments/).
pub fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    std::fs::copy(root.join("cohort.yml"), dir.path().join("cohort.yml")).expect("copy cohort.yml");
    for folder in ["models", "macros", "segments", "data_tests"] {
        copy_dir(&root.join(folder), &dir.path().join(folder));
    }
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Sample data for 600 customers (seed 7, as of [`AS_OF`]), generated once per test run.
pub fn sample_data() -> &'static Path {
    static DATA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DATA
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("data");
            run(
                dir.path(),
                &[
                    "sample-data",
                    "--customers",
                    "600",
                    "--seed",
                    "7",
                    "--as-of",
                    AS_OF,
                    "--out",
                    out.to_str().expect("utf-8 path"),
                ],
            )
            .ok();
            (dir, out)
        })
        .1
}

/// `--vars` pointing the example project at the shared sample data.
pub fn sample_vars() -> String {
    format!(
        "{{as_of: {AS_OF}, data_dir: '{}'}}",
        sample_data().display()
    )
}

/// Run a query through `cohort show --inline ... --output json` and return (columns, rows).
pub fn query(dir: &Path, vars: &str, sql: &str) -> (Vec<String>, Vec<Vec<serde_json::Value>>) {
    let out = run(
        dir,
        &[
            "show", "--vars", vars, "--inline", sql, "--limit", "100000", "--output", "json",
        ],
    )
    .ok();
    let value: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", out.stdout));
    let columns = value["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c.as_str().expect("column name").to_string())
        .collect();
    let rows = value["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").clone())
        .collect();
    (columns, rows)
}

/// The single integer a query returns.
pub fn query_int(dir: &Path, vars: &str, sql: &str) -> i64 {
    let (_, rows) = query(dir, vars, sql);
    rows[0][0]
        .as_i64()
        .unwrap_or_else(|| panic!("not an integer: {rows:?}"))
}

/// Write `text` to `dir/rel`, creating folders.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}
