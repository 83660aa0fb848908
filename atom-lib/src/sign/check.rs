//! Checking signatures: what a signature ref and a revocation ref must hold, and the signature
//! policy that decides whether an atom's signatures count (`atom.requireSignature`, the keys
//! git trusts, revocations in the repository and in `gpg.ssh.revocationKeyring`, and the
//! validity windows of allowed-signers lines). Nothing here verifies atoms (`crate::verify`
//! calls in here, never the other way round).

use std::path::{Path, PathBuf};

use crate::refs::{AtomRef, RefName};
use crate::store::git::Config;
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

/// The directory of the refs holding the signatures of `atom`:
/// `refs/atoms/_sig/<label>/<version>`.
pub fn sig_dir(atom: &AtomRef) -> RefName {
    RefName::composed(format!("{SIG_REF_PREFIX}{}/{}", atom.label, atom.version))
}

/// The directory of the revocation refs: `refs/atoms/_revoked`.
pub fn revoked_dir() -> RefName {
    RefName::composed(REVOKED_REF_PREFIX.trim_end_matches('/').to_owned())
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

/// The key id of an ssh public key line: the BLAKE3 hash of its key blob, 32 hex digits.
pub(crate) fn ssh_key_id(public: &str) -> Result<String, String> {
    let blob = public
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| "not an ssh public key".to_owned())?;
    let bytes = data_encoding::BASE64
        .decode(blob.as_bytes())
        .map_err(|_| "not an ssh public key".to_owned())?;
    Ok(blob_id(&bytes))
}

/// The key id of an ssh public key blob.
fn blob_id(blob: &[u8]) -> String {
    blake3::hash(blob).to_hex()[..32].to_owned()
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
    pub reference: RefName,
    /// The revoked key's id.
    pub key: String,
    /// The revoked public key line.
    pub public: String,
}

/// The revocations under `refs/atoms/_revoked/` of `store` that count, with the trust
/// configuration of `store`. One that is malformed, names another key than its ref, or is not
/// signed by a key git trusts is ignored (it could be anyone's).
pub fn revocations(store: &GitStore) -> Result<Vec<Revocation>, StoreError> {
    Policy::from_config(store)?.revocations(store)
}

/// The signer of an ssh signature: the public key inside the `SSHSIG` blob
/// (`PROTOCOL.sshsig`: magic, version, public key), so the signer is known whatever id a
/// signature ref claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSigner {
    /// The key id (BLAKE3 of the key blob, 32 hex digits).
    pub id: String,
    /// The public key line, `<type> <base64 blob>`.
    pub public: String,
    blob: Vec<u8>,
}

/// The signer of the ssh signature of a tag object (`raw`, its bytes); `None` for other
/// signatures.
pub fn ssh_signer_key(raw: &[u8]) -> Option<SshSigner> {
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
    let blob = rest.get(4..4 + len)?.to_vec();
    // The blob starts with the key type, an ssh string.
    let type_len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let kind = std::str::from_utf8(blob.get(4..4 + type_len)?).ok()?;
    Some(SshSigner {
        id: blob_id(&blob),
        public: format!("{kind} {}", data_encoding::BASE64.encode(&blob)),
        blob,
    })
}

/// The key id of the ssh key that made the signature of a tag object (`raw`, its bytes): see
/// [`ssh_signer_key`]. `None` for other signatures.
pub fn ssh_signer(raw: &[u8]) -> Option<String> {
    ssh_signer_key(raw).map(|s| s.id)
}

/// The time of a signed tag (`raw`, its bytes): its tagger time, seconds since the epoch. This
/// is the time git checks allowed-signers windows at (`ssh-keygen -Y verify -Overify-time`).
fn tag_time(raw: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(raw).ok()?;
    let tagger = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("tagger "))?;
    let mut fields = tagger.rsplit(' ');
    fields.next()?; // the time zone
    fields.next()?.parse().ok()
}

