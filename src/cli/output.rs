//! Terminal output: one line per model with a progress bar (text), or one
//! JSON event per line (`--log-format json`). Colors follow NO_COLOR and
//! whether the stream is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use cohort::Error;
use cohort::compile::CompiledNode;
use cohort::run::{NodeResult, Observer, RunSummary, Status};
use cohort::testing::{TestResult, TestStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::args::{GlobalArgs, LogFormat};

/// Where and how the CLI writes.
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    color: bool,
    progress_allowed: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            json: global.log_format == LogFormat::Json,
            quiet: global.quiet,
            color: !no_color && std::io::stdout().is_terminal(),
            progress_allowed: global.log_format == LogFormat::Text
                && !global.quiet
                && std::io::stderr().is_terminal(),
        }
    }

    /// A line of normal output (suppressed by --quiet and in JSON mode).
    pub fn info(&self, line: &str) {
        if !self.quiet && !self.json {
            stdout_line(line);
        }
    }

    /// A JSON event (JSON mode only).
    pub fn event(&self, value: serde_json::Value) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{value}");
        }
    }

    /// Always printed: the result of a command that exists to print (ls, show).
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }

    pub fn error(&self, error: &Error) {
        if self.json {
            let d = error.diagnostic();
            self.event(json!({
                "event": "error",
                "kind": match error { Error::Config(_) => "config", Error::Execution(_) => "execution", Error::Interrupted => "interrupted" },
                "message": d.map(|d| d.message.clone()).unwrap_or_else(|| error.to_string()),
                "location": d.and_then(|d| d.location.as_ref()).map(|l| l.to_string()),
                "help": d.and_then(|d| d.help.clone()),
            }));
        } else {
            stderr_line(&format!("{} {error}", self.paint("error:", "1;31")));
        }
    }

    /// A warning on stderr (text), or a `warning` event (JSON).
    pub fn warn(&self, message: &str) {
        if self.json {
            self.event(json!({"event": "warning", "message": message}));
        } else {
            stderr_line(&format!("{} {message}", self.paint("warning:", "1;33")));
        }
    }

    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// The observer that reports a run.
    pub fn run_observer(&self, total: usize) -> RunReporter<'_> {
        let bar = if self.progress_allowed && total > 0 {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            None
        };
        RunReporter {
            printer: self,
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    /// The closing lines of a run.
    pub fn summary(&self, summary: &RunSummary) {
        let ok = summary.count(Status::Success);
        let errors = summary.count(Status::Error);
        let skipped = summary.count(Status::Skipped);
        if self.json {
            self.event(json!({
                "event": "run_finished",
                "success": ok, "error": errors, "skipped": skipped,
                "elapsed_s": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "interrupted": summary.interrupted,
                "tests": test_counts(&summary.tests),
            }));
            return;
        }
        self.test_details(&summary.tests);
        let failures: Vec<&NodeResult> = summary
            .results
            .iter()
            .filter(|r| r.status == Status::Error)
            .collect();
        if !failures.is_empty() {
            stderr_line("");
            for f in &failures {
                stderr_line(&format!(
                    "{} {}",
                    self.paint("error:", "1;31"),
                    f.message.as_deref().unwrap_or("failed")
                ));
            }
        }
        let verdict = if summary.interrupted {
            self.paint("Interrupted", "33")
        } else if errors > 0 {
            self.paint("Failed", "31")
        } else {
            self.paint("Done", "32")
        };
        // The summary is printed even with --quiet: it is what cron mails.
        stdout_line(&format!(
            "{verdict} in {:.2}s: {ok} ok, {errors} error, {skipped} skipped",
            summary.elapsed.as_secs_f64()
        ));
        if !summary.tests.is_empty() {
            stdout_line(&format!("Tests: {}", test_count_text(&summary.tests)));
        }
    }

    /// The closing lines of `cohort test`.
    pub fn test_summary(&self, summary: &RunSummary) {
        if self.json {
            self.event(json!({
                "event": "run_finished",
                "elapsed_s": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "interrupted": summary.interrupted,
                "tests": test_counts(&summary.tests),
            }));
            return;
        }
        self.test_details(&summary.tests);
        let failed = summary.tests.iter().any(|t| t.status.is_failure());
        let verdict = if failed {
            self.paint("Failed", "31")
        } else {
            self.paint("Done", "32")
        };
        stdout_line(&format!(
            "{verdict} in {:.2}s: {}",
            summary.elapsed.as_secs_f64(),
            test_count_text(&summary.tests)
        ));
    }

    /// Each failing (or warning) test: where it is, the failing-row count and the first rows.
    fn test_details(&self, tests: &[TestResult]) {
        let shown: Vec<&TestResult> = tests
            .iter()
            .filter(|t| {
                matches!(
                    t.status,
                    TestStatus::Fail | TestStatus::Warn | TestStatus::Error
                )
            })
            .collect();
        if shown.is_empty() {
            return;
        }
        stderr_line("");
        for t in shown {
            let label = match t.status {
                TestStatus::Warn => self.paint("warning:", "1;33"),
                _ => self.paint("error:", "1;31"),
            };
            let on = t
                .node
                .as_deref()
                .map(|n| format!(" on `{n}`"))
                .unwrap_or_default();
            stderr_line(&format!(
                "{label} test `{}`{on} ({}): {}",
                t.name,
                t.defined_at,
                t.message.as_deref().unwrap_or("failed")
            ));
            if !t.sample_columns.is_empty() {
                let shown_rows = t.sample_rows.len() as u64;
                let mut grid = rows_grid(&t.sample_columns, &t.sample_rows);
                if t.failures > shown_rows {
                    grid.push_str(&format!(
                        "  (first {shown_rows} of {} failing rows)\n",
                        thousands(t.failures)
                    ));
                }
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(grid.as_bytes());
            }
        }
    }
}

