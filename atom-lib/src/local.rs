//! An atom in a working tree: finding its directory, reading its manifest and lock, and writing
//! them back whole (a temporary file renamed into place, so a reader never sees half a file);
//! and the per-user cache repository that fetched atoms live in.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::lock::{Lock, LockError, LOCK_FILE};
use crate::manifest::{Manifest, ManifestDocument, ManifestError, MANIFEST_FILE};
use crate::store::git::Config;
use crate::uri::{Address, Aliases};
use crate::{GitStore, StoreError};

/// Why a local atom could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `atom.toml` in the directory or any parent (up to the repository's root, when in
    /// one).
    #[error(
        "no `atom.toml` in `{}` or any directory above it{}: run this in an atom's directory \
         (one with an `atom.toml`), or name one",
        .start.display(),
        .top.as_ref().map(|t| format!(" up to the repository's root `{}`", t.display())).unwrap_or_default()
    )]
    NotInAtom {
        /// Where the search started.
        start: PathBuf,
        /// Where it stopped: the repository's working tree, when in one.
        top: Option<PathBuf>,
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
    /// The per-user cache directory cannot be used.
    #[error(transparent)]
    CacheDir(#[from] CacheDirError),
}

/// Why the per-user cache directory cannot be used. Nothing is read from or written to a
/// cache another local user could write (see `docs/trust.md`, "Local users").
#[derive(Debug, thiserror::Error)]
pub enum CacheDirError {
    /// Neither `XDG_CACHE_HOME` nor `HOME` is an absolute path.
    #[error("cannot find a cache directory: set HOME or XDG_CACHE_HOME to an absolute path")]
    NoBase,
    /// The directory could not be created or inspected.
    #[error("cannot create the cache directory `{}`", .path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory (or a symbolic link in its place) belongs to another user.
    #[error("refusing the cache directory `{}`: it is owned by uid {owner}, not by this user (uid {uid}); remove it or set XDG_CACHE_HOME", .path.display())]
    Owner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's user.
        uid: u32,
    },
    /// Group or other users can write the directory.
    #[error("refusing the cache directory `{}`: group or other users can write it (mode {mode:o}); run `chmod go-w` on it", .path.display())]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Something other than a directory is in its place.
    #[error("refusing the cache directory `{}`: it is not a directory", .path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
}

