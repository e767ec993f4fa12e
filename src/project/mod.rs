//! Loading a cohort project from disk: `cohort.yml`, the YAML and SQL files
//! under the model paths, and the macros. The result is a typed [`Project`];
//! later stages never read project files again.

pub mod config;
mod discover;
pub mod export;
pub mod schema_file;
pub mod segment;
pub mod vars;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

pub use config::{ModelDefaults, ProjectFile, SampleDataConfig};
pub use export::Export;
pub use schema_file::{
    ColumnDef, DedupeDef, FileFormat, JoinDef, JoinKind, ModelConfig, PartitionBy, UniqueKey,
};
pub use segment::Segment;

use crate::error::{Diagnostic, Error, Location, Result};
use schema_file::{ModelDef, SchemaFile, SourceDef};

/// The project file's name.
pub const PROJECT_FILE: &str = "cohort.yml";

/// The folder of singular data tests (the repository's `tests/` stays for Rust tests).
pub const DATA_TEST_PATH: &str = "data_tests";

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project folder (absolute).
    pub root: PathBuf,
    pub file: ProjectFile,
    /// Project vars merged with `--vars`; `as_of` is always set.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// The date every "last N days" window is relative to.
    pub as_of: NaiveDate,
    /// Raw tables, keyed by (source name, table name).
    pub sources: BTreeMap<(String, String), SourceTable>,
    /// Models by name.
    pub models: BTreeMap<String, Model>,
    /// Macro files, in path order.
    pub macros: Vec<MacroFile>,
    /// Data tests: generic tests from the YAML files and singular tests
    /// (`data_tests/**/*.sql`), in the order they were read.
    pub tests: Vec<crate::testing::TestDef>,
    /// Unit tests (`unit_tests:` in the YAML files), in the order they were read.
    pub unit_tests: Vec<crate::testing::unit::UnitTest>,
    /// Customer Match exports by name.
    pub exports: BTreeMap<String, Export>,
}

/// A raw table declared under `sources:`.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub source: String,
    pub name: String,
    pub description: Option<String>,
    /// Dataset in the warehouse.
    pub schema: String,
    pub project: Option<String>,
    pub identifier: String,
    /// Local folder template (may hold Jinja), if declared.
    pub location: Option<String>,
    pub file: Option<String>,
    pub format: FileFormat,
    pub columns: Vec<ColumnDef>,
    pub defined_at: Location,
}

/// A model: SQL with Jinja, or declared in YAML.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    /// The file defining the model, relative to the project root.
    pub path: PathBuf,
    pub body: ModelBody,
    pub description: Option<String>,
    pub columns: Vec<ColumnDef>,
    /// Config from YAML and cohort.yml defaults (a SQL model's `config()` adds to it at compile time).
    pub config: ModelConfig,
    pub defined_at: Location,
    /// The YAML entry whose `config:` applies to a SQL model, if any.
    pub properties_at: Option<Location>,
    /// SHA-256 of the defining text.
    pub checksum: String,
}

/// How a model is written.
#[derive(Debug, Clone)]
pub enum ModelBody {
    /// BigQuery SQL with Jinja.
    Sql { raw: String },
    /// A YAML-declared model.
    Yaml(Box<YamlModel>),
    /// A segment: its members, selected from the `from` model by rules.
    Segment(Box<Segment>),
}

/// The parts of a YAML-declared model that compile to SQL.
#[derive(Debug, Clone)]
pub struct YamlModel {
    pub from: String,
    pub from_at: Location,
    pub from_alias: Option<String>,
    pub joins: Vec<(JoinDef, Location)>,
    pub filters: Vec<String>,
    /// A filter added when `is_incremental()`.
    pub incremental_filter: Option<String>,
    pub dedupe: Option<DedupeDef>,
    pub group_by: Vec<String>,
    pub having: Option<String>,
}

/// A file of Jinja macros.
#[derive(Debug, Clone)]
pub struct MacroFile {
    /// Relative path, used as the template name.
    pub path: PathBuf,
    pub text: String,
    /// The macros it defines.
    pub names: Vec<String>,
}

/// Options for loading a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--vars` as YAML text.
    pub vars_override: Option<String>,
    /// The date to use when `as_of` is not set anywhere (today, normally).
    pub today: Option<NaiveDate>,
}

