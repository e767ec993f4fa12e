//! `manifest.json`: every node and source with its compiled SQL, and the
//! parent and child maps, in sorted order (the same project gives the same
//! bytes). Serialized straight from borrowed views of the compiled project:
//! no intermediate JSON tree, so a 20,000-model manifest costs one pass.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::compile::{CompiledNode, CompiledProject, CompiledSource};
use crate::project::Project;

/// The manifest's top level; the parent map is computed once and also
/// gives each node its `depends_on`.
pub struct Manifest<'a> {
    project: &'a Project,
    compiled: &'a CompiledProject,
    parent_map: BTreeMap<&'a str, Vec<String>>,
    child_map: BTreeMap<String, Vec<&'a str>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    cohort_version: &'static str,
    project_name: &'a str,
    target: TargetInfo<'a>,
    vars: &'a BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
struct TargetInfo<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
}

impl<'a> Manifest<'a> {
    pub fn new(project: &'a Project, compiled: &'a CompiledProject) -> Manifest<'a> {
        let mut parent_map = BTreeMap::new();
        let mut child_map: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
        for node in compiled.nodes.values() {
            let parents = parents(&compiled.project_name, node);
            for parent in &parents {
                child_map
                    .entry(parent.clone())
                    .or_default()
                    .push(&node.unique_id);
            }
            parent_map.insert(node.unique_id.as_str(), parents);
        }
        for children in child_map.values_mut() {
            children.sort_unstable();
        }
        Manifest {
            project,
            compiled,
            parent_map,
            child_map,
        }
    }
}

impl Serialize for Manifest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let compiled = self.compiled;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry(
            "metadata",
            &Metadata {
                cohort_version: env!("CARGO_PKG_VERSION"),
                project_name: &compiled.project_name,
                target: TargetInfo {
                    name: &compiled.target.name,
                    type_name: compiled.target.type_name(),
                },
                vars: &self.project.vars,
            },
        )?;
        map.serialize_entry("nodes", &Nodes(self))?;
        map.serialize_entry("sources", &Sources(compiled))?;
        map.serialize_entry("parent_map", &self.parent_map)?;
        map.serialize_entry("child_map", &self.child_map)?;
        map.end()
    }
}

/// `nodes`: unique id to [`NodeEntry`], in id order.
struct Nodes<'a>(&'a Manifest<'a>);

impl Serialize for Nodes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let manifest = self.0;
        let mut map = serializer.serialize_map(Some(manifest.compiled.nodes.len()))?;
        for node in manifest.compiled.nodes.values() {
            let parents = manifest
                .parent_map
                .get(node.unique_id.as_str())
                .map_or(&[][..], Vec::as_slice);
            map.serialize_entry(&node.unique_id, &NodeEntry::new(node, parents))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct NodeEntry<'a> {
    resource_type: &'static str,
    name: &'a str,
    original_file_path: String,
    relation_name: String,
    database: &'a Option<String>,
    schema: &'a str,
    alias: &'a str,
    materialized: &'a str,
    config: &'a crate::project::schema_file::ModelConfig,
    tags: &'a [String],
    description: &'a Option<String>,
    columns: &'a [crate::project::schema_file::ColumnDef],
    depends_on: DependsOn<'a>,
    compiled_code: &'a str,
    run_code: &'a str,
    checksum: Checksum<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incremental: Option<IncrementalEntry<'a>>,
}

#[derive(Serialize)]
struct DependsOn<'a> {
    nodes: &'a [String],
}

#[derive(Serialize)]
struct Checksum<'a> {
    name: &'static str,
    checksum: &'a str,
}

#[derive(Serialize)]
struct IncrementalEntry<'a> {
    strategy: &'a crate::compile::incremental::Strategy,
    unique_key: &'a [String],
    on_schema_change: &'a crate::compile::incremental::OnSchemaChange,
    lookback: u32,
    compiled_code: &'a str,
    run_code: &'a str,
}

impl<'a> NodeEntry<'a> {
    fn new(node: &'a CompiledNode, parents: &'a [String]) -> NodeEntry<'a> {
        NodeEntry {
            resource_type: node.resource_type(),
            name: &node.name,
            original_file_path: portable_path(&node.path),
            relation_name: node.relation.quoted(),
            database: &node.relation.project,
            schema: &node.relation.dataset,
            alias: &node.relation.name,
            materialized: node.materialization.as_str(),
            config: &node.config,
            tags: &node.config.tags,
            description: &node.description,
            columns: &node.columns,
            depends_on: DependsOn { nodes: parents },
            compiled_code: &node.sql,
            run_code: &node.run_sql,
            checksum: Checksum {
                name: "sha256",
                checksum: &node.checksum,
            },
            incremental: node.incremental.as_ref().map(|i| IncrementalEntry {
                strategy: &i.settings.strategy,
                unique_key: &i.settings.unique_key,
                on_schema_change: &i.settings.on_schema_change,
                lookback: i.settings.lookback,
                compiled_code: &i.sql,
                run_code: &i.run_sql,
            }),
        }
    }
}

/// `sources`: `source.<project>.<source>.<table>` to its entry.
struct Sources<'a>(&'a CompiledProject);

#[derive(Serialize)]
struct SourceEntry<'a> {
    resource_type: &'static str,
    source_name: &'a str,
    name: &'a str,
    relation_name: String,
    description: &'a Option<String>,
    columns: &'a [crate::project::schema_file::ColumnDef],
    original_file_path: String,
}

impl Serialize for Sources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let compiled = self.0;
        let mut map = serializer.serialize_map(Some(compiled.sources.len()))?;
        for ((s, t), source) in &compiled.sources {
            map.serialize_entry(
                &format!("source.{}.{s}.{t}", compiled.project_name),
                &SourceEntry::new(s, t, source),
            )?;
        }
        map.end()
    }
}

impl<'a> SourceEntry<'a> {
    fn new(source_name: &'a str, name: &'a str, source: &'a CompiledSource) -> SourceEntry<'a> {
        SourceEntry {
            resource_type: "source",
            source_name,
            name,
            relation_name: source.relation.quoted(),
            description: &source.table.description,
            columns: &source.table.columns,
            original_file_path: portable_path(&source.table.defined_at.file),
        }
    }
}

/// A project-relative path with `/` separators on every platform.
fn portable_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A node's parents as manifest ids (`model.<project>.<name>`,
/// `source.<project>.<source>.<table>`), sorted.
fn parents(project_name: &str, node: &CompiledNode) -> Vec<String> {
    let mut ids: Vec<String> = node
        .depends_on
        .iter()
        .map(|n| format!("model.{project_name}.{n}"))
        .chain(
            node.sources
                .iter()
                .map(|(s, t)| format!("source.{project_name}.{s}.{t}")),
        )
        .collect();
    ids.sort_unstable();
    ids
}
