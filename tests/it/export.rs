//! Customer Match exports (`cohort export`) on a hand-made project: consent
//! filtering, rejects by reason, hashes, part files and the manifest, delta
//! files, reruns, an interrupted export, dry runs, refusals, `file://`, a
//! GCS emulator round trip, and the SQL rendering against the Rust path on
//! the sample data.

use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{self, run, write};

const PEOPLE: &str = "id,email,phone,first_name,last_name,country,zip,consent_a,consent_b,seen_at
1,John.Doe@gmail.com,(415) 555-2671,John,Smith,US,94103-1234,true,true,2026-11-20
2,b@example.com,,Ann,Lee,US,10001,true,false,2026-11-21
3,bad-email,12,,,DE,,true,true,2026-11-22
4,,0151 23456789,,,Germany,,true,true,2026-11-22
5,e@example.com,,,,,,,,2026-11-22
6,z@example.com,,Zoë,Pérez,fr,75001,true,true,2026-11-22
";

const EXPORTS: &str = "exports:
  - name: gads_recent
    type: customer_match
    segment: recent
    identifiers: {email: email, phone: phone, first_name: first_name,
                  last_name: last_name, country: country, zip: zip}
    default_country: DE
    consent: {require: [consent_a, consent_b]}
    destination: out/
    max_rows_per_file: 1
  - name: gads_recent_delta
    type: customer_match
    segment: recent
    mode: delta
    identifiers: {email: email, phone: phone, country: country}
    default_country: DE
    consent: {require: [consent_a, consent_b]}
    destination: file://delta_out
";

/// `recent`: people seen on the day or the day before. With `guarded`, a
/// copy of it with a 10% drift guard and an export of that copy.
fn project(guarded: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(
        d,
        "cohort.yml",
        "name: shop\nvars:\n  as_of: 2026-11-23\n  data_dir: data\n",
    );
    write(d, "data/raw_people.csv", PEOPLE);
    let columns: String = [
        ("id", "INT64"),
        ("email", "STRING"),
        ("phone", "STRING"),
        ("first_name", "STRING"),
        ("last_name", "STRING"),
        ("country", "STRING"),
        ("zip", "STRING"),
        ("consent_a", "BOOL"),
        ("consent_b", "BOOL"),
        ("seen_at", "DATE"),
    ]
    .iter()
    .map(|(n, t)| format!("          - {{name: {n}, type: {t}}}\n"))
    .collect();
    write(
        d,
        "models/sources.yml",
        &format!(
            "sources:\n  - name: crm\n    location: \"{{{{ var('data_dir') }}}}\"\n    format: csv\n    tables:\n      - name: raw_people\n        columns:\n{columns}"
        ),
    );
    let segment = |name: &str, guard: &str| {
        format!(
            "  - name: {name}\n    from: source('crm', 'raw_people')\n    entity_key: id\n{guard}    rules:\n      all:\n        - {{column: seen_at, within_last: 2 days}}\n"
        )
    };
    let mut segments = format!("segments:\n{}", segment("recent", ""));
    let mut exports = EXPORTS.to_string();
    if guarded {
        segments.push_str(&segment("guarded", "    max_daily_change: 10%\n"));
        exports.push_str("  - name: gads_guarded\n    type: customer_match\n    segment: guarded\n    identifiers: {email: email}\n    consent: {require: [consent_a]}\n    destination: out/\n");
    }
    write(d, "segments/people.yml", &segments);
    write(d, "exports/gads.yml", &exports);
    dir
}

fn refresh(dir: &Path, day: &str) -> support::Run {
    run(dir, &["segments", "refresh", "--date", day])
}

fn sha(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("_manifest.json"))).expect("manifest json")
}

/// Identifier values of [`PEOPLE`] that must never appear in any output.
const SECRETS: [&str; 8] = [
    "John",
    "Doe",
    "gmail",
    "example.com",
    "Pérez",
    "4155552671",
    "23456789",
    "Smith",
];

