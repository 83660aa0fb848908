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

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use crate::commit::{
    AtomCommit, AtomPath, AtomPathError, Format, RawCommit, EKA_IDENTITY, FORMAT_VERSION,
    HEADER_FORMAT, HEADER_PATH, HEADER_SOURCE, IDENTITY,
};
use crate::list;
use crate::manifest::{Manifest, Schema, MANIFEST_FILE};
use crate::refs::{
    AtomRef, EkaMeta, ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX, EKA_META_PREFIX, EKA_ROOT_REF, ROOT_REF,
};
use crate::resolve::{self, ResolveError};
use crate::scan;
use crate::store::git::{Filter, Verbosity};
use crate::store::EntryKind;
use crate::uri::{Aliases, Uri};
use crate::{GitStore, Label, LabelError, Oid, StoreError, Version, VersionError};

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

/// A level of verification: what it proves and which objects it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `docs/format.md` section 8, checks 1-6: the commit is well-formed and reproducible and
    /// its manifest names the atom. Needs the atom commit and its tree.
    Structure,
    /// Check 7: the atom's tree is the tree at the recorded path of the recorded source commit.
    /// Needs that commit and the trees along the path.
    Source,
    /// Check 8: the source descends from the repository root by first parents. Needs the
    /// commits from the source back to the root.
    Ancestry,
    /// A signature tag by a trusted key names the atom (only when asked for). Needs the
    /// signature refs and their tag objects.
    Signature,
}

impl Level {
    /// Every level, in the order they are checked.
    pub const ALL: [Level; 3] = [Level::Structure, Level::Source, Level::Ancestry];

