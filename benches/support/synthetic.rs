//! A synthetic cohort project of any size, for benchmarks (and a test that
//! keeps the generator honest): `models` SQL models with Jinja, a schema YAML
//! per folder declaring every model's typed columns and two tests on its key,
//! a macro file, and source tables at the roots.
//!
//! The project is deterministic: the same `models` gives the same files.
//! Each model reads one to three earlier models (or a source table, for the
//! first few of every hundred), calls a macro, and has an `{% if %}`; every
//! fifth model sets its own `config()` (a view with a tag).

use std::fmt::Write as _;
use std::path::Path;

#[path = "random.rs"]
mod random;

use random::Lcg;

/// Models per folder (`models/group_NNN/`), each folder with one schema YAML.
pub const MODELS_PER_FOLDER: usize = 100;
/// Raw tables under the one source, `raw`.
pub const SOURCE_TABLES: usize = 10;

/// The name of model `i` (0-based).
pub fn model_name(i: usize) -> String {
    format!("m{i:05}")
}

/// Write a project of `models` models into `dir` (created if missing).
pub fn write_project(dir: &Path, models: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("macros"))?;
    std::fs::write(dir.join("cohort.yml"), PROJECT_FILE)?;
    std::fs::write(dir.join("macros/helpers.sql"), MACROS)?;
    std::fs::create_dir_all(dir.join("models"))?;
    std::fs::write(dir.join("models/sources.yml"), sources_yaml())?;
    let mut rng = Lcg(7);
    for first in (0..models).step_by(MODELS_PER_FOLDER) {
        let folder = dir.join(format!("models/group_{:03}", first / MODELS_PER_FOLDER));
        std::fs::create_dir_all(&folder)?;
        let last = (first + MODELS_PER_FOLDER).min(models);
        let mut schema = String::from("models:\n");
        for i in first..last {
            std::fs::write(
                folder.join(format!("{}.sql", model_name(i))),
                model_sql(i, &mut rng),
            )?;
            schema.push_str(&model_properties(i));
        }
        std::fs::write(folder.join("schema.yml"), schema)?;
    }
    Ok(())
}

const PROJECT_FILE: &str = "\
name: synthetic
vars:
  as_of: 2026-11-23
  data_dir: data
  lookback_days: 30
  net_of_tax: true
models:
  materialized: table
";

const MACROS: &str = "\
{#- Helpers every generated model calls. -#}

{% macro cents(column) -%}
round({{ column }} * 100) / 100
{%- endmacro %}

{% macro recent(column, days) -%}
{{ column }} >= timestamp_sub(timestamp('{{ var('as_of') }}'), interval {{ days }} day)
{%- endmacro %}
";

/// Every model (and source table) has these columns.
const COLUMNS: [(&str, &str); 5] = [
    ("id", "INT64"),
    ("customer_id", "INT64"),
    ("amount", "FLOAT64"),
    ("created_at", "TIMESTAMP"),
    ("label", "STRING"),
];

fn sources_yaml() -> String {
    let mut out = String::from(
        "sources:\n  - name: raw\n    schema: raw\n    location: \"{{ var('data_dir') }}\"\n    format: parquet\n    tables:\n",
    );
    for t in 0..SOURCE_TABLES {
        let _ = writeln!(out, "      - name: events_{t}\n        columns:");
        for (name, ty) in COLUMNS {
            let _ = writeln!(out, "          - {{name: {name}, type: {ty}}}");
        }
    }
    out
}

/// Model `i`'s SQL: a source at the roots, else refs to earlier models.
fn model_sql(i: usize, rng: &mut Lcg) -> String {
    let mut sql = String::new();
    if i.is_multiple_of(5) {
        let _ = writeln!(
            sql,
            "{{{{ config(materialized='view', tags=['group_{}']) }}}}",
            i / MODELS_PER_FOLDER
        );
    }
    sql.push_str("{%- set days = var('lookback_days') %}\n");
    let _ = writeln!(sql, "-- Model {i}: generated.");
    let upstream: Vec<String> = if i % MODELS_PER_FOLDER < 3 {
        vec![format!(
            "{{{{ source('raw', 'events_{}') }}}}",
            i % SOURCE_TABLES
        )]
    } else {
        // One to three distinct earlier models, mostly recent ones.
        let count = 1 + rng.below(3) as usize;
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < count.min(i) {
            let back = 1 + rng.below(i.min(50) as u64) as usize;
            let candidate = i - back;
            if !picked.contains(&candidate) {
                picked.push(candidate);
            }
        }
        picked
            .iter()
            .map(|p| format!("{{{{ ref('{}') }}}}", model_name(*p)))
            .collect()
    };
    sql.push_str("with base as (\n    select * from ");
    sql.push_str(&upstream[0]);
    sql.push_str("\n)");
    for (n, relation) in upstream.iter().enumerate().skip(1) {
        let _ = write!(
            sql,
            ",\nside_{n} as (\n    select id, sum(amount) as amount from {relation} group by id\n)"
        );
    }
    let mut amount = String::from("base.amount");
    for n in 1..upstream.len() {
        let _ = write!(amount, " + coalesce(side_{n}.amount, 0)");
    }
    let _ = write!(
        sql,
        "\nselect\n    base.id,\n    base.customer_id,\n    {{{{ cents('({amount})') }}}} as amount,\n    base.created_at,\n"
    );
    sql.push_str(
        "    {% if var('net_of_tax') %}upper(base.label){% else %}lower(base.label){% endif %} as label\nfrom base\n",
    );
    for n in 1..upstream.len() {
        let _ = writeln!(sql, "left join side_{n} on side_{n}.id = base.id");
    }
    sql.push_str("where {{ recent('base.created_at', days) }}\n");
    sql
}

/// Model `i`'s entry in its folder's schema YAML: typed columns, two tests on `id`.
fn model_properties(i: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  - name: {}\n    description: Generated model {i}.\n    columns:",
        model_name(i)
    );
    for (name, ty) in COLUMNS {
        if name == "id" {
            let _ = writeln!(
                out,
                "      - {{name: {name}, type: {ty}, tests: [unique, not_null]}}"
            );
        } else {
            let _ = writeln!(out, "      - {{name: {name}, type: {ty}}}");
        }
    }
    out
}
