//! The daily segment tables in BigQuery SQL: for one refresh date D,
//! `segment_membership` (who is in each segment on D), `segment_changes`
//! (who entered or exited on D vs each segment's previous snapshot) and
//! `segment_daily_stats` (size, entered, exited, drift status per segment).
//!
//! All three are partitioned by `snapshot_date` and clustered by `segment`.
//! A refresh replaces day D's rows of the refreshed segments only, so running
//! it twice for D gives the same tables. Attributes differ between segments,
//! so membership keeps them as one JSON object per row
//! (`TO_JSON_STRING(STRUCT(...))`, read with `JSON_VALUE`): a fixed table
//! shape for any set of segments, with no column changes when a segment's
//! attributes do.
//!
//! The previous snapshot of a segment is its latest day before D in
//! `segment_daily_stats` (one row per segment and refreshed day, even when
//! empty). Every statement reading a partitioned table restricts it to
//! constant days: D itself, or the previous days (a `DECLARE`d array on
//! BigQuery, a literal list locally), so BigQuery prunes it.

use std::fmt::Write;

use chrono::NaiveDate;

use super::rules::string_literal;
use crate::compile::Relation;

/// `segment_membership`.
pub const MEMBERSHIP: &str = "segment_membership";
/// `segment_changes`.
pub const CHANGES: &str = "segment_changes";
/// `segment_daily_stats`.
pub const STATS: &str = "segment_daily_stats";
/// The BigQuery script variable holding the previous snapshot days.
pub const PREVIOUS_VAR: &str = "cohort_previous";

/// Stats `status`: within the guard (or no guard).
pub const STATUS_OK: &str = "ok";
/// Stats `status`: the size swung beyond `max_daily_change`; exports blocked.
pub const STATUS_BLOCKED: &str = "drift_blocked";
/// Stats `status`: a swing beyond the guard, confirmed with `--accept-drift`
/// (kept by later refreshes of that day while the size stays the same).
pub const STATUS_ACCEPTED: &str = "drift_accepted";

/// One segment, as the daily tables need it.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySegment {
    pub name: String,
    /// The segment's own table (`segment_<name>`).
    pub relation: Relation,
    pub entity_key: String,
    pub attributes: Vec<String>,
    pub max_daily_change: Option<f64>,
}

/// Where the three tables live (the target's dataset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTables {
    pub membership: Relation,
    pub changes: Relation,
    pub stats: Relation,
}

impl DailyTables {
    pub fn new(project: Option<String>, dataset: &str) -> DailyTables {
        let relation = |name: &str| Relation {
            project: project.clone(),
            dataset: dataset.to_string(),
            name: name.to_string(),
        };
        DailyTables {
            membership: relation(MEMBERSHIP),
            changes: relation(CHANGES),
            stats: relation(STATS),
        }
    }

