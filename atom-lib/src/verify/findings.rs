//! The vocabulary of verification: the [`Level`]s, what a check finds ([`Finding`]), why an
//! atom could not be checked ([`Unverifiable`]), and the verdict on one atom ([`Checked`]). The
//! checks and the orchestration above them, and the subatomics' checks, speak it.

use crate::commit::{AtomPath, AtomPathError};
use crate::refs::{AtomRef, RefName};
use crate::{Label, Oid, Version};

/// A level of verification: what it proves and which objects it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `docs/format.md` section 8, checks 1-6: the commit is well-formed and reproducible and
    /// its manifest names the atom. Needs the atom commit and its tree.
    Structure,
    /// Check 7: the atom's tree is the tree at the recorded path of the recorded source commit.
    /// Needs that commit and the trees along the path.
    Source,
    /// Check 8: the source descends from the repository root by first parents. Needs the
    /// commits from the source back to the root.
    Ancestry,
    /// A signature tag by a trusted key names the atom (only when asked for). Needs the
    /// signature refs and their tag objects.
    Signature,
}

impl Level {
    /// Every level, in the order they are checked.
    pub const ALL: [Level; 3] = [Level::Structure, Level::Source, Level::Ancestry];

    /// The level's name in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Level::Structure => "structure",
            Level::Source => "source",
            Level::Ancestry => "ancestry",
            Level::Signature => "signature",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an atom is not what the format says it is. The CLI renders these; each carries the data
/// it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The atom commit has parents.
    #[error("has {count} parent(s): an atom commit must be an orphan")]
    Parents {
        /// How many.
        count: usize,
    },
    /// The author or committer is not the fixed identity.
    #[error("{role} is `{found}`, expected `{expected}`")]
    Identity {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// The author or committer time is not the epoch.
    #[error("{role} timestamp is `{found}`, expected `{expected}` (the Unix epoch)")]
    Timestamp {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// A header that must appear exactly once is missing or repeated.
    #[error("missing or repeated `{name}` header")]
    MissingOrRepeated {
        /// The header.
        name: &'static str,
    },
    /// A header the format does not define.
    #[error("unexpected header `{name}`")]
    UnexpectedHeader {
        /// The header.
        name: String,
    },
    /// The headers are not in the format's order.
    #[error("headers out of order: expected {}", .expected.join(", "))]
    HeadersOutOfOrder {
        /// The order required.
        expected: Vec<&'static str>,
    },
    /// A header is missing.
    #[error("missing `{name}` header")]
    MissingHeader {
        /// The header.
        name: &'static str,
    },
    /// A header is missing or its value is not an object id.
    #[error("missing or invalid `{name}` header")]
    InvalidHeader {
        /// The header.
        name: &'static str,
    },
    /// The format version is not the one the ref's layout uses.
    #[error("unknown format version `{found}` (this tool reads `{expected}`)")]
    UnknownFormat {
        /// What the commit says.
        found: String,
        /// What this tool reads.
        expected: &'static str,
    },
    /// The recorded path is not a valid atom path.
    #[error(transparent)]
    Path(#[from] AtomPathError),
    /// The commit message is not the format's.
    #[error("message is {found:?}, expected {expected:?}")]
    Message {
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: String,
    },
    /// The atom's tree has no manifest.
    #[error("the atom's tree has no regular `atom.toml`")]
    NoManifest,
    /// The manifest cannot be read.
    #[error("{0}")]
    InvalidManifest(String),
    /// The manifest names another atom than the ref.
    #[error("manifest declares {label}@{version} but the ref names {atom}")]
    ManifestMismatch {
        /// The declared label.
        label: Label,
        /// The declared version.
        version: Version,
        /// The atom the ref names.
        atom: AtomRef,
    },
    /// The commit's bytes are not what its fields produce.
    #[error("not reproducible: rebuilt from its fields the commit is {rebuilt}, not {commit}")]
    NotReproducible {
        /// The id of the rebuilt commit.
        rebuilt: Oid,
        /// The atom commit.
        commit: Oid,
    },
    /// The tree differs from the source's tree at the recorded path.
    #[error("tree {tree} differs from `{path}` in source commit {} ({found})", .source_commit.short(12))]
    TreeDiffers {
        /// The atom's tree.
        tree: Oid,
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
        /// What the source has there.
        found: Oid,
    },
    /// The recorded path does not exist in the source.
    #[error("`{path}` does not exist in source commit {}", .source_commit.short(12))]
    PathMissing {
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
    },
    /// (pre1) The tree is no directory of the source.
    #[error("tree {tree} is not a directory of source commit {}", .source_commit.short(12))]
    NotInSource {
        /// The atom's tree.
        tree: Oid,
        /// The source commit.
        source_commit: Oid,
    },
    /// The source commit cannot be read as a commit.
    #[error("source {source_commit}: {error}")]
    BadSource {
        /// The source commit.
        source_commit: Oid,
        /// What is wrong.
        error: String,
    },
    /// The recorded repository root has parents.
    #[error("the recorded repository root {root} is not a root commit")]
    RootNotRoot {
        /// The recorded root.
        root: Oid,
    },
    /// The repository root cannot be read.
    #[error("repository root: {error}")]
    BadRoot {
        /// What is wrong.
        error: String,
    },
    /// The source's first-parent root is not the repository's identity.
    #[error("source commit {} does not descend from the repository root {} by first parents (its first-parent root is {})", .source_commit.short(12), .root.short(12), .found.short(12))]
    NotDescended {
        /// The source commit.
        source_commit: Oid,
        /// The repository's identity.
        root: Oid,
        /// The root its first parents lead to.
        found: Oid,
    },
    /// Neither an identity ref nor `HEAD` says what the repository root is.
    #[error("the repository root is unknown (no refs/atoms/_root and no HEAD)")]
    RootUnknown,
    /// (pre1) One of eka's metadata refs of the atom is missing.
    #[error("eka metadata ref `{name}` is missing")]
    EkaMetaMissing {
        /// The ref.
        name: RefName,
    },
    /// (pre1) eka's `origin` metadata ref names another commit than the atom's `origin` header.
    #[error("eka metadata ref `{name}` points at {found}, but the atom's origin is {expected}")]
    EkaOriginMismatch {
        /// The ref.
        name: RefName,
        /// Where it points.
        found: Oid,
        /// The atom's `origin` header.
        expected: Oid,
    },
    /// (pre1) eka's `manifest` metadata ref is neither the atom's manifest blob nor a tree of
    /// the atom's own files holding it.
    #[error("eka metadata ref `{name}` ({found}) does not hold the atom's manifest")]
    EkaManifestMismatch {
        /// The ref.
        name: RefName,
        /// Where it points.
        found: Oid,
    },
    /// A subatomic commit's tree is not the tree its ref is named after.
    #[error("the commit's tree is {found}, but its ref names {named}")]
    SubatomicTree {
        /// The tree in the ref name.
        named: Oid,
        /// The commit's tree.
        found: Oid,
    },
    /// The signature requirement is not met.
    #[error(transparent)]
    Signature(#[from] crate::sign::check::SignatureFinding),
    /// (`verify --locked`) The remote's ref, the remote's root, the commit's tree or the
    /// working tree is not what the lock records.
    #[error("{what} is {found}, the lock has {locked}")]
    NotLocked {
        /// What was read: `the remote's refs/atoms/<label>/<version>`, `the tree of the commit`.
        what: String,
        /// What it is (an object id, or `missing`).
        found: String,
        /// What the lock records.
        locked: Oid,
    },
    /// An object or ref could not be read.
    #[error("cannot read {subject}: {error}")]
    Unreadable {
        /// What could not be read.
        subject: Subject,
        /// Why, in the store's words.
        error: String,
    },
    /// The object a ref names is not a well-formed commit.
    #[error("{commit} is not a well-formed commit object")]
    Malformed {
        /// The object.
        commit: Oid,
    },
}

/// An object or ref a check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A commit.
    Commit(Oid),
    /// A tree.
    Tree(Oid),
    /// A ref.
    Ref(RefName),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Commit(oid) => write!(f, "commit {oid}"),
            Subject::Tree(oid) => write!(f, "tree {oid}"),
            Subject::Ref(name) => write!(f, "ref `{name}`"),
        }
    }
}

impl Finding {
    /// `subject` could not be read: `error`.
    pub(crate) fn unreadable(subject: Subject, error: impl std::fmt::Display) -> Finding {
        Finding::Unreadable {
            subject,
            error: error.to_string(),
        }
    }

