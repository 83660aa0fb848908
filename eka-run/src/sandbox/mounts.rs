//! The new root: a tmpfs built from bind mounts of host paths (opened on the host first, moved
//! in with `move_mount`), entered with `pivot_root`, the host's root detached. Or, where only one
//! host directory is to be replaced and the rest kept as it is (run mode's `/nix`), that
//! directory covered in place ([`NewRoot::cover`]).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use rustix::fs::StatVfsMountFlags;
use rustix::mount::{
    MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};

use super::error::Error;

/// Where the staging tmpfs is mounted before the first `pivot_root`, as bubblewrap does.
const STAGING: &str = "/tmp";
/// The host's root while the new root is being built.
const OLD_ROOT: &str = "/oldroot";
/// The new root while it is being built.
const NEW_ROOT: &str = "/newroot";

/// How a host path is made visible in the new root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read-only.
    ReadOnly,
    /// Read-write.
    ReadWrite,
}

#[derive(Debug, Clone)]
enum Entry {
    /// Bind the host path `src` at `dst`, recursively.
    Bind {
        src: PathBuf,
        dst: PathBuf,
        mode: Mode,
    },
    /// Every entry of the host's `/` except the listed names, read-write.
    HostRoot { except: Vec<OsString> },
    /// A symlink at `dst`.
    Symlink { target: PathBuf, dst: PathBuf },
    /// A fresh `/proc` (needs a PID namespace).
    Proc,
    /// A minimal `/dev`: null, zero, full, random, urandom, and fd links.
    MinimalDev,
    /// A file at `dst` on the new root's own tmpfs (nothing on the host), read-only like the
    /// rest of that tmpfs.
    File { dst: PathBuf, contents: Vec<u8> },
}

/// A description of a new root filesystem, built from the host's by bind mounts.
#[derive(Debug, Clone, Default)]
pub struct NewRoot {
    entries: Vec<Entry>,
}

impl NewRoot {
    /// An empty root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every top-level entry of the host's root except `except` (e.g. `nix`), with their
    /// submounts, writable as on the host.
    pub fn host_root_except(mut self, except: &[&str]) -> Self {
        self.entries.push(Entry::HostRoot {
            except: except.iter().map(OsString::from).collect(),
        });
        self
    }

    /// Make the host path `src` (absolute, canonical) visible at `dst`. `src` is opened on the
    /// host before anything is mounted, without following a link at its last component (a link
    /// there is refused: see [`Error::BindLink`]), and the mount is made from that descriptor,
    /// so no path is resolved while the host's root is reachable at `/oldroot`.
    pub fn bind(mut self, src: impl Into<PathBuf>, dst: impl Into<PathBuf>, mode: Mode) -> Self {
        self.entries.push(Entry::Bind {
            src: src.into(),
            dst: dst.into(),
            mode,
        });
        self
    }

    /// Make the host path `src` visible at the same path, copying it as a symlink when it is one
    /// (as `/bin -> usr/bin` is on merged-`/usr` systems).
    pub fn mirror(self, src: &Path, mode: Mode) -> Self {
        match fs::read_link(src) {
            Ok(target) => self.symlink(target, src),
            Err(_) => self.bind(src, src, mode),
        }
    }

    /// Create a symlink `dst -> target`.
    pub fn symlink(mut self, target: impl Into<PathBuf>, dst: impl Into<PathBuf>) -> Self {
        self.entries.push(Entry::Symlink {
            target: target.into(),
            dst: dst.into(),
        });
        self
    }

    /// Mount a fresh `/proc` (only valid in a new PID namespace).
    pub fn proc(mut self) -> Self {
        self.entries.push(Entry::Proc);
        self
    }

    /// Write a file at `dst` on the new root's tmpfs: it exists only in this mount namespace
    /// and vanishes with it. `dst` must not be below a bind mount.
    pub fn file(mut self, dst: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        self.entries.push(Entry::File {
            dst: dst.into(),
            contents: contents.into(),
        });
        self
    }

