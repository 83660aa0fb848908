//! Verification: proving that a published atom is exactly what the format says it is.
//!
//! For each atom: the commit is re-serialised from its fields and must hash to the same id; its
//! parents, identity, timestamps, headers, format version and message are checked; its manifest
//! must declare the label and version its ref names; its tree must equal the tree at the recorded
//! path in the recorded source commit; and the source commit's first parents must lead to the
//! repository's root (its identity), the same rule publishing applies. Findings are data
//! ([`Finding`]); the command line turns them into words.
//!
//! The checks come in three [`Level`]s, each needing different objects: `structure` needs the
//! atom commit and its tree; `source` needs the source commit and the trees along the recorded
//! path (no blob, no history); `ancestry` needs the commits from the source back to the root
//! (no tree, no blob). What is not in the repository is fetched, when a remote is known, into a
//! quarantine that is thrown away afterwards, level by level, with a filter that asks for
//! exactly those objects ([`Filter`]). Every verdict says which levels were checked.

use std::str::FromStr;

use crate::commit::{RawCommit, HEADER_FORMAT};
use crate::format::Format;
use crate::list;
use crate::refs::{
    AtomRef, EkaMeta, Refspec, ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX, EKA_META_PREFIX, EKA_ROOT_REF,
    ROOT_REF,
};
use crate::resolve::{self, ResolveError};
use crate::store::git::{Filter, Verbosity};
use crate::uri::{Aliases, Uri};
use crate::{GitStore, Label, LabelError, Oid, StoreError, Version, VersionError};

mod ancestry;
pub mod findings;
mod locked;
mod source;
pub mod structure;
mod work;

use ancestry::{ancestry_level, Roots, Walker};
pub use findings::{Checked, Finding, Level, Subject, Unverifiable, Verdict};
use source::source_level;
use structure::structure_level;
pub use structure::{check_structure, Structure};
use work::Work;

pub use locked::verify_lock;

/// Which atoms to verify: `label` or `label@version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The label.
    pub label: Label,
    /// One version, or all of them.
    pub version: Option<Version>,
}

/// Why a target argument is invalid.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Bad label.
    #[error(transparent)]
    Label(#[from] LabelError),
    /// Bad version.
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (label, version) = match s.split_once('@') {
            Some((l, v)) => (l, Some(Version::new(v)?)),
            None => (s, None),
        };
        Ok(Target {
            label: Label::new(label)?,
            version,
        })
    }
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The atoms; every local atom when empty.
    pub targets: Vec<Target>,
    /// Fetch missing objects from this remote (a configured name or a URL). In a clone made
    /// with `git clone atom::<uri>`, the repository `<uri>` names is used when this is `None`.
    pub remote: Option<String>,
    /// Require the `ancestry` level: fetch the source's history (commits only) when it is not
    /// here, and call an atom unverifiable when it cannot be checked. Without it, ancestry is
    /// checked only when the history is already present.
    pub ancestry: bool,
    /// Require the `signature` level: a valid signature by a key git trusts
    /// (`refs/atoms/_sig/...`, see [`crate::sign`]).
    pub signed: bool,
    /// How chatty fetches may be.
    pub verbosity: Verbosity,
}

/// The result of a verification run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// One entry per atom, sorted by label, format and version.
    pub atoms: Vec<Checked>,
    /// One entry per subatomic (`refs/subs/<tree>`), sorted by tree; verified when no atom is
    /// named.
    pub subatomics: Vec<crate::subatomic::Checked>,
}

impl Outcome {
    /// `0` all verified, `1` any failed, `2` any could not be verified (and none failed).
    pub fn exit_code(&self) -> u8 {
        let verdicts = || {
            self.atoms
                .iter()
                .map(|a| &a.verdict)
                .chain(self.subatomics.iter().map(|s| &s.verdict))
        };
        if verdicts().any(|v| matches!(v, Verdict::Failed(_))) {
            1
        } else if verdicts().any(|v| matches!(v, Verdict::Unverifiable(_))) {
            2
        } else {
            0
        }
    }
}

