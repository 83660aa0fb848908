//! User and mount namespaces: entering them, mapping the caller's ids, and keeping nested user
//! namespaces out.

use std::fs;

use rustix::thread::UnshareFlags;

use super::error::{process_error, Error};
use super::process::ensure_single_threaded;

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

/// Stop the calling process's user namespace (which it must own) from holding nested ones:
/// `user.max_user_namespaces` is per user namespace.
pub fn forbid_nested_user_namespaces() -> Result<(), Error> {
    fs::write("/proc/sys/user/max_user_namespaces", "0").map_err(|source| Error::Process {
        what: "set user.max_user_namespaces to 0 in the sandbox",
        source,
    })
}
