//! `git atom fetch`.

use anyhow::Context;
use atom_lib::fetch::{self, Options};
use atom_lib::GitStore;
use serde::Serialize;

use crate::{output, repository};

/// Fetch a remote's atoms into this repository
///
/// Fetches every ref under `refs/atoms/` of <REPOSITORY> (the atoms, the repository's identity
/// and signatures) into the same refs here, so `git atom ls`, `git atom verify` and `git atom
/// show` see them. Atom commits have no parents: only their trees are transferred, never the
/// source history. An atom already here is never rewritten: if the remote has different content
/// under a version this repository has, the fetch fails and nothing changes for that ref.
/// Every new atom is checked before any ref is written (structure, source and, with
/// `atom.requireSignature` true, a signature by a trusted key that is not revoked): one that
/// fails is named and nothing is written.
///
/// Prints the new atom versions (nothing with -q); progress on stderr when it is a terminal.
///
/// Exit status: 0 fetched (even nothing new), 1 the remote could not be fetched, 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remote name, path, URL or address with aliases (`gh:org/repo`); default: the remote
    /// `git push` would use
    #[arg(value_name = "REPOSITORY", value_parser = crate::publish::parse_remote)]
    repository: Option<String>,
    /// Print the result as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonAtom<'a> {
    label: &'a str,
    version: String,
    commit: String,
    status: &'static str,
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    remote: &'a str,
    atoms: Vec<JsonAtom<'a>>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store = GitStore::discover(&cwd)?;
    let given = match args.repository {
        Some(given) => given,
        None => store.default_push_remote()?.context(
            "no remote is configured: give one (`git atom fetch <remote>`), or add one with \
             `git remote add origin <url>`",
        )?,
    };
    let remote = repository::resolve(&store, &given, &cwd)?;
    let outcome = fetch::fetch(
        &store,
        &Options {
            remote,
            verbosity: output::transfer_verbosity(quiet),
        },
    )?;
    if args.json {
        let json = JsonOutcome {
            remote: &given,
            atoms: outcome
                .fetched
                .iter()
                .map(|f| JsonAtom {
                    label: f.label.as_str(),
                    version: f.version.to_string(),
                    commit: f.commit.to_string(),
                    status: "fetched",
                })
                .collect(),
        };
        output::json(&json)?;
    } else if !quiet && !outcome.fetched.is_empty() {
        let mut rows = vec![vec![
            "LABEL".into(),
            "VERSION".into(),
            "COMMIT".into(),
            "STATUS".into(),
        ]];
        for f in &outcome.fetched {
            rows.push(vec![
                f.label.to_string(),
                f.version.to_string(),
                f.commit.short(12),
                "fetched".into(),
            ]);
        }
        output::stdout(&output::table(&rows))?;
    }
    output::note(
        quiet,
        &format!(
            "fetched {} new atom versions from `{given}` ({} here now)",
            outcome.fetched.len(),
            outcome.total
        ),
    );
    Ok(0)
}
