//! `cohort segments list | show NAME | profile`: segment health from the
//! daily segment tables, as text or JSON.

use cohort::compile::segment::daily::DailyTables;
use cohort::engine::local::LocalEngine;
use cohort::error::{Diagnostic, Error, Result};
use cohort::segments::health::{self, Profile, SegmentHealth};
use serde_json::json;

use super::EXIT_OK;
use super::args::{GlobalArgs, ListOutput};
use super::output::stdout_line;
use super::setup::Session;

/// `name`: only that segment (`show`); `detail`: overlap and revenue too.
pub async fn run(
    global: &GlobalArgs,
    name: Option<&str>,
    detail: bool,
    output: ListOutput,
) -> Result<u8> {
    let session = Session::open(global)?;
    let subjects = health::subjects(
        &session.project,
        &session.compiled,
        session.compiled.graph.order(),
    );
    if let Some(name) = name {
        let short = name.strip_prefix("segment_").unwrap_or(name);
        if !subjects.iter().any(|s| s.segment.name == short) {
            return Err(Error::config(
                Diagnostic::new(format!("no segment is named `{short}`")).help(
                    cohort::error::suggestion(
                        short,
                        subjects.iter().map(|s| s.segment.name.as_str()),
                        "segment",
                    ),
                ),
            ));
        }
    }
    let tables = DailyTables::new(
        session.target.project().map(str::to_string),
        session.target.dataset(),
    );
    let mut profile = if session.on_warehouse() {
        let engine = session.bigquery(false).await?;
        health::profile(&engine, &tables, &subjects).await?
    } else {
        let settings = session.local_settings()?;
        let engine = LocalEngine::open(&settings, &session.compiled).await?;
        health::profile(&engine, &tables, &subjects).await?
    };
    if let Some(name) = name {
        let short = name.strip_prefix("segment_").unwrap_or(name);
        profile.segments.retain(|s| s.segment == short);
        profile.overlap.retain(|k, _| k == short);
    }
    match output {
        ListOutput::Json => stdout_line(&json_of(&profile, name.is_some(), detail).to_string()),
        ListOutput::Text => print_text(&profile, detail),
    }
    Ok(EXIT_OK)
}

fn json_of(profile: &Profile, one: bool, detail: bool) -> serde_json::Value {
    if one {
        let mut value = json!(profile.segments.first());
        if let Some(map) = value.as_object_mut() {
            map.insert("snapshot_date".into(), json!(profile.snapshot_date));
            let overlap = profile.overlap.values().next();
            map.insert("overlap".into(), json!(overlap));
        }
        return value;
    }
    let mut value = json!({"snapshot_date": profile.snapshot_date, "segments": profile.segments});
    if detail {
        value["overlap"] = json!(profile.overlap);
    }
    value
}

fn share(s: &SegmentHealth) -> String {
    s.share
        .map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn print_text(profile: &Profile, detail: bool) {
    stdout_line(&format!("Segments as of {}", profile.snapshot_date));
    stdout_line(&format!(
        "{:<28} {:>9} {:>7} {:>9} {:>9}  {:<14} avg revenue",
        "segment", "size", "share", "in (7d)", "out (7d)", "status"
    ));
    for s in &profile.segments {
        let revenue = match (&s.revenue_attribute, s.average_revenue) {
            (Some(a), Some(v)) => format!("{v:.2} ({a})"),
            _ => "-".into(),
        };
        stdout_line(&format!(
            "{:<28} {:>9} {:>7} {:>9} {:>9}  {:<14} {}",
            s.segment,
            s.size,
            share(s),
            s.entered_7d,
            s.exited_7d,
            s.status,
            revenue
        ));
    }
    if detail && !profile.overlap.is_empty() {
        stdout_line("");
        stdout_line("Overlap (members in both):");
        let names: Vec<&String> = profile
            .overlap
            .values()
            .next()
            .map(|row| row.keys().collect())
            .unwrap_or_default();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max(8) + 2;
        let header: Vec<String> = names.iter().map(|n| format!("{n:>width$}")).collect();
        stdout_line(&format!("{:<28}{}", "", header.join("")));
        for (segment, row) in &profile.overlap {
            let cells: Vec<String> = row.values().map(|v| format!("{v:>width$}")).collect();
            stdout_line(&format!("{segment:<28}{}", cells.join("")));
        }
    }
}
