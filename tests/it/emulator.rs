//! A BigQuery REST emulator on 127.0.0.1 for the BigQuery tests: PyPI's
//! `bqemulator` (DuckDB underneath), started on a free port in a temp dir
//! through `tests/bqemulator/start.py`, stopped when dropped. A missing
//! install fails loudly with the command that installs it (`.ci/run` does).
//!
//! [`FaultProxy`] sits between cohort and the emulator on another loopback
//! port: it answers the first jobs.insert calls with HTTP 503
//! (`backendError`, as BigQuery does) and forwards everything else,
//! recording the request bodies; it can also report a dry run's bytes as
//! a given number, since the emulator prices every query at 0 bytes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::repo_root;

/// The pinned emulator, as `.ci/run` installs it.
pub const INSTALL_HINT: &str =
    "python3 -m pip install bqemulator==1.4.0 duckdb==1.5.6 numpy==2.4.6";
/// The GCP project the tests use.
pub const PROJECT: &str = "cohort-test";

pub struct Emulator {
    child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Emulator {
    pub fn start() -> Emulator {
        let python = std::env::var("COHORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let probe = Command::new(&python)
            .args([
                "-c",
                "import bqemulator, numpy, duckdb; assert duckdb.__version__.startswith('1.'), 'bqemulator 1.4 needs DuckDB 1.x, found ' + duckdb.__version__",
            ])
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "the BigQuery emulator is not installed for {python}: {}\ninstall it with: {INSTALL_HINT}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!(
                "cannot run {python} ({e}); the BigQuery tests need Python 3 and: {INSTALL_HINT}"
            ),
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("emulator.log");
        let port = free_port();
        let child = Command::new(&python)
            .arg(repo_root().join("tests/bqemulator/start.py"))
            .args(["--rest-port", &port.to_string(), "--grpc-port", "0"])
            .args(["--project", PROJECT, "--log-level", "warning"])
            .env("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log file"))
            .stderr(std::fs::File::create(dir.path().join("emulator.err")).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the emulator: {e}\n{INSTALL_HINT}"));
        let mut emulator = Emulator {
            child,
            port,
            log,
            _dir: dir,
        };
        emulator.wait_ready();
        emulator
    }

    /// The `api_base_url` of a profile pointing at the emulator.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the BigQuery emulator exited ({status}) at start-up:\n{}\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default(),
                    std::fs::read_to_string(self.log.with_file_name("emulator.err"))
                        .unwrap_or_default()
                );
            }
            let path = format!("/bigquery/v2/projects/{PROJECT}/datasets");
            if http_get(self.port, &path).is_some_and(|status| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the BigQuery emulator did not answer on port {} within 120 s",
            self.port
        );
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET path` on the emulator's REST API, as JSON.
pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}\n{response}"))
}

/// The status code of `GET path`, if the server answers.
fn http_get(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A loopback HTTP proxy in front of the emulator that injects faults.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<ProxyState>,
}

struct ProxyState {
    upstream: u16,
    /// jobs.insert calls still to answer with 503.
    failures_left: AtomicUsize,
    /// 503s served.
    injected: AtomicUsize,
    /// Dry runs report this many bytes processed.
    dry_run_bytes: Mutex<Option<u64>>,
    /// Bodies of the requests forwarded.
    bodies: Mutex<Vec<String>>,
    /// Hold jobs.insert calls whose query contains this until a job is cancelled.
    hold: Mutex<Option<String>>,
    /// Request lines of jobs.cancel calls.
    cancels: Mutex<Vec<String>>,
    /// jobs.insert calls being held.
    holding: AtomicUsize,
    stop: AtomicBool,
}

impl FaultProxy {
    pub fn start(upstream: u16, failures: usize) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(ProxyState {
            upstream,
            failures_left: AtomicUsize::new(failures),
            injected: AtomicUsize::new(0),
            dry_run_bytes: Mutex::new(None),
            bodies: Mutex::new(Vec::new()),
            hold: Mutex::new(None),
            cancels: Mutex::new(Vec::new()),
            holding: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        FaultProxy { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Report `bytes` as every dry run's bytes processed.
    pub fn price_dry_runs(&self, bytes: u64) {
        *self.state.dry_run_bytes.lock().unwrap() = Some(bytes);
    }

    /// Keep jobs.insert calls whose SQL contains `text` waiting (as a long
    /// job would) until cohort cancels a job, then forward them.
    pub fn hold_jobs_containing(&self, text: &str) {
        *self.state.hold.lock().unwrap() = Some(text.to_string());
    }

    /// How many jobs.insert calls are being held now.
    pub fn holding(&self) -> usize {
        self.state.holding.load(Ordering::SeqCst)
    }

    /// The jobs.cancel calls seen (their request lines).
    pub fn cancels(&self) -> Vec<String> {
        self.state.cancels.lock().unwrap().clone()
    }

    pub fn injected(&self) -> usize {
        self.state.injected.load(Ordering::SeqCst)
    }

    pub fn bodies(&self) -> Vec<String> {
        self.state.bodies.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request per connection: read it, answer 503 or forward it.
fn serve(client: TcpStream, state: &ProxyState) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.clone();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let body_text = String::from_utf8_lossy(&body).to_string();
    let is_job_insert = request_line.starts_with("POST ")
        && request_line.contains("/jobs ")
        && !body_text.contains("\"dryRun\":true");
    let mut client = client;
    if is_job_insert
        && state
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        state.injected.fetch_add(1, Ordering::SeqCst);
        let json = r#"{"error":{"code":503,"message":"Service unavailable (injected by the test proxy)","errors":[{"message":"Service unavailable","domain":"global","reason":"backendError"}],"status":"UNAVAILABLE"}}"#;
        write!(
            client,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )?;
        return Ok(());
    }
    if request_line.starts_with("POST ") && request_line.contains("/cancel") {
        state
            .cancels
            .lock()
            .unwrap()
            .push(request_line.trim().to_string());
    }
    let held = state.hold.lock().unwrap().clone();
    if is_job_insert && held.is_some_and(|text| body_text.contains(&text)) {
        // Bounded: a cohort that never cancels fails the test's assertion instead.
        state.holding.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(60);
        while state.cancels.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        state.holding.fetch_sub(1, Ordering::SeqCst);
    }
    state.bodies.lock().unwrap().push(body_text.clone());
    let mut upstream = TcpStream::connect(("127.0.0.1", state.upstream))?;
    upstream.write_all(&head)?;
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    upstream.write_all(&body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    let dry_bytes = *state.dry_run_bytes.lock().unwrap();
    if let Some(bytes) = dry_bytes.filter(|_| body_text.contains("\"dryRun\":true")) {
        response = reprice(&response, bytes);
    }
    client.write_all(&response)?;
    Ok(())
}

/// The response with `"totalBytesProcessed":"0"` replaced by `bytes` (and its Content-Length fixed).
fn reprice(response: &[u8], bytes: u64) -> Vec<u8> {
    let text = String::from_utf8_lossy(response).to_string();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return response.to_vec();
    };
    let body = body.replace(
        "\"totalBytesProcessed\":\"0\"",
        &format!("\"totalBytesProcessed\":\"{bytes}\""),
    );
    let head: Vec<String> = head
        .lines()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("content-length: {}", body.len())
            } else {
                l.to_string()
            }
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

/// A `profiles.yml` with a `bq` target on `url` (and the default `local` one).
pub fn write_profile(dir: &Path, profile: &str, url: &str, extra: &str) {
    crate::support::write(
        dir,
        "profiles.yml",
        &format!(
            "{profile}:\n  target: local\n  outputs:\n    local:\n      type: local\n    bq:\n      type: bigquery\n      project: {PROJECT}\n      dataset: analytics\n      location: US\n      method: none\n      api_base_url: {url}\n{extra}"
        ),
    );
}
