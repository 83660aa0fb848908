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
/// `refs/atoms/` shows the atoms and their signatures. Push the refs with
/// `git push <remote> 'refs/atoms/_sig/*:refs/atoms/_sig/*'`.
///
/// An atom already signed with the key is left as it is. `git atom verify --signed` checks
/// signatures with git's trust configuration (`gpg.ssh.allowedSignersFile`, the GnuPG keyring).
///
/// With --revoke <KEY>, publishes instead a revocation of the ssh key <KEY> in the repository:
/// a tag object signed with your signing key (the revoked key itself, or another key the
/// consumers trust) naming the revoked public key, referenced by
/// `refs/atoms/_revoked/<key id>`. `git atom verify --signed` then refuses every signature by
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
    if let Some(key) = &args.revoke {
        let revoked = sign::revoke(&store, key)?;
        let state = if revoked.existed {
            "revoked already"
        } else {
            "revoked"
        };
        output::stdout(&format!(
            "{state:<15} {} {}\n",
            revoked.key, revoked.reference
        ))?;
        output::note(
            quiet,
            "push it with: git push <remote> 'refs/atoms/_revoked/*:refs/atoms/_revoked/*'",
        );
        return Ok(0);
    }
    let signed = sign::sign(
        &store,
        &Options {
            targets: args.atoms,
        },
    )?;
    let mut text = String::new();
    for s in &signed {
        let state = if s.existed {
            "signed already"
        } else {
            "signed"
        };
        text.push_str(&format!("{state:<15} {} {}\n", s.atom, s.reference));
    }
    output::stdout(&text)?;
    output::note(quiet, &format!("{} atom(s) signed", signed.len()));
    Ok(0)
}
