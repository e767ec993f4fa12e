//! FROM and SELECT clauses: table names, aliases, `UNNEST` (including
//! correlated `FROM t, UNNEST(t.arr)` and `WITH OFFSET`), `GROUP BY ALL`,
//! and `* EXCEPT` / `* REPLACE` column names.

use datafusion::sql::sqlparser::ast::NamedWindowExpr;

use super::*;
/// `` `project.dataset.table` `` → `dataset.table`, lowercased.
pub(super) fn rewrite_table_name(name: &mut ObjectName) -> Result<(), SqlError> {
    let mut idents = Vec::with_capacity(name.0.len());
    for part in &name.0 {
        match part {
            ObjectNamePart::Identifier(ident) => idents.push(ident.clone()),
            ObjectNamePart::Function(f) => {
                return Err(
                    SqlError::unsupported(format!("table name function {}", f.name))
                        .at_span(f.name.span),
                );
            }
        }
    }
    let mut idents = split_dotted(idents);
    if idents.len() == 3 {
        idents.remove(0);
    }
    if idents.len() > 3 {
        return Err(SqlError::plan(format!("invalid table name {name}")).at_span(name.span()));
    }
    for ident in &mut idents {
        normalize_ident(ident);
    }
    *name = ObjectName::from(idents);
    Ok(())
}

/// The name of a `WITH OFFSET [AS name]` column.
pub(super) fn offset_name(alias: Option<Ident>) -> String {
    alias.map_or_else(|| "offset".to_string(), |i| i.value.to_lowercase())
}

