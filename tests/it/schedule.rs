//! Scheduled refreshes (`cohort schedule ...`) on hand-made data, with the
//! clock set by `--now`: catch-up of missed days, idempotent run-due, the
//! lock (held and stale), a failed day retried, list and install output.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Run, query, run, write};

const PEOPLE: &str = "id,email,revenue,seen_at,consent\n1,a@x.com,150.0,2026-11-20,true\n2,b@y.com,50.0,2026-11-21,false\n3,c@z.com,300.0,2026-11-22,true\n";

/// A `people` model over a CSV, a segment on it, and a daily schedule at 05:00 Berlin time.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "cohort.yml", "name: shop\nvars:\n  as_of: 2026-11-23\n");
    write(d, "data/raw_people.csv", PEOPLE);
    write(
        d,
        "models/sources.yml",
        "sources:\n  - name: crm\n    location: data\n    format: csv\n    tables:\n      - name: raw_people\n        columns:\n          - {name: id, type: INT64}\n          - {name: email, type: STRING}\n          - {name: revenue, type: FLOAT64}\n          - {name: seen_at, type: DATE}\n          - {name: consent, type: BOOL}\n",
    );
    write(
        d,
        "models/people.sql",
        "select id, revenue, seen_at from {{ source('crm', 'raw_people') }}\n",
    );
    write(
        d,
        "segments/s.yml",
        "segments:\n  - name: recent\n    from: ref('people')\n    entity_key: id\n    rules:\n      all:\n        - {column: seen_at, within_last: 2 days}\n",
    );
    write(
        d,
        "schedules/daily.yml",
        "schedules:\n  - name: daily\n    cron: \"0 5 * * *\"\n    timezone: Europe/Berlin\n    select: [people]\n    refresh_segments: true\n    catch_up: 7 days\n    retries: 1\n",
    );
    dir
}

fn run_due(dir: &Path, now: &str) -> Run {
    run(dir, &["schedule", "run-due", "--now", now])
}

/// The snapshot days in the daily stats table, in order.
fn snapshot_days(dir: &Path) -> Vec<Value> {
    query(
        dir,
        "{}",
        "select distinct cast(snapshot_date as string) from analytics.segment_daily_stats order by 1",
    )
    .1
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

fn state(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("target/schedule_state.json")).expect("state file");
    serde_json::from_str(&text).expect("state json")
}

/// The days `run-due` reported running, in order.
fn days_run(out: &Run) -> Vec<String> {
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("schedule daily: running "))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn catches_up_three_missed_days_in_order_then_runs_nothing() {
    let project = project();
    let d = project.path();
    // 06:00 in Berlin on the 20th: a new schedule runs only that day.
    let first = run_due(d, "2026-11-20T05:00:00Z").ok();
    assert_eq!(days_run(&first), vec!["2026-11-20"]);
    assert!(
        first
            .stdout
            .contains("schedule run-due: 1 day(s) succeeded (daily 2026-11-20), 0 failed"),
        "{}",
        first.stdout
    );
    // Three days later: the 21st, 22nd and 23rd, oldest first.
    let catch_up = run_due(d, "2026-11-23T05:00:00Z").ok();
    assert_eq!(
        days_run(&catch_up),
        vec!["2026-11-21", "2026-11-22", "2026-11-23"]
    );
    assert_eq!(
        snapshot_days(d),
        vec![
            json!("2026-11-20"),
            json!("2026-11-21"),
            json!("2026-11-22"),
            json!("2026-11-23")
        ]
    );
    assert_eq!(
        state(d)["schedules"]["daily"]["last_success"],
        json!("2026-11-23")
    );
    // Called again at once: nothing to do, nothing changes.
    let again = run_due(d, "2026-11-23T05:10:00Z").ok();
    assert!(days_run(&again).is_empty(), "{}", again.stdout);
    assert_eq!(again.stdout.trim(), "schedule run-due: nothing is due");
    assert_eq!(
        state(d)["schedules"]["daily"]["history"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    // --quiet keeps the summary line (for cron mail); JSON logs end with a summary event.
    let quiet = run(
        d,
        &[
            "schedule",
            "run-due",
            "--quiet",
            "--now",
            "2026-11-23T06:00:00Z",
        ],
    )
    .ok();
    assert_eq!(quiet.stdout, "schedule run-due: nothing is due\n");
    let logs = run(
        d,
        &[
            "schedule",
            "run-due",
            "--log-format",
            "json",
            "--now",
            "2026-11-24T04:00:00Z",
        ],
    )
    .ok();
    let events: Vec<Value> = logs
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == json!("schedule_day")
            && e["date"] == json!("2026-11-24")
            && e["status"] == json!("success")),
        "{events:#?}"
    );
    assert_eq!(
        events.last(),
        Some(
            &json!({"event": "schedule_run_due", "succeeded": ["daily 2026-11-24"], "failed": []})
        )
    );
    // The lock is released after each run.
    assert!(!d.join("target/schedule.lock").exists());
}