    /// Create a minimal `/dev` with the harmless device nodes only.
    pub fn minimal_dev(mut self) -> Self {
        self.entries.push(Entry::MinimalDev);
        self
    }

    /// Build the new root and `pivot_root` into it, then change to `cwd`. The host's root is
    /// detached: nothing of it stays reachable but what was bound. Must run inside the mount
    /// namespace created by [`enter_user_namespace`](super::userns::enter_user_namespace).
    pub fn enter(&self, cwd: &Path) -> Result<(), Error> {
        // Our mounts must not propagate back to the host.
        stop_propagation()?;
        // Every bind source, opened and cloned now, on the host's own view: after the first
        // pivot a path that a source's link names could reach the host's root at /oldroot.
        let sources = self.open_sources()?;
        // Stage on a tmpfs: after the first pivot the host's root is at /oldroot, complete
        // (including what the staging tmpfs covered).
        mount_tmpfs(STAGING)?;
        let old = Path::new(STAGING).join(OLD_ROOT.trim_start_matches('/'));
        create_dir(&old)?;
        rustix::process::pivot_root(STAGING, &old).map_err(|e| Error::PivotRoot(e.into()))?;
        chdir("/")?;
        create_dir(Path::new(NEW_ROOT))?;
        mount_tmpfs(NEW_ROOT)?;

        let read_only = self.apply_all(sources, NEW_ROOT)?;
        // Read-only remounts come last, so that mount points below them could still be created.
        for target in read_only {
            remount_read_only(&target)?;
        }

        chdir(NEW_ROOT)?;
        rustix::process::pivot_root(".", ".").map_err(|e| Error::PivotRoot(e.into()))?;
        rustix::mount::unmount(".", UnmountFlags::DETACH)
            .map_err(mount_error("detach the old root", "/"))?;
        chdir("/")?;
        remount_read_only(Path::new("/"))?;
        rustix::process::chdir(cwd).map_err(|e| Error::Chdir {
            path: cwd.to_owned(),
            source: e.into(),
        })
    }

