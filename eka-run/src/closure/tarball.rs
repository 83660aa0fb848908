//! Tarball pins, downloaded once and unpacked into a cache shared by evaluations.

use std::path::{Path, PathBuf};

use atom_lib::resolve::pins::{self, Entry};
use atom_lib::GitStore;

use super::error::Error;

/// The unpacked tarball of a pin in `dir` (`<dir>/<BLAKE3 of its locked hash>`), downloaded
/// first when it is not there: unpacked into a temporary directory beside it, its NAR hash
/// checked against the lock's, renamed into place (a reader never sees a partial one, and two
/// evaluations downloading it at once both succeed). Nix checks the hash again when it copies
/// the pin into the store.
pub(super) fn shared_tarball(
    cache: &GitStore,
    url: &atom_lib::manifest::Url,
    hash: &atom_lib::lock::Sri,
    dir: &Path,
    what: &Entry,
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
        what: what.clone(),
        source,
    })?;
    if &found != hash {
        return Err(Error::PinHash {
            what: what.clone(),
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
