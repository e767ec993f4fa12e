//! The dependency graph of a project's nodes: topological order (ties broken
//! by name, so output is deterministic), cycle detection with the cycle
//! spelled out, and `--select` / `--exclude` selection.

mod select;

use std::collections::{BTreeMap, BTreeSet};

pub use select::{Selector, parse_selectors};

use crate::error::{Diagnostic, Error, Location, Result};

/// A node's facts that selection needs.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    /// Path of the defining file, relative to the project.
    pub path: String,
    pub tags: Vec<String>,
    pub defined_at: Location,
}

/// A directed acyclic graph of nodes; edges point from a dependency to its dependents.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: BTreeMap<String, NodeInfo>,
    parents: BTreeMap<String, BTreeSet<String>>,
    children: BTreeMap<String, BTreeSet<String>>,
    order: Vec<String>,
}

impl Graph {
    /// Build the graph; `deps` maps each node to the nodes it depends on.
    pub fn new(
        nodes: BTreeMap<String, NodeInfo>,
        deps: &BTreeMap<String, Vec<String>>,
    ) -> Result<Graph> {
        let mut parents: BTreeMap<String, BTreeSet<String>> =
            nodes.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
        let mut children = parents.clone();
        for (node, node_deps) in deps {
            for dep in node_deps {
                if nodes.contains_key(dep) && nodes.contains_key(node) {
                    parents.entry(node.clone()).or_default().insert(dep.clone());
                    children
                        .entry(dep.clone())
                        .or_default()
                        .insert(node.clone());
                }
            }
        }
        let order =
            topological_order(&parents, &children).map_err(|cycle| cycle_error(&nodes, &cycle))?;
        Ok(Graph {
            nodes,
            parents,
            children,
            order,
        })
    }

    /// Every node, dependencies before dependents, ties broken by name.
    pub fn order(&self) -> &[String] {
        &self.order
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.get(name)
    }

    pub fn parents(&self, name: &str) -> impl Iterator<Item = &String> {
        self.parents.get(name).into_iter().flatten()
    }

    pub fn children(&self, name: &str) -> impl Iterator<Item = &String> {
        self.children.get(name).into_iter().flatten()
    }

    /// `name` and everything it depends on, transitively.
    pub fn ancestors(&self, name: &str) -> BTreeSet<String> {
        self.walk(name, |n| self.parents(n).cloned().collect())
    }

    /// `name` and everything that depends on it, transitively.
    pub fn descendants(&self, name: &str) -> BTreeSet<String> {
        self.walk(name, |n| self.children(n).cloned().collect())
    }

    fn walk(&self, start: &str, next: impl Fn(&str) -> Vec<String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_string()];
        while let Some(n) = stack.pop() {
            if seen.insert(n.clone()) {
                stack.extend(next(&n));
            }
        }
        seen
    }

    /// The nodes chosen by `--select` (all when empty) minus `--exclude`, in topological order.
    pub fn select(&self, select: &[Selector], exclude: &[Selector]) -> Result<Vec<String>> {
        let chosen: BTreeSet<String> = if select.is_empty() {
            self.nodes.keys().cloned().collect()
        } else {
            let mut all = BTreeSet::new();
            for s in select {
                all.extend(s.matches(self)?);
            }
            all
        };
        let mut excluded = BTreeSet::new();
        for s in exclude {
            excluded.extend(s.matches(self)?);
        }
        Ok(self
            .order
            .iter()
            .filter(|n| chosen.contains(*n) && !excluded.contains(*n))
            .cloned()
            .collect())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values()
    }
}

/// Kahn's algorithm with a name-ordered ready set; on a cycle, returns one cycle.
fn topological_order(
    parents: &BTreeMap<String, BTreeSet<String>>,
    children: &BTreeMap<String, BTreeSet<String>>,
) -> std::result::Result<Vec<String>, Vec<String>> {
    let mut remaining: BTreeMap<&str, usize> =
        parents.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    let mut ready: BTreeSet<&str> = remaining
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut order = Vec::with_capacity(parents.len());
    while let Some(node) = ready.pop_first() {
        remaining.remove(node);
        order.push(node.to_string());
        for child in children.get(node).into_iter().flatten() {
            if let Some(count) = remaining.get_mut(child.as_str()) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(child.as_str());
                }
            }
        }
    }
    if remaining.is_empty() {
        Ok(order)
    } else {
        let stuck: BTreeSet<&str> = remaining.keys().copied().collect();
        Err(find_cycle(parents, &stuck))
    }
}

