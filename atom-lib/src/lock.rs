//! The lock, `atom.lock`, specified normatively in `docs/lock.md`.
//!
//! A lock records the whole dependency closure of one atom, so that evaluating it needs nothing
//! but the lock: every atom (direct or not) with its commit and tree, every pin with the commit
//! it resolved to, every source with its content hash. Its bytes are canonical:
//! [`Lock::to_toml`] of the same lock is always the same file, and parsing a canonical file and
//! writing it again gives the same bytes.
//!
//! ```
//! use atom_lib::lock::Lock;
//!
//! let text = "# This file is written by atom; do not edit it by hand.\nversion = 1\n";
//! let lock = Lock::parse(text.as_bytes(), "atom.lock").unwrap();
//! assert!(lock.atoms.is_empty());
//! assert_eq!(lock.to_toml(), text);
//! ```

// Lock errors are rare and carry their ids in full (two atomic numbers and a root); boxing them
// would only add noise to every conversion.
#![allow(clippy::result_large_err)]

pub mod graph;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::manifest::{line_column, Dep, GitRef, Manifest, Name, Pin, RelPath, Src, Url};
use crate::uri::{Address, Aliases};
use crate::{AtomId, AtomRef, Format, Label, Oid, Root, Version};

/// The lock's file name, beside `atom.toml`.
pub const LOCK_FILE: &str = "atom.lock";

/// The lock schema version this library reads and writes.
pub const LOCK_VERSION: i64 = 1;

/// The first line of every lock.
pub const HEADER: &str = "# This file is written by atom; do not edit it by hand.";

/// A whole lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    /// The locking atom's own atom dependencies: `[deps.<name>]` to the entry that satisfies it.
    pub requires: BTreeMap<Name, AtomKey>,
    /// Every atom of the closure, direct or not.
    pub atoms: Vec<LockedAtom>,
    /// Every pin of the closure: the locking atom's and its dependencies'.
    pub pins: Vec<LockedPin>,
    /// Every source of the closure.
    pub srcs: Vec<LockedSrc>,
}

/// What a consumer of a published atom asks of a sibling its lock names by path (another atom
/// of the same repository): the locked version or any later compatible one (`^<version>`, as
/// a bare version requirement means), resolved in that repository (docs/lock.md, "Path
/// dependencies").
pub fn sibling_requirement(version: &Version) -> crate::uri::Requirement {
    crate::uri::Requirement::new(&format!("^{version}"))
        .expect("a version is a valid caret requirement")
}

/// Which atom an entry is: its atomic number and version (written `<id>@<version>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomKey {
    /// The atomic number.
    pub id: AtomId,
    /// The version.
    pub version: Version,
}

impl fmt::Display for AtomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.version)
    }
}

impl FromStr for AtomKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (id, version) = s.split_once('@').ok_or("expected `<atom id>@<version>`")?;
        Ok(AtomKey {
            id: id
                .parse()
                .map_err(|e: crate::id::AtomIdError| e.to_string())?,
            version: version
                .parse()
                .map_err(|e: crate::VersionError| e.to_string())?,
        })
    }
}

/// One atom of the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedAtom {
    /// Its label.
    pub label: Label,
    /// Its version.
    pub version: Version,
    /// Its atomic number; it MUST be the one `root` and `label` give.
    pub id: AtomId,
    /// Its repository's root commit.
    pub root: Oid,
    /// The atom commit (reproducible, `docs/format.md` section 4).
    pub commit: Oid,
    /// The atom's tree.
    pub tree: Oid,
    /// The format of its atom commit and ref: this suite's ([`Format::Atom1`]), or the eka
    /// tool's ([`Format::EkaPre1`], only for an atom fetched by URL).
    pub format: Format,
    /// Where it was found.
    pub origin: Origin,
    /// Its own atom dependencies: the name it uses (`from.<name>`) to the entry.
    pub requires: BTreeMap<Name, AtomKey>,
}

impl LockedAtom {
    /// Its ref (label, version and format): what admission checks the commit against.
    pub fn atom_ref(&self) -> AtomRef {
        AtomRef {
            format: self.format,
            label: self.label.clone(),
            version: self.version.clone(),
        }
    }

    /// The entry's key.
    pub fn key(&self) -> AtomKey {
        AtomKey {
            id: self.id,
            version: self.version.clone(),
        }
    }
}

/// Where a locked atom was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A repository, by URL.
    Url {
        /// The address it was fetched from.
        url: Address,
        /// Other addresses of the same repository.
        mirrors: Vec<Address>,
    },
    /// A directory of the locking atom's repository, relative to its root.
    Path {
        /// The directory.
        path: String,
    },
}

/// One pin of the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPin {
    /// Its name (`from.<name>`).
    pub name: Name,
    /// The atom that declares it; `None` for the locking atom.
    pub owner: Option<AtomKey>,
    /// What it resolved to.
    pub source: PinSource,
    /// The file to import.
    pub entry: Option<RelPath>,
}

/// What a pin resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// A git repository.
    Git {
        /// The repository.
        git: Address,
        /// The ref followed.
        reference: GitRef,
        /// The commit it resolved to.
        rev: Oid,
        /// The NAR hash of the checkout, when Nix needs one to fetch it without network.
        hash: Option<Sri>,
    },
    /// A tarball.
    Tarball {
        /// Where it is downloaded from.
        url: Url,
        /// The NAR hash of the unpacked tarball.
        hash: Sri,
    },
}

/// One source of the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedSrc {
    /// Its name (`get.<name>`).
    pub name: Name,
    /// The atom that declares it; `None` for the locking atom.
    pub owner: Option<AtomKey>,
    /// What it resolved to.
    pub source: SrcSource,
}

/// What a source resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrcSource {
    /// A download, its URL interpolated.
    Url {
        /// The URL.
        url: Url,
        /// Its content hash.
        hash: Sri,
    },
    /// A git repository.
    Git {
        /// The repository.
        git: Address,
        /// The ref followed.
        reference: GitRef,
        /// The commit it resolved to.
        rev: Oid,
        /// The NAR hash of the checkout.
        hash: Sri,
    },
    /// Part of the locking atom's repository.
    Path {
        /// The path, relative to the repository's root.
        path: String,
        /// Its git object: a tree (a subatomic) or a blob (a single file).
        object: PathObject,
        /// Its NAR hash.
        hash: Sri,
    },
}

/// The git object a path source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathObject {
    /// A directory: a subatomic, published as `refs/subs/<tree-id>`.
    Tree(Oid),
    /// A single file.
    Blob(Oid),
}