    /// The level's name in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Level::Structure => "structure",
            Level::Source => "source",
            Level::Ancestry => "ancestry",
            Level::Signature => "signature",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an atom is not what the format says it is. The CLI renders these; each carries the data
/// it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The atom commit has parents.
    #[error("has {count} parent(s): an atom commit must be an orphan")]
    Parents {
        /// How many.
        count: usize,
    },
    /// The author or committer is not the fixed identity.
    #[error("{role} is `{found}`, expected `{expected}`")]
    Identity {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// The author or committer time is not the epoch.
    #[error("{role} timestamp is `{found}`, expected `{expected}` (the Unix epoch)")]
    Timestamp {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// A header that must appear exactly once is missing or repeated.
    #[error("missing or repeated `{name}` header")]
    MissingOrRepeated {
        /// The header.
        name: &'static str,
    },
    /// A header the format does not define.
    #[error("unexpected header `{name}`")]
    UnexpectedHeader {
        /// The header.
        name: String,
    },
    /// The headers are not in the format's order.
    #[error("headers out of order: expected {}", .expected.join(", "))]
    HeadersOutOfOrder {
        /// The order required.
        expected: Vec<&'static str>,
    },
    /// A header is missing.
    #[error("missing `{name}` header")]
    MissingHeader {
        /// The header.
        name: &'static str,
    },
    /// A header is missing or its value is not an object id.
    #[error("missing or invalid `{name}` header")]
    InvalidHeader {
        /// The header.
        name: &'static str,
    },
    /// The format version is not the one the ref's layout uses.
    #[error("unknown format version `{found}` (this tool reads `{expected}`)")]
    UnknownFormat {
        /// What the commit says.
        found: String,
        /// What this tool reads.
        expected: &'static str,
    },
    /// The recorded path is not a valid atom path.
    #[error(transparent)]
    Path(#[from] AtomPathError),
    /// The commit message is not the format's.
    #[error("message is {found:?}, expected {expected:?}")]
    Message {
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: String,
    },
    /// The atom's tree has no manifest.
    #[error("the atom's tree has no regular `atom.toml`")]
    NoManifest,
    /// The manifest cannot be read.
    #[error("{0}")]
    InvalidManifest(String),
    /// The manifest names another atom than the ref.
    #[error("manifest declares {label}@{version} but the ref names {atom}")]
    ManifestMismatch {
        /// The declared label.
        label: Label,
        /// The declared version.
        version: Version,
        /// The atom the ref names.
        atom: AtomRef,
    },
    /// The commit's bytes are not what its fields produce.
    #[error("not reproducible: rebuilt from its fields the commit is {rebuilt}, not {commit}")]
    NotReproducible {
        /// The id of the rebuilt commit.
        rebuilt: Oid,
        /// The atom commit.
        commit: Oid,
    },
    /// The tree differs from the source's tree at the recorded path.
    #[error("tree {tree} differs from `{path}` in source commit {} ({found})", .source_commit.short(12))]
    TreeDiffers {
        /// The atom's tree.
        tree: Oid,
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
        /// What the source has there.
        found: Oid,
    },
    /// The recorded path does not exist in the source.
    #[error("`{path}` does not exist in source commit {}", .source_commit.short(12))]
    PathMissing {
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
    },
    /// (pre1) The tree is no directory of the source.
    #[error("tree {tree} is not a directory of source commit {}", .source_commit.short(12))]
    NotInSource {
        /// The atom's tree.
        tree: Oid,
        /// The source commit.
        source_commit: Oid,
    },
    /// The source commit cannot be read as a commit.
    #[error("source {source_commit}: {error}")]
    BadSource {
        /// The source commit.
        source_commit: Oid,
        /// What is wrong.
        error: String,
    },
    /// The recorded repository root has parents.
    #[error("the recorded repository root {root} is not a root commit")]
    RootNotRoot {
        /// The recorded root.
        root: Oid,
    },
    /// The repository root cannot be read.
    #[error("repository root: {error}")]
    BadRoot {
        /// What is wrong.
        error: String,
    },
    /// The source's first-parent root is not the repository's identity.
    #[error("source commit {} does not descend from the repository root {} by first parents (its first-parent root is {})", .source_commit.short(12), .root.short(12), .found.short(12))]
    NotDescended {
        /// The source commit.
        source_commit: Oid,
        /// The repository's identity.
        root: Oid,
        /// The root its first parents lead to.
        found: Oid,
    },
    /// Neither an identity ref nor `HEAD` says what the repository root is.
    #[error("the repository root is unknown (no refs/atoms/_root and no HEAD)")]
    RootUnknown,
    /// (pre1) One of eka's metadata refs of the atom is missing.
    #[error("eka metadata ref `{name}` is missing")]
    EkaMetaMissing {
        /// The ref.
        name: String,
    },
    /// (pre1) eka's `origin` metadata ref names another commit than the atom's `origin` header.
    #[error("eka metadata ref `{name}` points at {found}, but the atom's origin is {expected}")]
    EkaOriginMismatch {
        /// The ref.
        name: String,
        /// Where it points.
        found: Oid,
        /// The atom's `origin` header.
        expected: Oid,
    },
    /// (pre1) eka's `manifest` metadata ref is neither the atom's manifest blob nor a tree of
    /// the atom's own files holding it.
    #[error("eka metadata ref `{name}` ({found}) does not hold the atom's manifest")]
    EkaManifestMismatch {
        /// The ref.
        name: String,
        /// Where it points.
        found: Oid,
    },
    /// A subatomic commit's tree is not the tree its ref is named after.
    #[error("the commit's tree is {found}, but its ref names {named}")]
    SubatomicTree {
        /// The tree in the ref name.
        named: Oid,
        /// The commit's tree.
        found: Oid,
    },
    /// The signature requirement is not met.
    #[error(transparent)]
    Signature(#[from] crate::sign::SignatureFinding),
    /// An object could not be read.
    #[error("{0}")]
    Store(String),
}

impl Finding {
    /// The level whose check found this.
    pub fn level(&self) -> Level {
        match self {
            Finding::TreeDiffers { .. }
            | Finding::PathMissing { .. }
            | Finding::NotInSource { .. }
            | Finding::BadSource { .. } => Level::Source,
            Finding::RootNotRoot { .. }
            | Finding::BadRoot { .. }
            | Finding::NotDescended { .. }
            | Finding::RootUnknown => Level::Ancestry,
            Finding::Signature(_) => Level::Signature,
            _ => Level::Structure,
        }
    }
}

/// Why an atom could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverifiable {
    /// An object the checks need is not in the repository.
    #[error("{what} {oid} is missing")]
    Missing {
        /// `atom commit`, `tree` or `source commit`.
        what: &'static str,
        /// The object.
        oid: Oid,
    },
    /// The atom commit declares a format this tool does not read (a later `atom-format`, or an
    /// older generation of the eka tool's format).
    #[error("unsupported format `{header} {value}` (this tool reads `atom-format 1` and eka's `format pre1`)")]
    UnsupportedFormat {
        /// The header declaring the format.
        header: String,
        /// Its value.
        value: String,
    },
    /// The objects a level needs could not be fetched.
    #[error("cannot fetch what the {level} check needs from {remote}: {error}")]
    Fetch {
        /// The level.
        level: Level,
        /// The remote.
        remote: String,
        /// What failed.
        error: String,
    },
    /// The repository could not be read.
    #[error("{0}")]
    Store(String),
}

/// The verdict on one atom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Checks failed.
    Failed(Vec<Finding>),
    /// The atom could not be checked.
    Unverifiable(Unverifiable),
}

/// One verified atom.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The atom.
    pub atom: AtomRef,
    /// Its commit.
    pub commit: Oid,
    /// The source commit it names, if it could be read.
    pub source: Option<Oid>,
    /// The verdict.
    pub verdict: Verdict,
    /// The levels that were checked, in order; a level not listed was not checked.
    pub levels: Vec<Level>,
}

impl Checked {
    /// Whether `level` was checked.
    pub fn checked(&self, level: Level) -> bool {
        self.levels.contains(&level)
    }
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
    let quarantine = store.quarantine()?;
    let mut wants = vec![atom.name()];
    if options.signed {
        let sigs = crate::sign::sig_prefix(&atom);
        wants.push(format!("+{sigs}*:{sigs}*"));
        let revoked = crate::sign::REVOKED_REF_PREFIX;
        wants.push(format!("+{revoked}*:{revoked}*"));
    }
    quarantine.fetch(&url, &wants, Filter::Everything, options.verbosity)?;
    let view = quarantine.store()?;
    // eka's metadata refs go into a quarantine of their own: the origin ref brings the source
    // commit without its history (a shallow fetch), which must not stand in the way of the
    // ancestry level's fetch of that history.
    let meta_specs = eka_meta_refspecs(&refs, std::slice::from_ref(&atom));
    let meta_quarantine = if meta_specs.is_empty() {
        None
    } else {
        let meta = store.quarantine()?;
        meta.fetch(&url, &meta_specs, Filter::Trees, options.verbosity)?;
        Some(meta)
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
pub fn eka_meta_refspecs(listed: &[crate::store::RemoteRef], atoms: &[AtomRef]) -> Vec<String> {
    atoms
        .iter()
        .filter(|a| a.format == Format::EkaPre1)
        .flat_map(|a| [EkaMeta::Origin, EkaMeta::Manifest].map(|k| a.eka_meta_ref(k)))
        .filter(|name| listed.iter().any(|r| &r.name == name))
        .map(|name| format!("{name}:{name}"))
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
        let quarantine = store.quarantine()?;
        if !specs.is_empty() {
            quarantine.fetch(remote, &specs, Filter::Trees, verbosity)?;
        }
        Ok(quarantine)
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

/// What the repository root is, per format, and where that came from.
#[derive(Debug, Clone, Default)]
struct Roots {
    /// `refs/atoms/_root` (or the root of `HEAD`).
    atom1: Option<Oid>,
    /// `refs/ekala/init` (or the format-1 root, or the root of `HEAD`).
    eka: Option<Oid>,
    /// Whether the remote's listing was asked already.
    remote_listed: bool,
}

impl Roots {
    /// The local identity refs; failing those, the first-parent root of `HEAD`, unless `HEAD`
    /// is itself one of the atoms (in a clone it is, and its root would be itself).
    fn local(store: &GitStore, atoms: &[(AtomRef, Oid)]) -> Result<Self, StoreError> {
        let atom1 = store.find_ref(ROOT_REF)?;
        let eka = store.find_ref(EKA_ROOT_REF)?;
        // Walking HEAD's history costs its length: only when no identity ref says the root.
        let head_root = match store.head_commit() {
            Some(head)
                if atom1.is_none() && eka.is_none() && !atoms.iter().any(|(_, c)| *c == head) =>
            {
                store.first_parent_root(head).ok()
            }
            _ => None,
        };
        Ok(Roots {
            atom1: atom1.or(eka).or(head_root),
            eka: eka.or(atom1).or(head_root),
            remote_listed: false,
        })
    }

    fn get(&self, format: Format) -> Option<Oid> {
        match format {
            Format::Atom1 => self.atom1,
            Format::EkaPre1 => self.eka,
        }
    }

    /// Fills what is unknown from the remote's identity refs.
    fn fill_from_remote(&mut self, store: &GitStore, remote: &str) {
        if self.remote_listed || (self.atom1.is_some() && self.eka.is_some()) {
            return;
        }
        self.remote_listed = true;
        if let Ok(refs) = store.list_remote(remote, &[ROOT_REF, EKA_ROOT_REF]) {
            let find = |name: &str| refs.iter().find(|r| r.name == name).map(|r| r.target());
            self.atom1 = self.atom1.or(find(ROOT_REF));
            self.eka = self.eka.or(find(EKA_ROOT_REF)).or(self.atom1);
        }
    }
}

/// One atom on its way through the levels.
#[derive(Debug)]
struct Work {
    atom: AtomRef,
    commit: Oid,
    findings: Vec<Finding>,
    levels: Vec<Level>,
    unverifiable: Option<Unverifiable>,
    tree: Option<Oid>,
    source: Option<Oid>,
    path: Option<AtomPath>,
}

impl Work {
    fn blocked(&self) -> bool {
        self.unverifiable.is_some()
    }
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
    let structure_level = |v: &GitStore, w: &mut Work| structure_level(v, w, meta);
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

    // Structure: the atom commit and its tree.
    let pending = level_pass(view, &mut work, structure_level);
    if !pending.is_empty() {
        let wants: Vec<String> = pending
            .iter()
            .map(|&i| work[i].commit.to_string())
            .collect();
        fetch_and_retry(
            view,
            &mut work,
            &pending,
            remote,
            &wants,
            Filter::Everything,
            Level::Structure,
            options,
            structure_level,
        );
    }

    // Source: the source commit and the trees along the path.
    let pending = level_pass(view, &mut work, source_level);
    if !pending.is_empty() {
        let mut wants: Vec<String> = Vec::new();
        let mut filter = Filter::TreesToDepth(1);
        for &i in &pending {
            if let Some(source) = work[i].source {
                wants.push(source.to_string());
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
            &mut work,
            &pending,
            remote,
            &wants,
            filter,
            Level::Source,
            options,
            source_level,
        );
    }

    if through < Level::Ancestry {
        return outcome(work);
    }

    // Ancestry: the commits from the source back to the root.
    if let Some(remote) = remote {
        if work.iter().any(|w| roots.get(w.atom.format).is_none()) {
            roots.fill_from_remote(view, remote);
        }
    }
    let mut walker = Walker::default();
    let mut pending = Vec::new();
    for (i, w) in work.iter_mut().enumerate() {
        if w.blocked() {
            continue;
        }
        match ancestry_level(view, w, roots.get(w.atom.format), &mut walker) {
            Ok(()) => {}
            Err(_) => pending.push(i),
        }
    }
    if !pending.is_empty() && options.ancestry {
        let wants: Vec<String> = pending
            .iter()
            .filter_map(|&i| work[i].source.map(|s| s.to_string()))
            .collect();
        match remote {
            Some(remote) => match view.quarantine().and_then(|q| {
                q.fetch(remote, &wants, Filter::History, options.verbosity)
                    .map(|()| q)
            }) {
                Ok(q) => match q.store() {
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
                    Err(e) => block(&mut work, &pending, Unverifiable::Store(e.to_string())),
                },
                Err(e) => block(
                    &mut work,
                    &pending,
                    Unverifiable::Fetch {
                        level: Level::Ancestry,
                        remote: remote.to_owned(),
                        error: e.to_string(),
                    },
                ),
            },
            None => {
                for &i in &pending {
                    let w = &mut work[i];
                    if let Some(source) = w.source {
                        w.unverifiable = Some(Unverifiable::Missing {
                            what: "history of source commit",
                            oid: source,
                        });
                    }
                }
            }
        }
    }

    // Signature: a good signature by a trusted key, when asked for.
    if options.signed {
        for w in work.iter_mut().filter(|w| !w.blocked()) {
            let Some(tree) = w.tree else { continue };
            let id = roots
                .get(w.atom.format)
                .map(|r| crate::Root(r).atom_id(&w.atom.label));
            match crate::sign::check(view, &w.atom, w.commit, tree, id.as_ref()) {
                Ok(None) => w.levels.push(Level::Signature),
                Ok(Some(finding)) => {
                    w.findings.push(finding.into());
                    w.levels.push(Level::Signature);
                }
                Err(e) => w.unverifiable = Some(Unverifiable::Store(e.to_string())),
            }
        }
    }

    outcome(work)
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
    wants: &[String],
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
    let quarantine = match view.quarantine().and_then(|q| {
        q.fetch(remote, wants, filter, options.verbosity)
            .map(|()| q)
    }) {
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
        Err(e) => return block(work, pending, Unverifiable::Store(e.to_string())),
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

/// What the structural checks found out about an atom commit.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    /// Every violated rule; empty means well-formed.
    pub findings: Vec<Finding>,
    /// The atom's tree, if the `tree` header is valid.
    pub tree: Option<Oid>,
    /// The source commit named by the commit, if valid.
    pub source: Option<Oid>,
    /// The recorded path (format 1), if valid.
    pub path: Option<AtomPath>,
}

/// The checks that need only the atom commit and its tree (format.md, section 8, items 1-6):
/// an orphan with the fixed identity, exactly the format's headers in order, a known format
/// version, the right message, a manifest naming the atom the ref names, and bytes that
/// re-serialise to the same id. Provenance (the source history) is not looked at, so a client
/// that fetched only the atom can run them before accepting it.
pub fn check_structure(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
) -> Result<Structure, Unverifiable> {
    let mut structure = Structure::default();
    let bytes = match store.read_commit_raw(commit) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(Unverifiable::Missing {
                what: "atom commit",
                oid: commit,
            })
        }
        Err(e) => {
            structure.findings.push(Finding::Store(e.to_string()));
            return Ok(structure);
        }
    };
    let findings = &mut structure.findings;
    let Some(raw) = RawCommit::parse(&bytes) else {
        findings.push(Finding::Store("not a well-formed commit object".into()));
        return Ok(structure);
    };
    if let Some(why) = unsupported_format(&raw) {
        return Err(why);
    }

    let (identity, expected_headers): (&'static str, &[&'static str]) = match atom.format {
        Format::Atom1 => (
            IDENTITY,
            &[
                "tree",
                "author",
                "committer",
                HEADER_FORMAT,
                HEADER_SOURCE,
                HEADER_PATH,
            ],
        ),
        Format::EkaPre1 => (
            EKA_IDENTITY,
            &["tree", "author", "committer", "origin", "format"],
        ),
    };
    let parents = raw.all("parent").count();
    if parents > 0 {
        findings.push(Finding::Parents { count: parents });
    }
    for role in ["author", "committer"] {
        match raw.one(role) {
            Some(v) if v == identity => {}
            Some(v) => {
                let (who, when) = split_ident(v);
                let (want_who, want_when) = split_ident(identity);
                if who != want_who {
                    findings.push(Finding::Identity {
                        role,
                        found: who.to_owned(),
                        expected: want_who,
                    });
                }
                if when != want_when {
                    findings.push(Finding::Timestamp {
                        role,
                        found: when.to_owned(),
                        expected: want_when,
                    });
                }
            }
            None => findings.push(Finding::MissingOrRepeated { name: role }),
        }
    }
    findings.extend(header_findings(&raw, expected_headers));

    let (format_header, source_header, want_format) = match atom.format {
        Format::Atom1 => (HEADER_FORMAT, HEADER_SOURCE, FORMAT_VERSION),
        Format::EkaPre1 => ("format", "origin", "pre1"),
    };
    match raw.one(format_header) {
        Some(v) if v == want_format => {}
        Some(v) => findings.push(Finding::UnknownFormat {
            found: v.to_owned(),
            expected: want_format,
        }),
        None => findings.push(Finding::MissingHeader {
            name: format_header,
        }),
    }
    structure.source = raw.one(source_header).and_then(|s| s.parse::<Oid>().ok());
    if structure.source.is_none() {
        findings.push(Finding::InvalidHeader {
            name: source_header,
        });
    }
    if atom.format == Format::Atom1 {
        match raw.one(HEADER_PATH).map(AtomPath::new) {
            Some(Ok(p)) => structure.path = Some(p),
            Some(Err(e)) => findings.push(Finding::Path(e)),
            None => findings.push(Finding::MissingHeader { name: HEADER_PATH }),
        }
    }
    let expected_message = match atom.format {
        Format::Atom1 => format!("atom: {atom}\n"),
        Format::EkaPre1 => format!("publish({}): {}", atom.label, atom.version),
    };
    if raw.message != expected_message.as_bytes() {
        findings.push(Finding::Message {
            found: String::from_utf8_lossy(&raw.message).into_owned(),
            expected: expected_message,
        });
    }
    let Some(tree) = raw.one("tree").and_then(|t| t.parse::<Oid>().ok()) else {
        findings.push(Finding::InvalidHeader { name: "tree" });
        return Ok(structure);
    };
    structure.tree = Some(tree);

    // The manifest inside the atom must name the atom the ref names.
    let schema = match atom.format {
        Format::Atom1 => Schema::Atom,
        Format::EkaPre1 => Schema::EkaPackage,
    };
    match store.tree_entries(tree) {
        Ok(entries) => match entries.iter().find(|e| e.name == MANIFEST_FILE.as_bytes()) {
            Some(e) if e.kind == EntryKind::Blob => {
                let manifest = store
                    .read_blob(e.oid)
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        Manifest::parse_schema(
                            &b,
                            &format!("{}:{MANIFEST_FILE}", atom.name()),
                            schema,
                        )
                        .map_err(|e| e.to_string())
                    });
                match manifest {
                    Ok(m) if m.label == atom.label && m.version == atom.version => {}
                    Ok(m) => findings.push(Finding::ManifestMismatch {
                        label: m.label,
                        version: m.version,
                        atom: atom.clone(),
                    }),
                    Err(e) => findings.push(Finding::InvalidManifest(e)),
                }
            }
            _ => findings.push(Finding::NoManifest),
        },
        Err(StoreError::Missing { oid }) => {
            return Err(Unverifiable::Missing { what: "tree", oid })
        }
        Err(e) => findings.push(Finding::Store(e.to_string())),
    }

