//! The top-level command line.

use clap::{Parser, Subcommand};

/// Versioned source packages ("atoms") as first-class git objects.
///
/// An atom is a directory holding an `atom.toml` manifest. `git atom publish` turns it into a
/// reproducible orphan commit referenced by `refs/atoms/<label>/<version>`, locally and on a
/// remote; `git atom ls` lists atoms from one ref listing; `git atom verify` proves an atom
/// matches its source commit; `git atom tree` shows the dependency closure a lock pins;
/// `git atom fetch` brings a remote's atoms here; `git atom update` moves a clone of an atom to
/// its newest matching version.
///
/// A repository is named the same way by every subcommand: `.`, a configured remote, a path, a
/// URL, or an address with aliases as atom URIs write it (`gh:org/repo`).
///
/// `git help git-atom-<subcommand>` (or `man git-atom-<subcommand>`) shows a subcommand's page.
/// With `--json`, output is one JSON document (docs/json.md), errors included.
#[derive(Debug, Parser)]
#[command(
    name = "git-atom",
    bin_name = "git atom",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch,
    /// update); what a command exists to print (ls, show, tree, verify, --json) is still printed
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Publish(crate::publish::Args),
    Ls(crate::ls::Args),
    Verify(crate::verify::Args),
    Add(crate::add::AddArgs),
    Remove(crate::add::RemoveArgs),
    Resolve(crate::resolve::Args),
    Show(crate::show::Args),
    Tree(crate::tree::Args),
    Hook(crate::hook::Args),
    Sign(crate::sign::Args),
    Fetch(crate::fetch::Args),
    Update(crate::update::Args),
}

impl Cli {
    /// Runs the chosen subcommand; the result is the exit status.
    pub fn run(self) -> anyhow::Result<u8> {
        let quiet = self.quiet;
        match self.command {
            Command::Publish(args) => crate::publish::run(args, quiet),
            Command::Ls(args) => crate::ls::run(args, quiet),
            Command::Verify(args) => crate::verify::run(args, quiet),
            Command::Add(args) => crate::add::add(args, quiet),
            Command::Remove(args) => crate::add::remove(args, quiet),
            Command::Resolve(args) => crate::resolve::run(args, quiet),
            Command::Show(args) => crate::show::run(args),
            Command::Tree(args) => crate::tree::run(args, quiet),
            Command::Hook(args) => crate::hook::run(args, quiet),
            Command::Sign(args) => crate::sign::run(args, quiet),
            Command::Fetch(args) => crate::fetch::run(args, quiet),
            Command::Update(args) => crate::update::run(args, quiet),
        }
    }
}

/// Logs go to stderr, filtered by `ATOM_LOG` (a `tracing` filter) or by `-v`/`-q`.
pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("ATOM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal, as git does: a log file or pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