/// Where a revocation of a key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokedBy {
    /// A revocation published in the repository (`refs/atoms/_revoked/<key id>`).
    Repository {
        /// The revocation ref.
        reference: RefName,
    },
    /// The consumer's `gpg.ssh.revocationKeyring` (a list of public keys or an OpenSSH KRL).
    Keyring {
        /// The keyring file.
        path: PathBuf,
    },
}

/// The validity window of an allowed-signers line (`valid-after`, `valid-before`), in seconds
/// since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// `valid-after`: the key is valid from this time on.
    pub after: Option<i64>,
    /// `valid-before`: the key is valid until this time.
    pub before: Option<i64>,
}

impl Window {
    /// Whether `time` is inside the window.
    pub fn contains(&self, time: i64) -> bool {
        self.after.is_none_or(|a| time >= a) && self.before.is_none_or(|b| time <= b)
    }
}

/// Why one signature ref does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The signature is not made by a key the consumer trusts (`gpg.ssh.allowedSignersFile`,
    /// the GnuPG keyring).
    UntrustedKey {
        /// The signing key's id, when known (ssh).
        key: Option<String>,
        /// git's reason.
        reason: String,
    },
    /// The signing key is revoked.
    Revoked {
        /// The signing key's id.
        key: String,
        /// Where it is revoked.
        by: RevokedBy,
    },
    /// The signing key is trusted, but not at the signature's time: the signature's time (its
    /// tag's tagger time) is outside every validity window of the key's allowed-signers lines.
    OutsideWindow {
        /// The signing key's id.
        key: String,
        /// The signature's time, seconds since the epoch.
        signed_at: i64,
        /// The window of the key's (first) allowed-signers line.
        window: Window,
    },
    /// The signature itself is bad: it does not verify, or the tag does not name this atom.
    BadSignature {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::UntrustedKey { reason, .. } => write!(f, "{reason}"),
            Rejection::Revoked {
                by: RevokedBy::Repository { reference },
                ..
            } => write!(f, "its key was revoked in the repository (`{reference}`)"),
            Rejection::Revoked {
                by: RevokedBy::Keyring { path },
                ..
            } => write!(
                f,
                "its key is revoked by `gpg.ssh.revocationKeyring` (`{}`)",
                crate::escape::escaped(&path.to_string_lossy())
            ),
            Rejection::OutsideWindow {
                signed_at, window, ..
            } => {
                write!(
                    f,
                    "its key is not valid at the signature's time ({})",
                    format_time(*signed_at)
                )?;
                if let Some(after) = window.after {
                    write!(f, ": valid-after {}", format_time(after))?;
                }
                if let Some(before) = window.before {
                    let sep = if window.after.is_some() { "," } else { ":" };
                    write!(f, "{sep} valid-before {}", format_time(before))?;
                }
                Ok(())
            }
            Rejection::BadSignature { reason } => write!(f, "{reason}"),
        }
    }
}

/// One signature ref that does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The signature ref.
    pub reference: RefName,
    /// Why it does not count.
    pub why: Rejection,
}

/// What is wrong with the signatures of one atom.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFinding {
    /// No signature ref exists. In a clone made without `atom.requireSignature`, the signature
    /// refs were not fetched: `git atom fetch` brings them.
    #[error("no signature (no ref under `{prefix}`)")]
    Unsigned {
        /// Where signatures would be.
        prefix: String,
    },
    /// Signatures exist and none counts: each with why (an untrusted key, a revoked key, a key
    /// outside its validity window, a bad signature).
    #[error("no valid signature by a trusted key: {}", .signatures.iter().map(|r| format!("`{}`: {}", r.reference, r.why)).collect::<Vec<_>>().join("; "))]
    Rejected {
        /// Every signature ref, with why it does not count.
        signatures: Vec<Rejected>,
    },
}

