//! Opening the atom the command line names: a directory read where it is, or a URI resolved
//! and fetched into the atom cache; its manifest and lock checked.

use std::io;
use std::path::{Path, PathBuf};

use atom_lib::admit;
use atom_lib::local::{self, LocalAtom};
use atom_lib::lock::{LockedAtom, LockedSrc, Origin as LockOrigin, SrcSource, LOCK_FILE};
use atom_lib::manifest::{Manifest, MANIFEST_FILE};
use atom_lib::resolve;
use atom_lib::store::git::Verbosity;
use atom_lib::uri::{Aliases, Uri};
use atom_lib::variant::{Choice, Selection, Variants};
use atom_lib::{AtomRef, GitStore, Lock, Oid};

use super::error::{Error, Fix};
use super::spec::Spec;
use crate::identity;

/// The signature policy atoms enter the cache under: the user's git configuration's
/// (`atom.requireSignature`, `gpg.ssh.allowedSignersFile`, `gpg.ssh.revocationKeyring`), as the
/// cache sees it.
pub(super) fn policy(cache: &GitStore) -> Result<atom_lib::sign::Policy, Error> {
    atom_lib::sign::Policy::from_config(cache).map_err(|source| Error::Store {
        what: "the git configuration".to_owned(),
        source,
    })
}

