//! Scripts that start with `#!/usr/bin/env eka-run`.
//!
//! Linux passes at most one argument from a `#!` line, so, as with nix-shell, the options and the
//! interpreter go on further lines of the script's leading comment block:
//!
//! ```text
//! #!/usr/bin/env eka-run
//! #! eka-run --store ../store
//! #! eka-run /nix/store/0c0ffee...-python3/bin/python3 -u
//! print("hello")
//! ```
//!
//! The words of all `#! eka-run` lines are concatenated and parsed like eka-run's own command
//! line; the program they name is the interpreter, run as
//! `<interpreter> [interpreter args...] <script> [script args...]`. Words are split as a shell
//! would (single quotes, double quotes, backslashes), with no expansion. Relative paths on those
//! lines, the interpreter's included (`#! eka-run ./bin/python3`), are relative to the script
//! (after symlinks), never to the caller's working directory; a bare name is looked up on `PATH`.
//!
//! A script may name an atom instead of an interpreter, as `nix shell` shebangs name packages:
//! `#! eka-run run <atom> [attr] [options]` builds the atom as `eka-run run` does and runs the
//! script with its main program (`<main program> <script> [script args...]`); the atom is a
//! directory (relative to the script) or a URI.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;

/// At most this many bytes of a script are read looking for `#! eka-run` lines.
const MAX_HEADER: u64 = 64 * 1024;

/// A failure to read a script's `#! eka-run` lines.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the script failed.
    #[error("cannot read the script `{path}`")]
    Read {
        /// The script.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A `#! eka-run` line has an unterminated quote or a trailing backslash.
    #[error("`{path}` line {line}: {problem} in `{text}`")]
    Syntax {
        /// The script.
        path: std::path::PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Whether `first_line` is a `#!` line that runs eka-run (directly or through `env`).
pub fn is_eka_run_shebang(first_line: &str) -> bool {
    let Some(rest) = first_line.strip_prefix("#!") else {
        return false;
    };
    let mut words = rest.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
    match base(program).as_str() {
        "eka-run" => true,
        // `env [-S] [NAME=value...] eka-run ...`
        "env" => words
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .is_some_and(|w| base(w) == "eka-run"),
        _ => false,
    }
}

/// The words of a script's `#! eka-run` lines, or `None` when the file does not start with an
/// eka-run `#!` line (or cannot be opened, in which case it is run as an ordinary program).
pub fn directives(path: &Path) -> Result<Option<Vec<String>>, Error> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut lines = BufReader::new(file.take(MAX_HEADER)).lines();
    match lines.next() {
        Some(Ok(first)) if is_eka_run_shebang(&first) => {}
        _ => return Ok(None),
    }
    let mut words = Vec::new();
    for (index, line) in lines.enumerate() {
        let line = match line {
            Ok(line) => line,
            // Non-UTF-8 content ends the header.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => break,
            Err(e) => return Err(read_error(e)),
        };
        if !line.starts_with('#') {
            break;
        }
        let Some(rest) = line.strip_prefix("#!") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(args) = rest.strip_prefix("eka-run") else {
            continue;
        };
        if !(args.is_empty() || args.starts_with(char::is_whitespace)) {
            continue;
        }
        words.extend(split_words(args).map_err(|problem| Error::Syntax {
            path: path.to_owned(),
            line: index + 2,
            text: line.clone(),
            problem,
        })?);
    }
    Ok(Some(words))
}

/// Split `line` into words as a POSIX shell would, without any expansion.
pub fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated single quote"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated double quote"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("trailing backslash"),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_eka_run_shebangs() {
        assert!(is_eka_run_shebang("#!/usr/bin/env eka-run"));
        assert!(is_eka_run_shebang("#! /usr/bin/env -S eka-run --store x"));
        assert!(is_eka_run_shebang("#!/opt/bin/eka-run"));
        assert!(!is_eka_run_shebang("#!/bin/sh"));
        assert!(!is_eka_run_shebang("#!/usr/bin/env python3"));
        assert!(!is_eka_run_shebang("# eka-run"));
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#" a 'b c' "d \"e\" \$f" g\ h '' i"j"k "#).unwrap(),
            ["a", "b c", r#"d "e" $f"#, "g h", "", "ijk"]
        );
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("x\\").is_err());
    }

    #[test]
    fn collects_directive_lines_from_the_leading_comment_block() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(
            &script,
            "#!/usr/bin/env eka-run\n# a comment\n#! eka-run --store 'my store'\n#!eka-run sh -e\n#! eka-runner no\necho\n#! eka-run late\n",
        )
        .unwrap();
        assert_eq!(
            directives(&script).unwrap().unwrap(),
            ["--store", "my store", "sh", "-e"]
        );
        std::fs::write(&script, "#!/bin/sh\n#! eka-run x\n").unwrap();
        assert_eq!(directives(&script).unwrap(), None);
        assert_eq!(directives(&dir.path().join("missing")).unwrap(), None);
    }
}
