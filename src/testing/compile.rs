//! Every test of a project → a [`CompiledTest`]: its failing-rows query with
//! relations resolved, the nodes it reads, and which node it belongs to.
//! Also which tests a selection runs, and where in a build each one runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::{Severity, Subject, TableRef, TestDef, TestKind, generic};
use crate::compile::{CompiledProject, Relation};
use crate::error::{Diagnostic, Error, Location, Result, suggestion};
use crate::profile::Target;
use crate::project::Project;

/// One test, ready to run.
#[derive(Debug, Clone, Serialize)]
pub struct CompiledTest {
    pub name: String,
    pub unique_id: String,
    /// `not_null`, ..., or `singular`.
    pub test: &'static str,
    /// The model or segment node it tests, if any.
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Models it reads, by name.
    pub depends_on: Vec<String>,
    /// Source tables it reads.
    pub sources: Vec<(String, String)>,
    pub severity: Severity,
    /// The BigQuery query returning the failing rows.
    pub sql: String,
    /// The defining file, relative to the project.
    pub path: PathBuf,
    #[serde(skip)]
    pub defined_at: Location,
    /// `--store-failures`: where the failing rows are kept as a table.
    #[serde(skip)]
    pub store_failures: Option<Relation>,
}

/// `--store-failures`: keep each test's failing rows in
/// `<dataset>_test_failures.<test name>` on the target.
pub fn store_failures(tests: &mut [CompiledTest], target: &Target) {
    for test in tests {
        test.store_failures = Some(Relation {
            project: target.project().map(str::to_string),
            dataset: format!("{}_test_failures", target.dataset()),
            name: test.name.clone(),
        });
    }
}