impl SignatureFinding {
    /// Why each signature ref does not count (none when unsigned).
    pub fn rejections(&self) -> impl Iterator<Item = &Rejection> {
        let signatures: &[Rejected] = match self {
            SignatureFinding::Unsigned { .. } => &[],
            SignatureFinding::Rejected { signatures } => signatures,
        };
        signatures.iter().map(|r| &r.why)
    }
}

/// The signature policy of a repository, read from git's configuration: whether signatures are
/// required (`atom.requireSignature`), which keys are trusted (git's own: the
/// `gpg.ssh.allowedSignersFile` for ssh keys, with the validity windows of its lines, the
/// GnuPG keyring for OpenPGP keys), and which are revoked (`refs/atoms/_revoked/*` in the
/// repository checked, and `gpg.ssh.revocationKeyring`).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    required: bool,
    allowed_signers: Option<PathBuf>,
    revocation_keyring: Option<PathBuf>,
}

impl Policy {
    /// The policy of the configuration `store` sees.
    pub fn from_config(store: &GitStore) -> Result<Policy, StoreError> {
        Ok(Policy::from_settings(&store.config()?))
    }

    /// The policy of a configuration snapshot.
    pub fn from_settings(config: &Config) -> Policy {
        let path = |key: &str| {
            config
                .string(key)
                .filter(|v| !v.is_empty())
                .map(|v| expand_home(&v))
        };
        Policy {
            required: config.bool("atom.requireSignature").unwrap_or(false),
            allowed_signers: path("gpg.ssh.allowedSignersFile"),
            revocation_keyring: path("gpg.ssh.revocationKeyring"),
        }
    }

    /// The same policy, with signatures required (`--signed`) when `required` is true.
    #[must_use]
    pub fn require(mut self, required: bool) -> Policy {
        self.required |= required;
        self
    }

    /// Whether signatures are required.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Checks the signatures of `atom` (commit `commit`, tree `tree`, atomic number `id` if
    /// known) found in `view` when the policy requires signatures: `Ok(None)` when it does not,
    /// or when a signature counts (see [`Policy::check_signatures`]).
    pub fn check(
        &self,
        view: &GitStore,
        atom: &AtomRef,
        commit: Oid,
        tree: Oid,
        id: Option<&AtomId>,
    ) -> Result<Option<SignatureFinding>, StoreError> {
        if !self.required {
            return Ok(None);
        }
        self.check_signatures(view, atom, commit, tree, id)
    }

    /// Checks the signatures of `atom` found in `view`, whether or not the policy requires
    /// them: at least one signature ref must be a tag pointing at the commit, naming the atom
    /// (and `id`, when known), good by a key git trusts at the signature's time, and by a key
    /// revoked neither in `view` (`refs/atoms/_revoked/*`) nor in `gpg.ssh.revocationKeyring`.
    /// `Ok(None)` when one is. A keyring that cannot be read or checked is an error.
    pub fn check_signatures(
        &self,
        view: &GitStore,
        atom: &AtomRef,
        commit: Oid,
        tree: Oid,
        id: Option<&AtomId>,
    ) -> Result<Option<SignatureFinding>, StoreError> {
        self.check_signatures_revoking(view, &[], atom, commit, tree, id)
    }

    /// [`Policy::check_signatures`], with `also_revoked` (revocations found elsewhere, such
    /// as in the repository an atom is admitted into while `view` holds what a remote sent)
    /// counted as well as `view`'s own.
    pub fn check_signatures_revoking(
        &self,
        view: &GitStore,
        also_revoked: &[Revocation],
        atom: &AtomRef,
        commit: Oid,
        tree: Oid,
        id: Option<&AtomId>,
    ) -> Result<Option<SignatureFinding>, StoreError> {
        let refs = view.refs_with_prefix(&sig_prefix(atom))?;
        let mut revoked = self.revocations(view)?;
        revoked.extend(also_revoked.iter().cloned());
        self.check_signature_refs(view, &refs, &revoked, atom, commit, tree, id)
    }