/// Why verification could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested atom has no local ref.
    #[error("no atom `{target}` in this repository")]
    NoSuchAtom {
        /// The target as given.
        target: String,
    },
    /// The repository holds no atom at all: no atom ref, and no branch at an atom commit.
    #[error("no atoms to verify in this repository")]
    NothingToVerify,
    /// An atom URI names no repository.
    #[error("atom URI `{uri}` names no repository")]
    NoAddress {
        /// The URI.
        uri: String,
    },
    /// No version of the URI's atom could be selected.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies the atoms selected by `options` in the repository `store`: its atom refs
/// (`refs/atoms/`, `refs/eka/atoms/`) or, when it has none, the atom commits its branches and
/// remote-tracking branches point at (a clone made with `git clone atom::<uri>`).
pub fn verify(store: &GitStore, options: &Options) -> Result<Outcome, Error> {
    let listing = list::local(store, &[])?;
    let mut available: Vec<(AtomRef, Oid)> = listing
        .atoms
        .iter()
        .flat_map(|atom| {
            atom.versions.iter().map(|v| {
                (
                    AtomRef {
                        format: atom.format,
                        label: atom.label.clone(),
                        version: v.version.clone(),
                    },
                    v.commit,
                )
            })
        })
        .collect();
    let clone = available.is_empty();
    if clone {
        available = held_atoms(store)?;
    }
    let subs: Vec<(Oid, Oid)> = if options.targets.is_empty() {
        store
            .refs_with_prefix(crate::refs::SUBS_REF_PREFIX)?
            .iter()
            .filter_map(|r| {
                let tree = r
                    .name
                    .strip_prefix(crate::refs::SUBS_REF_PREFIX)?
                    .parse()
                    .ok()?;
                Some((tree, r.target()))
            })
            .collect()
    } else {
        Vec::new()
    };
    if available.is_empty() && subs.is_empty() {
        return Err(Error::NothingToVerify);
    }
    let selected = select(&available, &options.targets)?;
    let remote = match &options.remote {
        Some(remote) => Some(remote.clone()),
        None => atom_remote(store)?,
    };
    let roots = Roots::local(store, &available)?;
    // A clone of an eka atom holds the atom, not eka's metadata refs: the check reads them from
    // the atom's remote, fetched into a quarantine that is thrown away. (A repository with atom
    // refs must hold them itself.)
    let meta = remote
        .as_deref()
        .filter(|_| clone)
        .and_then(|remote| eka_meta_from_remote(store, &selected, remote, options.verbosity));
    let meta_view = meta.as_ref().and_then(|q| q.store().ok());
    let mut outcome = run(
        store,
        selected,
        roots,
        remote.as_deref(),
        options,
        Level::Signature,
        meta_view.as_ref(),
    );
    outcome.subatomics =
        crate::subatomic::verify(store, &subs, remote.as_deref(), options.verbosity);
    Ok(outcome)
}

