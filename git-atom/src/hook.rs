//! `git atom hook`: install git hooks that guard atom refs, and run them.

use std::io::Write;

use anyhow::Context;
use atom_lib::guard::{self, HookKind, Refusal};
use atom_lib::GitStore;

use crate::{output, EXIT_FAILURE, EXIT_USAGE};

/// Install and run git hooks that guard atom refs
///
/// Published atoms (`refs/atoms/*`) and subatomics (`refs/subs/*`) are immutable. `git atom
/// hook install` puts a `pre-push` hook in the current repository that refuses any push that
/// would update or delete such a ref on the remote (`git push --force` and `git push --mirror`
/// included; creating new ones is allowed) and any branch push whose atoms have a missing or
/// stale `atom.lock` (what `git atom publish` refuses). `git atom publish` sets
/// `GIT_ATOM_PUBLISH=1` for its own push; the hook then skips the lock check, which publish has
/// done, but still refuses updates and deletions.
///
/// `git atom hook install --server`, run in a repository others push to (usually bare), puts a
/// `pre-receive` hook there that refuses updates and deletions of atom and subatomic refs, and
/// new atom refs that are not well-formed atoms (the structure level of `git atom verify`),
/// whichever client pushes them. New reserved refs under `refs/atoms/_*` are accepted only as
/// the format specifies them: `_root` a root commit, `_sig/...` a signature tag of the atom,
/// `_revoked/<key id>` a revocation of that key signed by the key itself or by a key of the
/// allowed-signers file named by the server's `atom.revocationSigners`; other names are refused.
///
/// The hooks are one line of shell running this program by its absolute path; run the install
/// again after moving it. Hooks go where git looks for them (`core.hooksPath` included).
///
/// Exit status: 0 installed (or, for the hooks themselves, push accepted), 1 refused or failed,
/// 2 bad arguments or not in a repository.
#[derive(Debug, clap::Args)]
#[command(disable_help_subcommand = true)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Install(InstallArgs),
    #[command(name = "pre-push", hide = true)]
    PrePush(PrePushArgs),
    #[command(name = "pre-receive", hide = true)]
    PreReceive,
}

/// Install the pre-push hook (or, with --server, the pre-receive hook) in this repository
#[derive(Debug, clap::Args)]
struct InstallArgs {
    /// Install the pre-receive hook of a repository others push to
    #[arg(long)]
    server: bool,
    /// Replace an existing hook that git atom did not install
    #[arg(long)]
    force: bool,
}

/// Run as git's pre-push hook (reads the refs being pushed on stdin)
#[derive(Debug, clap::Args)]
struct PrePushArgs {
    /// The remote's name (or URL, when pushing to a URL)
    remote: Option<String>,
    /// The remote's URL
    url: Option<String>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    match args.command {
        Command::Install(install) => {
            let store = match GitStore::discover(&cwd) {
                Ok(s) => s,
                Err(e) => {
                    output::error(&e.into());
                    return Ok(EXIT_USAGE);
                }
            };
            let kind = if install.server {
                HookKind::PreReceive
            } else {
                HookKind::PrePush
            };
            let program = std::env::current_exe().context("cannot find this program's path")?;
            let path = guard::install(&store, kind, &program, install.force)?;
            output::note(
                quiet,
                &format!(
                    "installed the {} hook at {}",
                    kind.file_name(),
                    path.display()
                ),
            );
            Ok(0)
        }
        Command::PrePush(_) => {
            let store = GitStore::discover(&cwd)?;
            let changes = guard::parse_pre_push(std::io::stdin().lock())?;
            let mut refusals = guard::immutable_refs(&changes);
            if std::env::var_os(guard::PUBLISH_ENV).is_none() {
                refusals.extend(guard::stale_locks(&store, &changes));
            }
            Ok(report(&refusals, "push"))
        }
        Command::PreReceive => {
            let store = GitStore::open_receiving(&cwd)?;
            let mut changes = guard::parse_pre_receive(std::io::stdin().lock())?;
            let repository = GitStore::discover(&cwd)?;
            // The namespace the server serves (`git help gitnamespaces`): pushed names are in it.
            let namespace = match std::env::var("GIT_NAMESPACE") {
                Ok(namespace) => Some(namespace),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => {
                    anyhow::bail!("GIT_NAMESPACE is not UTF-8: refusing the push")
                }
            };
            let mut refusals =
                guard::follow_symbolic_refs(&repository, namespace.as_deref(), &mut changes);
            refusals.extend(guard::immutable_refs(&changes));
            refusals.extend(guard::malformed_new_atoms(&store, &changes));
            refusals.extend(guard::confusable_new_atoms(&repository, &changes)?);
            refusals.extend(guard::malformed_new_signatures(
                &store,
                &repository,
                &changes,
            ));
            // The server's policy: who else may sign a revocation (an allowed-signers file).
            let signers = repository
                .config()?
                .string("atom.revocationSigners")
                .filter(|s| !s.is_empty())
                .map(|s| cwd.join(s));
            refusals.extend(guard::malformed_reserved_refs(
                &store,
                signers.as_deref(),
                &changes,
            ));
            Ok(report(&refusals, "receive"))
        }
    }
}

/// Prints each refusal on stderr (where git shows it to the pusher) and returns the status.
fn report(refusals: &[Refusal], what: &str) -> u8 {
    if refusals.is_empty() {
        return 0;
    }
    let mut stderr = std::io::stderr().lock();
    for r in refusals {
        let _ = writeln!(stderr, "error: {r}");
    }
    let _ = writeln!(
        stderr,
        "error: atom hook: {what} refused ({} problem(s))",
        refusals.len()
    );
    EXIT_FAILURE
}