    /// The three tables with their columns (BigQuery types), in refresh order.
    pub fn all(&self) -> [(&Relation, &'static [(&'static str, &'static str)]); 3] {
        [
            (&self.membership, MEMBERSHIP_COLUMNS),
            (&self.changes, CHANGES_COLUMNS),
            (&self.stats, STATS_COLUMNS),
        ]
    }
}

pub const MEMBERSHIP_COLUMNS: &[(&str, &str)] = &[
    ("snapshot_date", "DATE"),
    ("segment", "STRING"),
    ("entity_id", "STRING"),
    ("attributes", "STRING"),
];
pub const CHANGES_COLUMNS: &[(&str, &str)] = &[
    ("snapshot_date", "DATE"),
    ("segment", "STRING"),
    ("entity_id", "STRING"),
    ("change", "STRING"),
];
pub const STATS_COLUMNS: &[(&str, &str)] = &[
    ("snapshot_date", "DATE"),
    ("segment", "STRING"),
    ("size", "INT64"),
    ("entered", "INT64"),
    ("exited", "INT64"),
    ("previous_size", "INT64"),
    ("status", "STRING"),
];

/// How statements name the previous snapshot days.
#[derive(Debug, Clone, Copy)]
pub enum Previous<'a> {
    /// The BigQuery script variable [`PREVIOUS_VAR`].
    Variable,
    /// The days themselves (the local engine looks them up first).
    Days(&'a [NaiveDate]),
}

/// The segments among `nodes` (node names, e.g. `segment_vip`), in that order.
pub fn daily_segments(
    project: &crate::project::Project,
    compiled: &crate::compile::CompiledProject,
    nodes: &[String],
) -> Vec<DailySegment> {
    nodes
        .iter()
        .filter_map(|name| {
            let model = project.models.get(name)?;
            let crate::project::ModelBody::Segment(segment) = &model.body else {
                return None;
            };
            let node = compiled.nodes.get(name)?;
            Some(DailySegment {
                name: segment.name.clone(),
                relation: node.relation.clone(),
                entity_key: segment.entity_key.name.clone(),
                attributes: segment.attributes.iter().map(|a| a.name.clone()).collect(),
                max_daily_change: segment.max_daily_change,
            })
        })
        .collect()
}

fn date(day: NaiveDate) -> String {
    format!("date '{day}'")
}

fn segment_list(segments: &[DailySegment]) -> String {
    let names: Vec<String> = segments.iter().map(|s| string_literal(&s.name)).collect();
    format!("({})", names.join(", "))
}

fn previous_filter(column: &str, previous: Previous<'_>) -> String {
    match previous {
        Previous::Variable => format!("{column} in unnest({PREVIOUS_VAR})"),
        Previous::Days([]) => "false".to_string(),
        Previous::Days(days) => {
            let days: Vec<String> = days.iter().map(|d| date(*d)).collect();
            format!("{column} in ({})", days.join(", "))
        }
    }
}

/// `today`: every member of every segment, from the segments' tables.
fn today_cte(segments: &[DailySegment]) -> String {
    let parts: Vec<String> = segments
        .iter()
        .map(|s| {
            let attributes = if s.attributes.is_empty() {
                "'{}'".to_string()
            } else {
                let fields: Vec<String> =
                    s.attributes.iter().map(|a| format!("{a} as {a}")).collect();
                format!("to_json_string(struct({}))", fields.join(", "))
            };
            format!(
                "    select distinct\n        {} as segment,\n        cast({key} as string) as entity_id,\n        {attributes} as attributes\n    from {}\n    where {key} is not null",
                string_literal(&s.name),
                s.relation.quoted(),
                key = s.entity_key,
            )
        })
        .collect();
    format!("today as (\n{}\n)", parts.join("\n    union all\n"))
}

/// The latest day before `day` each segment has stats for.
pub fn previous_days_select(
    segments: &[DailySegment],
    tables: &DailyTables,
    day: NaiveDate,
) -> String {
    format!(
        "select segment, max(snapshot_date) as snapshot_date\n    from {}\n    where snapshot_date < {} and segment in {}\n    group by segment",
        tables.stats.quoted(),
        date(day),
        segment_list(segments)
    )
}

/// `today`, `previous_day`, `previous` and `changes`.
fn ctes(
    segments: &[DailySegment],
    tables: &DailyTables,
    day: NaiveDate,
    previous: Previous<'_>,
) -> String {
    let mut sql = String::new();
    let _ = writeln!(sql, "with {},", today_cte(segments));
    let _ = writeln!(
        sql,
        "previous_day as (\n    {}\n),",
        previous_days_select(segments, tables, day)
    );
    let _ = writeln!(
        sql,
        "previous as (\n    select m.segment, m.entity_id\n    from {} as m\n    join previous_day as p\n        on m.segment = p.segment and m.snapshot_date = p.snapshot_date\n    where {}\n),",
        tables.membership.quoted(),
        previous_filter("m.snapshot_date", previous)
    );
    let _ = write!(
        sql,
        "changes as (\n    select t.segment, t.entity_id, 'entered' as change\n    from today as t\n    left join previous as p on p.segment = t.segment and p.entity_id = t.entity_id\n    where p.entity_id is null\n    union all\n    select p.segment, p.entity_id, 'exited' as change\n    from previous as p\n    left join today as t on t.segment = p.segment and t.entity_id = p.entity_id\n    where t.entity_id is null\n)"
    );
    sql
}

/// Day `day`'s rows of `segment_membership`.
pub fn membership_select(segments: &[DailySegment], day: NaiveDate) -> String {
    format!(
        "with {}\nselect {} as snapshot_date, segment, entity_id, attributes\nfrom today\n",
        today_cte(segments),
        date(day)
    )
}

/// Day `day`'s rows of `segment_changes`.
pub fn changes_select(
    segments: &[DailySegment],
    tables: &DailyTables,
    day: NaiveDate,
    previous: Previous<'_>,
) -> String {
    format!(
        "{}\nselect {} as snapshot_date, segment, entity_id, change\nfrom changes\n",
        ctes(segments, tables, day, previous),
        date(day)
    )
}

/// Day `day`'s rows of `segment_daily_stats`: one per segment, even when empty.
pub fn stats_select(
    segments: &[DailySegment],
    tables: &DailyTables,
    day: NaiveDate,
    previous: Previous<'_>,
    accept_drift: bool,
) -> String {
    let guards: Vec<String> = segments
        .iter()
        .map(|s| {
            let guard = match s.max_daily_change {
                Some(f) => format!("cast({f:?} as float64)"),
                None => "cast(null as float64)".to_string(),
            };
            format!(
                "    select {} as segment, {guard} as max_daily_change",
                string_literal(&s.name)
            )
        })
        .collect();
    let drift = if accept_drift {
        STATUS_ACCEPTED
    } else {
        STATUS_BLOCKED
    };
    format!(
        "{ctes},
guards as (
{guards}
),
sizes as (
    select segment, count(*) as size from today group by segment
),
moves as (
    select
        segment,
        sum(case when change = 'entered' then 1 else 0 end) as entered,
        sum(case when change = 'exited' then 1 else 0 end) as exited
    from changes
    group by segment
),
previous_sizes as (
    select s.segment, s.size
    from {stats} as s
    join previous_day as p
        on s.segment = p.segment and s.snapshot_date = p.snapshot_date
    where {filter}
),
accepted as (
    select segment, size
    from {stats}
    where snapshot_date = {day} and status = '{accepted}'
)
select
    {day} as snapshot_date,
    g.segment,
    coalesce(z.size, 0) as size,
    coalesce(v.entered, 0) as entered,
    coalesce(v.exited, 0) as exited,
    ps.size as previous_size,
    case
        when ps.size is null or g.max_daily_change is null then '{ok}'
        when abs(coalesce(z.size, 0) - ps.size) <= g.max_daily_change * ps.size then '{ok}'
        when a.size = coalesce(z.size, 0) then '{accepted}'
        else '{drift}'
    end as status
from guards as g
left join sizes as z on z.segment = g.segment
left join moves as v on v.segment = g.segment
left join previous_sizes as ps on ps.segment = g.segment
left join accepted as a on a.segment = g.segment
",
        accepted = STATUS_ACCEPTED,
        ctes = ctes(segments, tables, day, previous),
        guards = guards.join("\n    union all\n"),
        stats = tables.stats.quoted(),
        filter = previous_filter("s.snapshot_date", previous),
        day = date(day),
        ok = STATUS_OK,
    )
}

/// The BigQuery script refreshing day `day`: creates the tables when
/// missing, then replaces day `day`'s rows of `segments` in all three in
/// one transaction.
pub fn bigquery_script(segments: &[DailySegment], tables: &DailyTables, day: NaiveDate) -> String {
    bigquery_refresh(segments, tables, day, false)
}

/// [`bigquery_script`], confirming a drifted size when `accept_drift`
/// (`--accept-drift`).
pub fn bigquery_refresh(
    segments: &[DailySegment],
    tables: &DailyTables,
    day: NaiveDate,
    accept_drift: bool,
) -> String {
    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- Daily segment tables for {day} (`cohort segments refresh --date {day}`)."
    );
    let _ = writeln!(sql, "declare {PREVIOUS_VAR} array<date>;");
    for (relation, columns) in tables.all() {
        let columns: Vec<String> = columns
            .iter()
            .map(|(name, ty)| format!("{name} {}", ty.to_ascii_lowercase()))
            .collect();
        let _ = writeln!(
            sql,
            "create table if not exists {} ({})\npartition by snapshot_date\ncluster by segment;",
            relation.quoted(),
            columns.join(", ")
        );
    }
    let _ = writeln!(
        sql,
        "set {PREVIOUS_VAR} = (\n    select array_agg(distinct snapshot_date) from (\n    {}\n    )\n);",
        previous_days_select(segments, tables, day)
    );
    let _ = writeln!(sql, "begin transaction;");
    let [membership, changes, stats] = tables.all();
    let selects = [
        (
            changes,
            changes_select(segments, tables, day, Previous::Variable),
        ),
        (
            stats,
            stats_select(segments, tables, day, Previous::Variable, accept_drift),
        ),
        (membership, membership_select(segments, day)),
    ];
    for ((relation, columns), select) in selects {
        // The columns named (rather than `insert row`): same meaning, and
        // emulators without `INSERT ROW` run it too.
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let _ = writeln!(
            sql,
            "merge into {} as dest\nusing (\n{}) as src\non false\nwhen not matched by source and dest.snapshot_date = {} and dest.segment in {} then delete\nwhen not matched then insert ({names}) values ({names});",
            relation.quoted(),
            select,
            date(day),
            segment_list(segments),
            names = names.join(", ")
        );
    }
    let _ = writeln!(sql, "commit transaction;");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments() -> Vec<DailySegment> {
        vec![
            DailySegment {
                name: "vip".into(),
                relation: Relation {
                    project: None,
                    dataset: "analytics".into(),
                    name: "segment_vip".into(),
                },
                entity_key: "customer_id".into(),
                attributes: vec!["email".into(), "revenue_total".into()],
                max_daily_change: Some(0.25),
            },
            DailySegment {
                name: "new".into(),
                relation: Relation {
                    project: None,
                    dataset: "analytics".into(),
                    name: "segment_new".into(),
                },
                entity_key: "customer_id".into(),
                attributes: vec![],
                max_daily_change: None,
            },
        ]
    }

    #[test]
    fn the_script_parses_and_prunes_every_partitioned_read() {
        let tables = DailyTables::new(None, "analytics");
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let sql = bigquery_script(&segments(), &tables, day);
        let statements = crate::sql::parse::parse_bigquery(&sql).unwrap();
        assert_eq!(statements.len(), 10, "{sql}");
        assert!(
            sql.contains("to_json_string(struct(email as email, revenue_total as revenue_total))")
        );
        assert!(sql.contains("m.snapshot_date in unnest(cohort_previous)"));
        assert!(sql.contains(
            "when not matched by source and dest.snapshot_date = date '2026-11-23' and dest.segment in ('vip', 'new') then delete"
        ));
        assert!(sql.contains("cast(0.25 as float64)"));
        let local = changes_select(&segments(), &tables, day, Previous::Days(&[]));
        assert!(local.contains("where false"), "{local}");
    }
}
