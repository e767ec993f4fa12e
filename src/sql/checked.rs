//! Integer overflow as an error, as in BigQuery: after planning, INT64
//! `+`, `-` and `*` become checked UDF calls (`bq_checked_add`, ...) under
//! their original names. DataFusion's own operators wrap around silently.
//! Only integer arithmetic is touched; FLOAT64, NUMERIC and date arithmetic
//! keep DataFusion's operators.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF};

use super::functions::checked_arithmetic;

/// Rewrites the integer arithmetic of a plan (and its subqueries) into checked calls.
pub fn check_integer_overflow(plan: LogicalPlan) -> Result<LogicalPlan> {
    let [add, sub, mul] = checked_arithmetic().map(Arc::new);
    let udfs = Udfs { add, sub, mul };
    plan.transform_up_with_subqueries(|node| rewrite_node(node, &udfs))
        .map(|t| t.data)
}

struct Udfs {
    add: Arc<ScalarUDF>,
    sub: Arc<ScalarUDF>,
    mul: Arc<ScalarUDF>,
}

fn rewrite_node(node: LogicalPlan, udfs: &Udfs) -> Result<Transformed<LogicalPlan>> {
    if matches!(
        node,
        LogicalPlan::TableScan(_) | LogicalPlan::EmptyRelation(_)
    ) {
        return Ok(Transformed::no(node));
    }
    // Most nodes hold no arithmetic: skip the schema merge and the expression
    // names (formatting large expressions is the expensive part).
    let mut any = false;
    node.apply_expressions(|expr| {
        any = has_arithmetic(expr);
        Ok(if any {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    if !any {
        return Ok(Transformed::no(node));
    }
    let schema = merge_schema(&node.inputs());
    let preserver = NamePreserver::new(&node);
    let rewritten = node.map_expressions(|expr| {
        if !has_arithmetic(&expr) {
            return Ok(Transformed::no(expr));
        }
        let saved = preserver.save(&expr);
        let result = expr.transform_up(|e| rewrite_expr(e, &schema, udfs))?;
        Ok(if result.transformed {
            result.update_data(|e| saved.restore(e))
        } else {
            result
        })
    })?;
    if rewritten.transformed {
        rewritten.map_data(|plan| plan.recompute_schema())
    } else {
        Ok(rewritten)
    }
}

/// Whether an expression holds a `+`, `-` or `*` (outside subqueries).
fn has_arithmetic(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::BinaryExpr(BinaryExpr {
                op: Operator::Plus | Operator::Minus | Operator::Multiply,
                ..
            })
        ))
    })
    .unwrap_or(true)
}

fn rewrite_expr(
    expr: Expr,
    schema: &datafusion::common::DFSchema,
    udfs: &Udfs,
) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let udf = match op {
        Operator::Plus => &udfs.add,
        Operator::Minus => &udfs.sub,
        Operator::Multiply => &udfs.mul,
        _ => return Ok(Transformed::no(expr)),
    };
    let is_int = |e: &Expr| {
        e.get_type(schema)
            .map(|t| t.is_signed_integer())
            .unwrap_or(false)
    };
    if !(is_int(left) && is_int(right)) {
        return Ok(Transformed::no(expr));
    }
    let args = vec![left.as_ref().clone(), right.as_ref().clone()];
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(Arc::clone(udf), args),
    )))
}
