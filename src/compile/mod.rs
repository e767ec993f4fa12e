//! Compiling a project: every model rendered to a BigQuery SELECT and to the
//! statement that materializes it on the target, in dependency order.
//!
//! Two passes: the first renders each model to learn its `ref()`s, sources
//! and `config()` (relation names depend on config); the second renders the
//! final SQL with every relation known. Every statement is then parsed with
//! sqlparser's BigQuery dialect, so syntax errors surface before anything runs.
//!
//! Segments are nodes too: their dependency is their `from`, and their SQL is
//! generated from the rule tree ([`segment`]) rather than rendered by Jinja.

pub mod incremental;
pub mod materialize;
pub mod relation;
pub mod segment;
pub mod yaml_model;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

pub use incremental::Incremental;
pub use materialize::Materialization;
pub use relation::Relation;

use crate::error::{Diagnostic, Error, Location, Result};
use crate::graph::{Graph, NodeInfo};
use crate::jinja::{RenderScope, Renderer, Resolver};
use crate::profile::Target;
use crate::project::{ColumnDef, Model, ModelBody, ModelConfig, Project, Segment, SourceTable};
use yaml_model::FromRef;

/// A compiled project.
#[derive(Debug, Clone)]
pub struct CompiledProject {
    pub project_name: String,
    pub target: Target,
    pub graph: Graph,
    pub nodes: BTreeMap<String, CompiledNode>,
    pub sources: BTreeMap<(String, String), CompiledSource>,
}

/// One model, compiled.
#[derive(Debug, Clone, Serialize)]
pub struct CompiledNode {
    pub name: String,
    pub unique_id: String,
    /// The defining file, relative to the project.
    pub path: PathBuf,
    pub relation: Relation,
    pub materialization: Materialization,
    pub config: ModelConfig,
    /// Models this one reads, by name.
    pub depends_on: Vec<String>,
    /// Source tables this one reads.
    pub sources: Vec<(String, String)>,
    /// The BigQuery SELECT.
    pub sql: String,
    /// The statement that materializes it on the target.
    pub run_sql: String,
    pub checksum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub columns: Vec<ColumnDef>,
    #[serde(skip)]
    pub defined_at: Location,
    /// For a segment's node: the segment (checked against its upstream before a build).
    #[serde(skip)]
    pub segment: Option<Arc<Segment>>,
    /// For an incremental model: how a build adds to the existing table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalBuild>,
}

/// The incremental side of a model: used when its table exists and
/// `--full-refresh` is not given (`sql`/`run_sql` of the node build it from scratch).
#[derive(Debug, Clone, Serialize)]
pub struct IncrementalBuild {
    pub settings: Incremental,
    /// The batch: the model's SELECT rendered with `is_incremental()` true.
    pub sql: String,
    /// The BigQuery script applying the batch to the existing table.
    pub run_sql: String,
}

impl CompiledNode {
    /// `model` or `segment`.
    pub fn resource_type(&self) -> &'static str {
        if self.segment.is_some() {
            "segment"
        } else {
            "model"
        }
    }
}

/// A source table with its relation and, for local runs, its file.
#[derive(Debug, Clone)]
pub struct CompiledSource {
    pub table: SourceTable,
    pub relation: Relation,
    /// The local file or folder, when the source declares a location.
    pub local_path: Option<PathBuf>,
}

/// What the first pass learned about a model.
struct FirstPass {
    config: ModelConfig,
    /// The models it reads (its batch's too, for an incremental model).
    refs: Vec<String>,
    /// The Jinja template (empty for a segment).
    template: String,
    /// The render with provisional relation names, and for an incremental
    /// model the batch's render with its lookback: the second pass reuses
    /// them when none of the names they resolved changed.
    rendered: Option<crate::jinja::Rendered>,
    batch: Option<(u32, crate::jinja::Rendered)>,
}