    /// The level whose check found this.
    pub fn level(&self) -> Level {
        match self {
            Finding::TreeDiffers { .. }
            | Finding::PathMissing { .. }
            | Finding::NotInSource { .. }
            | Finding::BadSource { .. } => Level::Source,
            Finding::RootNotRoot { .. }
            | Finding::BadRoot { .. }
            | Finding::NotDescended { .. }
            | Finding::RootUnknown => Level::Ancestry,
            Finding::Signature(_) => Level::Signature,
            _ => Level::Structure,
        }
    }
}

/// Why an atom could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverifiable {
    /// An object the checks need is not in the repository.
    #[error("{what} {oid} is missing")]
    Missing {
        /// `atom commit`, `tree` or `source commit`.
        what: &'static str,
        /// The object.
        oid: Oid,
    },
    /// The atom commit declares a format this tool does not read (a later `atom-format`, or an
    /// older generation of the eka tool's format).
    #[error("unsupported format `{header} {value}` (this tool reads `atom-format 1` and eka's `format pre1`)")]
    UnsupportedFormat {
        /// The header declaring the format.
        header: String,
        /// Its value.
        value: String,
    },
    /// The objects a level needs could not be fetched.
    #[error("cannot fetch what the {level} check needs from {remote}: {error}")]
    Fetch {
        /// The level.
        level: Level,
        /// The remote.
        remote: String,
        /// What failed.
        error: String,
    },
    /// The repository (or the objects fetched for the check) could not be read.
    #[error("cannot {operation}: {error}")]
    Store {
        /// What was being done, as a verb phrase ("open the fetched objects").
        operation: &'static str,
        /// Why, in the store's words.
        error: String,
    },
}

impl Unverifiable {
    /// `operation` failed: `error`.
    pub(crate) fn store(operation: &'static str, error: impl std::fmt::Display) -> Unverifiable {
        Unverifiable::Store {
            operation,
            error: error.to_string(),
        }
    }
}

/// The verdict on one atom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Checks failed.
    Failed(Vec<Finding>),
    /// The atom could not be checked.
    Unverifiable(Unverifiable),
}

/// One verified atom.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The atom.
    pub atom: AtomRef,
    /// Its commit.
    pub commit: Oid,
    /// The source commit it names, if it could be read.
    pub source: Option<Oid>,
    /// The verdict.
    pub verdict: Verdict,
    /// The levels that were checked, in order; a level not listed was not checked.
    pub levels: Vec<Level>,
}

impl Checked {
    /// Whether `level` was checked.
    pub fn checked(&self, level: Level) -> bool {
        self.levels.contains(&level)
    }
}
