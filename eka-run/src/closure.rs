//! The atom an evaluation is about and its locked dependencies, made ready on the host before
//! the sandbox starts.
//!
//! - [`Spec`]: what the command line names: an atom directory, or an atom URI
//!   (`<address>::<label>[@<requirement>]`, as `git clone atom::` takes it, with the aliases of
//!   `git config atom.alias.*`).
//! - [`Subject::open`]: a directory is read where it is. A URI is resolved against its
//!   repository's listing (the highest matching version) and the atom commit is fetched into the
//!   per-user atom cache (`$XDG_CACHE_HOME/atom/atoms.git`), through the quarantine and the
//!   structural check, unless the cache has it. Either way the manifest and the lock are checked:
//!   an atom whose manifest declares dependencies, pins or sources needs an `atom.lock`, and the
//!   lock must be current (`Lock::check`); a path source of a fetched atom is refused (its
//!   repository is not at hand), never a silently empty `get.<src>`.
//! - [`Subject::materialise`]: when an evaluation really runs (not from the evaluation cache),
//!   the atom of a URI and every locked dependency are exported from the cache into the
//!   sandbox's private directory; a locked atom the cache lacks is fetched first from the URL the
//!   lock records (then its mirrors), through the quarantine and the structural check.
//!   Every locked pin is placed there too (a git pin's commit exported from the cache, fetched
//!   alone if missing; a tarball pin downloaded, unpacked and checked against its NAR hash), and
//!   every git or path source's tree; a URL source is only described, for the builder to fetch.
//!   [`Materialised::graph`] is what the Nix driver composes them with: each locked atom once per
//!   atomic number and version, with its own locked dependencies and pins as its `from` and its
//!   sources as its `get`.
//!
//! This is the only module of eka-run that uses atom-lib: everything it does happens on the
//! host, before the sandbox starts; the sandbox only ever sees the directories it exports.

// These errors end the command and carry their ids and paths in full (as atom-lib's resolver's
// do); boxing each would only add noise. `backend::Error` boxes this one.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use atom_lib::admit;
use atom_lib::local::{self, LocalAtom};
use atom_lib::lock::{
    AtomKey, LockedAtom, LockedPin, LockedSrc, Origin as LockOrigin, PathObject, PinSource,
    SrcSource, LOCK_FILE,
};
use atom_lib::manifest::{Manifest, MANIFEST_FILE};
use atom_lib::resolve::{self, pins, ResolveError};
use atom_lib::store::git::Verbosity;
use atom_lib::store::EntryKind;
use atom_lib::uri::{AliasError, Aliases, Uri, UriError};
use atom_lib::{AtomRef, GitStore, Lock, Oid, StoreError};

use crate::identity;

/// The atom the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// An atom directory.
    Dir(PathBuf),
    /// An atom URI, as written (aliases are expanded when it is opened).
    Uri(String),
}

impl Spec {
    /// An existing directory is a directory; anything else with a `::` is an atom URI; the rest
    /// is a directory (which then fails to open, naming it).
    pub fn parse(arg: &str) -> Result<Spec, String> {
        if arg.is_empty() {
            return Err("an atom directory or an atom URI is required".into());
        }
        let path = Path::new(arg);
        if !path.is_dir() && arg.contains("::") {
            Ok(Spec::Uri(arg.to_owned()))
        } else {
            Ok(Spec::Dir(path.to_owned()))
        }
    }
}

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
    /// A fetched atom's path source could not be fetched from its repository.
    #[error("{what}: cannot fetch the locked {object} from {url}: {reason}")]
    PathSourceFetch {
        /// The source.
        what: String,
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
        what: String,
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
        reason: &'static str,
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

fn cache() -> Result<GitStore, Error> {
    local::cache().map_err(|e| Error::Cache(Box::new(e)))
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

/// Where the atom comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A directory on the host.
    Dir(PathBuf),
    /// An atom commit in the cache, resolved from a URI.
    Cache {
        /// The atom's ref (label and version).
        atom: AtomRef,
        /// The atom commit.
        commit: Oid,
        /// Its tree.
        tree: Oid,
        /// Its repository, where its path sources are fetched from.
        home: Home,
    },
}

/// A repository objects are fetched from: its URL, then its mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// git URLs, in the order they are tried.
    pub urls: Vec<String>,
    /// The first, credentials removed, for messages.
    pub shown: String,
}

impl Home {
    fn of(url: &atom_lib::uri::Address, mirrors: &[atom_lib::uri::Address]) -> Home {
        let mut urls = vec![url.git_url()];
        urls.extend(mirrors.iter().map(|m| m.git_url()));
        Home {
            urls,
            shown: url.redacted(),
        }
    }
}

/// The atom to evaluate, its manifest and lock checked, and its identity's first two parts.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Where it comes from.
    pub origin: Origin,
    /// Its lock, when it has one (no manifest: none is read).
    pub lock: Option<Lock>,
    /// The identity's atom part: the directory's content digest, or the atom commit.
    pub atom_part: String,
    /// The identity's lock part: BLAKE3 of `atom.lock`, or [`identity::NO_LOCK`].
    pub lock_part: String,
}

