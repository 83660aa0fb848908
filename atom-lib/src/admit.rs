//! Admission: the one way atoms enter a repository from a remote.
//!
//! Every door (the remote helper's clone and fetch, `git atom fetch`, resolution and locking,
//! `show <uri>`, eka-run's atoms of a URI or a lock) asks [`admit`] for the atoms it wants, as
//! commits a listing or a lock names. Admission fetches them over one [`Connection`] into a
//! quarantine beside the repository, and checks each before anything is written:
//!
//! 1. **structure**: a well-formed atom commit for exactly the label and version asked for
//!    (`docs/format.md` section 8);
//! 2. **source**: its tree is the tree at its recorded path in its source commit, which the
//!    same remote must have (fetched without blobs or history, and thrown away);
//! 3. **lock**: where the caller says which tree a lock recorded, the atom's tree is that one;
//! 4. **signature**: under a signature policy that requires them (`atom.requireSignature`), a
//!    good signature by a trusted key, revoked neither in the repository, nor on the remote,
//!    nor by `gpg.ssh.revocationKeyring` ([`crate::sign::Policy`]). Atoms held already are
//!    checked again against the signatures the repository holds; those it lacks are fetched
//!    from the remote with its revocations, and kept (refs under `refs/atoms/_sig/` and
//!    `refs/atoms/_revoked/`) once admitted.
//!
//! Only when every atom passes are the objects moved into the repository (for a sparse fetch,
//! only what the wanted commits and blobs reach). A refusal names the atom, the remote and each
//! reason; nothing is written. `docs/trust.md` lists the doors and the checks in one table.
//!
//! [`inspect`] reads an atom's manifest and lock without admitting anything (structure and
//! signature checked, the quarantine thrown away), for a door that acts on something else that
//! proves what it runs (eka-run's plan records).

use std::fmt;

use crate::format::Format;
use crate::manifest::MANIFEST_FILE;
use crate::refs::EKA_META_PREFIX;
use crate::sign::check::{sig_prefix, SignatureFinding, REVOKED_REF_PREFIX};
use crate::sign::Policy;
use crate::store::git::connection::{Connection, Want};
use crate::store::git::RefUpdate;
use crate::store::git::{Filter, Verbosity};
use crate::store::{EntryKind, RemoteRef};
use crate::verify::{self, Ancestry, Finding, Level, Provenance, Unverifiable, Verdict};
use crate::{AtomRef, GitStore, Oid, StoreError};

/// An atom a door wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The atom (label, version, ref format).
    pub atom: AtomRef,
    /// The commit a listing or a lock names for it.
    pub commit: Oid,
    /// The tree a lock records for it, which the commit's tree must be.
    pub tree: Option<Oid>,
}

impl Wanted {
    /// The atom `atom` at `commit`, as a listing names it.
    pub fn listed(atom: AtomRef, commit: Oid) -> Wanted {
        Wanted {
            atom,
            commit,
            tree: None,
        }
    }
}

/// What of an atom is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// The commit, its root tree and the blobs of its `atom.toml` and `atom.lock`: what
    /// resolution and `show` read.
    Manifests,
    /// Everything under the commit: what is evaluated, built or checked out.
    Whole,
}

/// What a door asks admission for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The atoms.
    pub wanted: &'a [Wanted],
    /// What of them to fetch.
    pub contents: Contents,
    /// The remote's listing when the door has one: eka's atoms are checked against the
    /// metadata refs it names.
    pub listed: &'a [RemoteRef],
    /// How chatty fetches may be.
    pub verbosity: Verbosity,
    /// The signature policy: when it requires signatures, every wanted atom must carry one
    /// that counts. `None` checks no signature.
    pub signatures: Option<&'a Policy>,
}

impl Request<'_> {
    /// The policy, when it requires signatures.
    fn required_signatures(&self) -> Option<&Policy> {
        self.signatures.filter(|p| p.required())
    }
}

/// What admission did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admitted {
    /// How many atoms were fetched (the rest were in the repository already).
    pub fetched: usize,
    /// How many fetch commands were sent.
    pub fetches: usize,
}