/// A Subresource Integrity hash, `<algorithm>-<base64 digest>`, as Nix writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sri(String);

impl Sri {
    /// Checks the algorithm (`sha256`, `sha512`) and the digest's length.
    pub fn new(input: &str) -> Result<Self, String> {
        let (algorithm, digest) = input
            .split_once('-')
            .ok_or("expected `<algorithm>-<base64 digest>`")?;
        let len = match algorithm {
            "sha256" => 32,
            "sha512" => 64,
            _ => {
                return Err(format!(
                    "unsupported algorithm `{algorithm}` (use `sha256` or `sha512`)"
                ))
            }
        };
        let bytes = data_encoding::BASE64
            .decode(digest.as_bytes())
            .map_err(|_| "the digest is not base64")?;
        if bytes.len() != len {
            return Err(format!(
                "a {algorithm} digest has {len} bytes, this one {}",
                bytes.len()
            ));
        }
        Ok(Sri(input.to_owned()))
    }

    /// The hash as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a lock could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Not UTF-8.
    #[error("{path}: not valid UTF-8")]
    Encoding {
        /// The lock's path.
        path: String,
    },
    /// Not TOML, or not the lock's schema (unknown key, wrong type, missing key).
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The lock's path.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A schema version this library does not know.
    #[error("{path}: unsupported lock version {version} (this tool reads version {LOCK_VERSION}); upgrade atom")]
    UnsupportedVersion {
        /// The lock's path.
        path: String,
        /// The version found.
        version: i64,
    },
    /// The lock is well-formed TOML but inconsistent.
    #[error("{path}: {problem}")]
    Invalid {
        /// The lock's path.
        path: String,
        /// The first problem found.
        problem: LockProblem,
    },
}

/// An inconsistency in a lock. `entry` names the entry (`atom[2]`, `pin[0]`, `requires`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockProblem {
    /// A value that does not parse.
    #[error("`{entry}.{key}`: invalid value `{value}`: {reason}")]
    BadValue {
        /// The entry.
        entry: String,
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// Keys of different kinds of entry mixed, or a kind's key missing.
    #[error("`{entry}` must have {expected}")]
    Shape {
        /// The entry.
        entry: String,
        /// What it must have, in words.
        expected: &'static str,
    },
    /// An atomic number that its root and label do not give.
    #[error("`{entry}.id`: `{id}` is not the atomic number of `{label}` in repository {root} (that is `{expected}`)")]
    IdMismatch {
        /// The entry.
        entry: String,
        /// The recorded id.
        id: AtomId,
        /// The label.
        label: Label,
        /// The root.
        root: Oid,
        /// The id root and label give.
        expected: AtomId,
    },
    /// Two entries for the same atom and version, or the same pin or source.
    #[error("`{entry}`: `{key}` is locked twice")]
    Duplicate {
        /// The second entry.
        entry: String,
        /// What is repeated.
        key: String,
    },
    /// A `requires` (or an `atom` owner) naming an atom that is not in the lock.
    #[error("`{entry}`: `{name}` requires `{key}`, which is not in the lock")]
    Dangling {
        /// The entry.
        entry: String,
        /// The dependency's name.
        name: String,
        /// The missing key.
        key: AtomKey,
    },
}

/// Why a lock is not current for a manifest: what `git atom resolve` would change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// A dependency of the manifest is not locked.
    #[error("`deps.{name}` is not locked")]
    DepNotLocked {
        /// The dependency.
        name: Name,
    },
    /// The locked version no longer satisfies the requirement.
    #[error("`deps.{name}` requires `{requirement}`, the lock has {locked}")]
    DepVersion {
        /// The dependency.
        name: Name,
        /// The manifest's requirement.
        requirement: String,
        /// The locked version.
        locked: Version,
    },
    /// The dependency now names another atom, repository or directory.
    #[error("`deps.{name}` changed: the manifest says {wanted}, the lock has {locked}")]
    DepChanged {
        /// The dependency.
        name: Name,
        /// What the manifest says, in words.
        wanted: String,
        /// What the lock has.
        locked: String,
    },
    /// A pin of the manifest is not locked.
    #[error("`pins.{name}` is not locked")]
    PinNotLocked {
        /// The pin.
        name: Name,
    },
    /// A pin's repository, ref, URL or entry changed.
    #[error("`pins.{name}` changed since it was locked")]
    PinChanged {
        /// The pin.
        name: Name,
    },
    /// A source of the manifest is not locked.
    #[error("`srcs.{name}` is not locked")]
    SrcNotLocked {
        /// The source.
        name: Name,
    },
    /// A source's URL, version, repository, ref or path changed.
    #[error("`srcs.{name}` changed since it was locked")]
    SrcChanged {
        /// The source.
        name: Name,
    },
    /// The lock has a direct entry the manifest no longer declares.
    #[error("the lock has `{section}.{name}`, which the manifest no longer declares")]
    Removed {
        /// `deps`, `pins` or `srcs`.
        section: &'static str,
        /// The name.
        name: Name,
    },
    /// An atom entry that nothing requires any more.
    #[error("`{key}` is locked but nothing requires it")]
    Unused {
        /// The entry's key.
        key: AtomKey,
    },
}

// The schema as serde reads it: strings first, typed and checked afterwards.

#[derive(Deserialize)]
struct RawVersion {
    version: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    version: i64,
    #[serde(default)]
    requires: BTreeMap<String, String>,
    #[serde(default)]
    atom: Vec<RawAtom>,
    #[serde(default)]
    pin: Vec<RawPin>,
    #[serde(default)]
    src: Vec<RawSrc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAtom {
    label: String,
    version: String,
    id: String,
    root: String,
    commit: String,
    tree: String,
    format: Option<String>,
    url: Option<String>,
    #[serde(default)]
    mirrors: Vec<String>,
    path: Option<String>,
    #[serde(default)]
    requires: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    name: String,
    atom: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    rev: Option<String>,
    url: Option<String>,
    hash: Option<String>,
    entry: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSrc {
    name: String,
    atom: Option<String>,
    url: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    rev: Option<String>,
    path: Option<String>,
    tree: Option<String>,
    blob: Option<String>,
    hash: String,
}

/// Converts raw strings into typed values, naming the entry and key on failure.
struct Conv<'a> {
    entry: &'a str,
}

impl Conv<'_> {
    fn bad(&self, key: &'static str, value: &str, reason: impl fmt::Display) -> LockProblem {
        LockProblem::BadValue {
            entry: self.entry.to_owned(),
            key,
            value: value.escape_debug().to_string(),
            reason: reason.to_string(),
        }
    }

