//! The atom manifest, `atom.toml`.
//!
//! Only the `[atom]` table is read here: `id` (the label) and `version`. Other tables belong to
//! later parts of the schema and are accepted unread, so older tools keep working on newer
//! manifests; a malformed `[atom]` table is an error.

use crate::{Label, LabelError, Version, VersionError};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "atom.toml";

/// The identity an `atom.toml` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `[atom] id`, normalised.
    pub label: Label,
    /// `[atom] version`.
    pub version: Version,
}

/// Why a manifest could not be read. `path` is the manifest's path as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The file is not UTF-8.
    #[error("{}: not valid UTF-8", crate::escape::escaped(path))]
    Encoding {
        /// The manifest's path.
        path: String,
    },
    /// The file is not valid TOML.
    #[error(
        "{}:{line}:{column}: invalid TOML: {}",
        crate::escape::escaped(path),
        crate::escape::escaped(message)
    )]
    Syntax {
        /// The manifest's path.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// `[atom]` or one of its required keys is missing or has the wrong type.
    #[error("{}: {}", crate::escape::escaped(path), crate::escape::escaped(what))]
    Schema {
        /// The manifest's path.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// `[atom] id` is not a valid label.
    #[error("{}: {source}", crate::escape::escaped(path))]
    Label {
        /// The manifest's path.
        path: String,
        /// The label's error.
        #[source]
        source: LabelError,
    },
    /// `[atom] version` is not a publishable version.
    #[error("{}: {source}", crate::escape::escaped(path))]
    Version {
        /// The manifest's path.
        path: String,
        /// The version's error.
        #[source]
        source: VersionError,
    },
}

/// Which table and keys hold the identity: ours (`[atom] id`) or the existing eka tool's
/// (`[package] label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `[atom]` with `id` and `version`.
    Atom,
    /// `[package]` with `label` and `version` (format `pre1`).
    EkaPackage,
}

impl Schema {
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Schema::Atom => ("atom", "id"),
            Schema::EkaPackage => ("package", "label"),
        }
    }
}

impl Manifest {
    /// Parses our manifest schema; `path` names the file in error messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Self, ManifestError> {
        Self::parse_schema(bytes, path, Schema::Atom)
    }

    /// Parses the manifest using the given schema.
    pub fn parse_schema(bytes: &[u8], path: &str, schema: Schema) -> Result<Self, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::Encoding {
            path: path.to_owned(),
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ManifestError::Syntax {
                path: path.to_owned(),
                line,
                column,
                // The parser's message may span lines ("invalid table header\nexpected ..."):
                // one line, so a message never looks like two diagnostics.
                message: e
                    .message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(": "),
            }
        })?;
        let schema_err = |what: String| ManifestError::Schema {
            path: path.to_owned(),
            what,
        };
        let (table_name, label_key) = schema.keys();
        let atom = match table.get(table_name) {
            Some(toml::Value::Table(t)) => t,
            Some(other) => {
                return Err(schema_err(format!(
                    "`{table_name}` must be a table, found {}",
                    other.type_str()
                )))
            }
            None => return Err(schema_err(format!("missing `[{table_name}]` table"))),
        };
        let string = |key: &str| match atom.get(key) {
            Some(toml::Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(schema_err(format!(
                "`{table_name}.{key}` must be a string, found {}",
                other.type_str()
            ))),
            None => Err(schema_err(format!("missing `{table_name}.{key}`"))),
        };
        let label = Label::new(string(label_key)?).map_err(|source| ManifestError::Label {
            path: path.to_owned(),
            source,
        })?;
        let version =
            Version::new(string("version")?).map_err(|source| ManifestError::Version {
                path: path.to_owned(),
                source,
            })?;
        Ok(Manifest { label, version })
    }
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(s.as_bytes(), "pkgs/foo/atom.toml")
    }

    #[test]
    fn reads_atom_table_and_ignores_others() {
        let m = parse("[atom]\nid = \"foo\"\nversion = \"0.1.0\"\ntype = \"nix:package\"\n\n[deps.x]\nurl = \"u\"\n").unwrap();
        assert_eq!(m.label.as_str(), "foo");
        assert_eq!(m.version.to_string(), "0.1.0");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse("[atom]\nid = \"foo\"\nversion = 0.1.0\n").unwrap_err();
        match &err {
            ManifestError::Syntax { line, column, .. } => assert_eq!((*line, *column), (3, 14)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("pkgs/foo/atom.toml:3:14: invalid TOML: "),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let err = parse("[atom\nid = 1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pkgs/foo/atom.toml:1:6: invalid TOML: invalid table header: expected `.`, `]`"
        );
    }

    #[test]
    fn schema_errors() {
        let cases = [
            ("[other]\n", "pkgs/foo/atom.toml: missing `[atom]` table"),
            ("atom = 1\n", "pkgs/foo/atom.toml: `atom` must be a table, found integer"),
            ("[atom]\nversion = \"1.0.0\"\n", "pkgs/foo/atom.toml: missing `atom.id`"),
            ("[atom]\nid = 3\nversion = \"1.0.0\"\n", "pkgs/foo/atom.toml: `atom.id` must be a string, found integer"),
            ("[atom]\nid = \"foo\"\n", "pkgs/foo/atom.toml: missing `atom.version`"),
            (
                "[atom]\nid = \"9lives\"\nversion = \"1.0.0\"\n",
                "pkgs/foo/atom.toml: invalid atom label `9lives`: must start with a letter, not '9'",
            ),
            (
                "[atom]\nid = \"foo\"\nversion = \"1.0.0+b\"\n",
                "pkgs/foo/atom.toml: invalid atom version `1.0.0+b`: build metadata (`+b`) is not allowed in a published version",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input).unwrap_err().to_string(), expected, "{input}");
        }
    }

    #[test]
    fn eka_schema() {
        let m = Manifest::parse_schema(
            b"[package]\nlabel = \"nix-lock\"\nversion = \"0.1.2\"\n",
            "a",
            Schema::EkaPackage,
        )
        .unwrap();
        assert_eq!(
            (m.label.as_str(), m.version.to_string().as_str()),
            ("nix-lock", "0.1.2")
        );
    }
}
