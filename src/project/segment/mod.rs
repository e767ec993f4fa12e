//! Segment definitions, typed: a [`Segment`] reads one model with a row per
//! entity and keeps the members for which its [`Rule`] tree holds. Every part
//! keeps the file:line:col it was written at, so later checks (unknown
//! column, wrong value type) point at the offending rule.
//!
//! - [`load`]: `segments:` YAML (in `segments/*.yml`, or any YAML file under
//!   the model paths, e.g. `models/segments/*.yml`) → validated [`Segment`]s.
//! - Column names and types are checked against the upstream model's planned
//!   schema later (`compile::segment::check`).

pub mod load;

pub use load::{RuleDef, SegmentDef, SegmentFile, parse_window};

use crate::error::Location;

/// A segment, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub description: Option<String>,
    /// `ref('model')` (or `source(...)`) as written.
    pub from: String,
    pub from_at: Location,
    pub entity_key: Name,
    pub attributes: Vec<Name>,
    pub rule: Rule,
    /// Drift guard: the largest allowed day-over-day size change, as a fraction (`25%` → 0.25).
    pub max_daily_change: Option<f64>,
    pub defined_at: Location,
}

/// A column name and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub name: String,
    pub at: Location,
}

/// A rule tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Compare(Comparison),
    Window(Window),
    Sql(SqlRule),
}

/// `{column: c, op: gt, value: 2}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub column: Name,
    pub op: Op,
    pub operand: Operand,
    /// The rule itself.
    pub at: Location,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    In,
    NotIn,
    IsNull,
    NotNull,
    Contains,
    StartsWith,
}

impl Op {
    /// Every operator, by its YAML name.
    pub const ALL: [(&'static str, Op); 13] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("between", Op::Between),
        ("in", Op::In),
        ("not_in", Op::NotIn),
        ("is_null", Op::IsNull),
        ("not_null", Op::NotNull),
        ("contains", Op::Contains),
        ("starts_with", Op::StartsWith),
    ];

    pub fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Whether the operator reads a string (`contains`, `starts_with`).
    pub fn is_text(self) -> bool {
        matches!(self, Op::Contains | Op::StartsWith)
    }
}

/// The value(s) an operator compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    None,
    One(Literal),
    Range(Literal, Literal),
    List(Vec<Literal>),
}

impl Operand {
    pub fn literals(&self) -> Vec<&Literal> {
        match self {
            Operand::None => Vec::new(),
            Operand::One(l) => vec![l],
            Operand::Range(a, b) => vec![a, b],
            Operand::List(l) => l.iter().collect(),
        }
    }
}

/// A typed value from the YAML file.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub value: LiteralValue,
    pub at: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiteralValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    String(String),
}

impl LiteralValue {
    /// The BigQuery type name of the value, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            LiteralValue::Int(_) => "INT64",
            LiteralValue::Float(_) => "FLOAT64",
            LiteralValue::Bool(_) => "BOOL",
            LiteralValue::String(_) => "STRING",
        }
    }
}

impl std::fmt::Display for LiteralValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiteralValue::Int(i) => write!(f, "{i}"),
            LiteralValue::Float(x) => write!(f, "{x}"),
            LiteralValue::Bool(b) => write!(f, "{b}"),
            LiteralValue::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// `{column: c, within_last: 30 days}` or `{column: c, older_than: 90 days}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub column: Name,
    pub kind: WindowKind,
    pub amount: u32,
    pub unit: TimeUnit,
    pub at: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The `amount` units ending on `as_of` (inclusive).
    WithinLast,
    /// On or before `as_of` minus `amount` units.
    OlderThan,
}

impl WindowKind {
    pub fn key(self) -> &'static str {
        match self {
            WindowKind::WithinLast => "within_last",
            WindowKind::OlderThan => "older_than",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    /// The BigQuery date part.
    pub fn sql(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Year => "year",
        }
    }
}

/// `{sql: "sessions_30d < sessions_prev_30d"}`: one BigQuery boolean expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRule {
    pub text: String,
    pub at: Location,
}

/// The name of the output column holding the segment's name.
pub const SEGMENT_COLUMN: &str = "segment";

impl Segment {
    /// The name of the node (model) the segment compiles to.
    pub fn node_name(&self) -> String {
        node_name(&self.name)
    }
}

/// `segment_<name>`.
pub fn node_name(segment: &str) -> String {
    format!("segment_{segment}")
}
