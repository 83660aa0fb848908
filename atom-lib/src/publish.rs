//! Publishing: turning atom directories of a committed revision into atom commits and refs,
//! locally and on a remote, all or nothing.
//!
//! The order of work guarantees that nothing is half-written:
//! 1. everything is validated and every conflict is looked for, locally and on the remote (one
//!    ref listing), before anything is written;
//! 2. the atom commits are written to the object database (unreferenced objects are inert);
//! 3. the refs are pushed in one atomic push, each only created, never updated;
//! 4. the local refs are created in one ref transaction.
//!
//! If the push fails nothing local changes; if the process dies between 3 and 4, publishing
//! again finds the remote up to date and creates the local refs.

use std::collections::BTreeMap;

use crate::format::{AtomCommit, AtomPath, AtomRef, Format, ROOT_REF};
use crate::source::{self, SourceAtom, SourceError};
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
    /// Validate and report, but write nothing anywhere.
    pub dry_run: bool,
    /// Also push the source branch in the same atomic push, so the source commit is on the
    /// remote.
    pub push_source: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rev: "HEAD".into(),
            paths: Vec::new(),
            remote: Remote::Default,
            dry_run: false,
            push_source: false,
        }
    }
}

/// What happened to one atom in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Newly created.
    Published,
    /// Already there with identical content.
    UpToDate,
    /// Would be created (dry run).
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
}

/// One atom of the outcome.
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
}

/// The result of a publish.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The source commit.
    pub source: Oid,
    /// The repository's identity.
    pub root: Root,
    /// The remote published to, if any.
    pub remote: Option<String>,
    /// The source branch pushed along, if requested.
    pub pushed_source: Option<String>,
    /// Every selected atom, sorted by label.
    pub atoms: Vec<PublishedAtom>,
    /// Things the user should know that did not stop the publish.
    pub warnings: Vec<String>,
}

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
    /// Problems with atoms of the revision; each is one line.
    #[error("{}", .problems.join("\n"))]
    Invalid {
        /// One message per problem.
        problems: Vec<String>,
    },
    /// The revision has no atoms.
    #[error("no atoms found in {rev}: an atom is a directory holding an `atom.toml`")]
    NoAtoms {
        /// The revision.
        rev: String,
    },
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
        /// The atom, as `label@version`.
        atom: String,
        /// `locally` or `on remote <name>`.
        place: String,
        /// The published commit.
        existing: Oid,
        /// What this publish would have written.
        new: Oid,
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
    /// The source commit is not reachable from the remote's branches or tags.
    #[error("source commit {source_commit} is not on remote `{remote}`, so nobody could verify the atoms: push it first (`git push {remote} {branch}`) or pass --push-source")]
    SourceNotOnRemote {
        /// The remote.
        remote: String,
        /// The source commit.
        source_commit: Oid,
        /// A branch to suggest.
        branch: String,
    },
    /// `--push-source` without a branch to push.
    #[error("--push-source needs a branch, but {rev} is not on one (HEAD is detached)")]
    NoSourceBranch {
        /// The revision.
        rev: String,
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
    /// A source tree problem.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Planned {
    atom: PublishedAtom,
    /// The commit to write, unless an existing atom commit is reused.
    bytes: Option<Vec<u8>>,
    reference: String,
    tree: Oid,
    /// The source commit of the atom commit that will be on the remote.
    source: Oid,
}

