//! The evaluation cache: results of evaluations, under `$XDG_CACHE_HOME/atom/eval/` (or
//! `~/.cache/atom/eval/`), one file per key.
//!
//! A key is a content digest (the evaluation's [`crate::identity::Identity`], what evaluates it
//! and what is asked of it), so an entry never goes stale: a change to anything that could change
//! the result is a different key. Entries are written to a temporary file in the same directory
//! and renamed into place, so a reader sees a whole entry or none, and concurrent writers of one
//! key write the same bytes.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// A failure of the cache.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The per-user cache directory cannot be used (atom-lib's rules: no temporary directory,
    /// this user's own, created 0700, not writable by others).
    #[error(transparent)]
    Dir(#[from] atom_lib::local::CacheDirError),
    /// Writing an entry failed.
    #[error("cannot write the evaluation cache entry `{path}`")]
    Write {
        /// The entry.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The evaluation cache.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache in `eval/` of the per-user cache directory named by `env`
    /// ([`atom_lib::local::cache_dir_from`]: `XDG_CACHE_HOME`, else `HOME`), which is created
    /// private and refused when another user could write it.
    pub fn from_env(env: impl Fn(&str) -> Option<OsString>) -> Result<Self, Error> {
        Ok(Cache::at(
            atom_lib::local::cache_dir_from(env)?.join("eval"),
        ))
    }

    /// The cache in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    /// Where the cache is.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        debug_assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        self.dir.join(key)
    }

    /// The entry for `key`, if there is one (an unreadable entry is a miss).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }

    /// Store `value` under `key`, atomically.
    pub fn put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        let path = self.path(key);
        let err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(err)?;
        tmp.write_all(value).map_err(err)?;
        tmp.as_file().sync_data().map_err(err)?;
        tmp.persist(&path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// The key of an entry: BLAKE3, hex, of its parts, each length-prefixed (so no two lists of
/// parts give the same bytes).
pub fn key(parts: &[&str]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_atom_libs_cache_directory() {
        let home = tempfile::tempdir().unwrap();
        let env = |k: &str| match k {
            "XDG_CACHE_HOME" => Some(OsString::from("rel")),
            "HOME" => Some(home.path().into()),
            _ => None,
        };
        assert_eq!(
            Cache::from_env(env).unwrap().dir(),
            home.path().join(".cache/atom/eval")
        );
        assert!(matches!(
            Cache::from_env(|_| None),
            Err(Error::Dir(atom_lib::local::CacheDirError::NoBase))
        ));
    }

    #[test]
    fn entries_round_trip_and_leave_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::at(tmp.path().join("eval"));
        let k = key(&["a", "b"]);
        assert_eq!(cache.get(&k), None);
        cache.put(&k, b"value").unwrap();
        assert_eq!(cache.get(&k).as_deref(), Some(&b"value"[..]));
        cache.put(&k, b"value2").unwrap();
        assert_eq!(cache.get(&k).as_deref(), Some(&b"value2"[..]));
        let names: Vec<_> = std::fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [OsString::from(&k)]);
    }

    #[test]
    fn keys_do_not_collide_across_part_boundaries() {
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["ab", "c"]), key(&["ab", "c"]));
        assert_eq!(key(&[]).len(), 64);
    }
}
