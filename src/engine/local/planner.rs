//! The local engine's query planner: DataFusion's, plus the physical nodes
//! of its own optimizer rules ([`super::first_row`], [`super::repeated_keys`]).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};

use super::first_row::FirstRowsPlanner;
use super::repeated_keys::RepeatedKeysPlanner;

/// Registered on every local session.
#[derive(Debug, Default)]
pub struct CohortQueryPlanner;

#[async_trait]
impl QueryPlanner for CohortQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![
            Arc::new(FirstRowsPlanner),
            Arc::new(RepeatedKeysPlanner),
        ])
        .create_physical_plan(logical_plan, session_state)
        .await
    }
}