/// What [`Subject::materialise`] wrote, relative to the directory it wrote into.
#[derive(Debug, Clone, Default)]
pub struct Materialised {
    /// The atom's export (a URI atom), else `None`: the directory is used where it is.
    pub atom: Option<PathBuf>,
    /// Every locked atom's export, by key (`<atomic number>@<version>`), with its requirements.
    atoms: BTreeMap<String, Node>,
    /// The atom's own requirements: `from.<name>` to a key, its pins and its sources.
    top: Scopes,
    /// Every pin of the closure, by an index of its own (`p<n>`).
    pins: BTreeMap<String, serde_json::Value>,
    /// Every source of the closure, by an index of its own (`s<n>`).
    srcs: BTreeMap<String, serde_json::Value>,
    /// With [`Exports::Shared`]: each locked atom's shared export on the host and where it must
    /// appear (bound read-only), relative to the directory written into. Empty with
    /// [`Exports::Copy`], which writes the atoms there.
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Bytes of the objects written, for people who measure.
    pub bytes: u64,
}

/// What one atom sees: `from.<name>` (atoms by key, pins by index) and `get.<name>`.
#[derive(Debug, Clone, Default)]
struct Scopes {
    requires: BTreeMap<String, String>,
    pins: BTreeMap<String, String>,
    srcs: BTreeMap<String, String>,
}

/// One exported atom.
#[derive(Debug, Clone, Default)]
struct Node {
    root: PathBuf,
    scopes: Scopes,
}

impl Scopes {
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("requires".into(), serde_json::json!(self.requires));
        m.insert("pins".into(), serde_json::json!(self.pins));
        m.insert("srcs".into(), serde_json::json!(self.srcs));
        m
    }
}

impl Materialised {
    /// The dependency graph as the Nix driver takes it: JSON
    /// `{"atoms": {<key>: {"root": <dir>, "requires": {<name>: <key>}, "pins": {<name>: <pin>},
    /// "srcs": {<name>: <src>}}}, "pins": {<pin>: {"root", "entry", "hash"}}, "srcs": {<src>:
    /// {"name", "hash", and "url" or "root"}}, "requires", "pins", "srcs"}` (the last three the
    /// atom's own), with each directory relative to the directory written into.
    pub fn graph(&self) -> String {
        let atoms: serde_json::Map<String, serde_json::Value> = self
            .atoms
            .iter()
            .map(|(key, node)| {
                let mut m = node.scopes.json();
                m.insert("root".into(), node.root.to_string_lossy().into());
                (key.clone(), serde_json::Value::Object(m))
            })
            .collect();
        let mut m = self.top.json();
        m.insert("atoms".into(), serde_json::Value::Object(atoms));
        m.insert("pinned".into(), serde_json::json!(self.pins));
        m.insert("sources".into(), serde_json::json!(self.srcs));
        serde_json::Value::Object(m).to_string()
    }

    /// The scopes of the atom `owner` (`None`: the atom evaluated).
    fn scopes(&mut self, owner: Option<&AtomKey>) -> &mut Scopes {
        match owner {
            None => &mut self.top,
            Some(key) => &mut self.atoms.entry(key.to_string()).or_default().scopes,
        }
    }

    /// How many locked atoms were exported.
    pub fn atom_count(&self) -> usize {
        self.atoms.len()
    }
}

/// How [`Subject::materialise`] provides the locked atoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exports {
    /// Copy every locked atom into the directory written into (read like any other file there:
    /// what an evaluator without a mount namespace of its own needs).
    Copy,
    /// Export each locked atom's tree once into the shared exports beside the atom cache,
    /// `$XDG_CACHE_HOME/atom/exports/<tree id>`, kept for later evaluations (a tree id names its
    /// content, so an export never changes), and list it in [`Materialised::binds`] for the
    /// sandbox to bind read-only: nothing is written per evaluation.
    Shared,
}

impl Subject {
    /// Open what `spec` names: read a directory, or resolve and fetch a URI; check the manifest
    /// and the lock.
    pub fn open(spec: &Spec) -> Result<Self, Error> {
        match spec {
            Spec::Dir(dir) => Self::open_dir(dir),
            Spec::Uri(uri) => Self::open_uri(uri),
        }
    }

