//! The ref namespace: every ref the format defines, what it means, and which names are
//! reserved (see `docs/format.md`, "Refs").
//!
//! | ref | meaning |
//! |---|---|
//! | `refs/atoms/<label>/<version>` | a published atom (format 1) |
//! | `refs/atoms/_root` | the repository's identity: its root commit |
//! | `refs/atoms/_<anything>` | reserved for the format (signatures, and what comes): no label can start with `_`, so these never collide with atoms, and readers skip the ones they do not know |
//! | `refs/subs/<tree id>` | a subatomic: a published source tree |
//! | `refs/eka/atoms/<label>/<version>` | an atom of the eka tool (format `pre1`) |
//! | `refs/eka/meta/<label>/<version>/{manifest,origin}` | eka's metadata of that atom |
//! | `refs/ekala/init` | eka's identity ref |

use std::fmt;

use crate::format::Format;
use crate::{Label, Oid, Version};

// Where each format keeps its atoms and its root is the format module's; the names stay here too,
// with the rest of the namespace.
pub use crate::format::{
    ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX, EKA_ROOT_REF, RECORDED_ROOT_KEY, ROOT_REF,
};

/// Where the eka tool keeps each atom's metadata refs.
pub const EKA_META_PREFIX: &str = "refs/eka/meta/";
/// Where subatomics live.
pub const SUBS_REF_PREFIX: &str = "refs/subs/";
/// Names under [`ATOM_REF_PREFIX`] starting with this character are reserved for the format.
pub const RESERVED_MARK: char = '_';

/// The longest ref name this crate writes or accepts, in bytes. Every valid name then fits a
/// file name limit of 255 bytes per component and the 65,516-byte pkt-line of git's protocols
/// with room to spare.
pub const MAX_REF_NAME: usize = 1024;

/// A full ref name that git accepts (`git check-ref-format` rules) under `refs/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefName(String);

/// Why a string is not a valid ref name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ref name `{name}`: {reason}")]
pub struct RefNameError {
    /// The name, escaped.
    pub name: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl RefName {
    /// Validates a full ref name.
    pub fn new(name: &str) -> Result<Self, RefNameError> {
        let err = |reason| RefNameError {
            name: name.escape_debug().to_string(),
            reason,
        };
        if !name.starts_with("refs/") {
            return Err(err("must start with `refs/`"));
        }
        if name.len() > MAX_REF_NAME {
            return Err(err("longer than 1024 bytes"));
        }
        if name.ends_with('/') || name.ends_with('.') {
            return Err(err("must not end with `/` or `.`"));
        }
        if name.contains("..") || name.contains("@{") || name.contains("//") {
            return Err(err("must not contain `..`, `@{` or `//`"));
        }
        // Unicode control characters too (C1, U+0080-U+009F), which git would accept: a ref
        // name becomes a process argument and is printed (found by fuzz/ref_name).
        if name
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
        {
            return Err(err(
                "must not contain control characters, spaces or any of `~^:?*[\\`",
            ));
        }
        if name
            .as_bytes()
            .split(|&b| b == b'/')
            .any(|c| c.starts_with(b".") || c.ends_with(b".lock") || c.len() > 255)
        {
            return Err(err(
                "no component may start with `.`, end with `.lock` or exceed 255 bytes",
            ));
        }
        Ok(RefName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identity ref of format 1.
    pub fn root() -> Self {
        RefName(ROOT_REF.to_owned())
    }

    /// A name this crate composes from parts it has validated (a label, a version, an object
    /// id, a format prefix), checked in debug builds.
    pub(crate) fn composed(name: String) -> Self {
        debug_assert!(
            RefName::new(&name).is_ok(),
            "composed an invalid ref name {name:?}"
        );
        RefName(name)
    }

    /// Whether the name starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }

    /// The rest of the name after `prefix`, if it starts with it.
    pub fn strip_prefix(&self, prefix: &str) -> Option<&str> {
        self.0.strip_prefix(prefix)
    }

    /// The identity ref of the eka tool (format `pre1`).
    pub fn eka_root() -> Self {
        RefName(EKA_ROOT_REF.to_owned())
    }
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RefName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Ordered, hashed and compared as its string: a map keyed by names answers for a `&str`.
impl std::borrow::Borrow<str> for RefName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for RefName {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq<str> for RefName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RefName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// One thing a fetch asks a remote for: typed until it becomes a line of `git fetch --stdin`
/// (git's refspec syntax, `git help fetch`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refspec {
    /// The objects a remote ref points at, no ref written here: `<name>`.
    Objects(RefName),
    /// An object by id (protocol v2 servers give any commit reachable from their refs), no ref
    /// written here: `<oid>`.
    Object(Oid),
    /// A remote ref into the same name here, never rewriting one that exists: `<name>:<name>`.
    Same(RefName),
    /// Every remote ref under the directory `prefix` into the same names here, replacing what
    /// is there: `+<prefix>/*:<prefix>/*`.
    Mirror(RefName),
}

impl fmt::Display for Refspec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refspec::Objects(name) => write!(f, "{name}"),
            Refspec::Object(oid) => write!(f, "{oid}"),
            Refspec::Same(name) => write!(f, "{name}:{name}"),
            Refspec::Mirror(prefix) => write!(f, "+{prefix}/*:{prefix}/*"),
        }
    }
}

/// Which of eka's metadata refs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EkaMeta {
    /// `.../manifest`: the manifest blob.
    Manifest,
    /// `.../origin`: the source commit.
    Origin,
}

