//! `git atom verify`.

use anyhow::Context;
use atom_lib::verify::{self, Options, Target, Unverifiable, Verdict};
use atom_lib::GitStore;
use serde::Serialize;

use crate::{output, EXIT_USAGE};

/// Verify published atoms against their source
///
/// For each atom (default: every local one) the commit is rebuilt from its fields and must have
/// the same id; its parents, identity, timestamps, headers, format version and message are
/// checked; its manifest must name the atom its ref names; its tree must equal the tree at the
/// recorded path in the recorded source commit; and the source commit must descend from the
/// repository's root. Atoms in the eka tool's `pre1` format are verified by the same rules.
///
/// Prints one line per atom: `ok`, `FAILED` with every finding, or `UNVERIFIABLE` with the reason.
///
/// Exit status: 0 all verified, 1 any failed, 2 could not verify (missing objects, bad arguments).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Atoms to verify, as <LABEL> (every version) or <LABEL>@<VERSION>
    #[arg(value_name = "ATOM")]
    atoms: Vec<Target>,
    /// Fetch missing objects (the atom commit, the source commit) from this repository: a remote
    /// name, path, URL or address with aliases (`gh:org/repo`)
    #[arg(long, value_name = "REMOTE", value_parser = crate::publish::parse_remote)]
    remote: Option<String>,
    /// Print the verdicts as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonVerdict {
    label: String,
    version: String,
    format: &'static str,
    commit: String,
    source: Option<String>,
    status: &'static str,
    findings: Vec<String>,
}

/// Why an atom could not be verified, with what to do about it.
fn unverifiable(why: &Unverifiable, hint: bool) -> String {
    match why {
        Unverifiable::Missing { .. } if hint => format!("{why} (try --remote)"),
        other => other.to_string(),
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store = match GitStore::discover(&cwd) {
        Ok(s) => s,
        Err(e) => {
            output::error(&e.into());
            return Ok(EXIT_USAGE);
        }
    };
    // Missing objects can be fetched with --remote, unless it was given already.
    let hint = args.remote.is_none();
    let remote = args
        .remote
        .map(|r| crate::repository::resolve(&store, &r, &cwd))
        .transpose();
    let remote = match remote {
        Ok(remote) => remote,
        Err(e) => {
            output::error(&e);
            return Ok(EXIT_USAGE);
        }
    };
    let options = Options {
        targets: args.atoms,
        remote,
    };
    let outcome = match verify::verify(&store, &options) {
        Ok(o) => o,
        Err(verify::Error::NoSuchAtom { target }) => {
            output::error(&anyhow::anyhow!(
                "no atom `{target}` in this repository (see `git atom ls`)"
            ));
            return Ok(EXIT_USAGE);
        }
        Err(e) => {
            output::error(&e.into());
            return Ok(EXIT_USAGE);
        }
    };
    if args.json {
        let json: Vec<JsonVerdict> = outcome
            .atoms
            .iter()
            .map(|c| {
                let (status, findings) = match &c.verdict {
                    Verdict::Verified => ("verified", Vec::new()),
                    Verdict::Failed(f) => ("failed", f.iter().map(ToString::to_string).collect()),
                    Verdict::Unverifiable(why) => ("unverifiable", vec![unverifiable(why, hint)]),
                };
                JsonVerdict {
                    label: c.atom.label.to_string(),
                    version: c.atom.version.to_string(),
                    format: c.atom.format.name(),
                    commit: c.commit.to_string(),
                    source: c.source.map(|s| s.to_string()),
                    status,
                    findings,
                }
            })
            .collect();
        output::json(&serde_json::json!({ "atoms": json }))?;
    } else {
        let mut text = String::new();
        for c in &outcome.atoms {
            let name = match c.atom.format {
                atom_lib::Format::Atom1 => c.atom.to_string(),
                other => format!("{} ({other})", c.atom),
            };
            match &c.verdict {
                Verdict::Verified => text.push_str(&format!("ok            {name}\n")),
                Verdict::Failed(findings) => {
                    let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
                    text.push_str(&format!("FAILED        {name}: {}\n", shown.join("; ")))
                }
                Verdict::Unverifiable(why) => text.push_str(&format!(
                    "UNVERIFIABLE  {name}: {}\n",
                    unverifiable(why, hint)
                )),
            }
        }
        output::stdout(&text)?;
    }
    if outcome.atoms.is_empty() {
        output::note(quiet, &crate::repository::no_atoms_hint(&store));
    }
    let failed = outcome
        .atoms
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Failed(_)))
        .count();
    let unverifiable = outcome
        .atoms
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Unverifiable(_)))
        .count();
    output::note(
        quiet,
        &format!(
            "{} verified, {failed} failed, {unverifiable} could not be verified",
            outcome.atoms.len() - failed - unverifiable
        ),
    );
    Ok(outcome.exit_code())
}
