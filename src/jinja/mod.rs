//! The Jinja environment models are rendered in (minijinja): `ref()`,
//! `source()`, `var()`, `config()`, `this`, `target`, `is_incremental()`,
//! `incremental_since()`, `env_var()` and every macro under the macro paths, available everywhere
//! without an import (as in dbt).
//!
//! Rendering is synchronous; the per-render state (what a model refs, its
//! `config()` call, the relation names) lives in a thread-local scope so that
//! macros defined in other files see it too.

mod scope;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

pub use scope::{Captured, RenderScope, Resolver};

use crate::error::{Diagnostic, Error, Location};
use crate::project::{ModelConfig, Project};

/// Renders model SQL for one project.
pub struct Renderer {
    env: Environment<'static>,
    /// `{% from ... import ... %}` lines put in front of every template (on line 1, no newline).
    import_prefix: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

/// What one render produced.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub sql: String,
    pub captured: Captured,
}

impl Renderer {
    /// An environment with the project's vars and macros.
    pub fn new(project: &Project, target: Value) -> Result<Renderer, Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| Error::config(Diagnostic::new(format!("Jinja set-up failed: {e}"))))?;
        env.set_syntax(syntax);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let vars = Arc::new(project.vars.clone());
        env.add_function("var", move |name: String, default: Option<Value>| {
            var(&vars, &name, default)
        });
        env.add_function("ref", scope::ref_fn);
        env.add_function("source", scope::source_fn);
        env.add_function("config", config_fn);
        env.add_function("is_incremental", scope::is_incremental_fn);
        env.add_function("incremental_since", scope::incremental_since_fn);
        env.add_function("env_var", crate::profile::env_var);
        env.add_global("target", target);

        let mut imports = String::new();
        for file in &project.macros {
            let name = template_name(&file.path);
            env.add_template_owned(name.clone(), file.text.clone())
                .map_err(|err| Error::config(jinja_error(&err, &file.path, &file.text, 0)))?;
            if !file.names.is_empty() {
                imports.push_str(&format!(
                    "{{%- from {:?} import {} -%}}",
                    name,
                    file.names.join(", ")
                ));
            }
        }
        Ok(Renderer {
            env,
            import_prefix: imports,
        })
    }

    /// Render `source` (from `file`) inside `scope`.
    pub fn render(&self, file: &Path, source: &str, scope: RenderScope) -> Result<Rendered, Error> {
        let text = format!("{}{}", self.import_prefix, source);
        let this = scope.this.clone();
        let scope = Arc::new(scope);
        let result = scope::with_scope(scope.clone(), || {
            self.env.render_named_str(
                &template_name(file),
                &text,
                minijinja::context! { this => this },
            )
        });
        let captured = scope.take_captured();
        match result {
            Ok(sql) => Ok(Rendered { sql, captured }),
            Err(err) => {
                let mut diagnostic = jinja_error(&err, file, &text, self.import_prefix.len());
                if let Some(failure) = captured.failure {
                    diagnostic.message = failure.message;
                    diagnostic.help = failure.help;
                }
                Err(Error::config(diagnostic))
            }
        }
    }
}

fn template_name(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `var('name')` / `var('name', default)`.
fn var(
    vars: &BTreeMap<String, serde_json::Value>,
    name: &str,
    default: Option<Value>,
) -> Result<Value, minijinja::Error> {
    match (vars.get(name), default) {
        (Some(value), _) => Ok(Value::from(minijinja::value::Serde(value))),
        (None, Some(default)) => Ok(default),
        (None, None) => {
            let help = crate::error::suggestion(name, vars.keys().map(String::as_str), "var");
            scope::fail(
                format!("var `{name}` is not defined"),
                Some(format!(
                    "set it under `vars:` in cohort.yml, pass --vars '{{{name}: ...}}', or give a default: var('{name}', ...); {help}"
                )),
            )
        }
    }
}

/// `{{ config(materialized='table', ...) }}`: records the model's config, renders nothing.
fn config_fn(kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let value = Value::from(kwargs);
    let config: ModelConfig =
        serde::Deserialize::deserialize(value).map_err(|err: minijinja::Error| {
            let message = format!("invalid config(): {err}");
            let help = crate::project::yaml::unknown_field_help(&err.to_string());
            scope::record_failure(message.clone(), help);
            minijinja::Error::new(ErrorKind::InvalidOperation, message)
        })?;
    scope::record_config(config);
    Ok(String::new())
}

/// Turn a minijinja error into a diagnostic at file:line:col.
fn jinja_error(err: &minijinja::Error, file: &Path, text: &str, prefix_len: usize) -> Diagnostic {
    let line = err.line().unwrap_or(1);
    let column = err
        .range()
        .map(|range| column_of(text, range.start, prefix_len))
        .unwrap_or(1);
    let detail = err
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| err.kind().to_string());
    let message = match err.kind() {
        ErrorKind::SyntaxError => format!("Jinja syntax error: {detail}"),
        ErrorKind::UndefinedError => format!("Jinja: undefined value ({detail})"),
        ErrorKind::UnknownFunction => format!("Jinja: unknown function ({detail})"),
        _ => format!("Jinja: {detail}"),
    };
    Diagnostic::new(message)
        .at(Location::new(file, line, column))
        .help("check the Jinja expression at that position; functions: ref, source, var, config, is_incremental, incremental_since, env_var and the project's macros")
}

/// 1-based column of byte `offset` in `text`, not counting the import prefix on line 1.
fn column_of(text: &str, offset: usize, prefix_len: usize) -> usize {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let mut column = text[line_start..offset].chars().count() + 1;
    if line_start == 0 {
        column = column
            .saturating_sub(text[..prefix_len.min(offset)].chars().count())
            .max(1);
    }
    column
}