pub(super) fn rewrite_table_factor(factor: &mut TableFactor) -> Result<(), SqlError> {
    match factor {
        TableFactor::Table {
            alias, args, name, ..
        } => {
            if args.is_some() {
                return Err(
                    SqlError::unsupported(format!("table-valued function {name}"))
                        .at_span(name.span()),
                );
            }
            if let Some(alias) = alias {
                normalize_alias(alias);
            }
        }
        TableFactor::Derived { alias, .. } | TableFactor::NestedJoin { alias, .. } => {
            if let Some(alias) = alias {
                normalize_alias(alias);
            }
        }
        TableFactor::UNNEST {
            alias,
            with_offset,
            with_offset_alias,
            array_exprs,
            with_ordinality,
        } => {
            if *with_ordinality || array_exprs.len() != 1 {
                let span = array_exprs
                    .first()
                    .map(Spanned::span)
                    .unwrap_or(Span::empty());
                return Err(
                    SqlError::unsupported("UNNEST of several arrays or WITH ORDINALITY")
                        .at_span(span),
                );
            }
            if let Some(flat) =
                struct_literal_unnest(alias, &array_exprs[0], *with_offset, with_offset_alias)?
            {
                *factor = flat;
                return Ok(());
            }
            let mut named = alias.take().unwrap_or_else(|| TableAlias {
                explicit: true,
                name: Ident::new("__bq_unnest"),
                columns: vec![],
                at: None,
            });
            normalize_alias(&mut named);
            // BigQuery's `UNNEST(a) AS x` names the element column x.
            if named.columns.is_empty() {
                named.columns = vec![TableAliasColumnDef::from_name(named.name.value.clone())];
            }
            if *with_offset || with_offset_alias.is_some() {
                let offsets = call("bq_array_offsets", vec![array_exprs[0].clone()]);
                array_exprs.push(offsets);
                let name = offset_name(with_offset_alias.take());
                named.columns.push(TableAliasColumnDef::from_name(name));
                *with_offset = false;
            }
            *alias = Some(named);
        }
        other => {
            let text = other.to_string();
            let head: String = text.chars().take(40).collect();
            return Err(SqlError::unsupported(format!("FROM item {head}")).at_span(other.span()));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ SELECT

pub(super) fn rewrite_select(select: &mut Select) -> Result<(), SqlError> {
    if let Some(mode) = &select.value_table_mode {
        let what = match mode {
            ValueTableMode::AsStruct | ValueTableMode::DistinctAsStruct => "SELECT AS STRUCT",
            ValueTableMode::AsValue | ValueTableMode::DistinctAsValue => "SELECT AS VALUE",
        };
        return Err(SqlError::unsupported(what).at_span(select.select_token.0.span));
    }
    rewrite_correlated_unnests(select)?;
    rewrite_projection_subqueries(&mut select.projection)?;
    if let GroupByExpr::All(modifiers) = &select.group_by {
        if !modifiers.is_empty() {
            return Err(SqlError::unsupported("GROUP BY ALL with modifiers"));
        }
        select.group_by = GroupByExpr::Expressions(group_by_all(&select.projection)?, vec![]);
    }
    for item in &mut select.projection {
        match item {
            SelectItem::ExprWithAlias { alias, .. } => normalize_ident(alias),
            SelectItem::ExprWithAliases { aliases, .. } => {
                aliases.iter_mut().for_each(normalize_ident)
            }
            SelectItem::UnnamedExpr(_) => {}
            SelectItem::Wildcard(options) => normalize_wildcard(options),
            SelectItem::QualifiedWildcard(kind, options) => {
                if let SelectItemQualifiedWildcardKind::ObjectName(name) = kind {
                    for part in &mut name.0 {
                        if let ObjectNamePart::Identifier(ident) = part {
                            normalize_ident(ident);
                        }
                    }
                }
                normalize_wildcard(options);
            }
        }
    }
    for window in &mut select.named_window {
        normalize_ident(&mut window.0);
        match &mut window.1 {
            NamedWindowExpr::NamedWindow(ident) => normalize_ident(ident),
            NamedWindowExpr::WindowSpec(spec) => {
                bigquery_null_order(&mut spec.order_by);
                if let Some(ident) = &mut spec.window_name {
                    normalize_ident(ident);
                }
            }
        }
    }
    Ok(())
}

/// Whether an expression reads a column (so an UNNEST of it is correlated).
pub(super) fn references_columns(expr: &Expr) -> bool {
    // A typed array literal `ARRAY<T>[...]` reads as `array < T > [...]`.
    if let Expr::BinaryOp {
        left,
        op: BinaryOperator::Gt,
        right,
    } = expr
        && typed_array_element(left).is_some()
    {
        return references_columns(right);
    }
    let mut found = false;
    let _ = visit_expressions(expr, |e| {
        if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

pub(super) fn is_correlated_unnest(factor: &TableFactor) -> bool {
    matches!(factor, TableFactor::UNNEST { array_exprs, .. } if array_exprs.iter().any(references_columns))
}

/// `FROM t AS e, UNNEST(e.arr) AS x [WITH OFFSET AS o]` (or `CROSS JOIN
/// UNNEST`): DataFusion cannot unnest a column of an earlier FROM item, so
/// the pair becomes `(SELECT e.*, UNNEST(e.arr) AS x [, offsets] FROM t AS e) AS e`.
pub(super) fn rewrite_correlated_unnests(select: &mut Select) -> Result<(), SqlError> {
    loop {
        let Some(first) = select.from.first_mut() else {
            return Ok(());
        };
        let (unnest, keep_empty) = if first
            .joins
            .first()
            .is_some_and(|j| is_correlated_unnest(&j.relation))
        {
            let join = first.joins.remove(0);
            let keep_empty = unnest_join_kind(&join)?;
            (join.relation, keep_empty)
        } else if first.joins.is_empty()
            && select
                .from
                .get(1)
                .is_some_and(|t| is_correlated_unnest(&t.relation))
        {
            let second = select.from.remove(1);
            if let Some(first) = select.from.first_mut() {
                first.joins = second.joins;
            }
            (second.relation, false)
        } else {
            break;
        };
        let Some(first) = select.from.first_mut() else {
            return Ok(());
        };
        let base = std::mem::replace(&mut first.relation, placeholder_factor());
        first.relation = wrap_unnest(base, unnest, keep_empty)?;
    }
    let mut rest = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    if let Some(bad) = rest.find(|f| is_correlated_unnest(f)) {
        return Err(SqlError::unsupported(
            "UNNEST of a column after a JOIN or of an outer query's column",
        )
        .at_span(bad.span()));
    }
    Ok(())
}

/// Whether a JOIN with a correlated UNNEST keeps rows whose array is empty
/// (LEFT JOIN) or not (CROSS or INNER JOIN); other joins are unsupported.
fn unnest_join_kind(join: &datafusion::sql::sqlparser::ast::Join) -> Result<bool, SqlError> {
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator};
    let trivial = |c: &JoinConstraint| match c {
        JoinConstraint::None => true,
        JoinConstraint::On(Expr::Value(v)) => v.value == Value::Boolean(true),
        _ => false,
    };
    match &join.join_operator {
        JoinOperator::CrossJoin(_) => Ok(false),
        JoinOperator::Join(c) | JoinOperator::Inner(c) if trivial(c) => Ok(false),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) if trivial(c) => Ok(true),
        _ => Err(
            SqlError::unsupported("JOIN UNNEST of a column with a join condition")
                .at_span(join.relation.span()),
        ),
    }
}

pub(super) fn placeholder_factor() -> TableFactor {
    TableFactor::UNNEST {
        alias: None,
        array_exprs: vec![],
        with_offset: false,
        with_offset_alias: None,
        with_ordinality: false,
    }
}

/// The name a FROM item is referred to by.
pub(super) fn factor_name(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.value.to_lowercase())
        }
        TableFactor::Table {
            name, alias: None, ..
        } => name.0.last().and_then(ObjectNamePart::as_ident).map(|i| {
            i.value
                .rsplit('.')
                .next()
                .unwrap_or(&i.value)
                .to_lowercase()
        }),
        _ => None,
    }
}

pub(super) fn wrap_unnest(
    base: TableFactor,
    unnest: TableFactor,
    keep_empty: bool,
) -> Result<TableFactor, SqlError> {
    let TableFactor::UNNEST {
        alias,
        mut array_exprs,
        with_offset,
        with_offset_alias,
        with_ordinality,
    } = unnest
    else {
        return Err(SqlError::plan("expected UNNEST"));
    };
    let Some(array) = array_exprs
        .pop()
        .filter(|_| array_exprs.is_empty() && !with_ordinality)
    else {
        return Err(SqlError::unsupported(
            "UNNEST of several arrays or WITH ORDINALITY",
        ));
    };
    let mut base = base;
    if let TableFactor::Derived {
        alias: alias @ None,
        ..
    } = &mut base
    {
        // `FROM (SELECT ... AS arr), UNNEST(arr)`: name the subquery so its
        // columns can be selected next to the unnested elements.
        *alias = Some(TableAlias {
            explicit: true,
            name: Ident::new("__bq_from"),
            columns: vec![],
            at: None,
        });
    }
    let Some(base_name) = factor_name(&base) else {
        return Err(
            SqlError::unsupported("UNNEST of a column of an unnamed FROM item")
                .at_span(base.span()),
        );
    };
    if let TableFactor::Table {
        alias: alias @ None,
        ..
    } = &mut base
    {
        *alias = Some(TableAlias {
            explicit: true,
            name: Ident::new(base_name.clone()),
            columns: vec![],
            at: None,
        });
    }
    let element = alias.map_or_else(
        || "__bq_unnest".to_string(),
        |a| a.name.value.to_lowercase(),
    );
    let template = format!("SELECT `{base_name}`.* FROM __bq_base");
    let Statement::Query(mut query) = crate::sql::parse::parse_single(&template)? else {
        return Err(SqlError::plan("UNNEST rewrite failed"));
    };
    let SetExpr::Select(inner) = query.body.as_mut() else {
        return Err(SqlError::plan("UNNEST rewrite failed"));
    };
    if let Some(from) = inner.from.first_mut() {
        from.relation = base;
    }
    inner.projection.push(SelectItem::ExprWithAlias {
        expr: call(
            "unnest",
            vec![if keep_empty {
                call("bq_array_or_null", vec![array.clone()])
            } else {
                array.clone()
            }],
        ),
        alias: Ident::new(element),
    });
    if with_offset || with_offset_alias.is_some() {
        inner.projection.push(SelectItem::ExprWithAlias {
            expr: call("unnest", vec![call("bq_array_offsets", vec![array])]),
            alias: Ident::new(offset_name(with_offset_alias)),
        });
    }
    Ok(TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(TableAlias {
            explicit: true,
            name: Ident::new(base_name),
            columns: vec![],
            at: None,
        }),
        sample: None,
    })
}

