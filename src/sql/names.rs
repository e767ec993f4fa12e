//! Output column names keep the case the query wrote them in. The
//! translation lowercases identifiers so DataFusion resolves them the way
//! BigQuery does (case-insensitively), but BigQuery names a result column
//! exactly as its alias or implicit name is spelled: `SELECT id AS CustomerID`
//! gives a column `CustomerID`. [`written_names`] reads those spellings off the
//! parsed query; [`restore_case`] renames the planned result's columns.

use std::collections::HashMap;

use datafusion::common::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{
    AccessExpr, Expr as SqlExpr, SelectItem, SetExpr, Statement,
};

/// Lower-case name → spelling, for the result columns whose name the
/// outermost SELECT spells with upper-case letters.
pub fn written_names(statement: &Statement) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let Statement::Query(query) = statement else {
        return names;
    };
    let Some(items) = leftmost_projection(&query.body) else {
        return names;
    };
    let mut spellings: HashMap<String, Option<String>> = HashMap::new();
    for name in items.iter().filter_map(item_name) {
        let lower = name.to_lowercase();
        spellings
            .entry(lower)
            .and_modify(|seen| {
                // Two spellings of one name are an error the planner reports; rename neither.
                if seen.as_ref() != Some(&name) {
                    *seen = None;
                }
            })
            .or_insert(Some(name));
    }
    for (lower, spelling) in spellings {
        if let Some(spelling) = spelling.filter(|s| *s != lower) {
            names.insert(lower, spelling);
        }
    }
    names
}

fn leftmost_projection(body: &SetExpr) -> Option<&[SelectItem]> {
    match body {
        SetExpr::Select(select) => Some(&select.projection),
        SetExpr::SetOperation { left, .. } => leftmost_projection(left),
        SetExpr::Query(query) => leftmost_projection(&query.body),
        _ => None,
    }
}

/// The name BigQuery gives a SELECT item: its alias, or the last part of a
/// column or field path.
fn item_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
        SelectItem::UnnamedExpr(SqlExpr::Identifier(ident)) => Some(ident.value.clone()),
        SelectItem::UnnamedExpr(SqlExpr::CompoundIdentifier(idents)) => {
            // `` `ds.t`.col `` and `t.col` both name the column by its last part.
            idents
                .last()
                .and_then(|i| i.value.rsplit('.').next())
                .map(str::to_string)
        }
        SelectItem::UnnamedExpr(SqlExpr::CompoundFieldAccess { access_chain, .. }) => {
            match access_chain.last() {
                Some(AccessExpr::Dot(SqlExpr::Identifier(ident))) => Some(ident.value.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Renames the plan's output columns to their written spelling, when any differs.
pub fn restore_case(plan: LogicalPlan, names: &HashMap<String, String>) -> Result<LogicalPlan> {
    if names.is_empty()
        || !plan
            .schema()
            .fields()
            .iter()
            .any(|f| names.contains_key(f.name()))
    {
        return Ok(plan);
    }
    let columns: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .map(|column| match names.get(&column.name) {
            Some(written) => {
                let written = written.clone();
                Expr::Column(column).alias(written)
            }
            None => Expr::Column(column),
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(columns)?.build()
}

/// The plan with its upper-case column names exposed in lower case, the
/// way a downstream query (lowercased by the translation) refers to them.
pub fn lowercase_columns(plan: LogicalPlan) -> Result<LogicalPlan> {
    if plan
        .schema()
        .fields()
        .iter()
        .all(|f| *f.name() == f.name().to_lowercase())
    {
        return Ok(plan);
    }
    let columns: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .map(|column| {
            let lower = column.name.to_lowercase();
            Expr::Column(column).alias(lower)
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(columns)?.build()
}

#[cfg(test)]
mod tests {
    use super::written_names;
    use crate::sql::parse::parse_single;

    fn names(sql: &str) -> Vec<(String, String)> {
        let statement = parse_single(sql).expect("parses");
        let mut names: Vec<_> = written_names(&statement).into_iter().collect();
        names.sort();
        names
    }

    #[test]
    fn aliases_and_implicit_names_keep_their_spelling() {
        assert_eq!(
            names("SELECT a AS CustomerID, t.Email, lower_case, s.Address.City FROM t"),
            [
                ("city".to_string(), "City".to_string()),
                ("customerid".to_string(), "CustomerID".to_string()),
                ("email".to_string(), "Email".to_string()),
            ]
        );
    }

    #[test]
    fn set_operations_take_the_first_branch_and_ambiguity_renames_nothing() {
        assert_eq!(
            names("SELECT 1 AS A UNION ALL SELECT 2 AS b"),
            [("a".to_string(), "A".to_string())]
        );
        assert!(names("SELECT 1 AS X, 2 AS x").is_empty());
        assert!(names("SELECT 1 AS Xy, 2 AS xY").is_empty());
    }
}
