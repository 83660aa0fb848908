//! Signed atoms: an annotated tag object, signed with the user's git signing setup, pointing at
//! the atom commit, referenced by `refs/atoms/_sig/<label>/<version>/<key id>` (a reserved name,
//! so the one listing of `refs/atoms/` shows atoms and their signatures). The tag's message
//! names the atom:
//!
//! ```text
//! atom-signature 1
//! id <atomic number>
//! atom <label>@<version>
//! commit <atom commit>
//! tree <atom tree>
//! ```
//!
//! Since the atom commit is reproducible, a signature on it stays meaningful as long as the key
//! is trusted; a compromised key's signature refs are deleted and the atoms signed again, with
//! no change to the atoms. Checking uses git's own trust configuration (`git verify-tag`), with
//! the policy of [`check`]; this module signs, pushes and revokes.

pub mod check;

pub use check::{
    check, is_ssh_key_id, message, revocation_message, revocation_problem, revocations,
    revoked_dir, sig_dir, sig_prefix, ssh_signer, Policy, Rejected, Rejection, Revocation,
    RevokedBy, SignatureFinding, Window, REVOCATION_FORMAT, REVOKED_REF_PREFIX, SIGNATURE_FORMAT,
    SIG_REF_PREFIX,
};

pub(crate) use check::ssh_key_id;

use crate::refs::{AtomRef, RefName};
use crate::store::git::RefUpdate;
use crate::verify::{self, Target, Verdict};
use crate::{GitStore, Oid, StoreError};

/// What to sign.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The atoms; every local atom when empty.
    pub targets: Vec<Target>,
}

/// One signed atom.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The atom.
    pub atom: AtomRef,
    /// The signature ref.
    pub reference: RefName,
    /// The tag object.
    pub tag: Oid,
    /// Whether a signature by this key existed already (nothing was written).
    pub existed: bool,
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No signing key is configured.
    #[error("no signing key: set `user.signingKey` (and `gpg.format` for ssh keys), as for `git tag -s`")]
    NoKey,
    /// The configured key cannot be read.
    #[error("cannot read the signing key `{key}`: {reason}")]
    Key {
        /// The configured value.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// An atom does not verify, so it is not signed.
    #[error("refusing to sign {atom}: it does not verify ({reason})")]
    NotVerified {
        /// The atom.
        atom: AtomRef,
        /// The first finding or the reason it could not be verified.
        reason: String,
    },
    /// Pushing a signature of an atom the remote does not have.
    #[error("{atom} is not published on `{remote}`: publish it there first (`git atom publish --sign` publishes and signs at once)")]
    NotOnRemote {
        /// The atom.
        atom: AtomRef,
        /// The remote.
        remote: String,
    },
    /// The remote refused the push of the signatures; nothing was pushed.
    #[error("push to `{remote}` failed, no signature was pushed: rejected: {}", .rejected.join(", "))]
    Rejected {
        /// The remote.
        remote: String,
        /// `ref reason` for each refused ref.
        rejected: Vec<String>,
    },
    /// Selecting or verifying the atoms failed.
    #[error(transparent)]
    Verify(#[from] verify::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The id of the configured signing key, used as the last component of signature refs: for
/// ssh keys (`gpg.format = ssh`) the BLAKE3 hash of the public key blob, 32 hex digits; for
/// OpenPGP keys the key id or fingerprint as configured, upper-case, without spaces.
pub fn key_id(store: &GitStore) -> Result<String, Error> {
    let config = store.config()?;
    let key = config
        .string("user.signingkey")
        .filter(|k| !k.is_empty())
        .ok_or(Error::NoKey)?;
    let err = |reason: &str| Error::Key {
        key: key.clone(),
        reason: reason.to_owned(),
    };
    if config.string("gpg.format").as_deref() != Some("ssh") {
        let id: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(err(
                "an OpenPGP key must be given by its hex key id or fingerprint",
            ));
        }
        return Ok(id.to_ascii_uppercase());
    }
    let public = ssh_public_key(&key).map_err(|reason| err(&reason))?;
    ssh_key_id(&public).map_err(|reason| err(&reason))
}

/// The public key line (`ssh-ed25519 AAAA... comment`) of an ssh key given as git's
/// `user.signingKey` is: `key::<public key>`, a public key literal, or the path of a public or
/// private key file (with its `.pub` beside it).
fn ssh_public_key(key: &str) -> Result<String, String> {
    let looks_public =
        |t: &str| t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-");
    if let Some(literal) = key.strip_prefix("key::") {
        return Ok(literal.trim().to_owned());
    }
    if looks_public(key) {
        return Ok(key.trim().to_owned());
    }
    let path = std::path::PathBuf::from(shellexpand_home(key));
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    if looks_public(&text) {
        return Ok(text.trim().to_owned());
    }
    let mut pub_path = path.into_os_string();
    pub_path.push(".pub");
    std::fs::read_to_string(&pub_path)
        .map(|t| t.trim().to_owned())
        .map_err(|e| format!("no public key beside it: {e}"))
}

fn shellexpand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}