    fn parse<T: FromStr>(&self, key: &'static str, value: &str) -> Result<T, LockProblem>
    where
        T::Err: fmt::Display,
    {
        value.parse().map_err(|e| self.bad(key, value, e))
    }

    fn with<T, E: fmt::Display>(
        &self,
        key: &'static str,
        value: &str,
        f: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, LockProblem> {
        f(value).map_err(|e| self.bad(key, value, e))
    }

    fn address(&self, key: &'static str, value: &str) -> Result<Address, LockProblem> {
        let address = Address::parse(value, &Aliases::empty()).map_err(|e| {
            let reason = match e {
                crate::uri::UriError::Address { reason, .. } => reason,
                other => other.to_string(),
            };
            self.bad(key, value, reason)
        })?;
        if address.to_string() != value {
            return Err(self.bad(key, value, format!("not fully expanded; write `{address}`")));
        }
        Ok(address)
    }

    fn requires(
        &self,
        raw: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<Name, AtomKey>, LockProblem> {
        raw.iter()
            .map(|(name, key)| {
                Ok((
                    self.parse::<Name>("requires", name)?,
                    self.parse::<AtomKey>("requires", key)?,
                ))
            })
            .collect()
    }

    fn shape(&self, expected: &'static str) -> LockProblem {
        LockProblem::Shape {
            entry: self.entry.to_owned(),
            expected,
        }
    }
}

fn convert(raw: RawLock) -> Result<Lock, LockProblem> {
    let requires = Conv { entry: "requires" }.requires(&raw.requires)?;
    let mut atoms = Vec::new();
    for (i, a) in raw.atom.into_iter().enumerate() {
        let entry = format!("atom[{i}]");
        let c = Conv { entry: &entry };
        let origin = match (&a.url, &a.path) {
            (Some(url), None) => Origin::Url {
                url: c.address("url", url)?,
                mirrors: a
                    .mirrors
                    .iter()
                    .map(|m| c.address("mirrors", m))
                    .collect::<Result<_, _>>()?,
            },
            (None, Some(path)) if a.mirrors.is_empty() => Origin::Path {
                path: c.with("path", path, repo_path)?,
            },
            _ => return Err(c.shape("either `url` (and `mirrors`) or `path`")),
        };
        let format = match a.format.as_deref() {
            None => Format::Atom1,
            Some(name) => c.with("format", name, |name| match Format::from_name(name) {
                Some(Format::EkaPre1) if matches!(origin, Origin::Path { .. }) => {
                    Err("a path atom is always this suite's format; remove `format`".to_owned())
                }
                Some(format) => Ok(format),
                None => Err(format!(
                    "unknown atom format; this tool reads `{}` and `{}`",
                    Format::Atom1,
                    Format::EkaPre1
                )),
            })?,
        };
        atoms.push(LockedAtom {
            label: c.parse("label", &a.label)?,
            version: c.parse("version", &a.version)?,
            id: c.parse("id", &a.id)?,
            root: c.parse("root", &a.root)?,
            commit: c.parse("commit", &a.commit)?,
            tree: c.parse("tree", &a.tree)?,
            format,
            origin,
            requires: c.requires(&a.requires)?,
        });
    }
    let mut pins = Vec::new();
    for (i, p) in raw.pin.into_iter().enumerate() {
        let entry = format!("pin[{i}]");
        let c = Conv { entry: &entry };
        let source = match (&p.git, &p.reference, &p.rev, &p.url) {
            (Some(git), Some(reference), Some(rev), None) => PinSource::Git {
                git: c.address("git", git)?,
                reference: c.with("ref", reference, GitRef::new)?,
                rev: c.parse("rev", rev)?,
                hash: p
                    .hash
                    .as_deref()
                    .map(|h| c.with("hash", h, Sri::new))
                    .transpose()?,
            },
            (None, None, None, Some(url)) => PinSource::Tarball {
                url: c.with("url", url, Url::new)?,
                hash: c.with(
                    "hash",
                    p.hash.as_deref().ok_or_else(|| c.shape("a `hash`"))?,
                    Sri::new,
                )?,
            },
            _ => return Err(c.shape("either `git`, `ref` and `rev`, or `url` and `hash`")),
        };
        pins.push(LockedPin {
            name: c.parse("name", &p.name)?,
            owner: p.atom.as_deref().map(|a| c.parse("atom", a)).transpose()?,
            source,
            entry: p
                .entry
                .as_deref()
                .map(|e| c.with("entry", e, RelPath::new))
                .transpose()?,
        });
    }
    let mut srcs = Vec::new();
    for (i, s) in raw.src.into_iter().enumerate() {
        let entry = format!("src[{i}]");
        let c = Conv { entry: &entry };
        let hash = c.with("hash", &s.hash, Sri::new)?;
        let source = match (&s.url, &s.git, &s.reference, &s.rev, &s.path) {
            (Some(url), None, None, None, None) if s.tree.is_none() && s.blob.is_none() => {
                SrcSource::Url {
                    url: c.with("url", url, Url::new)?,
                    hash,
                }
            }
            (None, Some(git), Some(reference), Some(rev), None)
                if s.tree.is_none() && s.blob.is_none() =>
            {
                SrcSource::Git {
                    git: c.address("git", git)?,
                    reference: c.with("ref", reference, GitRef::new)?,
                    rev: c.parse("rev", rev)?,
                    hash,
                }
            }
            (None, None, None, None, Some(path)) => SrcSource::Path {
                path: c.with("path", path, repo_path)?,
                object: match (&s.tree, &s.blob) {
                    (Some(tree), None) => PathObject::Tree(c.parse("tree", tree)?),
                    (None, Some(blob)) => PathObject::Blob(c.parse("blob", blob)?),
                    _ => return Err(c.shape("`path` with either `tree` or `blob`")),
                },
                hash,
            },
            _ => {
                return Err(c.shape(
                    "either `url`, or `git`, `ref` and `rev`, or `path` and `tree` or `blob`",
                ))
            }
        };
        srcs.push(LockedSrc {
            name: c.parse("name", &s.name)?,
            owner: s.atom.as_deref().map(|a| c.parse("atom", a)).transpose()?,
            source,
        });
    }
    Ok(Lock {
        requires,
        atoms,
        pins,
        srcs,
    })
}

/// A path relative to the repository's root: relative, no `..`, `.` or empty components.
fn repo_path(input: &str) -> Result<String, String> {
    let path = RelPath::new(input)?;
    if path.goes_up() {
        return Err("must not leave the repository (no `..`)".into());
    }
    if path.as_str() != input {
        return Err(format!("write it as `{path}`"));
    }
    Ok(input.to_owned())
}

impl Lock {
    /// Parses and validates a lock; `path` names the file in error messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Self, LockError> {
        let text = std::str::from_utf8(bytes).map_err(|_| LockError::Encoding {
            path: path.to_owned(),
        })?;
        let syntax = |e: toml::de::Error| {
            let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
            LockError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: crate::manifest::one_line(e.message()),
            }
        };
        let unsupported = |version| LockError::UnsupportedVersion {
            path: path.to_owned(),
            version,
        };
        // One parse when the lock is well formed (a lock is read on every evaluation). When it
        // is not, the version decides first, so a newer lock is reported as such rather than as
        // unknown keys, and a bad `version` before any other problem.
        let raw: RawLock = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                return Err(match toml::from_str::<RawVersion>(text) {
                    Err(version) => syntax(version),
                    Ok(RawVersion {
                        version: Some(version),
                    }) if version != LOCK_VERSION => unsupported(version),
                    Ok(_) => syntax(e),
                })
            }
        };
        if raw.version != LOCK_VERSION {
            return Err(unsupported(raw.version));
        }
        let invalid = |problem| LockError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let lock = convert(raw).map_err(invalid)?;
        if let Some(problem) = lock.validate().into_iter().next() {
            return Err(invalid(problem));
        }
        Ok(lock)
    }

    /// Every inconsistency: malformed or mismatched ids, duplicate entries, `requires` and
    /// owners that name atoms not in the lock. Empty when the lock is consistent.
    pub fn validate(&self) -> Vec<LockProblem> {
        let mut problems = Vec::new();
        let mut keys = BTreeSet::new();
        for (i, atom) in self.atoms.iter().enumerate() {
            let entry = format!("atom[{i}]");
            let expected = Root(atom.root).atom_id(&atom.label);
            if expected != atom.id {
                problems.push(LockProblem::IdMismatch {
                    entry: entry.clone(),
                    id: atom.id,
                    label: atom.label.clone(),
                    root: atom.root,
                    expected,
                });
            }
            if !keys.insert(atom.key()) {
                problems.push(LockProblem::Duplicate {
                    entry,
                    key: atom.key().to_string(),
                });
            }
        }
        let dangling = |entry: String, name: String, key: &AtomKey| {
            (!keys.contains(key)).then(|| LockProblem::Dangling {
                entry,
                name,
                key: key.clone(),
            })
        };
        for (name, key) in &self.requires {
            problems.extend(dangling("requires".into(), name.to_string(), key));
        }
        for (i, atom) in self.atoms.iter().enumerate() {
            for (name, key) in &atom.requires {
                problems.extend(dangling(format!("atom[{i}]"), name.to_string(), key));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, pin) in self.pins.iter().enumerate() {
            let entry = format!("pin[{i}]");
            if let Some(owner) = &pin.owner {
                problems.extend(dangling(entry.clone(), pin.name.to_string(), owner));
            }
            if !seen.insert((pin.owner.clone(), pin.name.clone())) {
                problems.push(LockProblem::Duplicate {
                    entry,
                    key: owned_name(&pin.owner, &pin.name),
                });
            }
        }
        // Pins and atom dependencies share `from.<name>`.
        for name in self.requires.keys() {
            if seen.contains(&(None, name.clone())) {
                problems.push(LockProblem::Duplicate {
                    entry: "requires".into(),
                    key: name.to_string(),
                });
            }
        }
        let mut seen = BTreeSet::new();
        for (i, src) in self.srcs.iter().enumerate() {
            let entry = format!("src[{i}]");
            if let Some(owner) = &src.owner {
                problems.extend(dangling(entry.clone(), src.name.to_string(), owner));
            }
            if !seen.insert((src.owner.clone(), src.name.clone())) {
                problems.push(LockProblem::Duplicate {
                    entry,
                    key: owned_name(&src.owner, &src.name),
                });
            }
        }
        problems
    }

    /// The entry for `key`.
    pub fn atom(&self, key: &AtomKey) -> Option<&LockedAtom> {
        self.atoms
            .iter()
            .find(|a| a.id == key.id && a.version == key.version)
    }

    /// Sorts the entries into canonical order: atoms by label, version and id; pins and
    /// sources by owner (the locking atom's first), then name.
    pub fn sort(&mut self) {
        self.atoms
            .sort_by(|a, b| (&a.label, &a.version, a.id).cmp(&(&b.label, &b.version, b.id)));
        self.pins
            .sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
        self.srcs
            .sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
    }

    /// The canonical file: entries sorted, keys in a fixed order, one value per line, arrays
    /// and `requires` inline. The same lock always gives the same bytes.
    pub fn to_toml(&self) -> String {
        let mut lock = self.clone();
        lock.sort();
        let mut out = format!("{HEADER}\nversion = {LOCK_VERSION}\n");
        if !lock.requires.is_empty() {
            out.push_str("\n[requires]\n");
            for (name, key) in &lock.requires {
                out.push_str(&format!(
                    "{} = {}\n",
                    toml_key(name.as_str()),
                    string(&key.to_string())
                ));
            }
        }
        let line = |out: &mut String, key: &str, value: &str| {
            out.push_str(&format!("{key} = {}\n", string(value)));
        };
        for atom in &lock.atoms {
            out.push_str("\n[[atom]]\n");
            line(&mut out, "label", atom.label.as_str());
            line(&mut out, "version", &atom.version.to_string());
            line(&mut out, "id", &atom.id.to_string());
            line(&mut out, "root", &atom.root.to_string());
            line(&mut out, "commit", &atom.commit.to_string());
            line(&mut out, "tree", &atom.tree.to_string());
            if atom.format != Format::Atom1 {
                line(&mut out, "format", atom.format.name());
            }
            match &atom.origin {
                Origin::Url { url, mirrors } => {
                    line(&mut out, "url", &url.to_string());
                    if !mirrors.is_empty() {
                        let list: Vec<String> =
                            mirrors.iter().map(|m| string(&m.to_string())).collect();
                        out.push_str(&format!("mirrors = [{}]\n", list.join(", ")));
                    }
                }
                Origin::Path { path } => line(&mut out, "path", path),
            }
            if !atom.requires.is_empty() {
                let list: Vec<String> = atom
                    .requires
                    .iter()
                    .map(|(n, k)| format!("{} = {}", toml_key(n.as_str()), string(&k.to_string())))
                    .collect();
                out.push_str(&format!("requires = {{ {} }}\n", list.join(", ")));
            }
        }
        for pin in &lock.pins {
            out.push_str("\n[[pin]]\n");
            line(&mut out, "name", pin.name.as_str());
            if let Some(owner) = &pin.owner {
                line(&mut out, "atom", &owner.to_string());
            }
            match &pin.source {
                PinSource::Git {
                    git,
                    reference,
                    rev,
                    hash,
                } => {
                    line(&mut out, "git", &git.to_string());
                    line(&mut out, "ref", reference.as_str());
                    line(&mut out, "rev", &rev.to_string());
                    if let Some(hash) = hash {
                        line(&mut out, "hash", hash.as_str());
                    }
                }
                PinSource::Tarball { url, hash } => {
                    line(&mut out, "url", url.as_str());
                    line(&mut out, "hash", hash.as_str());
                }
            }
            if let Some(entry) = &pin.entry {
                line(&mut out, "entry", entry.as_str());
            }
        }
        for src in &lock.srcs {
            out.push_str("\n[[src]]\n");
            line(&mut out, "name", src.name.as_str());
            if let Some(owner) = &src.owner {
                line(&mut out, "atom", &owner.to_string());
            }
            match &src.source {
                SrcSource::Url { url, hash } => {
                    line(&mut out, "url", url.as_str());
                    line(&mut out, "hash", hash.as_str());
                }
                SrcSource::Git {
                    git,
                    reference,
                    rev,
                    hash,
                } => {
                    line(&mut out, "git", &git.to_string());
                    line(&mut out, "ref", reference.as_str());
                    line(&mut out, "rev", &rev.to_string());
                    line(&mut out, "hash", hash.as_str());
                }
                SrcSource::Path { path, object, hash } => {
                    line(&mut out, "path", path);
                    match object {
                        PathObject::Tree(oid) => line(&mut out, "tree", &oid.to_string()),
                        PathObject::Blob(oid) => line(&mut out, "blob", &oid.to_string()),
                    }
                    line(&mut out, "hash", hash.as_str());
                }
            }
        }
        out
    }

    /// Whether this lock is current for `manifest`, the manifest of the atom at `atom_dir`
    /// (relative to the repository's root): every direct dependency, pin and source is locked
    /// and matches the manifest, no direct entry is left over, and every atom entry is
    /// required by something. Returns every reason it is not; empty means current.
    pub fn check(&self, manifest: &Manifest, atom_dir: &str) -> Vec<Stale> {
        let mut stale = Vec::new();
        for (name, dep) in &manifest.deps {
            match self.requires.get(name).and_then(|k| self.atom(k)) {
                None => stale.push(Stale::DepNotLocked { name: name.clone() }),
                Some(atom) => stale.extend(dep_stale(name, dep, atom, atom_dir)),
            }
        }
        for name in self.requires.keys() {
            if !manifest.deps.contains_key(name) {
                stale.push(Stale::Removed {
                    section: "deps",
                    name: name.clone(),
                });
            }
        }
        self.check_pins(manifest, &mut stale);
        self.check_srcs(manifest, atom_dir, &mut stale);
        // Atoms nothing reaches from the manifest's dependencies.
        let mut reached = BTreeSet::new();
        let mut todo: Vec<&AtomKey> = self
            .requires
            .iter()
            .filter(|(n, _)| manifest.deps.contains_key(*n))
            .map(|(_, k)| k)
            .collect();
        while let Some(key) = todo.pop() {
            if reached.insert(key.clone()) {
                if let Some(atom) = self.atom(key) {
                    todo.extend(atom.requires.values());
                }
            }
        }
        for atom in &self.atoms {
            if !reached.contains(&atom.key()) {
                stale.push(Stale::Unused { key: atom.key() });
            }
        }
        stale
    }

    /// The manifest's pins against the lock's direct pins, both ways.
    fn check_pins(&self, manifest: &Manifest, stale: &mut Vec<Stale>) {
        let direct_pins: BTreeMap<&Name, &LockedPin> = self
            .pins
            .iter()
            .filter(|p| p.owner.is_none())
            .map(|p| (&p.name, p))
            .collect();
        for (name, pin) in &manifest.pins {
            match direct_pins.get(name) {
                None => stale.push(Stale::PinNotLocked { name: name.clone() }),
                Some(locked) if !pin_matches(pin, locked) => {
                    stale.push(Stale::PinChanged { name: name.clone() })
                }
                Some(_) => {}
            }
        }
        for name in direct_pins.keys() {
            if !manifest.pins.contains_key(*name) {
                stale.push(Stale::Removed {
                    section: "pins",
                    name: (*name).clone(),
                });
            }
        }
    }

    /// The manifest's sources against the lock's direct sources, both ways.
    fn check_srcs(&self, manifest: &Manifest, atom_dir: &str, stale: &mut Vec<Stale>) {
        let direct_srcs: BTreeMap<&Name, &LockedSrc> = self
            .srcs
            .iter()
            .filter(|s| s.owner.is_none())
            .map(|s| (&s.name, s))
            .collect();
        for (name, src) in &manifest.srcs {
            match direct_srcs.get(name) {
                None => stale.push(Stale::SrcNotLocked { name: name.clone() }),
                Some(locked) if !src_matches(src, locked, manifest, atom_dir) => {
                    stale.push(Stale::SrcChanged { name: name.clone() })
                }
                Some(_) => {}
            }
        }
        for name in direct_srcs.keys() {
            if !manifest.srcs.contains_key(*name) {
                stale.push(Stale::Removed {
                    section: "srcs",
                    name: (*name).clone(),
                });
            }
        }
    }

    /// Whether [`check`](Self::check) finds nothing.
    pub fn is_current(&self, manifest: &Manifest, atom_dir: &str) -> bool {
        self.check(manifest, atom_dir).is_empty()
    }
}