    /// Cover the host directory `at` in place, in the current mount namespace: a fresh tmpfs on
    /// it holding this root's binds and files (each `dst` below `at`), then made read-only (the
    /// binds keep their own modes); then change to `cwd`. The rest of the host stays as it is:
    /// no new root is built, so none of the host's mounts is copied, which is what makes this
    /// cheaper than [`NewRoot::enter`] (run mode's start-up). `at` must be a directory of the
    /// host (a mount point); the entries may only be binds and files below it.
    pub fn cover(&self, at: &Path, cwd: &Path) -> Result<(), Error> {
        let misplaced = self.entries.iter().find_map(|entry| match entry {
            Entry::Bind { dst, .. } | Entry::File { dst, .. } if dst.starts_with(at) => None,
            Entry::Bind { dst, .. } | Entry::File { dst, .. } => Some(dst.clone()),
            _ => Some(at.to_owned()),
        });
        if let Some(target) = misplaced {
            return Err(Error::Mount {
                what: "place below the covered directory",
                target,
                source: io::Error::from(io::ErrorKind::InvalidInput),
            });
        }
        stop_propagation()?;
        // The sources first: one may be below `at` on the host (a store at /nix/store).
        let sources = self.open_sources()?;
        let base = at.to_str().ok_or_else(|| Error::Mount {
            what: "cover",
            target: at.to_owned(),
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;
        mount_tmpfs(base)?;
        let read_only = self.apply_all(sources, "/")?;
        for target in read_only {
            remount_read_only(&target)?;
        }
        remount_read_only(at)?;
        chdir(cwd)
    }

    /// For each [`Entry::Bind`], in order: a detached clone of the mounts at its source, and
    /// whether the source is a directory. A source that is a symbolic link is refused.
    fn open_sources(&self) -> Result<Vec<(OwnedFd, bool)>, Error> {
        let mut out = Vec::new();
        for entry in &self.entries {
            let Entry::Bind { src, dst, .. } = entry else {
                continue;
            };
            let fd = rustix::fs::open(
                src,
                rustix::fs::OFlags::PATH
                    | rustix::fs::OFlags::NOFOLLOW
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(mount_error("open the bind source for", dst))?;
            let kind = rustix::fs::FileType::from_raw_mode(
                rustix::fs::fstat(&fd)
                    .map_err(mount_error("inspect the bind source for", dst))?
                    .st_mode,
            );
            if kind == rustix::fs::FileType::Symlink {
                return Err(Error::BindLink { path: src.clone() });
            }
            let tree = rustix::mount::open_tree(
                &fd,
                "",
                OpenTreeFlags::OPEN_TREE_CLONE
                    | OpenTreeFlags::OPEN_TREE_CLOEXEC
                    | OpenTreeFlags::AT_EMPTY_PATH
                    | OpenTreeFlags::AT_RECURSIVE,
            )
            .map_err(mount_error("clone the bind source for", dst))?;
            out.push((tree, kind == rustix::fs::FileType::Directory));
        }
        Ok(out)
    }

    /// Makes every entry in the tree being built at `base`, each bind from its source (as
    /// [`NewRoot::open_sources`] gives them, in order); returns the mount points to remount
    /// read-only once every mount point below them exists.
    fn apply_all(&self, sources: Vec<(OwnedFd, bool)>, base: &str) -> Result<Vec<PathBuf>, Error> {
        let mut sources = sources.into_iter();
        let mut read_only = Vec::new();
        for entry in &self.entries {
            let source = match entry {
                Entry::Bind { .. } => sources.next(),
                _ => None,
            };
            self.apply(entry, source, base, &mut read_only)?;
        }
        Ok(read_only)
    }

    /// Makes `entry` in the tree being built at `base` (the new root, or `/` when covering).
    fn apply(
        &self,
        entry: &Entry,
        source: Option<(OwnedFd, bool)>,
        base: &str,
        read_only: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        match entry {
            Entry::Bind { dst, mode, .. } => {
                let (tree, is_dir) = source.ok_or_else(|| Error::Mount {
                    what: "find the bind source for",
                    target: dst.clone(),
                    source: io::Error::from(io::ErrorKind::NotFound),
                })?;
                let to = inside(base, dst);
                create_mount_point(&to, is_dir)?;
                rustix::mount::move_mount(
                    &tree,
                    "",
                    rustix::fs::CWD,
                    &to,
                    MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
                )
                .map_err(mount_error("bind-mount", dst))?;
                if *mode == Mode::ReadOnly {
                    read_only.push(to);
                }
            }
            Entry::HostRoot { except } => {
                let dir = fs::read_dir(OLD_ROOT).map_err(|source| Error::Create {
                    path: OLD_ROOT.into(),
                    source,
                })?;
                for item in dir.flatten() {
                    let name = item.file_name();
                    if except.contains(&name) {
                        continue;
                    }
                    let host = Path::new("/").join(&name);
                    let Ok(kind) = item.file_type() else { continue };
                    if kind.is_symlink() {
                        if let Ok(target) = fs::read_link(item.path()) {
                            make_symlink(&target, &inside(base, &host))?;
                        }
                    } else if kind.is_dir() || kind.is_file() {
                        let to = inside(base, &host);
                        create_mount_point(&to, kind.is_dir())?;
                        rustix::mount::mount_bind_recursive(item.path(), &to)
                            .map_err(mount_error("bind-mount", &host))?;
                    }
                }
            }
            Entry::Symlink { target, dst } => make_symlink(target, &inside(base, dst))?,
            Entry::File { dst, contents } => {
                let to = inside(base, dst);
                if let Some(parent) = to.parent() {
                    create_dir(parent)?;
                }
                fs::write(&to, contents).map_err(|source| Error::Create {
                    path: dst.clone(),
                    source,
                })?;
            }
            Entry::Proc => {
                let to = inside(base, Path::new("/proc"));
                create_dir(&to)?;
                rustix::mount::mount(
                    "proc",
                    &to,
                    "proc",
                    MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                    None,
                )
                .map_err(mount_error("mount proc on", "/proc"))?;
            }
            Entry::MinimalDev => {
                let dev = inside(base, Path::new("/dev"));
                create_dir(&dev)?;
                for node in ["null", "zero", "full", "random", "urandom"] {
                    let to = dev.join(node);
                    create_mount_point(&to, false)?;
                    rustix::mount::mount_bind(Path::new(OLD_ROOT).join("dev").join(node), &to)
                        .map_err(mount_error("bind-mount", Path::new("/dev").join(node)))?;
                }
                for (name, target) in [
                    ("fd", "/proc/self/fd"),
                    ("stdin", "/proc/self/fd/0"),
                    ("stdout", "/proc/self/fd/1"),
                    ("stderr", "/proc/self/fd/2"),
                ] {
                    make_symlink(Path::new(target), &dev.join(name))?;
                }
            }
        }
        Ok(())
    }
}

/// Makes every mount of this namespace a slave of the host's: our mounts do not propagate back
/// to the host.
fn stop_propagation() -> Result<(), Error> {
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(mount_error("make private", "/"))
}

/// `base` joined with the absolute `path`, without letting `..` climb out of `base`.
fn inside(base: &str, path: &Path) -> PathBuf {
    let mut out = PathBuf::from(base);
    for c in path.components() {
        if let Component::Normal(part) = c {
            out.push(part);
        }
    }
    out
}

fn mount_error(
    what: &'static str,
    target: impl AsRef<Path>,
) -> impl FnOnce(rustix::io::Errno) -> Error {
    let target = target.as_ref().to_owned();
    move |e| Error::Mount {
        what,
        target,
        source: e.into(),
    }
}

fn mount_tmpfs(target: &str) -> Result<(), Error> {
    rustix::mount::mount(
        "tmpfs",
        target,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(c"mode=0755"),
    )
    .map_err(mount_error("mount a tmpfs on", target))
}

fn chdir(path: impl AsRef<Path>) -> Result<(), Error> {
    rustix::process::chdir(path.as_ref()).map_err(|e| Error::Chdir {
        path: path.as_ref().to_owned(),
        source: e.into(),
    })
}

fn create_dir(path: &Path) -> Result<(), Error> {
    fs::create_dir_all(path).map_err(|source| Error::Create {
        path: path.to_owned(),
        source,
    })
}

fn create_mount_point(path: &Path, is_dir: bool) -> Result<(), Error> {
    if is_dir {
        return create_dir(path);
    }
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map(drop)
        .map_err(|source| Error::Create {
            path: path.to_owned(),
            source,
        })
}

fn make_symlink(target: &Path, at: &Path) -> Result<(), Error> {
    if let Some(parent) = at.parent() {
        create_dir(parent)?;
    }
    match symlink(target, at) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(Error::Create {
            path: at.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Remount a bind mount read-only, keeping the flags the kernel locks in a user namespace
/// (nosuid, nodev, noexec and the atime flags must be repeated or the remount is refused).
fn remount_read_only(target: &Path) -> Result<(), Error> {
    let current = rustix::fs::statvfs(target)
        .map(|s| s.f_flag)
        .unwrap_or(StatVfsMountFlags::empty());
    let mut flags = MountFlags::BIND | MountFlags::RDONLY;
    for (have, want) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if current.contains(have) {
            flags |= want;
        }
    }
    rustix::mount::mount_remount(target, flags, "")
        .map_err(mount_error("remount read-only", target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_never_climbs_out() {
        assert_eq!(
            inside("/newroot", Path::new("/a/../../etc")),
            PathBuf::from("/newroot/a/etc")
        );
        assert_eq!(
            inside("/newroot", Path::new("/nix/store")),
            PathBuf::from("/newroot/nix/store")
        );
    }
}