impl Project {
    /// Load the project in `dir`.
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Project> {
        let root = std::path::absolute(dir).map_err(|e| Error::io("resolve", dir, e))?;
        let project_path = root.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&project_path).map_err(|err| {
            Error::config(
                Diagnostic::new(format!(
                    "no {PROJECT_FILE} in {}: {err}",
                    root.display()
                ))
                .help("run cohort in a project folder, pass --project-dir, or create one with `cohort init DIR`"),
            )
        })?;
        let file: ProjectFile = yaml::parse(Path::new(PROJECT_FILE), &text)?;
        validate_identifier(
            &file.name,
            "project name",
            Location::file_start(PROJECT_FILE),
        )?;
        let today = options
            .today
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        let (vars, as_of) = vars::resolve(&file.vars, options.vars_override.as_deref(), today)?;

        let mut builder = Builder::new(&root, &file);
        let schema_files = discover::files(&root, &file.model_paths, &["yml", "yaml"])?;
        // Files are read and parsed on every core, then added in path order.
        let parsed = crate::parallel::map(&schema_files, |path| parse_schema_file(&root, path));
        for file in parsed {
            builder.add_schema_file(file?)?;
        }
        for path in discover::files(&root, &file.segment_paths, &["yml", "yaml"])? {
            if schema_files.binary_search(&path).is_err() {
                builder.add_segment_file(&path)?;
            }
        }
        let sql_files = discover::files(&root, &file.model_paths, &["sql"])?;
        let read = crate::parallel::map(&sql_files, |path| {
            read_named_sql(&root, path, "model name").map(|file| {
                let checksum = checksum(&file.1);
                (file, checksum)
            })
        });
        for file in read {
            builder.add_sql_model(file?)?;
        }
        for path in discover::files(&root, &file.export_paths, &["yml", "yaml"])? {
            builder.add_export_file(&path)?;
        }
        builder.apply_properties()?;
        builder.check_exports()?;
        for path in discover::files(&root, &[PathBuf::from(DATA_TEST_PATH)], &["sql"])? {
            builder.add_singular_test(&path)?;
        }
        builder.check_test_names()?;
        let macros = discover::files(&root, &file.macro_paths, &["sql", "jinja"])?
            .into_iter()
            .map(|path| load_macro_file(&root, &path))
            .collect::<Result<Vec<_>>>()?;

        let (sources, models) = (builder.sources, builder.models);
        let (tests, unit_tests) = (builder.tests, builder.unit_tests);
        let exports = builder.exports;
        Ok(Project {
            exports,
            root,
            vars,
            as_of,
            sources,
            models,
            macros,
            file,
            tests,
            unit_tests,
        })
    }

    /// The path of a project-relative path.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// The target folder (absolute).
    pub fn target_dir(&self) -> PathBuf {
        self.root.join(&self.file.target_path)
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }
}

/// Collects sources and models while files are read, checking names as it goes.
struct Builder<'a> {
    root: &'a Path,
    defaults: ModelConfig,
    sources: BTreeMap<(String, String), SourceTable>,
    models: BTreeMap<String, Model>,
    /// Property entries (YAML `models:` without `from:`), applied to SQL models at the end.
    properties: Vec<(ModelDef, Location)>,
    tests: Vec<crate::testing::TestDef>,
    unit_tests: Vec<crate::testing::unit::UnitTest>,
    exports: BTreeMap<String, Export>,
}

impl<'a> Builder<'a> {
    fn new(root: &'a Path, file: &ProjectFile) -> Self {
        let defaults = ModelConfig {
            materialized: file.models.materialized.clone(),
            schema: file.models.schema.clone(),
            tags: file.models.tags.clone(),
            ..ModelConfig::default()
        };
        Builder {
            root,
            defaults,
            sources: BTreeMap::new(),
            models: BTreeMap::new(),
            properties: Vec::new(),
            tests: Vec::new(),
            unit_tests: Vec::new(),
            exports: BTreeMap::new(),
        }
    }

    fn relative(&self, path: &Path) -> PathBuf {
        relative(self.root, path)
    }