pub(super) fn cache() -> Result<GitStore, Error> {
    local::cache().map_err(|e| Error::Cache(Box::new(e)))
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
    pub(super) fn of(url: &atom_lib::uri::Address, mirrors: &[atom_lib::uri::Address]) -> Home {
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
    /// The variant selection: the choices made, checked against the manifest's `[provide]`
    /// and `[support]`, with the manifest's defaults for the rest (empty without a manifest).
    pub selection: Selection,
    /// Its manifest (`None`: a plain module tree), whose variants and platforms make the
    /// static build matrix.
    pub manifest: Option<Manifest>,
}

/// An atom opened as far as its identity needs ([`Subject::peek`]).
#[derive(Debug)]
pub struct Peeked {
    subject: Subject,
    /// For a URI: what completing it needs.
    rest: Option<Rest>,
}

/// What [`Peeked::open`] needs of a URI's opening: its connection (one session carries the
/// listing and every fetch), its listing and its signature policy.
#[derive(Debug)]
struct Rest {
    cache: GitStore,
    /// `None` once released ([`Peeked::release`]): connected again if needed.
    connection: Option<atom_lib::store::git::Connection>,
    refs: Vec<atom_lib::store::RemoteRef>,
    address: atom_lib::uri::Address,
    policy: atom_lib::sign::Policy,
    shown: String,
    /// Only the manifest and the lock were fetched.
    sparse: bool,
}

impl Peeked {
    /// The atom as far as it is opened: its identity's parts, manifest, lock and selection.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// Close the remote connection (its session's threads end with it: the sandbox is entered
    /// by a single-threaded process); [`Peeked::open`] connects again if it needs to.
    pub fn release(&mut self) {
        if let Some(rest) = self.rest.as_mut() {
            rest.connection = None;
        }
    }

    /// Complete the opening: for a URI fetched sparsely, the whole atom admitted into the atom
    /// cache (on the same connection); for a URI, its published siblings listed, admitted and
    /// recorded in its lock.
    pub fn open(self) -> Result<Subject, Error> {
        let Peeked { mut subject, rest } = self;
        let Some(rest) = rest else {
            return Ok(subject);
        };
        let Origin::Cache { atom, commit, .. } = &subject.origin else {
            unreachable!("a URI's subject comes from the cache");
        };
        let siblings = subject.lock.as_ref().is_some_and(|lock| {
            lock.atoms
                .iter()
                .any(|a| matches!(a.origin, LockOrigin::Path { .. }))
        });
        if !rest.sparse && !siblings {
            // Nothing left to fetch: no connection (a released one is not made again).
            return Ok(subject);
        }
        let url = rest.address.redacted();
        let connection = match rest.connection {
            Some(connection) => connection,
            None => rest
                .cache
                .connect(&rest.address.git_url())
                .map_err(|source| Error::List {
                    url: url.clone(),
                    source,
                })?,
        };
        if rest.sparse {
            let wanted = [admit::Wanted::listed(atom.clone(), *commit)];
            let request = admit::Request {
                wanted: &wanted,
                signatures: Some(&rest.policy),
                contents: admit::Contents::Whole,
                listed: &rest.refs,
                verbosity: Verbosity::default(),
            };
            admit::admit(&rest.cache, &connection, &url, &request)
                .map_err(|e| Error::Admit(Box::new(e)))?;
        }
        if let Some(lock) = subject.lock.as_mut() {
            published_siblings(
                &rest.cache,
                &connection,
                &rest.address,
                &rest.shown,
                lock,
                &rest.policy,
            )?;
        }
        Ok(subject)
    }
}

impl Subject {
    /// Open what `spec` names: read a directory, or resolve and fetch a URI; check the variant
    /// `choices` against the manifest, then the lock.
    pub fn open(spec: &Spec, choices: &[Choice]) -> Result<Self, Error> {
        match spec {
            Spec::Dir(dir) => Self::open_dir(dir, choices),
            Spec::Uri(uri) => Self::open_uri(uri, choices),
        }
    }

    /// The directory to bind into the sandbox, for a directory atom.
    pub fn dir(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Dir(dir) => Some(dir),
            Origin::Cache { .. } => None,
        }
    }

    fn open_dir(dir: &Path, choices: &[Choice]) -> Result<Self, Error> {
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
        // Without a manifest it is a plain module tree: no dependencies, no variants, nothing to
        // check.
        let (lock, selection, manifest) = if dir.join(MANIFEST_FILE).is_file() {
            let top = GitStore::discover(&dir)
                .ok()
                .and_then(|s| s.work_dir().map(Path::to_owned))
                .map(|p| p.canonicalize().unwrap_or(p));
            let local = LocalAtom::at(&dir, top.as_deref())?;
            let selection = Variants::of(&local.manifest).select(choices)?;
            check(
                &local.manifest,
                local.lock.as_ref(),
                local.repo_path.as_deref().unwrap_or(""),
                &local.lock_path().display().to_string(),
                Fix::Resolve(dir.clone()),
                local.repo_path.is_some(),
            )?;
            (local.lock, selection, Some(local.manifest))
        } else {
            (None, Variants::default().select(choices)?, None)
        };
        Ok(Subject {
            origin: Origin::Dir(dir),
            lock,
            atom_part,
            lock_part,
            selection,
            manifest,
        })
    }

    /// Open what `spec` names as far as its identity needs: a directory is read where it is
    /// (as [`Subject::open`] reads it); a URI is resolved, and with `sparse` only its atom
    /// commit, root tree, `atom.toml` and `atom.lock` are fetched and read without admitting
    /// anything ([`admit::inspect`]: structure and signature checked, nothing written), else the
    /// whole atom is admitted into the atom cache.
    /// [`Peeked::open`] completes it.
    /// `sparse` is asked once the remote's listing is in (so that what it waits for overlaps
    /// the network), and only for a URI.
    pub fn peek(
        spec: &Spec,
        choices: &[Choice],
        sparse: impl FnOnce() -> bool,
    ) -> Result<Peeked, Error> {
        match spec {
            Spec::Dir(dir) => Ok(Peeked {
                subject: Self::open_dir(dir, choices)?,
                rest: None,
            }),
            Spec::Uri(uri) => Self::peek_uri(uri, choices, sparse),
        }
    }

    fn open_uri(raw: &str, choices: &[Choice]) -> Result<Self, Error> {
        Self::peek_uri(raw, choices, || false)?.open()
    }

    fn peek_uri(
        raw: &str,
        choices: &[Choice],
        sparse: impl FnOnce() -> bool,
    ) -> Result<Peeked, Error> {
        let cache = cache()?;
        let aliases = aliases(&cache)?;
        let uri = Uri::parse(raw, &aliases)?;
        let Some(address) = uri.address.clone() else {
            return Err(Error::NoAddress {
                uri: raw.escape_debug().to_string(),
                label: uri.label.to_string(),
            });
        };
        let url = address.redacted();
        // Both formats, eka's metadata refs (its atoms are checked against them) and the
        // identity refs.
        let prefixes = atom_lib::verify::label_prefixes(&uri.label);
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let list_err = |source| Error::List {
            url: url.clone(),
            source,
        };
        // One connection carries the listing and the fetches (a protocol v2 session).
        let connection = cache.connect(&address.git_url()).map_err(list_err)?;
        let refs = {
            let _span = tracing::info_span!("list", url = %url).entered();
            connection.list(&cache, &prefixes).map_err(list_err)?
        };
        let resolution = resolve::resolve(&refs, &uri.label, uri.requirement.as_ref(), &url)?;
        let atom = resolution.selected_ref();
        let commit = resolution.selected.commit;
        tracing::info!(atom = %atom, %commit, "resolved");
        let policy = policy(&cache)?;
        // Only the manifest and the lock, read without admitting the atom (an eka atom is
        // fetched whole, as before).
        let sparse = sparse() && atom.format == atom_lib::Format::Atom1;
        let wanted = [admit::Wanted::listed(atom.clone(), commit)];
        let request = admit::Request {
            wanted: &wanted,
            signatures: Some(&policy),
            contents: admit::Contents::Whole,
            listed: &refs,
            verbosity: Verbosity::default(),
        };
        let shown = format!("{}@{}", atom.label, atom.version);
        let admit_err = |e| Error::Admit(Box::new(e));
        let read = if sparse {
            admit::inspect(&cache, &connection, &url, &request, |view| {
                Read::of(view, commit)
            })
            .map_err(admit_err)?
        } else {
            admit::admit(&cache, &connection, &url, &request).map_err(admit_err)?;
            Read::of(&cache, commit).map_err(|source| Error::Store {
                what: shown.clone(),
                source,
            })?
        };
        let Read {
            tree,
            manifest: manifest_bytes,
            lock: lock_bytes,
            atom_dir,
        } = read;
        let published = |problem: String| Error::Published {
            atom: shown.clone(),
            commit,
            problem,
        };
        let manifest_bytes =
            manifest_bytes.ok_or_else(|| published(format!("it has no `{MANIFEST_FILE}`")))?;
        let manifest_path = format!("{shown}:{MANIFEST_FILE}");
        let lock_path = format!("{shown}:{LOCK_FILE}");
        let manifest = match atom.format {
            atom_lib::Format::Atom1 => Manifest::parse(&manifest_bytes, &manifest_path),
            // An eka atom: only its `[package]` identity is read. A lock there is the eka
            // tool's own format, whose dependencies this suite does not fetch: refused rather
            // than evaluated without them.
            atom_lib::Format::EkaPre1 if lock_bytes.is_some() => {
                return Err(published(format!(
                    "it is an eka atom (format eka/pre1) with an `{LOCK_FILE}` in the eka tool's \
                     own format, whose dependencies eka-run does not fetch; only eka atoms \
                     without dependencies are evaluated"
                )))
            }
            atom_lib::Format::EkaPre1 => Manifest::parse_eka(&manifest_bytes, &manifest_path),
        }
        .map_err(|e| published(e.to_string()))?;
        let selection = Variants::of(&manifest).select(choices)?;
        let lock = lock_bytes
            .as_deref()
            .map(|bytes| Lock::parse(bytes, &lock_path))
            .transpose()
            .map_err(|e| published(e.to_string()))?;
        check(
            &manifest,
            lock.as_ref(),
            &atom_dir,
            &lock_path,
            Fix::Republish,
            true,
        )?;
        let subject = Subject {
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
            selection,
            manifest: Some(manifest),
        };
        Ok(Peeked {
            subject,
            rest: Some(Rest {
                cache,
                connection: Some(connection),
                refs,
                address,
                policy,
                shown,
                sparse,
            }),
        })
    }

    /// Every locked atom the atom needs, in the lock's order (a current lock has no other).
    pub fn dependencies(&self) -> Vec<&LockedAtom> {
        self.lock.iter().flat_map(|l| l.atoms.iter()).collect()
    }
}

