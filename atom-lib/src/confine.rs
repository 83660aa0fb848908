//! The one rule for trees that come from outside: what a dependency ships (an atom's exported
//! tree, a pin's unpacked tarball or exported git tree, a source's tree) may hold before
//! anything reads it, binds it into a sandbox or hands it to Nix.
//!
//! A tree is *confined* when
//! - its root is a directory or a regular file, never a symbolic link;
//! - every symbolic link in it, followed through the tree's own links as the kernel would, stays
//!   inside the tree or dangles inside it: no absolute target, no `..` that climbs above the root,
//!   at any depth and through any chain of links (`d -> .` and `l -> d/..` together escape, though
//!   each looks harmless alone);
//! - it holds only directories, regular files and symbolic links (no device, FIFO or socket);
//! - no entry is a name git reads as `.git` (an exported tree is never a working repository whose
//!   `core.fsmonitor` would run when a user types `git status` in it);
//! - no directory or file is writable by group or others.
//!
//! [`check`] applies the rule to a tree on disk; [`entry_name`] is the part of it a writer
//! applies to each name before creating anything. docs/trust.md names the entry points.
//!
//! ```
//! use std::os::unix::fs::symlink;
//! let dir = tempfile::tempdir().unwrap();
//! let root = dir.path().join("pin");
//! std::fs::create_dir_all(root.join("lib")).unwrap();
//! symlink("lib", root.join("inside")).unwrap();
//! assert!(atom_lib::confine::check(&root).is_ok());
//! symlink("../../etc", root.join("lib/out")).unwrap();
//! let err = atom_lib::confine::check(&root).unwrap_err();
//! assert_eq!(err.to_string(), "`lib/out` is a symbolic link that leads out of its tree");
//! ```

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

/// How deep a tree may nest (a hostile tree must not exhaust the stack).
pub const MAX_DEPTH: usize = 256;

/// How many links one resolution may follow, as Linux allows (`ELOOP` after 40).
pub const MAX_HOPS: usize = 40;

/// What breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// The root of the tree is a symbolic link.
    RootIsLink,
    /// A symbolic link leads out of the tree (absolute, or `..` above the root).
    LinkLeaves,
    /// A chain of links is longer than [`MAX_HOPS`].
    LinkLoop,
    /// A device, FIFO or socket.
    Special,
    /// An entry git reads as `.git` (see [`entry_name`]).
    GitDir,
    /// Writable by group or others.
    Writable,
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl Breach {
    /// The breach in words.
    pub fn describe(self) -> &'static str {
        match self {
            Breach::RootIsLink => "is a symbolic link, which a dependency's tree cannot be",
            Breach::LinkLeaves => "is a symbolic link that leads out of its tree",
            Breach::LinkLoop => "is a symbolic link in a chain of more than 40 links",
            Breach::Special => "is a device, FIFO or socket, which a tree cannot hold",
            Breach::GitDir => "is named `.git`, which an exported tree cannot hold",
            Breach::Writable => "is writable by others",
            Breach::TooDeep => "nests deeper than 256 directories",
        }
    }
}

/// Why a tree is not confined.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An entry breaks the rule; `path` is relative to the tree's root (empty for the root).
    #[error("`{}` {}", shown(path), breach.describe())]
    Breach {
        /// The entry, relative to the root.
        path: PathBuf,
        /// What is wrong.
        breach: Breach,
    },
    /// The tree cannot be read.
    #[error("cannot read `{}`", shown(path))]
    Read {
        /// The entry, relative to the root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The breach, if the tree was read and breaks the rule.
    pub fn breach(&self) -> Option<Breach> {
        match self {
            Error::Breach { breach, .. } => Some(*breach),
            Error::Read { .. } => None,
        }
    }
}

fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        return ".".to_owned();
    }
    crate::escape::escaped(&path.to_string_lossy()).to_string()
}

/// What a confined tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries (directories, files and links, the root included).
    pub entries: u64,
    /// Bytes of the regular files.
    pub bytes: u64,
}

