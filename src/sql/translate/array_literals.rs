//! Array literals: `ARRAY<T>[...]` (typed, possibly empty), STRUCT elements
//! named after the first one (`[STRUCT(1 AS a), (2)]`), and NULLs among
//! BYTES elements typed as BYTES.

use super::*;

/// The element type of `ARRAY<T>` when `e` is how sqlparser reads the start
/// of a typed array literal `ARRAY<T>[...]`: the comparison `array < T`.
pub(super) fn typed_array_element(e: &Expr) -> Option<&'static str> {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Lt,
        right,
    } = e
    else {
        return None;
    };
    let (Expr::Identifier(array), Expr::Identifier(element)) = (&**left, &**right) else {
        return None;
    };
    if array.quote_style.is_some()
        || element.quote_style.is_some()
        || !array.value.eq_ignore_ascii_case("ARRAY")
    {
        return None;
    }
    const TYPES: [&str; 10] = [
        "INT64",
        "FLOAT64",
        "STRING",
        "BOOL",
        "DATE",
        "DATETIME",
        "TIMESTAMP",
        "NUMERIC",
        "BIGNUMERIC",
        "BYTES",
    ];
    TYPES
        .into_iter()
        .find(|t| element.value.eq_ignore_ascii_case(t))
}

/// `[STRUCT(1 AS a, 'x' AS b), (2, 'y')]`: BigQuery gives every element the
/// first STRUCT's field names; DataFusion would name a tuple's fields `c0`, `c1`
/// and fail to unify the element types.
pub(super) fn name_struct_elements(elements: &mut [Expr]) {
    let Some(names) = elements.first().and_then(struct_field_names) else {
        return;
    };
    for element in elements.iter_mut().skip(1) {
        let values = match element {
            Expr::Tuple(values) => values,
            Expr::Struct { values, fields } if fields.is_empty() => values,
            _ => continue,
        };
        if values.len() != names.len() || values.iter().any(|v| matches!(v, Expr::Named { .. })) {
            continue;
        }
        let named = values
            .drain(..)
            .zip(&names)
            .map(|(value, name)| Expr::Named {
                expr: Box::new(value),
                name: name.clone(),
            })
            .collect();
        *element = Expr::Struct {
            values: named,
            fields: vec![],
        };
    }
}

/// The field names of `STRUCT(1 AS a, ...)` or `STRUCT<a INT64, ...>(...)`, when all are named.
pub(super) fn struct_field_names(expr: &Expr) -> Option<Vec<Ident>> {
    let Expr::Struct { values, fields } = expr else {
        return None;
    };
    if !fields.is_empty() {
        return fields.iter().map(|f| f.field_name.clone()).collect();
    }
    values
        .iter()
        .map(|v| match v {
            Expr::Named { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// `[b'a', NULL]`: a NULL among BYTES literals is a NULL BYTES (DataFusion
/// cannot unify BYTES with an untyped NULL).
pub(super) fn type_null_bytes_elements(elements: &mut [Expr]) {
    let is_bytes =
        |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, Value::HexStringLiteral(_)));
    if !elements.iter().any(is_bytes) {
        return;
    }
    for element in elements {
        if matches!(element, Expr::Value(v) if matches!(v.value, Value::Null)) {
            *element = call(
                "bq_cast",
                vec![element.clone(), string("BYTES"), boolean(false)],
            );
        }
    }
}

/// `ARRAY<T>[e1, e2, ...]` (read by sqlparser as `array < T > [...]`): the
/// array of each element cast to `T`.
pub(super) fn typed_array_literal(left: &Expr, right: &Expr) -> Result<Option<Expr>, SqlError> {
    let element = typed_array_element(left).unwrap_or("STRING");
    let Expr::Array(Array { elem, named }) = right else {
        return Err(SqlError::unsupported(format!(
            "typed array literal ARRAY<{element}> without [...] elements"
        ))
        .at_span(right.span()));
    };
    if elem.is_empty() {
        // An empty slice of a one-element array has the element type.
        let typed_null = call(
            "bq_cast",
            vec![Expr::value(Value::Null), string(element), boolean(false)],
        );
        return Ok(Some(call(
            "array_slice",
            vec![call("make_array", vec![typed_null]), number(1), number(0)],
        )));
    }
    let elem = elem
        .iter()
        .map(|e| call("bq_cast", vec![e.clone(), string(element), boolean(false)]))
        .collect();
    Ok(Some(Expr::Array(Array {
        elem,
        named: *named,
    })))
}