/// What a ref name means to the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// A published atom.
    Atom(AtomRef),
    /// The identity ref of a format.
    Identity(Format),
    /// A reserved name under `refs/atoms/` this version does not define: skipped by readers.
    Reserved(String),
    /// A subatomic, named by its tree id.
    Subatomic(Oid),
    /// One of eka's metadata refs.
    EkaMeta {
        /// The atom's label.
        label: Label,
        /// The atom's version.
        version: Version,
        /// Which one.
        kind: EkaMeta,
    },
    /// Anything else (branches, tags, other tools' refs).
    Other,
}

impl Known {
    /// Classifies a full ref name. Names under an atom prefix that are neither atoms nor
    /// reserved are malformed.
    pub fn classify(name: &str) -> Result<Known, AtomRefError> {
        if name == ROOT_REF {
            return Ok(Known::Identity(Format::Atom1));
        }
        if name == EKA_ROOT_REF {
            return Ok(Known::Identity(Format::EkaPre1));
        }
        if is_reserved(name) {
            return Ok(Known::Reserved(name.to_owned()));
        }
        if let Some(tree) = name.strip_prefix(SUBS_REF_PREFIX) {
            return tree
                .parse()
                .map(Known::Subatomic)
                .map_err(|_| AtomRefError {
                    name: name.escape_debug().to_string(),
                    reason: "expected `refs/subs/<tree id>`".into(),
                });
        }
        if let Some(rest) = name.strip_prefix(EKA_META_PREFIX) {
            let err = |reason: &str| AtomRefError {
                name: name.escape_debug().to_string(),
                reason: reason.into(),
            };
            let mut parts = rest.splitn(3, '/');
            let (Some(label), Some(version), Some(kind)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(err(
                    "expected `refs/eka/meta/<label>/<version>/<manifest|origin>`",
                ));
            };
            let kind = match kind {
                "manifest" => EkaMeta::Manifest,
                "origin" => EkaMeta::Origin,
                _ => return Ok(Known::Other),
            };
            return Ok(Known::EkaMeta {
                label: Label::new(label).map_err(|e| err(&e.to_string()))?,
                version: Version::new(version).map_err(|e| err(&e.to_string()))?,
                kind,
            });
        }
        Ok(AtomRef::parse(name)?.map_or(Known::Other, Known::Atom))
    }
}

/// The `<label>/<version>` a metadata ref of the eka tool's first generation
/// (`refs/atoms/<label>/_specs/<version>` or `.../_srcs/<version>`) belongs to, as written in the
/// atom's own ref name; `None` for any other name. Readers skip these refs and list the atom they
/// belong to as [`crate::format::Unsupported::Eka1`]; the server hook still refuses new ones.
pub fn eka1_meta_of(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ATOM_REF_PREFIX)?;
    let mut parts = rest.split('/');
    let (Some(label), Some(kind), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (crate::format::EKA1_META.contains(&kind)
        && Label::new(label).is_ok_and(|l| l.as_str() == label)
        && Version::new(version).is_ok())
    .then(|| format!("{label}/{version}"))
}

/// Whether `name` is a reserved name under `refs/atoms/` other than the identity ref.
pub fn is_reserved(name: &str) -> bool {
    name != ROOT_REF
        && name
            .strip_prefix(ATOM_REF_PREFIX)
            .is_some_and(|rest| rest.starts_with(RESERVED_MARK))
}

/// A parsed atom ref name: `refs/atoms/<label>/<version>` or `refs/eka/atoms/<label>/<version>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AtomRef {
    /// Which layout the ref belongs to.
    pub format: Format,
    /// The label component.
    pub label: Label,
    /// The version component.
    pub version: Version,
}

/// Why a ref under an atom prefix is not a valid atom ref.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed atom ref `{name}`: {reason}")]
pub struct AtomRefError {
    /// The ref name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl AtomRef {
    /// A format-1 ref.
    pub fn new(label: Label, version: Version) -> Self {
        AtomRef {
            format: Format::Atom1,
            label,
            version,
        }
    }