/// Why an atom was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A check failed.
    Finding(Finding),
    /// A check could not be made; `source` is the source commit the atom names, if read.
    Unverifiable {
        /// Why.
        why: Unverifiable,
        /// The source commit the atom names.
        source: Option<Oid>,
    },
    /// The atom's tree is not the one the lock records.
    NotLocked {
        /// The tree the lock records.
        locked: Oid,
        /// The atom's tree.
        found: Oid,
    },
    /// Signatures are required and none counts.
    Signature(SignatureFinding),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Finding(finding) => finding.fmt(f),
            Reason::Unverifiable {
                why:
                    Unverifiable::Fetch {
                        level: Level::Source,
                        ..
                    },
                source: Some(source),
            } => write!(
                f,
                "its source commit {source} cannot be fetched from the remote (a source the \
                 remote does not have cannot be verified)"
            ),
            Reason::Unverifiable {
                why: Unverifiable::Fetch { level, .. },
                ..
            } => write!(
                f,
                "what the {level} check needs cannot be fetched from the remote"
            ),
            Reason::Unverifiable { why, .. } => why.fmt(f),
            Reason::NotLocked { locked, found } => write!(
                f,
                "its tree {found} is not the tree {locked} the lock records"
            ),
            Reason::Signature(finding) => {
                write!(f, "atom.requireSignature is set and it has {finding}")
            }
        }
    }
}

/// An atom refused before admission, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The atom.
    pub atom: AtomRef,
    /// The commit it came as.
    pub commit: Oid,
    /// The remote, credentials removed.
    pub remote: String,
    /// Every reason, in the order the checks found them.
    pub reasons: Vec<Reason>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing atom {} ({}) from {}: ",
            self.atom,
            self.commit.short(12),
            self.remote
        )?;
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            reason.fmt(f)?;
        }
        Ok(())
    }
}

/// Why admission failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote could not be reached, or the objects could not be fetched or moved.
    #[error("cannot fetch {what} from {remote}")]
    Transfer {
        /// The atoms, as `label@version, ...`.
        what: String,
        /// The remote, credentials removed.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// An atom failed a check: nothing was admitted.
    #[error("{0}")]
    Refused(Box<Refusal>),
}

/// Why objects fetched by id could not be admitted.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    /// The remote could not be reached, or the objects could not be fetched or moved.
    #[error("cannot fetch {what} from {remote}")]
    Transfer {
        /// The objects, abbreviated.
        what: String,
        /// The remote, credentials removed.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The remote answered without an object asked for.
    #[error("{remote} did not send {oid}")]
    NotSent {
        /// The object.
        oid: Oid,
        /// The remote, credentials removed.
        remote: String,
    },
}

impl Error {
    /// The refusal, when an atom was refused (not a transfer failure).
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused(refusal) => Some(refusal),
            Error::Transfer { .. } => None,
        }
    }
}