    /// The directory to bind into the sandbox, for a directory atom.
    pub fn dir(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Dir(dir) => Some(dir),
            Origin::Cache { .. } => None,
        }
    }

    fn open_dir(dir: &Path) -> Result<Self, Error> {
        let dir = dir.canonicalize().map_err(|source| Error::Dir {
            path: dir.to_owned(),
            source,
        })?;
        if !dir.is_dir() {
            return Err(Error::Dir {
                path: dir,
                source: io::Error::from(io::ErrorKind::NotADirectory),
            });
        }
        let atom_part = identity::atom_digest(&dir)?;
        let lock_part = identity::lock_digest(&dir)?;
        // Without a manifest it is a plain module tree: no dependencies, nothing to check.
        let lock = if dir.join(MANIFEST_FILE).is_file() {
            let top = GitStore::discover(&dir)
                .ok()
                .and_then(|s| s.work_dir().map(Path::to_owned))
                .map(|p| p.canonicalize().unwrap_or(p));
            let local = LocalAtom::at(&dir, top.as_deref())?;
            check(
                &local.manifest,
                local.lock.as_ref(),
                local.repo_path.as_deref().unwrap_or(""),
                &local.lock_path().display().to_string(),
                Fix::Resolve(dir.clone()),
                local.repo_path.is_some(),
            )?;
            local.lock
        } else {
            None
        };
        Ok(Subject {
            origin: Origin::Dir(dir),
            lock,
            atom_part,
            lock_part,
        })
    }

    fn open_uri(raw: &str) -> Result<Self, Error> {
        let aliases = aliases()?;
        let uri = Uri::parse(raw, &aliases)?;
        let Some(address) = uri.address.clone() else {
            return Err(Error::NoAddress {
                uri: raw.escape_debug().to_string(),
                label: uri.label.to_string(),
            });
        };
        let cache = cache()?;
        let url = address.redacted();
        let prefix = format!("{}{}/", atom_lib::Format::Atom1.ref_prefix(), uri.label);
        let list_err = |source| Error::List {
            url: url.clone(),
            source,
        };
        // One connection carries the listing and the fetch (a protocol v2 session).
        let connection = cache.connect(&address.git_url()).map_err(list_err)?;
        let refs = {
            let _span = tracing::info_span!("list", url = %url).entered();
            connection.list(&cache, &[&prefix]).map_err(list_err)?
        };
        let resolution = resolve::resolve(&refs, &uri.label, uri.requirement.as_ref(), &url)?;
        let atom = resolution.selected_ref();
        let commit = resolution.selected.commit;
        tracing::info!(atom = %atom, %commit, "resolved");
        let wanted = [admit::Wanted::listed(atom.clone(), commit)];
        let request = admit::Request {
            wanted: &wanted,
            contents: admit::Contents::Whole,
            listed: &refs,
            verbosity: Verbosity::default(),
        };
        admit::admit(&cache, &connection, &url, &request).map_err(|e| Error::Admit(Box::new(e)))?;
        let shown = format!("{}@{}", atom.label, atom.version);
        let store_err = |source| Error::Store {
            what: shown.clone(),
            source,
        };
        let (tree, _) = cache.commit_tree_and_parents(commit).map_err(store_err)?;
        let published = |problem: String| Error::Published {
            atom: shown.clone(),
            commit,
            problem,
        };
        let entries = cache.tree_entries(tree).map_err(store_err)?;
        let blob = |name: &str| -> Result<Option<Vec<u8>>, Error> {
            match entries
                .iter()
                .find(|e| e.name == name.as_bytes() && e.kind == EntryKind::Blob)
            {
                Some(e) => cache.read_blob(e.oid).map(Some).map_err(store_err),
                None => Ok(None),
            }
        };
        let manifest_bytes = blob(MANIFEST_FILE)?
            .ok_or_else(|| published(format!("it has no `{MANIFEST_FILE}`")))?;
        let manifest_path = format!("{shown}:{MANIFEST_FILE}");
        let lock_path = format!("{shown}:{LOCK_FILE}");
        let manifest = Manifest::parse(&manifest_bytes, &manifest_path)
            .map_err(|e| published(e.to_string()))?;
        let lock_bytes = blob(LOCK_FILE)?;
        let lock = lock_bytes
            .as_deref()
            .map(|bytes| Lock::parse(bytes, &lock_path))
            .transpose()
            .map_err(|e| published(e.to_string()))?;
        // Its path sources are relative to its directory in its repository (`atom-path`).
        let atom_dir = atom_lib::commit::recorded_path(&cache, commit).map_err(store_err)?;
        check(
            &manifest,
            lock.as_ref(),
            &atom_dir,
            &lock_path,
            Fix::Republish,
            true,
        )?;
        Ok(Subject {
            origin: Origin::Cache {
                atom,
                commit,
                tree,
                home: Home::of(&address, &[]),
            },
            lock,
            atom_part: commit.to_string(),
            lock_part: lock_bytes.map_or_else(
                || identity::NO_LOCK.to_owned(),
                |b| blake3::hash(&b).to_hex().to_string(),
            ),
        })
    }

    /// Every locked atom the atom needs, in the lock's order (a current lock has no other).
    pub fn dependencies(&self) -> Vec<&LockedAtom> {
        self.lock.iter().flat_map(|l| l.atoms.iter()).collect()
    }

    /// Export the atom (for a URI) and every locked dependency from the atom cache into `into`
    /// (which the sandbox sees read-only) or, with [`Exports::Shared`], the dependencies into
    /// the shared exports to be bound there, fetching what the cache lacks from the lock's URLs.
    pub fn materialise(&self, into: &Path, how: Exports) -> Result<Materialised, Error> {
        let deps = self.dependencies();
        let mut out = Materialised::default();
        let pinned = self
            .lock
            .as_ref()
            .is_some_and(|l| !l.pins.is_empty() || !l.srcs.is_empty());
        if deps.is_empty() && !pinned && self.dir().is_some() {
            return Ok(out);
        }
        let cache = cache()?;
        fetch_missing(&cache, &deps)?;
        if let Some(lock) = self.lock.as_ref().filter(|l| !l.atoms.is_empty()) {
            let options = atom_lib::proof::Options {
                lock: LOCK_FILE,
                contents: admit::Contents::Whole,
                offline: false,
            };
            atom_lib::proof::prove(&cache, lock, &options)
                .map_err(|e| Error::Proof(Box::new(e)))?;
        }
        if let Origin::Cache { atom, tree, .. } = &self.origin {
            let rel = PathBuf::from("atom").join(atom.label.as_str());
            let shown = format!("{}@{}", atom.label, atom.version);
            out.bytes += export(&cache, *tree, &into.join(&rel), &shown, 0)?;
            out.atom = Some(rel);
        }
        for locked in deps {
            let shown = format!("{}@{}", locked.label, locked.version);
            let (tree, _) = cache
                .commit_tree_and_parents(locked.commit)
                .map_err(|source| Error::Store {
                    what: shown.clone(),
                    source,
                })?;
            if tree != locked.tree {
                return Err(Error::TreeMismatch {
                    atom: shown,
                    commit: locked.commit,
                    found: tree,
                    locked: locked.tree,
                });
            }
            // `deps/<atomic number>/<version>/<label>`: unique, and the directory's name (what
            // atom-nix names its store copies after) is the label.
            let rel = PathBuf::from("deps")
                .join(locked.id.to_string())
                .join(locked.version.to_string())
                .join(locked.label.as_str());
            match how {
                Exports::Copy => {
                    out.bytes += export(&cache, locked.tree, &into.join(&rel), &shown, 0)?;
                }
                Exports::Shared => {
                    let dir = cache.git_dir().parent().unwrap_or(cache.git_dir());
                    // `exports`, not the `trees` of versions that did not check links.
                    let shared = export_shared(&cache, locked.tree, &dir.join("exports"), &shown)?;
                    out.binds.push((shared, rel.clone()));
                }
            }
            let requires = locked
                .requires
                .iter()
                .map(|(name, key)| (name.to_string(), key.to_string()))
                .collect();
            out.atoms.insert(
                locked.key().to_string(),
                Node {
                    root: rel,
                    scopes: Scopes {
                        requires,
                        ..Scopes::default()
                    },
                },
            );
        }
        if let Some(lock) = &self.lock {
            out.top.requires = lock
                .requires
                .iter()
                .map(|(name, key)| (name.to_string(), key.to_string()))
                .collect();
            for (i, pin) in lock.pins.iter().enumerate() {
                let id = format!("p{i}");
                let value = self.materialise_pin(&cache, pin, &id, into, how, &mut out)?;
                out.pins.insert(id.clone(), value);
                out.scopes(pin.owner.as_ref())
                    .pins
                    .insert(pin.name.to_string(), id);
            }
            self.fetch_path_sources(&cache, lock)?;
            for (i, src) in lock.srcs.iter().enumerate() {
                let id = format!("s{i}");
                let value = self.materialise_src(&cache, lock, src, &id, into, &mut out.bytes)?;
                out.srcs.insert(id.clone(), value);
                out.scopes(src.owner.as_ref())
                    .srcs
                    .insert(src.name.to_string(), id);
            }
        }
        Ok(out)
    }

    /// Export a pin: a git pin's tree from the cache (fetched first if missing), a tarball pin
    /// downloaded and unpacked here (its hash checked against the lock's). Its graph entry.
    fn materialise_pin(
        &self,
        cache: &GitStore,
        pin: &LockedPin,
        id: &str,
        into: &Path,
        how: Exports,
        out: &mut Materialised,
    ) -> Result<serde_json::Value, Error> {
        let mut bound = false;
        let what = shown("pins", &pin.name.to_string(), pin.owner.as_ref());
        let rel = PathBuf::from("pins").join(id);
        let (root, hash) = match &pin.source {
            PinSource::Git { git, rev, hash, .. } => {
                let tree = git_tree(cache, git, *rev, &what)?;
                out.bytes += export(cache, tree, &into.join(&rel), &what, 0)?;
                let hash = match hash {
                    Some(h) => h.to_string(),
                    None => pins::tree_hash(cache, tree)
                        .map_err(|source| Error::Store {
                            what: what.clone(),
                            source,
                        })?
                        .to_string(),
                };
                (rel, hash)
            }
            PinSource::Tarball { url, hash } => {
                // Unpacked once into the cache, under its locked hash; bound read-only or
                // copied, as the atoms are.
                let base = cache.git_dir().parent().unwrap_or(cache.git_dir());
                // `unpacked`, not the `tarballs` of versions that did not check links.
                let shared = shared_tarball(cache, url, hash, &base.join("unpacked"), &what)?;
                match how {
                    Exports::Shared => {
                        // Bound under the dependencies' base, beside the atoms.
                        let rel =
                            PathBuf::from("pins").join(shared.file_name().unwrap_or_default());
                        out.binds.push((shared, rel.clone()));
                        bound = true;
                        (rel, hash.to_string())
                    }
                    Exports::Copy => {
                        out.bytes += copy_tree(&shared, &into.join(&rel))?;
                        (rel, hash.to_string())
                    }
                }
            }
        };
        let entry = pin
            .entry
            .as_ref()
            .map_or_else(|| "default.nix".to_owned(), ToString::to_string);
        let mut value = serde_json::json!({
            "root": root.to_string_lossy(),
            "entry": entry,
            "hash": hash,
        });
        if bound {
            value["shared"] = serde_json::Value::Bool(true);
        }
        Ok(value)
    }

    /// Describe a source: a URL for the builder to fetch, or a tree exported here (a git
    /// source's from the cache, a path source's from the atom's own repository). Its graph entry.
    fn materialise_src(
        &self,
        cache: &GitStore,
        lock: &Lock,
        src: &LockedSrc,
        id: &str,
        into: &Path,
        bytes: &mut u64,
    ) -> Result<serde_json::Value, Error> {
        let what = shown("srcs", &src.name.to_string(), src.owner.as_ref());
        let rel = PathBuf::from("srcs").join(id);
        match &src.source {
            SrcSource::Url { url, hash } => Ok(serde_json::json!({
                "url": url.to_string(),
                "hash": hash.to_string(),
                "name": store_name(url.as_str()),
            })),
            SrcSource::Git { git, rev, hash, .. } => {
                let tree = git_tree(cache, git, *rev, &what)?;
                *bytes += export(cache, tree, &into.join(&rel), &what, 0)?;
                Ok(serde_json::json!({
                    "root": rel.to_string_lossy(),
                    "hash": hash.to_string(),
                    "name": "source",
                }))
            }
            SrcSource::Path { path, object, hash } => {
                // A local atom's from its repository; a fetched atom's from the cache, where
                // `fetch_path_sources` put it.
                let local;
                let repo = match self.home_of(lock, src) {
                    Some(_) => cache,
                    None => {
                        local = self
                            .dir()
                            .and_then(|d| GitStore::discover(d).ok())
                            .ok_or_else(|| Error::FetchedPathSource {
                                lock: LOCK_FILE.to_owned(),
                                name: src.name.to_string(),
                                of: String::new(),
                            })?;
                        &local
                    }
                };
                let missing = |object: String| Error::PathObjectMissing {
                    what: what.clone(),
                    object,
                };
                let root = match object {
                    PathObject::Tree(tree) => {
                        if !repo.has_object(*tree) {
                            return Err(missing(format!("tree {tree}")));
                        }
                        *bytes += export(repo, *tree, &into.join(&rel), &what, 0)?;
                        rel
                    }
                    PathObject::Blob(blob) => {
                        if !repo.has_object(*blob) {
                            return Err(missing(format!("blob {blob}")));
                        }
                        let dir = into.join(&rel);
                        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
                            path: dir.clone(),
                            source,
                        })?;
                        let data = repo.read_blob(*blob).map_err(|source| Error::Store {
                            what: what.clone(),
                            source,
                        })?;
                        let file = dir.join("file");
                        std::fs::write(&file, &data).map_err(|source| Error::Write {
                            path: file.clone(),
                            source,
                        })?;
                        *bytes += data.len() as u64;
                        rel.join("file")
                    }
                };
                Ok(serde_json::json!({
                    "root": root.to_string_lossy(),
                    "hash": hash.to_string(),
                    "name": store_name(path),
                }))
            }
        }
    }
}

