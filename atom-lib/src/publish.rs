//! Publishing: turning atom directories of a committed revision into atom commits and refs,
//! locally and on a remote, all or nothing.
//!
//! Publishing is decided, then done: [`plan`] validates everything and looks for every conflict,
//! locally and on the remote (one ref listing), and returns a [`Plan`]: what will be written
//! where, or every problem it found (a user with five unbumped atoms gets five lines, not five
//! runs). A dry run prints the plan. [`apply`] then
//! 1. writes the atom commits to the object database (unreferenced objects are inert);
//! 2. pushes the refs in one atomic push, each atom ref only created, never updated;
//! 3. creates the local refs in one ref transaction.
//!
//! If the push fails nothing local changes; if the process dies between 2 and 3, publishing
//! again finds the remote up to date and creates the local refs.

use std::collections::BTreeMap;

use crate::commit::{AtomCommit, AtomPath, Format, HEADER_SOURCE};
use crate::manifest::ManifestError;
use crate::refs::{AtomRef, RefName, Refspec, ROOT_REF};
use crate::scan::{self, SourceAtom, SourceError};
use crate::store::git::worktree::Uncommitted;
use crate::store::git::{PushOptions, PushOutcome, RefUpdate, Verbosity};
use crate::store::RemoteRef;
use crate::{AtomId, GitStore, Label, Oid, Root, StoreError, Version};

/// Where to publish besides the local repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// The remote `git push` would choose; local only if none is configured.
    Default,
    /// A configured remote name or a URL.
    Named(String),
    /// Only the local repository.
    Local,
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Options {
    /// The revision to publish from.
    pub rev: String,
    /// The atom directories to publish; all atoms of the revision when empty.
    pub paths: Vec<AtomPath>,
    /// The remote.
    pub remote: Remote,
    /// Also push the source branch in the same atomic push, so the source commit is on the
    /// remote.
    pub push_source: bool,
    /// How chatty the push may be (git's progress on a terminal).
    pub verbosity: Verbosity,
    /// Also sign every selected atom with the user's git signing key (as `git atom sign` does)
    /// and push the signature refs in the same atomic push.
    pub sign: bool,
    /// Publish a label that looks like one already published (a case variant or a Unicode
    /// TR39 confusable), which is refused otherwise.
    pub allow_confusable: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rev: "HEAD".into(),
            paths: Vec::new(),
            remote: Remote::Default,
            push_source: false,
            verbosity: Verbosity::default(),
            sign: false,
            allow_confusable: false,
        }
    }
}

/// What happens, or happened, to one atom in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Newly created.
    Published,
    /// Already there with identical content.
    UpToDate,
    /// Will be created when the plan is applied.
    WouldPublish,
}

impl Status {
    /// The word shown to users and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::UpToDate => "up-to-date",
            Status::WouldPublish => "would-publish",
        }
    }

    fn applied(self) -> Self {
        match self {
            Status::WouldPublish => Status::Published,
            other => other,
        }
    }
}

/// One atom of a plan or an outcome.
#[derive(Debug, Clone)]
pub struct PublishedAtom {
    /// The label.
    pub label: Label,
    /// The version.
    pub version: Version,
    /// The atomic number.
    pub id: AtomId,
    /// The atom commit.
    pub commit: Oid,
    /// The atom directory.
    pub path: AtomPath,
    /// In the local repository.
    pub local: Status,
    /// On the remote, if there is one.
    pub remote: Option<Status>,
    /// With `--sign`: its signature by the user's key, and what happens to it.
    pub signature: Option<Signature>,
}

/// A signature of one atom by the user's key, made by [`apply`] unless it exists already.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The signature ref, `refs/atoms/_sig/<label>/<version>/<key id>`.
    pub reference: RefName,
    /// The signature tag: the existing one, or the one [`apply`] made.
    pub tag: Option<Oid>,
    /// In the local repository.
    pub local: Status,
    /// On the remote, if there is one.
    pub remote: Option<Status>,
}

/// One subatomic (`refs/subs/<tree>`) of a plan or an outcome: a directory an atom names as a
/// path source (`[srcs.<name>] path = "<dir>"`).
#[derive(Debug, Clone)]
pub struct PublishedSubatomic {
    /// The directory's tree, which names the ref.
    pub tree: Oid,
    /// The directory.
    pub path: AtomPath,
    /// The subatomic commit (an existing one is kept).
    pub commit: Oid,
    /// In the local repository.
    pub local: Status,
    /// On the remote, if there is one.
    pub remote: Option<Status>,
}

/// Where a conflicting atom is already published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the local repository.
    Local,
    /// On this remote.
    Remote(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Local => f.write_str("locally"),
            Place::Remote(r) => write!(f, "on remote `{r}`"),
        }
    }
}

/// One reason the plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// An atom's manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The same label in two directories of one revision.
    #[error("atom label `{label}` is used twice in {rev}: `{first}` and `{second}`")]
    DuplicateLabel {
        /// The label.
        label: Label,
        /// The revision.
        rev: String,
        /// One directory.
        first: AtomPath,
        /// The other.
        second: AtomPath,
    },
    /// Uncommitted changes inside atom directories.
    #[error("uncommitted changes in atom directories (commit them first, publishing publishes committed trees only): {}", .paths.join(", "))]
    Uncommitted {
        /// The changed paths.
        paths: Vec<String>,
    },
    /// The version is already published with different content.
    #[error("{atom} is already published {place} as {existing}, which differs from {new} (published atoms are immutable: bump the version)")]
    Conflict {
        /// The atom.
        atom: AtomRef,
        /// Where.
        place: Place,
        /// The published commit.
        existing: Oid,
        /// What this publish would have written.
        new: Oid,
    },
    /// `refs/subs/<tree>` exists but is not a subatomic of that tree.
    #[error("`refs/subs/{tree}` exists {place} at {existing}, which is not a subatomic of that tree (subatomic refs are immutable: remove it by hand if it is not yours)")]
    SubatomicConflict {
        /// The tree.
        tree: Oid,
        /// Where.
        place: Place,
        /// What the ref points at.
        existing: Oid,
    },
    /// The local repository's recorded root differs from the revision's.
    #[error("{ROOT_REF} is {recorded} but the root of {rev} is {root}: the history was rewritten or the revision belongs to another repository")]
    LocalRoot {
        /// The revision.
        rev: String,
        /// The recorded root.
        recorded: Oid,
        /// The revision's root.
        root: Oid,
    },
    /// The remote is a different repository.
    #[error(
        "remote `{remote}` is a different repository: its root commit is {theirs}, ours is {ours}"
    )]
    DifferentRepository {
        /// The remote.
        remote: String,
        /// Its root.
        theirs: Oid,
        /// Ours.
        ours: Oid,
    },
    /// A label to publish looks like a label already published, without being it.
    #[error("label `{label}` looks like `{existing}`, already published {place}: they are easily mistaken for each other (rename the atom, or pass --allow-confusable if this is intended)")]
    ConfusableLabel {
        /// The label being published.
        label: Label,
        /// The published label it looks like.
        existing: Label,
        /// Where that one is published.
        place: Place,
    },
    /// An atom with dependencies has no lock.
    #[error("`{path}` has dependencies but no `atom.lock` (run `git atom resolve` in it and commit the lock)")]
    LockMissing {
        /// The atom directory.
        path: AtomPath,
    },
    /// A sibling the atom depends on by path is neither published nor in this publish.
    #[error(
        "`{path}` depends on `{sibling}` (path `{dir}`), which is not published, so no consumer \
         could fetch it: publish them together (`git atom publish {dir} {path}`, or `--all`)"
    )]
    SiblingUnpublished {
        /// The dependent atom's directory.
        path: AtomPath,
        /// The sibling, as the lock names it.
        sibling: AtomRef,
        /// The sibling's directory.
        dir: String,
    },
    /// A sibling the atom depends on by path is published at its version with another tree.
    #[error(
        "`{path}` depends on `{sibling}` (path `{dir}`) at tree {}, but `{sibling}` is published \
         with tree {}: give `{dir}` a new version, run `git atom resolve` in `{path}` and commit",
        .locked.short(12), .published.short(12)
    )]
    SiblingDiffers {
        /// The dependent atom's directory.
        path: AtomPath,
        /// The sibling, as the lock names it.
        sibling: AtomRef,
        /// The sibling's directory.
        dir: String,
        /// The tree the lock records.
        locked: Oid,
        /// The tree published.
        published: Oid,
    },
    /// An atom's lock is unreadable or not current for its manifest.
    #[error("`{path}/atom.lock` is not current: {} (run `git atom resolve` in it and commit the lock)", .reasons.join("; "))]
    LockStale {
        /// The atom directory.
        path: AtomPath,
        /// Why, one reason each.
        reasons: Vec<String>,
    },
    /// The source commit is not reachable from the remote's branches or tags.
    #[error("source commit {source_commit} is not on remote `{remote}`, so nobody could verify the atoms")]
    SourceNotOnRemote {
        /// The remote.
        remote: String,
        /// The source commit.
        source_commit: Oid,
        /// The branch that would bring it there.
        branch: String,
    },
}