/// Fetches the atoms of `request` that `store` lacks from `from` (shown as `remote`, without
/// credentials), checks every wanted atom (structure, source, the locked tree), and only then
/// moves what arrived into `store`. Atoms `store` has already were admitted by this function
/// before, with the same [`Contents`] (a repository holds atoms of one kind: the resolver's
/// index their manifests, the atom cache whole atoms); of those only the locked tree is
/// checked again.
pub fn admit(
    store: &GitStore,
    from: &Connection,
    remote: &str,
    request: &Request<'_>,
) -> Result<Admitted, Error> {
    let transfer = |source| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source,
    };
    let (held, missing): (Vec<&Wanted>, Vec<&Wanted>) = request
        .wanted
        .iter()
        .partition(|w| store.has_object(w.commit));
    for wanted in &held {
        check_locked_tree(store, wanted, remote)?;
    }
    if missing.is_empty() {
        let signed = check_signatures(store, store, from, remote, request)?;
        let refs = admit_signatures(signed, remote, request)?;
        return keep_signature_refs(store, refs, remote, request).map(|fetches| Admitted {
            fetched: 0,
            fetches,
        });
    }
    let _span = tracing::info_span!("admit", remote = %remote, atoms = missing.len()).entered();
    let wants: Vec<Want> = missing
        .iter()
        .map(|w| Want::named(w.atom.name(), w.commit))
        .collect();
    let mut admitted = Admitted {
        fetched: missing.len(),
        fetches: 1,
    };
    let signature_refs;
    match request.contents {
        Contents::Manifests => {
            let sparse = from.fetch_sparse(store, &wants).map_err(transfer)?;
            {
                let view = sparse.store().map_err(transfer)?;
                let blobs = manifest_blobs(&view, &missing);
                if blobs.iter().any(|b| !view.has_object(*b)) {
                    admitted.fetches += 1;
                }
                sparse.fetch_blobs(&blobs).map_err(transfer)?;
                admitted.fetches += check(&view, from, remote, &missing, request)?;
                let signed = check_signatures(store, &view, from, remote, request)?;
                signature_refs = admit_signatures(signed, remote, request)?;
            }
            sparse.admit().map_err(transfer)?;
        }
        Contents::Whole => {
            let quarantine = from
                .fetch_whole(store, &wants, request.verbosity)
                .map_err(transfer)?;
            let view = quarantine.store().map_err(transfer)?;
            admitted.fetches += check(&view, from, remote, &missing, request)?;
            let signed = check_signatures(store, &view, from, remote, request)?;
            signature_refs = admit_signatures(signed, remote, request)?;
            drop(view);
            quarantine.admit().map_err(transfer)?;
        }
    }
    admitted.fetches += keep_signature_refs(store, signature_refs, remote, request)?;
    Ok(admitted)
}

/// Reads atoms without admitting them: what `store` lacks of each wanted atom's commit, root
/// tree, `atom.toml` and `atom.lock` is fetched from `from` into a quarantine beside `store`,
/// the atoms are checked for structure (and, under a policy that requires them, signatures, as
/// [`admit`] checks them), `read` reads them there, and the quarantine is thrown away: nothing
/// is written to `store`.
///
/// The source level is not checked, which is why nothing is admitted: this is for a door that
/// only computes from an atom's manifest and lock, and acts on something else that proves what
/// it runs (eka-run's plan records: a signature by a trusted key over an identity that names
/// the atom commit, which the signer admitted with every check). A door that then needs the
/// atom's contents admits it with [`admit`]. Atoms of the eka format are not read this way.
pub fn inspect<R>(
    store: &GitStore,
    from: &Connection,
    remote: &str,
    request: &Request<'_>,
    read: impl FnOnce(&GitStore) -> Result<R, StoreError>,
) -> Result<R, Error> {
    let transfer = |source| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source,
    };
    let missing: Vec<&Wanted> = request
        .wanted
        .iter()
        .filter(|w| !store.has_object(w.commit))
        .collect();
    if missing.is_empty() {
        check_held(store, remote, request.wanted, request.signatures)?;
        return read(store).map_err(transfer);
    }
    let _span = tracing::info_span!("inspect", remote = %remote, atoms = missing.len()).entered();
    let wants: Vec<Want> = missing
        .iter()
        .map(|w| Want::named(w.atom.name(), w.commit))
        .collect();
    let sparse = from.fetch_sparse(store, &wants).map_err(transfer)?;
    let view = sparse.store().map_err(transfer)?;
    let blobs = manifest_blobs(&view, &missing);
    sparse.fetch_blobs(&blobs).map_err(transfer)?;
    for wanted in &missing {
        let reasons = match verify::check_structure(&view, &wanted.atom, wanted.commit) {
            Ok(structure) if structure.findings.is_empty() => continue,
            Ok(structure) => structure
                .findings
                .into_iter()
                .map(Reason::Finding)
                .collect(),
            Err(why) => vec![Reason::Unverifiable { why, source: None }],
        };
        return Err(Error::Refused(Box::new(Refusal {
            atom: wanted.atom.clone(),
            commit: wanted.commit,
            remote: remote.to_owned(),
            reasons,
        })));
    }
    for wanted in &missing {
        check_locked_tree(&view, wanted, remote)?;
    }
    // A signature that counts, checked as admission checks it; neither it nor anything else
    // is kept.
    drop(check_signatures(store, &view, from, remote, request)?);
    read(&view).map_err(transfer)
}

