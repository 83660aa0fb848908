//! Why the atom or its dependencies cannot be made ready.

use std::io;
use std::path::PathBuf;

use atom_lib::admit;
use atom_lib::local;
use atom_lib::resolve::pins::Entry;
use atom_lib::resolve::ResolveError;
use atom_lib::store::git::export::{ExportError, Refusal};
use atom_lib::uri::{AliasError, UriError};
use atom_lib::{Oid, StoreError};

use crate::identity;

/// Why the atom or its dependencies cannot be made ready.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The atom directory cannot be read.
    #[error("cannot use `{path}` as the atom directory")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The atom directory's manifest or lock is invalid or unreadable.
    #[error(transparent)]
    Local(Box<local::Error>),
    /// The atom could not be read for its identity.
    #[error(transparent)]
    Identity(#[from] identity::Error),
    /// A variant choice (`--with`, `--enable`, `--disable`) does not fit the atom's manifest.
    #[error(transparent)]
    Variant(#[from] atom_lib::variant::Error),
    /// The URI does not parse.
    #[error(transparent)]
    Uri(Box<UriError>),
    /// An alias in git config is invalid.
    #[error("in git config `atom.alias.*`")]
    Alias(#[source] AliasError),
    /// The URI names no repository.
    #[error("atom URI `{uri}` names no repository: write `<address>::{label}` (a local atom is evaluated from its directory)")]
    NoAddress {
        /// The URI as given.
        uri: String,
        /// Its label.
        label: String,
    },
    /// The atom cache cannot be opened.
    #[error("cannot open the atom cache")]
    Cache(#[source] Box<local::Error>),
    /// A repository cannot be listed.
    #[error("cannot list the atoms of {url}")]
    List {
        /// The repository, credentials removed.
        url: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// No version matches the URI.
    #[error(transparent)]
    Resolve(Box<ResolveError>),
    /// An atom could not be fetched into the cache.
    #[error("cannot fetch atom {atom} from {url}: {reason}")]
    Fetch {
        /// The atom, `label@version`.
        atom: String,
        /// Where from, credentials removed.
        url: String,
        /// Why not (each address tried).
        reason: String,
    },
    /// An atom failed admission (a check, or the fetch).
    #[error(transparent)]
    Admit(Box<admit::Error>),
    /// The lock does not prove itself.
    #[error(transparent)]
    Proof(Box<atom_lib::proof::Error>),
    /// A fetched atom's manifest or lock is missing or invalid.
    #[error("atom {atom} ({commit}): {problem}")]
    Published {
        /// The atom.
        atom: String,
        /// Its commit.
        commit: Oid,
        /// What is wrong.
        problem: String,
    },
    /// A path source of the atom's own repository, when the atom is not in one.
    #[error("{lock}: `srcs.{name}`{of} is a path of the atom's repository, but the atom is not in a git repository: evaluate it from a clone of its repository")]
    FetchedPathSource {
        /// The lock that records it.
        lock: String,
        /// The source.
        name: String,
        /// ` of <atom key>`, or nothing for the atom's own.
        of: String,
    },
    /// A sibling (path) dependency in the lock of an atom that is not in a git repository.
    #[error("{atom} is a sibling (path `{path}`) of the atom's repository, and the atom is not evaluated in one: add the atom to an atom of yours (`git atom add <uri>`) and evaluate that, or evaluate it from a clone of its repository")]
    SiblingOutsideRepository {
        /// The sibling, `label@version`.
        atom: String,
        /// Its directory in the repository.
        path: String,
    },
    /// A sibling a fetched atom's lock names is not published in its repository.
    #[error("{atom} depends on its sibling {sibling} (path `{path}`), which {url} does not publish: its publisher must publish them together (`git atom publish`)")]
    SiblingUnpublished {
        /// The atom, `label@version`.
        atom: String,
        /// The sibling, `label@version`.
        sibling: String,
        /// The sibling's directory in the repository.
        path: String,
        /// The repository, credentials removed.
        url: String,
    },
    /// A path source's blob, archived any way a file can be, does not have the locked hash.
    #[error("{what}: blob {blob}, as a file, an executable or a symbolic link, does not have the locked hash {hash}: run `git atom resolve` to lock it again")]
    PathSourceHash {
        /// The source.
        what: Entry,
        /// The blob the lock names.
        blob: Oid,
        /// The locked NAR hash.
        hash: String,
    },
    /// A fetched atom's path source could not be fetched from its repository.
    #[error("{what}: cannot fetch the locked {object} from {url}: {reason}")]
    PathSourceFetch {
        /// The source.
        what: Entry,
        /// `tree <id>` or `blob <id>`.
        object: String,
        /// The repository, credentials removed.
        url: String,
        /// Why, per address tried.
        reason: String,
    },
    /// A pin or a git source could not be fetched, or a tarball pin downloaded.
    #[error(transparent)]
    Pin(Box<atom_lib::resolve::pins::Error>),
    /// A tarball pin's download does not have the locked hash.
    #[error("{what}: the download of {url} has the hash {found}, the lock says {locked}: the server changed what it serves (or tampered with it); if the change is expected, run `git atom resolve --update <name>`")]
    PinHash {
        /// The pin.
        what: Entry,
        /// Where from.
        url: String,
        /// What it has.
        found: String,
        /// What the lock says.
        locked: String,
    },
    /// A path source's object is not in its repository.
    #[error(
        "{what}: the locked {object} is not in the repository any more: run `git atom resolve`"
    )]
    PathObjectMissing {
        /// The source.
        what: String,
        /// `tree <id>` or `blob <id>`.
        object: String,
    },
    /// The manifest declares dependencies and there is no lock.
    #[error("`{lock}` does not exist, and the atom declares dependencies: {fix}")]
    MissingLock {
        /// Where the lock should be.
        lock: String,
        /// What fixes it.
        fix: Fix,
    },
    /// The lock does not match the manifest.
    #[error("`{lock}` is not current: {}{}: {fix}", .reasons[0], more(.reasons.len()))]
    StaleLock {
        /// The lock.
        lock: String,
        /// Each reason (at least one).
        reasons: Vec<String>,
        /// What fixes it.
        fix: Fix,
    },
    /// The cache's commit of a locked atom has another tree than the lock says.
    #[error("the atom cache's commit {commit} of {atom} has the tree {found}, the lock says {locked}: run `git atom resolve`")]
    TreeMismatch {
        /// The atom, `label@version`.
        atom: String,
        /// Its commit.
        commit: Oid,
        /// The tree the cache has.
        found: Oid,
        /// The tree the lock records.
        locked: Oid,
    },
    /// A locked atom's tree holds an entry that cannot be written as a file name.
    #[error("atom {atom}: tree entry `{name}` cannot be exported: {reason}")]
    BadEntry {
        /// The atom.
        atom: String,
        /// The entry's name, escaped.
        name: String,
        /// Why not.
        reason: Refusal,
    },
    /// What a dependency ships leads out of its tree, or holds what a tree cannot (see
    /// `atom_lib::confine`): refused before anything reads it.
    #[error("{what} is refused: {source}")]
    Confined {
        /// The atom, pin or source.
        what: String,
        /// The entry and what is wrong with it.
        #[source]
        source: atom_lib::confine::Error,
    },
    /// An export could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading the cache failed.
    #[error("cannot read {what} from the atom cache")]
    Store {
        /// What, e.g. `base@1.2.0`.
        what: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
}

impl Error {
    /// The error of exporting `what` (an atom, pin or source), in this module's words.
    pub(super) fn exported(what: &str, e: ExportError) -> Self {
        match e {
            ExportError::Entry { name, reason, .. } => Error::BadEntry {
                atom: what.to_owned(),
                name: atom_lib::escape::escaped(&String::from_utf8_lossy(&name)).to_string(),
                reason,
            },
            ExportError::Read { source, .. } => Error::Store {
                what: what.to_owned(),
                source,
            },
            ExportError::Confined { source, .. } => Error::Confined {
                what: what.to_owned(),
                source,
            },
            ExportError::Write { path, source } => Error::Write { path, source },
        }
    }
}

impl From<local::Error> for Error {
    fn from(e: local::Error) -> Self {
        Error::Local(Box::new(e))
    }
}

impl From<UriError> for Error {
    fn from(e: UriError) -> Self {
        Error::Uri(Box::new(e))
    }
}

impl From<atom_lib::resolve::pins::Error> for Error {
    fn from(e: atom_lib::resolve::pins::Error) -> Self {
        Error::Pin(Box::new(e))
    }
}

impl From<ResolveError> for Error {
    fn from(e: ResolveError) -> Self {
        Error::Resolve(Box::new(e))
    }
}

fn more(n: usize) -> String {
    match n {
        0 | 1 => String::new(),
        2 => " (and 1 more problem)".into(),
        n => format!(" (and {} more problems)", n - 1),
    }
}

/// What fixes a missing or stale lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Resolve in the atom's directory.
    Resolve(PathBuf),
    /// The publisher must resolve and publish again.
    Republish,
}

impl std::fmt::Display for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fix::Resolve(dir) => write!(f, "run `git atom resolve` in {}", dir.display()),
            Fix::Republish => f.write_str(
                "the atom was published that way; its publisher must run `git atom resolve` and publish again",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_lock_names_its_first_reason_and_the_fix() {
        let e = Error::StaleLock {
            lock: "/a/atom.lock".into(),
            reasons: vec!["`deps.x` is not locked".into(), "other".into()],
            fix: Fix::Resolve("/a".into()),
        };
        assert_eq!(
            e.to_string(),
            "`/a/atom.lock` is not current: `deps.x` is not locked (and 1 more problem): run `git atom resolve` in /a"
        );
    }
}