impl Subject {
    /// Where a path source comes from: `None` for the local repository (a directory atom's own
    /// and its path dependencies'), else the repository of the fetched atom that owns it (an
    /// atom's path dependencies live in its repository).
    fn home_of(&self, lock: &Lock, src: &LockedSrc) -> Option<Home> {
        let owner = src.owner.as_ref().and_then(|key| lock.atom(key));
        match (owner.map(|a| &a.origin), &self.origin) {
            (Some(LockOrigin::Url { url, mirrors }), _) => Some(Home::of(url, mirrors)),
            (_, Origin::Cache { home, .. }) => Some(home.clone()),
            (_, Origin::Dir(_)) => None,
        }
    }

    /// Fetch into the cache the trees and blobs of fetched atoms' path sources that it lacks,
    /// by id from their atoms' repositories (one fetch per repository, its URL then its
    /// mirrors), admitted by id ([`admit::objects`]). Objects are named by their hashes, so
    /// what arrives is what the lock pins, or it is not there.
    fn fetch_path_sources(&self, cache: &GitStore, lock: &Lock) -> Result<(), Error> {
        // Per repository: where, and each object with `tree <id>`/`blob <id>` and its source.
        type Wanted = (Home, Vec<(Oid, String, String)>);
        let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
        for src in &lock.srcs {
            let SrcSource::Path { object, .. } = &src.source else {
                continue;
            };
            let Some(home) = self.home_of(lock, src) else {
                continue;
            };
            let (oid, kind) = match object {
                PathObject::Tree(t) => (*t, format!("tree {t}")),
                PathObject::Blob(b) => (*b, format!("blob {b}")),
            };
            if cache.has_object(oid) {
                continue;
            }
            let what = shown("srcs", &src.name.to_string(), src.owner.as_ref());
            wanted
                .entry(home.shown.clone())
                .or_insert_with(|| (home, Vec::new()))
                .1
                .push((oid, kind, what));
        }
        for (home, objects) in wanted.values() {
            let wants: Vec<Oid> = objects.iter().map(|(oid, ..)| *oid).collect();
            let (_, first_kind, first_what) = &objects[0];
            let failed = |reason: String| Error::PathSourceFetch {
                what: first_what.clone(),
                object: first_kind.clone(),
                url: home.shown.clone(),
                reason,
            };
            let mut reasons = Vec::new();
            let mut admitted = false;
            for url in &home.urls {
                let _span = tracing::info_span!("fetch path sources", url = %home.shown).entered();
                let attempt = cache
                    .connect(url)
                    .map_err(|source| admit::ObjectsError::Transfer {
                        what: first_kind.clone(),
                        remote: home.shown.clone(),
                        source,
                    })
                    .and_then(|connection| {
                        admit::objects(
                            cache,
                            &connection,
                            &home.shown,
                            &wants,
                            atom_lib::store::git::Filter::Everything,
                        )
                    });
                match attempt {
                    Ok(()) => {
                        admitted = true;
                        break;
                    }
                    Err(admit::ObjectsError::NotSent { oid, .. }) => {
                        let (_, kind, what) = objects
                            .iter()
                            .find(|(o, ..)| *o == oid)
                            .unwrap_or(&objects[0]);
                        return Err(Error::PathSourceFetch {
                            what: what.clone(),
                            object: kind.clone(),
                            url: home.shown.clone(),
                            reason: "the repository did not send it".into(),
                        });
                    }
                    Err(e) => reasons.push(atom_lib::error_chain(&e)),
                }
            }
            if !admitted {
                return Err(failed(reasons.join("; ")));
            }
        }
        Ok(())
    }
}

