//! `EXISTS (...)` and `x IN (SELECT ...)` in a SELECT list. DataFusion runs
//! these predicates in WHERE (as semi and anti joins) but cannot evaluate
//! them as values, so a SELECT item's subquery predicates become scalar
//! subqueries with BigQuery's three-valued result:
//!
//! - `EXISTS (q)` → `(SELECT COUNT(*) > 0 FROM (q))`;
//! - `x IN (q)` → TRUE when a row equals `x`, NULL when none does but `x` or
//!   a row is NULL (and `q` has rows), FALSE otherwise.
//!
//! Subqueries nested deeper (in a subquery's own WHERE) are left alone.
//! `ARRAY(q)` anywhere becomes `q`'s values aggregated into an array.

use datafusion::sql::sqlparser::ast::visit_expressions_mut;

use super::super::parse::parse_single;
use super::*;

/// Rewrites the subquery predicates of a SELECT list.
pub(super) fn rewrite_projection_subqueries(items: &mut [SelectItem]) -> Result<(), SqlError> {
    for item in items {
        let expr = match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            _ => continue,
        };
        let mut rewriter = PredicateRewriter { depth: 0 };
        if let ControlFlow::Break(err) = expr.visit(&mut rewriter) {
            return Err(err);
        }
    }
    Ok(())
}

/// Rewrites bottom-up, only outside nested queries (`depth == 0`).
struct PredicateRewriter {
    depth: usize,
}

impl VisitorMut for PredicateRewriter {
    type Break = SqlError;

    fn pre_visit_query(&mut self, _: &mut Query) -> ControlFlow<SqlError> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<SqlError> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let replacement = match expr {
            // Over the current row's array: a lambda, see `array_subqueries`.
            Expr::Exists { subquery, .. } if is_array_scan(subquery) => {
                return ControlFlow::Continue(());
            }
            Expr::Exists { subquery, negated } => exists_value(subquery, *negated),
            Expr::InSubquery {
                expr: lhs,
                subquery,
                negated,
            } => in_value(lhs, subquery, *negated),
            _ => return ControlFlow::Continue(()),
        };
        match replacement {
            Ok(new) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(e),
        }
    }
}

const EXISTS_TEMPLATE: &str = "SELECT (SELECT COUNT(*) > 0 FROM (SELECT 1) AS __bq_exists)";

const IN_TEMPLATE: &str = "SELECT (SELECT CASE \
     WHEN LOGICAL_OR(__bq_v = __bq_lhs) THEN TRUE \
     WHEN COUNT(*) > 0 AND (__bq_lhs IS NULL OR LOGICAL_OR(__bq_v IS NULL)) THEN NULL \
     ELSE FALSE END \
     FROM (SELECT 1) AS __bq_in(__bq_v))";

const ARRAY_TEMPLATE: &str = "SELECT bq_array_or_empty(\
     (SELECT ARRAY_AGG(__bq_v) FROM (SELECT 1) AS __bq_array(__bq_v)))";

/// `ARRAY(q)` for a one-column query without ORDER BY: its values
/// aggregated into an array, empty (not NULL) when `q` has no rows.
pub(super) fn array_value(subquery: &Query) -> Option<Expr> {
    if subquery.order_by.is_some() {
        return None;
    }
    from_template(ARRAY_TEMPLATE, subquery, None).ok()
}

fn exists_value(subquery: &Query, negated: bool) -> Result<Expr, SqlError> {
    let value = from_template(EXISTS_TEMPLATE, subquery, None)?;
    Ok(negate_if(value, negated))
}

fn in_value(lhs: &Expr, subquery: &Query, negated: bool) -> Result<Expr, SqlError> {
    let value = from_template(IN_TEMPLATE, subquery, Some(lhs))?;
    Ok(negate_if(value, negated))
}

fn negate_if(expr: Expr, negated: bool) -> Expr {
    if !negated {
        return expr;
    }
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(Expr::Nested(Box::new(expr))),
    }
}

/// The template's single SELECT item with `(SELECT 1)` replaced by
/// `subquery` and the identifier `__bq_lhs` by `lhs`.
fn from_template(template: &str, subquery: &Query, lhs: Option<&Expr>) -> Result<Expr, SqlError> {
    let Statement::Query(query) = parse_single(template)? else {
        return Err(SqlError::plan("internal: subquery template is not a query"));
    };
    let SetExpr::Select(select) = *query.body else {
        return Err(SqlError::plan(
            "internal: subquery template is not a SELECT",
        ));
    };
    let Some(SelectItem::UnnamedExpr(mut expr)) = select.projection.into_iter().next() else {
        return Err(SqlError::plan("internal: subquery template has no item"));
    };
    let _ = visit_expressions_mut(&mut expr, |e| {
        match e {
            Expr::Subquery(inner) => {
                if let SetExpr::Select(select) = inner.body.as_mut()
                    && let Some(from) = select.from.first_mut()
                    && let TableFactor::Derived { subquery: slot, .. } = &mut from.relation
                {
                    **slot = subquery.clone();
                }
            }
            Expr::Identifier(ident) if ident.value == "__bq_lhs" => {
                if let Some(lhs) = lhs {
                    *e = Expr::Nested(Box::new(lhs.clone()));
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(expr)
}
