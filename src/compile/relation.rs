//! Relation names: where a model or source lives in the warehouse, and how
//! it is written in BigQuery SQL (`` `project.dataset.table` ``).

use std::fmt;

use serde::Serialize;

use crate::profile::Target;
use crate::project::{Model, ModelConfig, SourceTable};

/// A table or view in the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Relation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub dataset: String,
    pub name: String,
}

impl Relation {
    /// The backtick-quoted name used in SQL.
    pub fn quoted(&self) -> String {
        match &self.project {
            Some(project) => format!("`{project}.{}.{}`", self.dataset, self.name),
            None => format!("`{}.{}`", self.dataset, self.name),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.project {
            Some(project) => write!(f, "{project}.{}.{}", self.dataset, self.name),
            None => write!(f, "{}.{}", self.dataset, self.name),
        }
    }
}

/// Where a model is built: the target's dataset, or `<dataset>_<schema>` with a custom schema (as in dbt).
pub fn model_relation(model: &Model, config: &ModelConfig, target: &Target) -> Relation {
    let dataset = match &config.schema {
        Some(schema) if !schema.is_empty() => format!("{}_{schema}", target.dataset()),
        _ => target.dataset().to_string(),
    };
    Relation {
        project: target.project().map(str::to_string),
        dataset,
        name: config.alias.clone().unwrap_or_else(|| model.name.clone()),
    }
}

/// Where a raw table is read from.
pub fn source_relation(source: &SourceTable, target: &Target) -> Relation {
    Relation {
        project: source
            .project
            .clone()
            .or_else(|| target.project().map(str::to_string)),
        dataset: source.schema.clone(),
        name: source.identifier.clone(),
    }
}