/// The user's aliases: the git config of the repository around the current directory, else the
/// user's global one.
fn aliases() -> Result<Aliases, Error> {
    let store_err = |source| Error::Store {
        what: "git config".into(),
        source,
    };
    let around = std::env::current_dir()
        .ok()
        .and_then(|d| GitStore::discover(&d).ok());
    let config = match around {
        Some(store) => store.config(),
        None => GitStore::scratch().and_then(|s| s.config()),
    }
    .map_err(store_err)?;
    Aliases::from_config(&config).map_err(Error::Alias)
}

/// Check the manifest and the lock of the atom to evaluate. `has_home` says whether the
/// atom's own path sources can be had: it is in a repository, or fetched from one.
fn check(
    manifest: &Manifest,
    lock: Option<&Lock>,
    atom_dir: &str,
    lock_path: &str,
    fix: Fix,
    has_home: bool,
) -> Result<(), Error> {
    let Some(lock) = lock else {
        if manifest.deps.is_empty() && manifest.pins.is_empty() && manifest.srcs.is_empty() {
            return Ok(());
        }
        return Err(Error::MissingLock {
            lock: lock_path.to_owned(),
            fix,
        });
    };
    let stale = lock.check(manifest, atom_dir);
    if !stale.is_empty() {
        return Err(Error::StaleLock {
            lock: lock_path.to_owned(),
            reasons: stale.iter().map(ToString::to_string).collect(),
            fix,
        });
    }
    // A path source of the atom itself or of one of its path dependencies is exported from the
    // atom's own repository (a directory atom's working repository, or a fetched atom's remote);
    // one of an atom from elsewhere is fetched from that atom's repository.
    if has_home {
        return Ok(());
    }
    for src in &lock.srcs {
        if !matches!(src.source, SrcSource::Path { .. }) {
            continue;
        }
        let own = match &src.owner {
            None => true,
            Some(key) => lock
                .atom(key)
                .is_none_or(|a| matches!(a.origin, LockOrigin::Path { .. })),
        };
        if own {
            return Err(Error::FetchedPathSource {
                lock: lock_path.to_owned(),
                name: src.name.to_string(),
                of: src
                    .owner
                    .as_ref()
                    .map_or_else(String::new, |k| format!(" of {k}")),
            });
        }
    }
    Ok(())
}

