//! Writing a tree of the store as a directory on disk: what eka-run places in a sandbox (a
//! locked atom, a git pin, a git or path source).
//!
//! Blobs are written as files (`100755` ones executable), symlinks as symlinks (never followed),
//! submodules as empty directories (as git checks out one that is not initialised). Nothing is
//! written through a link or over an entry (a tree that names an entry twice is refused), no
//! `.git` entry is written, and the result must be confined ([`crate::confine`]: no link leads
//! out of it). [`GitStore::export_shared`] writes a tree once into a directory of exports shared
//! by evaluations; [`copy_tree`] copies such a directory (or an unpacked tarball) elsewhere.

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::{GitStore, StoreError};
use crate::nar::{FileMode, MAX_DEPTH};
use crate::store::EntryKind;
use crate::Oid;

/// Why a tree entry is not exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The name is empty, `.` or `..`.
    NotAFileName,
    /// The name holds `/` or NUL.
    SlashOrNul,
    /// The name is one git reads as `.git`.
    DotGit,
    /// The tree names the entry twice.
    Twice,
    /// The tree nests deeper than [`MAX_DEPTH`] trees.
    TooDeep,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotAFileName => "not a file name",
            Refusal::SlashOrNul => "a name holds `/` or NUL",
            Refusal::DotGit => "an exported tree holds no `.git`",
            Refusal::Twice => "the tree names it twice",
            Refusal::TooDeep => "the tree nests too deep",
        })
    }
}

/// Why a tree cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An entry of a tree cannot be written as a file name.
    #[error(
        "tree {tree}: entry `{}` cannot be exported: {reason}",
        crate::escape::escaped(&String::from_utf8_lossy(name))
    )]
    Entry {
        /// The tree that holds the entry.
        tree: Oid,
        /// The entry's name, as the tree has it.
        name: Vec<u8>,
        /// Why not.
        reason: Refusal,
    },
    /// An object of the tree cannot be read.
    #[error("cannot read object {oid}")]
    Read {
        /// The tree or blob.
        oid: Oid,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The export leads out of itself, or holds what a tree cannot (see [`crate::confine`]).
    #[error("the export `{}` is refused", crate::escape::escaped(&dir.to_string_lossy()))]
    Confined {
        /// The exported directory.
        dir: PathBuf,
        /// The entry and what is wrong with it.
        #[source]
        source: crate::confine::Error,
    },
    /// A file or directory cannot be written (or, for [`copy_tree`], read).
    #[error("cannot write `{}`", crate::escape::escaped(&path.to_string_lossy()))]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> ExportError {
    let path = path.to_owned();
    move |source| ExportError::Write { path, source }
}

impl GitStore {
    /// Writes the tree `tree` into the new directory `dir` (its parents created), as the module
    /// describes, and checks the result is confined. Returns the bytes of the objects written.
    pub fn export_tree(&self, tree: Oid, dir: &Path) -> Result<u64, ExportError> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        let bytes = write_tree(self, tree, dir, 0)?;
        crate::confine::check(dir).map_err(|source| ExportError::Confined {
            dir: dir.to_owned(),
            source,
        })?;
        Ok(bytes)
    }

    /// The export of `tree` in the shared exports `dir` (`<dir>/<tree id>`), written first when
    /// it is not there: into a temporary directory beside it, renamed into place, so a reader
    /// never sees a partial export and two evaluations exporting the same tree at once both
    /// succeed.
    pub fn export_shared(&self, tree: Oid, dir: &Path) -> Result<PathBuf, ExportError> {
        let target = dir.join(tree.to_string());
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Ok(target);
        }
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let staging = tempfile::Builder::new()
            .prefix(".export.")
            .tempdir_in(dir)
            .map_err(write_err(dir))?;
        let tmp = staging.path().join("tree");
        self.export_tree(tree, &tmp)?;
        match std::fs::rename(&tmp, &target) {
            Ok(()) => {}
            // Another evaluation exported the same tree first: the same content.
            Err(_) if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) => {}
            Err(source) => {
                return Err(ExportError::Write {
                    path: target,
                    source,
                })
            }
        }
        Ok(target)
    }
}

/// Copies the directory `from` to `to` (files with their executable bit, symlinks as links);
/// returns the bytes of the files.
pub fn copy_tree(from: &Path, to: &Path) -> Result<u64, ExportError> {
    // Never through a link: `read_dir` would follow one at the top.
    let meta = std::fs::symlink_metadata(from).map_err(write_err(from))?;
    if !meta.is_dir() {
        return Err(ExportError::Write {
            path: from.to_owned(),
            source: io::Error::other("not a directory"),
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

/// The refusal, if any, of an entry's name, before anything is written.
fn refusal(name: &[u8]) -> Option<Refusal> {
    if name.is_empty() || name == b"." || name == b".." {
        Some(Refusal::NotAFileName)
    } else if name.contains(&b'/') || name.contains(&0) {
        Some(Refusal::SlashOrNul)
    } else if crate::confine::entry_name(name).is_err() {
        Some(Refusal::DotGit)
    } else {
        None
    }
}

/// Writes `tree` as the new directory `dir` (see [`GitStore::export_tree`]).
/// Writes `data` as a new file at `path`, as `mode` says: read-only (`0444`), executable
/// (`0555`), or a symbolic link whose target is `data`. `create_new` never opens an existing
/// entry, nor follows a link.
pub fn write_file(path: &Path, mode: FileMode, data: &[u8]) -> io::Result<()> {
    let bits = match mode {
        FileMode::Symlink => {
            return std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(data), path);
        }
        FileMode::Executable => 0o555,
        FileMode::Regular => 0o444,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(bits)
        .open(path)?;
    io::Write::write_all(&mut file, data)?;
    file.set_permissions(std::fs::Permissions::from_mode(bits))
}

fn write_tree(store: &GitStore, tree: Oid, dir: &Path, depth: usize) -> Result<u64, ExportError> {
    let read_err = |oid| move |source| ExportError::Read { oid, source };
    std::fs::create_dir(dir).map_err(write_err(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(write_err(dir))?;
    let mut bytes = 0;
    for entry in store.tree_entries(tree).map_err(read_err(tree))? {
        let bad = |reason| ExportError::Entry {
            tree,
            name: entry.name.clone(),
            reason,
        };
        let name = entry.name.as_slice();
        if let Some(reason) = refusal(name) {
            return Err(bad(reason));
        }
        let path = dir.join(std::ffi::OsStr::from_bytes(name));
        let twice = |source: io::Error| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                bad(Refusal::Twice)
            } else {
                ExportError::Write {
                    path: path.clone(),
                    source,
                }
            }
        };
        match entry.kind {
            EntryKind::Tree => {
                if depth >= MAX_DEPTH {
                    return Err(bad(Refusal::TooDeep));
                }
                bytes += write_tree(store, entry.oid, &path, depth + 1)?;
            }
            EntryKind::Blob | EntryKind::Link => {
                let data = store.read_blob(entry.oid).map_err(read_err(entry.oid))?;
                bytes += data.len() as u64;
                let mode = match (entry.kind, entry.executable) {
                    (EntryKind::Link, _) => FileMode::Symlink,
                    (_, true) => FileMode::Executable,
                    (_, false) => FileMode::Regular,
                };
                write_file(&path, mode, &data).map_err(twice)?;
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
