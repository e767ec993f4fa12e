//! Scheduled refreshes (`cohort schedule ...`) on hand-made data, with the
//! clock set by `--now`: catch-up of missed days, idempotent run-due, the
//! lock (held, stale, and two real processes racing for it), a failed day
//! retried, each model built once a day, the per-day run history, the
//! incremental models' state, state kept in Cloud Storage (fake-gcs-server),
//! list and install output.

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

/// `project()` with an incremental staging model under `people`, tests on
/// both, and a schedule building `+people` then refreshing the segments.
fn incremental_project() -> tempfile::TempDir {
    let dir = project();
    let d = dir.path();
    write(
        d,
        "models/people_inc.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\nselect id, revenue, seen_at from {{ source('crm', 'raw_people') }}\n{% if is_incremental() %}\nwhere seen_at >= {{ incremental_since('seen_at') }}\n{% endif %}\n",
    );
    write(
        d,
        "models/people.sql",
        "select id, revenue, seen_at from {{ ref('people_inc') }}\n",
    );
    write(
        d,
        "models/people.yml",
        "models:\n  - name: people_inc\n    columns:\n      - name: id\n        tests: [not_null]\n  - name: people\n    columns:\n      - name: id\n        tests: [not_null]\n",
    );
    write(
        d,
        "schedules/daily.yml",
        "schedules:\n  - name: daily\n    cron: \"0 5 * * *\"\n    select: [\"+people\"]\n    refresh_segments: true\n    catch_up: 7 days\n",
    );
    dir
}

/// The day-run files of `target/run_history/`, oldest first.
fn history_files(dir: &Path) -> Vec<Value> {
    let folder = dir.join("target/run_history");
    let mut paths: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
        Err(_) => return Vec::new(),
    };
    paths.sort();
    paths
        .iter()
        .map(|p| {
            serde_json::from_str(&std::fs::read_to_string(p).expect("history file"))
                .expect("history json")
        })
        .collect()
}

/// The names of the nodes each step of a day-run built, per step.
fn built(day_run: &Value) -> Vec<(String, Vec<String>)> {
    day_run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            let names = s["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|r| r["name"].as_str().expect("name").to_string())
                .collect();
            (s["step"].as_str().expect("step").to_string(), names)
        })
        .collect()
}

#[test]
fn each_model_builds_once_a_day_with_its_tests_and_every_day_run_is_kept() {
    let project = incremental_project();
    let d = project.path();
    run_due(d, "2026-11-22T05:00:00Z").ok();
    run_due(d, "2026-11-23T05:00:00Z").ok();
    let history = history_files(d);
    assert_eq!(history.len(), 2, "{history:#?}");
    for (day_run, day) in history.iter().zip(["2026-11-22", "2026-11-23"]) {
        assert_eq!(day_run["schedule"], json!("daily"));
        assert_eq!(day_run["date"], json!(day));
        assert_eq!(day_run["status"], json!("success"));
        // The build builds the selection; the refresh only what is left.
        assert_eq!(
            built(day_run),
            vec![
                (
                    "build".to_string(),
                    vec!["people_inc".to_string(), "people".to_string()]
                ),
                (
                    "segments_refresh".to_string(),
                    vec!["segment_recent".to_string()]
                ),
            ],
            "{day_run:#}"
        );
        // The selection's tests still ran, in the build.
        let tests = day_run["steps"][0]["tests"].as_array().expect("tests");
        let passed: Vec<&str> = tests
            .iter()
            .filter(|t| t["status"] == json!("pass"))
            .filter_map(|t| t["node"].as_str())
            .collect();
        assert_eq!(passed.len(), 2, "{tests:#?}");
        assert!(passed.contains(&"people") && passed.contains(&"people_inc"));
    }
    // run_results.json keeps meaning the last command's results.
    let last: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("target/run_results.json")).expect("run_results"),
    )
    .expect("json");
    assert_eq!(last["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["results"][0]["name"], json!("segment_recent"));
}

#[test]
fn the_state_and_list_show_each_incremental_model_s_last_build() {
    let project = incremental_project();
    let d = project.path();
    run_due(d, "2026-11-22T05:00:00Z").ok();
    run_due(d, "2026-11-23T05:00:00Z").ok();
    let daily = &state(d)["schedules"]["daily"];
    let models = daily["models"].as_object().expect("models");
    // Only the incremental model; `people` is a view.
    assert_eq!(models.keys().collect::<Vec<_>>(), vec!["people_inc"]);
    assert_eq!(models["people_inc"]["last_success"], json!("2026-11-23"));
    assert_eq!(
        models["people_inc"]["built_at"],
        daily["history"][1]["finished_at"]
    );
    let out = run(
        d,
        &[
            "schedule",
            "list",
            "--output",
            "json",
            "--now",
            "2026-11-23T06:00:00Z",
        ],
    )
    .ok();
    let listed: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        listed[0]["incremental_models"],
        json!([{
            "name": "people_inc",
            "last_success": "2026-11-23",
            "built_at": daily["history"][1]["finished_at"],
        }])
    );
    let text = run(d, &["schedule", "list", "--now", "2026-11-23T06:00:00Z"]).ok();
    assert!(
        text.stdout
            .contains("  incremental:  people_inc built for 2026-11-23 (at "),
        "{}",
        text.stdout
    );

    // A day whose incremental model fails records nothing new for it.
    write(
        d,
        "data/raw_people.csv",
        "id,email,revenue,seen_at,consent\n1,a@x.com,not-a-number,2026-11-24,true\n",
    );
    run_due(d, "2026-11-24T05:00:00Z").expect_code(1);
    let daily = &state(d)["schedules"]["daily"];
    assert_eq!(
        daily["models"]["people_inc"]["last_success"],
        json!("2026-11-23")
    );
}

