//! `git-remote-atom`: the remote helper behind `git clone atom::<uri>`.
//!
//! git runs `git-remote-atom <remote> <uri>` for any `atom::<uri>` URL and talks to it over
//! stdin/stdout (see `gitremote-helpers(7)`). The helper offers `list`, `fetch`, `push` and
//! `option`:
//!
//! - [`list`](crate::list) asks the real remote for `refs/atoms/<label>/` and the eka tool's
//!   `refs/eka/atoms/<label>/` (with eka's metadata refs and both identity refs) with one
//!   protocol v2 `ls-refs` (`ref-prefix`), and answers with the versions the URI's requirement
//!   accepts (the formats merged per version, format 1 winning), plus `refs/heads/<label>` and
//!   `HEAD` pointing at the highest of them, so a clone gets a branch;
//! - [`fetch`](crate::fetch) fetches just those atom commits (and their trees) from the real
//!   remote into the store's quarantine, checks each one's structure and provenance (its tree
//!   is the tree at its path in its source commit, which the remote must have: only that commit
//!   and the trees along the path are fetched, into a throw-away quarantine; an eka atom's
//!   metadata refs go into a throw-away quarantine too), and only then admits the objects into
//!   the repository git is working on; git writes the refs afterwards;
//! - [`push`](crate::push) only ever creates `refs/atoms/<label>/<version>` refs holding atom
//!   commits that pass publishing's rules (`atom_lib::publish::check_existing`), with
//!   create-only leases.
//!
//! The [`protocol`] module reads git's commands and writes the replies; it takes its streams as
//! parameters, so it runs the same over a process's stdin/stdout and in tests. stdout carries
//! the protocol only and is flushed after every reply; everything for people goes to stderr and
//! obeys `option verbosity` and `option progress`.

mod fetch;
mod list;
mod policy;
pub mod protocol;
mod push;
mod remote;
mod signatures;

use std::ffi::OsString;
use std::io::{self, Write as _};

/// Exit status of a fatal error, as git uses it.
pub const EXIT_FATAL: u8 = 128;

/// Runs the helper with `args` (`git-remote-atom <remote> [<url>]`) on this process's stdin and
/// stdout; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    init_logging();
    let args: Vec<OsString> = args.into_iter().collect();
    let url = match (args.get(1), args.get(2)) {
        (_, Some(url)) | (Some(url), None) => url.to_string_lossy().into_owned(),
        _ => {
            let _ = writeln!(
                io::stderr(),
                "usage: git-remote-atom <remote> [<url>] (git runs this for atom::<uri> URLs)"
            );
            return EXIT_FATAL;
        }
    };
    let url = url.strip_prefix("atom::").unwrap_or(&url).to_owned();
    // git passes the remote's name first, or the URL again for a URL given on the command line.
    let named = match (args.get(1), args.get(2)) {
        (Some(name), Some(_)) => {
            let name = name.to_string_lossy();
            name != url && name != format!("atom::{url}")
        }
        _ => false,
    };
    let stdin = io::stdin();
    let stdout = io::stdout();
    match protocol::serve(&url, named, stdin.lock(), stdout.lock()) {
        Ok(()) => 0,
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            let text = atom_lib::error_chain(&e).replace('\n', " ");
            let _ = writeln!(io::stderr(), "fatal: {text}");
            EXIT_FATAL
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ATOM_LOG").unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        // Colour only on a terminal, as git does: a log file or pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
