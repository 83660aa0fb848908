//! The kernel side of eka-run: user, mount, network, PID and IPC namespaces, a new root built
//! from bind mounts and entered with `pivot_root`, Landlock rules, and the process hygiene
//! (closed descriptors, new session, `no_new_privs`) the evaluation sandbox needs.
//!
//! This is the only module of eka-run with `unsafe` code.
#![allow(unsafe_code)] // reason: fork and a few raw syscalls have no safe wrapper; each block says why it is sound

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use rustix::fs::StatVfsMountFlags;
use rustix::mount::{
    MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};
use rustix::process::{Pid, WaitOptions};
use rustix::thread::UnshareFlags;

/// The Landlock ABI eka-run's rules are written and tested against (Linux 6.12: filesystem,
/// TCP and scope restrictions).
pub const LANDLOCK_ABI: ABI = ABI::V6;

/// Where the staging tmpfs is mounted before the first `pivot_root`, as bubblewrap does.
const STAGING: &str = "/tmp";
/// The host's root while the new root is being built.
const OLD_ROOT: &str = "/oldroot";
/// The new root while it is being built.
const NEW_ROOT: &str = "/newroot";

/// A failure to set up the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused to create a user namespace.
    #[error("user namespaces are not available: {hint}")]
    UserNamespaces {
        /// What to do about it.
        hint: String,
        /// The error `unshare(2)` returned.
        #[source]
        source: io::Error,
    },
    /// Landlock is missing from the kernel or disabled.
    #[error("landlock is not available ({status}): {hint}")]
    LandlockUnavailable {
        /// What the kernel reported.
        status: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// Building or applying the Landlock ruleset failed.
    #[error("cannot apply the landlock ruleset")]
    Landlock(#[source] landlock::RulesetError),
    /// Writing a uid or gid map failed.
    #[error("cannot write `{path}`")]
    IdMap {
        /// The `/proc` file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A mount inside the new namespace failed.
    #[error("cannot {what} `{target}`")]
    Mount {
        /// What was being done.
        what: &'static str,
        /// The mount point, as seen inside the namespace.
        target: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating a file or directory in the new root failed.
    #[error("cannot create `{path}` in the new root")]
    Create {
        /// The path, as seen inside the namespace.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A bind source is a symbolic link: it is refused, never followed (a link a dependency
    /// ships would name a host path).
    #[error("refusing to bind `{path}` into the sandbox: it is a symbolic link, and links are never followed into it")]
    BindLink {
        /// The host path.
        path: PathBuf,
    },
    /// `pivot_root` failed.
    #[error("cannot pivot_root into the new root")]
    PivotRoot(#[source] io::Error),
    /// The working directory does not exist inside the sandbox.
    #[error("cannot change to the working directory `{path}` inside the sandbox")]
    Chdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The process has more than one thread, so it cannot enter a user namespace or fork safely.
    #[error("the process has {threads} threads; the sandbox must be entered by a single-threaded process")]
    Threads {
        /// How many threads there are.
        threads: usize,
    },
    /// Another process-level operation failed.
    #[error("cannot {what}")]
    Process {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn process_error(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> Error {
    move |e| Error::Process {
        what,
        source: e.into(),
    }
}

/// Which namespaces to create besides the user and mount namespaces.
#[derive(Debug, Clone, Copy, Default)]
pub struct Namespaces {
    /// A network namespace: only a loopback interface, down.
    pub network: bool,
    /// PID, IPC, UTS and cgroup namespaces: no view of, or signals to, processes outside.
    pub isolated: bool,
}

/// Move the calling process into a mount namespace of its own, a copy of its current one (it
/// must already be in a user namespace it owns, or be privileged).
pub fn new_mount_namespace() -> Result<(), Error> {
    ensure_single_threaded()?;
    // SAFETY: as in `enter_user_namespace`: no `UnshareFlags::FILES`, single-threaded.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .map_err(process_error("create a mount namespace"))
}

/// For a caller that may already mount (root): a mount namespace alone, no user namespace.
/// Returns `false`, changing nothing, when the kernel refuses (root without `CAP_SYS_ADMIN`).
///
/// Root gains nothing from a user namespace, which would only take away what root-owned
/// programs expect: Nix, as root, calls `setgroups(2)` to set up its build sandbox, which a
/// user namespace created by its own process must deny.
pub fn enter_mount_namespace() -> Result<bool, Error> {
    ensure_single_threaded()?;
    // SAFETY: as in `enter_user_namespace`: no `UnshareFlags::FILES`, single-threaded.
    match unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) } {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::PERM) => Ok(false),
        Err(e) => Err(Error::Process {
            what: "create a mount namespace",
            source: e.into(),
        }),
    }
}

/// Create a user namespace (mapping the caller's uid and gid to themselves) and a mount
/// namespace, plus the ones `extra` asks for.
///
/// The caller must be single-threaded: the kernel refuses `CLONE_NEWUSER` otherwise.
pub fn enter_user_namespace(extra: Namespaces) -> Result<(), Error> {
    ensure_single_threaded()?;
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let mut flags = UnshareFlags::NEWUSER | UnshareFlags::NEWNS;
    if extra.network {
        flags |= UnshareFlags::NEWNET;
    }
    if extra.isolated {
        flags |= UnshareFlags::NEWPID
            | UnshareFlags::NEWIPC
            | UnshareFlags::NEWUTS
            | UnshareFlags::NEWCGROUP;
    }
    // SAFETY: `UnshareFlags::FILES` is not among the flags, so no thread can end up with a
    // descriptor table other threads do not see; and the process is single-threaded (checked
    // above), as the kernel requires for `CLONE_NEWUSER`.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(|e| Error::UserNamespaces {
        hint: userns_hint(),
        source: e.into(),
    })?;
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1\n"))?;
    write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1\n"))?;
    Ok(())
}

fn write_proc(path: &str, contents: &str) -> Result<(), Error> {
    fs::write(path, contents).map_err(|source| Error::IdMap {
        path: path.into(),
        source,
    })
}

/// Explain, from the sysctls that control them, why user namespaces could not be created.
fn userns_hint() -> String {
    let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled; enable them with \
                `sysctl -w kernel.unprivileged_userns_clone=1`"
            .into();
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user.max_user_namespaces is 0; raise it with \
                `sysctl -w user.max_user_namespaces=15000`"
            .into();
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces; allow them with \
                `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor \
                profile granting `userns` to eka-run"
            .into();
    }
    "the kernel or a security policy (seccomp in a container, an LSM) refused \
     unshare(CLONE_NEWUSER); run eka-run outside such a restriction or allow user namespaces"
        .into()
}

fn ensure_single_threaded() -> Result<(), Error> {
    let threads = fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(1);
    if threads == 1 {
        Ok(())
    } else {
        Err(Error::Threads { threads })
    }
}

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
    /// namespace created by [`enter_user_namespace`].
    pub fn enter(&self, cwd: &Path) -> Result<(), Error> {
        // Our mounts must not propagate back to the host.
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )
        .map_err(mount_error("make private", "/"))?;
        // Every bind source, opened and cloned now, on the host's own view: after the first
        // pivot a path that a source's link names could reach the host's root at /oldroot.
        let mut sources = self.open_sources()?.into_iter();
        // Stage on a tmpfs: after the first pivot the host's root is at /oldroot, complete
        // (including what the staging tmpfs covered).
        mount_tmpfs(STAGING)?;
        let old = Path::new(STAGING).join(OLD_ROOT.trim_start_matches('/'));
        create_dir(&old)?;
        rustix::process::pivot_root(STAGING, &old).map_err(|e| Error::PivotRoot(e.into()))?;
        chdir("/")?;
        create_dir(Path::new(NEW_ROOT))?;
        mount_tmpfs(NEW_ROOT)?;

        let mut read_only = Vec::new();
        for entry in &self.entries {
            let source = match entry {
                Entry::Bind { .. } => sources.next(),
                _ => None,
            };
            self.apply(entry, source, &mut read_only)?;
        }
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

    fn apply(
        &self,
        entry: &Entry,
        source: Option<(OwnedFd, bool)>,
        read_only: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        match entry {
            Entry::Bind { dst, mode, .. } => {
                let (tree, is_dir) = source.ok_or_else(|| Error::Mount {
                    what: "find the bind source for",
                    target: dst.clone(),
                    source: io::Error::from(io::ErrorKind::NotFound),
                })?;
                let to = inside(NEW_ROOT, dst);
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
                            make_symlink(&target, &inside(NEW_ROOT, &host))?;
                        }
                    } else if kind.is_dir() || kind.is_file() {
                        let to = inside(NEW_ROOT, &host);
                        create_mount_point(&to, kind.is_dir())?;
                        rustix::mount::mount_bind_recursive(item.path(), &to)
                            .map_err(mount_error("bind-mount", &host))?;
                    }
                }
            }
            Entry::Symlink { target, dst } => make_symlink(target, &inside(NEW_ROOT, dst))?,
            Entry::File { dst, contents } => {
                let to = inside(NEW_ROOT, dst);
                if let Some(parent) = to.parent() {
                    create_dir(parent)?;
                }
                fs::write(&to, contents).map_err(|source| Error::Create {
                    path: dst.clone(),
                    source,
                })?;
            }
            Entry::Proc => {
                let to = inside(NEW_ROOT, Path::new("/proc"));
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
                let dev = inside(NEW_ROOT, Path::new("/dev"));
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

/// What the Landlock ruleset allows; everything else on the filesystem is denied, and so are
/// TCP bind and connect, abstract unix sockets and signals to processes outside.
#[derive(Debug, Clone, Default)]
pub struct LandlockPolicy {
    /// Paths the sandboxed program may read and execute.
    pub read: Vec<PathBuf>,
    /// Paths the sandboxed program may read and write.
    pub write: Vec<PathBuf>,
}

/// What the Landlock ruleset could enforce on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Everything eka-run asks for.
    Full,
    /// Part of it: an older ABI (e.g. no TCP or scope rules); namespaces cover the rest.
    Partial,
    /// Nothing: Landlock is missing.
    None,
}

/// The Landlock ABI version the running kernel offers (0 when Landlock is missing or disabled).
pub fn landlock_abi() -> i64 {
    // SAFETY: landlock_create_ruleset with a null attribute pointer, size 0 and the VERSION
    // flag only queries the ABI version; it reads no memory and creates no descriptor.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    }
    .max(0)
}

/// Restrict the calling process (and what it executes) with Landlock. Also sets
/// `no_new_privs`. With `require` the call fails when Landlock is missing entirely.
pub fn landlock_restrict(policy: &LandlockPolicy, require: bool) -> Result<Enforcement, Error> {
    let abi = LANDLOCK_ABI;
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(&policy.read, AccessFs::from_read(abi))))
        .and_then(|r| r.add_rules(path_beneath_rules(&policy.write, AccessFs::from_all(abi))))
        .and_then(|r| r.restrict_self())
        .map_err(Error::Landlock)?;
    let enforcement = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial,
        RulesetStatus::NotEnforced => Enforcement::None,
    };
    if enforcement == Enforcement::None && require {
        return Err(landlock_unavailable());
    }
    Ok(enforcement)
}

/// The error for a kernel without Landlock, with how to enable it.
pub fn landlock_unavailable() -> Error {
    let lsm = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    let (status, hint) = if lsm.trim().is_empty() || lsm.contains("landlock") {
        (
            "the kernel offers no Landlock ABI".to_owned(),
            "use Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK=y, or pass --best-effort to evaluate without it",
        )
    } else {
        (
            format!("active LSMs are `{}`", lsm.trim()),
            "add `landlock` to the kernel's `lsm=` boot parameter, or pass --best-effort to evaluate without it",
        )
    };
    Error::LandlockUnavailable { status, hint }
}

/// The audit architecture of the syscalls [`deny_syscalls`] filters (others are refused).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

/// A seccomp filter for what Landlock and the namespaces leave open:
///
/// - `socket(AF_UNIX, ...)` fails with `EACCES`: no connection to a unix socket that is
///   reachable by path (a socket file in the atom is the host's listener), nor an abstract one;
/// - `unshare` and `clone` with `CLONE_NEWUSER` fail with `EPERM`: no nested user namespace
///   (and the kernel attack surface that comes with one); `clone3`, whose flags a filter cannot
///   read, fails with `ENOSYS`, so the C library falls back to `clone`;
/// - `io_uring_setup` fails with `ENOSYS`: io_uring would run these operations without the
///   syscalls the filter sees;
/// - syscalls of another architecture (32-bit compatibility, x32) fail with `ENOSYS`.
///
/// Needs `no_new_privs`; inherited by everything the process executes.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn deny_syscalls() -> Result<(), Error> {
    use libc::{sock_filter, sock_fprog};
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // Offsets in `struct seccomp_data`: nr, arch, then the arguments (the low half of the
    // first, little-endian).
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0: u32 = 16;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let stmt = |code: u16, k: u32| sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| sock_filter { code, jt, jf, k };
    let errno = |e: i32| stmt(RET, libc::SECCOMP_RET_ERRNO | (e as u32 & 0xffff));
    let nr = |n: libc::c_long| n as u32;

    let mut filter = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ, AUDIT_ARCH, 1, 0),
        errno(libc::ENOSYS),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        errno(libc::ENOSYS),
        // socket(AF_UNIX, ...)
        jump(JEQ, nr(libc::SYS_socket), 0, 3),
        stmt(LD_W_ABS, ARG0),
        jump(JEQ, libc::AF_UNIX as u32, 0, 1),
        errno(libc::EACCES),
    ];
    for call in [libc::SYS_unshare, libc::SYS_clone] {
        filter.extend([
            stmt(LD_W_ABS, NR),
            jump(JEQ, nr(call), 0, 3),
            stmt(LD_W_ABS, ARG0),
            jump(JSET, libc::CLONE_NEWUSER as u32, 0, 1),
            errno(libc::EPERM),
        ]);
    }
    for call in [libc::SYS_clone3, libc::SYS_io_uring_setup] {
        filter.extend([
            stmt(LD_W_ABS, NR),
            jump(JEQ, nr(call), 0, 1),
            errno(libc::ENOSYS),
        ]);
    }
    filter.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
    let program = sock_fprog {
        len: u16::try_from(filter.len()).expect("a short filter"),
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `program` points to `filter`, which outlives the call; the kernel copies it.
    // The process has set no_new_privs, as an unprivileged seccomp filter requires.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &program as *const sock_fprog,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Error::Process {
            what: "install the seccomp filter",
            source: io::Error::last_os_error(),
        })
    }
}

/// Stop the calling process's user namespace (which it must own) from holding nested ones:
/// `user.max_user_namespaces` is per user namespace.
pub fn forbid_nested_user_namespaces() -> Result<(), Error> {
    fs::write("/proc/sys/user/max_user_namespaces", "0").map_err(|source| Error::Process {
        what: "set user.max_user_namespaces to 0 in the sandbox",
        source,
    })
}

/// Mark every descriptor from 3 up close-on-exec, so the executed program inherits only
/// stdin, stdout and stderr.
pub fn close_inherited_fds_on_exec() -> Result<(), Error> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors; it closes
    // nothing that Rust objects in this process still own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Error::Process {
            what: "mark inherited descriptors close-on-exec",
            source: io::Error::last_os_error(),
        })
    }
}

/// Start a new session: the program loses the caller's controlling terminal.
pub fn new_session() -> Result<(), Error> {
    rustix::process::setsid()
        .map(drop)
        .map_err(process_error("start a new session"))
}

/// Set `no_new_privs`: setuid binaries and file capabilities grant nothing after exec.
pub fn no_new_privs() -> Result<(), Error> {
    rustix::thread::set_no_new_privs(true).map_err(process_error("set no_new_privs"))
}

/// Point stdin at `stdin`, stdout and stderr at the given descriptors.
pub fn redirect_stdio(stdin: impl AsFd, stdout: impl AsFd, stderr: impl AsFd) -> Result<(), Error> {
    rustix::stdio::dup2_stdin(stdin).map_err(process_error("redirect stdin"))?;
    rustix::stdio::dup2_stdout(stdout).map_err(process_error("redirect stdout"))?;
    rustix::stdio::dup2_stderr(stderr).map_err(process_error("redirect stderr"))
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(process_error("create a pipe"))
}

/// Where caught signals go: a child's pid; 0 until there is one (signals are kept in
/// [`PENDING`]); -1 once it is gone (signals are dropped).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
/// A signal caught before there was a child to forward it to.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// The signals [`catch_signals`] forwards.
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; `pid` is our own child.
        unsafe { libc::kill(pid, sig) };
    } else if pid == 0 {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// Catch SIGINT, SIGTERM and SIGHUP and forward them to the child named by
/// [`forward_signals_to`] (the ones that arrive before are kept and forwarded then), instead of
/// dying with the child still running and nothing cleaned up. `exec` resets the handlers.
/// Each call starts over: signals are kept until [`forward_signals_to`] names the next child.
pub fn catch_signals() -> Result<(), Error> {
    FORWARD_TO.store(0, Ordering::SeqCst);
    for sig in FORWARDED {
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags) to fill in.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = forward_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action` is a valid sigaction whose handler only calls async-signal-safe
        // functions (an atomic load or store and kill); the old action is not asked for.
        if unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) } != 0 {
            return Err(Error::Process {
                what: "install a signal handler",
                source: io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Forward the signals [`catch_signals`] catches to `pid` from now on, starting with one that
/// arrived before.
pub fn forward_signals_to(pid: Pid) {
    FORWARD_TO.store(pid.as_raw_nonzero().get(), Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: kill(2) on our own child; no memory is involved.
        unsafe { libc::kill(pid.as_raw_nonzero().get(), pending) };
    }
}

/// Stop forwarding signals (the child is gone and its pid may be reused): they are dropped.
pub fn stop_forwarding() {
    FORWARD_TO.store(-1, Ordering::SeqCst);
}

/// The result of [`fork`].
#[derive(Debug)]
pub enum Fork {
    /// In the child.
    Child,
    /// In the parent, with the child's pid.
    Parent(Pid),
}

/// Fork the (single-threaded) process.
pub fn fork() -> Result<Fork, Error> {
    ensure_single_threaded()?;
    // SAFETY: the process has a single thread (checked just above), so the child inherits no
    // lock held by another thread and may allocate and run arbitrary code before exec.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Error::Process {
            what: "fork",
            source: io::Error::last_os_error(),
        }),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(
            Pid::from_raw(pid).expect("fork returned a positive pid"),
        )),
    }
}

/// Wait for `pid`; its exit code, or 128 + the signal that killed it (as shells report it).
pub fn wait(pid: Pid) -> Result<u8, Error> {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => {
                if let Some(code) = status.exit_status() {
                    return Ok(u8::try_from(code & 0xff).unwrap_or(1));
                }
                if let Some(sig) = status.terminating_signal() {
                    return Ok(u8::try_from(128 + (sig & 0x7f)).unwrap_or(255));
                }
            }
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(process_error("wait for the sandboxed process")(e)),
        }
    }
}

/// The CPU time (user + system) used by the children this process has waited for, and theirs.
pub fn children_cpu_time() -> std::time::Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_CHILDREN needs nothing else.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return std::time::Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        std::time::Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + std::time::Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Leave the current (forked) process at once with `code`, running no destructors or atexit
/// handlers that belong to the parent.
pub fn exit_now(code: i32) -> ! {
    let _ = io::stderr().flush();
    // SAFETY: _exit ends the process immediately; it has no preconditions.
    unsafe { libc::_exit(code) }
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