/// Compile every model of `project` for `target`.
///
/// Models are rendered and checked on every core; the result (and the
/// first error, in the same order as one model after another) does not
/// depend on how many there are.
pub fn compile(project: &Project, target: &Target) -> Result<CompiledProject> {
    let renderer = Renderer::new(project, target_value(target))?;
    let sources = compile_sources(project, target, &renderer)?;

    // Pass 1: learn refs and config with provisional relation names.
    let provisional: BTreeMap<String, Relation> = project
        .models
        .values()
        .map(|m| {
            (
                m.name.clone(),
                relation::model_relation(m, &m.config, target),
            )
        })
        .collect();
    let resolver1 = Arc::new(NameResolver::new(&provisional, &sources));
    let models: Vec<&Model> = project.models.values().collect();
    let first_passes = crate::parallel::map(&models, |model| {
        first_pass(project, &renderer, model, &provisional, &resolver1)
    });
    let mut configs: BTreeMap<String, ModelConfig> = BTreeMap::new();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut firsts: BTreeMap<String, FirstPass> = BTreeMap::new();
    for (model, first) in models.iter().zip(first_passes) {
        let first = first?;
        deps.insert(model.name.clone(), first.refs.clone());
        configs.insert(model.name.clone(), first.config.clone());
        firsts.insert(model.name.clone(), first);
    }
    let graph = build_graph(project, &configs, &deps)?;

    // Pass 2: render with final relation names.
    let relations: BTreeMap<String, Relation> = project
        .models
        .values()
        .map(|m| {
            (
                m.name.clone(),
                relation::model_relation(m, &configs[&m.name], target),
            )
        })
        .collect();
    let second = SecondPass {
        project,
        renderer: &renderer,
        resolver: Arc::new(NameResolver::new(&relations, &sources)),
        provisional: &provisional,
        relations: &relations,
        sources: &sources,
    };
    let compiled = crate::parallel::map(graph.order(), |name| {
        second.node(&project.models[name], &configs[name], &firsts[name])
    });
    let mut nodes = BTreeMap::new();
    for (name, node) in graph.order().iter().zip(compiled) {
        nodes.insert(name.clone(), node?);
    }
    Ok(CompiledProject {
        project_name: project.name().to_string(),
        target: target.clone(),
        graph,
        nodes,
        sources,
    })
}

/// Render `model` with provisional relation names: its config and refs.
fn first_pass(
    project: &Project,
    renderer: &Renderer,
    model: &Model,
    provisional: &BTreeMap<String, Relation>,
    resolver: &Arc<NameResolver>,
) -> Result<FirstPass> {
    if let ModelBody::Segment(segment) = &model.body {
        let refs = match segment::resolve_from(project, segment)? {
            FromRef::Ref(name) => vec![name],
            FromRef::Source(..) => Vec::new(),
        };
        return Ok(FirstPass {
            config: model.config.clone(),
            refs,
            template: String::new(),
            rendered: None,
            batch: None,
        });
    }
    let template = template_of(model, project)?;
    let this = provisional[&model.name].quoted();
    let rendered = render(
        renderer,
        model,
        &template,
        resolver.clone(),
        this.clone(),
        None,
    )?;
    let config = match &rendered.captured.config {
        Some(c) => c.clone().or(&model.config),
        None => model.config.clone(),
    };
    let mut refs = rendered.captured.refs.clone();
    let mut batch = None;
    if config.materialized.as_deref() == Some("incremental") {
        // `{% if is_incremental() %}` may read other models: depend on those too.
        let lookback = config
            .lookback
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(0);
        let batch_render = render(
            renderer,
            model,
            &template,
            resolver.clone(),
            this,
            Some(lookback),
        )?;
        union(&mut refs, batch_render.captured.refs.clone());
        batch = Some((lookback, batch_render));
    }
    Ok(FirstPass {
        config,
        refs,
        template,
        rendered: Some(rendered),
        batch,
    })
}