#[track_caller]
fn assert_no_values(out: &support::Run) {
    for secret in SECRETS {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "`{secret}` was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// Expected part lines of `gads_recent` on the 23rd (members 3, 4, 5, 6).
fn full_lines() -> (String, String) {
    (
        // 4: no email, the phone read in default_country DE (its country is not a code).
        format!(",{},,,,", sha("+4915123456789")),
        // 6: email and a whole address; country and zip are not hashed.
        format!(
            "{},,{},{},FR,75001",
            sha("z@example.com"),
            sha("zoë"),
            sha("pérez")
        ),
    )
}

#[test]
fn a_full_export_filters_consent_counts_rejects_and_writes_hashed_parts_and_a_manifest() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-23").ok();
    let out = run(d, &["export", "gads_recent"]).ok();
    assert_no_values(&out);
    assert!(
        out.stdout.contains("4 rows, 2 written, 1 without consent"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("email_invalid 1"), "{}", out.stdout);

    let folder = d.join("out/gads_recent/2026-11-23");
    assert_eq!(
        names(&folder),
        ["_manifest.json", "part-00000.csv", "part-00001.csv"]
    );
    let header = "Email,Phone,First Name,Last Name,Country,Zip";
    let (four, six) = full_lines();
    assert_eq!(
        read(&folder.join("part-00000.csv")),
        format!("{header}\n{four}\n")
    );
    assert_eq!(
        read(&folder.join("part-00001.csv")),
        format!("{header}\n{six}\n")
    );

    let m = manifest(&folder);
    assert_eq!(m["snapshot_date"], "2026-11-23");
    assert_eq!(m["mode"], "full");
    assert_eq!(m["hashed"], true);
    assert_eq!(
        m["totals"],
        json!({"rows": 4, "consent_excluded": 1, "written": 2, "rejects": {
            "address_incomplete": 1, "country_invalid": 1, "email_invalid": 1,
            "no_usable_identifier": 1, "phone_invalid": 1}})
    );
    let files = m["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    for file in files {
        let name = file["name"].as_str().expect("name");
        let bytes = std::fs::read(folder.join(name)).expect("part");
        assert_eq!(
            file["sha256"],
            json!(sha(std::str::from_utf8(&bytes).expect("utf-8")))
        );
        assert_eq!(file["bytes"], json!(bytes.len()));
        assert_eq!(file["rows"], 1);
    }
}

#[test]
fn a_delta_export_writes_who_entered_and_who_left() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-21").ok();
    refresh(d, "2026-11-22").ok();
    run(d, &["export", "gads_recent_delta", "--date", "2026-11-22"]).ok();
    let folder = d.join("delta_out/gads_recent_delta/2026-11-22");
    assert_eq!(
        names(&folder),
        [
            "_manifest.json",
            "entered-part-00000.csv",
            "left-part-00000.csv"
        ]
    );
    // Entered: 3 (unusable), 4 (phone), 5 (no consent), 6 (email). Left: 1.
    assert_eq!(
        read(&folder.join("entered-part-00000.csv")),
        format!(
            "Email,Phone\n,{}\n{},\n",
            sha("+4915123456789"),
            sha("z@example.com")
        )
    );
    // The contract's vectors: John.Doe@gmail.com and (415) 555-2671 in the US.
    assert_eq!(
        read(&folder.join("left-part-00000.csv")),
        "Email,Phone\n06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3,cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928\n"
    );
    let m = manifest(&folder);
    assert_eq!(m["mode"], "delta");
    assert_eq!(m["lists"]["entered"]["rows"], 4);
    assert_eq!(m["lists"]["entered"]["written"], 2);
    assert_eq!(m["lists"]["entered"]["consent_excluded"], 1);
    assert_eq!(m["lists"]["left"]["rows"], 1);
    assert_eq!(m["lists"]["left"]["written"], 1);
}

#[test]
fn a_rerun_replaces_the_same_objects_and_removes_stale_parts() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-23").ok();
    run(d, &["export", "gads_recent"]).ok();
    let folder = d.join("out/gads_recent/2026-11-23");
    let first = read(&folder.join("_manifest.json"));
    // The same day again: the same names and bytes, nothing added.
    run(d, &["export", "gads_recent"]).ok();
    assert_eq!(
        names(&folder),
        ["_manifest.json", "part-00000.csv", "part-00001.csv"]
    );
    assert_eq!(read(&folder.join("_manifest.json")), first);
    // Fewer parts now: the second part of the earlier run goes.
    let exports = read(&d.join("exports/gads.yml"))
        .replace("max_rows_per_file: 1\n", "max_rows_per_file: 10\n");
    write(d, "exports/gads.yml", &exports);
    let out = run(d, &["export", "gads_recent"]).ok();
    assert!(out.stdout.contains("removed stale"), "{}", out.stdout);
    assert_eq!(names(&folder), ["_manifest.json", "part-00000.csv"]);
    let (four, six) = full_lines();
    assert!(read(&folder.join("part-00000.csv")).ends_with(&format!("{four}\n{six}\n")));
    assert_eq!(manifest(&folder)["files"].as_array().map(Vec::len), Some(1));
}

