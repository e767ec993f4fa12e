//! Splitting CSV lines into part files of at most `max_rows_per_file` rows,
//! each with the header, named deterministically (`part-00000.csv`, or
//! `entered-part-00000.csv` / `left-part-00000.csv` for daily deltas) so a
//! rerun of the same export and day writes the same names. A list with no
//! rows still gets one part (the header alone), replacing the previous one.

use super::hash;

/// One finished part file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The file name inside the export's folder for the day.
    pub name: String,
    /// `members` (full list), `entered` or `left`.
    pub kind: &'static str,
    pub rows: u64,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lowercase hex.
    pub sha256: String,
}

/// Collects lines into parts.
#[derive(Debug)]
pub struct PartWriter {
    kind: &'static str,
    prefix: &'static str,
    header: String,
    max_rows: u64,
    current: String,
    rows: u64,
    parts: Vec<Part>,
}

impl PartWriter {
    /// `kind`: `members`, `entered` or `left`.
    pub fn new(kind: &'static str, header: String, max_rows: u64) -> Self {
        let prefix = match kind {
            "entered" => "entered-part",
            "left" => "left-part",
            _ => "part",
        };
        PartWriter {
            kind,
            prefix,
            current: header.clone(),
            header,
            max_rows: max_rows.max(1),
            rows: 0,
            parts: Vec::new(),
        }
    }

    /// The buffer the next line is appended to; call [`PartWriter::line_added`] after.
    pub fn buffer(&mut self) -> &mut String {
        &mut self.current
    }

    /// One line was appended to [`PartWriter::buffer`].
    pub fn line_added(&mut self) {
        self.rows += 1;
        if self.rows >= self.max_rows {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let bytes = std::mem::replace(&mut self.current, self.header.clone()).into_bytes();
        self.parts.push(Part {
            name: format!("{}-{:05}.csv", self.prefix, self.parts.len()),
            kind: self.kind,
            rows: self.rows,
            sha256: hash::sha256_hex_bytes(&bytes),
            bytes,
        });
        self.rows = 0;
    }

    /// The parts, the last one cut (at least one part).
    pub fn finish(mut self) -> Vec<Part> {
        if self.rows > 0 || self.parts.is_empty() {
            self.cut();
        }
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_named_parts_each_with_the_header() {
        let mut w = PartWriter::new("entered", "Email\n".into(), 2);
        for line in ["a\n", "b\n", "c\n"] {
            w.buffer().push_str(line);
            w.line_added();
        }
        let parts = w.finish();
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["entered-part-00000.csv", "entered-part-00001.csv"]);
        assert_eq!(parts[0].bytes, b"Email\na\nb\n");
        assert_eq!(parts[1].bytes, b"Email\nc\n");
        assert_eq!((parts[0].rows, parts[1].rows), (2, 1));
        assert_eq!(parts[1].sha256, hash::sha256_hex("Email\nc\n"));

        let empty = PartWriter::new("members", "Email\n".into(), 2).finish();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].name, "part-00000.csv");
        assert_eq!(empty[0].bytes, b"Email\n");
    }
}
