//! Writing to people and scripts: stdout is data, stderr is diagnostics.

use std::io::{self, IsTerminal, Write};

/// Whether an error is a closed stdout (`git atom ls | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error and its causes on one line per problem.
pub fn error(e: &anyhow::Error) {
    let text = format!("{e:#}");
    let mut stderr = io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(stderr, "error: {line}");
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

/// Renders rows as left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Writes `text` to stdout.
pub fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}
