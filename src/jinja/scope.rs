//! Per-render state: the relations `ref()`/`source()` resolve to, what a
//! render captured (refs, sources, config), and why it failed.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use minijinja::ErrorKind;
use minijinja::value::Value;

use crate::project::ModelConfig;

/// Resolves names to rendered relation names (`` `dataset.table` ``).
pub trait Resolver: Send + Sync {
    fn model(&self, name: &str) -> Option<String>;
    fn source(&self, source: &str, table: &str) -> Option<String>;
    fn model_names(&self) -> Vec<String>;
    fn source_names(&self) -> Vec<String>;
}

/// What one render saw.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// Models passed to `ref()`, in call order, without repeats.
    pub refs: Vec<String>,
    /// (source, table) pairs passed to `source()`.
    pub sources: Vec<(String, String)>,
    /// The `config()` call, if any.
    pub config: Option<ModelConfig>,
    /// The reason a cohort function failed, with a hint.
    pub failure: Option<Failure>,
}

/// A cohort function's failure message and hint.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub help: Option<String>,
}

/// The state of one render.
pub struct RenderScope {
    pub resolver: Arc<dyn Resolver>,
    /// `this`: the relation being built.
    pub this: String,
    pub is_incremental: bool,
    /// Days of late data `incremental_since()` re-reads (the model's `lookback`).
    pub lookback: u32,
    captured: Mutex<Captured>,
}

impl RenderScope {
    pub fn new(resolver: Arc<dyn Resolver>, this: String, is_incremental: bool) -> Self {
        RenderScope {
            resolver,
            this,
            is_incremental,
            lookback: 0,
            captured: Mutex::new(Captured::default()),
        }
    }

    /// The same scope with `incremental_since()` going back `days` days.
    pub fn with_lookback(mut self, days: u32) -> Self {
        self.lookback = days;
        self
    }

    pub(super) fn take_captured(&self) -> Captured {
        self.captured
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    fn capture(&self, f: impl FnOnce(&mut Captured)) {
        if let Ok(mut captured) = self.captured.lock() {
            f(&mut captured);
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<RenderScope>>> = const { RefCell::new(None) };
}

/// Run `f` with `scope` as the current render scope.
pub(super) fn with_scope<T>(scope: Arc<RenderScope>, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(scope)));
    let result = f();
    CURRENT.with(|c| *c.borrow_mut() = previous);
    result
}

fn current() -> Result<Arc<RenderScope>, minijinja::Error> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| minijinja::Error::new(ErrorKind::InvalidOperation, "not rendering a model"))
}

/// Record why a function failed and return the matching minijinja error.
pub(super) fn fail<T>(message: String, help: Option<String>) -> Result<T, minijinja::Error> {
    record_failure(message.clone(), help);
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

pub(super) fn record_failure(message: String, help: Option<String>) {
    if let Ok(scope) = current() {
        scope.capture(|c| {
            if c.failure.is_none() {
                c.failure = Some(Failure { message, help });
            }
        });
    }
}

pub(super) fn record_config(config: ModelConfig) {
    if let Ok(scope) = current() {
        scope.capture(|c| {
            c.config = Some(match c.config.take() {
                Some(previous) => config.or(&previous),
                None => config,
            })
        });
    }
}

/// `ref('model')`.
pub(super) fn ref_fn(name: String, extra: Option<String>) -> Result<Value, minijinja::Error> {
    if extra.is_some() {
        return fail(
            format!("ref('{name}', ...) with two arguments: cohort has no packages"),
            Some(format!("write ref('{}')", extra.unwrap_or_default())),
        );
    }
    let scope = current()?;
    match scope.resolver.model(&name) {
        Some(relation) => {
            scope.capture(|c| {
                if !c.refs.contains(&name) {
                    c.refs.push(name.clone());
                }
            });
            Ok(Value::from_safe_string(relation))
        }
        None => {
            let names = scope.resolver.model_names();
            fail(
                format!("unknown ref `{name}`: no model has that name"),
                Some(crate::error::suggestion(
                    &name,
                    names.iter().map(String::as_str),
                    "model",
                )),
            )
        }
    }
}

/// `source('source', 'table')`.
pub(super) fn source_fn(source: String, table: String) -> Result<Value, minijinja::Error> {
    let scope = current()?;
    match scope.resolver.source(&source, &table) {
        Some(relation) => {
            scope.capture(|c| {
                let key = (source.clone(), table.clone());
                if !c.sources.contains(&key) {
                    c.sources.push(key);
                }
            });
            Ok(Value::from_safe_string(relation))
        }
        None => {
            let names = scope.resolver.source_names();
            let wanted = format!("{source}.{table}");
            fail(
                format!("unknown source `{wanted}`: no source table has that name"),
                Some(crate::error::suggestion(
                    &wanted,
                    names.iter().map(String::as_str),
                    "source",
                )),
            )
        }
    }
}

/// `is_incremental()`.
pub(super) fn is_incremental_fn() -> Result<bool, minijinja::Error> {
    Ok(current()?.is_incremental)
}

/// `incremental_since('event_date')`: the lower bound of an incremental
/// batch, the newest value already in `this` minus `lookback` days, as a
/// scalar subquery. `data_type` is `date` (default), `timestamp` or `datetime`.
pub(super) fn incremental_since_fn(
    column: String,
    data_type: Option<String>,
) -> Result<Value, minijinja::Error> {
    let scope = current()?;
    if !scope.is_incremental {
        return fail(
            format!("incremental_since('{column}') is only defined on incremental runs"),
            Some(
                "use it inside {% if is_incremental() %} ... {% endif %}, e.g. where event_date >= {{ incremental_since('event_date') }}"
                    .into(),
            ),
        );
    }
    let valid = !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return fail(
            format!("incremental_since('{column}'): not a column name"),
            Some("pass the name of a DATE, TIMESTAMP or DATETIME column of the model".into()),
        );
    }
    let data_type = data_type
        .unwrap_or_else(|| "date".into())
        .to_ascii_lowercase();
    let newest = format!("max({column})");
    let bound = match (data_type.as_str(), scope.lookback) {
        ("date" | "timestamp" | "datetime", 0) => newest,
        ("date", days) => format!("date_sub({newest}, interval {days} day)"),
        ("timestamp", days) => format!("timestamp_sub({newest}, interval {days} day)"),
        ("datetime", days) => format!("datetime_sub({newest}, interval {days} day)"),
        (other, _) => {
            return fail(
                format!("incremental_since('{column}', '{other}'): unknown type `{other}`"),
                Some("the second argument is date (default), timestamp or datetime".into()),
            );
        }
    };
    Ok(Value::from_safe_string(format!(
        "(select {bound} from {})",
        scope.this
    )))
}