impl Subject {
    /// Where a path source comes from: `None` for the local repository (a directory atom's own
    /// and its path dependencies'), else the repository of the fetched atom that owns it (an
    /// atom's path dependencies live in its repository).
    pub(super) fn home_of(&self, lock: &Lock, src: &LockedSrc) -> Option<Home> {
        let owner = src.owner.as_ref().and_then(|key| lock.atom(key));
        match (owner.map(|a| &a.origin), &self.origin) {
            (Some(LockOrigin::Url { url, mirrors }), _) => Some(Home::of(url, mirrors)),
            (_, Origin::Cache { home, .. }) => Some(home.clone()),
            (_, Origin::Dir(_)) => None,
        }
    }
}

/// A fetched atom's siblings (the path entries of its lock: atoms of its repository, locked at
/// the tree its working tree had) are the atoms published there at the locked label and version,
/// which publishing checked have the locked tree (docs/lock.md, "Path dependencies"): listed and
/// admitted on the atom's own connection, their trees held to the locked ones, and recorded in
/// `lock` as fetched from the atom's address.
fn published_siblings(
    cache: &GitStore,
    connection: &atom_lib::store::git::Connection,
    address: &atom_lib::uri::Address,
    shown: &str,
    lock: &mut Lock,
    policy: &atom_lib::sign::Policy,
) -> Result<(), Error> {
    let names: Vec<atom_lib::refs::RefName> = lock
        .atoms
        .iter()
        .filter(|a| matches!(a.origin, LockOrigin::Path { .. }))
        .map(|a| AtomRef::new(a.label.clone(), a.version.clone()).name())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let url = address.redacted();
    let prefixes: Vec<&str> = names.iter().map(atom_lib::refs::RefName::as_str).collect();
    let refs = {
        let _span = tracing::info_span!("list siblings", url = %url).entered();
        connection
            .list(cache, &prefixes)
            .map_err(|source| Error::List {
                url: url.clone(),
                source,
            })?
    };
    let mut wanted = Vec::with_capacity(names.len());
    for atom in &mut lock.atoms {
        let LockOrigin::Path { path } = &atom.origin else {
            continue;
        };
        let reference = AtomRef::new(atom.label.clone(), atom.version.clone());
        let name = reference.name();
        let listed =
            refs.iter()
                .find(|r| r.name == name)
                .ok_or_else(|| Error::SiblingUnpublished {
                    atom: shown.to_owned(),
                    sibling: format!("{}@{}", atom.label, atom.version),
                    path: path.clone(),
                    url: url.clone(),
                })?;
        atom.commit = listed.target();
        atom.origin = LockOrigin::Url {
            url: address.clone(),
            mirrors: Vec::new(),
        };
        wanted.push(admit::Wanted {
            atom: reference,
            commit: atom.commit,
            tree: Some(atom.tree),
        });
    }
    let request = admit::Request {
        wanted: &wanted,
        signatures: Some(policy),
        contents: admit::Contents::Whole,
        listed: &refs,
        verbosity: Verbosity::default(),
    };
    admit::admit(cache, connection, &url, &request).map_err(|e| Error::Admit(Box::new(e)))?;
    Ok(())
}

