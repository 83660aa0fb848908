//! The atom commit: its normative byte format (see `docs/format.md`), the formats this crate
//! knows, and the atom directory's path.
//!
//! An atom is an orphan commit whose tree is the atom directory's tree in the source commit:
//!
//! ```text
//! tree <tree id>
//! author atom <atom@invalid> 0 +0000
//! committer atom <atom@invalid> 0 +0000
//! atom-format 1
//! atom-source <source commit id>
//! atom-path <path of the atom directory, relative to the repository root>
//!
//! atom: <label>@<version>
//! ```
//!
//! Every byte is determined by (tree, source, path, label, version), so the same atom published
//! from the same source commit has the same id in every clone. Where it is referenced from is
//! the business of [`crate::refs`].
//!
//! The existing `eka` tool's format `pre1` (refs under `refs/eka/atoms/`) is recognised too.

use std::fmt;

pub use crate::format::Format;
use crate::{Label, Oid, Version};

/// The format version this crate writes.
pub const FORMAT_VERSION: &str = "1";
/// The fixed author and committer line of a format-1 atom (after `author `/`committer `).
pub const IDENTITY: &str = "atom <atom@invalid> 0 +0000";
/// The fixed identity of an eka `pre1` atom: empty name and email.
pub const EKA_IDENTITY: &str = " <> 0 +0000";

/// The header names of format 1, in the order they are written.
pub const HEADER_FORMAT: &str = "atom-format";
/// The header carrying the source commit id.
pub const HEADER_SOURCE: &str = "atom-source";
/// The header carrying the atom directory's path.
pub const HEADER_PATH: &str = "atom-path";

/// A validated atom path: relative to the repository root, `/`-separated, UTF-8, not empty,
/// without `.`/`..` components, empty components or control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomPath(String);