/// The checks [`admit`] makes again on atoms `store` already holds, without a connection:
/// each must be there, with the tree the lock records, and, under a policy that requires
/// signatures, a signature `store` holds that counts.
pub fn check_held(
    store: &GitStore,
    remote: &str,
    wanted: &[Wanted],
    signatures: Option<&Policy>,
) -> Result<(), Error> {
    for w in wanted {
        check_locked_tree(store, w, remote)?;
    }
    let Some(policy) = signatures.filter(|p| p.required()) else {
        return Ok(());
    };
    let transfer = |source| Error::Transfer {
        what: describe(wanted),
        remote: remote.to_owned(),
        source,
    };
    let revoked = Vec::new();
    match unsigned(store, store, &revoked, policy, wanted.iter()).map_err(transfer)? {
        Some((w, finding)) => Err(refused_unsigned(w, finding, remote)),
        None => Ok(()),
    }
}

/// Fetches objects by id (a pin's commit, a path source's tree or blob) from `from`, leaving
/// out what `filter` says, and admits them once every one has arrived. Objects are named by
/// their hashes: what arrives under an id is that object, so there is nothing else to check
/// here (what a tree holds is confined where it is exported, `crate::confine`).
pub fn objects(
    store: &GitStore,
    from: &Connection,
    remote: &str,
    wants: &[Oid],
    filter: Filter,
) -> Result<(), ObjectsError> {
    let missing: Vec<Oid> = wants
        .iter()
        .copied()
        .filter(|oid| !store.has_object(*oid))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let transfer = |source| ObjectsError::Transfer {
        what: missing
            .iter()
            .map(|o| o.short(12).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        remote: remote.to_owned(),
        source,
    };
    let quarantine = from
        .fetch_ids(store, &missing, filter, Verbosity::default())
        .map_err(transfer)?;
    {
        let view = quarantine.store().map_err(transfer)?;
        if let Some(oid) = missing.iter().find(|o| !view.has_object(**o)) {
            return Err(ObjectsError::NotSent {
                oid: *oid,
                remote: remote.to_owned(),
            });
        }
    }
    quarantine.admit().map_err(transfer)
}

/// [`admit`] from the first of `urls` (a repository's address, then its mirrors) that can be
/// reached and serves the atoms; a refusal is final (a remote serving a forged atom is not
/// passed over for the next). `remote` is how the repository is shown.
pub fn admit_any(
    store: &GitStore,
    urls: &[String],
    remote: &str,
    request: &Request<'_>,
) -> Result<Admitted, Error> {
    // Nothing to fetch: no connection either (unless signatures are missing: the remote may
    // have them).
    if request.wanted.iter().all(|w| store.has_object(w.commit)) {
        match check_held(store, remote, request.wanted, request.signatures) {
            Err(Error::Refused(refusal))
                if matches!(refusal.reasons.as_slice(), [Reason::Signature(_)]) => {}
            other => return other.map(|()| Admitted::default()),
        }
    }
    let mut failure = None;
    for url in urls {
        let attempt = store
            .connect(url)
            .map_err(|source| Error::Transfer {
                what: describe(request.wanted),
                remote: remote.to_owned(),
                source,
            })
            .and_then(|connection| admit(store, &connection, remote, request));
        match attempt {
            Err(e @ Error::Transfer { .. }) => failure = Some(e),
            other => return other,
        }
    }
    Err(failure.unwrap_or_else(|| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source: StoreError::Remote {
            remote: remote.to_owned(),
            what: "no address to fetch from".to_owned(),
            source: None,
        },
    }))
}