/// How the locked atom for the direct dependency `name` differs from what the manifest asks
/// (`atom_dir` is the dependent atom's directory, for path dependencies).
fn dep_stale(name: &Name, dep: &Dep, atom: &LockedAtom, atom_dir: &str) -> Option<Stale> {
    let changed = |wanted: String, locked: String| {
        Some(Stale::DepChanged {
            name: name.clone(),
            wanted,
            locked,
        })
    };
    match (dep, &atom.origin) {
        (Dep::Atom(want), Origin::Url { url, .. }) => {
            if want.url != *url {
                changed(format!("`{}`", want.url), format!("`{url}`"))
            } else if want.label_for(name).ok().as_ref() != Some(&atom.label) {
                let wanted = want
                    .label_for(name)
                    .map_or_else(|_| name.to_string(), |l| l.to_string());
                changed(
                    format!("label `{wanted}`"),
                    format!("label `{}`", atom.label),
                )
            } else if !want.version.matches(&atom.version) {
                Some(Stale::DepVersion {
                    name: name.clone(),
                    requirement: want.version.to_string(),
                    locked: atom.version.clone(),
                })
            } else {
                None
            }
        }
        (Dep::Path(want), Origin::Path { path }) => {
            let wanted = want.resolve(atom_dir);
            if wanted.as_deref() != Some(path.as_str()) {
                changed(format!("path `{want}`"), format!("path `{path}`"))
            } else {
                None
            }
        }
        (Dep::Atom(want), Origin::Path { path }) => {
            changed(format!("`{}`", want.url), format!("path `{path}`"))
        }
        (Dep::Path(want), Origin::Url { url, .. }) => {
            changed(format!("path `{want}`"), format!("`{url}`"))
        }
    }
}