/// Whether `name` may name an entry of a tree: not a name git reads as `.git` (any case, with
/// what NTFS drops or HFS+ ignores, its short name `git~1`: as `git fsck`'s `hasDotgit`).
/// Writers apply it before creating an entry.
pub fn entry_name(name: &[u8]) -> Result<(), Breach> {
    if is_dotgit(name) {
        return Err(Breach::GitDir);
    }
    Ok(())
}

/// `.git` in any case, followed by anything NTFS drops (dots and spaces), its NTFS short name
/// `git~1`, or with characters HFS+ ignores (zero-width and direction marks) mixed in.
pub(crate) fn is_dotgit(name: &[u8]) -> bool {
    let text = String::from_utf8_lossy(name);
    let visible: String = text
        .chars()
        .filter(|&c| !crate::label::is_invisible(c))
        .collect();
    let lower = visible.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches(['.', ' ']);
    trimmed == ".git" || trimmed == "git~1"
}

/// Checks that the tree at `root` is confined (see the module's documentation), reading it
/// without following any link. Returns what it holds.
pub fn check(root: &Path) -> Result<Summary, Error> {
    let meta = std::fs::symlink_metadata(root).map_err(|source| Error::Read {
        path: PathBuf::new(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(breach(Path::new(""), Breach::RootIsLink));
    }
    let mut summary = Summary::default();
    walk(root, Path::new(""), &meta, 0, &mut summary)?;
    Ok(summary)
}

fn breach(path: &Path, breach: Breach) -> Error {
    Error::Breach {
        path: path.to_owned(),
        breach,
    }
}

fn walk(
    root: &Path,
    rel: &Path,
    meta: &std::fs::Metadata,
    depth: usize,
    summary: &mut Summary,
) -> Result<(), Error> {
    summary.entries += 1;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return link_stays_inside(root, rel);
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(breach(rel, Breach::Writable));
    }
    if kind.is_file() {
        summary.bytes += meta.len();
        return Ok(());
    }
    if !kind.is_dir() {
        return Err(breach(rel, Breach::Special));
    }
    if depth >= MAX_DEPTH {
        return Err(breach(rel, Breach::TooDeep));
    }
    let read = |source| Error::Read {
        path: rel.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(root.join(rel)).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name();
        let child = rel.join(&name);
        entry_name(name.as_bytes()).map_err(|b| breach(&child, b))?;
        let meta = entry.metadata().map_err(|source| Error::Read {
            path: child.clone(),
            source,
        })?;
        walk(root, &child, &meta, depth + 1, summary)?;
    }
    Ok(())
}

/// Follows the link at `link` (relative to `root`) through the tree as the kernel would, with
/// `root` as the top that `..` cannot climb above; a breach if it leaves the tree. A component
/// that does not exist or is not a directory ends the walk: the kernel's resolution would fail
/// there too, inside the tree.
fn link_stays_inside(root: &Path, link: &Path) -> Result<(), Error> {
    let read = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    };
    // The directories walked so far, from the root; the components still to walk, in order.
    let mut at: Vec<OsString> = parent_components(link);
    let mut pending: Vec<OsString> = Vec::new();
    push_target(
        &mut pending,
        &std::fs::read_link(root.join(link)).map_err(read(link))?,
    )
    .ok_or_else(|| breach(link, Breach::LinkLeaves))?;
    let mut hops = 1;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if at.pop().is_none() {
                return Err(breach(link, Breach::LinkLeaves));
            }
            continue;
        }
        at.push(part);
        let here: PathBuf = at.iter().collect();
        let Ok(meta) = std::fs::symlink_metadata(root.join(&here)) else {
            return Ok(());
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(breach(link, Breach::LinkLoop));
            }
            at.pop();
            let target = std::fs::read_link(root.join(&here)).map_err(read(&here))?;
            push_target(&mut pending, &target).ok_or_else(|| breach(link, Breach::LinkLeaves))?;
        } else if !kind.is_dir() {
            return Ok(());
        }
    }
    Ok(())
}

/// The directories above `link`, from the root.
fn parent_components(link: &Path) -> Vec<OsString> {
    link.parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_owned()),
            _ => None,
        })
        .collect()
}

