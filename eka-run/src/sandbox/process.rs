//! Process control: fork, wait, signals forwarded to the child, descriptors, session and
//! `no_new_privs`.

use std::fs;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::process::{Pid, WaitOptions};

use super::error::{process_error, Error};

/// Fail unless the process has a single thread (what `unshare(CLONE_NEWUSER)` and a safe `fork`
/// need). A thread that has delivered its result may still be on its way out (the library
/// joins its own, but a thread's exit is the kernel's): a moment is allowed for that, then
/// the threads still there are named.
pub(super) fn ensure_single_threaded() -> Result<(), Error> {
    let tasks = || -> Vec<String> {
        fs::read_dir("/proc/self/task")
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        fs::read_to_string(e.path().join("comm"))
                            .map(|c| c.trim_end().to_owned())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        let names = tasks();
        if names.len() <= 1 {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Threads {
                threads: names.len(),
                names,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
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