/// `` `pins.<name>` `` or `` `pins.<name>` of <key> ``.
fn shown(section: &str, name: &str, owner: Option<&AtomKey>) -> String {
    match owner {
        None => format!("`{section}.{name}`"),
        Some(key) => format!("`{section}.{name}` of {key}"),
    }
}

/// A store path name for a source at `location` (a URL or a path): its last component when Nix
/// accepts it as a name, else `source`.
fn store_name(location: &str) -> String {
    let last = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let last = last.split(['?', '#']).next().unwrap_or_default();
    let valid = !last.is_empty()
        && !last.starts_with('.')
        && last.len() <= 200
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._?=".contains(c));
    if valid {
        last.to_owned()
    } else {
        "source".to_owned()
    }
}

/// The tree of commit `rev` of `git`, fetched into the cache first if missing.
fn git_tree(
    cache: &GitStore,
    git: &atom_lib::uri::Address,
    rev: Oid,
    what: &str,
) -> Result<Oid, Error> {
    pins::fetch_commit(cache, git, rev, what)?;
    let (tree, _) = cache
        .commit_tree_and_parents(rev)
        .map_err(|source| Error::Store {
            what: what.to_owned(),
            source,
        })?;
    Ok(tree)
}

/// Fetch the locked atoms the cache lacks: one fetch per repository, from its URL, else each of
/// its mirrors in turn.
fn fetch_missing(cache: &GitStore, deps: &[&LockedAtom]) -> Result<(), Error> {
    // By the address written in the lock: every address to try, the one to show, the atoms.
    type Batch = (Vec<String>, String, Vec<admit::Wanted>);
    let mut by_repo: BTreeMap<String, Batch> = BTreeMap::new();
    for locked in deps.iter().filter(|a| !cache.has_object(a.commit)) {
        let LockOrigin::Url { url, mirrors } = &locked.origin else {
            return Err(Error::Fetch {
                atom: format!("{}@{}", locked.label, locked.version),
                url: "a path".into(),
                reason: "path dependencies are not evaluated by this version of eka-run".into(),
            });
        };
        let entry = by_repo.entry(url.to_string()).or_insert_with(|| {
            let mut urls = vec![url.git_url()];
            urls.extend(mirrors.iter().map(|m| m.git_url()));
            (urls, url.redacted(), Vec::new())
        });
        entry.2.push(admit::Wanted {
            atom: AtomRef::new(locked.label.clone(), locked.version.clone()),
            commit: locked.commit,
            tree: Some(locked.tree),
        });
    }
    for (urls, shown, atoms) in by_repo.values() {
        fetch(cache, urls, shown, atoms)?;
    }
    Ok(())
}

