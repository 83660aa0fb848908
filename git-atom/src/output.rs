//! Writing to people and scripts: stdout is data, stderr is diagnostics.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the command was asked for JSON: errors then go to stdout as a JSON object too.
static JSON: AtomicBool = AtomicBool::new(false);

/// Makes errors JSON documents on stdout (besides the line on stderr).
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether an error is a closed stdout (`git atom ls | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error and its causes on one line per problem; with `--json`, also a JSON object on
/// stdout: `{"error": {"message": ..., "problems": [...]}}` (see docs/json.md).
pub fn error(e: &anyhow::Error) {
    let text = format!("{e:#}");
    let mut stderr = io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(stderr, "error: {line}");
    }
    if JSON.load(Ordering::Relaxed) {
        let doc = serde_json::json!({
            "error": {
                "message": text.lines().next().unwrap_or_default(),
                "problems": text.lines().collect::<Vec<_>>(),
            }
        });
        let _ = json(&doc);
    }
}

/// Writes `value` as one pretty-printed JSON document ending with a newline, in one write.
pub fn json(value: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)? + "\n";
    stdout(&text)
}

/// How chatty a transfer (fetch, push) may be: git's progress when stderr is a terminal and
/// `-q` was not given, as git itself decides.
pub fn transfer_verbosity(quiet: bool) -> atom_lib::store::git::Verbosity {
    atom_lib::store::git::Verbosity {
        level: u32::from(!quiet),
        progress: Some(progress_enabled(quiet)),
    }
}

/// Prints a warning.
pub fn warning(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}

/// Prints a note for people (suppressed by `-q`).
pub fn note(quiet: bool, message: &str) {
    if !quiet {
        let _ = writeln!(io::stderr().lock(), "{message}");
    }
}

/// Whether progress should be shown: stderr is a terminal, like git's own progress.
pub fn progress_enabled(quiet: bool) -> bool {
    !quiet && io::stderr().is_terminal()
}

/// How many columns a string takes on a terminal (`ひらがな` takes 8).
pub fn width(s: &str) -> usize {
    // Printable ASCII (most cells: labels, ids, versions) is a column per byte.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return s.len();
    }
    unicode_width::UnicodeWidthStr::width(s)
}

/// The width tables must fit: `COLUMNS` if set (as git reads it), else the terminal's when
/// stdout is one; `None` (no wrapping) for pipes and files.
pub fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0))
}

/// Renders rows as left-aligned columns separated by two spaces, fitted to the terminal.
pub fn table<R: AsRef<[C]>, C: AsRef<str>>(rows: &[R]) -> String {
    table_fit(rows, terminal_width())
}

/// Renders rows as left-aligned columns separated by two spaces; columns align by display width
/// (wide characters take two columns). The last column is not padded; when `max` is given and
/// a row would be wider, its last column wraps between words onto continuation lines indented
/// to the column's start.
pub fn table_fit<R: AsRef<[C]>, C: AsRef<str>>(rows: &[R], max: Option<usize>) -> String {
    let mut widths: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let row = row.as_ref();
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (c, cell) in row.iter().enumerate() {
            let cell = cell.as_ref();
            widths[c] = widths[c].max(width(cell));
            bytes += cell.len();
        }
    }
    let capacity = bytes + rows.len() * (widths.len() * 2 + 1);
    let mut table = TableWriter::new(widths, max, capacity);
    for row in rows {
        table.row(row.as_ref());
    }
    table.finish()
}

/// A table written a row at a time into one string, as [`table_fit`] writes it, for a caller
/// that knows the column widths (a listing of 50,000 atoms measures its columns, then writes
/// each row from its own data without making the rows first).
#[derive(Debug)]
pub struct TableWriter {
    widths: Vec<usize>,
    max: Option<usize>,
    out: String,
}

impl TableWriter {
    /// A table whose columns are `widths` wide (display width; the last column's is not
    /// used), fitted to `max` columns if given, with room for `capacity` bytes.
    pub fn new(widths: Vec<usize>, max: Option<usize>, capacity: usize) -> Self {
        TableWriter {
            widths,
            max,
            out: String::with_capacity(capacity),
        }
    }

    /// Writes one row: no more cells than the table has columns, each no wider than its
    /// column but the last.
    pub fn row<C: AsRef<str>>(&mut self, row: &[C]) {
        let out = &mut self.out;
        let start = out.len();
        // The width of the line so far: each cell but the last is padded to its column.
        let mut indent = 0;
        for (c, cell) in row.iter().enumerate() {
            let cell = cell.as_ref();
            if c + 1 < row.len() {
                out.push_str(cell);
                let pad = self.widths[c].saturating_sub(width(cell)) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
                indent += self.widths[c] + 2;
                continue;
            }
            match self.max.map(|m| m.saturating_sub(indent).max(20)) {
                Some(room) if width(cell) > room => {
                    for (i, line) in wrap(cell, room).iter().enumerate() {
                        if i > 0 {
                            out.push('\n');
                            out.extend(std::iter::repeat_n(' ', indent));
                        }
                        out.push_str(line);
                    }
                }
                _ => out.push_str(cell),
            }
        }
        let line = out[start..].trim_end().len();
        out.truncate(start + line);
        out.push('\n');
    }

    /// The table.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Splits `text` between words into lines of at most `room` columns (display width); a word
/// longer than that has a line of its own.
pub fn wrap(text: &str, room: usize) -> Vec<String> {
    if width(text) <= room {
        return vec![text.to_owned()];
    }
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() && width(&current) + 1 + width(word) > room {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

/// Writes `text` to stdout.
pub fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    #[test]
    fn short_rows_and_empty_last_cells_end_without_spaces() {
        let t = table_fit(&rows(&[&["A", "BB", "C"], &["aaaa", ""], &["x"]]), None);
        assert_eq!(t, "A     BB  C\naaaa\nx\n");
        let t = table_fit(&[["é", "1"], ["ab", "2"]], Some(80));
        assert_eq!(t, "é   1\nab  2\n");
    }

    #[test]
    fn wide_characters_align() {
        let t = table_fit(
            &rows(&[&["LABEL", "ID"], &["ひらがな", "a"], &["foo", "b"]]),
            None,
        );
        assert_eq!(t, "LABEL     ID\nひらがな  a\nfoo       b\n");
    }

    #[test]
    fn the_last_column_wraps_to_fit() {
        let versions: Vec<String> = (0..40).map(|i| format!("0.1.{i}")).collect();
        let t = table_fit(
            &rows(&[&["LABEL", "VERSIONS"], &["foo", &versions.join(" ")]]),
            Some(60),
        );
        assert!(t.lines().all(|l| width(l) <= 60), "{t}");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.len() > 3, "{t}");
        assert!(lines[1].starts_with("foo    0.1.0 0.1.1"), "{t}");
        assert!(lines[2].starts_with("       0.1."), "{t}");
        // Every version is still there, in order.
        let shown: Vec<&str> = lines[1..]
            .iter()
            .flat_map(|l| l.split_whitespace())
            .filter(|w| *w != "foo")
            .collect();
        assert_eq!(shown, versions);
        // Without a width, one line per row.
        assert_eq!(
            table_fit(&rows(&[&["a", &versions.join(" ")]]), None)
                .lines()
                .count(),
            1
        );
    }
}