/// A `run-due` at `now` that stops once it holds the lock (the hidden test
/// hook), with every stream piped.
fn held_run_due(dir: &Path, now: &str) -> std::process::Child {
    use std::process::Stdio;
    crate::support::cohort(dir)
        .args(["schedule", "run-due", "--now", now])
        .env("COHORT_TEST_HOLD_LOCK", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run-due")
}

/// Stdout lines of `child` sent as (index, line); `None` at its end.
fn forward_lines(
    child: &mut std::process::Child,
    index: usize,
    to: std::sync::mpsc::Sender<(usize, Option<String>)>,
) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push(line.clone());
            let _ = to.send((index, Some(line)));
        }
        let _ = to.send((index, None));
        seen
    })
}

const HOLDING: &str = "schedule run-due: holding the lock";

#[test]
fn two_run_due_processes_race_and_exactly_one_runs_the_day() {
    use std::io::Read;
    let project = project();
    let d = project.path();
    // Both start at once; each pauses once it holds the lock, so the
    // winner holds it until the loser has finished.
    let mut children = [
        held_run_due(d, "2026-11-23T05:00:00Z"),
        held_run_due(d, "2026-11-23T05:00:00Z"),
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    let readers: Vec<_> = children
        .iter_mut()
        .enumerate()
        .map(|(i, c)| forward_lines(c, i, tx.clone()))
        .collect();
    drop(tx);
    let (mut winner, mut ended) = (None, Vec::new());
    while winner.is_none() || ended.is_empty() {
        match rx.recv() {
            Ok((i, Some(line))) if line == HOLDING => winner = Some(i),
            Ok((i, None)) => ended.push(i),
            Ok(_) => {}
            Err(_) => break,
        }
        assert!(
            ended.len() < 2,
            "both runs ended without one holding the lock"
        );
    }
    let winner = winner.expect("one run holds the lock");
    let loser = 1 - winner;
    assert_eq!(ended, vec![loser]);
    // Let the winner go on.
    drop(children[winner].stdin.take());
    let mut codes = Vec::new();
    let mut stderrs = Vec::new();
    for child in children.iter_mut() {
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        codes.push(child.wait().expect("wait").code());
        stderrs.push(stderr);
    }
    let stdouts: Vec<Vec<String>> = readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect();
    assert_eq!(codes[winner], Some(0), "{}", stderrs[winner]);
    assert_eq!(codes[loser], Some(1), "{}", stderrs[loser]);
    let winner_pid = children[winner].id();
    assert!(
        stderrs[loser].contains(&format!(
            "another schedule run holds the lock {}",
            d.join("target/schedule.lock").display()
        )) && stderrs[loser].contains(&format!("(pid {winner_pid}, since 2026-11-23T05:00:00Z)")),
        "{}",
        stderrs[loser]
    );
    assert!(
        !stdouts[loser]
            .iter()
            .any(|l| l.starts_with("schedule daily: running")),
        "{:?}",
        stdouts[loser]
    );
    assert!(
        stdouts[winner]
            .iter()
            .any(|l| l == "schedule run-due: 1 day(s) succeeded (daily 2026-11-23), 0 failed"),
        "{:?}",
        stdouts[winner]
    );
    // The day ran once.
    let history = &state(d)["schedules"]["daily"]["history"];
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history:#}");
    assert_eq!(history_files(d).len(), 1);
    assert!(!d.join("target/schedule.lock").exists());
}

mod cloud {
    //! Helpers reading and writing the emulator's objects directly.
    use gcloud_storage::client::{Client, ClientConfig};
    use gcloud_storage::http::objects::delete::DeleteObjectRequest;
    use gcloud_storage::http::objects::download::Range;
    use gcloud_storage::http::objects::get::GetObjectRequest;
    use gcloud_storage::http::objects::upload::{Media, UploadObjectRequest, UploadType};

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    fn client(endpoint: &str) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = ClientConfig::default().anonymous();
        config.storage_endpoint = endpoint.to_string();
        Client::new(config)
    }

    pub fn read(endpoint: &str, bucket: &str, name: &str) -> Option<String> {
        block_on(async {
            let request = GetObjectRequest {
                bucket: bucket.into(),
                object: name.into(),
                ..Default::default()
            };
            client(endpoint)
                .download_object(&request, &Range::default())
                .await
                .ok()
                .map(|b| String::from_utf8(b).expect("utf-8"))
        })
    }

    pub fn put(endpoint: &str, bucket: &str, name: &str, text: &str) {
        block_on(async {
            let request = UploadObjectRequest {
                bucket: bucket.into(),
                ..Default::default()
            };
            client(endpoint)
                .upload_object(
                    &request,
                    text.as_bytes().to_vec(),
                    &UploadType::Simple(Media::new(name.to_string())),
                )
                .await
                .expect("upload");
        })
    }

    pub fn delete(endpoint: &str, bucket: &str, name: &str) {
        block_on(async {
            let request = DeleteObjectRequest {
                bucket: bucket.into(),
                object: name.into(),
                ..Default::default()
            };
            client(endpoint)
                .delete_object(&request)
                .await
                .expect("delete");
        })
    }
}

