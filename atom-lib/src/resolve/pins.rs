//! Locking pins (`[pins.<name>]`, legacy Nix libraries seen as `from.<name>`) and sources
//! (`[srcs.<name>]`, build-time inputs seen as `get.<name>`), after the atom graph is resolved.
//!
//! - A git pin or source: its ref is resolved with one listing of the repository (exact
//!   `refs/...`, else `refs/tags/<ref>`, else `refs/heads/<ref>`, as git's own lookup orders
//!   them; a full commit id is taken as it is), the commit is fetched alone (depth 1) into the
//!   per-user cache through the quarantine, and its tree's NAR hash is recorded, what
//!   `builtins.fetchGit` and `builtins.path` check, so Nix needs no network to use it.
//! - A tarball pin: downloaded, unpacked as `fetchTarball` does, and locked with the NAR hash of
//!   the unpacked tree.
//! - A URL source: its URL interpolated with its version, downloaded, and locked with the flat
//!   SHA-256 of its bytes, what `builtin:fetchurl` checks.
//! - A path source: the tree (or, for a single file, the blob) the working tree has at that path,
//!   as the next commit will hold it, and its NAR hash.
//!
//! What is locked and still matches the manifest stays, without network, unless `--update` names
//! it (or is given alone). The pins and sources of the closure's atoms come from their own locks
//! (a fetched atom) or their manifests (a path dependency of the same repository).

// Errors here end the command and carry names, URLs and ids in full.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::io::{Seek as _, Write as _};

use super::input::{Local, Update};
use crate::lock::{
    AtomKey, Lock, LockedPin, LockedSrc, Origin, PathObject, PinSource, SrcSource, Sri, Stale,
    LOCK_FILE,
};
use crate::manifest::{GitRef, Manifest, Name, Pin, Src, Url, MANIFEST_FILE};
use crate::nar;
use crate::store::git::remote::HttpSettings;
use crate::store::git::Filter;
use crate::store::EntryKind;
use crate::uri::Address;
use crate::{GitStore, Oid, StoreError};

/// Which table of a manifest an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `[pins]`: Nix expressions from elsewhere.
    Pins,
    /// `[srcs]`: sources.
    Srcs,
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Table::Pins => "pins",
            Table::Srcs => "srcs",
        })
    }
}

/// A pin or a source of an atom, as a message names it: `` `pins.nixpkgs` `` of the atom at
/// hand, `` `srcs.data` of <id>@1.0.0 `` of an atom of its closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The table.
    pub table: Table,
    /// The entry's name in it.
    pub name: Name,
    /// The atom whose manifest declares it; `None` for the atom at hand.
    pub owner: Option<AtomKey>,
}

impl Entry {
    /// The pin `name` of `owner`.
    pub fn pin(name: &Name, owner: Option<&AtomKey>) -> Entry {
        Entry {
            table: Table::Pins,
            name: name.clone(),
            owner: owner.cloned(),
        }
    }