/// Verifies the atom an atom URI (`<repository>::<label>[@<requirement>]`) names, without a
/// local repository: one ref listing of the repository selects the version (the highest the
/// requirement accepts, as `git clone atom::<uri>` would), the atom is fetched into a
/// quarantine of `store` (an empty scratch repository will do), and each level fetches what it
/// needs. Nothing is kept.
pub fn verify_uri(store: &GitStore, uri: &Uri, options: &Options) -> Result<Outcome, Error> {
    let address = uri.address.as_ref().ok_or_else(|| Error::NoAddress {
        uri: uri.to_string(),
    })?;
    let url = address.git_url();
    let prefixes = label_prefixes(&uri.label);
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let refs = store.list_remote(&url, &prefixes)?;
    let resolution = resolve::resolve(
        &refs,
        &uri.label,
        uri.requirement.as_ref(),
        &address.redacted(),
    )?;
    let atom = resolution.selected_ref();
    let commit = resolution.selected.commit;
    let mut wants = vec![Refspec::Objects(atom.name())];
    if options.signed {
        wants.push(Refspec::Mirror(crate::sign::check::sig_dir(&atom)));
        wants.push(Refspec::Mirror(crate::sign::check::revoked_dir()));
    }
    let quarantine = store.fetch_scratch(&url, &wants, Filter::Everything, options.verbosity)?;
    let view = quarantine.store()?;
    // eka's metadata refs go into a quarantine of their own: the origin ref brings the source
    // commit without its history (a shallow fetch), which must not stand in the way of the
    // ancestry level's fetch of that history.
    let meta_specs = eka_meta_refspecs(&refs, std::slice::from_ref(&atom));
    let meta_quarantine = if meta_specs.is_empty() {
        None
    } else {
        Some(store.fetch_scratch(&url, &meta_specs, Filter::Trees, options.verbosity)?)
    };
    let meta = meta_quarantine.as_ref().map(|q| q.store()).transpose()?;
    let find = |name: &str| refs.iter().find(|r| r.name == name).map(|r| r.target());
    let (atom1, eka, _) = list::roots(find(ROOT_REF), find(EKA_ROOT_REF), None);
    let roots = Roots {
        atom1: atom1.map(|r| r.0),
        eka: eka.map(|r| r.0),
        remote_listed: true,
    };
    Ok(run(
        &view,
        vec![(atom, commit)],
        roots,
        Some(&url),
        options,
        Level::Signature,
        meta.as_ref(),
    ))
}

/// The ref prefixes that one ref listing asks a remote for to resolve and check an atom of
/// `label` in either format: its atoms (`refs/atoms/<label>/`, `refs/eka/atoms/<label>/`), eka's
/// metadata refs of them (`refs/eka/meta/<label>/`) and both identity refs.
pub fn label_prefixes(label: &Label) -> Vec<String> {
    vec![
        format!("{ATOM_REF_PREFIX}{label}/"),
        format!("{EKA_ATOM_REF_PREFIX}{label}/"),
        format!("{EKA_META_PREFIX}{label}/"),
        ROOT_REF.to_owned(),
        EKA_ROOT_REF.to_owned(),
    ]
}

/// (pre1) The refspecs (`<name>:<name>`) that fetch eka's metadata refs of the eka atoms among
/// `atoms` into a quarantine, so that the structure check finds them there: those of `listed`
/// (a ref listing of the remote) only, because naming a ref the remote lacks fails the whole
/// fetch; one that is missing is then a finding of the check. The refs name the source commit
/// and a tree, so fetch them into a quarantine that is thrown away, with
/// [`Filter::Trees`](crate::store::git::Filter::Trees) (no history, no blob): never into one
/// whose objects are admitted.
pub fn eka_meta_refspecs(
    listed: &[crate::store::RemoteRef],
    atoms: &[AtomRef],
) -> Vec<crate::refs::Refspec> {
    atoms
        .iter()
        .filter(|a| a.format == Format::EkaPre1)
        .flat_map(|a| [EkaMeta::Origin, EkaMeta::Manifest].map(|k| a.eka_meta_ref(k)))
        .filter(|name| listed.iter().any(|r| &r.name == name))
        .map(crate::refs::Refspec::Same)
        .collect()
}

/// (pre1) Fetches from `remote` the metadata refs of the eka atoms among `atoms` that `store`
/// lacks, into a quarantine of `store` to read them from; `None` when no atom lacks them, or
/// when the remote cannot be listed or fetched from (a warning is logged, and the check then
/// reports them missing).
fn eka_meta_from_remote(
    store: &GitStore,
    atoms: &[(AtomRef, Oid)],
    remote: &str,
    verbosity: Verbosity,
) -> Option<crate::store::git::Quarantine> {
    let lacking: Vec<AtomRef> = atoms
        .iter()
        .map(|(a, _)| a)
        .filter(|a| a.format == Format::EkaPre1)
        .filter(|a| {
            [EkaMeta::Origin, EkaMeta::Manifest]
                .iter()
                .any(|k| matches!(store.find_ref(&a.eka_meta_ref(*k)), Ok(None)))
        })
        .cloned()
        .collect();
    if lacking.is_empty() {
        return None;
    }
    let mut prefixes: Vec<String> = lacking
        .iter()
        .map(|a| format!("{EKA_META_PREFIX}{}/", a.label))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let fetched = store.list_remote(remote, &prefixes).and_then(|listed| {
        let specs = eka_meta_refspecs(&listed, &lacking);
        store.fetch_scratch(remote, &specs, Filter::Trees, verbosity)
    });
    match fetched {
        Ok(quarantine) => Some(quarantine),
        Err(e) => {
            tracing::warn!("cannot fetch eka's metadata refs from the atom's remote: {e}");
            None
        }
    }
}