#[test]
fn an_interrupted_export_leaves_no_manifest_and_the_next_run_completes_it() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-23").ok();
    run(d, &["export", "gads_recent"]).ok();
    let folder = d.join("out/gads_recent/2026-11-23");
    // The second part cannot be written (a folder is in its way): the export
    // fails after the first part, and the earlier run's manifest is gone.
    std::fs::remove_file(folder.join("part-00001.csv")).expect("remove part");
    std::fs::create_dir(folder.join("part-00001.csv")).expect("block part");
    let out = run(d, &["export", "gads_recent"]).expect_code(1);
    assert!(out.stderr.contains("part-00001.csv"), "{}", out.stderr);
    assert!(
        !folder.join("_manifest.json").exists(),
        "an incomplete day has no manifest"
    );
    assert!(folder.join("part-00000.csv").is_file());
    // Unblocked, the next run completes the day.
    std::fs::remove_dir(folder.join("part-00001.csv")).expect("unblock");
    run(d, &["export", "gads_recent"]).ok();
    assert_eq!(
        names(&folder),
        ["_manifest.json", "part-00000.csv", "part-00001.csv"]
    );
    assert_eq!(manifest(&folder)["totals"]["written"], 2);
}

#[test]
fn a_dry_run_reports_counts_and_object_names_and_writes_nothing() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-23").ok();
    let out = run(d, &["export", "--dry-run"]).ok();
    assert_no_values(&out);
    assert!(
        out.stdout.contains("[dry run] export gads_recent"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 without consent"), "{}", out.stdout);
    assert!(out.stdout.contains("phone_invalid 1"), "{}", out.stdout);
    assert!(out.stdout.contains("would write"), "{}", out.stdout);
    assert!(
        out.stdout.contains("gads_recent/2026-11-23/part-00001.csv"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("gads_recent_delta/2026-11-23/entered-part-00000.csv"),
        "{}",
        out.stdout
    );
    assert!(!d.join("out").exists() && !d.join("delta_out").exists());

    let json = run(
        d,
        &["export", "gads_recent", "--dry-run", "--output", "json"],
    )
    .ok();
    let value: Value = serde_json::from_str(json.stdout.trim()).expect("json report");
    assert_eq!(value["dry_run"], true);
    assert_eq!(value["exports"][0]["totals"]["consent_excluded"], 1);
    assert_eq!(
        value["exports"][0]["objects"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(!d.join("out").exists());
}

#[test]
fn exports_refuse_drift_blocked_and_unrefreshed_days() {
    let project = project(true);
    let d = project.path();
    refresh(d, "2026-11-21").ok();
    // guarded grows from 2 to 5 members: beyond its 10% guard.
    refresh(d, "2026-11-22").expect_code(1);
    let out = run(d, &["export", "gads_guarded", "--date", "2026-11-22"]).expect_code(1);
    assert!(out.stderr.contains("drift guard"), "{}", out.stderr);
    assert!(out.stderr.contains("--accept-drift"), "{}", out.stderr);
    assert!(!d.join("out/gads_guarded").exists());
    // The unguarded segment of the same day exports.
    run(d, &["export", "gads_recent", "--date", "2026-11-22"]).ok();
    // A day never refreshed.
    let out = run(d, &["export", "gads_recent", "--date", "2026-11-23"]).expect_code(1);
    assert!(
        out.stderr.contains("has no snapshot for 2026-11-23"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("cohort segments refresh --date 2026-11-23"),
        "{}",
        out.stderr
    );
    // Confirmed, it exports.
    run(
        d,
        &[
            "segments",
            "refresh",
            "--date",
            "2026-11-22",
            "--accept-drift",
        ],
    )
    .ok();
    run(d, &["export", "gads_guarded", "--date", "2026-11-22"]).ok();
    assert!(
        d.join("out/gads_guarded/2026-11-22/_manifest.json")
            .is_file()
    );
}

#[test]
fn configuration_mistakes_are_exit_2_with_a_fix() {
    let project = project(false);
    let d = project.path();
    let exports = read(&d.join("exports/gads.yml"));
    write(
        d,
        "exports/gads.yml",
        &exports.replacen("    consent: {require: [consent_a, consent_b]}\n", "", 1),
    );
    let out = run(d, &["export", "gads_recent"]).expect_code(2);
    assert!(out.stderr.contains("has no consent rule"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("consent: {require: [consent_ad_user_data, consent_ad_personalization]}"),
        "{}",
        out.stderr
    );

    write(
        d,
        "exports/gads.yml",
        &exports.replace(
            "segment: recent\n    identifiers",
            "segment: recnt\n    identifiers",
        ),
    );
    let out = run(d, &["export"]).expect_code(2);
    assert!(out.stderr.contains("exports/gads.yml:4:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `recent`?"),
        "{}",
        out.stderr
    );

    write(
        d,
        "exports/gads.yml",
        &exports.replace("max_rows_per_file", "max_rows"),
    );
    let out = run(d, &["export"]).expect_code(2);
    assert!(
        out.stderr.contains("did you mean `max_rows_per_file`?"),
        "{}",
        out.stderr
    );

    write(d, "exports/gads.yml", &exports);
    let out = run(d, &["export", "gads_recnt"]).expect_code(2);
    assert!(
        out.stderr.contains("did you mean `gads_recent`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn plain_text_needs_an_explicit_opt_in_and_warns() {
    let project = project(false);
    let d = project.path();
    refresh(d, "2026-11-23").ok();
    let exports = read(&d.join("exports/gads.yml")).replace(
        "    max_rows_per_file: 1\n",
        "    max_rows_per_file: 10\n    hash: false\n",
    );
    write(d, "exports/gads.yml", &exports);
    let out = run(d, &["export", "gads_recent"]).ok();
    assert!(
        out.stderr
            .contains("warning: export `gads_recent` writes plain-text identifiers"),
        "{}",
        out.stderr
    );
    assert_no_values(&out);
    let part = read(&d.join("out/gads_recent/2026-11-23/part-00000.csv"));
    assert!(
        part.ends_with(",+4915123456789,,,,\nz@example.com,,zoë,pérez,FR,75001\n"),
        "{part}"
    );
    assert_eq!(
        manifest(&d.join("out/gads_recent/2026-11-23"))["hashed"],
        false
    );
}

/// A gcloud-storage client of the emulator, for reading back what cohort wrote.
fn emulator_client(endpoint: &str) -> gcloud_storage::client::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = gcloud_storage::client::ClientConfig::default().anonymous();
    config.storage_endpoint = endpoint.to_string();
    gcloud_storage::client::Client::new(config)
}

/// Every object under `prefix` with its contents.
fn read_bucket(endpoint: &str, bucket: &str, prefix: &str) -> Vec<(String, String)> {
    use gcloud_storage::http::objects::download::Range;
    use gcloud_storage::http::objects::get::GetObjectRequest;
    use gcloud_storage::http::objects::list::ListObjectsRequest;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = emulator_client(endpoint);
        let listed = client
            .list_objects(&ListObjectsRequest {
                bucket: bucket.into(),
                prefix: Some(prefix.into()),
                ..Default::default()
            })
            .await
            .expect("list objects");
        let mut objects = Vec::new();
        for object in listed.items.unwrap_or_default() {
            let bytes = client
                .download_object(
                    &GetObjectRequest {
                        bucket: bucket.into(),
                        object: object.name.clone(),
                        ..Default::default()
                    },
                    &Range::default(),
                )
                .await
                .expect("download object");
            objects.push((object.name, String::from_utf8(bytes).expect("utf-8")));
        }
        objects.sort();
        objects
    })
}

#[test]
fn exports_round_trip_through_a_cloud_storage_emulator() {
    let emulator = support::GcsEmulator::start(&["cohort-test"]);
    let project = project(false);
    let d = project.path();
    let exports = read(&d.join("exports/gads.yml"));
    let cloud = exports
        .replacen("name: gads_recent\n", "name: gads_cloud\n", 1)
        .replacen("destination: out/", "destination: gs://cohort-test/cm/", 1);
    let cloud = &cloud[..cloud
        .find("  - name: gads_recent_delta")
        .expect("delta export")];
    write(
        d,
        "exports/gads.yml",
        &format!("{exports}{}", cloud.trim_start_matches("exports:\n")),
    );
    write(
        d,
        "profiles.yml",
        &format!(
            "shop:\n  target: local\n  outputs:\n    local:\n      type: local\n      storage: {{endpoint: '{}', anonymous: true}}\n",
            emulator.endpoint
        ),
    );
    refresh(d, "2026-11-23").ok();
    let out = run(d, &["export", "gads_cloud", "gads_recent"]).ok();
    assert_no_values(&out);
    assert!(
        out.stdout
            .contains("wrote gs://cohort-test/cm/gads_cloud/2026-11-23/_manifest.json"),
        "{}",
        out.stdout
    );

    let prefix = "cm/gads_cloud/2026-11-23/";
    let objects = read_bucket(&emulator.endpoint, "cohort-test", prefix);
    let names: Vec<&str> = objects.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "cm/gads_cloud/2026-11-23/_manifest.json",
            "cm/gads_cloud/2026-11-23/part-00000.csv",
            "cm/gads_cloud/2026-11-23/part-00001.csv"
        ]
    );
    // The same parts as the file export of the same rows, byte for byte.
    let local = d.join("out/gads_recent/2026-11-23");
    for (name, body) in &objects[1..] {
        let file = name.trim_start_matches(prefix);
        assert_eq!(body, &read(&local.join(file)), "{file}");
    }
    let m: Value = serde_json::from_str(&objects[0].1).expect("manifest");
    assert_eq!(m["export"], "gads_cloud");
    assert_eq!(m["totals"]["written"], 2);
    // The BigQuery rendering of the same export.
    let sql = read(&d.join("target/run/exports/gads_cloud.sql"));
    assert!(
        sql.contains("uri = 'gs://cohort-test/cm/gads_cloud/2026-11-23/part-*.csv'"),
        "{sql}"
    );

    // A rerun with fewer parts, through STORAGE_EMULATOR_HOST instead of the profile.
    std::fs::remove_file(d.join("profiles.yml")).expect("remove profile");
    let exports = read(&d.join("exports/gads.yml"))
        .replace("max_rows_per_file: 1\n", "max_rows_per_file: 5\n");
    write(d, "exports/gads.yml", &exports);
    let host = emulator.endpoint.trim_start_matches("http://").to_string();
    let out = support::cohort(d)
        .args(["export", "gads_cloud"])
        .env("STORAGE_EMULATOR_HOST", &host)
        .output()
        .expect("run cohort");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = read_bucket(&emulator.endpoint, "cohort-test", prefix);
    let names: Vec<&str> = objects.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "cm/gads_cloud/2026-11-23/_manifest.json",
            "cm/gads_cloud/2026-11-23/part-00000.csv"
        ]
    );
    let (four, six) = full_lines();
    assert!(
        objects[1].1.ends_with(&format!("{four}\n{six}\n")),
        "{}",
        objects[1].1
    );
}

#[test]
fn the_sql_rendering_hashes_the_sample_data_like_the_rust_path() {
    use cohort::export::sql::{SqlColumns, normalized_select};
    use cohort::export::{Columns, Normalizer, Options, Row, Tally};

    let project = support::example_project();
    let d = project.path();
    let vars = support::sample_vars();
    let raw = [
        "email",
        "phone",
        "first_name",
        "last_name",
        "country",
        "zip",
    ];
    let options = Options {
        hash: true,
        gmail_remove_dots: true,
        default_country: Some("DE".into()),
    };
    let columns = SqlColumns {
        emails: vec!["email".into()],
        phones: vec!["phone".into()],
        first_name: Some("first_name".into()),
        last_name: Some("last_name".into()),
        country: Some("country".into()),
        zip: Some("zip".into()),
    };
    let keep: Vec<String> = raw.iter().map(|c| format!("{c} as raw_{c}")).collect();
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    let from = "(select * from {{ source('raw', 'raw_customers') }})";
    let select = normalized_select(from, &keep, &columns, &options, None).expect("sql");
    let (names, rows) = support::query(d, &vars, &select);
    assert_eq!(
        names[raw.len()..],
        [
            "Email",
            "Phone",
            "First Name",
            "Last Name",
            "Country",
            "Zip"
        ]
    );

    let all = support::query_int(
        d,
        &vars,
        "select count(*) from {{ source('raw', 'raw_customers') }}",
    );
    let normalizer = Normalizer::new(
        Columns {
            emails: 1,
            phones: 1,
            address: true,
        },
        options,
    );
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut tally = Tally::default();
    let mut checked = 0;
    for row in &rows {
        let values: Vec<Option<String>> = row[..raw.len()].iter().map(text).collect();
        let (email, phone) = ([values[0].as_deref()], [values[1].as_deref()]);
        let mut line = String::new();
        let written = normalizer.push_row(
            &Row {
                emails: &email,
                phones: &phone,
                first_name: values[2].as_deref(),
                last_name: values[3].as_deref(),
                country: values[4].as_deref(),
                zip: values[5].as_deref(),
                consent: true,
            },
            &mut tally,
            &mut line,
        );
        assert!(
            written,
            "the SQL kept a row the Rust path drops (customer row {checked})"
        );
        let sql_line: Vec<String> = row[raw.len()..]
            .iter()
            .map(|v| text(v).unwrap_or_default())
            .collect();
        assert_eq!(line.trim_end(), sql_line.join(","), "row {checked}");
        checked += 1;
    }
    // Rows the SQL dropped are the ones without any usable identifier in Rust too.
    let mut rust_usable = 0;
    let (_, every) = support::query(
        d,
        &vars,
        &format!(
            "select {} from {{{{ source('raw', 'raw_customers') }}}}",
            raw.join(", ")
        ),
    );
    for row in &every {
        let values: Vec<Option<String>> = row.iter().map(text).collect();
        let (email, phone) = ([values[0].as_deref()], [values[1].as_deref()]);
        let mut line = String::new();
        let row = Row {
            emails: &email,
            phones: &phone,
            first_name: values[2].as_deref(),
            last_name: values[3].as_deref(),
            country: values[4].as_deref(),
            zip: values[5].as_deref(),
            consent: true,
        };
        rust_usable += usize::from(normalizer.push_row(&row, &mut Tally::default(), &mut line));
    }
    assert_eq!(every.len() as i64, all);
    assert_eq!(rust_usable, rows.len());
    assert!(checked > 500, "only {checked} rows compared");
}

#[test]
fn the_example_project_exports_after_a_refresh() {
    let project = support::example_project();
    let d = project.path();
    let vars = support::sample_vars();
    run(d, &["segments", "refresh", "--vars", &vars]).ok();
    let out = run(d, &["export", "--vars", &vars]).ok();
    assert_no_values(&out);
    let root = d.join("target/exports/customer_match");
    let full = root.join("gads_high_value_churn_risk").join(support::AS_OF);
    let m = manifest(&full);
    assert_eq!(
        m["columns"],
        json!([
            "Email",
            "Phone",
            "First Name",
            "Last Name",
            "Country",
            "Zip"
        ])
    );
    let written = m["totals"]["written"].as_u64().expect("written");
    assert!(written > 0, "{m}");
    assert!(m["totals"]["consent_excluded"].as_u64() > Some(0), "{m}");
    let part = read(&full.join("part-00000.csv"));
    assert_eq!(part.lines().count() as u64, written + 1);
    let delta = root.join("gads_high_intent_changes").join(support::AS_OF);
    assert_eq!(
        names(&delta),
        [
            "_manifest.json",
            "entered-part-00000.csv",
            "left-part-00000.csv"
        ]
    );
}

#[test]
fn a_bigquery_target_gets_export_data_statements_instead() {
    let project = project(false);
    let d = project.path();
    let exports =
        read(&d.join("exports/gads.yml")).replace("destination: out/", "destination: gs://b/cm/");
    write(d, "exports/gads.yml", &exports);
    write(
        d,
        "profiles.yml",
        "shop:\n  target: prod\n  outputs:\n    prod: {type: bigquery, project: p, dataset: analytics, method: oauth}\n",
    );
    let out = run(d, &["export", "gads_recent", "--date", "2026-11-23"]).expect_code(2);
    assert!(out.stderr.contains("EXPORT DATA"), "{}", out.stderr);
    let sql = read(&d.join("target/run/exports/gads_recent.sql"));
    assert!(
        sql.contains("uri = 'gs://b/cm/gads_recent/2026-11-23/part-*.csv'"),
        "{sql}"
    );
    assert!(
        sql.contains("from `p.analytics.segment_membership` as m"),
        "{sql}"
    );
    assert!(sql.contains("to_hex(sha256(email)) as `Email`"), "{sql}");
    // file:// destinations cannot be written by BigQuery.
    let out = run(d, &["export", "gads_recent_delta"]).expect_code(2);
    assert!(out.stderr.contains("Cloud Storage only"), "{}", out.stderr);
}
