//! Test results → JUnit XML (one `<testsuite>` named after the project, one
//! `<testcase>` per test), the report CI systems read. Written by hand:
//! text is escaped for XML, and characters XML cannot hold are dropped.

use std::fmt::Write;

use super::{TestResult, TestStatus};

/// The JUnit XML document for `results`.
pub fn report(suite: &str, results: &[TestResult]) -> String {
    let count = |s: TestStatus| results.iter().filter(|r| r.status == s).count();
    let time: f64 = results.iter().map(|r| r.execution_time.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
        escape(suite),
        results.len(),
        count(TestStatus::Fail),
        count(TestStatus::Error),
        count(TestStatus::Skipped),
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
        escape(suite),
        results.len(),
        count(TestStatus::Fail),
        count(TestStatus::Error),
        count(TestStatus::Skipped),
    );
    for r in results {
        let classname = r.node.as_deref().unwrap_or(suite);
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&r.name),
            escape(classname),
            escape(&r.defined_at),
            r.execution_time.as_secs_f64()
        );
        let message = r.message.as_deref().unwrap_or_default();
        let details = details(r);
        match r.status {
            TestStatus::Pass => out.push_str("/>\n"),
            TestStatus::Fail => {
                let _ = write!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                    escape(message),
                    escape(&format!("{:?}", r.severity).to_lowercase()),
                    escape(&details)
                );
            }
            TestStatus::Error => {
                let _ = write!(
                    out,
                    ">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
                    escape(message),
                    escape(&details)
                );
            }
            TestStatus::Skipped => {
                let _ = write!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(message)
                );
            }
            TestStatus::Warn => {
                let _ = write!(
                    out,
                    ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                    escape(&format!("warning: {message}\n{details}"))
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The failing rows and the query, as text.
fn details(r: &TestResult) -> String {
    let mut out = String::new();
    if !r.sample_columns.is_empty() {
        let _ = writeln!(out, "{}", r.sample_columns.join(" | "));
        for row in &r.sample_rows {
            let _ = writeln!(out, "{}", row.join(" | "));
        }
        out.push('\n');
    }
    out.push_str(&r.sql);
    out
}

/// Escape text for XML attributes and content; drop characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }
}