/// What the second pass shares between models.
struct SecondPass<'a> {
    project: &'a Project,
    renderer: &'a Renderer,
    resolver: Arc<NameResolver>,
    provisional: &'a BTreeMap<String, Relation>,
    relations: &'a BTreeMap<String, Relation>,
    sources: &'a BTreeMap<(String, String), CompiledSource>,
}

impl SecondPass<'_> {
    /// A render of the first pass, when `this` and every model it resolved
    /// have the same relation as then (the output would be the same bytes).
    fn reusable<'r>(
        &self,
        model: &Model,
        render: Option<&'r crate::jinja::Rendered>,
    ) -> Option<&'r crate::jinja::Rendered> {
        let unchanged = |name: &String| self.provisional.get(name) == self.relations.get(name);
        render.filter(|r| unchanged(&model.name) && r.captured.refs.iter().all(unchanged))
    }

    /// Render `model` with the final relation names (or reuse the first pass's render).
    fn render(
        &self,
        model: &Model,
        template: &str,
        incremental: Option<u32>,
        first: Option<&crate::jinja::Rendered>,
    ) -> Result<crate::jinja::Rendered> {
        if let Some(rendered) = self.reusable(model, first) {
            return Ok(rendered.clone());
        }
        render(
            self.renderer,
            model,
            template,
            self.resolver.clone(),
            self.relations[&model.name].quoted(),
            incremental,
        )
    }

    /// The compiled node of `model`.
    fn node(&self, model: &Model, config: &ModelConfig, first: &FirstPass) -> Result<CompiledNode> {
        let project = self.project;
        let name = &model.name;
        let config = config.clone();
        let relation = self.relations[name].clone();
        let rendered = match &model.body {
            ModelBody::Segment(segment) => {
                compile_segment(project, segment, self.relations, self.sources)?
            }
            _ => self.render(model, &first.template, None, first.rendered.as_ref())?,
        };
        let config_at = config_location(model);
        let materialization = Materialization::parse(config.materialized.as_deref(), &config_at)?;
        let mut depends_on = rendered.captured.refs.clone();
        // The SELECT is parsed only when the statement around it does not
        // parse; an error found before then is preceded by the SELECT's own.
        let statements = self.statements(
            model,
            &config,
            &config_at,
            materialization,
            &relation,
            &rendered,
            first,
            &mut depends_on,
        );
        let (incremental, run_sql) = match statements {
            Ok(statements) => statements,
            Err(err) => {
                check_sql(model, &rendered.sql)?;
                return Err(err);
            }
        };
        check_statement(model, &rendered.sql, &run_sql)?;
        Ok(CompiledNode {
            name: name.clone(),
            unique_id: format!("model.{}.{}", project.name(), name),
            path: model.path.clone(),
            relation,
            materialization,
            config,
            depends_on,
            sources: rendered.captured.sources,
            sql: rendered.sql,
            run_sql,
            checksum: model.checksum.clone(),
            description: model.description.clone(),
            columns: model.columns.clone(),
            defined_at: model.defined_at.clone(),
            segment: match &model.body {
                ModelBody::Segment(segment) => Some(Arc::new(segment.as_ref().clone())),
                _ => None,
            },
            incremental,
        })
    }

    /// The incremental build (if any) and the statement materializing the model.
    #[allow(clippy::too_many_arguments)]
    fn statements(
        &self,
        model: &Model,
        config: &ModelConfig,
        config_at: &Location,
        materialization: Materialization,
        relation: &Relation,
        rendered: &crate::jinja::Rendered,
        first: &FirstPass,
        depends_on: &mut Vec<String>,
    ) -> Result<(Option<IncrementalBuild>, String)> {
        let incremental = match materialization {
            Materialization::Incremental => {
                let settings = Incremental::from_config(config, config_at)?;
                let batch_sql = match &model.body {
                    ModelBody::Segment(_) => rendered.sql.clone(),
                    _ => {
                        let earlier = first
                            .batch
                            .as_ref()
                            .filter(|(lookback, _)| *lookback == settings.lookback)
                            .map(|(_, batch)| batch);
                        let batch =
                            self.render(model, &first.template, Some(settings.lookback), earlier)?;
                        union(depends_on, batch.captured.refs);
                        batch.sql
                    }
                };
                let run_sql = incremental::bigquery::statement(relation, &settings, &batch_sql);
                check_statement(model, &batch_sql, &run_sql)?;
                Some(IncrementalBuild {
                    settings,
                    sql: batch_sql,
                    run_sql,
                })
            }
            other => {
                Incremental::check_unused(config, other.as_str(), config_at)?;
                if let ModelBody::Yaml(spec) = &model.body
                    && spec.incremental_filter.is_some()
                {
                    return Err(Error::config(
                        Diagnostic::new(format!(
                            "model `{}` has `incremental_where:` but is materialized as `{}`",
                            model.name,
                            other.as_str()
                        ))
                        .at(model.defined_at.clone())
                        .help("set config: {materialized: incremental, ...}, or remove `incremental_where:`"),
                    ));
                }
                None
            }
        };
        let run_sql = materialize::statement(
            relation,
            materialization,
            config,
            model.description.as_deref(),
            &rendered.sql,
            &model.defined_at,
        )?;
        Ok((incremental, run_sql))
    }
}