/// The element alias of a flattened STRUCT-literal UNNEST (never flattened again).
const STRUCT_ELEMENT: &str = "__bq_s";

/// `UNNEST([STRUCT(1 AS a, 'x' AS b), ...]) [AS t]`: BigQuery makes each
/// STRUCT field a column (`SELECT *` gives `a, b`; `t.a` and `a` both
/// work). The literal's field names are known here, so the UNNEST becomes
/// `(SELECT __bq_s.a AS a, __bq_s.b AS b FROM UNNEST(...) AS __bq_s) AS t`.
fn struct_literal_unnest(
    alias: &Option<TableAlias>,
    array: &Expr,
    with_offset: bool,
    with_offset_alias: &Option<Ident>,
) -> Result<Option<TableFactor>, SqlError> {
    if alias
        .as_ref()
        .is_some_and(|a| a.name.value == STRUCT_ELEMENT || !a.columns.is_empty())
    {
        return Ok(None);
    }
    let Expr::Array(Array { elem, .. }) = array else {
        return Ok(None);
    };
    let Some(fields) = elem.first().and_then(struct_field_names) else {
        return Ok(None);
    };
    let mut items: Vec<String> = fields
        .iter()
        .map(|f| {
            let name = f.value.to_lowercase().replace('`', "");
            format!("{STRUCT_ELEMENT}.`{name}` AS `{name}`")
        })
        .collect();
    let mut from = format!("UNNEST([1]) AS {STRUCT_ELEMENT}");
    if with_offset || with_offset_alias.is_some() {
        let name = offset_name(with_offset_alias.clone()).replace('`', "");
        items.push(format!("__bq_o AS `{name}`"));
        from.push_str(" WITH OFFSET AS __bq_o");
    }
    let sql = format!("SELECT {} FROM {from}", items.join(", "));
    let Statement::Query(mut query) = crate::sql::parse::parse_single(&sql)? else {
        return Err(SqlError::plan("UNNEST rewrite failed"));
    };
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(TableFactor::UNNEST { array_exprs, .. }) =
            select.from.first_mut().map(|t| &mut t.relation)
    {
        *array_exprs = vec![array.clone()];
    }
    let mut named = alias.clone().unwrap_or_else(|| TableAlias {
        explicit: true,
        name: Ident::new("__bq_unnest"),
        columns: vec![],
        at: None,
    });
    normalize_alias(&mut named);
    Ok(Some(TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(named),
        sample: None,
    }))
}

