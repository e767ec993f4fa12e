//! Node selectors: `name`, `+name` (with ancestors), `name+` (with
//! descendants), `tag:x`, `path:dir`, and combinations like `+tag:x+`.
//! Several selectors (space- or comma-separated, or repeated flags) are a union.

use std::collections::BTreeSet;

use super::Graph;
use crate::error::{Diagnostic, Error, Result};

/// One parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub ancestors: bool,
    pub descendants: bool,
    pub method: Method,
}

/// What a selector matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Name(String),
    Tag(String),
    Path(String),
}

/// Parse `--select` / `--exclude` values.
pub fn parse_selectors(values: &[String]) -> Result<Vec<Selector>> {
    values
        .iter()
        .flat_map(|v| v.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(parse_one)
        .collect()
}

fn parse_one(text: &str) -> Result<Selector> {
    let ancestors = text.starts_with('+');
    let descendants = text.ends_with('+') && text.len() > 1;
    let core = text.trim_start_matches('+').trim_end_matches('+');
    let method = match core.split_once(':') {
        Some(("tag", tag)) if !tag.is_empty() => Method::Tag(tag.to_string()),
        Some(("path", path)) if !path.is_empty() => {
            Method::Path(path.trim_end_matches('/').to_string())
        }
        None if !core.is_empty() => Method::Name(core.to_string()),
        _ => {
            return Err(Error::config(
                Diagnostic::new(format!("invalid selector `{text}`"))
                    .help("use `name`, `+name`, `name+`, `tag:x` or `path:dir`"),
            ));
        }
    };
    Ok(Selector {
        ancestors,
        descendants,
        method,
    })
}

impl Selector {
    /// The nodes this selector picks in `graph`.
    pub fn matches(&self, graph: &Graph) -> Result<BTreeSet<String>> {
        let base: BTreeSet<String> = match &self.method {
            Method::Name(name) => {
                if graph.node(name).is_none() {
                    return Err(Error::config(
                        Diagnostic::new(format!("--select/--exclude: no node named `{name}`"))
                            .help(crate::error::suggestion(name, graph.names(), "node")),
                    ));
                }
                BTreeSet::from([name.clone()])
            }
            Method::Tag(tag) => graph
                .nodes()
                .filter(|n| n.tags.iter().any(|t| t == tag))
                .map(|n| n.name.clone())
                .collect(),
            Method::Path(path) => graph
                .nodes()
                .filter(|n| n.path == *path || n.path.starts_with(&format!("{path}/")))
                .map(|n| n.name.clone())
                .collect(),
        };
        let mut all = base.clone();
        for name in &base {
            if self.ancestors {
                all.extend(graph.ancestors(name));
            }
            if self.descendants {
                all.extend(graph.descendants(name));
            }
        }
        Ok(all)
    }
}