    // Reproducibility: the commit rebuilt from its fields must be this very object.
    if let Some(source) = structure.source {
        let rebuilt = AtomCommit {
            format: atom.format,
            tree,
            source,
            path: structure.path.clone(),
            label: atom.label.clone(),
            version: atom.version.clone(),
        };
        let id = store.hash_commit(&rebuilt.to_bytes());
        if id != commit {
            structure.findings.push(Finding::NotReproducible {
                rebuilt: id,
                commit,
            });
        }
    }
    Ok(structure)
}

/// The structure level on one atom: [`check_structure`], and for eka atoms the metadata refs
/// (read from `meta` when given, else from `view`).
fn structure_level(
    view: &GitStore,
    w: &mut Work,
    meta: Option<&GitStore>,
) -> Result<(), Unverifiable> {
    let structure = check_structure(view, &w.atom, w.commit)?;
    w.findings.extend(structure.findings);
    w.tree = structure.tree;
    w.source = structure.source;
    w.path = structure.path;
    if w.atom.format == Format::EkaPre1 {
        w.findings.extend(eka_meta(
            meta.unwrap_or(view),
            view,
            &w.atom,
            w.tree,
            w.source,
        ));
    }
    w.levels.push(Level::Structure);
    Ok(())
}

/// (pre1) `refs/eka/meta/<label>/<version>/origin` must name the atom's origin, and
/// `.../manifest` the atom's manifest blob or a tree of the atom's own files holding it. The refs are read from
/// `refs`, the atom's tree from `view`.
fn eka_meta(
    refs: &GitStore,
    view: &GitStore,
    atom: &AtomRef,
    tree: Option<Oid>,
    origin: Option<Oid>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let origin_ref = atom.eka_meta_ref(EkaMeta::Origin);
    match refs.find_ref(&origin_ref) {
        Ok(Some(found)) => {
            if let Some(expected) = origin.filter(|o| *o != found) {
                findings.push(Finding::EkaOriginMismatch {
                    name: origin_ref,
                    found,
                    expected,
                });
            }
        }
        Ok(None) => findings.push(Finding::EkaMetaMissing { name: origin_ref }),
        Err(e) => findings.push(Finding::Store(e.to_string())),
    }
    let manifest_ref = atom.eka_meta_ref(EkaMeta::Manifest);
    match refs.find_ref(&manifest_ref) {
        Ok(Some(found)) => {
            let atom_entries = tree
                .and_then(|t| view.tree_entries(t).ok())
                .unwrap_or_default();
            // The atom's own manifest blob (what the eka tool writes, PRIOR-ART.md), or a tree
            // of the atom's own files holding it.
            let is_manifest_blob = atom_entries
                .iter()
                .any(|e| e.name == MANIFEST_FILE.as_bytes() && e.oid == found);
            let entries = view
                .tree_entries(found)
                .or_else(|_| refs.tree_entries(found));
            let holds = is_manifest_blob
                || entries.is_ok_and(|entries| {
                    entries.iter().any(|e| e.name == MANIFEST_FILE.as_bytes())
                        && entries.iter().all(|e| atom_entries.contains(e))
                });
            if !holds {
                findings.push(Finding::EkaManifestMismatch {
                    name: manifest_ref,
                    found,
                });
            }
        }
        Ok(None) => findings.push(Finding::EkaMetaMissing { name: manifest_ref }),
        Err(e) => findings.push(Finding::Store(e.to_string())),
    }
    findings
}

/// The source level on one atom: its tree is the source commit's tree at the recorded path
/// (pre1: some directory of the source).
fn source_level(view: &GitStore, w: &mut Work) -> Result<(), Unverifiable> {
    let (Some(source), Some(tree)) = (w.source, w.tree) else {
        // The structure findings say why there is nothing to compare.
        return Ok(());
    };
    let missing = |e: StoreError| match e {
        StoreError::Missing { oid } if oid == source => Unverifiable::Missing {
            what: "source commit",
            oid,
        },
        StoreError::Missing { oid } => Unverifiable::Missing {
            what: "source tree",
            oid,
        },
        other => Unverifiable::Store(other.to_string()),
    };
    if !view.has_object(source) {
        return Err(Unverifiable::Missing {
            what: "source commit",
            oid: source,
        });
    }
    let source_tree = match view.commit_tree_and_parents(source) {
        Ok((source_tree, _)) => source_tree,
        Err(e) => {
            w.findings.push(Finding::BadSource {
                source_commit: source,
                error: e.to_string(),
            });
            w.levels.push(Level::Source);
            return Ok(());
        }
    };
    match (&w.path, w.atom.format) {
        (Some(p), _) => match scan::entry_at(view, source_tree, p.as_str()).map_err(missing)? {
            Some(e) if e.oid == tree && e.kind == EntryKind::Tree => {}
            Some(e) => w.findings.push(Finding::TreeDiffers {
                tree,
                path: p.clone(),
                source_commit: source,
                found: e.oid,
            }),
            None => w.findings.push(Finding::PathMissing {
                path: p.clone(),
                source_commit: source,
            }),
        },
        (None, Format::EkaPre1) => {
            if scan::paths_of_tree(view, source_tree, tree)
                .map_err(missing)?
                .is_empty()
            {
                w.findings.push(Finding::NotInSource {
                    tree,
                    source_commit: source,
                });
            }
        }
        (None, Format::Atom1) => {}
    }
    w.levels.push(Level::Source);
    Ok(())
}

/// Remembers which commits are known to reach which root by first parents, so that atoms
/// published from the same history walk it once between them. Every [`Walker::EVERY`]th commit
/// of a walk is remembered (a checkpoint): a later walk joining the same chain stops at most
/// that many commits after joining it, and memory stays a fraction of the history's length.
#[derive(Debug, Default)]
struct Walker {
    reaches: HashMap<Oid, Oid>,
    checked_roots: HashSet<Oid>,
}

impl Walker {
    const EVERY: usize = 256;