/// Publishes atoms as described by `options`.
pub fn publish(
    store: &GitStore,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, Error> {
    let source = store.resolve_commit(&options.rev)?;
    let (tree, _) = store.commit_tree_and_parents(source)?;
    let rev = &options.rev;
    let _span = tracing::info_span!("publish", %source).entered();

    let all = source::find_atoms(store, tree)?;
    let selected = select(store, tree, rev, &all, &options.paths)?;
    if selected.is_empty() {
        return Err(Error::NoAtoms { rev: rev.clone() });
    }

    // Labels are unique across the whole revision, not just the selection.
    let mut by_label: BTreeMap<&Label, &AtomPath> = BTreeMap::new();
    for atom in &all {
        if let Ok(m) = &atom.manifest {
            if let Some(first) = by_label.insert(&m.label, &atom.path) {
                return Err(Error::DuplicateLabel {
                    label: m.label.clone(),
                    rev: rev.clone(),
                    first: first.clone(),
                    second: atom.path.clone(),
                });
            }
        }
    }
    let problems: Vec<String> = selected
        .iter()
        .filter_map(|a| a.manifest.as_ref().err().map(ToString::to_string))
        .collect();
    if !problems.is_empty() {
        return Err(Error::Invalid { problems });
    }

    if store.head_commit() == Some(source) {
        let dirs: Vec<&str> = selected.iter().map(|a| a.path.as_str()).collect();
        let paths = store.uncommitted_paths(&dirs)?;
        if !paths.is_empty() {
            return Err(Error::Uncommitted { paths });
        }
    }

    let mut warnings = Vec::new();
    let root_oid = store.first_parent_root(source)?;
    let roots = store.roots(source)?;
    if roots.len() > 1 {
        warnings.push(format!(
            "the history of {rev} has {} root commits; the repository's identity is {root_oid}, the root reached by following first parents",
            roots.len()
        ));
    }
    let root = Root(root_oid);
    let local_root = store.find_ref(ROOT_REF)?;
    if let Some(recorded) = local_root.filter(|r| *r != root_oid) {
        return Err(Error::LocalRoot {
            rev: rev.clone(),
            recorded,
            root: root_oid,
        });
    }

    let total = selected.len();
    let mut planned = Vec::with_capacity(total);
    for (i, atom) in selected.iter().enumerate() {
        progress(Progress::Reading(i + 1, total));
        let manifest = atom
            .manifest
            .as_ref()
            .expect("manifest errors were reported above");
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
        let reference = AtomRef::new(manifest.label.clone(), manifest.version.clone()).name();
        // An existing atom with the same tree is the same content published from an earlier
        // source commit: it stays as it is (atoms are immutable) and counts as up to date.
        let (local, oid, bytes, atom_source) = match store.find_ref(&reference)? {
            None if options.dry_run => (Status::WouldPublish, oid, Some(bytes), source),
            None => (Status::Published, oid, Some(bytes), source),
            Some(existing) if existing == oid => (Status::UpToDate, oid, None, source),
            Some(existing) => match published_content(store, existing)? {
                Some((tree, earlier)) if tree == atom.tree => {
                    (Status::UpToDate, existing, None, earlier)
                }
                _ => {
                    return Err(Error::Conflict {
                        atom: format!("{}@{}", manifest.label, manifest.version),
                        place: "locally".into(),
                        existing,
                        new: oid,
                    })
                }
            },
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
            },
            bytes,
            reference,
            tree: atom.tree,
            source: atom_source,
        });
    }
    planned.sort_by(|a, b| (&a.atom.label, &a.atom.version).cmp(&(&b.atom.label, &b.atom.version)));

    let remote = match &options.remote {
        Remote::Named(name) => Some(name.clone()),
        Remote::Default => store.default_push_remote(),
        Remote::Local => None,
    };
    let source_branch = if options.push_source {
        let branch = branch_of(store, rev, source)
            .ok_or_else(|| Error::NoSourceBranch { rev: rev.clone() })?;
        Some(branch)
    } else {
        None
    };

    let mut updates: Vec<(Oid, String)> = Vec::new();
    if let Some(remote) = &remote {
        let listed = store.list_remote(remote, &["refs/atoms/", "refs/heads/", "refs/tags/"])?;
        let find = |name: &str| listed.iter().find(|r| r.name == name).map(|r| r.oid);
        if let Some(theirs) = find(ROOT_REF).filter(|t| *t != root_oid) {
            return Err(Error::DifferentRepository {
                remote: remote.clone(),
                theirs,
                ours: root_oid,
            });
        }
        for p in &mut planned {
            p.atom.remote = Some(match find(&p.reference) {
                None if options.dry_run => Status::WouldPublish,
                None => {
                    updates.push((p.atom.commit, p.reference.clone()));
                    Status::Published
                }
                Some(existing) if existing == p.atom.commit => Status::UpToDate,
                Some(existing) => {
                    if !store.has_object(existing) {
                        // Someone else published it: bring the (small, orphan) atom commit to compare.
                        store.fetch_objects(remote, std::slice::from_ref(&p.reference))?;
                    }
                    match published_content(store, existing)? {
                        Some((tree, _)) if tree == p.tree => Status::UpToDate,
                        _ => {
                            return Err(Error::Conflict {
                                atom: format!("{}@{}", p.atom.label, p.atom.version),
                                place: format!("on remote `{remote}`"),
                                existing,
                                new: p.atom.commit,
                            })
                        }
                    }
                }
            });
        }
        if source_branch.is_none() {
            let mut sources: Vec<Oid> = planned
                .iter()
                .filter(|p| p.atom.remote != Some(Status::UpToDate))
                .map(|p| p.source)
                .collect();
            sources.dedup();
            for s in sources {
                if !source_on_remote(store, s, &listed)? {
                    return Err(Error::SourceNotOnRemote {
                        remote: remote.clone(),
                        source_commit: s,
                        branch: store
                            .head_branch()
                            .map(|b| b.trim_start_matches("refs/heads/").to_owned())
                            .unwrap_or_else(|| s.to_string()),
                    });
                }
            }
        }
        if !updates.is_empty() && find(ROOT_REF).is_none() {
            updates.push((root_oid, ROOT_REF.to_owned()));
        }
        if let Some(branch) = &source_branch {
            if !updates.is_empty() && find(branch) != Some(source) {
                updates.push((source, branch.clone()));
            }
        }
    }

    let outcome = |planned: Vec<Planned>, warnings| Outcome {
        source,
        root,
        remote: remote.clone(),
        pushed_source: source_branch.clone(),
        atoms: planned.into_iter().map(|p| p.atom).collect(),
        warnings,
    };
    if options.dry_run {
        return Ok(outcome(planned, warnings));
    }

    for p in &planned {
        if let Some(bytes) = &p.bytes {
            let written = store.write_commit_raw(bytes)?;
            debug_assert_eq!(written, p.atom.commit);
        }
    }
    if let Some(remote) = &remote {
        if !updates.is_empty() {
            progress(Progress::Pushing);
            store
                .push_atomic(remote, &updates)
                .map_err(|source| Error::Push {
                    remote: remote.clone(),
                    source,
                })?;
        }
    }
    let mut local_refs: Vec<(String, Oid)> = planned
        .iter()
        .filter(|p| p.atom.local == Status::Published)
        .map(|p| (p.reference.clone(), p.atom.commit))
        .collect();
    if !local_refs.is_empty() && local_root.is_none() {
        local_refs.push((ROOT_REF.to_owned(), root_oid));
    }
    if !local_refs.is_empty() {
        store.create_refs(&local_refs, "atom: publish")?;
    }
    Ok(outcome(planned, warnings))
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
            None => selected.push(source::atom_at(store, tree, path, rev)?),
        }
    }
    Ok(selected)
}