/// Follow parents inside the stuck set until a node repeats: that loop is a cycle.
fn find_cycle(parents: &BTreeMap<String, BTreeSet<String>>, stuck: &BTreeSet<&str>) -> Vec<String> {
    let Some(start) = stuck.first() else {
        return Vec::new();
    };
    let mut path: Vec<&str> = vec![start];
    loop {
        let current = path[path.len() - 1];
        let next = parents
            .get(current)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|p| stuck.contains(p));
        let Some(next) = next else {
            return path.iter().map(|s| s.to_string()).collect();
        };
        if let Some(pos) = path.iter().position(|p| *p == next) {
            // path holds child → parent links; print the cycle in dependency order.
            let mut cycle: Vec<String> = path[pos..].iter().rev().map(|s| s.to_string()).collect();
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(next);
    }
}

fn cycle_error(nodes: &BTreeMap<String, NodeInfo>, cycle: &[String]) -> Error {
    let at = cycle
        .first()
        .and_then(|n| nodes.get(n))
        .map(|n| n.defined_at.clone());
    Error::config(
        Diagnostic::new(format!("dependency cycle: {}", cycle.join(" -> ")))
            .at_opt(at)
            .help("a model cannot depend on itself, directly or through other models: remove one of these refs"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Result<Graph> {
        let nodes = edges
            .iter()
            .map(|(n, _)| {
                (
                    n.to_string(),
                    NodeInfo {
                        name: n.to_string(),
                        path: format!("models/{n}.sql"),
                        tags: if n.starts_with('s') {
                            vec!["staging".into()]
                        } else {
                            vec![]
                        },
                        defined_at: Location::file_start(format!("models/{n}.sql")),
                    },
                )
            })
            .collect();
        let deps = edges
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect();
        Graph::new(nodes, &deps)
    }

    #[test]
    fn orders_dependencies_first_with_name_ties() {
        let g = graph(&[("c", &["a", "b"]), ("b", &["a"]), ("a", &[]), ("z", &[])]).unwrap();
        assert_eq!(g.order(), ["a", "b", "c", "z"]);
    }

    #[test]
    fn reports_the_cycle() {
        let err = graph(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &["a"])]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("dependency cycle: "), "{text}");
        for n in ["a", "b", "c"] {
            assert!(text.contains(n), "{text}");
        }
        assert!(!text.contains("d ->"), "{text}");
    }

    #[test]
    fn selection_syntax() {
        let g = graph(&[("s1", &[]), ("m", &["s1"]), ("x", &["m"]), ("y", &[])]).unwrap();
        let pick = |s: &str| {
            g.select(&parse_selectors(&[s.to_string()]).unwrap(), &[])
                .unwrap()
        };
        assert_eq!(pick("m"), ["m"]);
        assert_eq!(pick("+m"), ["s1", "m"]);
        assert_eq!(pick("m+"), ["m", "x"]);
        assert_eq!(pick("+m+"), ["s1", "m", "x"]);
        assert_eq!(pick("tag:staging"), ["s1"]);
        assert_eq!(pick("path:models/y.sql"), ["y"]);
        let ex = g
            .select(&[], &parse_selectors(&["m+".to_string()]).unwrap())
            .unwrap();
        assert_eq!(ex, ["s1", "y"]);
    }

    #[test]
    fn unknown_selector_names_suggest() {
        let g = graph(&[("customers", &[])]).unwrap();
        let err = g
            .select(&parse_selectors(&["custmers".to_string()]).unwrap(), &[])
            .unwrap_err();
        assert!(
            err.to_string().contains("did you mean `customers`?"),
            "{err}"
        );
    }
}