/// Admit `atoms` (the commits and trees a lock records) from the first of `urls` that can
/// be reached: each is checked before anything enters the cache.
fn fetch(
    cache: &GitStore,
    urls: &[String],
    shown: &str,
    atoms: &[admit::Wanted],
) -> Result<(), Error> {
    let request = admit::Request {
        wanted: atoms,
        contents: admit::Contents::Whole,
        listed: &[],
        verbosity: Verbosity::default(),
    };
    let _span = tracing::info_span!("fetch", url = %shown, atoms = atoms.len()).entered();
    admit::admit_any(cache, urls, shown, &request).map_err(|e| Error::Admit(Box::new(e)))?;
    Ok(())
}

/// The unpacked tarball of a pin in `dir` (`<dir>/<BLAKE3 of its locked hash>`), downloaded
/// first when it is not there: unpacked into a temporary directory beside it, its NAR hash
/// checked against the lock's, renamed into place (a reader never sees a partial one, and two
/// evaluations downloading it at once both succeed). Nix checks the hash again when it copies
/// the pin into the store.
fn shared_tarball(
    cache: &GitStore,
    url: &atom_lib::manifest::Url,
    hash: &atom_lib::lock::Sri,
    dir: &Path,
    what: &str,
) -> Result<PathBuf, Error> {
    let shared = dir.join(blake3::hash(hash.to_string().as_bytes()).to_hex().as_str());
    // A directory, not a link to one (`symlink_metadata` does not follow): the unpacker checked
    // it was confined when it wrote it.
    if std::fs::symlink_metadata(&shared).is_ok_and(|m| m.is_dir()) {
        return Ok(shared);
    }
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let unpacked = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(dir)
        .map_err(write_err(dir))?;
    let http = cache.http_settings().map_err(|source| Error::Store {
        what: "git config".into(),
        source,
    })?;
    let top = pins::fetch_tarball(url, &http, unpacked.path(), what)?;
    let found = atom_lib::nar::hash_path(&top).map_err(|source| pins::Error::Hash {
        what: what.to_owned(),
        source,
    })?;
    if &found != hash {
        return Err(Error::PinHash {
            what: what.to_owned(),
            url: url.to_string(),
            found: found.to_string(),
            locked: hash.to_string(),
        });
    }
    match std::fs::rename(&top, &shared) {
        Ok(()) => Ok(shared),
        Err(_) if std::fs::symlink_metadata(&shared).is_ok_and(|m| m.is_dir()) => Ok(shared),
        Err(source) => Err(Error::Write {
            path: shared,
            source,
        }),
    }
}

/// Copies the directory `from` to `to` (files with their executable bit, symlinks as links);
/// returns the bytes of the files.
fn copy_tree(from: &Path, to: &Path) -> Result<u64, Error> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    // Never through a link: `read_dir` would follow one at the top.
    let meta = std::fs::symlink_metadata(from).map_err(write_err(from))?;
    if !meta.is_dir() {
        return Err(Error::Write {
            path: from.to_owned(),
            source: std::io::Error::other("not a directory"),
        });
    }
    std::fs::create_dir_all(to).map_err(write_err(to))?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).map_err(write_err(from))? {
        let entry = entry.map_err(write_err(from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(write_err(&source))?;
        if kind.is_dir() {
            bytes += copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&source).map_err(write_err(&source))?;
            std::os::unix::fs::symlink(link, &target).map_err(write_err(&target))?;
        } else if kind.is_file() {
            // `fs::copy` keeps the permission bits, the executable one included.
            bytes += std::fs::copy(&source, &target).map_err(write_err(&target))?;
        }
    }
    Ok(bytes)
}

/// The export of `tree` in the shared exports `dir` (`<dir>/<tree id>`), written first when it
/// is not there: into a temporary directory beside it, renamed into place, so a reader never
/// sees a partial export and two evaluations exporting the same tree at once both succeed.
fn export_shared(cache: &GitStore, tree: Oid, dir: &Path, atom: &str) -> Result<PathBuf, Error> {
    let target = dir.join(tree.to_string());
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Ok(target);
    }
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let staging = tempfile::Builder::new()
        .prefix(".export.")
        .tempdir_in(dir)
        .map_err(write_err(dir))?;
    let tmp = staging.path().join("tree");
    export(cache, tree, &tmp, atom, 0)?;
    match std::fs::rename(&tmp, &target) {
        Ok(()) => {}
        // Another evaluation exported the same tree first: the same content.
        Err(_) if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) => {}
        Err(source) => {
            return Err(Error::Write {
                path: target,
                source,
            })
        }
    }
    Ok(target)
}

/// How deep an exported tree may nest (a hostile tree must not exhaust the stack).
const MAX_DEPTH: usize = 256;

/// Write the tree `tree` of the cache into `dir` (created, with its parents): blobs as files
/// (`100755` ones executable), symlinks as symlinks (never followed), submodules as empty
/// directories (as git checks out one that is not initialised). Nothing is written through a
/// link or over an entry (a tree that names an entry twice is refused), no `.git` entry is
/// written, and the result must be confined (`atom_lib::confine`: no link leads out of it).
/// Returns the bytes written.
fn export(cache: &GitStore, tree: Oid, dir: &Path, atom: &str, depth: usize) -> Result<u64, Error> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_owned(),
            source,
        })?;
    }
    let bytes = write_tree(cache, tree, dir, atom, depth)?;
    atom_lib::confine::check(dir).map_err(|source| Error::Confined {
        what: atom.to_owned(),
        source,
    })?;
    Ok(bytes)
}