    /// The first-parent root of `source`.
    fn root_of(&mut self, view: &GitStore, source: Oid) -> Result<Oid, StoreError> {
        let mut checkpoints = Vec::new();
        let mut steps = 0usize;
        let reaches = &self.reaches;
        let (end, stopped) = view.first_parent_root_until(source, |c| {
            if !reaches.is_empty() && reaches.contains_key(&c) {
                return true;
            }
            if steps % Self::EVERY == 0 {
                checkpoints.push(c);
            }
            steps += 1;
            false
        })?;
        let root = if stopped { self.reaches[&end] } else { end };
        for c in checkpoints {
            self.reaches.insert(c, root);
        }
        Ok(root)
    }
}

/// The ancestry level on one atom: the recorded root is a parentless commit and the source's
/// first parents lead to it. `Err` when commits it needs are missing.
fn ancestry_level(
    view: &GitStore,
    w: &mut Work,
    root: Option<Oid>,
    walker: &mut Walker,
) -> Result<(), Unverifiable> {
    let Some(source) = w.source else {
        return Ok(());
    };
    if w.findings
        .iter()
        .any(|f| matches!(f, Finding::BadSource { .. }))
    {
        // The source is no commit: there is no history to follow.
        return Ok(());
    }
    let missing = |oid| Unverifiable::Missing {
        what: "history of source commit",
        oid,
    };
    let Some(root) = root else {
        w.findings.push(Finding::RootUnknown);
        w.levels.push(Level::Ancestry);
        return Ok(());
    };
    if !walker.checked_roots.contains(&root) {
        match view.commit_tree_and_parents(root) {
            Ok((_, parents)) if !parents.is_empty() => {
                w.findings.push(Finding::RootNotRoot { root });
                w.levels.push(Level::Ancestry);
                return Ok(());
            }
            Ok(_) => {
                walker.checked_roots.insert(root);
            }
            Err(StoreError::Missing { oid }) => return Err(missing(oid)),
            Err(e) => {
                w.findings.push(Finding::BadRoot {
                    error: e.to_string(),
                });
                w.levels.push(Level::Ancestry);
                return Ok(());
            }
        }
    }
    match walker.root_of(view, source) {
        Ok(found) if found == root => {}
        Ok(found) => w.findings.push(Finding::NotDescended {
            source_commit: source,
            root,
            found,
        }),
        Err(StoreError::Missing { oid }) => return Err(missing(oid)),
        Err(e) => w.findings.push(Finding::BadSource {
            source_commit: source,
            error: e.to_string(),
        }),
    }
    w.levels.push(Level::Ancestry);
    Ok(())
}

/// The format a commit declares, when it is one this tool does not read: `atom-format` other
/// than `1`, or eka's `format` other than `pre1` (its older generation says `format 1` next to
/// `src` and `path` headers).
fn unsupported_format(raw: &RawCommit) -> Option<Unverifiable> {
    let (header, value) = raw
        .headers
        .iter()
        .find(|(n, _)| n == HEADER_FORMAT || n == "format")?;
    let known = (header == HEADER_FORMAT && value == FORMAT_VERSION)
        || (header == "format" && value == "pre1" && raw.one("src").is_none());
    (!known).then(|| Unverifiable::UnsupportedFormat {
        header: header.clone(),
        value: value.clone(),
    })
}

/// Splits `name <email> time tz` into (`name <email>`, `time tz`).
fn split_ident(v: &str) -> (&str, &str) {
    match v.rfind('>') {
        Some(i) => (&v[..=i], v[i + 1..].trim_start()),
        None => (v, ""),
    }
}

/// The header findings of an atom or subatomic commit, whose headers (`parent` aside) must be
/// exactly `expected`, in that order: each unexpected header, and a wrong order when every
/// expected one is there. One rule for both kinds of commit.
pub(crate) fn header_findings(raw: &RawCommit, expected: &[&'static str]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let names: Vec<&str> = raw
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "parent")
        .collect();
    for name in &names {
        if !expected.contains(name) {
            findings.push(Finding::UnexpectedHeader {
                name: (*name).to_owned(),
            });
        }
    }
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| expected.contains(n))
        .collect();
    if present != expected && expected.iter().all(|h| raw.one(h).is_some()) {
        findings.push(Finding::HeadersOutOfOrder {
            expected: expected.to_vec(),
        });
    }
    findings
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

    #[test]
    fn idents() {
        assert_eq!(split_ident(IDENTITY), ("atom <atom@invalid>", "0 +0000"));
        assert_eq!(split_ident(EKA_IDENTITY), (" <>", "0 +0000"));
    }
}