/// Test results by status, for JSON.
fn test_counts(tests: &[TestResult]) -> serde_json::Value {
    let n = |s: TestStatus| tests.iter().filter(|t| t.status == s).count();
    json!({
        "pass": n(TestStatus::Pass), "fail": n(TestStatus::Fail), "warn": n(TestStatus::Warn),
        "error": n(TestStatus::Error), "skipped": n(TestStatus::Skipped),
    })
}

/// "12 passed, 1 failed, 0 warned, 0 errored, 0 skipped".
fn test_count_text(tests: &[TestResult]) -> String {
    let n = |s: TestStatus| tests.iter().filter(|t| t.status == s).count();
    format!(
        "{} passed, {} failed, {} warned, {} errored, {} skipped",
        n(TestStatus::Pass),
        n(TestStatus::Fail),
        n(TestStatus::Warn),
        n(TestStatus::Error),
        n(TestStatus::Skipped)
    )
}

/// A small text grid of failing rows, indented under the test's line.
fn rows_grid(columns: &[String], rows: &[Vec<String>]) -> String {
    let clip = |s: &str| -> String { s.chars().take(40).collect() };
    let mut widths: Vec<usize> = columns.iter().map(|c| clip(c).chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(clip(c).chars().count());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", clip(c)))
            .collect();
        format!("  | {} |\n", parts.join(" | "))
    };
    let mut out = line(columns);
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Reports a run as it goes.
pub struct RunReporter<'a> {
    printer: &'a Printer,
    bar: Option<ProgressBar>,
    running: Mutex<Vec<String>>,
}

impl RunReporter<'_> {
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn print_line(&self, line: String) {
        if self.printer.quiet || self.printer.json {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| stdout_line(&line)),
            None => stdout_line(&line),
        }
    }

    fn set_message(&self) {
        if let (Some(bar), Ok(running)) = (&self.bar, self.running.lock()) {
            bar.set_message(running.join(", "));
        }
    }
}

impl Observer for RunReporter<'_> {
    fn test_finished(&self, result: &TestResult) {
        self.report_test(result);
    }

    fn started(&self, node: &CompiledNode, index: usize, total: usize) {
        self.printer.event(json!({
            "event": "node_started", "node": node.unique_id, "index": index, "total": total,
        }));
        if let Ok(mut running) = self.running.lock() {
            running.push(node.name.clone());
        }
        self.set_message();
    }

    fn finished(&self, result: &NodeResult, index: usize, total: usize) {
        if let Ok(mut running) = self.running.lock() {
            running.retain(|n| *n != result.name);
        }
        self.set_message();
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.printer.event(json!({
            "event": "node_finished", "node": result.unique_id, "index": index, "total": total,
            "status": result.status, "relation": result.relation, "rows": result.rows,
            "elapsed_s": (result.execution_time.as_secs_f64() * 1000.0).round() / 1000.0,
            "message": result.message,
        }));
        let p = self.printer;
        let (status, color) = match result.status {
            Status::Success => ("OK", "32"),
            Status::Error => ("ERROR", "31"),
            Status::Skipped => ("SKIP", "33"),
        };
        let width = total.to_string().len();
        let rows = match (result.status, result.rows) {
            (Status::Success, Some(rows)) => format!("{} rows", thousands(rows)),
            (Status::Success, None) => "view".to_string(),
            (Status::Skipped, _) => result.message.clone().unwrap_or_default(),
            (Status::Error, _) => "see error below".to_string(),
        };
        let left = format!("{:<5} {}", result.materialization, result.relation);
        let dots = ".".repeat(48usize.saturating_sub(left.chars().count()).max(2));
        self.print_line(format!(
            "{index:>width$} of {total} {} {left} {dots} {rows} in {:.2}s",
            p.paint(&format!("{status:<5}"), color),
            result.execution_time.as_secs_f64()
        ));
    }
}

impl RunReporter<'_> {
    /// One line per test, under the node it tests.
    fn report_test(&self, result: &TestResult) {
        self.printer.event(json!({
            "event": "test_finished", "test": result.unique_id, "name": result.name,
            "node": result.node, "status": result.status, "severity": result.severity,
            "failures": result.failures, "message": result.message,
            "location": result.defined_at,
            "elapsed_s": (result.execution_time.as_secs_f64() * 1000.0).round() / 1000.0,
            "failing_rows": if result.sample_columns.is_empty() { serde_json::Value::Null } else {
                json!({"columns": result.sample_columns, "rows": result.sample_rows})
            },
        }));
        let p = self.printer;
        let (status, color) = match result.status {
            TestStatus::Pass => ("PASS", "32"),
            TestStatus::Fail => ("FAIL", "31"),
            TestStatus::Warn => ("WARN", "33"),
            TestStatus::Error => ("ERROR", "31"),
            TestStatus::Skipped => ("SKIP", "33"),
        };
        let left = format!("test  {}", result.name);
        let dots = ".".repeat(52usize.saturating_sub(left.chars().count()).max(2));
        let detail = match result.status {
            TestStatus::Pass => String::new(),
            _ => format!("{} ", result.message.as_deref().unwrap_or_default()),
        };
        self.print_line(format!(
            "       {} {left} {dots} {detail}in {:.2}s",
            p.paint(&format!("{status:<5}"), color),
            result.execution_time.as_secs_f64()
        ));
    }
}

fn stderr_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Write a line to stdout; a closed pipe (`cohort ls | head`) is not an error worth a panic.
pub fn stdout_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
