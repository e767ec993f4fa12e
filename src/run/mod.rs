//! Running selected models on an engine in dependency order: up to
//! `threads` at once, each started as soon as its parents are built; a
//! failure skips everything downstream of it (with the reason). Progress is
//! reported to an [`Observer`]; the runner itself never prints.
//!
//! [`run_with_tests`] also runs data tests: each node's tests right after it
//! is built (a failing error-severity test fails the node, so its downstream
//! is skipped), and the remaining tests once every node is done. A node
//! whose unit test failed ([`TestPlan::blocked`]) is not built: it fails
//! with the reason and its downstream is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::compile::{CompiledNode, CompiledProject};
use crate::engine::Engine;
use crate::error::Error;
use crate::testing::{TestPlan, TestResult};

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
    /// A data test finished (or was skipped).
    fn test_finished(&self, _result: &TestResult) {}
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub results: Vec<NodeResult>,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    pub interrupted: bool,
    /// Data tests run (build and test), in the order they finished.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResult>,
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
    let no_tests = TestPlan::default();
    run_with_tests(
        compiled, selected, engine, threads, observer, cancel, &no_tests,
    )
    .await
}

/// Build `selected` like [`run`], running the tests of `tests` as planned.
pub async fn run_with_tests(
    compiled: &CompiledProject,
    selected: &[String],
    engine: Arc<dyn Engine>,
    threads: usize,
    observer: &dyn Observer,
    cancel: tokio::sync::watch::Receiver<bool>,
    tests: &TestPlan,
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
    // Positions in `selected` (topological order) of the nodes whose
    // selected parents are all done; a node skipped meanwhile is dropped
    // when it comes up (it is no longer waiting).
    let mut ready: BTreeSet<usize> = selected
        .iter()
        .enumerate()
        .filter(|(_, n)| waiting.get(n.as_str()) == Some(&0))
        .map(|(i, _)| i)
        .collect();
    let mut results: BTreeMap<String, NodeResult> = BTreeMap::new();
    let mut running: JoinSet<NodeOutcome> = JoinSet::new();
    let mut test_results: Vec<TestResult> = Vec::new();
    let mut interrupted = false;
    let mut in_flight: BTreeSet<String> = BTreeSet::new();
    let threads = threads.max(1);

    loop {
        interrupted = interrupted || *cancel.borrow();
        if !interrupted {
            // Start ready nodes in topological order.
            let free = threads.saturating_sub(running.len());
            let mut starting: Vec<&str> = Vec::with_capacity(free);
            while starting.len() < free {
                let Some(position) = ready.pop_first() else {
                    break;
                };
                let name = selected[position].as_str();
                if waiting.get(name) == Some(&0) {
                    starting.push(name);
                }
            }
            for name in starting {
                waiting.remove(name);
                let Some(node) = compiled.nodes.get(name) else {
                    continue;
                };
                observer.started(node, index_of[name], total);
                in_flight.insert(name.to_string());
                let engine = engine.clone();
                let node = node.clone();
                let node_tests = tests.after_node.get(name).cloned().unwrap_or_default();
                let blocked = tests.blocked.get(name).cloned();
                running.spawn(async move {
                    if let Some(reason) = blocked {
                        let error = Error::execution(crate::Diagnostic::new(reason));
                        return (node.name.clone(), Err(error), Duration::ZERO, Vec::new());
                    }
                    let t = Instant::now();
                    let outcome = engine.materialize(&node).await;
                    let elapsed = t.elapsed();
                    // The node's tests run at once (each reads the table
                    // just built); results keep the tests' order.
                    let results = if outcome.is_ok() {
                        futures::future::join_all(
                            node_tests
                                .iter()
                                .map(|test| crate::testing::execute(engine.as_ref(), test)),
                        )
                        .await
                    } else {
                        Vec::new()
                    };
                    (node.name.clone(), outcome, elapsed, results)
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
        let (name, outcome, elapsed, node_tests) = match joined {
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
                    Vec::new(),
                )
            }
        };
        in_flight.remove(&name);
        let Some(node) = compiled.nodes.get(&name) else {
            continue;
        };
        let mut result = node_result(node, outcome, elapsed);
        fail_on_tests(&mut result, &node_tests);
        let failed = result.status == Status::Error;
        observer.finished(&result, index_of[name.as_str()], total);
        for test in &node_tests {
            observer.test_finished(test);
        }
        test_results.extend(node_tests);
        results.insert(name.clone(), result);
        for child in compiled.graph.children(&name) {
            if let Some(count) = waiting.get_mut(child.as_str()) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    ready.insert(index_of[child.as_str()] - 1);
                }
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
    finish_tests(
        tests,
        &results,
        interrupted,
        engine.as_ref(),
        observer,
        &mut test_results,
    )
    .await;
    let ordered = selected.iter().filter_map(|n| results.remove(n)).collect();
    RunSummary {
        results: ordered,
        elapsed: started.elapsed(),
        interrupted,
        tests: test_results,
    }
}

/// What a node's task returns: its name, the build's outcome and time, its tests' results.
type NodeOutcome = (
    String,
    Result<crate::engine::Materialized, Error>,
    Duration,
    Vec<TestResult>,
);

/// A built node whose error-severity tests fail is a failed node.
fn fail_on_tests(result: &mut NodeResult, tests: &[TestResult]) {
    let failed: Vec<String> = tests
        .iter()
        .filter(|t| t.status.is_failure())
        .map(|t| match &t.message {
            Some(m) => format!("`{}` ({m})", t.name),
            None => format!("`{}`", t.name),
        })
        .collect();
    if result.status != Status::Success || failed.is_empty() {
        return;
    }
    result.status = Status::Error;
    result.message = Some(format!(
        "`{}`: {} test{} failed: {}",
        result.name,
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        failed.join(", ")
    ));
}

/// Report the tests of nodes that did not build as skipped, then run the
/// tests left for the end of the build when every node they read was built.
async fn finish_tests(
    tests: &TestPlan,
    results: &BTreeMap<String, NodeResult>,
    interrupted: bool,
    engine: &dyn Engine,
    observer: &dyn Observer,
    out: &mut Vec<TestResult>,
) {
    let ran: BTreeSet<String> = out.iter().map(|t| t.name.clone()).collect();
    for (host, host_tests) in &tests.after_node {
        for test in host_tests.iter().filter(|t| !ran.contains(&t.name)) {
            let reason = format!("skipped: `{host}` was not built");
            let skipped = crate::testing::execute::skipped(test, Some(reason));
            observer.test_finished(&skipped);
            out.push(skipped);
        }
    }
    for test in &tests.after_run {
        let blocked = test.depends_on.iter().find(|d| {
            results
                .get(d.as_str())
                .is_some_and(|r| r.status != Status::Success)
        });
        let result = match (interrupted, blocked) {
            (true, _) => {
                crate::testing::execute::skipped(test, Some("skipped: interrupted".into()))
            }
            (false, Some(node)) => crate::testing::execute::skipped(
                test,
                Some(format!("skipped: `{node}` was not built")),
            ),
            (false, None) => crate::testing::execute(engine, test).await,
        };
        observer.test_finished(&result);
        out.push(result);
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