pub(super) fn normalize_wildcard(options: &mut WildcardAdditionalOptions) {
    if let Some(except) = &mut options.opt_except {
        normalize_ident(&mut except.first_element);
        except
            .additional_elements
            .iter_mut()
            .for_each(normalize_ident);
    }
    if let Some(replace) = &mut options.opt_replace {
        for element in &mut replace.items {
            normalize_ident(&mut element.column_name);
        }
    }
}

/// BigQuery aggregate functions (for GROUP BY ALL).
pub(super) const AGGREGATES: &[&str] = &[
    "ANY_VALUE",
    "ARRAY_AGG",
    "ARRAY_CONCAT_AGG",
    "AVG",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "COUNT",
    "COUNTIF",
    "LOGICAL_AND",
    "LOGICAL_OR",
    "MAX",
    "MAX_BY",
    "MIN",
    "MIN_BY",
    "STRING_AGG",
    "SUM",
    "APPROX_COUNT_DISTINCT",
    "APPROX_QUANTILES",
    "APPROX_TOP_COUNT",
    "APPROX_TOP_SUM",
    "CORR",
    "COVAR_POP",
    "COVAR_SAMP",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "VARIANCE",
    "VAR_POP",
    "VAR_SAMP",
    "GROUPING",
];

/// The 1-based positions of the SELECT items GROUP BY ALL groups by: those
/// with no aggregate or window function that reference a column.
pub(super) fn group_by_all(projection: &[SelectItem]) -> Result<Vec<Expr>, SqlError> {
    let mut positions = Vec::new();
    for (i, item) in projection.iter().enumerate() {
        let expr = match item {
            SelectItem::UnnamedExpr(e)
            | SelectItem::ExprWithAlias { expr: e, .. }
            | SelectItem::ExprWithAliases { expr: e, .. } => e,
            _ => return Err(SqlError::unsupported("GROUP BY ALL with SELECT *")),
        };
        let mut aggregated = false;
        let mut has_column = false;
        let _ = visit_expressions(expr, |e| {
            match e {
                Expr::Function(f) => {
                    let name = f.name.to_string().to_ascii_uppercase();
                    if f.over.is_some() || AGGREGATES.contains(&name.as_str()) {
                        aggregated = true;
                    }
                }
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) => has_column = true,
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        if !aggregated && has_column {
            positions.push(number(i + 1));
        }
    }
    Ok(positions)
}