/// The project's Jinja renderer, resolving `ref()`s to the compiled relations.
fn renderer_for_files(
    project: &Project,
    compiled: &CompiledProject,
) -> Result<(Renderer, Arc<NameResolver>)> {
    let renderer = Renderer::new(project, target_value(&compiled.target))?;
    let relations: BTreeMap<String, Relation> = compiled
        .nodes
        .iter()
        .map(|(k, v)| (k.clone(), v.relation.clone()))
        .collect();
    let resolver = Arc::new(NameResolver::new(&relations, &compiled.sources));
    Ok((renderer, resolver))
}

/// Render ad-hoc SQL (e.g. `cohort show --inline`) with the project's Jinja.
pub fn render_inline(project: &Project, compiled: &CompiledProject, sql: &str) -> Result<String> {
    let (renderer, resolver) = renderer_for_files(project, compiled)?;
    let scope = RenderScope::new(resolver, String::new(), false);
    Ok(renderer
        .render(std::path::Path::new("<inline>"), sql, scope)?
        .sql)
}

/// Render project files that are not models (e.g. singular data tests,
/// `data_tests/*.sql`) with the project's Jinja, keeping the `ref()`s and
/// `source()`s they call.
pub fn render_files(
    project: &Project,
    compiled: &CompiledProject,
    files: &[(PathBuf, String)],
) -> Result<Vec<crate::jinja::Rendered>> {
    let (renderer, resolver) = renderer_for_files(project, compiled)?;
    files
        .iter()
        .map(|(path, text)| {
            let scope = RenderScope::new(resolver.clone(), String::new(), false);
            renderer.render(path, text, scope)
        })
        .collect()
}

fn target_value(target: &Target) -> minijinja::Value {
    minijinja::context! {
        name => target.name.clone(),
        type => target.type_name(),
        dataset => target.dataset(),
        schema => target.dataset(),
        project => target.project(),
    }
}

fn template_of(model: &Model, _project: &Project) -> Result<String> {
    match &model.body {
        ModelBody::Sql { raw } => Ok(raw.clone()),
        ModelBody::Yaml(spec) => {
            check_yaml_refs(model, spec)?;
            yaml_model::render_sql(model, spec)
        }
        // Segments are compiled without Jinja (see `compile_segment`).
        ModelBody::Segment(_) => Ok(String::new()),
    }
}