/// Why a path cannot be an atom path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid atom path `{}`: {reason}", crate::escape::escaped(path))]
pub struct AtomPathError {
    /// The path as given.
    pub path: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl AtomPath {
    /// Validates a repository-relative path.
    pub fn new(path: &str) -> Result<Self, AtomPathError> {
        let err = |reason| AtomPathError {
            path: path.escape_debug().to_string(),
            reason,
        };
        if path.is_empty() {
            return Err(err("the repository root cannot be an atom"));
        }
        if path.chars().any(char::is_control) {
            return Err(err("control characters are not allowed"));
        }
        if path.starts_with('/') || path.ends_with('/') {
            return Err(err("must be relative, without a trailing `/`"));
        }
        if path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(err("empty, `.` and `..` components are not allowed"));
        }
        Ok(AtomPath(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AtomPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fields an atom commit is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomCommit {
    /// The layout.
    pub format: Format,
    /// The atom directory's tree.
    pub tree: Oid,
    /// The commit the atom was published from.
    pub source: Oid,
    /// The atom directory; `None` for `pre1`, which does not record it.
    pub path: Option<AtomPath>,
    /// The atom's label.
    pub label: Label,
    /// The atom's version.
    pub version: Version,
}

impl AtomCommit {
    /// The exact bytes of the commit object (without git's `commit <len>\0` object header).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        match self.format {
            Format::Atom1 => {
                out.push_str(&format!("tree {}\n", self.tree));
                out.push_str(&format!("author {IDENTITY}\ncommitter {IDENTITY}\n"));
                out.push_str(&format!("{HEADER_FORMAT} {FORMAT_VERSION}\n"));
                out.push_str(&format!("{HEADER_SOURCE} {}\n", self.source));
                let path = self.path.as_ref().map_or("", AtomPath::as_str);
                out.push_str(&format!("{HEADER_PATH} {path}\n"));
                out.push_str(&format!("\natom: {}@{}\n", self.label, self.version));
            }
            Format::EkaPre1 => {
                out.push_str(&format!("tree {}\n", self.tree));
                out.push_str(&format!(
                    "author {EKA_IDENTITY}\ncommitter {EKA_IDENTITY}\n"
                ));
                out.push_str(&format!("origin {}\nformat pre1\n", self.source));
                out.push_str(&format!("\npublish({}): {}", self.label, self.version));
            }
        }
        out.into_bytes()
    }
}

/// A commit object split into headers and message, without interpretation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommit {
    /// Headers in order; continuation lines are joined with `\n`.
    pub headers: Vec<(String, String)>,
    /// Everything after the blank line.
    pub message: Vec<u8>,
}

impl RawCommit {
    /// Splits a commit object's bytes. Returns `None` if the header block is not UTF-8 or has no
    /// terminating blank line.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let end = bytes.windows(2).position(|w| w == b"\n\n")?;
        let head = std::str::from_utf8(&bytes[..end]).ok()?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split('\n') {
            if let Some(cont) = line.strip_prefix(' ') {
                let (_, value) = headers.last_mut()?;
                value.push('\n');
                value.push_str(cont);
            } else {
                let (name, value) = line.split_once(' ').unwrap_or((line, ""));
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Some(RawCommit {
            headers,
            message: bytes[end + 2..].to_vec(),
        })
    }

    /// The values of every header named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the only header named `name`, if there is exactly one.
    pub fn one<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.all(name);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// The directory an atom commit records (`atom-path`), relative to its repository's root; empty
/// when the commit is missing or records none (an eka atom). A fetched atom's path sources are
/// relative to it.
pub fn recorded_path(
    store: &crate::GitStore,
    commit: crate::Oid,
) -> Result<String, crate::StoreError> {
    Ok(store
        .read_commit_raw(commit)?
        .as_deref()
        .and_then(RawCommit::parse)
        .and_then(|raw| raw.one(HEADER_PATH).map(str::to_owned))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AtomCommit {
        AtomCommit {
            format: Format::Atom1,
            tree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".parse().unwrap(),
            source: "4abbd2644bc3585e9be95deb277ccf48f6ed26ac".parse().unwrap(),
            path: Some(AtomPath::new("pkgs/foo").unwrap()),
            label: "foo".parse().unwrap(),
            version: "1.2.3".parse().unwrap(),
        }
    }

    #[test]
    fn format1_bytes() {
        assert_eq!(
            String::from_utf8(sample().to_bytes()).unwrap(),
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
             author atom <atom@invalid> 0 +0000\n\
             committer atom <atom@invalid> 0 +0000\n\
             atom-format 1\n\
             atom-source 4abbd2644bc3585e9be95deb277ccf48f6ed26ac\n\
             atom-path pkgs/foo\n\
             \n\
             atom: foo@1.2.3\n"
        );
    }

    #[test]
    fn pre1_bytes() {
        let mut c = sample();
        c.format = Format::EkaPre1;
        c.path = None;
        assert_eq!(
            String::from_utf8(c.to_bytes()).unwrap(),
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
             author  <> 0 +0000\n\
             committer  <> 0 +0000\n\
             origin 4abbd2644bc3585e9be95deb277ccf48f6ed26ac\n\
             format pre1\n\
             \n\
             publish(foo): 1.2.3"
        );
    }

    #[test]
    fn raw_commit_round_trip() {
        let raw = RawCommit::parse(&sample().to_bytes()).unwrap();
        assert_eq!(raw.one("atom-path"), Some("pkgs/foo"));
        assert_eq!(
            raw.one("tree"),
            Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904")
        );
        assert_eq!(raw.all("parent").count(), 0);
        assert_eq!(raw.message, b"atom: foo@1.2.3\n");
        let signed =
            RawCommit::parse(b"tree t\ngpgsig -----BEGIN\n line2\n -----END\n\nmsg").unwrap();
        assert_eq!(signed.one("gpgsig"), Some("-----BEGIN\nline2\n-----END"));
    }

    #[test]
    fn atom_paths() {
        assert!(AtomPath::new("a/b").is_ok());
        assert!(AtomPath::new("ひらがな/x y").is_ok());
        for bad in ["", "/a", "a/", "a//b", "./a", "a/../b", "a\nb", "a\tb"] {
            assert!(AtomPath::new(bad).is_err(), "{bad:?}");
        }
    }
}