/// Signs the atoms `options` selects, each only if it verifies (every level the repository can
/// check), with the user's signing setup; writes each signature ref in one transaction.
pub fn sign(store: &GitStore, options: &Options) -> Result<Vec<Signed>, Error> {
    let key = key_id(store)?;
    let outcome = verify::verify(
        store,
        &verify::Options {
            targets: options.targets.clone(),
            ..verify::Options::default()
        },
    )?;
    let root = store
        .find_ref(&crate::refs::RefName::root())?
        .map(crate::Root);
    let mut signed = Vec::new();
    let mut updates = Vec::new();
    for checked in &outcome.atoms {
        let reason = match &checked.verdict {
            Verdict::Verified => None,
            Verdict::Failed(findings) => Some(findings[0].to_string()),
            Verdict::Unverifiable(why) => Some(why.to_string()),
        };
        if let Some(reason) = reason {
            return Err(Error::NotVerified {
                atom: checked.atom.clone(),
                reason,
            });
        }
        let atom = &checked.atom;
        let name = format!("{}{key}", sig_prefix(atom));
        let reference = RefName::new(&name).map_err(|e| Error::Key {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        if let Some(tag) = store.find_ref(&reference)? {
            signed.push(Signed {
                atom: atom.clone(),
                reference,
                tag,
                existed: true,
            });
            continue;
        }
        let (tree, _) = store.commit_tree_and_parents(checked.commit)?;
        let id = root.map(|r| r.atom_id(&atom.label));
        let text = message(atom, id.as_ref(), checked.commit, tree);
        let tag_name = name.trim_start_matches("refs/");
        let tag = store.sign_tag(tag_name, checked.commit, &text)?;
        updates.push(RefUpdate::create(reference.clone(), tag));
        signed.push(Signed {
            atom: atom.clone(),
            reference,
            tag,
            existed: false,
        });
    }
    if !updates.is_empty() {
        store.update_refs(&updates, "git atom sign")?;
    }
    Ok(signed)
}

/// What happened to one signature on a remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Pushed now.
    Pushed,
    /// The remote has it already.
    UpToDate,
    /// The remote holds another signature by this key under the ref; it is kept (signatures,
    /// like atoms, are never replaced by a push).
    Kept,
}

/// Pushes the signature refs of `signed` that `remote` lacks, in one atomic push (create-only,
/// like atoms), after checking that the remote has each signed atom.
pub fn push(
    store: &GitStore,
    remote: &str,
    signed: &[Signed],
    verbosity: crate::store::git::Verbosity,
) -> Result<Vec<Pushed>, Error> {
    let listed = store.list_remote(remote, &[crate::refs::ATOM_REF_PREFIX])?;
    let find = |name: &str| listed.iter().find(|r| r.name == name).map(|r| r.oid);
    let mut outcome = Vec::with_capacity(signed.len());
    let mut updates = Vec::new();
    for s in signed {
        if find(s.atom.name().as_str()).is_none() {
            return Err(Error::NotOnRemote {
                atom: s.atom.clone(),
                remote: remote.to_owned(),
            });
        }
        outcome.push(match find(s.reference.as_str()) {
            Some(theirs) if theirs == s.tag => Pushed::UpToDate,
            Some(_) => Pushed::Kept,
            None => {
                updates.push(RefUpdate::create(s.reference.clone(), s.tag));
                Pushed::Pushed
            }
        });
    }
    if !updates.is_empty() {
        push_created(store, remote, &updates, verbosity)?;
    }
    Ok(outcome)
}

/// Pushes `updates` (creations) to `remote` in one atomic push, with the remote's hooks.
fn push_created(
    store: &GitStore,
    remote: &str,
    updates: &[RefUpdate],
    verbosity: crate::store::git::Verbosity,
) -> Result<(), Error> {
    use crate::store::git::{PushOptions, PushOutcome};
    let options = PushOptions {
        atomic: true,
        run_hooks: true,
        env: vec![("GIT_ATOM_PUBLISH".into(), "1".into())],
        verbosity,
        ..PushOptions::default()
    };
    let rejected: Vec<String> = store
        .push(remote, updates, &options)?
        .into_iter()
        .filter_map(|p| match p.outcome {
            PushOutcome::Rejected(why) => Some(format!("{} {why}", p.name)),
            _ => None,
        })
        .collect();
    if !rejected.is_empty() {
        return Err(Error::Rejected {
            remote: remote.to_owned(),
            rejected,
        });
    }
    Ok(())
}

/// Pushes the revocation `revoked` to `remote` unless it has it, create-only like atoms and
/// signatures: [`Pushed::Kept`] when the remote holds another object under the revocation's
/// name (a server with the hook accepts only a genuine revocation there, see `docs/trust.md`).
pub fn push_revocation(
    store: &GitStore,
    remote: &str,
    revoked: &Revoked,
    verbosity: crate::store::git::Verbosity,
) -> Result<Pushed, Error> {
    let listed = store.list_remote(remote, &[REVOKED_REF_PREFIX])?;
    match listed.iter().find(|r| r.name == revoked.reference.as_str()) {
        Some(theirs) if theirs.oid == revoked.tag => Ok(Pushed::UpToDate),
        Some(_) => Ok(Pushed::Kept),
        None => {
            let update = RefUpdate::create(revoked.reference.clone(), revoked.tag);
            push_created(store, remote, &[update], verbosity)?;
            Ok(Pushed::Pushed)
        }
    }
}

/// A revocation written by [`revoke`].
#[derive(Debug, Clone)]
pub struct Revoked {
    /// The revocation ref.
    pub reference: RefName,
    /// The signed tag object.
    pub tag: Oid,
    /// The revoked key's id.
    pub key: String,
    /// Whether the revocation existed already (nothing was written).
    pub existed: bool,
}

/// Publishes, in the repository, the revocation of the ssh key `key` (given as git's
/// `user.signingKey` would be: a key file or `key::<public key>`): a tag object signed with
/// the configured signing key (the revoked key itself, or another key consumers trust), whose
/// message carries the revoked public key, referenced by `refs/atoms/_revoked/<key id>`. Push
/// it with [`push_revocation`]; `git atom fetch` and `verify --signed <uri>` bring it along.
pub fn revoke(store: &GitStore, key: &str) -> Result<Revoked, Error> {
    key_id(store)?;
    let config = store.config()?;
    let err = |reason: String| Error::Key {
        key: key.to_owned(),
        reason,
    };
    if config.string("gpg.format").as_deref() != Some("ssh") {
        return Err(err(
            "revocations in the repository are made with an ssh signing key \
             (`gpg.format = ssh`); revoke OpenPGP keys with their revocation certificate"
                .into(),
        ));
    }
    let public = ssh_public_key(key).map_err(err)?;
    let id = ssh_key_id(&public).map_err(err)?;
    let name = format!("{REVOKED_REF_PREFIX}{id}");
    let reference = RefName::new(&name).map_err(|e| err(e.to_string()))?;
    if let Some(tag) = store.find_ref(&reference)? {
        return Ok(Revoked {
            reference,
            tag,
            key: id,
            existed: true,
        });
    }
    // The tag points at the public key, stored as a blob: the revocation names what it revokes.
    let blob = store.write_blob(public.as_bytes())?;
    let tag = store.sign_tag(
        name.trim_start_matches("refs/"),
        blob,
        &revocation_message(&id, &public),
    )?;
    store.update_refs(
        &[RefUpdate::create(reference.clone(), tag)],
        "git atom sign --revoke",
    )?;
    Ok(Revoked {
        reference,
        tag,
        key: id,
        existed: false,
    })
}