#[test]
fn a_failed_day_blocks_later_days_and_the_next_run_retries_it() {
    let project = project();
    let d = project.path();
    run_due(d, "2026-11-21T05:00:00Z").ok();
    write(
        d,
        "data/raw_people.csv",
        "id,email,revenue,seen_at\n1,a@x.com,not-a-number,2026-11-20\n",
    );
    let failed = run_due(d, "2026-11-23T05:00:00Z").expect_code(1);
    // The 22nd is tried twice (retries: 1); the 23rd waits.
    assert_eq!(days_run(&failed), vec!["2026-11-22", "2026-11-22"]);
    assert!(
        failed
            .stdout
            .contains("0 day(s) succeeded, 1 failed (daily 2026-11-22)"),
        "{}",
        failed.stdout
    );
    assert_eq!(snapshot_days(d), vec![json!("2026-11-21")]);
    assert_eq!(
        state(d)["schedules"]["daily"]["last_success"],
        json!("2026-11-21")
    );
    let history = &state(d)["schedules"]["daily"]["history"];
    assert_eq!(history[1]["status"], json!("failed"));
    assert_eq!(history[1]["attempts"], json!(2));

    write(d, "data/raw_people.csv", PEOPLE);
    let retried = run_due(d, "2026-11-23T05:30:00Z").ok();
    assert_eq!(days_run(&retried), vec!["2026-11-22", "2026-11-23"]);
    assert_eq!(
        snapshot_days(d),
        vec![
            json!("2026-11-21"),
            json!("2026-11-22"),
            json!("2026-11-23")
        ]
    );
}

