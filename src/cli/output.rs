//! Terminal output: one line per model with a progress bar (text), or one
//! JSON event per line (`--log-format json`). Colors follow NO_COLOR and
//! whether the stream is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use cohort::Error;
use cohort::compile::CompiledNode;
use cohort::run::{NodeResult, Observer, RunSummary, Status};
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
            }));
            return;
        }
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
    }
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

fn stderr_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Write a line to stdout; a closed pipe (`cohort ls | head`) is not an error worth a panic.
fn stdout_line(line: &str) {
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
