//! Fetching what the cache lacks: locked atoms, pins' and git sources' commits, and fetched
//! atoms' path sources, each admitted through `atom_lib::admit`.

use std::collections::BTreeMap;

use atom_lib::admit;
use atom_lib::lock::{LockedAtom, Origin as LockOrigin, PathObject, SrcSource};
use atom_lib::resolve::pins::{self, Entry};
use atom_lib::store::git::Verbosity;
use atom_lib::{GitStore, Lock, Oid};

use super::error::Error;
use super::subject::{Home, Subject};

impl Subject {
    /// Fetch into the cache the trees and blobs of fetched atoms' path sources that it lacks,
    /// by id from their atoms' repositories (one fetch per repository, its URL then its
    /// mirrors), admitted by id ([`admit::objects`]). Objects are named by their hashes, so
    /// what arrives is what the lock pins, or it is not there.
    pub(super) fn fetch_path_sources(&self, cache: &GitStore, lock: &Lock) -> Result<(), Error> {
        // Per repository: where, and each object with `tree <id>`/`blob <id>` and its source.
        type Wanted = (Home, Vec<(Oid, String, Entry)>);
        let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
        for src in &lock.srcs {
            let SrcSource::Path { object, .. } = &src.source else {
                continue;
            };
            let Some(home) = self.home_of(lock, src) else {
                continue;
            };
            let (oid, kind) = match object {
                PathObject::Tree(t) => (*t, format!("tree {t}")),
                PathObject::Blob(b) => (*b, format!("blob {b}")),
            };
            if cache.has_object(oid) {
                continue;
            }
            let what = Entry::src(&src.name, src.owner.as_ref());
            wanted
                .entry(home.shown.clone())
                .or_insert_with(|| (home, Vec::new()))
                .1
                .push((oid, kind, what));
        }
        for (home, objects) in wanted.values() {
            let wants: Vec<Oid> = objects.iter().map(|(oid, ..)| *oid).collect();
            let (_, first_kind, first_what) = &objects[0];
            let failed = |reason: String| Error::PathSourceFetch {
                what: first_what.clone(),
                object: first_kind.clone(),
                url: home.shown.clone(),
                reason,
            };
            let mut reasons = Vec::new();
            let mut admitted = false;
            for url in &home.urls {
                let _span = tracing::info_span!("fetch path sources", url = %home.shown).entered();
                let attempt = cache
                    .connect(url)
                    .map_err(|source| admit::ObjectsError::Transfer {
                        what: first_kind.clone(),
                        remote: home.shown.clone(),
                        source,
                    })
                    .and_then(|connection| {
                        admit::objects(
                            cache,
                            &connection,
                            &home.shown,
                            &wants,
                            atom_lib::store::git::Filter::Everything,
                        )
                    });
                match attempt {
                    Ok(()) => {
                        admitted = true;
                        break;
                    }
                    Err(admit::ObjectsError::NotSent { oid, .. }) => {
                        let (_, kind, what) = objects
                            .iter()
                            .find(|(o, ..)| *o == oid)
                            .unwrap_or(&objects[0]);
                        return Err(Error::PathSourceFetch {
                            what: what.clone(),
                            object: kind.clone(),
                            url: home.shown.clone(),
                            reason: "the repository did not send it".into(),
                        });
                    }
                    Err(e) => reasons.push(atom_lib::error_chain(&e)),
                }
            }
            if !admitted {
                return Err(failed(reasons.join("; ")));
            }
        }
        Ok(())
    }
}

/// The tree of commit `rev` of `git`, fetched into the cache first if missing.
pub(super) fn git_tree(
    cache: &GitStore,
    git: &atom_lib::uri::Address,
    rev: Oid,
    what: &Entry,
) -> Result<Oid, Error> {
    pins::fetch_commit(cache, git, rev, what)?;
    let (tree, _) = cache
        .commit_tree_and_parents(rev)
        .map_err(|source| Error::Store {
            what: what.to_string(),
            source,
        })?;
    Ok(tree)
}

/// Fetch the locked atoms the cache lacks: one fetch per repository, from its URL, else each of
/// its mirrors in turn. Siblings (path entries) are left to the caller: they are in the atom's
/// own repository.
pub(super) fn fetch_missing(cache: &GitStore, deps: &[&LockedAtom]) -> Result<(), Error> {
    // By the address written in the lock: every address to try, the one to show, the atoms.
    type Batch = (Vec<String>, String, Vec<admit::Wanted>);
    let mut by_repo: BTreeMap<String, Batch> = BTreeMap::new();
    for locked in deps.iter().filter(|a| !cache.has_object(a.commit)) {
        // A sibling comes from the atom's own repository, not from the cache.
        let LockOrigin::Url { url, mirrors } = &locked.origin else {
            continue;
        };
        let entry = by_repo.entry(url.to_string()).or_insert_with(|| {
            let mut urls = vec![url.git_url()];
            urls.extend(mirrors.iter().map(|m| m.git_url()));
            (urls, url.redacted(), Vec::new())
        });
        entry.2.push(admit::Wanted {
            atom: locked.atom_ref(),
            commit: locked.commit,
            tree: Some(locked.tree),
        });
    }
    for (urls, shown, atoms) in by_repo.values() {
        fetch(cache, urls, shown, atoms)?;
    }
    Ok(())
}

/// Admit `atoms` (the commits and trees a lock records) from the first of `urls` that can
/// be reached: each is checked before anything enters the cache.
fn fetch(
    cache: &GitStore,
    urls: &[String],
    shown: &str,
    atoms: &[admit::Wanted],
) -> Result<(), Error> {
    let policy = super::subject::policy(cache)?;
    let request = admit::Request {
        wanted: atoms,
        signatures: Some(&policy),
        contents: admit::Contents::Whole,
        listed: &[],
        verbosity: Verbosity::default(),
    };
    let _span = tracing::info_span!("fetch", url = %shown, atoms = atoms.len()).entered();
    admit::admit_any(cache, urls, shown, &request).map_err(|e| Error::Admit(Box::new(e)))?;
    Ok(())
}
