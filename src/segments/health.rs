//! Segment health from the daily segment tables, as of their latest snapshot
//! day L: each segment's size and drift status (`segment_daily_stats`), its
//! share of all entities of its `from` model, the average of its revenue
//! attribute (the first attribute whose name contains `revenue`, read from
//! the membership JSON), members entered and exited over the 7 days ending
//! on L, and the overlap matrix (members in both segments on L). Every
//! statement is BigQuery SQL run through an [`Engine`], reading the
//! partitioned tables by constant days.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use serde_json::Value;

use crate::compile::Relation;
use crate::compile::segment::daily::{DailySegment, DailyTables};
use crate::compile::segment::rules::string_literal;
use crate::engine::{Engine, values};
use crate::error::{Diagnostic, Error, Result};

/// The days counted by `entered_7d` and `exited_7d`.
pub const RECENT_DAYS: u64 = 7;

/// One segment's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentHealth {
    pub segment: String,
    pub size: i64,
    /// Entities of the segment's `from` model (rows with a non-NULL key, now).
    pub entities: i64,
    /// `size / entities` (NULL when there are none).
    pub share: Option<f64>,
    /// The revenue attribute averaged over the members, when there is one.
    pub revenue_attribute: Option<String>,
    pub average_revenue: Option<f64>,
    pub entered_7d: i64,
    pub exited_7d: i64,
    /// `ok`, `drift_blocked` (exports blocked) or `drift_accepted`.
    pub status: String,
}

/// Health of every segment, with the overlap matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// The latest snapshot day (`YYYY-MM-DD`).
    pub snapshot_date: String,
    pub segments: Vec<SegmentHealth>,
    /// segment → other segment → members in both (the diagonal is the size).
    pub overlap: BTreeMap<String, BTreeMap<String, i64>>,
}

/// A segment and the relation holding its entities (its `from`).
#[derive(Debug, Clone)]
pub struct Subject {
    pub segment: DailySegment,
    pub from: Relation,
}

/// The selected segments (node names) with the relation of their `from`.
pub fn subjects(
    project: &crate::project::Project,
    compiled: &crate::compile::CompiledProject,
    nodes: &[String],
) -> Vec<Subject> {
    use crate::compile::yaml_model::FromRef;
    crate::compile::segment::daily::daily_segments(project, compiled, nodes)
        .into_iter()
        .filter_map(|segment| {
            let model = project
                .models
                .get(&crate::project::segment::node_name(&segment.name))?;
            let crate::project::ModelBody::Segment(def) = &model.body else {
                return None;
            };
            let from = match crate::compile::segment::resolve_from(project, def).ok()? {
                FromRef::Ref(name) => compiled.nodes.get(&name)?.relation.clone(),
                FromRef::Source(source, table) => {
                    compiled.sources.get(&(source, table))?.relation.clone()
                }
            };
            Some(Subject { segment, from })
        })
        .collect()
}

async fn rows(engine: &dyn Engine, sql: &str) -> Result<Vec<Vec<Value>>> {
    let result = engine.query(sql, None).await?;
    Ok(values::table(&result).rows)
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or_default()
}

/// The health of `subjects` as of the latest snapshot in the daily tables.
pub async fn profile(
    engine: &dyn Engine,
    tables: &DailyTables,
    subjects: &[Subject],
) -> Result<Profile> {
    let none = || {
        Error::config(
            Diagnostic::new("the daily segment tables have no snapshot yet")
                .help("run `cohort segments refresh` first"),
        )
    };
    let latest = rows(
        engine,
        &format!(
            "select cast(max(snapshot_date) as string) from {}",
            tables.stats.quoted()
        ),
    )
    .await
    .map_err(|_| none())?;
    let day = latest
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(none)?;
    let since = day
        .checked_sub_days(Days::new(RECENT_DAYS - 1))
        .unwrap_or(day);
    let stats = rows(
        engine,
        &format!(
            "select segment, size, status from {} where snapshot_date = date '{day}'",
            tables.stats.quoted()
        ),
    )
    .await?;
    let recent = rows(
        engine,
        &format!(
            "select segment, sum(entered), sum(exited) from {} where snapshot_date between date '{since}' and date '{day}' group by segment",
            tables.stats.quoted()
        ),
    )
    .await?;
    let mut segments = Vec::new();
    for subject in subjects {
        let name = &subject.segment.name;
        let Some(stat) = stats.iter().find(|r| r[0] == *name.as_str()) else {
            continue;
        };
        let moves = recent.iter().find(|r| r[0] == *name.as_str());
        let entities = rows(
            engine,
            &format!(
                "select count(distinct {key}) from {} where {key} is not null",
                subject.from.quoted(),
                key = subject.segment.entity_key
            ),
        )
        .await?;
        let entities = entities.first().map(|r| int(&r[0])).unwrap_or_default();
        let size = int(&stat[1]);
        let revenue_attribute = subject
            .segment
            .attributes
            .iter()
            .find(|a| a.to_ascii_lowercase().contains("revenue"))
            .cloned();
        let average_revenue = match &revenue_attribute {
            None => None,
            Some(attribute) => rows(
                engine,
                &format!(
                    // Rounded to cents: a float sum's last bits depend on the
                    // order rows are added in, which parallel engines vary.
                    "select round(avg(cast(json_value(attributes, {}) as float64)), 2) from {} where snapshot_date = date '{day}' and segment = {}",
                    string_literal(&format!("$.{attribute}")),
                    tables.membership.quoted(),
                    string_literal(name)
                ),
            )
            .await?
            .first()
            .and_then(|r| r[0].as_f64()),
        };
        segments.push(SegmentHealth {
            segment: name.clone(),
            size,
            entities,
            share: (entities > 0).then(|| size as f64 / entities as f64),
            revenue_attribute,
            average_revenue,
            entered_7d: moves.map(|r| int(&r[1])).unwrap_or_default(),
            exited_7d: moves.map(|r| int(&r[2])).unwrap_or_default(),
            status: stat[2].as_str().unwrap_or_default().to_string(),
        });
    }
    let pairs = rows(
        engine,
        &format!(
            "select a.segment, b.segment, count(*)\nfrom {m} as a\njoin {m} as b on a.entity_id = b.entity_id\nwhere a.snapshot_date = date '{day}' and b.snapshot_date = date '{day}'\ngroup by a.segment, b.segment",
            m = tables.membership.quoted()
        ),
    )
    .await?;
    let mut overlap: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for a in &segments {
        let row = overlap.entry(a.segment.clone()).or_default();
        for b in &segments {
            let both = pairs
                .iter()
                .find(|r| r[0] == *a.segment.as_str() && r[1] == *b.segment.as_str())
                .map(|r| int(&r[2]))
                .unwrap_or_default();
            row.insert(b.segment.clone(), both);
        }
    }
    Ok(Profile {
        snapshot_date: day.to_string(),
        segments,
        overlap,
    })
}
