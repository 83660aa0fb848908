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
//! no change to the atoms. Checking uses git's own trust configuration (`git verify-tag`).

use crate::refs::{AtomRef, RefName};
use crate::store::git::RefUpdate;
use crate::verify::{self, Target, Verdict};
use crate::{AtomId, GitStore, Oid, StoreError};

/// Where signature refs live: `refs/atoms/_sig/<label>/<version>/<key id>`.
pub const SIG_REF_PREFIX: &str = "refs/atoms/_sig/";

/// The first line of a signature tag's message.
pub const SIGNATURE_FORMAT: &str = "atom-signature 1";

/// Where revocations published in the repository live: `refs/atoms/_revoked/<key id>`.
pub const REVOKED_REF_PREFIX: &str = "refs/atoms/_revoked/";

/// The first line of a revocation tag's message.
pub const REVOCATION_FORMAT: &str = "atom-revocation 1";

/// The message of a revocation of the ssh key `public` (its public key line), whose key id is
/// `id`.
pub fn revocation_message(id: &str, public: &str) -> String {
    format!("{REVOCATION_FORMAT}\nkey {id}\npublic-key {public}\n")
}

/// The ref prefix holding the signatures of `atom`.
pub fn sig_prefix(atom: &AtomRef) -> String {
    format!("{SIG_REF_PREFIX}{}/{}/", atom.label, atom.version)
}

/// The message a signature tag of `atom` carries.
pub fn message(atom: &AtomRef, id: Option<&AtomId>, commit: Oid, tree: Oid) -> String {
    let id = id.map_or_else(|| "unknown".to_owned(), ToString::to_string);
    format!("{SIGNATURE_FORMAT}\nid {id}\natom {atom}\ncommit {commit}\ntree {tree}\n")
}

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