    fn add_schema_file(
        &mut self,
        (rel, text, parsed): (PathBuf, String, SchemaFile),
    ) -> Result<()> {
        for source in parsed.sources {
            let at = yaml::location_of(&rel, &source);
            self.add_source(source.value, &rel, at)?;
        }
        for segment in parsed.segments {
            self.add_segment(segment, &rel, &text)?;
        }
        for unit_test in parsed.unit_tests {
            let test = crate::testing::unit::UnitTest::from_def(unit_test, &rel)?;
            self.unit_tests.push(test);
        }
        for model in parsed.models {
            let at = yaml::location_of(&rel, &model);
            let def = model.value;
            validate_identifier(&def.name, "model name", at.clone())?;
            let subject = crate::testing::Subject::Model(def.name.clone());
            self.add_tests(&rel, subject, &def.name, &def.tests, &def.columns)?;
            if def.from.is_some() {
                self.add_yaml_model(def, &rel, &text, at)?;
            } else {
                self.properties.push((def, at));
            }
        }
        Ok(())
    }

    fn add_segment_file(&mut self, path: &Path) -> Result<()> {
        let rel = self.relative(path);
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let parsed: segment::SegmentFile = yaml::parse(&rel, &text)?;
        for def in parsed.segments {
            self.add_segment(def, &rel, &text)?;
        }
        for unit_test in parsed.unit_tests {
            let test = crate::testing::unit::UnitTest::from_def(unit_test, &rel)?;
            self.unit_tests.push(test);
        }
        for def in parsed.exports {
            self.add_export(def, &rel)?;
        }
        Ok(())
    }

    fn add_export_file(&mut self, path: &Path) -> Result<()> {
        let rel = self.relative(path);
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let parsed: export::ExportFile = yaml::parse(&rel, &text)?;
        for def in parsed.exports {
            self.add_export(def, &rel)?;
        }
        Ok(())
    }