/// How [`check_provenance`] checks atoms that are about to change hands.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The remote the atoms come from or go to: what is not here is fetched from it, so a
    /// source commit it does not have makes the atom unverifiable.
    pub remote: String,
    /// Whether to check the `ancestry` level too, and against which root.
    pub ancestry: Ancestry,
    /// How chatty fetches may be.
    pub verbosity: Verbosity,
}

/// Whether [`check_provenance`] checks the ancestry level, which needs the source's history
/// (commits only; fetched when it is not here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ancestry {
    /// Structure and source only.
    Skip,
    /// Against this root (a remote's `refs/atoms/_root`).
    Root(Oid),
    /// Against the repository's own root: its `refs/atoms/_root`, else the first-parent root
    /// of `HEAD`.
    Local,
}

/// Checks atoms before they are admitted into a repository (`git fetch atom::`) or created on
/// a remote (`git push atom::`), with the same levels and the same minimal fetches as
/// [`verify`]: the structure, then the source level (the atom's tree is the tree at its path in
/// its source commit, fetched from `provenance.remote` with the trees along the path only, no
/// blob, no history, when it is not in `view`), then the ancestry level when asked for. The
/// fetched objects are thrown away; nothing is written to `view`. An atom is fit to change
/// hands only when its verdict is [`Verdict::Verified`].
///
pub fn check_provenance(
    view: &GitStore,
    atoms: Vec<(AtomRef, Oid)>,
    provenance: &Provenance,
) -> Result<Outcome, StoreError> {
    let options = Options {
        ancestry: provenance.ancestry != Ancestry::Skip,
        verbosity: provenance.verbosity,
        ..Options::default()
    };
    let (roots, through) = match provenance.ancestry {
        Ancestry::Skip => (Roots::default(), Level::Source),
        Ancestry::Root(root) => (
            Roots {
                atom1: Some(root),
                eka: Some(root),
                remote_listed: true,
            },
            Level::Ancestry,
        ),
        Ancestry::Local => (Roots::local(view, &atoms)?, Level::Ancestry),
    };
    Ok(run(
        view,
        atoms,
        roots,
        Some(&provenance.remote),
        &options,
        through,
        None,
    ))
}

/// The atoms of `available` that `targets` select (all when empty).
fn select(available: &[(AtomRef, Oid)], targets: &[Target]) -> Result<Vec<(AtomRef, Oid)>, Error> {
    if targets.is_empty() {
        return Ok(available.to_vec());
    }
    let mut selected: Vec<(AtomRef, Oid)> = Vec::new();
    for target in targets {
        let matching: Vec<&(AtomRef, Oid)> = available
            .iter()
            .filter(|(r, _)| {
                r.label == target.label && target.version.as_ref().is_none_or(|v| &r.version == v)
            })
            .collect();
        if matching.is_empty() {
            return Err(Error::NoSuchAtom {
                target: match &target.version {
                    Some(v) => format!("{}@{v}", target.label),
                    None => target.label.to_string(),
                },
            });
        }
        for m in matching {
            if !selected.iter().any(|(s, _)| s == &m.0) {
                selected.push(m.clone());
            }
        }
    }
    Ok(selected)
}

