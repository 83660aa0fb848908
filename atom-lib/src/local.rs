//! An atom in a working tree: finding its directory, reading its manifest and lock, and writing
//! them back whole (a temporary file renamed into place, so a reader never sees half a file);
//! and the per-user cache repository that fetched atoms live in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::lock::{Lock, LockError, LOCK_FILE};
use crate::manifest::{Manifest, ManifestDocument, ManifestError, MANIFEST_FILE};
use crate::store::git::Config;
use crate::uri::{Address, Aliases};
use crate::{GitStore, StoreError};

/// Why a local atom could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `atom.toml` in the directory or any parent up to the repository's root.
    #[error("no `atom.toml` in {} or any directory above it up to the repository's root", .start.display())]
    NotInAtom {
        /// Where the search started.
        start: PathBuf,
    },
    /// The given directory has no `atom.toml`.
    #[error("{} is not an atom: it has no `atom.toml`", .dir.display())]
    NotAnAtom {
        /// The directory.
        dir: PathBuf,
    },
    /// A file could not be read or written.
    #[error("cannot {what} {}", .path.display())]
    Io {
        /// `read` or `write`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The lock is invalid.
    #[error(transparent)]
    Lock(#[from] Box<LockError>),
    /// The cache repository failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An atom directory of a working tree, with its manifest and lock.
#[derive(Debug, Clone)]
pub struct LocalAtom {
    /// The directory.
    pub dir: PathBuf,
    /// The directory relative to the repository's root (`/`-separated), when known.
    pub repo_path: Option<String>,
    /// The manifest's text, for editing.
    pub text: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The lock, if there is one.
    pub lock: Option<Lock>,
}

impl LocalAtom {
    /// The atom whose directory holds `start`: `start` itself or the nearest parent with an
    /// `atom.toml`, not looking above `top` (the repository's working tree) when given.
    pub fn find(start: &Path, top: Option<&Path>) -> Result<Self, Error> {
        let mut dir = start.to_owned();
        loop {
            if dir.join(MANIFEST_FILE).is_file() {
                return Self::at(&dir, top);
            }
            if top.is_some_and(|t| dir == t) || !dir.pop() {
                return Err(Error::NotInAtom {
                    start: start.to_owned(),
                });
            }
        }
    }

    /// The atom at exactly `dir`.
    pub fn at(dir: &Path, top: Option<&Path>) -> Result<Self, Error> {
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.is_file() {
            return Err(Error::NotAnAtom {
                dir: dir.to_owned(),
            });
        }
        let text = read(&manifest_path)?;
        let manifest = Manifest::parse(text.as_bytes(), &manifest_path.display().to_string())?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = if lock_path.is_file() {
            let bytes = read(&lock_path)?;
            Some(
                Lock::parse(bytes.as_bytes(), &lock_path.display().to_string())
                    .map_err(Box::new)?,
            )
        } else {
            None
        };
        let repo_path = top.and_then(|t| {
            dir.strip_prefix(t).ok().map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
        });
        Ok(LocalAtom {
            dir: dir.to_owned(),
            repo_path,
            text,
            manifest,
            lock,
        })
    }

    /// The manifest open for editing.
    pub fn document(&self) -> Result<ManifestDocument, ManifestError> {
        ManifestDocument::parse(&self.text, &self.manifest_path().display().to_string())
    }

    /// `atom.toml`'s path.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// `atom.lock`'s path.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Writes the manifest and the lock, each whole: both are written to temporary files
    /// first, then renamed into place.
    pub fn write(&self, manifest: Option<&str>, lock: &Lock) -> Result<(), Error> {
        let lock_text = lock.to_toml();
        let mut staged = Vec::new();
        if let Some(text) = manifest {
            staged.push((stage(&self.manifest_path(), text)?, self.manifest_path()));
        }
        staged.push((stage(&self.lock_path(), &lock_text)?, self.lock_path()));
        for (tmp, path) in staged {
            std::fs::rename(&tmp, &path).map_err(|source| Error::Io {
                what: "write",
                path,
                source,
            })?;
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: "read",
        path: path.to_owned(),
        source,
    })
}

/// Writes `text` to a temporary file beside `path`; returns the temporary file's path.
fn stage(path: &Path, text: &str) -> Result<PathBuf, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-atom"));
    std::fs::write(&tmp, text).map_err(|source| Error::Io {
        what: "write",
        path: tmp.clone(),
        source,
    })?;
    Ok(tmp)
}

/// The per-user cache directory: `$XDG_CACHE_HOME/atom`, else `~/.cache/atom`.
fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("atom")
}

/// The per-user cache repository of fetched atoms, whole (what evaluation exports):
/// `$XDG_CACHE_HOME/atom/atoms.git`, else `~/.cache/atom/atoms.git`. Created on first use.
pub fn cache() -> Result<GitStore, Error> {
    Ok(GitStore::open_or_init_bare(&cache_dir().join("atoms.git"))?)
}

/// The per-user repository resolution works in: `$XDG_CACHE_HOME/atom/index.git`, beside
/// [`cache`], whose objects it borrows (`objects/info/alternates`). It holds, for each atom a
/// resolution chose, only the atom commit, its root tree and its `atom.toml` and `atom.lock`
/// blobs, and one ref per atom (see [`crate::resolve::graph`]), so that resolving again, even
/// offline, needs no network for what it has seen. Evaluation never reads it: an atom whose
/// contents are needed is fetched whole into [`cache`]. Created on first use.
pub fn index() -> Result<GitStore, Error> {
    let cache = cache()?;
    let dir = cache_dir().join("index.git");
    let store = GitStore::open_or_init_bare(&dir)?;
    let alternates = dir.join("objects/info/alternates");
    let line = format!("{}\n", cache.git_dir().join("objects").display());
    if std::fs::read_to_string(&alternates).ok().as_deref() != Some(line.as_str()) {
        std::fs::create_dir_all(dir.join("objects/info"))
            .and_then(|()| std::fs::write(&alternates, line))
            .map_err(|source| Error::Io {
                what: "write",
                path: alternates.clone(),
                source,
            })?;
        // Reopened, so that the object store sees its alternates.
        return Ok(GitStore::open_or_init_bare(&dir)?);
    }
    Ok(store)
}

/// The user's own mirrors: `git config atom.<url>.mirror <other-url>` (several values allowed;
/// the URL is a subsection, as in git's own `url.<base>.insteadOf`), keyed by the address as
/// written in manifests. Invalid values are skipped with a warning.
pub fn mirrors(config: &Config, aliases: &Aliases) -> BTreeMap<String, Vec<Address>> {
    let mut out: BTreeMap<String, Vec<Address>> = BTreeMap::new();
    for (key, value) in config.iter() {
        let Some(url) = key
            .strip_prefix("atom.")
            .and_then(|k| k.strip_suffix(".mirror"))
        else {
            continue;
        };
        match (Address::parse(url, aliases), Address::parse(value, aliases)) {
            (Ok(key), Ok(mirror)) => out.entry(key.to_string()).or_default().push(mirror),
            _ => tracing::warn!("ignoring git config `atom.{url}.mirror`: not a valid address"),
        }
    }
    out
}
