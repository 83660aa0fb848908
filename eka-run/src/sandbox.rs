//! The kernel side of eka-run, one module per mechanism: user, mount, network, PID and IPC
//! namespaces ([`userns`]), a new root built from bind mounts and entered with `pivot_root`
//! ([`mounts`]), Landlock rules ([`landlock`]), a seccomp filter ([`seccomp`]), and the process
//! control and hygiene (fork, wait, signals, closed descriptors, new session, `no_new_privs`)
//! the sandboxes need ([`process`]).
//!
//! This is the only module of eka-run with `unsafe` code.
#![allow(unsafe_code)] // reason: fork and a few raw syscalls have no safe wrapper; each block says why it is sound

mod error;
pub mod landlock;
pub mod mounts;
pub mod process;
pub mod seccomp;
pub mod userns;

pub use self::error::Error;
pub use self::landlock::{
    landlock_abi, landlock_restrict, landlock_unavailable, Enforcement, LandlockPolicy,
    LANDLOCK_ABI,
};
pub use self::mounts::{Mode, NewRoot};
pub use self::process::{
    catch_signals, children_cpu_time, close_inherited_fds_on_exec, exit_now, fork,
    forward_signals_to, new_session, no_new_privs, pipe, redirect_stdio, stop_forwarding, wait,
    Fork,
};
pub use self::seccomp::deny_syscalls;
pub use self::userns::{
    enter_mount_namespace, enter_user_namespace, forbid_nested_user_namespaces,
    new_mount_namespace, Namespaces,
};