/// What publishing will do: decided, not yet done.
#[derive(Debug)]
pub struct Plan {
    /// The source commit.
    pub source: Oid,
    /// The repository's identity.
    pub root: Root,
    /// The remote to publish to, if any.
    pub remote: Option<String>,
    /// The source branch pushed along, if requested.
    pub pushed_source: Option<String>,
    /// Every selected atom with what will happen to it, in dependency order: each after the
    /// siblings it depends on, else by label and version.
    pub atoms: Vec<PublishedAtom>,
    /// The subatomics the selected atoms name, sorted by tree.
    pub subatomics: Vec<PublishedSubatomic>,
    /// Things the user should know that do not stop the publish.
    pub warnings: Vec<Warning>,
    /// Atom commits to write (their exact bytes).
    commits: Vec<Vec<u8>>,
    /// Refs to push, in one atomic push.
    remote_updates: Vec<RefUpdate>,
    /// Refs to create locally, in one transaction.
    local_updates: Vec<RefUpdate>,
    /// How chatty the push may be.
    verbosity: Verbosity,
}

impl Plan {
    /// The refs the plan pushes and creates locally: `(remote, local)`.
    pub fn updates(&self) -> (&[RefUpdate], &[RefUpdate]) {
        (&self.remote_updates, &self.local_updates)
    }
}

/// Something the user should know that did not stop the publish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// An atom's manifest exists in the working tree but is not committed in the revision, so
    /// the atom is not published.
    #[error(
        "skipped `{path}`: its `atom.toml` is not committed in {rev} (commit it, then publish)"
    )]
    NotCommitted {
        /// The atom's directory, relative to the repository root (empty for the root).
        path: String,
        /// The revision.
        rev: String,
    },
    /// The history has several roots; the identity is the first-parent one.
    #[error("the history of {rev} has {count} root commits; the repository's identity is {root}, the root reached by following first parents")]
    SeveralRoots {
        /// The revision.
        rev: String,
        /// How many roots.
        count: usize,
        /// The identity chosen.
        root: Oid,
    },
}

/// The result of applying a plan.
pub type Outcome = Plan;

/// Progress of a long publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Reading manifests: done of total.
    Reading(usize, usize),
    /// Pushing to the remote.
    Pushing,
}

