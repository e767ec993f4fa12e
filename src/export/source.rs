//! Which rows an export reads, as BigQuery SQL over the daily segment
//! tables: the day's members (`full`) or the day's changes (`delta`) of its
//! segment, left-joined by entity key with the identifier and consent
//! columns of `identifiers_from` (default: the segment's `from` model, as
//! built now: contact data and consent are read as they are today, not as
//! they were on the snapshot day). A member without a row there has no
//! consent and is never written. Also the refusals: a day that was never
//! refreshed, or whose refresh the drift guard blocked.

use chrono::NaiveDate;
use serde_json::Value;

use crate::compile::segment::daily::{DailyTables, STATUS_BLOCKED};
use crate::compile::segment::rules::string_literal;
use crate::compile::yaml_model::{FromRef, parse_from};
use crate::compile::{CompiledProject, Relation};
use crate::engine::{Engine, values};
use crate::error::{Diagnostic, Error, Result, suggestion};
use crate::project::export::ExportMode;
use crate::project::{Export, ModelBody, Project};

/// An export with the relations it reads.
#[derive(Debug, Clone)]
pub struct ExportSource {
    pub export: Export,
    pub entity_key: String,
    /// The relation holding identifiers and consent.
    pub identifiers: Relation,
    pub tables: DailyTables,
}

/// Output column names of [`ExportSource::rows_sql`].
pub mod columns {
    pub const CHANGE: &str = "change";
    pub const FIRST_NAME: &str = "first_name";
    pub const LAST_NAME: &str = "last_name";
    pub const COUNTRY: &str = "country";
    pub const ZIP: &str = "zip";
    pub const CONSENT: &str = "consent";

    pub fn email(i: usize) -> String {
        format!("email_{i}")
    }

    pub fn phone(i: usize) -> String {
        format!("phone_{i}")
    }
}

/// `segment_changes.change` of members who left.
pub const EXITED: &str = "exited";