/// Writes `tree` as the new directory `dir` (see [`export`]).
fn write_tree(
    cache: &GitStore,
    tree: Oid,
    dir: &Path,
    atom: &str,
    depth: usize,
) -> Result<u64, Error> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    let store_err = |source| Error::Store {
        what: atom.to_owned(),
        source,
    };
    std::fs::create_dir(dir).map_err(write_err(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(write_err(dir))?;
    let mut bytes = 0;
    for entry in cache.tree_entries(tree).map_err(store_err)? {
        let bad = |reason| Error::BadEntry {
            atom: atom.to_owned(),
            name: atom_lib::escape::escaped(&String::from_utf8_lossy(&entry.name)).to_string(),
            reason,
        };
        let name = entry.name.as_slice();
        if name.is_empty() || name == b"." || name == b".." {
            return Err(bad("not a file name"));
        }
        if name.contains(&b'/') || name.contains(&0) {
            return Err(bad("a name holds `/` or NUL"));
        }
        if atom_lib::confine::entry_name(name).is_err() {
            return Err(bad("an exported tree holds no `.git`"));
        }
        let path = dir.join(std::ffi::OsStr::from_bytes(name));
        let twice = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                bad("the tree names it twice")
            } else {
                Error::Write {
                    path: path.clone(),
                    source,
                }
            }
        };
        match entry.kind {
            EntryKind::Tree => {
                if depth >= MAX_DEPTH {
                    return Err(bad("the tree nests too deep"));
                }
                bytes += write_tree(cache, entry.oid, &path, atom, depth + 1)?;
            }
            EntryKind::Blob => {
                let data = cache.read_blob(entry.oid).map_err(store_err)?;
                bytes += data.len() as u64;
                let mode = if entry.executable { 0o555 } else { 0o444 };
                // `create_new` never opens an existing entry, nor follows a link.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&path)
                    .map_err(twice)?;
                std::io::Write::write_all(&mut file, &data).map_err(write_err(&path))?;
                file.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(write_err(&path))?;
            }
            EntryKind::Link => {
                let target = cache.read_blob(entry.oid).map_err(store_err)?;
                bytes += target.len() as u64;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &path)
                    .map_err(twice)?;
            }
            EntryKind::Submodule => {
                std::fs::create_dir(&path).map_err(twice)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(write_err(&path))?;
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_wins_and_a_uri_needs_a_double_colon() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a::b");
        std::fs::create_dir(&odd).unwrap();
        let s = odd.to_str().unwrap();
        assert_eq!(Spec::parse(s).unwrap(), Spec::Dir(odd.clone()));
        assert_eq!(
            Spec::parse("gh:owner/repo::foo@1").unwrap(),
            Spec::Uri("gh:owner/repo::foo@1".into())
        );
        assert_eq!(
            Spec::parse("./atom").unwrap(),
            Spec::Dir(PathBuf::from("./atom"))
        );
        assert!(Spec::parse("").is_err());
    }

    #[test]
    fn the_graph_names_every_export_relative_to_the_exports() {
        let mut m = Materialised::default();
        m.atoms.insert(
            "k1@1.0.0".into(),
            Node {
                root: PathBuf::from("deps/k1/1.0.0/base"),
                scopes: Scopes {
                    requires: BTreeMap::from([("util".into(), "k2@0.1.0".into())]),
                    ..Scopes::default()
                },
            },
        );
        m.top.requires.insert("base".into(), "k1@1.0.0".into());
        m.top.pins.insert("lib".into(), "p0".into());
        m.top.srcs.insert("src".into(), "s0".into());
        m.pins.insert(
            "p0".into(),
            serde_json::json!({"root": "pins/p0", "entry": "default.nix", "hash": "sha256-x"}),
        );
        m.srcs.insert(
            "s0".into(),
            serde_json::json!({"url": "http://h/a.tar", "hash": "sha256-y", "name": "a.tar"}),
        );
        let graph: serde_json::Value = serde_json::from_str(&m.graph()).unwrap();
        assert_eq!(
            graph,
            serde_json::json!({
                "atoms": {"k1@1.0.0": {"root": "deps/k1/1.0.0/base", "requires": {"util": "k2@0.1.0"}, "pins": {}, "srcs": {}}},
                "requires": {"base": "k1@1.0.0"},
                "pins": {"lib": "p0"},
                "srcs": {"src": "s0"},
                "pinned": {"p0": {"root": "pins/p0", "entry": "default.nix", "hash": "sha256-x"}},
                "sources": {"s0": {"url": "http://h/a.tar", "hash": "sha256-y", "name": "a.tar"}},
            })
        );
    }

    #[test]
    fn store_names_are_the_last_component_when_nix_takes_it() {
        assert_eq!(store_name("https://h/x/pkg-1.2.tar.gz"), "pkg-1.2.tar.gz");
        assert_eq!(store_name("https://h/x/get?v=1"), "get");
        assert_eq!(store_name("data/f"), "f");
        assert_eq!(store_name("https://h/x/.hidden"), "source");
        assert_eq!(store_name("https://h/x/a%20b"), "source");
    }

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