/// Why nothing was published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every problem found with the atoms of the revision; one line each.
    #[error("{}", lines(.problems))]
    Refused {
        /// The problems, in the order found.
        problems: Vec<Problem>,
    },
    /// The revision has no atoms.
    #[error("no atoms found in {rev}: an atom is a directory holding an `atom.toml`")]
    NoAtoms {
        /// The revision.
        rev: String,
    },
    /// Pushing the source along needs a branch.
    #[error("{rev} is not on a branch (HEAD is detached), so there is no source branch to push")]
    NoSourceBranch {
        /// The revision.
        rev: String,
    },
    /// The remote refused refs of the atomic push; nothing was written on either side.
    #[error("push to `{remote}` failed, nothing was published: rejected: {}", .rejected.join(", "))]
    Rejected {
        /// The remote.
        remote: String,
        /// `ref reason` for each refused ref.
        rejected: Vec<String>,
    },
    /// The atomic push failed; nothing was written on either side.
    #[error("push to `{remote}` failed, nothing was published")]
    Push {
        /// The remote.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// Signing (`--sign`) is not possible: no key, or an unreadable one.
    #[error(transparent)]
    Sign(#[from] crate::sign::Error),
    /// The source branch's name cannot be pushed by this tool.
    #[error("cannot push the source branch along")]
    SourceBranch(#[from] crate::refs::RefNameError),
    /// A source tree problem.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn lines(problems: &[Problem]) -> String {
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    shown.join("\n")
}

struct Planned {
    atom: PublishedAtom,
    /// The commit to write, unless an existing atom commit is reused.
    bytes: Option<Vec<u8>>,
    reference: AtomRef,
    tree: Oid,
    /// The source commit of the atom commit that will be on the remote.
    source: Oid,
}

/// A subatomic to publish: what is shown, the commit to write (unless an existing one is
/// reused) and the source commit of the subatomic commit that will be on the remote.
struct PlannedSub {
    sub: PublishedSubatomic,
    bytes: Option<Vec<u8>>,
    source: Oid,
}

/// Where a published ref stands against the commit the plan would give it.
enum Existing {
    /// No such ref: the commit would be published.
    Absent,
    /// The same commit.
    Same,
    /// Another commit with the same tree (the same content from another source commit), whose
    /// source commit is given: kept, up to date.
    SameContent(Oid),
    /// Another commit with other content: a conflict.
    Conflict,
}

/// How the published ref `existing` (if any) stands against `commit`, whose tree is `tree`.
fn compare(
    store: &GitStore,
    existing: Option<Oid>,
    commit: Oid,
    tree: Oid,
) -> Result<Existing, StoreError> {
    Ok(match existing {
        None => Existing::Absent,
        Some(existing) if existing == commit => Existing::Same,
        Some(existing) => match published_content(store, existing)? {
            Some((t, earlier)) if t == tree => Existing::SameContent(earlier),
            _ => Existing::Conflict,
        },
    })
}

/// Decides what publishing `options` would do, finding every problem; writes nothing (it may
/// fetch another publisher's atom commit to compare its content).
pub fn plan(
    store: &GitStore,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Plan, Error> {
    let source = store.resolve_commit(&options.rev)?;
    let (tree, _) = store.commit_tree_and_parents(source)?;
    let rev = &options.rev;
    let _span = tracing::info_span!("publish", %source).entered();

    let at_head = store.head_commit() == Some(source);
    // One `git status` of the whole tree serves every check of the working tree; it runs while
    // the plan is made (from the scan on), and its findings come first.
    let status = (options.paths.is_empty() || at_head).then(|| store.start_uncommitted_files());
    let all = scan::find_atoms(store, tree)?;
    let mut warnings = Vec::new();
    let selected = select(store, tree, rev, &all, &options.paths)?;
    // Before anything else is decided: a missing or unreadable key stops a `--sign` publish.
    let key = if options.sign {
        Some(crate::sign::key_id(store)?)
    } else {
        None
    };
    if selected.is_empty() {
        return Err(Error::NoAtoms { rev: rev.clone() });
    }
    tracing::info!(selected = selected.len(), of = all.len(), "planning");
    let (mut problems, siblings) = revision_problems(store, tree, rev, &all, &selected)?;
    let uncommitted_at = problems.len();

    let remote = match &options.remote {
        Remote::Named(name) => Some(name.clone()),
        Remote::Default => store.default_push_remote()?,
        Remote::Local => None,
    };
    let (root_oid, local_root) = root_checks(
        store,
        source,
        rev,
        remote.as_deref(),
        &mut warnings,
        &mut problems,
    )?;
    let root = Root(root_oid);

    // The atoms here, listed once: looked up by each planned atom, and their labels compared
    // with the new ones.
    let here = store.refs_with_prefix("refs/atoms/")?;
    let mut planned = plan_atoms(
        store,
        &here,
        source,
        root,
        &selected,
        &mut problems,
        progress,
    )?;
    in_dependency_order(&mut planned, &siblings);
    let mut subs = plan_subatomics(store, tree, source, &selected, &mut problems)?;

    let source_branch = if options.push_source {
        let branch = branch_of(store, rev, source)
            .ok_or_else(|| Error::NoSourceBranch { rev: rev.clone() })?;
        Some(branch)
    } else {
        None
    };

    // The labels already published, each with where: new labels must not look like them.
    let mut published_labels = published_labels_of(&here, &Place::Local);
    let mut remote_updates: Vec<RefUpdate> = Vec::new();
    if let Some(remote) = &remote {
        let against = AgainstRemote {
            remote,
            source,
            root: root_oid,
            source_branch: source_branch.as_deref(),
        };
        let theirs = against.plan(store, &mut planned, &mut subs, &mut problems)?;
        remote_updates = theirs.updates;
        published_labels.extend(theirs.labels);
    }
    let uncommitted = status
        .map(Uncommitted::wait)
        .transpose()?
        .unwrap_or_default();
    if options.paths.is_empty() {
        warnings.splice(0..0, not_committed(rev, &all, &uncommitted));
    }
    let paths = if at_head {
        inside_atoms(&selected, &uncommitted)
    } else {
        Vec::new()
    };
    if !paths.is_empty() {
        problems.insert(uncommitted_at, Problem::Uncommitted { paths });
    }
    if !options.allow_confusable {
        problems.extend(confusable_labels(&planned, &published_labels));
    }
    if !problems.is_empty() {
        return Err(Error::Refused { problems });
    }
    if let Some(key) = &key {
        plan_signatures(store, key, remote.as_deref(), &mut planned)?;
    }

    let local_updates = local_updates(&planned, &subs, local_root.is_none(), root_oid);
    let commits = planned
        .iter()
        .filter_map(|p| p.bytes.clone())
        .chain(subs.iter().filter_map(|s| s.bytes.clone()))
        .collect();
    Ok(Plan {
        source,
        root,
        remote,
        pushed_source: source_branch,
        atoms: planned.into_iter().map(|p| p.atom).collect(),
        subatomics: subs.into_iter().map(|s| s.sub).collect(),
        warnings,
        commits,
        remote_updates,
        local_updates,
        verbosity: options.verbosity,
    })
}

/// The repository's root (the first-parent root of `source`), with a warning when `source`
/// has several roots and a problem when the root recorded here is another; returns the root
/// and the recorded one. In a shallow clone (CI's `git clone --depth 1`), whose history stops
/// short of the root, the root is the one recorded here, else the one `remote` publishes
/// (`refs/atoms/_root`): the remote has the history, and checks the source commit is on it.
fn root_checks(
    store: &GitStore,
    source: Oid,
    rev: &str,
    remote: Option<&str>,
    warnings: &mut Vec<Warning>,
    problems: &mut Vec<Problem>,
) -> Result<(Oid, Option<Oid>), Error> {
    let local_root = store.find_ref(&crate::refs::RefName::root())?;
    let root_oid = match store.first_parent_root(source) {
        Ok(root) => root,
        Err(shallow @ StoreError::Shallow { .. }) => {
            let theirs = match remote.filter(|_| local_root.is_none()) {
                Some(remote) => store
                    .list_remote(remote, &[ROOT_REF])?
                    .iter()
                    .find(|r| r.name == ROOT_REF)
                    .map(|r| r.target()),
                None => None,
            };
            return match local_root.or(theirs) {
                Some(root) => Ok((root, local_root)),
                None => Err(shallow.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let roots = store.roots(source)?;
    if roots.len() > 1 {
        warnings.push(Warning::SeveralRoots {
            rev: rev.to_owned(),
            count: roots.len(),
            root: root_oid,
        });
    }
    if let Some(recorded) = local_root.filter(|r| *r != root_oid) {
        problems.push(Problem::LocalRoot {
            rev: rev.to_owned(),
            recorded,
            root: root_oid,
        });
    }
    Ok((root_oid, local_root))
}

/// The local refs a publish creates: each new atom and subatomic, and the root ref the first
/// time.
fn local_updates(
    planned: &[Planned],
    subs: &[PlannedSub],
    record_root: bool,
    root: Oid,
) -> Vec<RefUpdate> {
    let mut updates: Vec<RefUpdate> = planned
        .iter()
        .filter(|p| p.atom.local == Status::WouldPublish)
        .map(|p| RefUpdate::create(p.reference.name(), p.atom.commit))
        .chain(
            subs.iter()
                .filter(|s| s.sub.local == Status::WouldPublish)
                .map(|s| RefUpdate::create(crate::subatomic::ref_name(s.sub.tree), s.sub.commit)),
        )
        .collect();
    if !updates.is_empty() && record_root {
        updates.push(RefUpdate::create(RefName::root(), root));
    }
    updates
}

/// A new atom whose manifest is not committed is not in the revision: a warning for each of
/// the `uncommitted` files that is a manifest outside the revision's atoms.
fn not_committed(rev: &str, all: &[SourceAtom], uncommitted: &[String]) -> Vec<Warning> {
    let known: std::collections::HashSet<&str> = all.iter().map(|a| a.path.as_str()).collect();
    uncommitted
        .iter()
        .filter_map(|file| {
            let dir = match file.rsplit_once('/') {
                Some((dir, name)) => (name == crate::manifest::MANIFEST_FILE).then_some(dir)?,
                None => (file == crate::manifest::MANIFEST_FILE).then_some("")?,
            };
            (!known.contains(dir)).then(|| Warning::NotCommitted {
                path: dir.to_owned(),
                rev: rev.to_owned(),
            })
        })
        .collect()
}

/// The `changed` paths inside the directory of one of `selected`.
fn inside_atoms(selected: &[SourceAtom], changed: &[String]) -> Vec<String> {
    let dirs: std::collections::HashSet<&str> = selected.iter().map(|a| a.path.as_str()).collect();
    if dirs.contains("") {
        return changed.to_vec();
    }
    changed
        .iter()
        .filter(|path| {
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if dirs.contains(parent) {
                    return true;
                }
                dir = parent;
            }
            false
        })
        .cloned()
        .collect()
}

/// How many siblings (atoms of this repository, locked by path) each selected atom's lock pins.
type SiblingCounts = BTreeMap<AtomPath, usize>;

/// What is wrong with the revision itself: labels used twice (across the whole revision, not
/// just the selection), the selected atoms' manifests and locks; and how many siblings each
/// selected atom's lock pins.
fn revision_problems(
    store: &GitStore,
    tree: Oid,
    rev: &str,
    all: &[SourceAtom],
    selected: &[SourceAtom],
) -> Result<(Vec<Problem>, SiblingCounts), Error> {
    let mut problems = Vec::new();
    let mut siblings = SiblingCounts::new();
    let mut by_label: BTreeMap<&Label, &AtomPath> = BTreeMap::new();
    for atom in all {
        if let Ok(m) = &atom.manifest {
            if let Some(first) = by_label.insert(&m.label, &atom.path) {
                problems.push(Problem::DuplicateLabel {
                    label: m.label.clone(),
                    rev: rev.to_owned(),
                    first: first.clone(),
                    second: atom.path.clone(),
                });
            }
        }
    }
    let prover = LockProver::default();
    for atom in selected {
        match &atom.manifest {
            Err(e) => problems.push(Problem::Manifest(e.clone())),
            Ok(_) => {
                let report = lock_problems(store, &prover, tree, atom, Some(selected))?;
                problems.extend(report.problems);
                siblings.insert(atom.path.clone(), report.siblings);
            }
        }
    }
    Ok((problems, siblings))
}

/// Puts every atom after the siblings it depends on, keeping label and version order otherwise.
/// A lock pins its atom's whole closure, so an atom's lock pins more siblings than the lock of
/// any sibling it depends on (that one's closure and the sibling itself): ordering by how many
/// siblings each lock pins is a dependency order.
fn in_dependency_order(planned: &mut [Planned], siblings: &SiblingCounts) {
    planned.sort_by_key(|p| siblings.get(&p.atom.path).copied().unwrap_or(0));
}

/// The atom commits of the selected atoms with a readable manifest, each against the local
/// ref of its label and version (an existing atom with the same tree is the same content
/// published from an earlier source commit: it stays as it is and counts as up to date).
fn plan_atoms(
    store: &GitStore,
    here: &[RemoteRef],
    source: Oid,
    root: Root,
    selected: &[SourceAtom],
    problems: &mut Vec<Problem>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Planned>, Error> {
    let valid: Vec<(&SourceAtom, &crate::manifest::Identity)> = selected
        .iter()
        .filter_map(|a| a.manifest.as_ref().ok().map(|m| (a, m)))
        .collect();
    let total = valid.len();
    let here: std::collections::HashMap<&RefName, Oid> =
        here.iter().map(|r| (&r.name, r.oid)).collect();
    let mut planned = Vec::with_capacity(total);
    for (i, (atom, manifest)) in valid.into_iter().enumerate() {
        progress(Progress::Reading(i + 1, total));
        let commit = AtomCommit {
            format: Format::Atom1,
            tree: atom.tree,
            source,
            path: Some(atom.path.clone()),
            label: manifest.label.clone(),
            version: manifest.version.clone(),
        };
        let bytes = commit.to_bytes();
        let oid = store.hash_commit(&bytes);
        let reference = AtomRef::new(manifest.label.clone(), manifest.version.clone());
        let existing = here.get(&reference.name()).copied();
        let (local, oid, bytes, atom_source) = match compare(store, existing, oid, atom.tree)? {
            Existing::Absent => (Status::WouldPublish, oid, Some(bytes), source),
            Existing::Same => (Status::UpToDate, oid, None, source),
            Existing::SameContent(earlier) => {
                (Status::UpToDate, existing.unwrap_or(oid), None, earlier)
            }
            Existing::Conflict => {
                let existing = existing.unwrap_or(oid);
                problems.push(Problem::Conflict {
                    atom: reference.clone(),
                    place: Place::Local,
                    existing,
                    new: oid,
                });
                (Status::UpToDate, existing, None, source)
            }
        };
        planned.push(Planned {
            atom: PublishedAtom {
                label: manifest.label.clone(),
                version: manifest.version.clone(),
                id: root.atom_id(&manifest.label),
                commit: oid,
                path: atom.path.clone(),
                local,
                remote: None,
                signature: None,
            },
            bytes,
            reference,
            tree: atom.tree,
            source: atom_source,
        });
    }
    planned.sort_by(|a, b| (&a.atom.label, &a.atom.version).cmp(&(&b.atom.label, &b.atom.version)));
    Ok(planned)
}

/// Subatomics: the directories the selected atoms name as path sources, one per tree, each
/// against its local ref.
fn plan_subatomics(
    store: &GitStore,
    tree: Oid,
    source: Oid,
    selected: &[SourceAtom],
    problems: &mut Vec<Problem>,
) -> Result<Vec<PlannedSub>, Error> {
    let mut wanted = Vec::new();
    for atom in selected {
        if atom.manifest.is_err() {
            continue;
        }
        if let Some(manifest) = full_manifest(store, atom)? {
            wanted.extend(crate::subatomic::sources_of(
                store, tree, &atom.path, &manifest,
            )?);
        }
    }
    let mut subs = Vec::new();
    for (path, sub_tree) in crate::subatomic::dedup(wanted) {
        let bytes = crate::subatomic::SubatomicCommit {
            tree: sub_tree,
            source,
            path: path.clone(),
        }
        .to_bytes();
        let oid = store.hash_commit(&bytes);
        let name = crate::subatomic::ref_name(sub_tree);
        let existing = store.find_ref(&name)?;
        let (local, commit, bytes, sub_source) = match compare(store, existing, oid, sub_tree)? {
            Existing::Absent => (Status::WouldPublish, oid, Some(bytes), source),
            Existing::Same => (Status::UpToDate, oid, None, source),
            // The same tree published earlier (another source commit or path): kept.
            Existing::SameContent(earlier) => {
                (Status::UpToDate, existing.unwrap_or(oid), None, earlier)
            }
            Existing::Conflict => {
                let existing = existing.unwrap_or(oid);
                problems.push(Problem::SubatomicConflict {
                    tree: sub_tree,
                    place: Place::Local,
                    existing,
                });
                (Status::UpToDate, existing, None, source)
            }
        };
        subs.push(PlannedSub {
            sub: PublishedSubatomic {
                tree: sub_tree,
                path,
                commit,
                local,
                remote: None,
            },
            bytes,
            source: sub_source,
        });
    }
    Ok(subs)
}

/// What the remote adds to a plan: its ref updates, and the labels it has published.
struct RemotePlan {
    updates: Vec<RefUpdate>,
    labels: Vec<(Label, Place)>,
}

/// The plan against the remote publishing goes to.
struct AgainstRemote<'a> {
    remote: &'a str,
    /// The revision's commit.
    source: Oid,
    /// This repository's root.
    root: Oid,
    /// The source branch pushed along, if any.
    source_branch: Option<&'a str>,
}

impl AgainstRemote<'_> {
    /// Lists the remote once, sets each atom's and subatomic's remote status, and finds the
    /// problems only the remote shows (another repository, conflicts, sources it lacks).
    fn plan(
        &self,
        store: &GitStore,
        planned: &mut [Planned],
        subs: &mut [PlannedSub],
        problems: &mut Vec<Problem>,
    ) -> Result<RemotePlan, Error> {
        let remote = self.remote;
        let sub_names: Vec<String> = subs
            .iter()
            .map(|s| crate::subatomic::ref_name(s.sub.tree).to_string())
            .collect();
        let mut prefixes = vec!["refs/atoms/", "refs/heads/", "refs/tags/"];
        prefixes.extend(sub_names.iter().map(String::as_str));
        let listed = store.list_remote(remote, &prefixes)?;
        let find = |name: &str| listed.iter().find(|r| r.name == name).map(|r| r.oid);
        let labels = published_labels_of(&listed, &Place::Remote(remote.to_owned()));
        let theirs_root = find(ROOT_REF);
        if let Some(theirs) = theirs_root.filter(|t| *t != self.root) {
            problems.push(Problem::DifferentRepository {
                remote: remote.to_owned(),
                theirs,
                ours: self.root,
            });
            return Err(Error::Refused {
                problems: std::mem::take(problems),
            });
        }
        let mut updates: Vec<RefUpdate> = Vec::new();
        for p in planned.iter_mut() {
            let name = p.reference.name();
            let status = self.status(store, &name, find(name.as_str()), p.atom.commit, p.tree)?;
            p.atom.remote = Some(match status {
                Existing::Absent => {
                    updates.push(RefUpdate::create(p.reference.name(), p.atom.commit));
                    Status::WouldPublish
                }
                Existing::Same | Existing::SameContent(_) => Status::UpToDate,
                Existing::Conflict => {
                    problems.push(Problem::Conflict {
                        atom: p.reference.clone(),
                        place: Place::Remote(remote.to_owned()),
                        existing: find(name.as_str()).unwrap_or(p.atom.commit),
                        new: p.atom.commit,
                    });
                    Status::UpToDate
                }
            });
        }
        for s in subs.iter_mut() {
            let name = crate::subatomic::ref_name(s.sub.tree);
            let existing = find(name.as_str());
            let status = self.status(store, &name, existing, s.sub.commit, s.sub.tree)?;
            s.sub.remote = Some(match status {
                Existing::Absent => {
                    updates.push(RefUpdate::create(name, s.sub.commit));
                    Status::WouldPublish
                }
                Existing::Same | Existing::SameContent(_) => Status::UpToDate,
                Existing::Conflict => {
                    problems.push(Problem::SubatomicConflict {
                        tree: s.sub.tree,
                        place: Place::Remote(remote.to_owned()),
                        existing: existing.unwrap_or(s.sub.commit),
                    });
                    Status::UpToDate
                }
            });
        }
        if self.source_branch.is_none() {
            problems.extend(self.missing_sources(store, planned, subs, &listed)?);
        }
        if !updates.is_empty() && theirs_root.is_none() {
            updates.push(RefUpdate::create(RefName::root(), self.root));
        }
        if let Some(branch) = self.source_branch {
            if !updates.is_empty() && find(branch) != Some(self.source) {
                // git allows names this tool does not pass on (a C1 control character).
                let name = RefName::new(branch)?;
                updates.push(RefUpdate {
                    name,
                    new: self.source,
                    expect: crate::store::git::Expect::FastForward,
                });
            }
        }
        Ok(RemotePlan { updates, labels })
    }

    /// How the remote's ref `name` (at `existing`, if listed) stands against `commit` (tree
    /// `tree`); someone else's atom commit is fetched (small, orphan) to compare.
    fn status(
        &self,
        store: &GitStore,
        name: &RefName,
        existing: Option<Oid>,
        commit: Oid,
        tree: Oid,
    ) -> Result<Existing, Error> {
        if existing.is_some_and(|e| e != commit && !store.has_object(e)) {
            store.fetch_objects(self.remote, &[Refspec::Objects(name.clone())])?;
        }
        Ok(compare(store, existing, commit, tree)?)
    }

    /// The source commits of what would be published that the remote does not have.
    fn missing_sources(
        &self,
        store: &GitStore,
        planned: &[Planned],
        subs: &[PlannedSub],
        listed: &[RemoteRef],
    ) -> Result<Vec<Problem>, Error> {
        let mut sources: Vec<Oid> = planned
            .iter()
            .filter(|p| p.atom.remote == Some(Status::WouldPublish))
            .map(|p| p.source)
            .chain(
                subs.iter()
                    .filter(|s| s.sub.remote == Some(Status::WouldPublish))
                    .map(|s| s.source),
            )
            .collect();
        sources.sort();
        sources.dedup();
        let mut problems = Vec::new();
        for s in sources {
            if !source_on_remote(store, s, listed)? {
                problems.push(Problem::SourceNotOnRemote {
                    remote: self.remote.to_owned(),
                    source_commit: s,
                    branch: store
                        .head_branch()
                        .map(|b| b.trim_start_matches("refs/heads/").to_owned())
                        .unwrap_or_else(|| s.to_string()),
                });
            }
        }
        Ok(problems)
    }
}

/// The signature each planned atom gets with `key`: the one this repository or the remote has
/// by that key already (a signature is never replaced by publishing), else a new one.
fn plan_signatures(
    store: &GitStore,
    key: &str,
    remote: Option<&str>,
    planned: &mut [Planned],
) -> Result<(), Error> {
    let listed_sigs = match remote {
        Some(remote) => Some(store.list_remote(remote, &[crate::sign::SIG_REF_PREFIX])?),
        None => None,
    };
    for p in planned {
        let name = format!("{}{key}", crate::sign::sig_prefix(&p.reference));
        let reference = RefName::new(&name).map_err(|e| crate::sign::Error::Key {
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        let on_remote = listed_sigs
            .as_ref()
            .map(|l| l.iter().find(|r| r.name == reference).map(|r| r.oid));
        let mut existing = store.find_ref(&reference)?;
        if let (None, Some(Some(theirs)), Some(remote)) = (existing, on_remote, remote) {
            // Signed elsewhere with this key and pushed: the same signature here too.
            if !store.has_object(theirs) {
                store.fetch_objects(remote, &[Refspec::Objects(reference.clone())])?;
            }
            existing = Some(theirs);
        }
        let local = if store.find_ref(&reference)?.is_some() {
            Status::UpToDate
        } else {
            Status::WouldPublish
        };
        // A signature by this key that the remote has is kept, whatever tag it is.
        let remote_status = on_remote.map(|theirs| match theirs {
            Some(_) => Status::UpToDate,
            None => Status::WouldPublish,
        });
        p.atom.signature = Some(Signature {
            reference,
            tag: existing,
            local,
            remote: remote_status,
        });
    }
    Ok(())
}

/// The atoms this push was to create that `remote` now holds with other content, as the
/// planner's conflicts; empty when it cannot tell (the listing failed) or none is there.
/// The labels of the atom refs among `refs`, each with `place`.
fn published_labels_of(refs: &[RemoteRef], place: &Place) -> Vec<(Label, Place)> {
    refs.iter()
        .filter_map(|r| AtomRef::parse(r.name.as_str()).ok().flatten())
        .map(|a| (a.label, place.clone()))
        .collect()
}

/// A problem for each planned label that looks like a published one without being it, naming
/// both (each pair once).
fn confusable_labels(planned: &[Planned], published: &[(Label, Place)]) -> Vec<Problem> {
    let mut problems: Vec<Problem> = Vec::new();
    for p in planned {
        let label = &p.atom.label;
        let Some(existing) = crate::label::confusable_with(label, published.iter().map(|(l, _)| l))
        else {
            continue;
        };
        let place = published
            .iter()
            .find(|(l, _)| l == existing)
            .map(|(_, place)| place.clone())
            .unwrap_or(Place::Local);
        let seen = problems
            .iter()
            .any(|q| matches!(q, Problem::ConfusableLabel { label: l, .. } if l == label));
        if !seen {
            problems.push(Problem::ConfusableLabel {
                label: label.clone(),
                existing: existing.clone(),
                place,
            });
        }
    }
    problems
}

fn lost_race(store: &GitStore, remote: &str, atoms: &[PublishedAtom]) -> Vec<Problem> {
    let wanted: Vec<(AtomRef, Oid)> = atoms
        .iter()
        .filter(|a| a.remote == Some(Status::WouldPublish))
        .map(|a| (AtomRef::new(a.label.clone(), a.version.clone()), a.commit))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let names: Vec<RefName> = wanted.iter().map(|(r, _)| r.name()).collect();
    let prefixes: Vec<&str> = names.iter().map(RefName::as_str).collect();
    let Ok(listed) = store.list_remote(remote, &prefixes) else {
        return Vec::new();
    };
    wanted
        .into_iter()
        .filter_map(|(atom, new)| {
            let existing = listed.iter().find(|r| r.name == atom.name())?.target();
            (existing != new).then(|| Problem::Conflict {
                atom,
                place: Place::Remote(remote.to_owned()),
                existing,
                new,
            })
        })
        .collect()
}

/// Carries out a plan: writes the atom commits, pushes the remote refs in one atomic push
/// (`GIT_ATOM_PUBLISH=1` in its environment, so a `pre-push` hook knows an atom publish is
/// pushing), then creates the local refs in one transaction.
pub fn apply(
    store: &GitStore,
    mut plan: Plan,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, Error> {
    store.write_commits(&plan.commits)?;
    sign_atoms(store, &mut plan)?;
    if let Some(remote) = &plan.remote {
        if !plan.remote_updates.is_empty() {
            progress(Progress::Pushing);
            let options = PushOptions {
                atomic: true,
                run_hooks: true,
                env: vec![("GIT_ATOM_PUBLISH".into(), "1".into())],
                verbosity: plan.verbosity,
                ..PushOptions::default()
            };
            let pushed = store
                .push(remote, &plan.remote_updates, &options)
                .map_err(|source| Error::Push {
                    remote: remote.clone(),
                    source,
                })?;
            let rejected: Vec<String> = pushed
                .iter()
                .filter_map(|p| match &p.outcome {
                    PushOutcome::Rejected(why) => Some(format!("{} {why}", p.name)),
                    _ => None,
                })
                .collect();
            if !rejected.is_empty() {
                // Another publisher may have pushed one of these versions between the plan and
                // the push (git then says `atomic transaction failed` or `stale info`): said
                // as the plan would have said it, had it seen that atom.
                let conflicts = lost_race(store, remote, &plan.atoms);
                if !conflicts.is_empty() {
                    return Err(Error::Refused {
                        problems: conflicts,
                    });
                }
                return Err(Error::Rejected {
                    remote: remote.clone(),
                    rejected,
                });
            }
        }
    }
    if !plan.local_updates.is_empty() {
        store.update_refs(&plan.local_updates, "atom: publish")?;
    }
    for atom in &mut plan.atoms {
        atom.local = atom.local.applied();
        atom.remote = atom.remote.map(Status::applied);
        if let Some(signature) = &mut atom.signature {
            signature.local = signature.local.applied();
            signature.remote = signature.remote.map(Status::applied);
        }
    }
    for sub in &mut plan.subatomics {
        sub.local = sub.local.applied();
        sub.remote = sub.remote.map(Status::applied);
    }
    Ok(plan)
}

/// With `--sign`: makes the signature tags the plan lacks (the atom commits are written by now)
/// and adds their refs to the push and the local transaction, so atoms and signatures land
/// together or not at all.
fn sign_atoms(store: &GitStore, plan: &mut Plan) -> Result<(), Error> {
    for atom in &mut plan.atoms {
        let Some(signature) = &mut atom.signature else {
            continue;
        };
        let tag = match signature.tag {
            Some(tag) => tag,
            None => {
                let (tree, _) = store.commit_tree_and_parents(atom.commit)?;
                let reference = AtomRef::new(atom.label.clone(), atom.version.clone());
                let text = crate::sign::message(&reference, Some(&atom.id), atom.commit, tree);
                let name = signature.reference.as_str().trim_start_matches("refs/");
                let tag = store.sign_tag(name, atom.commit, &text)?;
                signature.tag = Some(tag);
                tag
            }
        };
        if signature.remote == Some(Status::WouldPublish) {
            plan.remote_updates
                .push(RefUpdate::create(signature.reference.clone(), tag));
        }
        if signature.local == Status::WouldPublish {
            plan.local_updates
                .push(RefUpdate::create(signature.reference.clone(), tag));
        }
    }
    Ok(())
}

fn select(
    store: &GitStore,
    tree: Oid,
    rev: &str,
    all: &[SourceAtom],
    paths: &[AtomPath],
) -> Result<Vec<SourceAtom>, Error> {
    if paths.is_empty() {
        return Ok(all.to_vec());
    }
    let mut selected: Vec<SourceAtom> = Vec::new();
    for path in paths {
        if selected.iter().any(|a| &a.path == path) {
            continue;
        }
        match all.iter().find(|a| &a.path == path) {
            Some(atom) => selected.push(atom.clone()),
            // Not found by the scan: ask for the precise reason (missing, symlink, submodule...).
            None => selected.push(scan::atom_at(store, tree, path, rev)?),
        }
    }
    Ok(selected)
}

/// The lock problems publishing would refuse in `commit`: for every atom of its tree, a lock
/// that is missing (the atom has dependencies) or not current for its manifest. A pre-push hook
/// runs this on each branch tip being pushed.
pub fn lock_problems_at(store: &GitStore, commit: Oid) -> Result<Vec<Problem>, SourceError> {
    let (tree, _) = store.commit_tree_and_parents(commit)?;
    let mut problems = Vec::new();
    let prover = LockProver::default();
    for atom in scan::find_atoms(store, tree)? {
        problems.extend(lock_problems(store, &prover, tree, &atom, None)?.problems);
    }
    Ok(problems)
}

/// What is wrong with an atom's full manifest and its lock: the manifest must be valid, and an
/// atom with dependencies must carry a lock that is current for it (seed 001: "Before
/// publishing, the publish logic double-checks the lock's accuracy"). When `publishing` (the
/// atoms selected), every sibling the lock names must be published or among them.
fn lock_problems(
    store: &GitStore,
    prover: &LockProver,
    source_tree: Oid,
    atom: &SourceAtom,
    publishing: Option<&[SourceAtom]>,
) -> Result<LockReport, StoreError> {
    let entries = store.tree_entries(atom.tree)?;
    let blob = |name: &str| -> Result<Option<Vec<u8>>, StoreError> {
        entries
            .iter()
            .find(|e| e.name == name.as_bytes() && e.kind == crate::store::EntryKind::Blob)
            .map(|e| store.read_blob(e.oid))
            .transpose()
    };
    let path = &atom.path;
    let Some(bytes) = blob(crate::manifest::MANIFEST_FILE)? else {
        return Ok(LockReport::default());
    };
    let manifest = match crate::Manifest::parse(&bytes, &format!("{path}/atom.toml")) {
        Ok(m) => m,
        Err(e) => return Ok(LockReport::of(Problem::Manifest(e))),
    };
    let needs_lock =
        !(manifest.deps.is_empty() && manifest.pins.is_empty() && manifest.srcs.is_empty());
    let lock = match blob(crate::lock::LOCK_FILE)? {
        None if needs_lock => {
            return Ok(LockReport::of(Problem::LockMissing { path: path.clone() }))
        }
        None => return Ok(LockReport::default()),
        Some(bytes) => crate::Lock::parse(&bytes, &format!("{path}/atom.lock")),
    };
    let mut report = LockReport::default();
    let reasons: Vec<String> = match lock {
        Err(e) => vec![e.to_string()],
        Ok(lock) => {
            report.siblings = lock
                .atoms
                .iter()
                .filter(|a| matches!(a.origin, crate::lock::Origin::Path { .. }))
                .count();
            if let Some(selected) = publishing {
                report.problems = sibling_problems(store, path, &lock, selected)?;
            }
            let mut reasons: Vec<String> = lock
                .check(&manifest, path.as_str())
                .iter()
                .map(ToString::to_string)
                .collect();
            // A path dependency is locked at a tree of this repository: it must be the tree
            // the revision being published has there.
            for atom in &lock.atoms {
                let crate::lock::Origin::Path { path: dir } = &atom.origin else {
                    continue;
                };
                let found = crate::scan::entry_at(store, source_tree, dir)?.map(|e| e.oid);
                if found != Some(atom.tree) {
                    reasons.push(format!(
                        "`{}` (path `{dir}`) is locked at tree {}, the revision has {}",
                        atom.label,
                        atom.tree.short(12),
                        found.map_or_else(|| "nothing there".to_owned(), |t| t.short(12))
                    ));
                }
            }
            // A current lock must also prove itself: every fetched entry is what it names.
            if reasons.is_empty() && !lock.atoms.is_empty() {
                let shown = format!("{path}/atom.lock");
                let policy = prover.policy(store)?;
                let options = crate::proof::Options {
                    lock: &shown,
                    contents: crate::admit::Contents::Manifests,
                    offline: false,
                    signatures: Some(policy),
                };
                let proved = prover.index().and_then(|index| {
                    crate::proof::prove(index, &lock, &options).map_err(|e| crate::error_chain(&e))
                });
                if let Err(why) = proved {
                    reasons.push(why);
                }
            }
            reasons
        }
    };
    if !reasons.is_empty() {
        report.problems.push(Problem::LockStale {
            path: path.clone(),
            reasons,
        });
    }
    Ok(report)
}

/// What proving many locks shares, made on first use and kept: the signature policy and the
/// per-user index (opening it, and the cache it borrows from, for each of 500 locks was most of
/// a publish's time).
#[derive(Default)]
struct LockProver {
    policy: std::cell::OnceCell<crate::sign::Policy>,
    index: std::cell::OnceCell<Result<GitStore, String>>,
}

impl LockProver {
    fn policy(&self, store: &GitStore) -> Result<&crate::sign::Policy, StoreError> {
        if let Some(policy) = self.policy.get() {
            return Ok(policy);
        }
        let policy = crate::sign::Policy::from_config(store)?;
        Ok(self.policy.get_or_init(|| policy))
    }

    fn index(&self) -> Result<&GitStore, String> {
        self.index
            .get_or_init(|| crate::local::index().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// What [`lock_problems`] found of one atom's lock.
#[derive(Debug, Default)]
struct LockReport {
    problems: Vec<Problem>,
    /// How many siblings (path entries) it pins.
    siblings: usize,
}

impl LockReport {
    fn of(problem: Problem) -> Self {
        LockReport {
            problems: vec![problem],
            siblings: 0,
        }
    }
}

/// The siblings `lock` names (atoms of this repository, locked by path) that a consumer of the
/// atom at `path` could not fetch: neither published here nor selected in this publish, or
/// published with another tree than the one locked. A consumer resolves each in the atom's
/// own repository (docs/lock.md, "Path dependencies").
fn sibling_problems(
    store: &GitStore,
    path: &AtomPath,
    lock: &crate::Lock,
    selected: &[SourceAtom],
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for atom in &lock.atoms {
        let crate::lock::Origin::Path { path: dir } = &atom.origin else {
            continue;
        };
        let in_this_publish = selected.iter().any(|s| {
            s.manifest
                .as_ref()
                .is_ok_and(|m| m.label == atom.label && m.version == atom.version)
        });
        if in_this_publish {
            continue;
        }
        let reference = AtomRef::new(atom.label.clone(), atom.version.clone());
        let published = match store.find_ref(&reference.name())? {
            Some(commit) => Some(store.commit_tree_and_parents(commit)?.0),
            None => None,
        };
        match published {
            Some(tree) if tree == atom.tree => {}
            Some(tree) => problems.push(Problem::SiblingDiffers {
                path: path.clone(),
                sibling: reference,
                dir: dir.clone(),
                locked: atom.tree,
                published: tree,
            }),
            None => problems.push(Problem::SiblingUnpublished {
                path: path.clone(),
                sibling: reference,
                dir: dir.clone(),
            }),
        }
    }
    Ok(problems)
}

/// The atom's full manifest, if it parses (its problems are reported by [`lock_problems`]).
fn full_manifest(
    store: &GitStore,
    atom: &SourceAtom,
) -> Result<Option<crate::Manifest>, StoreError> {
    let entries = store.tree_entries(atom.tree)?;
    let Some(entry) = entries.iter().find(|e| {
        e.name == crate::manifest::MANIFEST_FILE.as_bytes()
            && e.kind == crate::store::EntryKind::Blob
    }) else {
        return Ok(None);
    };
    let bytes = store.read_blob(entry.oid)?;
    Ok(crate::Manifest::parse(&bytes, &format!("{}/atom.toml", atom.path)).ok())
}

/// The tree and source commit of an existing atom commit, if it can be read.
fn published_content(store: &GitStore, commit: Oid) -> Result<Option<(Oid, Oid)>, StoreError> {
    let Some(bytes) = store.read_commit_raw(commit)? else {
        return Ok(None);
    };
    let raw = crate::commit::RawCommit::parse(&bytes);
    let field = |name| {
        raw.as_ref()
            .and_then(|r| r.one(name))
            .and_then(|v| v.parse::<Oid>().ok())
    };
    Ok(field("tree").zip(field(HEADER_SOURCE)))
}

/// The branch to push with `--push-source`: `rev` itself if it names a branch, else the branch
/// `HEAD` is on when `rev` resolves to `HEAD`'s commit.
fn branch_of(store: &GitStore, rev: &str, source: Oid) -> Option<String> {
    let points_at_source = |name: &str| {
        RefName::new(name)
            .ok()
            .and_then(|name| store.find_ref(&name).ok().flatten())
            == Some(source)
    };
    let candidate = format!("refs/heads/{rev}");
    if points_at_source(&candidate) {
        return Some(candidate);
    }
    if rev.starts_with("refs/heads/") && points_at_source(rev) {
        return Some(rev.to_owned());
    }
    (store.head_commit() == Some(source))
        .then(|| store.head_branch())
        .flatten()
}

/// Whether the remote's branches or tags (as far as their commits are known locally) reach
/// `source`.
fn source_on_remote(
    store: &GitStore,
    source: Oid,
    listed: &[RemoteRef],
) -> Result<bool, StoreError> {
    let tips: Vec<Oid> = listed
        .iter()
        .filter(|r| {
            r.name.as_str().starts_with("refs/heads/") || r.name.as_str().starts_with("refs/tags/")
        })
        .map(RemoteRef::target)
        .collect();
    store.reachable_from_any(source, &tips)
}

/// What [`check_existing`] decided about atom commits made elsewhere (pushed with
/// `git push atom::`): which may be created on the remote, and which not, and why.
#[derive(Debug, Default)]
pub struct ExistingCheck {
    /// The refs to create on the remote, create-only: the accepted atoms, and
    /// `refs/atoms/_root` when the remote has none yet (as [`apply`] does).
    pub updates: Vec<RefUpdate>,
    /// The refused atoms, each with every reason, one line each.
    pub refused: Vec<(AtomRef, Vec<String>)>,
}

/// Applies publishing's rules to existing atom commits about to be created on `remote`
/// (`location` is how to name it to people, credentials removed): each must pass
/// [`verify::check_provenance`](crate::verify::check_provenance) with the ancestry level
/// against the remote's root (its `refs/atoms/_root`, else this repository's), which proves its
/// tree is the tree at its path in its source commit and that the source descends from the
/// same root; and its source commit must be on the remote ([`Problem::SourceNotOnRemote`]):
/// reachable from the remote's branches or tags as far as they are known here, or, when the
/// source is not here at all, fetched from the remote by the check itself. Writes nothing.
pub fn check_existing(
    store: &GitStore,
    remote: &str,
    location: &str,
    atoms: Vec<(AtomRef, Oid)>,
    verbosity: Verbosity,
) -> Result<ExistingCheck, StoreError> {
    use crate::verify::{self, Ancestry, Provenance, Verdict};
    let mut check = ExistingCheck::default();
    if atoms.is_empty() {
        return Ok(check);
    }
    let listed = store.list_remote(remote, &[ROOT_REF, "refs/heads/", "refs/tags/"])?;
    let theirs_root = listed
        .iter()
        .find(|r| r.name == ROOT_REF)
        .map(RemoteRef::target);
    // Sources here are checked against the remote's branches below; the others are fetched from
    // the remote by the provenance check, which fails when the remote does not have them.
    let local_sources: Vec<(AtomRef, bool)> = atoms
        .iter()
        .map(|(atom, commit)| {
            let here = published_content(store, *commit)
                .ok()
                .flatten()
                .is_some_and(|(_, source)| store.has_object(source));
            (atom.clone(), here)
        })
        .collect();
    let provenance = Provenance {
        remote: remote.to_owned(),
        ancestry: theirs_root.map_or(Ancestry::Local, Ancestry::Root),
        verbosity,
    };
    let outcome = verify::check_provenance(store, atoms, &provenance)?;
    let mut root = theirs_root;
    for checked in outcome.atoms {
        let mut reasons: Vec<String> = match &checked.verdict {
            Verdict::Verified => Vec::new(),
            Verdict::Failed(findings) => findings.iter().map(ToString::to_string).collect(),
            Verdict::Unverifiable(verify::Unverifiable::Fetch {
                level: verify::Level::Source,
                ..
            }) => vec![checked.source.map_or_else(
                || "its source commit cannot be fetched from the remote".to_owned(),
                |s| {
                    Problem::SourceNotOnRemote {
                        remote: location.to_owned(),
                        source_commit: s,
                        branch: String::new(),
                    }
                    .to_string()
                },
            )],
            Verdict::Unverifiable(why) => vec![why.to_string()],
        };
        let here = local_sources
            .iter()
            .any(|(atom, here)| atom == &checked.atom && *here);
        if let (true, true, Some(source)) = (reasons.is_empty(), here, checked.source) {
            if !source_on_remote(store, source, &listed)? {
                reasons.push(
                    Problem::SourceNotOnRemote {
                        remote: location.to_owned(),
                        source_commit: source,
                        branch: String::new(),
                    }
                    .to_string(),
                );
            }
        }
        if reasons.is_empty() {
            if root.is_none() {
                root = checked
                    .source
                    .filter(|s| store.has_object(*s))
                    .and_then(|s| store.first_parent_root(s).ok());
            }
            check
                .updates
                .push(RefUpdate::create(checked.atom.name(), checked.commit));
        } else {
            check.refused.push((checked.atom, reasons));
        }
    }
    if let (None, Some(root), false) = (theirs_root, root, check.updates.is_empty()) {
        check.updates.push(RefUpdate::create(RefName::root(), root));
    }
    Ok(check)
}