impl ExportSource {
    /// Resolve `export`'s segment and `identifiers_from` in the compiled project.
    pub fn resolve(
        project: &Project,
        compiled: &CompiledProject,
        export: &Export,
        tables: DailyTables,
    ) -> Result<ExportSource> {
        let model = project
            .models
            .get(&crate::project::segment::node_name(&export.segment.name));
        let Some(ModelBody::Segment(segment)) = model.map(|m| &m.body) else {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "export `{}`: unknown segment `{}`",
                    export.name, export.segment.name
                ))
                .at(export.segment.at.clone()),
            ));
        };
        let (from, at) = match &export.identifiers_from {
            Some((text, at)) => (text.as_str(), at.clone()),
            None => (segment.from.as_str(), segment.from_at.clone()),
        };
        let relation = match parse_from(from) {
            Some(FromRef::Ref(name)) => compiled.nodes.get(&name).map(|n| n.relation.clone()),
            Some(FromRef::Source(source, table)) => compiled
                .sources
                .get(&(source, table))
                .map(|s| s.relation.clone()),
            None => None,
        };
        let identifiers = relation.ok_or_else(|| {
            Error::config(
                Diagnostic::new(format!(
                    "export `{}`: identifiers_from `{from}` is not a model or source of the project",
                    export.name
                ))
                .at(at)
                .help(format!(
                    "write ref('model') or source('name', 'table'); {}",
                    suggestion(from, project.models.keys().map(String::as_str), "model")
                )),
            )
        })?;
        Ok(ExportSource {
            export: export.clone(),
            entity_key: segment.entity_key.name.clone(),
            identifiers,
            tables,
        })
    }

    /// The day's rows, ordered by entity id (so reruns write the same files).
    pub fn rows_sql(&self, day: NaiveDate) -> String {
        let ids = &self.export.identifiers;
        let mut select = vec!["m.entity_id as entity_id".to_string()];
        let (table, change) = match self.export.mode {
            ExportMode::Full => (&self.tables.membership, false),
            ExportMode::Delta => (&self.tables.changes, true),
        };
        if change {
            select.push(format!("m.change as {}", columns::CHANGE));
        }
        let text = |column: &str, alias: &str| format!("cast(s.`{column}` as string) as {alias}");
        for (i, c) in ids.emails.iter().enumerate() {
            select.push(text(&c.name, &columns::email(i)));
        }
        for (i, c) in ids.phones.iter().enumerate() {
            select.push(text(&c.name, &columns::phone(i)));
        }
        let optional = [
            (&ids.first_name, columns::FIRST_NAME),
            (&ids.last_name, columns::LAST_NAME),
            (&ids.country, columns::COUNTRY),
            (&ids.zip, columns::ZIP),
        ];
        for (column, alias) in optional {
            if let Some(c) = column {
                select.push(text(&c.name, alias));
            }
        }
        let consent: Vec<String> = self
            .export
            .consent
            .iter()
            .flatten()
            .map(|c| format!("coalesce(cast(s.`{}` as bool), false)", c.name))
            .collect();
        let consent = if consent.is_empty() {
            "false".to_string()
        } else {
            consent.join(" and ")
        };
        select.push(format!("({consent}) as {}", columns::CONSENT));
        format!(
            "select\n    {}\nfrom {} as m\nleft join {} as s on cast(s.`{}` as string) = m.entity_id\nwhere m.snapshot_date = date '{day}' and m.segment = {}\norder by m.entity_id{}",
            select.join(",\n    "),
            table.quoted(),
            self.identifiers.quoted(),
            self.entity_key,
            string_literal(&self.export.segment.name),
            if change { ", m.change" } else { "" }
        )
    }

    /// The snapshot day to export: `requested`, else the segment's latest
    /// refreshed day. Refuses a day never refreshed and a drift-blocked day.
    pub async fn snapshot_day(
        &self,
        engine: &dyn Engine,
        requested: Option<NaiveDate>,
    ) -> Result<NaiveDate> {
        let segment = &self.export.segment.name;
        let stats = self.tables.stats.quoted();
        let never = |what: String| {
            Error::execution(
                Diagnostic::new(format!(
                    "export `{}`: segment `{segment}` {what}",
                    self.export.name
                ))
                .help(match requested {
                    Some(day) => format!(
                        "refresh it first: `cohort segments refresh --date {day} --select segment_{segment}`"
                    ),
                    None => format!(
                        "refresh it first: `cohort segments refresh --select segment_{segment}`"
                    ),
                }),
            )
        };
        let rows = |sql: String| async move {
            engine
                .query(&sql, None)
                .await
                .map(|r| values::table(&r).rows)
        };
        let day = match requested {
            Some(day) => day,
            None => rows(format!(
                "select cast(max(snapshot_date) as string) from {stats} where segment = {}",
                string_literal(segment)
            ))
            .await
            .ok()
            .and_then(|r| r.first().and_then(|r| r.first()).cloned())
            .and_then(|v| v.as_str().and_then(|s| s.parse::<NaiveDate>().ok()))
            .ok_or_else(|| never("was never refreshed".into()))?,
        };
        let status = rows(format!(
            "select status, size from {stats} where snapshot_date = date '{day}' and segment = {}",
            string_literal(segment)
        ))
        .await
        .ok()
        .and_then(|r| r.into_iter().next())
        .ok_or_else(|| never(format!("has no snapshot for {day}")))?;
        if status.first().and_then(Value::as_str) == Some(STATUS_BLOCKED) {
            return Err(Error::execution(
                Diagnostic::new(format!(
                    "export `{}`: segment `{segment}` on {day} is blocked by its drift guard (max_daily_change); nothing is exported",
                    self.export.name
                ))
                .help(format!(
                    "check the size change (`cohort segments show {segment}`), then confirm it with `cohort segments refresh --date {day} --accept-drift`"
                )),
            ));
        }
        Ok(day)
    }
}
