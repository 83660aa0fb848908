//! `git-remote-atom`: the remote helper behind `git clone atom::<uri>`.
//!
//! The transport is tracked by issue 3 and not implemented yet; until it is, the helper refuses
//! every invocation with a clear message instead of pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("fatal: the atom:: transport is not implemented yet; use `git atom ls` and `git fetch <remote> refs/atoms/<label>/<version>`");
    ExitCode::from(128)
}