    /// Checks the signature refs `refs` of `atom` (a listing's, say: their tags are objects of
    /// `view`), with `revoked` the revocations that count ([`Policy::revocations_in`]).
    /// `Ok(None)` when one counts.
    #[allow(clippy::too_many_arguments)] // the signatures, and the atom they must name
    pub fn check_signature_refs(
        &self,
        view: &GitStore,
        refs: &[crate::store::RemoteRef],
        revoked: &[Revocation],
        atom: &AtomRef,
        commit: Oid,
        tree: Oid,
        id: Option<&AtomId>,
    ) -> Result<Option<SignatureFinding>, StoreError> {
        let prefix = sig_prefix(atom);
        let refs: Vec<&crate::store::RemoteRef> = refs
            .iter()
            .filter(|r| r.name.as_str().starts_with(&prefix))
            .collect();
        if refs.is_empty() {
            return Ok(Some(SignatureFinding::Unsigned { prefix }));
        }
        let mut signatures = Vec::new();
        for r in refs {
            match self.signature(
                view,
                revoked,
                atom,
                commit,
                tree,
                id,
                r.name.as_str(),
                r.oid,
            )? {
                None => return Ok(None),
                Some(why) => signatures.push(Rejected {
                    reference: r.name.clone(),
                    why,
                }),
            }
        }
        Ok(Some(SignatureFinding::Rejected { signatures }))
    }

    /// Why the signature ref `name` (tag `tag`) of `atom` does not count; `None` when it does.
    #[allow(clippy::too_many_arguments)] // one signature ref, and what it must name
    fn signature(
        &self,
        view: &GitStore,
        revoked: &[Revocation],
        atom: &AtomRef,
        commit: Oid,
        tree: Oid,
        id: Option<&AtomId>,
        name: &str,
        tag: Oid,
    ) -> Result<Option<Rejection>, StoreError> {
        // The key that signed, from the signature itself (ssh), or the id the ref claims.
        let claimed = name.rsplit('/').next().unwrap_or_default();
        let raw = view.read_tag_raw(tag)?;
        let signer = raw.as_deref().and_then(ssh_signer_key);
        if let Some(revocation) = revoked
            .iter()
            .find(|v| v.key == claimed || signer.as_ref().is_some_and(|s| s.id == v.key))
        {
            return Ok(Some(Rejection::Revoked {
                key: revocation.key.clone(),
                by: RevokedBy::Repository {
                    reference: revocation.reference.clone(),
                },
            }));
        }
        if let Some(signer) = &signer {
            if let Some(by) = self.keyring_revokes(&signer.public)? {
                return Ok(Some(Rejection::Revoked {
                    key: signer.id.clone(),
                    by,
                }));
            }
        }
        let bad = |reason: String| Ok(Some(Rejection::BadSignature { reason }));
        match view.read_tag(tag) {
            Ok(Some((target, text))) if target == commit => {
                // git may strip the final newline; the lines are what count.
                let text = text.trim_end();
                let expected = message(atom, id, commit, tree);
                let names_atom = text.starts_with(SIGNATURE_FORMAT)
                    && text.contains(&format!("\natom {atom}\ncommit {commit}\ntree {tree}"));
                if !names_atom || (id.is_some() && text != expected.trim_end()) {
                    return bad("its message does not name this atom".to_owned());
                }
            }
            Ok(Some((target, _))) => return bad(format!("it points at {target}, not the atom")),
            Ok(None) => return bad("the tag object is missing".to_owned()),
            Err(e) => return bad(e.to_string()),
        }
        let Err(reason) = self.verify_tag(view, tag)? else {
            return Ok(None);
        };
        // git refused it: say why in terms of the policy.
        let Some(signer) = signer else {
            return Ok(Some(Rejection::UntrustedKey { key: None, reason }));
        };
        let lines = self.allowed_lines(&signer.blob);
        if lines.is_empty() {
            return Ok(Some(Rejection::UntrustedKey {
                key: Some(signer.id),
                reason,
            }));
        }
        let signed_at = raw.as_deref().and_then(tag_time);
        if let Some(signed_at) = signed_at {
            if lines.iter().all(|w| !w.contains(signed_at)) {
                return Ok(Some(Rejection::OutsideWindow {
                    key: signer.id,
                    signed_at,
                    window: lines[0],
                }));
            }
        }
        bad(reason)
    }