#[test]
fn state_and_lock_live_in_cloud_storage_and_a_concurrent_write_is_a_conflict() {
    use std::io::{BufRead, BufReader, Read};
    let emulator = crate::support::GcsEmulator::start(&["cohort-state"]);
    let gcs = emulator.endpoint.as_str();
    let project = project();
    let d = project.path();
    write(
        d,
        "profiles.yml",
        &format!(
            "shop:\n  target: local\n  outputs:\n    local:\n      type: local\n      storage: {{endpoint: '{gcs}', anonymous: true}}\n      schedule_state: gs://cohort-state/prod/\n"
        ),
    );
    let cloud_state = || -> Value {
        serde_json::from_str(
            &cloud::read(gcs, "cohort-state", "prod/schedule_state.json").expect("state object"),
        )
        .expect("state json")
    };
    run_due(d, "2026-11-23T05:00:00Z").ok();
    assert_eq!(
        cloud_state()["schedules"]["daily"]["last_success"],
        json!("2026-11-23")
    );
    assert!(!d.join("target/schedule_state.json").exists());
    assert_eq!(cloud::read(gcs, "cohort-state", "prod/schedule.lock"), None);
    let listed = run(
        d,
        &[
            "schedule",
            "list",
            "--output",
            "json",
            "--now",
            "2026-11-24T05:00:00Z",
        ],
    )
    .ok();
    let listed: Value = serde_json::from_str(&listed.stdout).expect("json");
    assert_eq!(listed[0]["last_success"], json!("2026-11-23"));
    assert_eq!(listed[0]["due_now"], json!(["2026-11-24"]));

    // A lock object of a live run stops the run; a dead one is stale and stays.
    let lock = "prod/schedule.lock";
    let live = json!({"pid": std::process::id(), "started_at": "2026-11-24T05:00:00Z"});
    cloud::put(gcs, "cohort-state", lock, &live.to_string());
    let held = run_due(d, "2026-11-24T05:00:00Z").expect_code(1);
    assert!(
        held.stderr
            .contains("another schedule run holds the lock gs://cohort-state/prod/schedule.lock"),
        "{}",
        held.stderr
    );
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead = child.id();
    child.wait().expect("wait");
    let stale = json!({"pid": dead, "started_at": "2026-11-24T05:00:00Z"});
    cloud::put(gcs, "cohort-state", lock, &stale.to_string());
    let out = run_due(d, "2026-11-24T05:00:00Z").expect_code(1);
    assert!(
        out.stderr
            .contains("stale schedule lock gs://cohort-state/prod/schedule.lock"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("then remove gs://cohort-state/prod/schedule.lock"),
        "{}",
        out.stderr
    );
    assert_eq!(
        cloud::read(gcs, "cohort-state", lock),
        Some(stale.to_string())
    );
    cloud::delete(gcs, "cohort-state", lock);

    // Someone writes the state while a run holds the lock: the run's save
    // fails on the generation precondition and overwrites nothing.
    let mut child = held_run_due(d, "2026-11-24T05:00:00Z");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert!(
        lines.by_ref().map_while(Result::ok).any(|l| l == HOLDING),
        "the run did not take the lock"
    );
    let theirs = cloud::read(gcs, "cohort-state", "prod/schedule_state.json")
        .expect("state object")
        .replace("\"2026-11-23\"", "\"2026-11-23\" ");
    cloud::put(gcs, "cohort-state", "prod/schedule_state.json", &theirs);
    drop(child.stdin.take());
    let _rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!(child.wait().expect("wait").code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the schedule state gs://cohort-state/prod/schedule_state.json changed since this run read it"
        ),
        "{stderr}"
    );
    assert_eq!(
        cloud::read(gcs, "cohort-state", "prod/schedule_state.json"),
        Some(theirs)
    );
    assert_eq!(cloud::read(gcs, "cohort-state", lock), None);
    // The next run runs the day again and records it.
    run_due(d, "2026-11-24T05:10:00Z").ok();
    assert_eq!(
        cloud_state()["schedules"]["daily"]["last_success"],
        json!("2026-11-24")
    );
}