    /// The source `name` of `owner`.
    pub fn src(name: &Name, owner: Option<&AtomKey>) -> Entry {
        Entry {
            table: Table::Srcs,
            name: name.clone(),
            owner: owner.cloned(),
        }
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}.{}`", self.table, self.name)?;
        match &self.owner {
            Some(key) => write!(f, " of {key}"),
            None => Ok(()),
        }
    }
}

/// Why a pin or a source could not be locked. `what` is the entry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository could not be listed.
    #[error("{what}: cannot list {url}")]
    List {
        /// The entry.
        what: Entry,
        /// The repository, credentials removed.
        url: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The repository has no such ref.
    #[error("{what}: {url} has no ref `{reference}` (looked for `refs/tags/{reference}` and `refs/heads/{reference}`)")]
    NoRef {
        /// The entry.
        what: Entry,
        /// The repository.
        url: String,
        /// The ref.
        reference: GitRef,
    },
    /// The commit could not be fetched.
    #[error("{what}: cannot fetch {rev} from {url}")]
    Fetch {
        /// The entry.
        what: Entry,
        /// The repository.
        url: String,
        /// The commit.
        rev: Oid,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The fetch did not bring the commit.
    #[error("{what}: {url} did not send commit {rev}")]
    NotSent {
        /// The entry.
        what: Entry,
        /// The repository.
        url: String,
        /// The commit.
        rev: Oid,
    },
    /// A download failed.
    #[error("{what}")]
    Download {
        /// The entry.
        what: Entry,
        /// The cause.
        #[source]
        source: crate::download::Error,
    },
    /// A tree could not be hashed.
    #[error("{what}: cannot hash the tree")]
    Hash {
        /// The entry.
        what: Entry,
        /// The cause.
        #[source]
        source: nar::Error,
    },
    /// The version cannot be interpolated into the URL.
    #[error("{what}: the version `{version}` has no major, minor and patch for `{url}`")]
    Interpolate {
        /// The entry.
        what: Entry,
        /// The version.
        version: String,
        /// The URL template.
        url: String,
    },
    /// An interpolated URL is not a valid URL.
    #[error("{what}: the interpolated URL `{url}` is invalid: {reason}")]
    BadUrl {
        /// The entry.
        what: Entry,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A path source leaves the repository.
    #[error("{what} = `{path}` leaves the repository")]
    PathOutside {
        /// The entry.
        what: Entry,
        /// The path as written.
        path: String,
    },
    /// Nothing is at a path source's path.
    #[error("{what} = `{path}`: nothing is at `{resolved}` in the working tree (only files git would commit count)")]
    NoPath {
        /// The entry.
        what: Entry,
        /// The path as written.
        path: String,
        /// The path from the repository's root.
        resolved: String,
    },
    /// A path source outside a repository.
    #[error("{what}: a path source is locked from the atom's git repository, and there is none")]
    NoRepository {
        /// The entry.
        what: Entry,
    },
    /// A fetched atom declares a pin or source its lock lacks.
    #[error("atom {atom} declares {what} but its lock does not record it: its publisher must run `git atom resolve` and publish again")]
    DependencyNotLocked {
        /// The atom, `label@version`.
        atom: String,
        /// The entry.
        what: Entry,
    },
    /// A fetched atom's lock is invalid.
    #[error("the lock of atom {atom} is invalid: {message}")]
    DependencyLock {
        /// The atom.
        atom: String,
        /// The problem.
        message: String,
    },
    /// Scratch space for a download could not be made.
    #[error("cannot make scratch space for {what}")]
    Scratch {
        /// The entry.
        what: Entry,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cache or the repository failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Fills `lock.pins` and `lock.srcs` for `manifest` (the locking atom) and every atom of
/// `lock.atoms`, reusing what `existing` has where it still matches and `update` does not move
/// it. `lock.atoms` must already be the resolved closure.
pub fn lock(
    cache: &GitStore,
    local: Option<Local<'_>>,
    manifest: &Manifest,
    lock: &mut Lock,
    existing: Option<&Lock>,
    update: &Update,
) -> Result<(), Error> {
    let mut locker = Locker {
        cache,
        local,
        existing,
        update,
        http: None,
        pins: Vec::new(),
        srcs: Vec::new(),
    };
    let top_dir = local.map(|l| l.atom_dir.to_owned());
    locker.own(manifest, None, top_dir.as_deref())?;
    for atom in &lock.atoms {
        let key = atom.key();
        let shown = format!("{}@{}", atom.label, atom.version);
        match &atom.origin {
            Origin::Path { path } => {
                let Some(local) = local else { continue };
                let Some(manifest) = path_manifest(local.store, path)? else {
                    continue;
                };
                locker.own(&manifest, Some(&key), Some(path))?;
            }
            Origin::Url { .. } => locker.dependency(atom.commit, atom.tree, &key, &shown)?,
        }
    }
    lock.pins = locker.pins;
    lock.srcs = locker.srcs;
    lock.sort();
    Ok(())
}

/// The manifest of the atom at `dir` of the working tree, if it has one.
fn path_manifest(store: &GitStore, dir: &str) -> Result<Option<Manifest>, Error> {
    let Some(tree) = store.working_tree_of(dir)? else {
        return Ok(None);
    };
    let Some(entry) = store
        .tree_entries(tree)?
        .into_iter()
        .find(|e| e.name == MANIFEST_FILE.as_bytes() && e.kind == EntryKind::Blob)
    else {
        return Ok(None);
    };
    let bytes = store.read_blob(entry.oid)?;
    // The graph's resolution parsed it already; an error here was reported there.
    Ok(Manifest::parse(&bytes, &format!("{dir}/{MANIFEST_FILE}")).ok())
}

struct Locker<'a> {
    cache: &'a GitStore,
    local: Option<Local<'a>>,
    existing: Option<&'a Lock>,
    update: &'a Update,
    /// Read once, when the first download needs them.
    http: Option<HttpSettings>,
    pins: Vec<LockedPin>,
    srcs: Vec<LockedSrc>,
}

impl Locker<'_> {
    fn moves(&self, name: &Name, owner: Option<&AtomKey>) -> bool {
        self.update.moves_entry(owner, name)
    }

    fn http(&mut self) -> Result<HttpSettings, Error> {
        if self.http.is_none() {
            self.http = Some(self.cache.http_settings()?);
        }
        Ok(self.http.clone().expect("just set"))
    }

    /// Locks the pins and sources `manifest` declares itself, for the atom `owner` (`None`: the
    /// locking atom) at `dir` of the local repository.
    fn own(
        &mut self,
        manifest: &Manifest,
        owner: Option<&AtomKey>,
        dir: Option<&str>,
    ) -> Result<(), Error> {
        for (name, pin) in &manifest.pins {
            let what = Entry::pin(name, owner);
            let kept = self
                .existing
                .and_then(|l| {
                    l.pins
                        .iter()
                        .find(|p| p.owner.as_ref() == owner && &p.name == name)
                })
                .filter(|p| crate::lock::pin_matches(pin, p) && !self.moves(name, owner));
            let locked = match kept {
                Some(p) => p.clone(),
                None => LockedPin {
                    name: name.clone(),
                    owner: owner.cloned(),
                    source: self.pin(pin, &what)?,
                    entry: pin.entry().cloned(),
                },
            };
            self.pins.push(locked);
        }
        for (name, src) in &manifest.srcs {
            let what = Entry::src(name, owner);
            let atom_dir = dir.unwrap_or("");
            let kept = self
                .existing
                .and_then(|l| {
                    l.srcs
                        .iter()
                        .find(|s| s.owner.as_ref() == owner && &s.name == name)
                })
                // A path source is always read again: the working tree is local and may have
                // changed.
                .filter(|s| {
                    !matches!(src, Src::Path(_))
                        && crate::lock::src_matches(src, s, manifest, atom_dir)
                        && !self.moves(name, owner)
                });
            let locked = match kept {
                Some(s) => s.clone(),
                None => LockedSrc {
                    name: name.clone(),
                    owner: owner.cloned(),
                    source: self.src(src, manifest, dir, &what)?,
                },
            };
            self.srcs.push(locked);
        }
        Ok(())
    }

    /// The pins and sources a fetched atom's own lock records, owned by it.
    fn dependency(
        &mut self,
        commit: Oid,
        tree: Oid,
        key: &AtomKey,
        atom: &str,
    ) -> Result<(), Error> {
        let entries = self.cache.tree_entries(tree)?;
        let blob = |name: &str| {
            entries
                .iter()
                .find(|e| e.name == name.as_bytes() && e.kind == EntryKind::Blob)
                .map(|e| e.oid)
        };
        let manifest = match blob(MANIFEST_FILE) {
            Some(oid) => Manifest::parse(
                &self.cache.read_blob(oid)?,
                &format!("{atom}:{MANIFEST_FILE}"),
            )
            .ok(),
            None => None,
        };
        let Some(manifest) = manifest else {
            return Ok(());
        };
        if manifest.pins.is_empty() && manifest.srcs.is_empty() {
            return Ok(());
        }
        let lock = match blob(LOCK_FILE) {
            Some(oid) => Some(
                Lock::parse(&self.cache.read_blob(oid)?, &format!("{atom}:{LOCK_FILE}")).map_err(
                    |e| Error::DependencyLock {
                        atom: atom.to_owned(),
                        message: e.to_string(),
                    },
                )?,
            ),
            None => None,
        };
        let own_pins: Vec<&LockedPin> = lock
            .iter()
            .flat_map(|l| l.pins.iter())
            .filter(|p| p.owner.is_none())
            .collect();
        let own_srcs: Vec<&LockedSrc> = lock
            .iter()
            .flat_map(|l| l.srcs.iter())
            .filter(|s| s.owner.is_none())
            .collect();
        for (name, pin) in &manifest.pins {
            let Some(locked) = own_pins
                .iter()
                .find(|p| &p.name == name && crate::lock::pin_matches(pin, p))
            else {
                return Err(Error::DependencyNotLocked {
                    atom: atom.to_owned(),
                    what: Entry::pin(name, None),
                });
            };
            self.pins.push(LockedPin {
                owner: Some(key.clone()),
                ..(*locked).clone()
            });
        }
        // Its path sources are relative to its directory in its repository, which its atom
        // commit records (`atom-path`).
        let atom_dir = crate::commit::recorded_path(self.cache, commit)?;
        for (name, src) in &manifest.srcs {
            let Some(locked) = own_srcs.iter().find(|s| {
                &s.name == name && crate::lock::src_matches(src, s, &manifest, &atom_dir)
            }) else {
                return Err(Error::DependencyNotLocked {
                    atom: atom.to_owned(),
                    what: Entry::src(name, None),
                });
            };
            self.srcs.push(LockedSrc {
                owner: Some(key.clone()),
                ..(*locked).clone()
            });
        }
        Ok(())
    }

    fn pin(&mut self, pin: &Pin, what: &Entry) -> Result<PinSource, Error> {
        match pin {
            Pin::Git { git, reference, .. } => {
                let (rev, hash) = self.git(git, reference, what)?;
                Ok(PinSource::Git {
                    git: git.clone(),
                    reference: reference.clone(),
                    rev,
                    hash: Some(hash),
                })
            }
            Pin::Tarball { url, .. } => {
                let http = self.http()?;
                let hash = tarball_hash(url, &http, what)?;
                Ok(PinSource::Tarball {
                    url: url.clone(),
                    hash,
                })
            }
        }
    }

    fn src(
        &mut self,
        src: &Src,
        manifest: &Manifest,
        dir: Option<&str>,
        what: &Entry,
    ) -> Result<SrcSource, Error> {
        match src {
            Src::Url { url: template, .. } => {
                let text = src
                    .url_for(&manifest.version)
                    .ok_or_else(|| Error::Interpolate {
                        what: what.clone(),
                        version: match src {
                            Src::Url {
                                version: Some(v), ..
                            } => v.resolve(&manifest.version),
                            _ => String::new(),
                        },
                        url: template.as_str().to_owned(),
                    })?;
                let url = Url::new(&text).map_err(|reason| Error::BadUrl {
                    what: what.clone(),
                    url: text.clone(),
                    reason,
                })?;
                let http = self.http()?;
                let mut hasher = nar::Hasher::default();
                crate::download::download(&url, &http, &mut hasher).map_err(|source| {
                    Error::Download {
                        what: what.clone(),
                        source,
                    }
                })?;
                Ok(SrcSource::Url {
                    url,
                    hash: hasher.sri(),
                })
            }
            Src::Git { git, reference } => {
                let (rev, hash) = self.git(git, reference, what)?;
                Ok(SrcSource::Git {
                    git: git.clone(),
                    reference: reference.clone(),
                    rev,
                    hash,
                })
            }
            Src::Path(path) => {
                let (Some(local), Some(dir)) = (self.local, dir) else {
                    return Err(Error::NoRepository { what: what.clone() });
                };
                let resolved = path.resolve(dir).ok_or_else(|| Error::PathOutside {
                    what: what.clone(),
                    path: path.to_string(),
                })?;
                let no_path = || Error::NoPath {
                    what: what.clone(),
                    path: path.to_string(),
                    resolved: resolved.clone(),
                };
                let store = local.store;
                let (object, hash) = match working_object(store, &resolved)? {
                    Some(Working::Tree(tree)) => (PathObject::Tree(tree), tree_hash(store, tree)?),
                    Some(Working::Blob(blob, mode)) => {
                        let hash = nar::file_hash(mode, &store.read_blob(blob)?);
                        (PathObject::Blob(blob), hash)
                    }
                    None => return Err(no_path()),
                };
                Ok(SrcSource::Path {
                    path: resolved,
                    object,
                    hash,
                })
            }
        }
    }

    /// Resolves `reference` at `git`, fetches the commit alone into the cache, and hashes its
    /// tree.
    fn git(
        &mut self,
        git: &Address,
        reference: &GitRef,
        what: &Entry,
    ) -> Result<(Oid, Sri), Error> {
        let url = git.redacted();
        let rev = match reference.as_str().parse::<Oid>() {
            Ok(rev) if reference.as_str().len() >= 40 => rev,
            _ => {
                let name = reference.as_str();
                let candidates: Vec<String> = if name.starts_with("refs/") {
                    vec![name.to_owned()]
                } else {
                    vec![format!("refs/tags/{name}"), format!("refs/heads/{name}")]
                };
                let prefixes: Vec<&str> = candidates.iter().map(String::as_str).collect();
                let refs = {
                    let _span = tracing::info_span!("list", url = %url).entered();
                    self.cache
                        .list_remote(&git.git_url(), &prefixes)
                        .map_err(|source| Error::List {
                            what: what.clone(),
                            url: url.clone(),
                            source,
                        })?
                };
                candidates
                    .iter()
                    .find_map(|c| refs.iter().find(|r| r.name == c.as_str()))
                    .map(|r| r.target())
                    .ok_or_else(|| Error::NoRef {
                        what: what.clone(),
                        url: url.clone(),
                        reference: reference.clone(),
                    })?
            }
        };
        fetch_commit(self.cache, git, rev, what)?;
        let (tree, _) = self.cache.commit_tree_and_parents(rev)?;
        Ok((rev, tree_hash(self.cache, tree)?))
    }
}

/// Makes sure the cache has the commit `rev` of `git` and everything under it: unless it has
/// it already, fetches it alone (depth 1) and admits it ([`crate::admit::objects`]).
pub fn fetch_commit(cache: &GitStore, git: &Address, rev: Oid, what: &Entry) -> Result<(), Error> {
    if cache.has_object(rev) {
        return Ok(());
    }
    let url = git.redacted();
    let _span = tracing::info_span!("fetch", url = %url, %rev).entered();
    let fetch_err = |source| Error::Fetch {
        what: what.clone(),
        url: url.clone(),
        rev,
        source,
    };
    let connection = cache.connect(&git.git_url()).map_err(fetch_err)?;
    crate::admit::objects(cache, &connection, &url, &[rev], Filter::Snapshot).map_err(|e| match e {
        crate::admit::ObjectsError::NotSent { .. } => Error::NotSent {
            what: what.clone(),
            url: url.clone(),
            rev,
        },
        crate::admit::ObjectsError::Transfer { source, .. } => fetch_err(source),
    })
}

/// The locking atom's path sources whose working tree no longer holds the locked tree or blob
/// (found without network, for `--locked`): each is [`Stale::SrcChanged`].
pub fn path_drift(store: &GitStore, lock: &Lock) -> Result<Vec<Stale>, StoreError> {
    let mut out = Vec::new();
    for src in lock.srcs.iter().filter(|s| s.owner.is_none()) {
        let SrcSource::Path { path, object, hash } = &src.source else {
            continue;
        };
        // A file's mode is in its hash, not its blob: `chmod +x` changes what is locked.
        let same = match (working_object(store, path)?, object) {
            (Some(Working::Tree(found)), PathObject::Tree(locked)) => found == *locked,
            (Some(Working::Blob(found, mode)), PathObject::Blob(locked)) => {
                found == *locked && nar::file_hash(mode, &store.read_blob(found)?) == *hash
            }
            _ => false,
        };
        if !same {
            out.push(Stale::SrcChanged {
                name: src.name.clone(),
            });
        }
    }
    Ok(out)
}

/// What the working tree has at a path: a directory, or a file (a symbolic link included).
enum Working {
    Tree(Oid),
    Blob(Oid, nar::FileMode),
}

fn working_object(store: &GitStore, path: &str) -> Result<Option<Working>, StoreError> {
    if path.is_empty() {
        return Ok(store.working_tree_of("")?.map(Working::Tree));
    }
    if let Some(tree) = store.working_tree_of(path)? {
        return Ok(Some(Working::Tree(tree)));
    }
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let Some(parent_tree) = store.working_tree_of(parent)? else {
        return Ok(None);
    };
    Ok(store
        .tree_entries(parent_tree)?
        .into_iter()
        .find(|e| e.name == name.as_bytes())
        .and_then(|e| {
            let mode = match e.kind {
                EntryKind::Blob if e.executable => nar::FileMode::Executable,
                EntryKind::Blob => nar::FileMode::Regular,
                EntryKind::Link => nar::FileMode::Symlink,
                EntryKind::Tree | EntryKind::Submodule => return None,
            };
            Some(Working::Blob(e.oid, mode))
        }))
}

/// The NAR hash of a git tree as Nix's `fetchGit` would unpack it (`git archive` of the commit,
/// without `export-ignore`/`export-subst` attributes): files, executables and symbolic links as
/// they are, submodules as empty directories.
pub fn tree_hash(store: &GitStore, tree: Oid) -> Result<Sri, StoreError> {
    let mut nar = nar::Writer::new(nar::Hasher::default()).expect("hashing does not fail");
    tree_nar(store, tree, &mut nar, 0)?;
    Ok(nar.finish().expect("hashing does not fail").sri())
}

fn tree_nar<W: std::io::Write>(
    store: &GitStore,
    tree: Oid,
    nar: &mut nar::Writer<W>,
    depth: usize,
) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Object {
        oid: tree.to_string(),
        what: format!("cannot serialise: {e}"),
        source: None,
    };
    if depth >= nar::MAX_DEPTH {
        return Err(StoreError::Object {
            oid: tree.to_string(),
            what: format!("nests deeper than {} trees", nar::MAX_DEPTH),
            source: None,
        });
    }
    let mut entries = store.tree_entries(tree)?;
    // Git orders a tree's entries as if directories' names ended in `/`; a NAR by bytes.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    nar.start_directory().map_err(io)?;
    for entry in entries {
        nar.start_entry(&entry.name).map_err(io)?;
        match entry.kind {
            EntryKind::Tree => tree_nar(store, entry.oid, nar, depth + 1)?,
            EntryKind::Blob => nar
                .file(entry.executable, &store.read_blob(entry.oid)?)
                .map_err(io)?,
            EntryKind::Link => nar.symlink(&store.read_blob(entry.oid)?).map_err(io)?,
            EntryKind::Submodule => {
                nar.start_directory().map_err(io)?;
                nar.end_directory().map_err(io)?;
            }
        }
        nar.end_entry().map_err(io)?;
    }
    nar.end_directory().map_err(io)
}

/// Downloads a tarball pin, unpacks it as `fetchTarball` does and hashes the result.
pub fn tarball_hash(url: &Url, http: &HttpSettings, what: &Entry) -> Result<Sri, Error> {
    let scratch = |source| Error::Scratch {
        what: what.clone(),
        source,
    };
    let dir = tempfile::tempdir().map_err(scratch)?;
    let top = fetch_tarball(url, http, dir.path(), what)?;
    nar::hash_path(&top).map_err(|source| Error::Hash {
        what: what.clone(),
        source,
    })
}

/// Downloads the tarball at `url` and unpacks it under `into` (an empty directory); returns
/// the unpacked top-level entry.
pub fn fetch_tarball(
    url: &Url,
    http: &HttpSettings,
    into: &std::path::Path,
    what: &Entry,
) -> Result<std::path::PathBuf, Error> {
    let scratch = |source| Error::Scratch {
        what: what.clone(),
        source,
    };
    let download = |source| Error::Download {
        what: what.clone(),
        source,
    };
    let mut file = tempfile::tempfile().map_err(scratch)?;
    crate::download::download(url, http, &mut file).map_err(download)?;
    file.flush().map_err(scratch)?;
    file.rewind().map_err(scratch)?;
    let unpacked = into.join("unpacked");
    std::fs::create_dir(&unpacked).map_err(scratch)?;
    crate::download::unpack(url, &mut file, &unpacked, &http.unpack).map_err(download)
}

/// For `show`: the locked value of each of the locking atom's pins and sources, by section and
/// name: a git commit, a hash, or a path's object.
pub fn locked_values(lock: &Lock) -> BTreeMap<(&'static str, Name), String> {
    let mut out = BTreeMap::new();
    for pin in lock.pins.iter().filter(|p| p.owner.is_none()) {
        out.insert(("pin", pin.name.clone()), locked_pin(pin));
    }
    for src in lock.srcs.iter().filter(|s| s.owner.is_none()) {
        out.insert(("src", src.name.clone()), locked_src(src));
    }
    out
}

/// What a pin is locked to, for people: its commit (git) or its hash (tarball).
pub fn locked_pin(pin: &LockedPin) -> String {
    match &pin.source {
        PinSource::Git { rev, .. } => rev.to_string(),
        PinSource::Tarball { hash, .. } => hash.to_string(),
    }
}

/// What a source is locked to, for people: its hash (URL), its commit (git), or its object
/// (`tree <id>`, `blob <id>`: path).
pub fn locked_src(src: &LockedSrc) -> String {
    match &src.source {
        SrcSource::Url { hash, .. } => hash.to_string(),
        SrcSource::Git { rev, .. } => rev.to_string(),
        SrcSource::Path { object, .. } => match object {
            PathObject::Tree(t) => format!("tree {t}"),
            PathObject::Blob(b) => format!("blob {b}"),
        },
    }
}
