//! `git atom sign`.

use anyhow::Context;
use atom_lib::sign::{self, Options};
use atom_lib::verify::Target;
use atom_lib::GitStore;

use crate::{output, EXIT_USAGE};

/// Sign published atoms with your git signing key
///
/// Each atom (default: every local one) is verified first and signed only if it verifies. The
/// signature is an annotated tag object made by `git tag -s` with your git signing setup
/// (`user.signingKey`, and `gpg.format = ssh` for ssh keys), pointing at the atom commit, whose
/// message names the atomic number, the atom, its commit and its tree. It is referenced by
/// `refs/atoms/_sig/<label>/<version>/<key id>` (the key id of an ssh key is the BLAKE3 hash of
/// its public key, 32 hex digits; of an OpenPGP key, its configured id), so one listing of
/// `refs/atoms/` shows the atoms and their signatures. `--remote` pushes the signatures the
/// remote lacks, in one atomic push, create-only like atoms (each signed atom must be published
/// there); `git atom publish --sign` publishes and signs in one push.
///
/// An atom already signed with the key is left as it is. `git atom verify --signed` checks
/// signatures with git's trust configuration (`gpg.ssh.allowedSignersFile`, the GnuPG keyring).
///
/// With --revoke <KEY>, publishes instead a revocation of the ssh key <KEY> in the repository:
/// a tag object signed with your signing key (the revoked key itself, or another key the
/// consumers trust) naming the revoked public key, referenced by
/// `refs/atoms/_revoked/<key id>`, and with --remote pushes it there (create-only, like
/// signatures). `git atom verify --signed` then refuses every signature by
/// that key, for everyone who fetches the repository's `refs/atoms/` (as `git atom fetch`
/// does); sign the atoms again with a new key. The atoms, their commits and every lock stay as
/// they are.
///
/// Exit status: 0 signed, 1 refused (an atom does not verify) or failed, 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Atoms to sign, as <LABEL> (every version) or <LABEL>@<VERSION>
    #[arg(value_name = "ATOM")]
    atoms: Vec<Target>,
    /// Also push the signatures to this repository: a remote name, path, URL or address with
    /// aliases (`gh:org/repo`)
    #[arg(long, value_name = "REMOTE", value_parser = crate::publish::parse_remote)]
    remote: Option<String>,
    /// Publish a revocation of this ssh key (a public or private key file, or
    /// `key::<public key>`) instead of signing atoms
    #[arg(long, value_name = "KEY", conflicts_with = "atoms")]
    revoke: Option<String>,
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
    // The remote is resolved before anything is signed: a typo signs nothing.
    let remote = match &args.remote {
        Some(given) => Some(crate::repository::resolve(&store, given, &cwd)?),
        None => None,
    };
    if let Some(key) = &args.revoke {
        let revoked = sign::revoke(&store, key)?;
        let state = if revoked.existed {
            "revoked already"
        } else {
            "revoked"
        };
        let Some(remote) = &remote else {
            output::stdout(&format!(
                "{state:<15} {} {}\n",
                revoked.key, revoked.reference
            ))?;
            output::note(
                quiet,
                "push it with: git atom sign --revoke <key> --remote <remote>",
            );
            return Ok(0);
        };
        let pushed =
            sign::push_revocation(&store, remote, &revoked, output::transfer_verbosity(quiet))?;
        let state = match pushed {
            sign::Pushed::Pushed => format!("{state}, pushed"),
            sign::Pushed::UpToDate => format!("{state}, on remote"),
            sign::Pushed::Kept => format!("{state}, remote has another"),
        };
        output::stdout(&format!(
            "{state:<26} {} {}\n",
            revoked.key, revoked.reference
        ))?;
        if pushed == sign::Pushed::Kept {
            output::error(&anyhow::anyhow!(
                "`{remote}` holds another object under `{}`, which cannot be replaced: publish \
                 the revocation on a server that runs `git atom hook install --server` (see \
                 docs/trust.md, \"Squatting\")",
                revoked.reference
            ));
            return Ok(1);
        }
        return Ok(0);
    }
    let signed = sign::sign(
        &store,
        &Options {
            targets: args.atoms,
        },
    )?;
    let pushed = match &remote {
        Some(remote) => Some(sign::push(
            &store,
            remote,
            &signed,
            output::transfer_verbosity(quiet),
        )?),
        None => None,
    };
    let mut text = String::new();
    for (i, s) in signed.iter().enumerate() {
        let mut state = if s.existed {
            "signed already"
        } else {
            "signed"
        }
        .to_owned();
        match pushed.as_ref().map(|p| p[i]) {
            Some(sign::Pushed::Pushed) => state.push_str(", pushed"),
            Some(sign::Pushed::UpToDate) => state.push_str(", on remote"),
            Some(sign::Pushed::Kept) => state.push_str(", remote has another"),
            None => {}
        }
        let width = if remote.is_some() { 26 } else { 15 };
        text.push_str(&format!("{state:<width$} {} {}\n", s.atom, s.reference));
    }
    if !quiet {
        output::stdout(&text)?;
    }
    let mut summary = format!("{} atom(s) signed", signed.len());
    if let (Some(remote), Some(pushed)) = (&remote, &pushed) {
        let n = pushed
            .iter()
            .filter(|p| **p == sign::Pushed::Pushed)
            .count();
        summary.push_str(&format!("; {n} signature(s) pushed to `{remote}`"));
    } else {
        summary.push_str(" locally (`--remote <remote>` pushes them)");
    }
    output::note(quiet, &summary);
    Ok(0)
}
