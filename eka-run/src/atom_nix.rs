//! The atom-nix module system, as built into eka-run.
//!
//! `build.rs` embeds what composition reads of the workspace's `atom-nix/` (`compose.nix`,
//! `core/`, `std/`: no tests or fixtures); [`materialise`] writes
//! them into the sandbox's private directory, so an eka-run binary needs no installed atom-nix.
//! `--atom-nix <dir>` uses another copy instead (bound read-only into the sandbox).

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/atom_nix_files.rs"));

/// The entry point every atom-nix copy must have: `atomRoot: { from, get, config }: <api>`.
pub const ENTRY: &str = "compose.nix";

/// A failure to provide atom-nix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This binary was built without atom-nix.
    #[error("this eka-run was built without atom-nix (its source tree had no `atom-nix/{ENTRY}`): pass --atom-nix <dir>")]
    NotEmbedded,
    /// The given directory has no entry point.
    #[error("`{dir}` is not an atom-nix directory: it has no `{ENTRY}`")]
    NoEntry {
        /// The directory.
        dir: PathBuf,
    },
    /// Writing the embedded files failed.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What identifies the atom-nix an evaluation uses: BLAKE3 of the embedded files, or the
/// content digest of `dir` (as [`crate::identity::atom_digest`] computes it).
pub fn digest(dir: Option<&Path>) -> Result<String, crate::identity::Error> {
    match dir {
        None => Ok(DIGEST.to_owned()),
        Some(dir) => crate::identity::atom_digest(dir),
    }
}

/// Whether this binary carries atom-nix.
pub fn is_embedded() -> bool {
    FILES.iter().any(|(path, _)| *path == ENTRY)
}

/// Write the embedded atom-nix into `dir`.
pub fn materialise(dir: &Path) -> Result<(), Error> {
    if !is_embedded() {
        return Err(Error::NotEmbedded);
    }
    for (rel, contents) in FILES {
        let path = dir.join(rel);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, contents)
        };
        write().map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The embedded atom-nix written once into `<cache>/atom-nix/<digest>` (`cache` being
/// `$XDG_CACHE_HOME/atom`), for the sandbox to bind read-only instead of writing (and deleting)
/// its files in every evaluation's private directory. The digest names the files' paths and
/// contents, so a written copy never changes and another eka-run build uses another directory.
/// Written into a temporary directory beside it and renamed into place, so a reader never sees
/// a partial copy. `None` when it cannot be written (the caller materialises per evaluation).
pub fn shared(cache: &Path) -> Option<PathBuf> {
    if !is_embedded() {
        return None;
    }
    let parent = cache.join("atom-nix");
    let target = parent.join(DIGEST);
    if target.join(ENTRY).is_file() {
        return Some(target);
    }
    let write = || -> Result<(), Error> {
        std::fs::create_dir_all(&parent).map_err(|source| Error::Write {
            path: parent.clone(),
            source,
        })?;
        let staging = tempfile::Builder::new()
            .prefix(".atom-nix.")
            .tempdir_in(&parent)
            .map_err(|source| Error::Write {
                path: parent.clone(),
                source,
            })?;
        let tmp = staging.path().join("copy");
        materialise(&tmp)?;
        match std::fs::rename(&tmp, &target) {
            // Another eka-run wrote the same files first.
            Err(_) if target.join(ENTRY).is_file() => Ok(()),
            result => result.map_err(|source| Error::Write {
                path: target.clone(),
                source,
            }),
        }
    };
    match write() {
        Ok(()) => Some(target),
        Err(e) => {
            tracing::debug!("{:#}", anyhow::Error::from(e));
            None
        }
    }
}

/// Check that `dir` holds an atom-nix entry point.
pub fn check_dir(dir: &Path) -> Result<(), Error> {
    if dir.join(ENTRY).is_file() {
        Ok(())
    } else {
        Err(Error::NoEntry {
            dir: dir.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_the_entry_point_core_and_std_only() {
        assert!(is_embedded());
        let paths: Vec<&str> = FILES.iter().map(|(p, _)| *p).collect();
        assert!(paths.contains(&"core/boundary.nix"), "{paths:?}");
        assert!(paths.contains(&"std/mod.nix"), "{paths:?}");
        let others: Vec<&&str> = paths
            .iter()
            .filter(|p| !(**p == ENTRY || p.starts_with("core/") || p.starts_with("std/")))
            .collect();
        assert_eq!(others, Vec::<&&str>::new());
    }
}