pub(crate) fn pin_matches(pin: &Pin, locked: &LockedPin) -> bool {
    let source = match (pin, &locked.source) {
        (
            Pin::Git { git, reference, .. },
            PinSource::Git {
                git: g,
                reference: r,
                ..
            },
        ) => git == g && reference == r,
        (Pin::Tarball { url, .. }, PinSource::Tarball { url: u, .. }) => url == u,
        _ => false,
    };
    source && pin.entry() == locked.entry.as_ref()
}

pub(crate) fn src_matches(
    src: &Src,
    locked: &LockedSrc,
    manifest: &Manifest,
    atom_dir: &str,
) -> bool {
    match (src, &locked.source) {
        (Src::Url { .. }, SrcSource::Url { url, .. }) => {
            src.url_for(&manifest.version).as_deref() == Some(url.as_str())
        }
        (
            Src::Git { git, reference },
            SrcSource::Git {
                git: g,
                reference: r,
                ..
            },
        ) => git == g && reference == r,
        (Src::Path(path), SrcSource::Path { path: p, .. }) => {
            path.resolve(atom_dir).as_deref() == Some(p.as_str())
        }
        _ => false,
    }
}

fn owned_name(owner: &Option<AtomKey>, name: &Name) -> String {
    match owner {
        Some(owner) => format!("{owner} {name}"),
        None => name.to_string(),
    }
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        string(key)
    }
}