    /// Parses a full ref name; `Ok(None)` when the ref is not under an atom prefix at all, or is
    /// the identity ref or a reserved name.
    pub fn parse(name: &str) -> Result<Option<Self>, AtomRefError> {
        let (format, rest) = if let Some(rest) = name.strip_prefix(ATOM_REF_PREFIX) {
            (Format::Atom1, rest)
        } else if let Some(rest) = name.strip_prefix(EKA_ATOM_REF_PREFIX) {
            (Format::EkaPre1, rest)
        } else {
            return Ok(None);
        };
        if name == ROOT_REF || is_reserved(name) {
            return Ok(None);
        }
        let err = |reason: String| AtomRefError {
            name: name.escape_debug().to_string(),
            reason,
        };
        let (label, version) = rest
            .split_once('/')
            .ok_or_else(|| err("expected `<label>/<version>`".into()))?;
        let label = Label::new(label).map_err(|e| err(e.to_string()))?;
        if label.as_str() != rest.split('/').next().unwrap_or_default() {
            return Err(err("label is not NFKC-normalised".into()));
        }
        let version = Version::new(version).map_err(|e| err(e.to_string()))?;
        Ok(Some(AtomRef {
            format,
            label,
            version,
        }))
    }

    /// The names of eka's metadata refs of this atom,
    /// `refs/eka/meta/<label>/<version>/{origin,manifest}` (meaningful for a `pre1` atom).
    pub fn eka_meta_ref(&self, kind: EkaMeta) -> RefName {
        let kind = match kind {
            EkaMeta::Origin => "origin",
            EkaMeta::Manifest => "manifest",
        };
        // A valid label and version make a valid name.
        RefName(format!(
            "{EKA_META_PREFIX}{}/{}/{kind}",
            self.label, self.version
        ))
    }

    /// The full ref name.
    pub fn name(&self) -> RefName {
        // A valid label and version make a valid name.
        RefName(format!(
            "{}{}/{}",
            self.format.ref_prefix(),
            self.label,
            self.version
        ))
    }
}

impl fmt::Display for AtomRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.label, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_refs() {
        let r = AtomRef::parse("refs/atoms/foo/0.1.10").unwrap().unwrap();
        assert_eq!(
            (r.format, r.label.as_str(), r.version.to_string().as_str()),
            (Format::Atom1, "foo", "0.1.10")
        );
        assert_eq!(r.name(), "refs/atoms/foo/0.1.10");
        let e = AtomRef::parse("refs/eka/atoms/bar/1.0.0").unwrap().unwrap();
        assert_eq!(e.format, Format::EkaPre1);
        assert_eq!(
            e.eka_meta_ref(EkaMeta::Origin),
            "refs/eka/meta/bar/1.0.0/origin"
        );
        assert!(matches!(
            Known::classify(e.eka_meta_ref(EkaMeta::Manifest).as_str()).unwrap(),
            Known::EkaMeta {
                kind: EkaMeta::Manifest,
                ..
            }
        ));
        assert_eq!(AtomRef::parse("refs/heads/main").unwrap(), None);
        assert_eq!(AtomRef::parse(ROOT_REF).unwrap(), None);
        for bad in [
            "refs/atoms/9x/1.0.0",
            "refs/atoms/foo",
            "refs/atoms/foo/1.0",
            "refs/atoms/foo/1.0.0/x",
        ] {
            assert!(AtomRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classified() {
        let known = |n: &str| Known::classify(n).unwrap();
        assert_eq!(known(ROOT_REF), Known::Identity(Format::Atom1));
        assert_eq!(known(EKA_ROOT_REF), Known::Identity(Format::EkaPre1));
        assert_eq!(
            known("refs/atoms/_sig/foo/1.0.0/abc"),
            Known::Reserved("refs/atoms/_sig/foo/1.0.0/abc".into())
        );
        assert_eq!(AtomRef::parse("refs/atoms/_future").unwrap(), None);
        assert_eq!(
            known(&format!("refs/subs/{}", "a".repeat(40))),
            Known::Subatomic("a".repeat(40).parse().unwrap())
        );
        assert!(Known::classify("refs/subs/xyz").is_err());
        assert!(matches!(
            known("refs/eka/meta/foo/1.0.0/origin"),
            Known::EkaMeta {
                kind: EkaMeta::Origin,
                ..
            }
        ));
        assert!(matches!(known("refs/atoms/foo/1.0.0"), Known::Atom(_)));
        assert_eq!(known("refs/heads/main"), Known::Other);
        assert!(Known::classify("refs/atoms/foo").is_err());
    }

    #[test]
    fn ref_names_follow_git() {
        for good in [
            "refs/atoms/foo/1.0.0",
            "refs/atoms/ひらがな/1.0.0-rc.1+b.2",
            "refs/heads/a-b",
        ] {
            assert!(RefName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "HEAD",
            "refs/heads/",
            "refs/a..b",
            "refs/a b",
            "refs/a~1",
            "refs/a^",
            "refs/a:b",
            "refs/a?",
            "refs/a*",
            "refs/a[",
            "refs/a\\b",
            "refs/.hidden",
            "refs/a.lock",
            // The fuzzer's find: a C1 control character.
            "refs/atomefs/atorefs/\u{8a}5",
            "refs/a.",
            "refs/a@{1}",
            "refs//a",
            "refs/a\u{7}",
        ] {
            assert!(RefName::new(bad).is_err(), "{bad:?}");
        }
        assert!(RefName::new(&format!("refs/{}", "a".repeat(1100))).is_err());
    }
}
