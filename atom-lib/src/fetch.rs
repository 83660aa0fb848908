//! Fetching a remote's atoms into the local repository: every ref under `refs/atoms/` (atoms,
//! the repository's identity, signatures), created locally under the same names. Atom commits
//! are orphans, so this brings their trees and nothing of the source history. An existing local
//! ref is never rewritten: a remote atom that differs from the local one under the same version
//! fails the fetch.

use std::collections::BTreeMap;

use crate::list::{self, Listing};
use crate::refs::ATOM_REF_PREFIX;
use crate::store::git::Verbosity;
use crate::{GitStore, Label, Oid, StoreError, Version};

/// What to fetch.
#[derive(Debug, Clone)]
pub struct Options {
    /// The remote's name or URL.
    pub remote: String,
    /// How chatty git may be (progress on a terminal).
    pub verbosity: Verbosity,
}

/// One atom version that is now in the local repository and was not before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The label.
    pub label: Label,
    /// The version.
    pub version: Version,
    /// The atom commit.
    pub commit: Oid,
}

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The remote.
    pub remote: String,
    /// The new atom versions, by label and version.
    pub fetched: Vec<Fetched>,
    /// How many atom versions the local repository has now.
    pub total: usize,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git could not fetch (unreachable remote, or a differing atom under an existing ref).
    #[error("cannot fetch atoms from `{remote}`")]
    Fetch {
        /// The remote.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The local repository could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn versions(listing: &Listing) -> BTreeMap<(Label, Version), Oid> {
    listing
        .atoms
        .iter()
        .filter(|a| a.format == crate::Format::Atom1)
        .flat_map(|a| {
            a.versions
                .iter()
                .map(|v| ((a.label.clone(), v.version.clone()), v.commit))
        })
        .collect()
}

/// Fetches every `refs/atoms/*` ref of the remote into the same ref locally.
pub fn fetch(store: &GitStore, options: &Options) -> Result<Outcome, Error> {
    let _span = tracing::info_span!("fetch", remote = %options.remote).entered();
    let before = versions(&list::local(store, &[])?);
    let refspec = format!("{ATOM_REF_PREFIX}*:{ATOM_REF_PREFIX}*");
    store
        .fetch_refs(&options.remote, &[refspec], options.verbosity)
        .map_err(|source| Error::Fetch {
            remote: options.remote.clone(),
            source,
        })?;
    let after = versions(&list::local(store, &[])?);
    let fetched = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .map(|((label, version), commit)| Fetched {
            label: label.clone(),
            version: version.clone(),
            commit: *commit,
        })
        .collect();
    tracing::info!(total = after.len(), "fetched");
    Ok(Outcome {
        remote: options.remote.clone(),
        fetched,
        total: after.len(),
    })
}