/// A TOML basic string.
fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::fenced_blocks;
    use proptest::prelude::*;

    fn spec() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lock.md"),
        )
        .unwrap()
    }

    fn example() -> (Manifest, Lock) {
        let blocks = fenced_blocks(&spec());
        let manifest = blocks
            .iter()
            .find(|(i, b)| i == "toml" && b.starts_with("[atom]"))
            .unwrap();
        let lock = blocks
            .iter()
            .find(|(i, b)| i == "toml" && b.contains("[[atom]]\nlabel = \"atom-nix\""))
            .unwrap();
        (
            Manifest::parse(manifest.1.as_bytes(), "atom.toml").unwrap(),
            Lock::parse(lock.1.as_bytes(), "atom.lock").unwrap(),
        )
    }

    #[test]
    fn spec_examples() {
        let blocks = fenced_blocks(&spec());
        let (mut valid, mut invalid) = (0, 0);
        let mut failures = Vec::new();
        for (i, (info, body)) in blocks.iter().enumerate() {
            if info != "toml" || !body.starts_with(HEADER) {
                continue;
            }
            let expected = blocks
                .get(i + 1)
                .filter(|(info, _)| info == "error")
                .map(|(_, e)| e.trim_end());
            match (Lock::parse(body.as_bytes(), "atom.lock"), expected) {
                (Ok(lock), None) => {
                    if lock.to_toml() != *body {
                        failures.push(format!(
                            "not canonical:\n{body}\nwritten:\n{}",
                            lock.to_toml()
                        ));
                    }
                    valid += 1;
                }
                (Err(e), Some(expected)) if e.to_string() == expected => invalid += 1,
                (got, expected) => failures.push(format!(
                    "example:\n{body}expected: {expected:?}\ngot: {:?}\n",
                    got.map(|_| "ok").map_err(|e| e.to_string())
                )),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(
            valid >= 1 && invalid >= 5,
            "{valid} valid, {invalid} invalid"
        );
    }

    /// A hand-edited lock may list its entries in any order; it is read as written (error
    /// messages name entries by their place in the file) and written in canonical order, which
    /// reads back as the sorted lock. Found by fuzzing (fuzz/corpus/lock/unsorted-srcs).
    #[test]
    fn a_lock_out_of_order_is_written_canonically() {
        let (_, canonical) = example();
        assert!(canonical.atoms.len() > 1 && canonical.pins.len() > 1);
        let mut shuffled = canonical.clone();
        shuffled.atoms.reverse();
        shuffled.pins.reverse();
        shuffled.srcs = canonical.srcs.iter().rev().cloned().collect();
        let edc = LockedSrc {
            name: "edc".parse().unwrap(),
            ..canonical.srcs[0].clone()
        };
        shuffled.srcs.push(edc.clone());
        let written = shuffled.to_toml();
        let read = Lock::parse(written.as_bytes(), "atom.lock").unwrap();
        assert_ne!(read, shuffled);
        shuffled.sort();
        assert_eq!(read, shuffled);
        assert_eq!(read.srcs.first(), Some(&edc));
        assert_eq!(read.to_toml(), written);
        let as_read = Lock::parse(
            std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../fuzz/corpus/lock/unsorted-srcs"),
            )
            .unwrap()
            .as_slice(),
            "atom.lock",
        )
        .unwrap();
        let names: Vec<&str> = as_read.srcs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["pkg", "edc"]);
        let again = Lock::parse(as_read.to_toml().as_bytes(), "atom.lock").unwrap();
        let names: Vec<&str> = again.srcs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["edc", "pkg"]);
    }

    #[test]
    fn the_example_is_current() {
        let (manifest, lock) = example();
        assert_eq!(lock.check(&manifest, "pkgs/mine"), []);
        assert!(lock.is_current(&manifest, "pkgs/mine"));
        assert_eq!(lock.atoms.len(), 3);
        let std = &lock.atoms[2];
        assert_eq!(std.label.as_str(), "std");
        assert_eq!(
            lock.atom(&lock.atoms[0].requires[&"std".parse().unwrap()])
                .unwrap()
                .label
                .as_str(),
            "std"
        );
    }

    #[test]
    fn stale_reasons() {
        let (manifest, lock) = example();
        let name = |s: &str| -> Name { s.parse().unwrap() };
        let edit = |text: &str| Manifest::parse(text.as_bytes(), "atom.toml").unwrap();
        let base = "[atom]\nid = \"mine\"\nversion = \"0.1.0\"\n";
        let full = fenced_blocks(&spec())
            .into_iter()
            .find(|(i, b)| i == "toml" && b.starts_with("[atom]"))
            .unwrap()
            .1;

        // A requirement the locked version does not satisfy, and a new dependency.
        let m = edit(
            &full
                .replace("version = \"^0.3\"", "version = \"^0.4\"")
                .replace(
                "[deps.local]",
                "[deps.new]\nurl = \"https://example.org/new\"\nversion = \"1\"\n\n[deps.local]",
            ),
        );
        assert_eq!(
            lock.check(&m, "pkgs/mine"),
            [
                Stale::DepVersion {
                    name: name("atom"),
                    requirement: "^0.4".into(),
                    locked: "0.3.1".parse().unwrap(),
                },
                Stale::DepNotLocked { name: name("new") },
            ]
        );

        // The atom moved to `pkgs/elsewhere`: the path dependency points elsewhere.
        let reasons = lock.check(&manifest, "pkgs/elsewhere/deeper");
        assert!(reasons.contains(&Stale::DepChanged {
            name: name("local"),
            wanted: "path `../other`".into(),
            locked: "path `pkgs/other`".into(),
        }));

        // A new atom version changes the source URL; a changed ref changes the pin.
        let m = edit(
            &full
                .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
                .replace("nixos-25.05", "nixos-unstable"),
        );
        assert_eq!(
            lock.check(&m, "pkgs/mine"),
            [
                Stale::PinChanged { name: name("pkgs") },
                Stale::SrcChanged { name: name("src") },
            ]
        );

        // Everything removed: every direct entry and atom is left over.
        let reasons = lock.check(&edit(base), "pkgs/mine");
        assert_eq!(
            reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "the lock has `deps.atom`, which the manifest no longer declares",
                "the lock has `deps.local`, which the manifest no longer declares",
                "the lock has `pins.pkgs`, which the manifest no longer declares",
                "the lock has `srcs.pkg`, which the manifest no longer declares",
                "the lock has `srcs.src`, which the manifest no longer declares",
                "`r9ilp2p4bpkup8bejuqrg042m6ohc0rtcn2fks94otlrhnquhnv0@0.3.1` is locked but nothing requires it",
                "`qkusjej9hbv8khk25j2msnpt6h5ldmm79n668v32a0ei0up3i7bg@1.0.0` is locked but nothing requires it",
                "`1li46p3ltetenfd67khi6vkprapdfb0c6sh2cimlsnmvqtscqqug@0.2.0` is locked but nothing requires it",
            ]
        );

        // An empty lock is not current for a manifest with dependencies, and is for one without.
        assert_eq!(Lock::default().check(&manifest, "pkgs/mine").len(), 5);
        assert!(Lock::default().is_current(&edit(base), "pkgs/mine"));
    }

    #[test]
    fn validation_findings() {
        let (_, lock) = example();
        assert_eq!(lock.validate(), []);
        let mut twice = lock.clone();
        twice.atoms.push(lock.atoms[1].clone());
        twice.pins.push(lock.pins[0].clone());
        assert_eq!(
            twice
                .validate()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "`atom[3]`: `qkusjej9hbv8khk25j2msnpt6h5ldmm79n668v32a0ei0up3i7bg@1.0.0` is locked twice",
                "`pin[2]`: `pkgs` is locked twice",
            ]
        );
        let mut shared = lock.clone();
        shared
            .requires
            .insert("pkgs".parse().unwrap(), lock.atoms[1].key());
        assert_eq!(
            shared
                .validate()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["`requires`: `pkgs` is locked twice"]
        );
    }

    #[test]
    fn parse_errors() {
        let err = |s: &str| {
            Lock::parse(s.as_bytes(), "atom.lock")
                .unwrap_err()
                .to_string()
        };
        let head = format!("{HEADER}\nversion = 1\n");
        assert_eq!(
            err(&format!("{head}extra = 1\n")),
            "atom.lock:3:1: unknown field `extra`, expected one of `version`, `requires`, `atom`, `pin`, `src`"
        );
        assert_eq!(
            err("version = \"1\"\n"),
            "atom.lock:1:11: invalid type: string \"1\", expected i64"
        );
        assert_eq!(
            err(&format!(
                "{head}[[pin]]\nname = \"p\"\ngit = \"https://x.org/p\"\n"
            )),
            "atom.lock: `pin[0]` must have either `git`, `ref` and `rev`, or `url` and `hash`"
        );
        assert_eq!(
            err(&format!("{head}[[src]]\nname = \"s\"\npath = \"../up\"\ntree = \"{}\"\nhash = \"sha256-JaZjQmPBsfb8RpegTiuZBOpLBCqJr1nck+wfXUSEiiY=\"\n", "a".repeat(40))),
            "atom.lock: `src[0].path`: invalid value `../up`: must not leave the repository (no `..`)"
        );
        assert!(matches!(
            Lock::parse(b"\xff", "atom.lock"),
            Err(LockError::Encoding { .. })
        ));
    }

    #[test]
    fn sri() {
        Sri::new("sha256-JaZjQmPBsfb8RpegTiuZBOpLBCqJr1nck+wfXUSEiiY=").unwrap();
        assert!(Sri::new("md5-JaZjQmPBsfb8RpegTiuZBOpLBCqJr1nck+wfXUSEiiY=").is_err());
        assert!(Sri::new("sha512-JaZjQmPBsfb8RpegTiuZBOpLBCqJr1nck+wfXUSEiiY=").is_err());
        assert!(Sri::new("JaZjQmPBsfb8RpegTiuZBOpLBCqJr1nck").is_err());
    }

    fn oid() -> impl Strategy<Value = Oid> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 20),
            proptest::collection::vec(any::<u8>(), 32)
        ]
        .prop_map(|b| Oid::from_bytes(&b).unwrap())
    }

    fn name() -> impl Strategy<Value = Name> {
        "[a-z_][a-z0-9_'-]{0,8}".prop_filter_map("a keyword", |s| s.parse().ok())
    }

    fn version() -> impl Strategy<Value = Version> {
        (
            0u64..3,
            0u64..20,
            0u64..20,
            proptest::option::of("[a-z]{1,4}"),
        )
            .prop_map(|(a, b, c, pre)| {
                let pre = pre.map(|p| format!("-{p}")).unwrap_or_default();
                format!("{a}.{b}.{c}{pre}").parse().unwrap()
            })
    }

    fn sri_value() -> impl Strategy<Value = Sri> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 32)
                .prop_map(|b| format!("sha256-{}", data_encoding::BASE64.encode(&b))),
            proptest::collection::vec(any::<u8>(), 64)
                .prop_map(|b| format!("sha512-{}", data_encoding::BASE64.encode(&b))),
        ]
        .prop_map(|s| Sri::new(&s).unwrap())
    }

    fn address() -> impl Strategy<Value = Address> {
        ("[a-z]{1,8}", "[a-z0-9][a-z0-9-]{0,7}", 0u8..3).prop_map(|(host, path, form)| {
            let text = match form {
                0 => format!("https://{host}.org/{path}"),
                1 => format!("git@{host}.org:{path}"),
                _ => format!("file:///srv/{path}"),
            };
            Address::parse(&text, &Aliases::empty()).unwrap()
        })
    }

    /// A consistent lock: atoms with correct ids, `requires` pointing at earlier entries,
    /// pins and sources owned by the locking atom or by locked atoms.
    fn lock() -> impl Strategy<Value = Lock> {
        let atom = (
            "[a-zé][a-z0-9_-]{0,6}",
            version(),
            oid(),
            oid(),
            oid(),
            prop_oneof![
                (address(), proptest::collection::vec(address(), 0..3))
                    .prop_map(|(url, mirrors)| Origin::Url { url, mirrors }),
                "[a-z]{1,5}(/[a-z]{1,5}){0,2}".prop_map(|path| Origin::Path { path }),
            ],
            proptest::collection::vec((name(), any::<proptest::sample::Index>()), 0..3),
        );
        (
            proptest::collection::vec(atom, 0..5),
            proptest::collection::vec((name(), any::<proptest::sample::Index>()), 0..3),
            proptest::collection::vec(
                (
                    name(),
                    any::<Option<proptest::sample::Index>>(),
                    oid(),
                    sri_value(),
                    any::<bool>(),
                    any::<bool>(),
                ),
                0..4,
            ),
            proptest::collection::vec(
                (
                    name(),
                    any::<Option<proptest::sample::Index>>(),
                    oid(),
                    sri_value(),
                    0u8..4,
                ),
                0..4,
            ),
        )
            .prop_map(|(raw_atoms, direct, raw_pins, raw_srcs)| {
                let mut atoms: Vec<LockedAtom> = Vec::new();
                for (label, version, root, commit, tree, origin, deps) in raw_atoms {
                    let label: Label = label.parse().unwrap();
                    let id = Root(root).atom_id(&label);
                    if atoms.iter().any(|a| a.id == id && a.version == version) {
                        continue;
                    }
                    let requires = if atoms.is_empty() {
                        BTreeMap::new()
                    } else {
                        deps.into_iter()
                            .map(|(n, i)| (n, atoms[i.index(atoms.len())].key()))
                            .collect()
                    };
                    // Some fetched atoms are the eka tool's (chosen by their tree id).
                    let format = match origin {
                        Origin::Url { .. } if tree.to_string().as_bytes()[0] < b'8' => {
                            Format::EkaPre1
                        }
                        _ => Format::Atom1,
                    };
                    atoms.push(LockedAtom {
                        label,
                        version,
                        id,
                        root,
                        commit,
                        tree,
                        format,
                        origin,
                        requires,
                    });
                }
                let owner = |i: Option<proptest::sample::Index>| {
                    i.filter(|_| !atoms.is_empty())
                        .map(|i| atoms[i.index(atoms.len())].key())
                };
                let mut pins: Vec<LockedPin> = Vec::new();
                for (name, o, rev, hash, git, entry) in raw_pins {
                    let owner = owner(o);
                    if pins.iter().any(|p| p.owner == owner && p.name == name) {
                        continue;
                    }
                    let source = if git {
                        PinSource::Git {
                            git: Address::parse(
                                "https://github.com/NixOS/nixpkgs",
                                &Aliases::empty(),
                            )
                            .unwrap(),
                            reference: GitRef::new("nixos-25.05").unwrap(),
                            rev,
                            hash: entry.then_some(hash),
                        }
                    } else {
                        PinSource::Tarball {
                            url: Url::new("https://example.org/a b".replace(' ', "-").as_str())
                                .unwrap(),
                            hash,
                        }
                    };
                    pins.push(LockedPin {
                        name,
                        owner,
                        source,
                        entry: entry.then(|| RelPath::new("lib/default.nix").unwrap()),
                    });
                }
                let requires: BTreeMap<Name, AtomKey> = if atoms.is_empty() {
                    BTreeMap::new()
                } else {
                    direct
                        .into_iter()
                        .filter(|(n, _)| !pins.iter().any(|p| p.owner.is_none() && p.name == *n))
                        .map(|(n, i)| (n, atoms[i.index(atoms.len())].key()))
                        .collect()
                };
                let mut srcs: Vec<LockedSrc> = Vec::new();
                for (name, o, oid, hash, kind) in raw_srcs {
                    let owner = owner(o);
                    if srcs.iter().any(|s| s.owner == owner && s.name == name) {
                        continue;
                    }
                    let source = match kind {
                        0 => SrcSource::Url {
                            url: Url::new("https://example.com/x.tar.xz").unwrap(),
                            hash,
                        },
                        1 => SrcSource::Git {
                            git: Address::parse("git@example.org:o/r", &Aliases::empty()).unwrap(),
                            reference: GitRef::new("v1").unwrap(),
                            rev: oid,
                            hash,
                        },
                        2 => SrcSource::Path {
                            path: "my/tree".into(),
                            object: PathObject::Tree(oid),
                            hash,
                        },
                        _ => SrcSource::Path {
                            path: "Cargo.lock".into(),
                            object: PathObject::Blob(oid),
                            hash,
                        },
                    };
                    srcs.push(LockedSrc {
                        name,
                        owner,
                        source,
                    });
                }
                Lock {
                    requires,
                    atoms,
                    pins,
                    srcs,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Serialise, parse, serialise: the same bytes, and the same lock (up to order).
        #[test]
        fn round_trip(lock in lock()) {
            prop_assert_eq!(lock.validate(), vec![]);
            let text = lock.to_toml();
            let parsed = Lock::parse(text.as_bytes(), "atom.lock")
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(parsed.to_toml(), text.clone());
            let mut sorted = lock.clone();
            sorted.sort();
            prop_assert_eq!(parsed, sorted);
        }

        /// The order entries were added in does not matter.
        #[test]
        fn order_independent(lock in lock()) {
            let mut reversed = lock.clone();
            reversed.atoms.reverse();
            reversed.pins.reverse();
            reversed.srcs.reverse();
            prop_assert_eq!(reversed.to_toml(), lock.to_toml());
        }
    }
}
