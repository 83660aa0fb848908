//! The identity of an atom: `[atom] id` and `version`, read leniently.
//!
//! Only the `[atom]` table is read here (or eka's `[package]`): `id` (the label) and `version`.
//! Other tables are accepted unread, as the store format requires of readers of published atoms
//! (`docs/format.md`, section 1), so older tools keep working on newer manifests; a malformed
//! `[atom]` table is an error. [`Manifest::parse`](super::Manifest::parse) reads everything.

use super::{line_column, ManifestError};
use crate::{Label, Version};

/// The identity an `atom.toml` declares: its label and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `[atom] id`, normalised.
    pub label: Label,
    /// `[atom] version`.
    pub version: Version,
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

impl Identity {
    /// Reads the identity of our manifest schema; `path` names the file in error messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Self, ManifestError> {
        Self::parse_schema(bytes, path, Schema::Atom)
    }

    /// Reads the identity using the given schema.
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
                message: super::one_line(e.message()),
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
        // A bad value is said where it is: `<path>:<line>:<column>: `atom.id`: ...`.
        let invalid = |key: &str, problem: super::Problem| {
            let (line, column) = value_position(text, table_name, key);
            ManifestError::Invalid {
                path: path.to_owned(),
                line,
                column,
                problem: Box::new(problem),
            }
        };
        let label = Label::new(string(label_key)?).map_err(|error| {
            let key = format!("{table_name}.{label_key}");
            invalid(label_key, super::Problem::Label { key, error })
        })?;
        let version = Version::new(string("version")?).map_err(|error| {
            let key = format!("{table_name}.version");
            invalid("version", super::Problem::Version { key, error })
        })?;
        Ok(Identity { label, version })
    }
}

/// The line and column (1-based) of the value of `<table>.<key>` in `text`, read again with
/// spans (only on the way to an error).
fn value_position(text: &str, table: &str, key: &str) -> (usize, usize) {
    toml_edit::ImDocument::parse(text)
        .ok()
        .and_then(|doc| doc.get(table)?.get(key)?.span())
        .map_or((1, 1), |span| line_column(text, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Identity, ManifestError> {
        Identity::parse(s.as_bytes(), "pkgs/foo/atom.toml")
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
    fn schema_errors() {
        let cases = [
            ("[other]\n", "pkgs/foo/atom.toml: missing `[atom]` table"),
            ("atom = 1\n", "pkgs/foo/atom.toml: `atom` must be a table, found integer"),
            ("[atom]\nversion = \"1.0.0\"\n", "pkgs/foo/atom.toml: missing `atom.id`"),
            ("[atom]\nid = 3\nversion = \"1.0.0\"\n", "pkgs/foo/atom.toml: `atom.id` must be a string, found integer"),
            ("[atom]\nid = \"foo\"\n", "pkgs/foo/atom.toml: missing `atom.version`"),
            (
                "[atom]\nid = \"9lives\"\nversion = \"1.0.0\"\n",
                "pkgs/foo/atom.toml:2:6: `atom.id`: invalid atom label `9lives`: must start with a letter, not '9'",
            ),
            (
                "[atom]\nid = \"foo\"\nversion = \"1.0.0+b\"\n",
                "pkgs/foo/atom.toml:3:11: `atom.version`: invalid atom version `1.0.0+b`: build metadata (`+b`) is not allowed in a published version",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input).unwrap_err().to_string(), expected, "{input}");
        }
    }

    #[test]
    fn eka_schema() {
        let m = Identity::parse_schema(
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

#[cfg(test)]
mod one_line_tests {
    use super::*;

    #[test]
    fn syntax_errors_are_one_line() {
        let err = Identity::parse(b"[atom\nid = 1\n", "pkgs/foo/atom.toml").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(
            text.starts_with("pkgs/foo/atom.toml:1:6: invalid TOML: "),
            "{text}"
        );
    }
}