#[test]
fn a_held_lock_stops_a_second_run() {
    let project = project();
    let d = project.path();
    // This test process is alive: it holds the lock as another run would.
    write(
        d,
        "target/schedule.lock",
        &json!({"pid": std::process::id(), "started_at": "2026-11-23T05:00:00Z"}).to_string(),
    );
    let out = run_due(d, "2026-11-23T05:01:00Z").expect_code(1);
    assert!(
        out.stderr.contains("another schedule run holds the lock"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        out.stderr
    );
    assert!(days_run(&out).is_empty());
    assert!(!d.join("target/schedule_state.json").exists());
    assert!(d.join("target/schedule.lock").exists());
}

#[test]
fn a_stale_lock_is_reported_not_broken() {
    let project = project();
    let d = project.path();
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead = child.id();
    child.wait().expect("wait");
    write(
        d,
        "target/schedule.lock",
        &json!({"pid": dead, "started_at": "2026-11-23T05:00:00Z"}).to_string(),
    );
    let out = run_due(d, "2026-11-23T05:01:00Z").expect_code(1);
    assert!(out.stderr.contains("stale schedule lock"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("process {dead} is no longer running")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("then remove"), "{}", out.stderr);
    assert!(d.join("target/schedule.lock").exists());
    // An old lock of a live process is stale too.
    write(
        d,
        "target/schedule.lock",
        &json!({"pid": std::process::id(), "started_at": "2026-11-22T05:00:00Z"}).to_string(),
    );
    let out = run_due(d, "2026-11-23T05:01:00Z").expect_code(1);
    assert!(out.stderr.contains("24 hour(s) ago"), "{}", out.stderr);
}

#[test]
fn list_shows_last_run_due_days_and_next_runs() {
    let project = project();
    let d = project.path();
    run_due(d, "2026-11-21T05:00:00Z").ok();
    let out = run(
        d,
        &[
            "schedule",
            "list",
            "--output",
            "json",
            "--now",
            "2026-11-23T05:00:00Z",
        ],
    )
    .ok();
    let value: Value = serde_json::from_str(&out.stdout).expect("json");
    let daily = &value[0];
    assert_eq!(daily["name"], json!("daily"));
    assert_eq!(daily["last_success"], json!("2026-11-21"));
    assert_eq!(daily["last_run"]["status"], json!("success"));
    assert_eq!(daily["due_now"], json!(["2026-11-22", "2026-11-23"]));
    assert_eq!(daily["next_runs"][0], json!("2026-11-24 05:00 CET"));
    let text = run(d, &["schedule", "list", "--now", "2026-11-23T05:00:00Z"]).ok();
    assert!(
        text.stdout.contains("due now:      2026-11-22, 2026-11-23"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_bad_schedule_is_a_config_error_with_its_location() {
    let project = project();
    let d = project.path();
    write(
        d,
        "schedules/daily.yml",
        "schedules:\n  - name: daily\n    cron: \"0 5 * * *\"\n    timezone: Europe/Berln\n    refresh_segments: true\n",
    );
    let out = run_due(d, "2026-11-23T05:00:00Z").expect_code(2);
    assert!(
        out.stderr.contains(
            "schedules/daily.yml:4:15: schedule `daily`: unknown time zone `Europe/Berln`"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `Europe/Berlin`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_due_day_writes_its_exports_after_the_refresh_and_a_failed_day_none() {
    let project = project();
    let d = project.path();
    write(
        d,
        "exports/gads.yml",
        "exports:\n  - name: gads_recent\n    type: customer_match\n    segment: recent\n    identifiers_from: source('crm', 'raw_people')\n    identifiers: {email: email}\n    consent: {require: [consent]}\n    destination: out/\n",
    );
    write(
        d,
        "schedules/daily.yml",
        "schedules:\n  - name: daily\n    cron: \"0 5 * * *\"\n    refresh_segments: true\n    exports: [gads_recent]\n    catch_up: 7 days\n",
    );
    // A broken data file fails the day's refresh: no export is written.
    write(d, "data/raw_people.csv", "id,email\nnot-a-number,x\n");
    run_due(d, "2026-11-23T05:00:00Z").expect_code(1);
    assert!(!d.join("out").exists());
    // Fixed, the next run-due retries the day and exports it.
    write(d, "data/raw_people.csv", PEOPLE);
    run_due(d, "2026-11-23T05:10:00Z").ok();
    let day = d.join("out/gads_recent/2026-11-23");
    assert!(day.join("_manifest.json").exists());
    let csv = std::fs::read_to_string(day.join("part-00000.csv")).expect("part file");
    // Members seen within 2 days of 2026-11-23 are 2 (no consent) and 3.
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Email"));
    let hashed: Vec<&str> = lines.collect();
    assert_eq!(hashed.len(), 1, "{csv}");
    assert_eq!(hashed[0].len(), 64);
    assert_eq!(
        state(d)["schedules"]["daily"]["last_success"],
        json!("2026-11-23")
    );
}

#[test]
fn install_prints_crontab_systemd_and_github_actions_entries() {
    let project = project();
    let d = project.path();
    let dir = std::path::absolute(d).expect("absolute");
    let cron = run(d, &["schedule", "install", "--crontab"]).ok();
    let line = cron
        .stdout
        .lines()
        .find(|l| !l.starts_with('#'))
        .expect("crontab line");
    assert!(line.starts_with("*/15 * * * * cd '"), "{line}");
    assert!(
        line.contains(&format!("cd '{}' && ", dir.display())),
        "{line}"
    );
    assert!(line.ends_with(" schedule run-due --quiet"), "{line}");
    let systemd = run(d, &["schedule", "install", "--systemd"]).ok();
    for part in [
        "[Service]",
        "Type=oneshot",
        &format!("WorkingDirectory={}", dir.display()),
        "[Timer]",
        "OnCalendar=*:0/15",
    ] {
        assert!(systemd.stdout.contains(part), "{part}\n{}", systemd.stdout);
    }
    let actions = run(d, &["schedule", "install", "--github-actions"]).ok();
    let workflow: Value = serde_saphyr::from_str(&actions.stdout).expect("workflow YAML");
    assert_eq!(workflow["on"]["schedule"][0]["cron"], json!("*/15 * * * *"));
    let steps = workflow["jobs"]["run-due"]["steps"]
        .as_array()
        .expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["run"] == json!("cohort schedule run-due"))
    );
    run(d, &["schedule", "install"]).expect_code(2);
}

#[test]
fn the_daemon_runs_what_is_due_then_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let project = project();
    let d = project.path();
    let mut child = crate::support::cohort(d)
        .args(["schedule", "daemon", "--now", "2026-11-23T05:00:00Z"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    // A daemon that ignored SIGTERM would hang this test: kill it after a
    // generous limit instead, so the assertions below fail.
    let pid = child.id().to_string();
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            for _ in 0..1800 {
                if finished.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
        })
    };
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let waiting = line.starts_with("schedule daemon: waiting until");
        seen.push(line);
        if waiting {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| l == "schedule daily: running 2026-11-23 (attempt 1 of 2)"),
        "{seen:#?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("schedule daemon: waiting until 2026-11-24T04:00:00Z")
    );
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    watchdog.join().expect("watchdog");
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert_eq!(rest, vec!["schedule daemon: stopped"]);
    assert_eq!(
        state(d)["schedules"]["daily"]["last_success"],
        json!("2026-11-23")
    );
    assert!(!d.join("target/schedule.lock").exists());
}