/// The key id of an ssh public key line: the BLAKE3 hash of its key blob, 32 hex digits.
pub(crate) fn ssh_key_id(public: &str) -> Result<String, String> {
    let blob = public
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| "not an ssh public key".to_owned())?;
    let bytes = data_encoding::BASE64
        .decode(blob.as_bytes())
        .map_err(|_| "not an ssh public key".to_owned())?;
    Ok(blake3::hash(&bytes).to_hex()[..32].to_owned())
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
    let root = store.find_ref(crate::refs::ROOT_REF)?.map(crate::Root);
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
        if let Some(tag) = store.find_ref(&name)? {
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
    use crate::store::git::{PushOptions, PushOutcome};
    let listed = store.list_remote(remote, &[crate::refs::ATOM_REF_PREFIX])?;
    let find = |name: &str| listed.iter().find(|r| r.name == name).map(|r| r.oid);
    let mut outcome = Vec::with_capacity(signed.len());
    let mut updates = Vec::new();
    for s in signed {
        if find(&s.atom.name()).is_none() {
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
    if updates.is_empty() {
        return Ok(outcome);
    }
    let options = PushOptions {
        atomic: true,
        run_hooks: true,
        env: vec![("GIT_ATOM_PUBLISH".into(), "1".into())],
        verbosity,
        ..PushOptions::default()
    };
    let rejected: Vec<String> = store
        .push(remote, &updates, &options)?
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
    Ok(outcome)
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
/// it like signatures; `git atom fetch` and `verify --signed <uri>` bring it along.
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
    if let Some(tag) = store.find_ref(&name)? {
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

/// Whether `id` is the id of an ssh key as revocation refs are named: 32 lower-case hex digits.
pub fn is_ssh_key_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why the tag object `tag`, pushed to `refs/atoms/_revoked/<id>`, is not a revocation of the
/// key `id` in the format [`revoke`] writes: a tag pointing at a blob holding the revoked
/// public key, whose message is [`revocation_message`] of that key, signed by the revoked key
/// itself or by a key of the allowed-signers file `signers` (a server's policy). `None` when it
/// is one. Objects are read from `store`; anything that cannot be read or checked is a reason.
pub fn revocation_problem(
    store: &GitStore,
    id: &str,
    tag: Oid,
    signers: Option<&std::path::Path>,
) -> Option<String> {
    if !is_ssh_key_id(id) {
        return Some(format!(
            "`{id}` is not an ssh key id (32 lower-case hex digits)"
        ));
    }
    let (target, text) = match store.read_tag(tag) {
        Ok(Some(found)) => found,
        Ok(None) => return Some("the tag object is missing".into()),
        Err(_) => return Some("it is not a tag object".into()),
    };
    let Ok(blob) = store.read_blob(target) else {
        return Some(format!(
            "it points at {}, not at a blob holding the revoked public key",
            target.short(12)
        ));
    };
    let mut lines = text.lines();
    let (Some(REVOCATION_FORMAT), Some(key), Some(public)) = (
        lines.next(),
        lines.next().and_then(|l| l.strip_prefix("key ")),
        lines.next().and_then(|l| l.strip_prefix("public-key ")),
    ) else {
        return Some(format!("its message is not an `{REVOCATION_FORMAT}`"));
    };
    if key != id || ssh_key_id(public).as_deref() != Ok(id) {
        return Some(format!("its message does not revoke the key {id}"));
    }
    if std::str::from_utf8(&blob).map(str::trim) != Ok(public.trim()) {
        return Some("its blob is not the public key its message names".into());
    }
    match store.verify_tag_by_key(tag, public) {
        Ok(Ok(())) => return None,
        Ok(Err(_)) => {}
        Err(_) => return Some("its signature cannot be checked".into()),
    }
    if let Some(signers) = signers {
        if let Ok(Ok(())) = store.verify_tag_with_signers(tag, signers) {
            return None;
        }
    }
    Some(format!(
        "it is not signed by the key {id} it revokes (nor by a key of the server's \
         `atom.revocationSigners`)"
    ))
}

/// A revocation found in the repository that counts: well-formed, naming the key its ref is
/// named after, and signed by a key git trusts.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The revocation ref.
    pub reference: String,
    /// The revoked key's id.
    pub key: String,
    /// The revoked public key line.
    pub public: String,
}

/// The revocations under `refs/atoms/_revoked/` of `store` that count. One that is malformed,
/// names another key than its ref, or is not signed by a key git trusts is ignored (it could
/// be anyone's).
pub fn revocations(store: &GitStore) -> Result<Vec<Revocation>, StoreError> {
    let mut found = Vec::new();
    for r in store.refs_with_prefix(REVOKED_REF_PREFIX)? {
        let Some(id) = r.name.strip_prefix(REVOKED_REF_PREFIX) else {
            continue;
        };
        let Ok(Some((_, text))) = store.read_tag(r.oid) else {
            continue;
        };
        let mut lines = text.lines();
        let (Some(REVOCATION_FORMAT), Some(key), Some(public)) = (
            lines.next(),
            lines.next().and_then(|l| l.strip_prefix("key ")),
            lines.next().and_then(|l| l.strip_prefix("public-key ")),
        ) else {
            continue;
        };
        if key != id || ssh_key_id(public).as_deref() != Ok(id) {
            continue;
        }
        if store.verify_tag(r.oid)?.is_ok() {
            found.push(Revocation {
                reference: r.name.clone(),
                key: id.to_owned(),
                public: public.to_owned(),
            });
        }
    }
    Ok(found)
}

/// The key id of the ssh key that made the signature of a tag object (`raw`, its bytes): the
/// public key is inside the `SSHSIG` blob (`PROTOCOL.sshsig`: magic, version, public key), so
/// the signer is known whatever id a signature ref claims. `None` for other signatures.
pub fn ssh_signer(raw: &[u8]) -> Option<String> {
    const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
    const END: &str = "-----END SSH SIGNATURE-----";
    let text = std::str::from_utf8(raw).ok()?;
    let body = &text[text.find(BEGIN)? + BEGIN.len()..];
    let body: String = body[..body.find(END)?]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = data_encoding::BASE64.decode(body.as_bytes()).ok()?;
    let rest = bytes.strip_prefix(b"SSHSIG")?.get(4..)?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let key = rest.get(4..4 + len)?;
    Some(blake3::hash(key).to_hex()[..32].to_owned())
}

/// What is wrong with the signatures of one atom.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFinding {
    /// No signature ref exists.
    #[error("no signature (no ref under `{prefix}`)")]
    Unsigned {
        /// Where signatures would be.
        prefix: String,
    },
    /// Signatures exist, none is good and by a trusted key.
    #[error("no valid signature by a trusted key: {}", .reasons.join("; "))]
    Untrusted {
        /// Per signature ref: why it does not count.
        reasons: Vec<String>,
    },
}

/// Checks the signatures of `atom` (commit `commit`, tree `tree`, atomic number `id` if known)
/// visible in `store`: at least one must be a tag pointing at the commit, naming the atom, and
/// good by a key git trusts. `Ok(None)` when one is.
pub fn check(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
    tree: Oid,
    id: Option<&AtomId>,
) -> Result<Option<SignatureFinding>, StoreError> {
    let prefix = sig_prefix(atom);
    let refs = store.refs_with_prefix(&prefix)?;
    if refs.is_empty() {
        return Ok(Some(SignatureFinding::Unsigned { prefix }));
    }
    let revoked = revocations(store)?;
    let mut reasons = Vec::new();
    for r in refs {
        // The key that signed, from the signature itself (ssh), or the id the ref claims.
        let claimed = r.name.rsplit('/').next().unwrap_or_default().to_owned();
        let signer = store.read_tag_raw(r.oid)?.and_then(|raw| ssh_signer(&raw));
        let revocation = revoked
            .iter()
            .find(|v| v.key == claimed || signer.as_deref() == Some(v.key.as_str()));
        if let Some(revocation) = revocation {
            reasons.push(format!(
                "`{}`: its key was revoked in the repository (`{}`)",
                r.name, revocation.reference
            ));
            continue;
        }
        let why = match store.read_tag(r.oid) {
            Ok(Some((target, text))) if target == commit => {
                // git may strip the final newline; the lines are what count.
                let text = text.trim_end();
                let expected = message(atom, id, commit, tree);
                let names_atom = text.starts_with(SIGNATURE_FORMAT)
                    && text.contains(&format!("\natom {atom}\ncommit {commit}\ntree {tree}"));
                if !names_atom || (id.is_some() && text != expected.trim_end()) {
                    Some("its message does not name this atom".to_owned())
                } else {
                    store.verify_tag(r.oid)?.err()
                }
            }
            Ok(Some((target, _))) => Some(format!("it points at {target}, not the atom")),
            Ok(None) => Some("the tag object is missing".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        match why {
            None => return Ok(None),
            Some(why) => reasons.push(format!("`{}`: {why}", r.name)),
        }
    }
    Ok(Some(SignatureFinding::Untrusted { reasons }))
}