    fn add_export(
        &mut self,
        def: serde_saphyr::Spanned<export::ExportDef>,
        rel: &Path,
    ) -> Result<()> {
        let export = Export::from_def(def, rel, self.root)?;
        if let Some(first) = self.exports.get(&export.name) {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "export `{}` is defined twice (first at {})",
                    export.name, first.defined_at
                ))
                .at(export.defined_at.clone())
                .help("give each export its own name"),
            ));
        }
        self.exports.insert(export.name.clone(), export);
        Ok(())
    }

    /// Every export names a declared segment.
    fn check_exports(&self) -> Result<()> {
        let segments: Vec<&str> = self
            .models
            .values()
            .filter_map(|m| match &m.body {
                ModelBody::Segment(s) => Some(s.name.as_str()),
                _ => None,
            })
            .collect();
        export::check_segments(self.exports.values(), &segments)
    }

    /// A segment becomes a model named `segment_<name>` whose body is the segment.
    fn add_segment(
        &mut self,
        mut def: serde_saphyr::Spanned<segment::SegmentDef>,
        rel: &Path,
        text: &str,
    ) -> Result<()> {
        let mut tags = def.value.tags.clone();
        let config = def.value.config.clone().unwrap_or_default();
        let tests = std::mem::take(&mut def.value.tests);
        let segment = Segment::from_def(def, rel)?;
        let subject = crate::testing::Subject::Model(segment.node_name());
        self.add_tests(rel, subject, &segment.node_name(), &tests, &[])?;
        if !tags.iter().any(|t| t == "segment") {
            tags.push("segment".to_string());
        }
        let config = config
            .or(&ModelConfig {
                tags,
                ..ModelConfig::default()
            })
            .or(&self.defaults);
        let columns = std::iter::once(&segment.entity_key)
            .chain(&segment.attributes)
            .map(|n| n.name.clone())
            .chain(std::iter::once(segment::SEGMENT_COLUMN.to_string()))
            .map(|name| ColumnDef {
                name,
                expr: None,
                data_type: None,
                description: None,
                tests: Vec::new(),
            })
            .collect();
        let model = Model {
            name: segment.node_name(),
            path: rel.to_path_buf(),
            description: segment.description.clone(),
            columns,
            config,
            defined_at: segment.defined_at.clone(),
            properties_at: None,
            checksum: checksum(text),
            body: ModelBody::Segment(Box::new(segment)),
        };
        validate_identifier(&model.name, "segment name", model.defined_at.clone())?;
        self.insert_model(model)
    }

    fn add_source(&mut self, def: SourceDef, rel: &Path, at: Location) -> Result<()> {
        validate_identifier(&def.name, "source name", at.clone())?;
        let schema = def.schema.clone().unwrap_or_else(|| def.name.clone());
        for table in def.tables {
            let table_at = yaml::location_of(rel, &table);
            let t = table.value;
            validate_identifier(&t.name, "source table name", table_at.clone())?;
            let subject = crate::testing::Subject::Source(def.name.clone(), t.name.clone());
            let label = format!("{}_{}", def.name, t.name);
            self.add_tests(rel, subject.clone(), &label, &t.tests, &t.columns)?;
            if let Some(freshness) = t.freshness.as_ref().or(def.freshness.as_ref()) {
                let field = t
                    .loaded_at_field
                    .as_deref()
                    .or(def.loaded_at_field.as_deref());
                let ctx = crate::testing::spec::Context {
                    file: rel,
                    subject,
                    subject_label: label,
                    column: None,
                };
                let tests = crate::testing::spec::parse_freshness(freshness, field, &ctx)?;
                self.tests.extend(tests);
            }
            let key = (def.name.clone(), t.name.clone());
            if let Some(existing) = self.sources.get(&key) {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "source table `{}.{}` is declared twice (first at {})",
                        def.name, t.name, existing.defined_at
                    ))
                    .at(table_at)
                    .help("remove one of the declarations"),
                ));
            }
            self.sources.insert(
                key,
                SourceTable {
                    source: def.name.clone(),
                    identifier: t.identifier.unwrap_or_else(|| t.name.clone()),
                    name: t.name,
                    description: t.description,
                    schema: schema.clone(),
                    project: def.project.clone(),
                    location: def.location.clone(),
                    file: t.file,
                    format: def.format.unwrap_or_default(),
                    columns: t.columns,
                    defined_at: table_at,
                },
            );
        }
        Ok(())
    }

    fn add_yaml_model(
        &mut self,
        def: ModelDef,
        rel: &Path,
        text: &str,
        at: Location,
    ) -> Result<()> {
        let Some(from) = def.from else {
            return Ok(());
        };
        let from_at = yaml::location_of(rel, &from);
        let config = def
            .config
            .unwrap_or_default()
            .or(&ModelConfig {
                tags: def.tags,
                ..ModelConfig::default()
            })
            .or(&self.defaults);
        let model = Model {
            name: def.name.clone(),
            path: rel.to_path_buf(),
            body: ModelBody::Yaml(Box::new(YamlModel {
                from: from.value,
                from_at,
                from_alias: def.from_alias,
                joins: def
                    .joins
                    .into_iter()
                    .map(|j| {
                        let loc = yaml::location_of(rel, &j);
                        (j.value, loc)
                    })
                    .collect(),
                filters: def
                    .filters
                    .map(schema_file::OneOrMany::into_vec)
                    .unwrap_or_default(),
                incremental_filter: def.incremental_where,
                dedupe: def.dedupe,
                group_by: def.group_by,
                having: def.having,
            })),
            description: def.description,
            columns: def.columns,
            config,
            defined_at: at,
            properties_at: None,
            checksum: checksum(text),
        };
        self.insert_model(model)
    }

    /// A SQL model, from [`read_named_sql`] and the text's checksum.
    fn add_sql_model(
        &mut self,
        ((rel, raw, name), checksum): ((PathBuf, String, String), String),
    ) -> Result<()> {
        let model = Model {
            name,
            path: rel.clone(),
            checksum,
            body: ModelBody::Sql { raw },
            description: None,
            columns: Vec::new(),
            config: self.defaults.clone(),
            defined_at: Location::file_start(&rel),
            properties_at: None,
        };
        self.insert_model(model)
    }

    /// Parse the table-level `tests:` and each column's `tests:` of one table.
    fn add_tests(
        &mut self,
        rel: &Path,
        subject: crate::testing::Subject,
        label: &str,
        tests: &[serde_saphyr::Spanned<serde_json::Value>],
        columns: &[ColumnDef],
    ) -> Result<()> {
        use crate::testing::spec::{Context, parse_tests};
        let mut ctx = Context {
            file: rel,
            subject,
            subject_label: label.to_string(),
            column: None,
        };
        self.tests.extend(parse_tests(tests, &ctx)?);
        for column in columns {
            ctx.column = Some(&column.name);
            self.tests.extend(parse_tests(&column.tests, &ctx)?);
        }
        Ok(())
    }

    /// A `data_tests/**/*.sql` file: a query returning the failing rows, named after the file.
    fn add_singular_test(&mut self, path: &Path) -> Result<()> {
        let (rel, raw, name) = read_named_sql(self.root, path, "test name")?;
        let at = Location::file_start(&rel);
        self.tests.push(crate::testing::TestDef {
            name,
            kind: crate::testing::TestKind::Singular { raw },
            subject: crate::testing::Subject::Sql,
            column: None,
            filter: None,
            severity: crate::testing::Severity::Error,
            path: rel,
            defined_at: at,
        });
        Ok(())
    }

    /// Test names are unique: they name the compiled files and the results.
    fn check_test_names(&self) -> Result<()> {
        let mut seen: BTreeMap<&str, &Location> = BTreeMap::new();
        let names = self.tests.iter().map(|t| (t.name.as_str(), &t.defined_at));
        let unit = self
            .unit_tests
            .iter()
            .map(|t| (t.name.as_str(), &t.defined_at));
        for (name, at) in names.chain(unit) {
            if let Some(first) = seen.insert(name, at) {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "two tests are named `{name}` (the other is at {first})"
                    ))
                    .at(at.clone())
                    .help("give one of them a different `name:`"),
                ));
            }
        }
        Ok(())
    }

    fn insert_model(&mut self, model: Model) -> Result<()> {
        if let Some(existing) = self.models.get(&model.name) {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "duplicate model name `{}`: also defined at {}",
                    model.name, existing.defined_at
                ))
                .at(model.defined_at.clone())
                .help("model names are unique across the project: rename one of them"),
            ));
        }
        self.models.insert(model.name.clone(), model);
        Ok(())
    }

    /// Attach YAML property entries (description, columns, config) to their SQL models.
    fn apply_properties(&mut self) -> Result<()> {
        for (def, at) in std::mem::take(&mut self.properties) {
            let Some(model) = self.models.get_mut(&def.name) else {
                let known = self.models.keys().map(String::as_str);
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "model `{}` has no `from:` and there is no `{}.sql` file",
                        def.name, def.name
                    ))
                    .at(at)
                    .help(format!(
                        "add `from: ref('...')` or `from: source('...', '...')` to declare it in YAML, or create the SQL file; {}",
                        crate::error::suggestion(&def.name, known, "model")
                    )),
                ));
            };
            if def.description.is_some() {
                model.description = def.description;
            }
            if !def.columns.is_empty() {
                model.columns = def.columns;
            }
            if def.config.is_some() {
                model.properties_at = Some(at.clone());
            }
            let yaml_config = def.config.unwrap_or_default().or(&ModelConfig {
                tags: def.tags,
                ..ModelConfig::default()
            });
            model.config = yaml_config.or(&model.config);
        }
        Ok(())
    }
}