/// The tree and source commit of an existing atom commit, if it can be read.
fn published_content(store: &GitStore, commit: Oid) -> Result<Option<(Oid, Oid)>, StoreError> {
    let Some(bytes) = store.read_commit_raw(commit)? else {
        return Ok(None);
    };
    let raw = crate::format::RawCommit::parse(&bytes);
    let field = |name| {
        raw.as_ref()
            .and_then(|r| r.one(name))
            .and_then(|v| v.parse::<Oid>().ok())
    };
    Ok(field("tree").zip(field(crate::format::HEADER_SOURCE)))
}

/// The branch to push with `--push-source`: `rev` itself if it names a branch, else the branch
/// `HEAD` is on when `rev` resolves to `HEAD`'s commit.
fn branch_of(store: &GitStore, rev: &str, source: Oid) -> Option<String> {
    let candidate = format!("refs/heads/{rev}");
    if store.find_ref(&candidate).ok().flatten() == Some(source) {
        return Some(candidate);
    }
    if rev.starts_with("refs/heads/") && store.find_ref(rev).ok().flatten() == Some(source) {
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
        .filter(|r| r.name.starts_with("refs/heads/") || r.name.starts_with("refs/tags/"))
        .map(|r| r.peeled.unwrap_or(r.oid))
        .collect();
    store.reachable_from_any(source, &tips)
}