/// The checks on `missing` as they arrived in `view`: structure and source (fetching what the
/// source level needs from `from`), then the locked tree. Returns how many fetches the checks
/// made.
fn check(
    view: &GitStore,
    from: &Connection,
    remote: &str,
    missing: &[&Wanted],
    request: &Request<'_>,
) -> Result<usize, Error> {
    let transfer = |source| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source,
    };
    // The source commits and the trees along the atoms' paths, on the same connection; what
    // this cannot fetch, the source level fetches itself and says which it cannot.
    let sources = prefetch_sources(view, from, missing, request.verbosity);
    let sources_view = sources
        .as_ref()
        .map(|q| q.store())
        .transpose()
        .map_err(transfer)?;
    let view = sources_view.as_ref().unwrap_or(view);
    // eka's atoms are checked against their metadata refs, which name the source commit: they
    // go into a quarantine on top (which sees everything below), trees only, thrown away. A
    // door without a listing (a lock names the atoms) lists them on the same connection.
    let atoms: Vec<AtomRef> = missing.iter().map(|w| w.atom.clone()).collect();
    let eka: Vec<String> = atoms
        .iter()
        .filter(|a| a.format == Format::EkaPre1)
        .map(|a| format!("{EKA_META_PREFIX}{}/{}/", a.label, a.version))
        .collect();
    let meta_listing;
    let listed = if request.listed.is_empty() && !eka.is_empty() {
        let prefixes: Vec<&str> = eka.iter().map(String::as_str).collect();
        meta_listing = from.list(view, &prefixes).map_err(transfer)?;
        &meta_listing
    } else {
        request.listed
    };
    let meta = verify::eka_meta_refspecs(listed, &atoms);
    let meta_quarantine = if meta.is_empty() {
        None
    } else {
        Some(
            from.fetch_refspecs(view, &meta, Filter::Trees, request.verbosity)
                .map_err(transfer)?,
        )
    };
    let meta_view = meta_quarantine
        .as_ref()
        .map(|q| q.store())
        .transpose()
        .map_err(transfer)?;
    let view_with_meta = meta_view.as_ref().unwrap_or(view);
    let provenance = Provenance {
        remote: from.url().to_owned(),
        ancestry: Ancestry::Skip,
        verbosity: Verbosity {
            level: 0,
            progress: request.verbosity.progress,
        },
    };
    let pairs: Vec<(AtomRef, Oid)> = missing.iter().map(|w| (w.atom.clone(), w.commit)).collect();
    let outcome = verify::check_provenance(view_with_meta, pairs, &provenance).map_err(transfer)?;
    for checked in outcome.atoms {
        let reasons: Vec<Reason> = match checked.verdict {
            Verdict::Verified => continue,
            Verdict::Failed(findings) => findings.into_iter().map(Reason::Finding).collect(),
            Verdict::Unverifiable(why) => vec![Reason::Unverifiable {
                why,
                source: checked.source,
            }],
        };
        return Err(Error::Refused(Box::new(Refusal {
            atom: checked.atom,
            commit: checked.commit,
            remote: remote.to_owned(),
            reasons,
        })));
    }
    for wanted in missing {
        check_locked_tree(view, wanted, remote)?;
    }
    Ok(usize::from(meta_quarantine.is_some()) + usize::from(sources.is_some()))
}

/// A refusal when `wanted` names a locked tree that its commit (in `view`) does not have.
fn check_locked_tree(view: &GitStore, wanted: &Wanted, remote: &str) -> Result<(), Error> {
    let Some(locked) = wanted.tree else {
        return Ok(());
    };
    let found = view
        .commit_tree_and_parents(wanted.commit)
        .map_err(|source| Error::Transfer {
            what: wanted.atom.to_string(),
            remote: remote.to_owned(),
            source,
        })?
        .0;
    if found == locked {
        return Ok(());
    }
    Err(Error::Refused(Box::new(Refusal {
        atom: wanted.atom.clone(),
        commit: wanted.commit,
        remote: remote.to_owned(),
        reasons: vec![Reason::NotLocked { locked, found }],
    })))
}

/// Signature refs a remote sent for admitted atoms: the quarantine they are in (stacked on the
/// view of the atoms) and the refs to keep.
struct Signed {
    quarantine: Option<crate::store::git::Quarantine>,
    refs: Vec<RemoteRef>,
}