/// The atom commits that branches, remote-tracking branches and `HEAD` point at, each once:
/// what a clone made with `git clone atom::<uri>` holds. The atom each stands for is read from
/// its message; the structure check then holds the manifest and the bytes to that claim.
fn held_atoms(store: &GitStore) -> Result<Vec<(AtomRef, Oid)>, StoreError> {
    let mut tips: Vec<Oid> = Vec::new();
    for prefix in ["refs/heads/", "refs/remotes/"] {
        tips.extend(store.refs_with_prefix(prefix)?.iter().map(|r| r.target()));
    }
    tips.extend(store.head_commit());
    let mut held: Vec<(AtomRef, Oid)> = Vec::new();
    for tip in tips {
        if held.iter().any(|(_, c)| *c == tip) {
            continue;
        }
        if let Some(atom) = atom_of_commit(store, tip) {
            if !held.iter().any(|(a, _)| a == &atom) {
                held.push((atom, tip));
            }
        }
    }
    Ok(held)
}

/// The atom a parentless commit with an atom format header claims to be, from its message.
fn atom_of_commit(store: &GitStore, commit: Oid) -> Option<AtomRef> {
    let bytes = store.read_commit_raw(commit).ok()??;
    let raw = RawCommit::parse(&bytes)?;
    if raw.all("parent").next().is_some() {
        return None;
    }
    let message = std::str::from_utf8(&raw.message).ok()?;
    if raw.one(HEADER_FORMAT).is_some() {
        let (label, version) = message.strip_prefix("atom: ")?.trim_end().split_once('@')?;
        return Some(AtomRef::new(
            label.parse().ok()?,
            Version::new(version).ok()?,
        ));
    }
    if raw.one("format").is_some() && raw.one("origin").is_some() {
        let rest = message.strip_prefix("publish(")?;
        let (label, version) = rest.split_once("): ")?;
        return Some(AtomRef {
            format: Format::EkaPre1,
            label: label.parse().ok()?,
            version: Version::new(version).ok()?,
        });
    }
    None
}

/// The repository an `atom::` remote of this repository (a clone's `origin`) names, as a git
/// URL: where a clone's atoms came from.
fn atom_remote(store: &GitStore) -> Result<Option<String>, StoreError> {
    let config = store.config()?;
    let aliases = Aliases::from_config(&config).unwrap_or_default();
    for name in store.remote_names() {
        let Some(url) = config.string(&format!("remote.{name}.url")) else {
            continue;
        };
        if let Some(uri) = url.strip_prefix("atom::") {
            if let Ok(Uri {
                address: Some(address),
                ..
            }) = Uri::parse(uri, &aliases)
            {
                return Ok(Some(address.git_url()));
            }
        }
    }
    Ok(None)
}

/// Runs the levels over `atoms`, up to `through`, reading from `view` and fetching what is
/// missing from `remote` into throw-away quarantines, one fetch per level for all atoms. eka's
/// metadata refs are read from `meta` when given (a quarantine they were fetched into), else
/// from `view`.
fn run(
    view: &GitStore,
    atoms: Vec<(AtomRef, Oid)>,
    mut roots: Roots,
    remote: Option<&str>,
    options: &Options,
    through: Level,
    meta: Option<&GitStore>,
) -> Outcome {
    let mut work: Vec<Work> = atoms
        .into_iter()
        .map(|(atom, commit)| Work {
            atom,
            commit,
            findings: Vec::new(),
            levels: Vec::new(),
            unverifiable: None,
            tree: None,
            source: None,
            path: None,
        })
        .collect();
    structure_pass(view, &mut work, remote, options, meta);
    source_pass(view, &mut work, remote, options);
    if through < Level::Ancestry {
        return outcome(work);
    }
    if let Some(remote) = remote {
        if work.iter().any(|w| roots.get(w.atom.format).is_none()) {
            roots.fill_from_remote(view, remote);
        }
    }
    ancestry_pass(view, &mut work, &roots, remote, options);
    if options.signed {
        signature_pass(view, &mut work, &roots);
    }
    outcome(work)
}

