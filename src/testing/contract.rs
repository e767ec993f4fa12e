//! Model contracts: with `config: {contract: {enforced: true}}` the columns a
//! model's SQL produces (planned, before anything is written) must be
//! exactly the declared columns, with the declared types. A difference
//! fails the model, naming the column.

use crate::compile::CompiledNode;
use crate::error::{Diagnostic, Error, Result};

/// Check the planned columns (name, BigQuery type) of `node` against its declared columns.
pub fn check(node: &CompiledNode, planned: &[(String, String)]) -> Result<()> {
    let fail = |message: String, help: &str| {
        Err(Error::config(
            Diagnostic::new(format!(
                "model `{}`: contract violated: {message}",
                node.name
            ))
            .at(node.defined_at.clone())
            .help(help.to_string()),
        ))
    };
    if node.columns.is_empty() {
        return fail(
            "no columns are declared".into(),
            "declare every column with its `type:` under `columns:`",
        );
    }
    for declared in &node.columns {
        let Some(ty) = &declared.data_type else {
            return fail(
                format!("column `{}` has no type", declared.name),
                "declare a `type:` for every column of a model with an enforced contract",
            );
        };
        let Some((_, found)) = planned
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&declared.name))
        else {
            return fail(
                format!("column `{}` is declared but not produced", declared.name),
                "select it in the model, or remove it from `columns:`",
            );
        };
        if normalize(ty) != normalize(found) {
            return fail(
                format!(
                    "column `{}` is {found}, the contract says {}",
                    declared.name,
                    ty.trim()
                ),
                "cast it in the model's SQL, or change the declared `type:`",
            );
        }
    }
    for (name, ty) in planned {
        if !node
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
        {
            return fail(
                format!("column `{name}` ({ty}) is produced but not declared"),
                "declare it under `columns:`, or leave it out of the SELECT",
            );
        }
    }
    Ok(())
}

/// A BigQuery type name in a comparable form: upper case, no spaces or
/// parameters, aliases resolved (INTEGER → INT64, BOOLEAN → BOOL, ...).
fn normalize(ty: &str) -> String {
    let upper: String = ty
        .to_ascii_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let base = match upper.find('(') {
        Some(i) => upper[..i].to_string(),
        None => upper,
    };
    match base.as_str() {
        "INTEGER" | "INT" | "SMALLINT" | "BIGINT" | "TINYINT" | "BYTEINT" => "INT64".into(),
        "FLOAT" => "FLOAT64".into(),
        "BOOLEAN" => "BOOL".into(),
        "DECIMAL" => "NUMERIC".into(),
        "BIGDECIMAL" => "BIGNUMERIC".into(),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_compare_by_meaning() {
        assert_eq!(normalize("integer"), "INT64");
        assert_eq!(normalize(" String(10) "), "STRING");
        assert_eq!(normalize("ARRAY<INT64>"), normalize("array< int64 >"));
        assert_ne!(normalize("FLOAT64"), normalize("INT64"));
    }
}