/// A segment's SQL, written with its `from` relation already resolved.
fn compile_segment(
    project: &Project,
    segment: &Segment,
    relations: &BTreeMap<String, Relation>,
    sources: &BTreeMap<(String, String), CompiledSource>,
) -> Result<crate::jinja::Rendered> {
    let from = segment::resolve_from(project, segment)?;
    let (relation, refs, source_keys) = match &from {
        FromRef::Ref(name) => (
            relations.get(name).map(Relation::quoted),
            vec![name.clone()],
            Vec::new(),
        ),
        FromRef::Source(s, t) => {
            let key = (s.clone(), t.clone());
            (
                sources.get(&key).map(|c| c.relation.quoted()),
                Vec::new(),
                vec![key],
            )
        }
    };
    let relation = relation.ok_or_else(|| {
        Error::config(
            Diagnostic::new(format!(
                "segment `{}`: `{}` has no relation",
                segment.name, segment.from
            ))
            .at(segment.from_at.clone()),
        )
    })?;
    let sql = segment::select_sql(segment, &relation, project.as_of)?;
    Ok(crate::jinja::Rendered {
        sql,
        captured: crate::jinja::Captured {
            refs,
            sources: source_keys,
            ..Default::default()
        },
    })
}

/// Check `from:`/`to:` references of a YAML model up front, so errors point at those keys.
fn check_yaml_refs(model: &Model, spec: &crate::project::YamlModel) -> Result<()> {
    let mut refs = vec![(spec.from.as_str(), &spec.from_at)];
    refs.extend(spec.joins.iter().map(|(j, at)| (j.to.value.as_str(), at)));
    for (text, at) in refs {
        if yaml_model::parse_from(text).is_none() {
            return Err(yaml_model::bad_from(text, model, at.clone()));
        }
    }
    Ok(())
}

/// Render a model; `incremental` is `Some(lookback days)` for the batch of an incremental build.
fn render(
    renderer: &Renderer,
    model: &Model,
    template: &str,
    resolver: Arc<NameResolver>,
    this: String,
    incremental: Option<u32>,
) -> Result<crate::jinja::Rendered> {
    let scope = RenderScope::new(resolver, this, incremental.is_some())
        .with_lookback(incremental.unwrap_or(0));
    let file = model.path.clone();
    renderer
        .render(&file, template, scope)
        .map_err(|err| match (&model.body, err) {
            // Generated SQL has no lines of its own: point at the YAML `from:` or model entry.
            (ModelBody::Yaml(spec), Error::Config(mut d)) => {
                d.location = Some(
                    if d.message.starts_with("unknown ref")
                        || d.message.starts_with("unknown source")
                    {
                        spec.from_at.clone()
                    } else {
                        model.defined_at.clone()
                    },
                );
                Error::Config(d)
            }
            (_, other) => other,
        })
}

/// Add the names of `more` missing from `refs`, keeping the order.
fn union(refs: &mut Vec<String>, more: Vec<String>) {
    for name in more {
        if !refs.contains(&name) {
            refs.push(name);
        }
    }
}

