//! Writing git trees of the atom cache as directories.

use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use atom_lib::store::EntryKind;
use atom_lib::{GitStore, Oid};

use super::error::Error;

/// Copies the directory `from` to `to` (files with their executable bit, symlinks as links);
/// returns the bytes of the files.
pub(super) fn copy_tree(from: &Path, to: &Path) -> Result<u64, Error> {
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
pub(super) fn export_shared(
    cache: &GitStore,
    tree: Oid,
    dir: &Path,
    atom: &str,
) -> Result<PathBuf, Error> {
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
pub(super) fn export(
    cache: &GitStore,
    tree: Oid,
    dir: &Path,
    atom: &str,
    depth: usize,
) -> Result<u64, Error> {
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