/// Compile `project.tests` against the compiled nodes.
pub fn compile_tests(project: &Project, compiled: &CompiledProject) -> Result<Vec<CompiledTest>> {
    let singular: Vec<(&TestDef, (PathBuf, String))> = project
        .tests
        .iter()
        .filter_map(|t| match &t.kind {
            TestKind::Singular { raw } => Some((t, (t.path.clone(), raw.clone()))),
            _ => None,
        })
        .collect();
    let files: Vec<(PathBuf, String)> = singular.iter().map(|(_, f)| f.clone()).collect();
    let rendered = crate::compile::render_files(project, compiled, &files)?;
    let mut rendered_by_name: BTreeMap<&str, crate::jinja::Rendered> = singular
        .iter()
        .map(|(t, _)| t.name.as_str())
        .zip(rendered)
        .collect();

    // Built one by one, parsed on every core; the first error in the tests'
    // order is the one reported, as a loop checking each in turn would.
    let mut built: Vec<(&TestDef, Result<CompiledTest>)> = Vec::new();
    for test in &project.tests {
        let compiled_test = match &test.kind {
            TestKind::Singular { .. } => {
                let Some(rendered) = rendered_by_name.remove(test.name.as_str()) else {
                    continue;
                };
                let sql = rendered.sql.trim().trim_end_matches(';').to_string() + "\n";
                let refs = rendered.captured.refs;
                Ok(CompiledTest {
                    name: test.name.clone(),
                    unique_id: format!("test.{}.{}", project.name(), test.name),
                    test: test.kind.name(),
                    node: refs.first().cloned(),
                    column: None,
                    depends_on: refs,
                    sources: rendered.captured.sources,
                    severity: test.severity,
                    sql,
                    path: test.path.clone(),
                    defined_at: test.defined_at.clone(),
                    store_failures: None,
                })
            }
            kind => generic_test(project, compiled, test, kind),
        };
        built.push((test, compiled_test));
    }
    let checked = crate::parallel::map(&built, |(test, compiled_test)| match compiled_test {
        Ok(compiled_test) => check_sql(test, &compiled_test.sql),
        Err(_) => Ok(()),
    });
    let mut out = Vec::with_capacity(built.len());
    for ((_, compiled_test), check) in built.into_iter().zip(checked) {
        let compiled_test = compiled_test?;
        check?;
        out.push(compiled_test);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn generic_test(
    project: &Project,
    compiled: &CompiledProject,
    test: &TestDef,
    kind: &TestKind,
) -> Result<CompiledTest> {
    let mut depends_on = Vec::new();
    let mut sources = Vec::new();
    let (relation, node) = match &test.subject {
        Subject::Model(name) => {
            depends_on.push(name.clone());
            (model_relation(compiled, name, test)?, Some(name.clone()))
        }
        Subject::Source(s, t) => {
            sources.push((s.clone(), t.clone()));
            (source_relation(compiled, s, t, test)?, None)
        }
        Subject::Sql => (String::new(), None),
    };
    let to_relation = match kind {
        TestKind::Relationships { to, .. } => Some(match to {
            TableRef::Model(name) => {
                if !depends_on.contains(name) {
                    depends_on.push(name.clone());
                }
                model_relation(compiled, name, test)?
            }
            TableRef::Source(s, t) => {
                sources.push((s.clone(), t.clone()));
                source_relation(compiled, s, t, test)?
            }
        }),
        _ => None,
    };
    let sql = match kind {
        TestKind::Freshness { field, minutes } => generic::freshness_sql(
            &relation,
            field,
            *minutes,
            test.filter.as_deref(),
            project.as_of,
        ),
        _ => generic::sql(
            kind,
            &relation,
            test.column.as_deref(),
            test.filter.as_deref(),
            to_relation.as_deref(),
        ),
    };
    Ok(CompiledTest {
        name: test.name.clone(),
        unique_id: format!("test.{}.{}", project.name(), test.name),
        test: kind.name(),
        node,
        column: test.column.clone(),
        depends_on,
        sources,
        severity: test.severity,
        sql,
        path: test.path.clone(),
        defined_at: test.defined_at.clone(),
        store_failures: None,
    })
}

fn model_relation(compiled: &CompiledProject, name: &str, test: &TestDef) -> Result<String> {
    match compiled.nodes.get(name) {
        Some(node) => Ok(node.relation.quoted()),
        None => Err(Error::config(
            Diagnostic::new(format!(
                "test `{}`: unknown ref `{name}`: no model has that name",
                test.name
            ))
            .at(test.defined_at.clone())
            .help(suggestion(name, compiled.graph.names(), "model")),
        )),
    }
}

fn source_relation(compiled: &CompiledProject, s: &str, t: &str, test: &TestDef) -> Result<String> {
    match compiled.sources.get(&(s.to_string(), t.to_string())) {
        Some(source) => Ok(source.relation.quoted()),
        None => {
            let known: Vec<String> = compiled
                .sources
                .keys()
                .map(|(s, t)| format!("{s}.{t}"))
                .collect();
            Err(Error::config(
                Diagnostic::new(format!("test `{}`: unknown source `{s}.{t}`", test.name))
                    .at(test.defined_at.clone())
                    .help(suggestion(
                        &format!("{s}.{t}"),
                        known.iter().map(String::as_str),
                        "source table",
                    )),
            ))
        }
    }
}

/// A test's query must parse as BigQuery SQL; a mistake points at the test.
fn check_sql(test: &TestDef, sql: &str) -> Result<()> {
    crate::sql::parse::parse_bigquery(sql).map(|_| ()).map_err(|err| {
        Error::config(
            Diagnostic::new(format!("test `{}`: {}", test.name, err.message))
                .at(test.defined_at.clone())
                .help("fix the test's SQL (`where:`, `expression:` or the .sql file); `cohort compile` writes it to target/compiled/"),
        )
    })
}

/// Which of a test's tables a selection must include for the test to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestSelection {
    /// The node it is declared on (`cohort test`: the other tables it reads,
    /// like a `relationships` test's `to:`, were built before).
    DeclaringNode,
    /// Every node it reads (`cohort build`: a table outside the selection may
    /// not exist yet).
    EveryNodeRead,
}

/// The tests a selection runs: with no selection, all of them. Otherwise a
/// generic test runs when the node it is declared on is selected (in a build,
/// every node it reads), and a singular test when every node it reads is
/// selected; tests of sources run only without a selection.
pub fn select_tests(
    tests: &[CompiledTest],
    selected: &[String],
    everything: bool,
    mode: TestSelection,
) -> Vec<CompiledTest> {
    let selected: BTreeSet<&str> = selected.iter().map(String::as_str).collect();
    let picked = |t: &CompiledTest| {
        if everything {
            return true;
        }
        let reads_only_selected = t.depends_on.iter().all(|d| selected.contains(d.as_str()));
        if t.test == "singular" {
            return !t.depends_on.is_empty() && reads_only_selected;
        }
        t.node.as_deref().is_some_and(|n| selected.contains(n))
            && (mode == TestSelection::DeclaringNode || reads_only_selected)
    };
    tests.iter().filter(|t| picked(t)).cloned().collect()
}

/// Where each test runs in a build.
#[derive(Debug, Clone, Default)]
pub struct TestPlan {
    /// Tests run right after a node is built (a failure fails that node).
    pub after_node: BTreeMap<String, Vec<CompiledTest>>,
    /// Tests run once the build is over: tests of sources only, and tests
    /// reading several selected nodes none of which depends on all others.
    pub after_run: Vec<CompiledTest>,
    /// Nodes not to build, with the reason (a unit test of theirs failed):
    /// each is reported failed and its downstream skipped.
    pub blocked: BTreeMap<String, String>,
}

/// Attach each test to the last selected node it reads, when every other
/// selected node it reads is upstream of that one.
pub fn plan(compiled: &CompiledProject, tests: Vec<CompiledTest>, selected: &[String]) -> TestPlan {
    let position: BTreeMap<&str, usize> = selected
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut plan = TestPlan::default();
    for test in tests {
        let mut read: Vec<&str> = test
            .depends_on
            .iter()
            .map(String::as_str)
            .filter(|d| position.contains_key(d))
            .collect();
        read.sort_by_key(|d| position[d]);
        let host = read.last().map(|h| h.to_string());
        match host {
            Some(host) => {
                // Most tests read their host only: no walk up the graph for those.
                let others: Vec<&str> = read.iter().copied().filter(|d| *d != host).collect();
                let upstream = || {
                    let ancestors = compiled.graph.ancestors(&host);
                    others.iter().all(|d| ancestors.contains(*d))
                };
                if others.is_empty() || upstream() {
                    plan.after_node.entry(host).or_default().push(test);
                } else {
                    plan.after_run.push(test);
                }
            }
            None => plan.after_run.push(test),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, test: &'static str, node: Option<&str>, reads: &[&str]) -> CompiledTest {
        CompiledTest {
            name: name.into(),
            unique_id: format!("test.{name}"),
            test,
            node: node.map(Into::into),
            column: None,
            depends_on: reads.iter().map(|r| r.to_string()).collect(),
            sources: Vec::new(),
            severity: Severity::Error,
            sql: String::new(),
            path: PathBuf::from("models/x.yml"),
            defined_at: Location::new("models/x.yml", 1, 1),
            store_failures: None,
        }
    }

    fn names(tests: Vec<CompiledTest>) -> Vec<String> {
        tests.into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn a_build_runs_only_tests_whose_tables_are_all_selected() {
        let tests = [
            test(
                "unique_id",
                "unique",
                Some("transactions"),
                &["transactions"],
            ),
            test(
                "relationships_customer",
                "relationships",
                Some("transactions"),
                &["transactions", "customers"],
            ),
            test("singular", "singular", None, &["customers"]),
        ];
        let selected = vec!["transactions".to_string()];
        assert_eq!(
            names(select_tests(
                &tests,
                &selected,
                false,
                TestSelection::EveryNodeRead
            )),
            ["unique_id"]
        );
        assert_eq!(
            names(select_tests(
                &tests,
                &selected,
                false,
                TestSelection::DeclaringNode
            )),
            ["unique_id", "relationships_customer"]
        );
        assert_eq!(
            select_tests(&tests, &selected, true, TestSelection::EveryNodeRead).len(),
            3
        );
    }
}
