//! The atoms of a source revision: finding `atom.toml` directories in a commit's tree.

use crate::commit::AtomPath;
use crate::manifest::{Identity, ManifestError, MANIFEST_FILE};
use crate::store::{EntryKind, TreeEntry};
use crate::{GitStore, Oid, StoreError};

/// An atom directory found in a source tree, with its manifest read.
#[derive(Debug, Clone)]
pub struct SourceAtom {
    /// The directory, relative to the repository root.
    pub path: AtomPath,
    /// The directory's tree.
    pub tree: Oid,
    /// The manifest, or why it could not be read.
    pub manifest: Result<Identity, ManifestError>,
}

/// A problem with an atom directory that is not about its manifest.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The repository root holds an `atom.toml`.
    #[error(
        "`atom.toml` at the repository root: the root cannot be an atom, move it into a directory"
    )]
    RootManifest,
    /// A path given by the user does not exist in the revision.
    #[error(
        "`{}` does not exist in {}",
        crate::escape::escaped(path),
        crate::escape::escaped(rev)
    )]
    NoSuchPath {
        /// The path.
        path: String,
        /// The revision.
        rev: String,
    },
    /// A path is not a directory (a symlink, a submodule or a file).
    #[error(
        "`{}` is a {what}, not a directory: an atom must be a real directory",
        crate::escape::escaped(path)
    )]
    NotADirectory {
        /// The path.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// A directory has no `atom.toml`, or it is not a regular file.
    #[error("`{}` is not an atom: {reason}", crate::escape::escaped(path))]
    NotAnAtom {
        /// The path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A path inside the tree is not a valid atom path (for example not UTF-8).
    #[error(
        "`{}`: {}",
        crate::escape::escaped(path),
        crate::escape::escaped(reason)
    )]
    BadPath {
        /// The path, lossily decoded.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An entry inside an atom's tree has a name git refuses (`fsck`): it would be published,
    /// then fail verification and every clone that checks objects.
    #[error("`{path}`: {reason}; git refuses such a tree entry, rewrite the history that made it")]
    BadEntry {
        /// The entry's path from the repository root, escaped.
        path: String,
        /// What is wrong with its name.
        reason: &'static str,
    },
    /// A symbolic link in the atom leads out of it (an absolute target, or `..` above the
    /// atom's directory, directly or through the atom's other links): consumers refuse it
    /// (`crate::confine`), so it is refused before it is published.
    #[error("`{path}` is a symbolic link that leads out of its atom, which consumers refuse; point it inside the atom or copy what it names into the atom")]
    LinkLeaves {
        /// The link's path from the repository root, escaped.
        path: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why git would refuse a tree entry named `name` (as `git fsck` does: `emptyName`,
/// `fullPathname`, `hasDot`, `hasDotdot`, `hasDotgit`, including the spellings that name
/// `.git` on case-insensitive, HFS+ and NTFS file systems).
pub fn entry_name_problem(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        return Some("an empty name");
    }
    if name.contains(&b'/') {
        return Some("a name containing `/`");
    }
    if name.contains(&0) {
        return Some("a name containing a NUL byte");
    }
    if name == b"." || name == b".." {
        return Some("a name that is `.` or `..`");
    }
    if crate::confine::is_dotgit(name) {
        return Some("a name git reads as `.git`");
    }
    None
}

/// Checks every entry name below the atom directory `path` (tree `tree`), and that every
/// symbolic link stays inside the atom (the rule of [`crate::confine`], over the git tree).
fn check_entries(store: &GitStore, path: &str, tree: Oid) -> Result<(), SourceError> {
    let mut stack = vec![(String::new(), tree)];
    while let Some((dir, sub)) = stack.pop() {
        for entry in store.tree_entries(sub)? {
            let name = String::from_utf8_lossy(&entry.name);
            let rel = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            let shown = || crate::escape::escaped(&format!("{path}/{rel}")).to_string();
            if let Some(reason) = entry_name_problem(&entry.name) {
                return Err(SourceError::BadEntry {
                    path: shown(),
                    reason,
                });
            }
            match entry.kind {
                EntryKind::Tree => stack.push((rel, entry.oid)),
                EntryKind::Link if link_leaves(store, tree, &rel, entry.oid)? => {
                    return Err(SourceError::LinkLeaves { path: shown() });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether the link at `rel` (blob `target`) in the atom tree `root` leads out of it, followed
/// through the tree's own links as the kernel would (see [`crate::confine`]); a component that
/// is missing or not a directory ends the walk inside.
fn link_leaves(store: &GitStore, root: Oid, rel: &str, target: Oid) -> Result<bool, StoreError> {
    let mut at: Vec<String> = rel.split('/').map(str::to_owned).collect();
    at.pop();
    let mut pending: Vec<String> = Vec::new();
    let push = |pending: &mut Vec<String>, target: &[u8]| -> bool {
        if target.is_empty() || target.starts_with(b"/") {
            return false;
        }
        let parts: Vec<String> = String::from_utf8_lossy(target)
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_owned)
            .collect();
        pending.extend(parts.into_iter().rev());
        true
    };
    if !push(&mut pending, &store.read_blob(target)?) {
        return Ok(true);
    }
    let mut hops = 1;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if at.pop().is_none() {
                return Ok(true);
            }
            continue;
        }
        at.push(part);
        match entry_at(store, root, &at.join("/"))? {
            Some(e) if e.kind == EntryKind::Link => {
                hops += 1;
                if hops > crate::confine::MAX_HOPS {
                    return Ok(true);
                }
                at.pop();
                if !push(&mut pending, &store.read_blob(e.oid)?) {
                    return Ok(true);
                }
            }
            Some(e) if e.kind == EntryKind::Tree => {}
            _ => return Ok(false),
        }
    }
    Ok(false)
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Tree => "directory",
        EntryKind::Blob => "file",
        EntryKind::Link => "symbolic link",
        EntryKind::Submodule => "submodule",
    }
}

fn manifest_of(
    store: &GitStore,
    path: &str,
    entries: &[TreeEntry],
) -> Result<Option<Result<Identity, ManifestError>>, SourceError> {
    let Some(entry) = entries.iter().find(|e| e.name == MANIFEST_FILE.as_bytes()) else {
        return Ok(None);
    };
    if entry.kind != EntryKind::Blob {
        return Err(SourceError::NotAnAtom {
            path: path.to_owned(),
            reason: "its `atom.toml` is not a regular file",
        });
    }
    let bytes = store.read_blob(entry.oid)?;
    Ok(Some(Identity::parse(
        &bytes,
        &format!("{path}/{MANIFEST_FILE}"),
    )))
}

/// Every atom directory in `tree` (a commit's root tree), depth first, sorted by path.
///
/// An `atom.toml` at the root is an error. Symbolic links and submodules are not followed.
pub fn find_atoms(store: &GitStore, tree: Oid) -> Result<Vec<SourceAtom>, SourceError> {
    let root_entries = store.tree_entries(tree)?;
    if root_entries
        .iter()
        .any(|e| e.name == MANIFEST_FILE.as_bytes())
    {
        return Err(SourceError::RootManifest);
    }
    let mut found = Vec::new();
    let mut stack: Vec<(String, Vec<TreeEntry>)> = vec![(String::new(), root_entries)];
    while let Some((dir, entries)) = stack.pop() {
        for entry in entries.iter().filter(|e| e.kind == EntryKind::Tree) {
            let name = String::from_utf8_lossy(&entry.name);
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            let children = store.tree_entries(entry.oid)?;
            if let Some(manifest) = manifest_of(store, &path, &children)? {
                let atom_path = AtomPath::new(&path).map_err(|e| SourceError::BadPath {
                    path: path.clone(),
                    reason: e.reason.to_owned(),
                })?;
                if std::str::from_utf8(&entry.name).is_err() {
                    return Err(SourceError::BadPath {
                        path,
                        reason: "not valid UTF-8".into(),
                    });
                }
                found.push(SourceAtom {
                    path: atom_path,
                    tree: entry.oid,
                    manifest,
                });
            }
            stack.push((path, children));
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    for atom in &found {
        check_entries(store, atom.path.as_str(), atom.tree)?;
    }
    Ok(found)
}

/// The entry at `path` (relative to the root `tree`), if it exists.
pub fn entry_at(store: &GitStore, tree: Oid, path: &str) -> Result<Option<TreeEntry>, StoreError> {
    let mut current = TreeEntry {
        name: Vec::new(),
        kind: EntryKind::Tree,
        oid: tree,
        executable: false,
    };
    for component in path.split('/') {
        if current.kind != EntryKind::Tree {
            return Ok(None);
        }
        match store.tree_entry(current.oid, component.as_bytes())? {
            Some(e) => current = e,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The atom at exactly `path` in the root `tree`, refusing symlinks, submodules and directories
/// without a manifest.
pub fn atom_at(
    store: &GitStore,
    tree: Oid,
    path: &AtomPath,
    rev: &str,
) -> Result<SourceAtom, SourceError> {
    let entry = entry_at(store, tree, path.as_str())?.ok_or_else(|| SourceError::NoSuchPath {
        path: path.to_string(),
        rev: rev.to_owned(),
    })?;
    if entry.kind != EntryKind::Tree {
        return Err(SourceError::NotADirectory {
            path: path.to_string(),
            what: kind_name(entry.kind),
        });
    }
    let entries = store.tree_entries(entry.oid)?;
    let manifest =
        manifest_of(store, path.as_str(), &entries)?.ok_or_else(|| SourceError::NotAnAtom {
            path: path.to_string(),
            reason: "it has no `atom.toml`",
        })?;
    Ok(SourceAtom {
        path: path.clone(),
        tree: entry.oid,
        manifest,
    })
}

/// Paths of every directory in `tree` whose tree id is `target` (for formats that do not record
/// the atom's path).
pub fn paths_of_tree(store: &GitStore, tree: Oid, target: Oid) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), tree)];
    while let Some((dir, oid)) = stack.pop() {
        for entry in store
            .tree_entries(oid)?
            .into_iter()
            .filter(|e| e.kind == EntryKind::Tree)
        {
            let name = String::from_utf8_lossy(&entry.name);
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            if entry.oid == target {
                found.push(path.clone());
            }
            stack.push((path, entry.oid));
        }
    }
    found.sort();
    Ok(found)
}