/// A project-relative path.
fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A YAML file under the model paths, read and parsed: its project-relative path, text and contents.
fn parse_schema_file(root: &Path, path: &Path) -> Result<(PathBuf, String, SchemaFile)> {
    let rel = relative(root, path);
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let parsed: SchemaFile = yaml::parse(&rel, &text)?;
    Ok((rel, text, parsed))
}

/// A SQL file's project-relative path, text, and name (its stem, checked as an identifier).
fn read_named_sql(root: &Path, path: &Path, what: &str) -> Result<(PathBuf, String, String)> {
    let rel = relative(root, path);
    let raw = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    validate_identifier(
        &name,
        &format!("{what} (the SQL file's name)"),
        Location::file_start(&rel),
    )?;
    Ok((rel, raw, name))
}

fn load_macro_file(root: &Path, path: &Path) -> Result<MacroFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let names = macro_names(&text);
    Ok(MacroFile {
        path: rel,
        text,
        names,
    })
}

/// Names of the `{% macro name(...) %}` definitions in a file.
fn macro_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(idx) = rest.find("{%") {
        rest = &rest[idx + 2..];
        let tag = rest.trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = tag.strip_prefix("macro") {
            let after = after.trim_start();
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names become BigQuery identifiers: letters, digits and `_`, not starting with a digit.
pub fn validate_identifier(name: &str, what: &str, at: Location) -> Result<()> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Error::config(
            Diagnostic::new(format!("invalid {what} `{name}`"))
                .at(at)
                .help("use letters, digits and `_`, starting with a letter or `_`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_macro_names() {
        let text = "{% macro a(x) %}{{ x }}{% endmacro %}\n{%- macro normalize_phone(p, c) -%}x{% endmacro %}";
        assert_eq!(macro_names(text), vec!["a", "normalize_phone"]);
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(
            validate_identifier("customer_features", "model", Location::file_start("x")).is_ok()
        );
        assert!(validate_identifier("1abc", "model", Location::file_start("x")).is_err());
        assert!(validate_identifier("a-b", "model", Location::file_start("x")).is_err());
    }
}
