//! Subqueries over the array of the current row, the GA4 idiom:
//!
//! ```sql
//! (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id')
//! EXISTS (SELECT 1 FROM UNNEST(tags) AS t WHERE t = 'vip')
//! ARRAY(SELECT x * 2 FROM UNNEST(xs) AS x WHERE x > 0)
//! ```
//!
//! DataFusion cannot plan a subquery that unnests an outer column, but each
//! of these is a function of one array value, so it becomes a lambda over
//! the array instead: a filter (`WHERE`), a transform (the SELECT item), then
//! the scalar subquery's single element (NULL when none, an error when
//! several), `EXISTS`'s any-match, or `ARRAY(...)`'s array (empty, not NULL).
//! An aggregate over the elements (`SELECT SUM(price * quantity) FROM
//! UNNEST(items)`) becomes `bq_list_aggregate` of the mapped elements.
//!
//! Inside the subquery the element is the UNNEST alias; without an alias, as
//! in GA4 queries, unqualified names are the element's STRUCT fields.
//! Anything else (joins, GROUP BY, DISTINCT, ORDER BY, LIMIT, WITH OFFSET, nested
//! subqueries) is left to the general path, which plans it or names it as
//! unsupported.

use datafusion::sql::sqlparser::ast::{
    LambdaFunction, LambdaFunctionParameter, LambdaSyntax, OneOrManyWithParens,
};

use super::relations::AGGREGATES;
use super::*;

/// The lambda parameter standing for one element of the array.
const ELEMENT: &str = "__bq_e";

/// Rewrites `expr` when it is one of the array subqueries this module handles.
pub(super) fn rewrite_array_subquery(expr: &mut Expr) {
    let replacement = match expr {
        Expr::Subquery(query) => array_scan(query).and_then(ArrayScan::scalar),
        // An aggregate query always has one row: EXISTS of it is the general path's.
        Expr::Exists { subquery, negated } => array_scan(subquery)
            .filter(|scan| !matches!(scan.item, Some(Item::Aggregate { .. })))
            .map(|scan| {
                let matched = scan.any_match();
                if *negated {
                    Expr::UnaryOp {
                        op: UnaryOperator::Not,
                        expr: Box::new(Expr::Nested(Box::new(matched))),
                    }
                } else {
                    matched
                }
            }),
        Expr::Function(f) if is_array_constructor(f) => match &f.args {
            FunctionArguments::Subquery(query) => match array_scan(query) {
                Some(scan) => scan
                    .mapped()
                    .map(|mapped| call("bq_array_or_empty", vec![mapped])),
                None => super::subqueries::array_value(query),
            },
            _ => None,
        },
        _ => None,
    };
    if let Some(new) = replacement {
        *expr = new;
    }
}

fn is_array_constructor(f: &Function) -> bool {
    f.name.0.len() == 1 && f.name.to_string().eq_ignore_ascii_case("ARRAY")
}

/// `SELECT item FROM UNNEST(array) [AS alias] [WHERE condition]`, with the
/// element references already replaced by the lambda parameter.
struct ArrayScan {
    array: Expr,
    /// The single SELECT item; `None` for `SELECT *` or several items (fine for EXISTS).
    item: Option<Item>,
    condition: Option<Expr>,
}

/// What the subquery selects for each element, or over all of them.
enum Item {
    Value(Expr),
    /// `COUNT(*)` (no argument), `SUM(x)`, ...: a `bq_list_aggregate` kind.
    Aggregate {
        kind: &'static str,
        argument: Option<Expr>,
    },
}

/// BigQuery aggregates over an array subquery, with their `bq_list_aggregate` kinds.
const LIST_AGGREGATES: [(&str, &str); 8] = [
    ("COUNT", "count"),
    ("COUNTIF", "countif"),
    ("SUM", "sum"),
    ("AVG", "avg"),
    ("MIN", "min"),
    ("MAX", "max"),
    ("LOGICAL_AND", "logical_and"),
    ("LOGICAL_OR", "logical_or"),
];

