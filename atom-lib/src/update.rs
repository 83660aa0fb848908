//! Updating a clone of an atom (`git clone atom::<repo>::<label>@<requirement>`) to the newest
//! version its requirement matches: `git fetch` moves `<remote>/<label>` (the helper selects the
//! version), then the branch and the working tree move to it as `git reset --keep` does. Atom
//! versions are unrelated orphan commits, so `git pull` cannot merge them; this is the one step
//! that replaces it.

use crate::store::git::Verbosity;
use crate::{GitStore, Manifest, Oid, StoreError, Version};

/// The result of an update.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The branch that moved (or did not need to), without `refs/heads/`.
    pub branch: String,
    /// The remote it follows.
    pub remote: String,
    /// The commit before.
    pub from: Oid,
    /// The commit after (the same as `from` when up to date).
    pub to: Oid,
    /// The atom version before, if the commit holds a manifest.
    pub from_version: Option<Version>,
    /// The atom version after.
    pub to_version: Option<Version>,
}

impl Outcome {
    /// Whether the branch moved.
    pub fn updated(&self) -> bool {
        self.from != self.to
    }
}

/// Why a clone could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `HEAD` is not on a branch.
    #[error("HEAD is not on a branch: check out the atom's branch first (`git switch <label>`)")]
    Detached,
    /// The branch follows no remote branch.
    #[error("branch `{branch}` has no upstream: this is not a clone of an atom (`git clone atom::<repository>::<label>` makes one)")]
    NoUpstream {
        /// The branch.
        branch: String,
    },
    /// The branch follows a remote that is not an `atom::` URL.
    #[error("branch `{branch}` follows `{remote}` ({url}), which is not an `atom::` remote: use `git pull`")]
    NotAtomRemote {
        /// The branch.
        branch: String,
        /// The remote.
        remote: String,
        /// Its URL.
        url: String,
    },
    /// `git fetch` failed.
    #[error("cannot fetch from `{remote}`")]
    Fetch {
        /// The remote.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The remote-tracking ref is missing after the fetch.
    #[error("`{tracking}` does not exist after fetching from `{remote}`")]
    NoTracking {
        /// The remote.
        remote: String,
        /// The remote-tracking ref.
        tracking: crate::refs::RefName,
    },
    /// The working tree could not be moved (local changes to files that differ).
    #[error("cannot move `{branch}` to {to}: local changes would be overwritten (commit or stash them, then update)")]
    Reset {
        /// The branch.
        branch: String,
        /// The target commit.
        to: Oid,
        /// The cause.
        #[source]
        source: Box<StoreError>,
    },
    /// The repository could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The version in the `atom.toml` at the top of `commit`'s tree.
fn version_of(store: &GitStore, commit: Oid) -> Option<Version> {
    let (tree, _) = store.commit_tree_and_parents(commit).ok()?;
    let entry = store
        .tree_entries(tree)
        .ok()?
        .into_iter()
        .find(|e| e.name == crate::manifest::MANIFEST_FILE.as_bytes())?;
    let bytes = store.read_blob(entry.oid).ok()?;
    Manifest::parse(&bytes, crate::manifest::MANIFEST_FILE)
        .ok()
        .map(|m| m.version)
}

/// Fetches the current branch's `atom::` remote and moves the branch to what it selects.
pub fn update(store: &GitStore, verbosity: Verbosity) -> Result<Outcome, Error> {
    let branch = store
        .head_branch()
        .and_then(|b| b.strip_prefix("refs/heads/").map(str::to_owned))
        .ok_or(Error::Detached)?;
    let (remote, tracking) = store.upstream(&branch)?.ok_or_else(|| Error::NoUpstream {
        branch: branch.clone(),
    })?;
    let url = store
        .config()?
        .string(&format!("remote.{remote}.url"))
        .unwrap_or_default();
    if !url.starts_with("atom::") {
        return Err(Error::NotAtomRemote {
            branch,
            remote,
            url,
        });
    }
    let from = store
        .head_commit()
        .ok_or_else(|| StoreError::NoCommit { rev: "HEAD".into() })?;
    store
        .fetch_remote(&remote, verbosity)
        .map_err(|source| Error::Fetch {
            remote: remote.clone(),
            source,
        })?;
    let to = store
        .find_ref(&tracking)?
        .ok_or_else(|| Error::NoTracking {
            remote: remote.clone(),
            tracking: tracking.clone(),
        })?;
    if to != from {
        store.reset_keep(to).map_err(|source| Error::Reset {
            branch: branch.clone(),
            to,
            source: Box::new(source),
        })?;
    }
    Ok(Outcome {
        from_version: version_of(store, from),
        to_version: version_of(store, to),
        branch,
        remote,
        from,
        to,
    })
}