/// Under a policy that requires signatures, checks that every wanted atom (visible in `view`)
/// has one that counts: first with the signatures `store` holds, then, for the atoms that
/// lack one, with the signature refs and revocations `from` lists, their tags fetched into a
/// quarantine on top of `view`. Revocations `store` holds count too. `None` when nothing was fetched.
fn check_signatures(
    store: &GitStore,
    view: &GitStore,
    from: &Connection,
    remote: &str,
    request: &Request<'_>,
) -> Result<Option<Signed>, Error> {
    let Some(policy) = request.required_signatures() else {
        return Ok(None);
    };
    let transfer = |source| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source,
    };
    let held_revoked = policy.revocations(store).map_err(transfer)?;
    // Signatures the repository holds are refs of `store`; the objects are in `view` too.
    let mut pending: Vec<&Wanted> = Vec::new();
    for w in request.wanted {
        if unsigned(store, view, &[], policy, std::iter::once(w))
            .map_err(transfer)?
            .is_some()
        {
            pending.push(w);
        }
    }
    if pending.is_empty() {
        return Ok(None);
    }
    // The remote's signatures of those atoms and its revocations: listed, then their tags
    // fetched by id (no trees: the atoms are in `view` already).
    let mut prefixes: Vec<String> = pending.iter().map(|w| sig_prefix(&w.atom)).collect();
    prefixes.push(REVOKED_REF_PREFIX.to_owned());
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let refs: Vec<RemoteRef> = from
        .list(view, &prefixes)
        .map_err(transfer)?
        .into_iter()
        .filter(|r| prefixes.iter().any(|p| r.name.as_str().starts_with(p)))
        .collect();
    let tags: Vec<Oid> = refs
        .iter()
        .map(|r| r.oid)
        .filter(|oid| !view.has_object(*oid))
        .collect();
    let quarantine = if tags.is_empty() {
        None
    } else {
        Some(
            from.fetch_ids(view, &tags, Filter::History, request.verbosity)
                .map_err(transfer)?,
        )
    };
    let sent = quarantine
        .as_ref()
        .map(|q| q.store())
        .transpose()
        .map_err(transfer)?;
    let sent_view = sent.as_ref().unwrap_or(view);
    let revoked_refs: Vec<RemoteRef> = refs
        .iter()
        .filter(|r| r.name.as_str().starts_with(REVOKED_REF_PREFIX))
        .cloned()
        .collect();
    let mut revoked = policy
        .revocations_in(sent_view, &revoked_refs)
        .map_err(transfer)?;
    revoked.extend(held_revoked);
    for w in pending {
        let (tree, _) = view.commit_tree_and_parents(w.commit).map_err(transfer)?;
        if let Some(finding) = policy
            .check_signature_refs(sent_view, &refs, &revoked, &w.atom, w.commit, tree, None)
            .map_err(transfer)?
        {
            return Err(refused_unsigned(w, finding, remote));
        }
    }
    drop(sent);
    Ok(Some(Signed { quarantine, refs }))
}

/// The first of `atoms` without a signature that counts under `policy`, with why: signature
/// refs (and their tags) are read from `refs`, the atoms' trees from `view`, and
/// `also_revoked` counts besides the revocations `refs` holds.
fn unsigned<'w>(
    refs: &GitStore,
    view: &GitStore,
    also_revoked: &[crate::sign::Revocation],
    policy: &Policy,
    atoms: impl Iterator<Item = &'w Wanted>,
) -> Result<Option<(&'w Wanted, SignatureFinding)>, StoreError> {
    for w in atoms {
        let (tree, _) = view.commit_tree_and_parents(w.commit)?;
        // `git verify-tag` needs the tag alone, which is where its ref is.
        let finding =
            policy.check_signatures_revoking(refs, also_revoked, &w.atom, w.commit, tree, None)?;
        if let Some(finding) = finding {
            return Ok(Some((w, finding)));
        }
    }
    Ok(None)
}

/// Moves the signatures a remote sent into the view they were fetched on top of (the atoms'
/// quarantine, admitted next, or the repository); the refs to create once the atoms are in.
fn admit_signatures(
    signed: Option<Signed>,
    remote: &str,
    request: &Request<'_>,
) -> Result<Option<Vec<RemoteRef>>, Error> {
    let Some(Signed { quarantine, refs }) = signed else {
        return Ok(None);
    };
    if let Some(quarantine) = quarantine {
        quarantine.admit().map_err(|source| Error::Transfer {
            what: describe(request.wanted),
            remote: remote.to_owned(),
            source,
        })?;
    }
    Ok(Some(refs))
}