impl ArrayScan {
    /// The filtered elements, each mapped through the SELECT item.
    fn mapped(self) -> Option<Expr> {
        let filtered = self.filtered();
        match self.item? {
            Item::Value(item) => Some(call("bq_array_transform", vec![filtered, lambda(item)])),
            Item::Aggregate { .. } => None,
        }
    }

    /// A scalar subquery's value: the single mapped element, or the aggregate.
    fn scalar(self) -> Option<Expr> {
        let filtered = self.filtered();
        match self.item? {
            Item::Value(item) => Some(call(
                "bq_scalar_element",
                vec![call("bq_array_transform", vec![filtered, lambda(item)])],
            )),
            Item::Aggregate { kind, argument } => {
                let (kind, values) = match argument {
                    Some(argument) => (
                        kind,
                        call("bq_array_transform", vec![filtered, lambda(argument)]),
                    ),
                    None => ("count_star", filtered),
                };
                Some(call("bq_list_aggregate", vec![string(kind), values]))
            }
        }
    }

    fn filtered(&self) -> Expr {
        match &self.condition {
            Some(condition) => call(
                "bq_array_filter",
                vec![self.array.clone(), lambda(null_is_false(condition.clone()))],
            ),
            None => self.array.clone(),
        }
    }

    /// Whether any element passes the condition; FALSE for a NULL array.
    fn any_match(self) -> Expr {
        let condition = self.condition.clone().unwrap_or_else(|| boolean(true));
        let matched = call(
            "bq_array_any_match",
            vec![self.array, lambda(null_is_false(condition))],
        );
        null_is_false(matched)
    }
}

fn null_is_false(condition: Expr) -> Expr {
    call("coalesce", vec![condition, boolean(false)])
}

fn lambda(body: Expr) -> Expr {
    Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::One(LambdaFunctionParameter {
            name: Ident::new(ELEMENT),
            data_type: None,
        }),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    })
}

/// Whether a subquery is an array scan this module rewrites.
pub(super) fn is_array_scan(query: &Query) -> bool {
    array_scan(query).is_some()
}

/// Whether a lambda is one this module wrote (users cannot write lambdas in BigQuery).
pub(super) fn is_element_lambda(lambda: &LambdaFunction) -> bool {
    matches!(&lambda.params, OneOrManyWithParens::One(p) if p.name.value == ELEMENT)
}

fn array_scan(query: &Query) -> Option<ArrayScan> {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
        || !query.pipe_operators.is_empty()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let plain_select = select.distinct.is_none()
        && select.value_table_mode.is_none()
        && select.having.is_none()
        && select.qualify.is_none()
        && select.named_window.is_empty()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        && select.from.len() == 1
        && select.from[0].joins.is_empty();
    if !plain_select {
        return None;
    }
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset: false,
        with_offset_alias: None,
        with_ordinality: false,
    } = &select.from[0].relation
    else {
        return None;
    };
    // A literal array has no outer reference: the general path plans it.
    let [array] = array_exprs.as_slice() else {
        return None;
    };
    if matches!(array, Expr::Array(_)) || alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return None;
    }
    if select.selection.as_ref().is_some_and(|c| !is_row_level(c)) {
        return None;
    }
    let element = alias.as_ref().map(|a| a.name.value.to_lowercase());
    let bind = |e: &Expr| {
        let mut e = e.clone();
        bind_element(&mut e, element.as_deref());
        e
    };
    let item = match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] => {
            if is_row_level(e) {
                Some(Item::Value(bind(e)))
            } else {
                let (kind, argument) = list_aggregate(e)?;
                Some(Item::Aggregate {
                    kind,
                    argument: argument.map(bind),
                })
            }
        }
        _ => None,
    };
    let condition = select.selection.clone().map(|mut c| {
        bind_element(&mut c, element.as_deref());
        c
    });
    Some(ArrayScan {
        array: array.clone(),
        item,
        condition,
    })
}

