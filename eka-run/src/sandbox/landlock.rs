//! Landlock: the filesystem, TCP and scope rules the sandboxed program runs under.

use std::fs;
use std::path::PathBuf;

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use super::error::Error;

/// The Landlock ABI eka-run's rules are written and tested against (Linux 6.12: filesystem,
/// TCP and scope restrictions).
pub const LANDLOCK_ABI: ABI = ABI::V6;

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