/// Creates the refs of the signatures and revocations a remote sent where `store` has none of
/// that name (published signatures and revocations never change). Returns how many fetches
/// they took.
fn keep_signature_refs(
    store: &GitStore,
    refs: Option<Vec<RemoteRef>>,
    remote: &str,
    request: &Request<'_>,
) -> Result<usize, Error> {
    let Some(refs) = refs else {
        return Ok(0);
    };
    let transfer = |source| Error::Transfer {
        what: describe(request.wanted),
        remote: remote.to_owned(),
        source,
    };
    let mut updates = Vec::new();
    for r in refs {
        if store.find_ref(&r.name).map_err(transfer)?.is_some() {
            continue;
        }
        updates.push(RefUpdate::create(r.name, r.oid));
    }
    if !updates.is_empty() {
        store
            .update_refs(&updates, "atom: signatures of admitted atoms")
            .map_err(transfer)?;
    }
    Ok(1)
}

/// The refusal of `wanted` for want of a signature that counts.
fn refused_unsigned(wanted: &Wanted, finding: SignatureFinding, remote: &str) -> Error {
    Error::Refused(Box::new(Refusal {
        atom: wanted.atom.clone(),
        commit: wanted.commit,
        remote: remote.to_owned(),
        reasons: vec![Reason::Signature(finding)],
    }))
}

/// The source commits `missing` name (their structure in `view` says which, and where the
/// atom sits) that `view` lacks, fetched over `from` with the trees along the paths and no
/// blob or history, into a quarantine stacked on `view`; `None` when none is missing or the
/// fetch failed.
fn prefetch_sources(
    view: &GitStore,
    from: &Connection,
    missing: &[&Wanted],
    verbosity: Verbosity,
) -> Option<crate::store::git::Quarantine> {
    let mut wants: Vec<Oid> = Vec::new();
    let mut filter = Filter::TreesToDepth(1);
    for wanted in missing {
        let Ok(structure) = verify::check_structure(view, &wanted.atom, wanted.commit) else {
            continue;
        };
        let Some(source) = structure.source.filter(|s| !view.has_object(*s)) else {
            continue;
        };
        if !wants.contains(&source) {
            wants.push(source);
        }
        filter = match (&structure.path, filter) {
            (None, _) | (_, Filter::Trees) => Filter::Trees,
            (Some(path), Filter::TreesToDepth(depth)) => {
                let needed = u32::try_from(path.as_str().split('/').count()).unwrap_or(u32::MAX);
                Filter::TreesToDepth(depth.max(needed))
            }
            (_, other) => other,
        };
    }
    if wants.is_empty() {
        return None;
    }
    match from.fetch_ids(view, &wants, filter, verbosity) {
        Ok(quarantine) => Some(quarantine),
        Err(e) => {
            tracing::debug!("the source commits could not be fetched at once: {e}");
            None
        }
    }
}

/// The blobs of the `atom.toml` and `atom.lock` at the top of each atom's tree in `view`
/// (atoms whose commit or tree did not arrive have none: the checks say why).
fn manifest_blobs(view: &GitStore, atoms: &[&Wanted]) -> Vec<Oid> {
    let mut blobs = Vec::new();
    for wanted in atoms {
        let Ok((tree, _)) = view.commit_tree_and_parents(wanted.commit) else {
            continue;
        };
        let Ok(entries) = view.tree_entries(tree) else {
            continue;
        };
        blobs.extend(
            entries
                .into_iter()
                .filter(|e| {
                    e.kind == EntryKind::Blob
                        && (e.name == MANIFEST_FILE.as_bytes()
                            || e.name == crate::lock::LOCK_FILE.as_bytes())
                })
                .map(|e| e.oid),
        );
    }
    blobs
}

/// `label@version, ...` for messages.
fn describe(wanted: &[Wanted]) -> String {
    let names: Vec<String> = wanted
        .iter()
        .map(|w| format!("{}@{}", w.atom.label, w.atom.version))
        .collect();
    names.join(", ")
}