/// Structure: the atom commit and its tree, fetched for all atoms at once where missing.
fn structure_pass(
    view: &GitStore,
    work: &mut [Work],
    remote: Option<&str>,
    options: &Options,
    meta: Option<&GitStore>,
) {
    let structure_level = |v: &GitStore, w: &mut Work| structure_level(v, w, meta);
    let pending = level_pass(view, work, structure_level);
    if pending.is_empty() {
        return;
    }
    let wants: Vec<Refspec> = pending
        .iter()
        .map(|&i| Refspec::Object(work[i].commit))
        .collect();
    fetch_and_retry(
        view,
        work,
        &pending,
        remote,
        &wants,
        Filter::Everything,
        Level::Structure,
        options,
        structure_level,
    );
}

/// Source: the source commit and the trees along the path, fetched (trees only, to the deepest
/// path) for all atoms at once where missing.
fn source_pass(view: &GitStore, work: &mut [Work], remote: Option<&str>, options: &Options) {
    let pending = level_pass(view, work, source_level);
    if pending.is_empty() {
        return;
    }
    let mut wants: Vec<Refspec> = Vec::new();
    let mut filter = Filter::TreesToDepth(1);
    for &i in &pending {
        if let Some(source) = work[i].source {
            wants.push(Refspec::Object(source));
        }
        filter = match (&work[i].path, filter) {
            (None, _) | (_, Filter::Trees) => Filter::Trees,
            (Some(path), Filter::TreesToDepth(d)) => {
                let depth = u32::try_from(path.as_str().split('/').count()).unwrap_or(u32::MAX);
                Filter::TreesToDepth(d.max(depth))
            }
            (_, other) => other,
        };
    }
    wants.dedup();
    fetch_and_retry(
        view,
        work,
        &pending,
        remote,
        &wants,
        filter,
        Level::Source,
        options,
        source_level,
    );
}

/// Ancestry: the commits from the source back to the root, fetched (history, no blobs) for
/// every atom whose history is not here.
fn ancestry_pass(
    view: &GitStore,
    work: &mut [Work],
    roots: &Roots,
    remote: Option<&str>,
    options: &Options,
) {
    let mut walker = Walker::default();
    let mut pending = Vec::new();
    for (i, w) in work.iter_mut().enumerate() {
        if w.blocked() {
            continue;
        }
        if ancestry_level(view, w, roots.get(w.atom.format), &mut walker).is_err() {
            pending.push(i);
        }
    }
    if pending.is_empty() || !options.ancestry {
        return;
    }
    let Some(remote) = remote else {
        for &i in &pending {
            let w = &mut work[i];
            if let Some(source) = w.source {
                w.unverifiable = Some(Unverifiable::Missing {
                    what: "history of source commit",
                    oid: source,
                });
            }
        }
        return;
    };
    let wants: Vec<Refspec> = pending
        .iter()
        .filter_map(|&i| work[i].source.map(Refspec::Object))
        .collect();
    let fetched = view.fetch_scratch(remote, &wants, Filter::History, options.verbosity);
    let quarantine = match fetched {
        Ok(q) => q,
        Err(e) => {
            return block(
                work,
                &pending,
                Unverifiable::Fetch {
                    level: Level::Ancestry,
                    remote: remote.to_owned(),
                    error: e.to_string(),
                },
            )
        }
    };
    match quarantine.store() {
        Ok(fetched) => {
            for &i in &pending {
                let w = &mut work[i];
                if let Err(missing) =
                    ancestry_level(&fetched, w, roots.get(w.atom.format), &mut walker)
                {
                    w.unverifiable = Some(missing);
                }
            }
        }
        Err(e) => block(
            work,
            &pending,
            Unverifiable::store("open the fetched history", e),
        ),
    }
}

/// Signature: a good signature by a trusted key on every atom not already blocked.
fn signature_pass(view: &GitStore, work: &mut [Work], roots: &Roots) {
    for w in work.iter_mut().filter(|w| !w.blocked()) {
        let Some(tree) = w.tree else { continue };
        let id = roots
            .get(w.atom.format)
            .map(|r| crate::Root(r).atom_id(&w.atom.label));
        match crate::sign::check::check(view, &w.atom, w.commit, tree, id.as_ref()) {
            Ok(None) => w.levels.push(Level::Signature),
            Ok(Some(finding)) => {
                w.findings.push(finding.into());
                w.levels.push(Level::Signature);
            }
            Err(e) => w.unverifiable = Some(Unverifiable::store("read the signature refs", e)),
        }
    }
}