/// `COUNT(*)`, `SUM(x)`, ... over the elements: the aggregate's kind and
/// its per-element argument (`None` for `COUNT(*)`), when the call is one
/// `bq_list_aggregate` computes (no DISTINCT, ORDER BY, LIMIT or OVER).
fn list_aggregate(expr: &Expr) -> Option<(&'static str, Option<&Expr>)> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let (name, false) = function_name(f).ok()? else {
        return None;
    };
    let kind = LIST_AGGREGATES.iter().find(|(n, _)| *n == name)?.1;
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if f.over.is_some()
        || f.filter.is_some()
        || f.null_treatment.is_some()
        || !f.within_group.is_empty()
        || list.duplicate_treatment.is_some()
        || !list.clauses.is_empty()
    {
        return None;
    }
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if kind == "count" => Some((kind, None)),
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(argument))] if is_row_level(argument) => {
            Some((kind, Some(argument)))
        }
        _ => None,
    }
}

/// No aggregates, window functions or nested subqueries: a per-element expression.
fn is_row_level(expr: &Expr) -> bool {
    let found = visit_expressions(expr, |e| {
        let nested = match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => true,
            Expr::Function(f) => {
                f.over.is_some()
                    || matches!(f.args, FunctionArguments::Subquery(_))
                    || function_name(f).is_ok_and(|(name, _)| AGGREGATES.contains(&name.as_str()))
            }
            _ => false,
        };
        if nested {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found.is_continue()
}

/// Replaces references to the element (`alias`, `alias.field`, or with no
/// alias the element's field names) by the lambda parameter.
fn bind_element(expr: &mut Expr, alias: Option<&str>) {
    let mut binder = ElementBinder { alias };
    let _ = expr.visit(&mut binder);
}

struct ElementBinder<'a> {
    alias: Option<&'a str>,
}

impl ElementBinder<'_> {
    /// The element expression for a name path, or `None` when the path is outside the element.
    fn bind(&self, path: &[Ident]) -> Option<Expr> {
        let (first, fields) = path.split_first()?;
        if first.value == ELEMENT {
            return None;
        }
        let element = Expr::Identifier(Ident::new(ELEMENT));
        let fields: Vec<&Ident> = match self.alias {
            Some(alias) if first.value.eq_ignore_ascii_case(alias) => fields.iter().collect(),
            Some(_) => return None,
            None => path.iter().collect(),
        };
        Some(fields.into_iter().fold(element, |current, field| {
            call(
                "bq_get_field",
                vec![current, string(field.value.to_lowercase())],
            )
        }))
    }
}

impl VisitorMut for ElementBinder<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // Date parts (`DAY`) are keywords, not names: make them literals first.
        prepare_expr(expr);
        let bound = match expr {
            Expr::Identifier(ident) => self.bind(std::slice::from_ref(ident)),
            Expr::CompoundIdentifier(idents) => self.bind(idents),
            Expr::CompoundFieldAccess { root, access_chain } => {
                let mut path = match root.as_ref() {
                    Expr::Identifier(ident) => vec![ident.clone()],
                    Expr::CompoundIdentifier(idents) => idents.clone(),
                    _ => return ControlFlow::Continue(()),
                };
                let leading = access_chain
                    .iter()
                    .take_while(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_))))
                    .count();
                for access in access_chain.drain(..leading) {
                    if let AccessExpr::Dot(Expr::Identifier(ident)) = access {
                        path.push(ident);
                    }
                }
                **root = match self.bind(&path) {
                    Some(bound) => bound,
                    None if path.len() == 1 => Expr::Identifier(path.remove(0)),
                    None => Expr::CompoundIdentifier(path),
                };
                if access_chain.is_empty() {
                    Some(std::mem::replace(root.as_mut(), boolean(false)))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(bound) = bound {
            *expr = bound;
        }
        ControlFlow::Continue(())
    }
}