    /// Checks a tag's signature as `git verify-tag` does, with this policy's allowed signers.
    fn verify_tag(&self, view: &GitStore, tag: Oid) -> Result<Result<(), String>, StoreError> {
        match &self.allowed_signers {
            Some(signers) => view.verify_tag_with_signers(tag, signers),
            None => view.verify_tag(tag),
        }
    }

    /// The validity windows of the allowed-signers lines of the key `blob` (none when the key
    /// is not there, or the file cannot be read: git refuses it then anyway).
    fn allowed_lines(&self, blob: &[u8]) -> Vec<Window> {
        let Some(text) = self
            .allowed_signers
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        else {
            return Vec::new();
        };
        text.lines()
            .filter_map(parse_allowed_signer)
            .filter(|(key, _)| key.as_slice() == blob)
            .map(|(_, window)| window)
            .collect()
    }

    /// Where the ssh key `public` (a public key line) is revoked by `gpg.ssh.revocationKeyring`:
    /// a file of public keys (one a line, as `ssh-keygen -r` takes them) or an OpenSSH KRL
    /// (checked with `ssh-keygen -Q`). A configured keyring that cannot be read is an error.
    pub fn keyring_revokes(&self, public: &str) -> Result<Option<RevokedBy>, StoreError> {
        let Some(path) = &self.revocation_keyring else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|e| StoreError::Keyring {
            path: path.clone(),
            what: e.to_string(),
        })?;
        let revoked = if bytes.starts_with(b"SSHKRL\n\0") {
            crate::store::git::sign::krl_revokes(path, public)?
        } else {
            let blob = public.split_whitespace().nth(1);
            String::from_utf8_lossy(&bytes).lines().any(|line| {
                let line = line.trim();
                !line.starts_with('#') && key_blob_of(line).is_some() && key_blob_of(line) == blob
            })
        };
        Ok(revoked.then(|| RevokedBy::Keyring { path: path.clone() }))
    }

    /// The revocations under `refs/atoms/_revoked/` of `view` that count: well-formed, naming
    /// the key their ref is named after, and signed by a key this policy trusts.
    pub fn revocations(&self, view: &GitStore) -> Result<Vec<Revocation>, StoreError> {
        self.revocations_in(view, &view.refs_with_prefix(REVOKED_REF_PREFIX)?)
    }

    /// The revocations among `refs` (a listing's, say: their tags are objects of `view`)
    /// that count, as [`Policy::revocations`] says.
    pub fn revocations_in(
        &self,
        view: &GitStore,
        refs: &[crate::store::RemoteRef],
    ) -> Result<Vec<Revocation>, StoreError> {
        let mut found = Vec::new();
        for r in refs {
            let Some(id) = r.name.as_str().strip_prefix(REVOKED_REF_PREFIX) else {
                continue;
            };
            let Ok(Some((_, text))) = view.read_tag(r.oid) else {
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
            if self.verify_tag(view, r.oid)?.is_ok() {
                found.push(Revocation {
                    reference: r.name.clone(),
                    key: id.to_owned(),
                    public: public.to_owned(),
                });
            }
        }
        Ok(found)
    }
}

/// Checks the signatures of `atom` (commit `commit`, tree `tree`, atomic number `id` if known)
/// visible in `store`, with the policy of the configuration `store` sees, whether or not it
/// requires signatures ([`Policy::check_signatures`]). `Ok(None)` when one counts.
pub fn check(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
    tree: Oid,
    id: Option<&AtomId>,
) -> Result<Option<SignatureFinding>, StoreError> {
    Policy::from_config(store)?.check_signatures(store, atom, commit, tree, id)
}

