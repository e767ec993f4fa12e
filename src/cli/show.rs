//! `cohort show`: preview a model (its compiled SELECT) or run inline SQL,
//! as a table, JSON (`{"columns": [...], "rows": [[...]]}`) or CSV.

use cohort::compile;
use cohort::engine::Engine;
use cohort::engine::local::LocalEngine;
use cohort::engine::values::{self, Table};
use cohort::error::{Diagnostic, Error, Result};
use serde_json::{Value, json};

use super::EXIT_OK;
use super::args::{GlobalArgs, ShowOutput};
use super::output::Printer;
use super::setup::Session;

pub async fn run(
    global: &GlobalArgs,
    select: Option<&str>,
    inline: Option<&str>,
    limit: usize,
    output: ShowOutput,
    printer: &Printer,
) -> Result<u8> {
    let session = Session::open(global)?;
    let sql = match (select, inline) {
        (Some(name), None) => match session.compiled.nodes.get(name) {
            Some(node) => node.sql.clone(),
            None => {
                return Err(Error::config(
                    Diagnostic::new(format!("no model named `{name}`")).help(
                        cohort::error::suggestion(name, session.compiled.graph.names(), "model"),
                    ),
                ));
            }
        },
        (None, Some(sql)) => compile::render_inline(&session.project, &session.compiled, sql)?,
        _ => {
            return Err(Error::config(
                Diagnostic::new("nothing to show")
                    .help("pass --select MODEL or --inline \"SELECT ...\""),
            ));
        }
    };
    let result = if session.on_warehouse() {
        let engine = session.bigquery(false).await?;
        engine.query(&sql, Some(limit)).await?
    } else {
        let settings = session.local_settings()?;
        let engine = LocalEngine::open(&settings, &session.compiled).await?;
        engine.query(&sql, Some(limit)).await?
    };
    let table = values::table(&result);
    printer.data(&match output {
        ShowOutput::Json => {
            json!({"columns": table.columns, "types": table.types, "rows": table.rows}).to_string()
        }
        ShowOutput::Csv => csv(&table),
        ShowOutput::Table => grid(&table),
    });
    Ok(EXIT_OK)
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv(table: &Table) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = table
        .columns
        .iter()
        .map(|c| field(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                other => field(&text(other)),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn grid(table: &Table) -> String {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(text).collect())
        .collect();
    let mut widths: Vec<usize> = table.columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let line = |parts: Vec<String>| format!("| {} |\n", parts.join(" | "));
    let pad = |s: &str, w: usize| {
        let s: String = s.chars().take(w).collect();
        format!("{s:<w$}")
    };
    let sep = format!(
        "+{}+\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let mut out = sep.clone();
    out.push_str(&line(
        table
            .columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad(c, *w))
            .collect(),
    ));
    out.push_str(&sep);
    for row in &cells {
        out.push_str(&line(
            row.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect(),
        ));
    }
    out.push_str(&sep);
    out.push_str(&format!(
        "({} row{})",
        cells.len(),
        if cells.len() == 1 { "" } else { "s" }
    ));
    out
}