/// Where a model's config is written: a SQL model's `config(` call, else
/// the YAML entry giving it properties, else the model's definition.
fn config_location(model: &Model) -> Location {
    if let ModelBody::Sql { raw } = &model.body
        && let Some(offset) = raw.find("config(")
    {
        let before = &raw[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = raw[line_start..offset].chars().count() + 1;
        return Location::new(&model.path, line, column);
    }
    model
        .properties_at
        .clone()
        .unwrap_or_else(|| model.defined_at.clone())
}

fn build_graph(
    project: &Project,
    configs: &BTreeMap<String, ModelConfig>,
    deps: &BTreeMap<String, Vec<String>>,
) -> Result<Graph> {
    let nodes = project
        .models
        .values()
        .map(|m| {
            (
                m.name.clone(),
                NodeInfo {
                    name: m.name.clone(),
                    path: m.path.to_string_lossy().replace('\\', "/"),
                    tags: configs[&m.name].tags.clone(),
                    defined_at: m.defined_at.clone(),
                },
            )
        })
        .collect();
    Graph::new(nodes, deps)
}

/// Check a SELECT and the statement made of it with one parse when both are
/// valid: the SELECT alone is parsed only when the statement does not parse,
/// so that an error in it points into the SELECT as written.
fn check_statement(model: &Model, select: &str, statement: &str) -> Result<()> {
    if crate::sql::parse::parse_bigquery(statement).is_ok() {
        return Ok(());
    }
    check_sql(model, select)?;
    check_sql(model, statement)
}

/// Parse a statement with the BigQuery dialect; a syntax error points into the model file.
fn check_sql(model: &Model, sql: &str) -> Result<()> {
    crate::sql::parse::parse_bigquery(sql).map(|_| ()).map_err(|err| {
        let location = match (&model.body, err.line) {
            (ModelBody::Sql { .. }, Some(line)) => {
                Location::new(&model.path, line, err.column.unwrap_or(1))
            }
            // "found: EOF" has no position: point just past the last character.
            (ModelBody::Sql { .. }, None) => {
                let (line, column) = end_position(sql);
                Location::new(&model.path, line, column)
            }
            _ => model.defined_at.clone(),
        };
        Error::config(
            Diagnostic::new(format!("model `{}`: {}", model.name, err.message))
                .at(location)
                .help("fix the BigQuery SQL; `cohort compile` writes the rendered SQL to target/compiled/ (line numbers refer to the rendered SQL)"),
        )
    })
}

/// 1-based line and column just after the last non-blank character of `text`.
fn end_position(text: &str) -> (usize, usize) {
    let trimmed = text.trim_end();
    let line = trimmed.lines().count().max(1);
    let column = trimmed
        .lines()
        .last()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

fn compile_sources(
    project: &Project,
    target: &Target,
    renderer: &Renderer,
) -> Result<BTreeMap<(String, String), CompiledSource>> {
    let resolver = Arc::new(NameResolver::empty());
    let mut out = BTreeMap::new();
    for (key, table) in &project.sources {
        let local_path = match &table.location {
            Some(location) => {
                let scope = RenderScope::new(resolver.clone(), String::new(), false);
                let rendered = renderer
                    .render(&table.defined_at.file, location, scope)
                    .map_err(|err| relocate(err, &table.defined_at))?;
                let dir = project.root.join(rendered.sql.trim());
                let file = table
                    .file
                    .clone()
                    .unwrap_or_else(|| format!("{}.{}", table.name, table.format.extension()));
                Some(dir.join(file))
            }
            None => None,
        };
        out.insert(
            key.clone(),
            CompiledSource {
                relation: relation::source_relation(table, target),
                table: table.clone(),
                local_path,
            },
        );
    }
    Ok(out)
}

fn relocate(err: Error, at: &Location) -> Error {
    match err {
        Error::Config(mut d) => {
            d.location = Some(at.clone());
            Error::Config(d)
        }
        other => other,
    }
}

/// Resolves `ref()` and `source()` to quoted relation names.
struct NameResolver {
    models: HashMap<String, String>,
    sources: HashMap<(String, String), String>,
}

impl NameResolver {
    fn new(
        models: &BTreeMap<String, Relation>,
        sources: &BTreeMap<(String, String), CompiledSource>,
    ) -> Self {
        NameResolver {
            models: models
                .iter()
                .map(|(k, v)| (k.clone(), v.quoted()))
                .collect(),
            sources: sources
                .iter()
                .map(|(k, v)| (k.clone(), v.relation.quoted()))
                .collect(),
        }
    }

    fn empty() -> Self {
        NameResolver {
            models: HashMap::new(),
            sources: HashMap::new(),
        }
    }
}

impl Resolver for NameResolver {
    fn model(&self, name: &str) -> Option<String> {
        self.models.get(name).cloned()
    }

    fn source(&self, source: &str, table: &str) -> Option<String> {
        self.sources
            .get(&(source.to_string(), table.to_string()))
            .cloned()
    }

    fn model_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.models.keys().cloned().collect();
        names.sort();
        names
    }

    fn source_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .sources
            .keys()
            .map(|(s, t)| format!("{s}.{t}"))
            .collect();
        names.sort();
        names
    }
}