/// Where the per-user cache directory is, from the environment `env` (the XDG base directory
/// rules): `$XDG_CACHE_HOME/atom` when `XDG_CACHE_HOME` is an absolute path (a relative one is
/// ignored, as the specification says), else `$HOME/.cache/atom` when `HOME` is. There is no
/// fallback to a temporary directory, where another user could have put the cache first.
pub fn cache_path(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, CacheDirError> {
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = match env("XDG_CACHE_HOME").and_then(absolute) {
        Some(dir) => dir,
        None => env("HOME")
            .and_then(absolute)
            .map(|home| home.join(".cache"))
            .ok_or(CacheDirError::NoBase)?,
    };
    Ok(base.join("atom"))
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist, then checks that
/// it is a directory of this user that neither group nor others can write; a symbolic link in
/// its place must be this user's too, and is judged by what it points to.
pub fn private_dir(dir: &Path) -> Result<(), CacheDirError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let create = |source| CacheDirError::Create {
        path: dir.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(create)?,
        Err(e) => return Err(create(e)),
        Ok(_) => {}
    }
    let uid = rustix::process::getuid().as_raw();
    let link = std::fs::symlink_metadata(dir).map_err(create)?;
    let meta = std::fs::metadata(dir).map_err(create)?;
    for owner in [link.uid(), meta.uid()] {
        if owner != uid {
            return Err(CacheDirError::Owner {
                path: dir.to_owned(),
                owner,
                uid,
            });
        }
    }
    if !meta.is_dir() {
        return Err(CacheDirError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(CacheDirError::Writable {
            path: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// The per-user cache directory ([`cache_path`] of `env`), created 0700 on first use and
/// checked by [`private_dir`] on every use: everything atom caches (fetched atoms, the
/// resolution index, eka-run's evaluations and exported trees) lives under it.
pub fn cache_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, CacheDirError> {
    let dir = cache_path(env)?;
    private_dir(&dir)?;
    Ok(dir)
}

/// [`cache_dir_from`] this process's environment.
pub fn cache_dir() -> Result<PathBuf, CacheDirError> {
    cache_dir_from(|k| std::env::var_os(k))
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
                    top: top.map(Path::to_owned),
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

/// The per-user cache repository of fetched atoms, whole (what evaluation exports):
/// `$XDG_CACHE_HOME/atom/atoms.git`, else `~/.cache/atom/atoms.git`. Created on first use.
pub fn cache() -> Result<GitStore, Error> {
    Ok(GitStore::open_or_init_bare(
        &cache_dir()?.join("atoms.git"),
    )?)
}

/// The per-user repository resolution works in: `$XDG_CACHE_HOME/atom/index.git`, beside
/// [`cache`], whose objects it borrows (`objects/info/alternates`). It holds, for each atom a
/// resolution chose, only the atom commit, its root tree and its `atom.toml` and `atom.lock`
/// blobs, and one ref per atom (see [`crate::resolve::graph`]), so that resolving again, even
/// offline, needs no network for what it has seen. Evaluation never reads it: an atom whose
/// contents are needed is fetched whole into [`cache`]. Created on first use.
pub fn index() -> Result<GitStore, Error> {
    let cache = cache()?;
    let dir = cache_dir()?.join("index.git");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_cache_follows_xdg_then_home_and_never_a_temporary_directory() {
        let env = |k: &str| (k == "HOME").then(|| OsString::from("/home/u"));
        assert_eq!(cache_path(env).unwrap(), Path::new("/home/u/.cache/atom"));
        let env = |k: &str| match k {
            "XDG_CACHE_HOME" => Some(OsString::from("/xdg")),
            "HOME" => Some(OsString::from("/home/u")),
            _ => None,
        };
        assert_eq!(cache_path(env).unwrap(), Path::new("/xdg/atom"));
        // A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
        for relative in ["rel", ""] {
            let env = |k: &str| match k {
                "XDG_CACHE_HOME" => Some(OsString::from(relative)),
                "HOME" => Some(OsString::from("/home/u")),
                _ => None,
            };
            assert_eq!(cache_path(env).unwrap(), Path::new("/home/u/.cache/atom"));
        }
        // Neither set, or only relative ones: an error, not the temporary directory.
        let relative = |_: &str| Some(OsString::from("rel"));
        for err in [cache_path(|_| None), cache_path(relative)] {
            assert_eq!(
                err.unwrap_err().to_string(),
                "cannot find a cache directory: set HOME or XDG_CACHE_HOME to an absolute path"
            );
        }
    }

    #[test]
    fn the_cache_directory_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let env = |k: &str| (k == "XDG_CACHE_HOME").then(|| tmp.path().join("c").into());
        let dir = cache_dir_from(env).unwrap();
        assert_eq!(dir, tmp.path().join("c/atom"));
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Used again as it is.
        assert_eq!(cache_dir_from(env).unwrap(), dir);
    }

    #[test]
    fn a_cache_directory_others_can_write_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("atom");
        std::fs::create_dir(&dir).unwrap();
        // The control: this user's directory, 0755, is fine.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        for mode in [0o777, 0o1777, 0o775, 0o757] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = private_dir(&dir).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "refusing the cache directory `{}`: group or other users can write it (mode {mode:o}); run `chmod go-w` on it",
                    dir.display()
                )
            );
        }
        std::fs::remove_dir(&dir).unwrap();
        std::fs::write(&dir, "").unwrap();
        assert!(matches!(
            private_dir(&dir),
            Err(CacheDirError::NotADirectory { .. })
        ));
    }

    #[test]
    fn a_cache_directory_of_another_user_is_refused() {
        let uid = rustix::process::getuid().as_raw();
        // As root, a directory given to `nobody`; as anyone else, `/` (root's) stands for a
        // directory someone else made.
        let tmp = tempfile::tempdir().unwrap();
        let (dir, owner) = if uid == 0 {
            let dir = tmp.path().join("atom");
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            // The control: while it is this user's, it is fine.
            private_dir(&dir).unwrap();
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        let err = private_dir(&dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refusing the cache directory `{}`: it is owned by uid {owner}, not by this user (uid {uid}); remove it or set XDG_CACHE_HOME",
                dir.display()
            )
        );
    }
}