/// Pushes `target`'s components onto `pending` so that its first is popped first; `None` for
/// an absolute or empty target (which leaves the tree, or names nothing).
fn push_target(pending: &mut Vec<OsString>, target: &Path) -> Option<()> {
    if target.as_os_str().is_empty() || target.has_root() {
        return None;
    }
    let parts: Vec<OsString> = target
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_owned()),
            Component::ParentDir => Some(OsStr::new("..").to_owned()),
            _ => None,
        })
        .collect();
    pending.extend(parts.into_iter().rev());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), "x").unwrap();
        for d in ["", "a", "a/b"] {
            std::fs::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(root.join("a/b/f"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        (dir, root)
    }

    fn verdict(root: &Path) -> Result<Summary, (String, Option<Breach>)> {
        check(root).map_err(|e| {
            let path = match &e {
                Error::Breach { path, .. } | Error::Read { path, .. } => path.display().to_string(),
            };
            (path, e.breach())
        })
    }

    #[test]
    fn links_inside_the_tree_are_kept() {
        let (_d, root) = tree();
        symlink("b/f", root.join("a/l1")).unwrap();
        symlink("../a/b", root.join("a/l2")).unwrap();
        symlink("a/l2/../b/./f", root.join("l3")).unwrap();
        symlink("missing/../../x", root.join("dangling")).unwrap();
        symlink("a/b/f/..", root.join("through-a-file")).unwrap();
        assert_eq!(
            verdict(&root),
            Ok(Summary {
                entries: 9,
                bytes: 1
            })
        );
    }

    #[test]
    fn links_that_leave_are_refused_at_any_depth() {
        for (at, target) in [
            ("top-abs", "/etc/shadow"),
            ("top-up", ".."),
            ("a/b/up", "../../../x"),
            ("a/oldroot", "/oldroot/etc"),
            ("a/b/deep", "../../a/b/../../../etc"),
        ] {
            let (_d, root) = tree();
            symlink(target, root.join(at)).unwrap();
            assert_eq!(
                verdict(&root),
                Err((at.to_owned(), Some(Breach::LinkLeaves))),
                "{at} -> {target}"
            );
        }
    }

    #[test]
    fn a_chain_of_harmless_looking_links_that_leaves_is_refused() {
        // `d -> .` and `l -> d/..`: lexically `l` is the root; through `d` it is its parent.
        let (_d, root) = tree();
        symlink(".", root.join("a/d")).unwrap();
        symlink("d/../..", root.join("a/l")).unwrap();
        assert_eq!(
            verdict(&root),
            Err(("a/l".to_owned(), Some(Breach::LinkLeaves)))
        );
        // A link to a link that leaves.
        let (_d, root) = tree();
        symlink("../..", root.join("a/b/up2")).unwrap();
        symlink("a/b/up2/..", root.join("via")).unwrap();
        assert!(matches!(verdict(&root), Err((_, Some(Breach::LinkLeaves)))));
    }

    #[test]
    fn loops_roots_gits_and_modes() {
        let (_d, root) = tree();
        symlink("y", root.join("x")).unwrap();
        symlink("x", root.join("y")).unwrap();
        symlink("x/z", root.join("w")).unwrap();
        assert!(matches!(verdict(&root), Err((_, Some(Breach::LinkLoop)))));

        let (d, root) = tree();
        let link = d.path().join("link");
        symlink(&root, &link).unwrap();
        assert_eq!(
            verdict(&link),
            Err((String::new(), Some(Breach::RootIsLink)))
        );

        let (_d, root) = tree();
        std::fs::create_dir(root.join("a/.GiT.")).unwrap();
        assert_eq!(
            verdict(&root),
            Err(("a/.GiT.".to_owned(), Some(Breach::GitDir)))
        );
        assert_eq!(entry_name(b"git~1"), Err(Breach::GitDir));
        assert_eq!(entry_name(b".gitignore"), Ok(()));

        let (_d, root) = tree();
        std::fs::set_permissions(root.join("a"), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(
            verdict(&root),
            Err(("a".to_owned(), Some(Breach::Writable)))
        );
    }

    #[test]
    fn names_are_escaped_in_messages() {
        let err = breach(Path::new("a\u{1b}[31m"), Breach::LinkLeaves);
        assert_eq!(
            err.to_string(),
            "`a\\u{1b}[31m` is a symbolic link that leads out of its tree"
        );
    }
}