/// What opening an atom of a URI reads of its commit.
struct Read {
    tree: Oid,
    manifest: Option<Vec<u8>>,
    lock: Option<Vec<u8>>,
    /// Its directory in its repository (`atom-path`), which its path sources are relative to.
    atom_dir: String,
}

impl Read {
    fn of(store: &GitStore, commit: Oid) -> Result<Read, atom_lib::StoreError> {
        let (tree, _) = store.commit_tree_and_parents(commit)?;
        Ok(Read {
            tree,
            manifest: store.top_blob(tree, MANIFEST_FILE)?,
            lock: store.top_blob(tree, LOCK_FILE)?,
            atom_dir: atom_lib::commit::recorded_path(store, commit)?,
        })
    }
}

/// The user's aliases: the git config of the repository around the current directory, else
/// the user's global one as `cache` (a bare repository with no settings of its own) sees it,
/// whose configuration is read once for everything else the opening needs.
fn aliases(cache: &GitStore) -> Result<Aliases, Error> {
    let store_err = |source| Error::Store {
        what: "git config".into(),
        source,
    };
    let around = std::env::current_dir()
        .ok()
        .and_then(|d| GitStore::discover(&d).ok());
    let config = match &around {
        Some(store) => store.config(),
        None => cache.config(),
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
