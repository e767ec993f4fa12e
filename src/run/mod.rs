//! Running selected models on an engine in dependency order: up to
//! `threads` at once, each started as soon as its parents are built; a
//! failure skips everything downstream of it (with the reason). Progress is
//! reported to an [`Observer`]; the runner itself never prints.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::compile::{CompiledNode, CompiledProject};
use crate::engine::Engine;
use crate::error::Error;

/// The outcome of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Error,
    Skipped,
}

/// One node's result.
#[derive(Debug, Clone, Serialize)]
pub struct NodeResult {
    pub unique_id: String,
    pub name: String,
    pub relation: String,
    pub materialization: &'static str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(serialize_with = "seconds")]
    pub execution_time: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the failure is the user's configuration (exit code 2) rather than a model error.
    #[serde(skip)]
    pub config_error: bool,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Receives progress as the run goes.
pub trait Observer: Send + Sync {
    /// `node` started; `index` is its 1-based position among `total`.
    fn started(&self, node: &CompiledNode, index: usize, total: usize);
    /// A node finished (or was skipped).
    fn finished(&self, result: &NodeResult, index: usize, total: usize);
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub results: Vec<NodeResult>,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    pub interrupted: bool,
}

impl RunSummary {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

/// Build `selected` (names in topological order) on `engine`.
pub async fn run(
    compiled: &CompiledProject,
    selected: &[String],
    engine: Arc<dyn Engine>,
    threads: usize,
    observer: &dyn Observer,
    cancel: tokio::sync::watch::Receiver<bool>,
) -> RunSummary {
    let started = Instant::now();
    let selected_set: BTreeSet<&str> = selected.iter().map(String::as_str).collect();
    let index_of: BTreeMap<&str, usize> = selected
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i + 1))
        .collect();
    let total = selected.len();
    let mut waiting: BTreeMap<&str, usize> = selected
        .iter()
        .map(|n| {
            let parents = compiled
                .graph
                .parents(n)
                .filter(|p| selected_set.contains(p.as_str()))
                .count();
            (n.as_str(), parents)
        })
        .collect();
    let mut results: BTreeMap<String, NodeResult> = BTreeMap::new();
    let mut running: JoinSet<(String, Result<crate::engine::Materialized, Error>, Duration)> =
        JoinSet::new();
    let mut interrupted = false;
    let mut in_flight: BTreeSet<String> = BTreeSet::new();
    let threads = threads.max(1);

    loop {
        interrupted = interrupted || *cancel.borrow();
        if !interrupted {
            // Start ready nodes in topological order.
            let ready: Vec<&str> = selected
                .iter()
                .map(String::as_str)
                .filter(|n| waiting.get(n) == Some(&0))
                .take(threads.saturating_sub(running.len()))
                .collect();
            for name in ready {
                waiting.remove(name);
                let Some(node) = compiled.nodes.get(name) else {
                    continue;
                };
                observer.started(node, index_of[name], total);
                in_flight.insert(name.to_string());
                let engine = engine.clone();
                let node = node.clone();
                running.spawn(async move {
                    let t = Instant::now();
                    let outcome = engine.materialize(&node).await;
                    (node.name.clone(), outcome, t.elapsed())
                });
            }
        }
        if running.is_empty() || interrupted {
            break;
        }
        let mut cancel_wait = cancel.clone();
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            _ = cancel_wait.changed() => { interrupted = true; continue; }
        };
        let Some(joined) = joined else { break };
        let (name, outcome, elapsed) = match joined {
            Ok(v) => v,
            Err(join_error) => {
                // A panicking task is a bug; it is reported, not propagated.
                let name = String::from("<unknown>");
                (
                    name,
                    Err(Error::execution(crate::Diagnostic::new(format!(
                        "internal error: {join_error}"
                    )))),
                    Duration::ZERO,
                )
            }
        };
        in_flight.remove(&name);
        let Some(node) = compiled.nodes.get(&name) else {
            continue;
        };
        let result = node_result(node, outcome, elapsed);
        let failed = result.status == Status::Error;
        observer.finished(&result, index_of[name.as_str()], total);
        results.insert(name.clone(), result);
        for child in compiled.graph.children(&name) {
            if let Some(count) = waiting.get_mut(child.as_str()) {
                *count = count.saturating_sub(1);
            }
        }
        if failed {
            skip_descendants(
                compiled,
                &name,
                &mut waiting,
                &mut results,
                &index_of,
                total,
                observer,
            );
        }
    }
    if interrupted {
        // Dropping a build mid-way is safe: unpublished versions are never visible.
        running.abort_all();
        for name in in_flight {
            if let Some(node) = compiled.nodes.get(&name) {
                let outcome = Err(Error::Interrupted);
                let result = node_result(node, outcome, started.elapsed());
                observer.finished(&result, index_of[name.as_str()], total);
                results.insert(name, result);
            }
        }
    }
    let ordered = selected.iter().filter_map(|n| results.remove(n)).collect();
    RunSummary {
        results: ordered,
        elapsed: started.elapsed(),
        interrupted,
    }
}

fn node_result(
    node: &CompiledNode,
    outcome: Result<crate::engine::Materialized, Error>,
    elapsed: Duration,
) -> NodeResult {
    let (status, rows, message, config_error) = match outcome {
        Ok(m) => (Status::Success, m.rows, None, false),
        Err(e) => (Status::Error, None, Some(e.to_string()), e.is_config()),
    };
    NodeResult {
        unique_id: node.unique_id.clone(),
        name: node.name.clone(),
        relation: node.relation.to_string(),
        materialization: node.materialization.as_str(),
        status,
        rows,
        execution_time: elapsed,
        message,
        config_error,
    }
}

#[allow(clippy::too_many_arguments)]
fn skip_descendants(
    compiled: &CompiledProject,
    failed: &str,
    waiting: &mut BTreeMap<&str, usize>,
    results: &mut BTreeMap<String, NodeResult>,
    index_of: &BTreeMap<&str, usize>,
    total: usize,
    observer: &dyn Observer,
) {
    let descendants = compiled.graph.descendants(failed);
    for name in compiled.graph.order() {
        if name == failed || !descendants.contains(name) || waiting.remove(name.as_str()).is_none()
        {
            continue;
        }
        let Some(node) = compiled.nodes.get(name) else {
            continue;
        };
        let result = NodeResult {
            unique_id: node.unique_id.clone(),
            name: node.name.clone(),
            relation: node.relation.to_string(),
            materialization: node.materialization.as_str(),
            status: Status::Skipped,
            rows: None,
            execution_time: Duration::ZERO,
            message: Some(format!("skipped: upstream `{failed}` failed")),
            config_error: false,
        };
        observer.finished(&result, index_of[name.as_str()], total);
        results.insert(name.clone(), result);
    }
}