/// The verdicts on `work`, sorted by label, format and version.
fn outcome(work: Vec<Work>) -> Outcome {
    let mut atoms: Vec<Checked> = work
        .into_iter()
        .map(|w| Checked {
            verdict: match (w.unverifiable, w.findings.is_empty()) {
                (_, false) => Verdict::Failed(w.findings),
                (Some(why), true) => Verdict::Unverifiable(why),
                (None, true) => Verdict::Verified,
            },
            atom: w.atom,
            commit: w.commit,
            source: w.source,
            levels: w.levels,
        })
        .collect();
    atoms.sort_by(|a, b| {
        (&a.atom.label, a.atom.format, &a.atom.version).cmp(&(
            &b.atom.label,
            b.atom.format,
            &b.atom.version,
        ))
    });
    Outcome {
        atoms,
        subatomics: Vec::new(),
    }
}

/// Runs `level` on every atom not blocked yet; returns the atoms whose objects are missing.
fn level_pass(
    view: &GitStore,
    work: &mut [Work],
    level: impl Fn(&GitStore, &mut Work) -> Result<(), Unverifiable>,
) -> Vec<usize> {
    let mut pending = Vec::new();
    for (i, w) in work.iter_mut().enumerate() {
        if w.blocked() {
            continue;
        }
        match level(view, w) {
            Ok(()) => {}
            Err(Unverifiable::Missing { what, oid }) => {
                w.unverifiable = Some(Unverifiable::Missing { what, oid });
                pending.push(i);
            }
            Err(other) => w.unverifiable = Some(other),
        }
    }
    pending
}

/// Fetches `wants` from `remote` into a quarantine with `filter` and runs `level` again on the
/// `pending` atoms there; without a remote they stay unverifiable (missing).
#[allow(clippy::too_many_arguments)] // one call per level; a struct would only rename them
fn fetch_and_retry(
    view: &GitStore,
    work: &mut [Work],
    pending: &[usize],
    remote: Option<&str>,
    wants: &[Refspec],
    filter: Filter,
    level: Level,
    options: &Options,
    check: impl Fn(&GitStore, &mut Work) -> Result<(), Unverifiable>,
) {
    let Some(remote) = remote else {
        return;
    };
    let _span = tracing::info_span!("fetch", %level, remote).entered();
    tracing::info!(
        wants = wants.len(),
        ?filter,
        "fetching what the check needs"
    );
    let quarantine = match view.fetch_scratch(remote, wants, filter, options.verbosity) {
        Ok(q) => q,
        Err(e) => {
            let why = Unverifiable::Fetch {
                level,
                remote: remote.to_owned(),
                error: e.to_string(),
            };
            return block(work, pending, why);
        }
    };
    let fetched = match quarantine.store() {
        Ok(s) => s,
        Err(e) => {
            return block(
                work,
                pending,
                Unverifiable::store("open the fetched objects", e),
            )
        }
    };
    for &i in pending {
        let w = &mut work[i];
        w.unverifiable = None;
        if let Err(why) = check(&fetched, w) {
            w.unverifiable = Some(why);
        }
    }
}

fn block(work: &mut [Work], pending: &[usize], why: Unverifiable) {
    for &i in pending {
        work[i].unverifiable = Some(why.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t: Target = "foo@1.2.3".parse().unwrap();
        assert_eq!(
            (t.label.as_str(), t.version.unwrap().to_string()),
            ("foo", "1.2.3".to_owned())
        );
        assert_eq!("foo".parse::<Target>().unwrap().version, None);
        assert!("9x".parse::<Target>().is_err());
        assert!("foo@1".parse::<Target>().is_err());
    }
}