/// The base64 key blob of a public key line (`<type> <base64> [comment]`), if it is one.
fn key_blob_of(line: &str) -> Option<&str> {
    let mut fields = line.split_whitespace();
    let kind = fields.next()?;
    let looks_like_key =
        kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-");
    looks_like_key.then(|| fields.next()).flatten()
}

/// One allowed-signers line (`principals [options] <type> <base64> [comment]`, `man
/// ssh-keygen`, "ALLOWED SIGNERS"): the key blob and its validity window. Comments, blank and
/// malformed lines give `None`.
fn parse_allowed_signer(line: &str) -> Option<(Vec<u8>, Window)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // Split on whitespace outside double quotes (option values may be quoted).
    let mut fields = Vec::new();
    let (mut current, mut quoted) = (String::new(), false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    fields.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        fields.push(current);
    }
    let at =
        fields.iter().skip(1).position(|f| {
            f.starts_with("ssh-") || f.starts_with("ecdsa-") || f.starts_with("sk-")
        })? + 1;
    let blob = data_encoding::BASE64
        .decode(fields.get(at + 1)?.as_bytes())
        .ok()?;
    let mut window = Window::default();
    for options in &fields[1..at] {
        for option in split_options(options) {
            let Some((name, value)) = option.split_once('=') else {
                continue;
            };
            let value = parse_time(value.trim_matches('"'));
            match name.to_ascii_lowercase().as_str() {
                "valid-after" => window.after = value,
                "valid-before" => window.before = value,
                _ => {}
            }
        }
    }
    Some((blob, window))
}

/// The comma-separated options of an allowed-signers line, commas inside quotes kept.
fn split_options(options: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in options.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&options[start..]);
    parts
}

/// A time as allowed-signers windows write it: `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`,
/// optionally followed by `Z`. Read as UTC (ssh-keygen reads times without `Z` in the local
/// time zone; this reading only explains a refusal git made, it never decides one).
fn parse_time(text: &str) -> Option<i64> {
    let digits = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field =
        |range: std::ops::Range<usize>| digits.get(range).map_or(Some(0), |d| d.parse().ok());
    let (year, month, day): (i64, i64, i64) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second): (i64, i64, i64) = (field(8..10)?, field(10..12)?, field(12..14)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
fn format_time(time: i64) -> String {
    let (days, secs) = (time.div_euclid(86_400), time.rem_euclid(86_400));
    // Inverse of `days_from_civil`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `~/...` with `HOME`, as git reads pathnames in its configuration.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_signers_windows_are_read_as_ssh_keygen_writes_them() {
        let blob = data_encoding::BASE64.encode(b"key");
        let line = format!(
            "a@b,c@d namespaces=\"git\",valid-after=\"20200101\",valid-before=\"20210102030405Z\" ssh-ed25519 {blob} c"
        );
        let (key, window) = parse_allowed_signer(&line).unwrap();
        assert_eq!(key, b"key");
        assert_eq!(window.after, Some(1_577_836_800));
        assert_eq!(window.before, Some(1_609_556_645));
        assert!(window.contains(1_600_000_000));
        assert!(!window.contains(1_500_000_000));
        assert!(!window.contains(1_700_000_000));
        let (_, none) = parse_allowed_signer(&format!("a@b ssh-ed25519 {blob}")).unwrap();
        assert_eq!(none, Window::default());
        assert!(parse_allowed_signer("# comment").is_none());
        assert_eq!(format_time(1_609_556_645), "2021-01-02T03:04:05Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn the_tag_time_is_the_tagger_time() {
        let raw = b"object 0\ntype commit\ntag t\ntagger A <a@b> 1112911993 +0200\n\nmsg\n";
        assert_eq!(tag_time(raw), Some(1_112_911_993));
    }
}
