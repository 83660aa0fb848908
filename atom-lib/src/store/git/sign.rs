//! Signing with the user's git signing setup (`gpg.format`, `user.signingKey`), and checking
//! signatures with git's own trust configuration (`gpg.ssh.allowedSignersFile`, the GnuPG
//! keyring), through `git tag -s` and `git verify-tag`.

use gix::bstr::ByteSlice;

use super::{command, object_error, to_gix, to_oid, GitStore, StoreError};
use crate::refs::RefName;
use crate::Oid;

impl GitStore {
    /// Creates an annotated tag object named `name` pointing at `target`, with `message`,
    /// signed by `git tag -s` with the user's signing setup. The tag is made under
    /// `refs/tags/<name>`, which must not exist, and that ref is removed again: the caller
    /// references the returned tag object where it belongs.
    pub fn sign_tag(&self, name: &str, target: Oid, message: &str) -> Result<Oid, StoreError> {
        let temporary =
            RefName::new(&format!("refs/tags/{name}")).map_err(|e| StoreError::Ref {
                name: e.name.clone(),
                what: e.reason.into(),
                source: None,
            })?;
        self.git("tag")
            .args(["-s", "-m", message, "--", name])
            .arg(target.to_string())
            .run()?;
        let tag = self.find_ref(&temporary)?.ok_or_else(|| StoreError::Ref {
            name: temporary.to_string(),
            what: "was not created by `git tag -s`".into(),
            source: None,
        })?;
        self.git("update-ref")
            .args(["-d", temporary.as_str()])
            .arg(tag.to_string())
            .run()?;
        Ok(tag)
    }

    /// The raw bytes of a tag object (headers, message and signature), or `None` if missing.
    pub fn read_tag_raw(&self, oid: Oid) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(object) = self
            .repo
            .try_find_object(to_gix(oid))
            .map_err(object_error(oid, "could not be read"))?
        else {
            return Ok(None);
        };
        Ok(Some(object.data.clone()))
    }

    /// Writes `bytes` as a blob object.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<Oid, StoreError> {
        use gix::objs::Write as _;
        self.repo
            .objects
            .write_buf(gix::object::Kind::Blob, bytes)
            .map(to_oid)
            .map_err(|e| StoreError::Object {
                oid: "blob".into(),
                what: "could not be written".into(),
                source: Some(super::boxed(e)),
            })
    }

    /// Checks a tag's signature as `git verify-tag` does, with git's trust configuration:
    /// `Ok(Ok(()))` when it is good and by a trusted key, `Ok(Err(reason))` when not.
    pub fn verify_tag(&self, tag: Oid) -> Result<Result<(), String>, StoreError> {
        verified(self.git("verify-tag"), tag)
    }

    /// Checks a tag's signature as `git verify-tag` does, but trusting only the keys of the
    /// allowed-signers file `signers` (`gpg.ssh.allowedSignersFile`), whatever git's own
    /// configuration says: `Ok(Ok(()))` when it is good and by one of them.
    pub fn verify_tag_with_signers(
        &self,
        tag: Oid,
        signers: &std::path::Path,
    ) -> Result<Result<(), String>, StoreError> {
        let git = self
            .git("verify-tag")
            .config("gpg.ssh.allowedSignersFile", &signers.to_string_lossy());
        verified(git, tag)
    }

    /// Checks that a tag is signed by the ssh key `public` (a public key line,
    /// `ssh-ed25519 AAAA... comment`), trusting that key only.
    pub fn verify_tag_by_key(
        &self,
        tag: Oid,
        public: &str,
    ) -> Result<Result<(), String>, StoreError> {
        let mut fields = public.split_whitespace();
        let (Some(kind), Some(blob)) = (fields.next(), fields.next()) else {
            return Ok(Err("not an ssh public key".to_owned()));
        };
        let mut signers = tempfile::Builder::new()
            .prefix("atom-signers-")
            .tempfile()
            .map_err(|source| StoreError::Scratch { source })?;
        std::io::Write::write_all(&mut signers, format!("key {kind} {blob}\n").as_bytes())
            .map_err(|source| StoreError::Scratch { source })?;
        self.verify_tag_with_signers(tag, signers.path())
    }

    /// The object a tag points to and its message (without the signature), or `None` if `oid`
    /// is missing.
    pub fn read_tag(&self, oid: Oid) -> Result<Option<(Oid, String)>, StoreError> {
        let Some(object) = self
            .repo
            .try_find_object(to_gix(oid))
            .map_err(object_error(oid, "could not be read"))?
        else {
            return Ok(None);
        };
        let tag = object
            .try_into_tag()
            .map_err(object_error(oid, "is not a tag"))?;
        let decoded = tag
            .decode()
            .map_err(object_error(oid, "is not a valid tag"))?;
        Ok(Some((
            to_oid(decoded.target()),
            decoded.message.to_str_lossy().into_owned(),
        )))
    }
}

/// Runs `git verify-tag` (as built by the caller) on `tag`: `Ok(())` for a good signature by a
/// trusted key, else git's first error line.
fn verified(git: command::Git, tag: Oid) -> Result<Result<(), String>, StoreError> {
    let out = git.arg("--").arg(tag.to_string()).output()?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(command::first_error_line(&out.stderr))
    })
}

/// Whether the OpenSSH KRL `krl` revokes the ssh key `public` (a public key line), as
/// `ssh-keygen -Q -f <krl> <key file>` says: exit 0 not revoked, 1 revoked. Anything else
/// (an unreadable or malformed KRL) is an error, so a keyring that cannot be checked never
/// lets a key through.
pub fn krl_revokes(krl: &std::path::Path, public: &str) -> Result<bool, StoreError> {
    let err = |what: String| StoreError::Keyring {
        path: krl.to_owned(),
        what,
    };
    let mut key = tempfile::Builder::new()
        .prefix("atom-key-")
        .suffix(".pub")
        .tempfile()
        .map_err(|source| StoreError::Scratch { source })?;
    std::io::Write::write_all(&mut key, format!("{}\n", public.trim()).as_bytes())
        .map_err(|source| StoreError::Scratch { source })?;
    let out = std::process::Command::new("ssh-keygen")
        .arg("-Q")
        .arg("-f")
        .arg(krl)
        .arg(key.path())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| err(format!("cannot run `ssh-keygen -Q`: {e}")))?;
    match out.status.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(err(command::first_error_line(&out.stderr))),
    }
}
