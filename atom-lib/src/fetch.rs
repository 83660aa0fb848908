//! Fetching a remote's atoms into the local repository: every ref under `refs/atoms/` (atoms,
//! the repository's identity, signatures), created locally under the same names. Atom commits
//! are orphans, so this brings their trees and nothing of the source history. Every new atom
//! passes admission ([`crate::admit`]: structure and source, checked in a quarantine) before
//! any object or ref is written; one refused atom fails the fetch and nothing is written. An
//! existing local ref is never rewritten: a remote atom that differs from the local one under
//! the same version fails the fetch.

use std::collections::BTreeMap;

use crate::list::{self, Listing};
use crate::refs::{Refspec, ATOM_REF_PREFIX};
use crate::store::git::RefUpdate;
use crate::store::git::Verbosity;
use crate::{AtomRef, GitStore, Label, Oid, StoreError, Version};

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
    /// git could not fetch (unreachable remote, or a differing reserved ref).
    #[error("cannot fetch atoms from `{remote}`")]
    Fetch {
        /// The remote.
        remote: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The remote has other content under a version this repository has.
    #[error("`{remote}` has {name} at {theirs}, this repository has it at {ours}: published atoms never change, so one of the two is not the publisher's (`git atom verify` checks the local one); nothing was fetched")]
    Differs {
        /// The remote.
        remote: String,
        /// The ref.
        name: crate::refs::RefName,
        /// The remote's commit.
        theirs: Oid,
        /// The local commit.
        ours: Oid,
    },
    /// An atom failed admission: nothing was written.
    #[error(transparent)]
    Admit(#[from] Box<crate::admit::Error>),
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

/// Fetches every `refs/atoms/*` ref of the remote into the same ref locally: the new atoms
/// through admission, then the reserved refs (`_root`, signatures, revocations) by git, then
/// the atom refs in one transaction.
pub fn fetch(store: &GitStore, options: &Options) -> Result<Outcome, Error> {
    let _span = tracing::info_span!("fetch", remote = %options.remote).entered();
    let fetch_err = |source| Error::Fetch {
        remote: options.remote.clone(),
        source,
    };
    let before = versions(&list::local(store, &[])?);
    let connection = store.connect(&options.remote).map_err(fetch_err)?;
    let listed = connection
        .list(store, &[ATOM_REF_PREFIX])
        .map_err(fetch_err)?;
    let mut wanted = Vec::new();
    let mut reserved = Vec::new();
    for r in &listed {
        let Ok(Some(atom)) = AtomRef::parse(r.name.as_str()) else {
            // `refs/atoms/_*`: identity, signatures and revocations, fetched by git below.
            if r.name.as_str().starts_with(&format!("{ATOM_REF_PREFIX}_")) {
                reserved.push(Refspec::Same(r.name.clone()));
            }
            continue;
        };
        match store.find_exact_ref(r.name.as_str())? {
            Some(ours) if ours == r.oid => {}
            Some(ours) => {
                return Err(Error::Differs {
                    remote: options.remote.clone(),
                    name: r.name.clone(),
                    theirs: r.oid,
                    ours,
                })
            }
            None => wanted.push(crate::admit::Wanted::listed(atom, r.oid)),
        }
    }
    // Under `atom.requireSignature`, each new atom must carry a signature that counts.
    let policy = crate::sign::Policy::from_config(store).map_err(fetch_err)?;
    let request = crate::admit::Request {
        wanted: &wanted,
        contents: crate::admit::Contents::Whole,
        listed: &listed,
        verbosity: options.verbosity,
        signatures: Some(&policy),
    };
    crate::admit::admit(store, &connection, &options.remote, &request).map_err(Box::new)?;
    if !reserved.is_empty() {
        store
            .fetch_refs(&options.remote, &reserved, options.verbosity)
            .map_err(fetch_err)?;
    }
    let updates: Vec<RefUpdate> = wanted
        .iter()
        .map(|w| RefUpdate::create(w.atom.name(), w.commit))
        .collect();
    if !updates.is_empty() {
        store.update_refs(&updates, "atom fetch")?;
    }
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
