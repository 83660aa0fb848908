//! `git atom update`.

use anyhow::Context;
use atom_lib::update;
use atom_lib::GitStore;

use crate::output;

/// Move an atom clone to the newest version its requirement matches
///
/// In a clone made by `git clone atom::<repository>::<label>[@<requirement>]`, fetches the
/// `atom::` remote (which selects the newest matching version again) and moves the branch and
/// the working tree to it, keeping local changes as `git reset --keep` does. Atom versions are
/// unrelated commits, so `git pull` cannot merge them: this is the command to use instead.
///
/// Exit status: 0 updated or already up to date, 1 failed (nothing moved), 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store = GitStore::discover(&cwd)?;
    let outcome = update::update(&store, output::transfer_verbosity(quiet))?;
    let shown = |version: &Option<atom_lib::Version>, commit: atom_lib::Oid| match version {
        Some(v) => format!("{v} ({})", commit.short(12)),
        None => commit.short(12),
    };
    let message = if outcome.updated() {
        format!(
            "updated `{}` from {} to {}",
            outcome.branch,
            shown(&outcome.from_version, outcome.from),
            shown(&outcome.to_version, outcome.to)
        )
    } else {
        format!(
            "`{}` is up to date at {}",
            outcome.branch,
            shown(&outcome.to_version, outcome.to)
        )
    };
    output::note(quiet, &message);
    Ok(0)
}
