//! A lock that proves itself: every entry of an `atom.lock` is checked against what it names
//! before the lock is used or called current (`docs/lock.md`, "What a lock proves").
//!
//! For every atom fetched from a repository (not a path of the locking atom's own):
//!
//! 1. its atomic number is the one its root and label give;
//! 2. its commit passes admission ([`crate::admit`]) from the lock's URL or mirrors: a
//!    well-formed atom commit for exactly that label and version, whose tree is the tree at
//!    its path in its source commit, and whose tree is the entry's;
//! 3. an atom another locked atom requires is exactly what the requirer's own `atom.lock`
//!    (inside the requirer's checked tree) says for that name: same atomic number, version,
//!    root, commit and tree;
//! 4. the pins and sources a dependency owns are the ones its own lock records for itself.
//!
//! A hand-edited lock fails here with the entry named; nothing is written but the admitted
//! objects of genuine atoms.

use std::collections::BTreeMap;
use std::fmt;

use crate::admit::{self, Contents, Wanted};
use crate::lock::{sibling_requirement, AtomKey, LockedAtom, Origin, LOCK_FILE};
use crate::manifest::{Dep, Manifest, Name, MANIFEST_FILE};
use crate::store::git::Verbosity;
use crate::store::EntryKind;
use crate::uri::Requirement;
use crate::{GitStore, Lock, Oid, Root, StoreError};

/// What is wrong with one entry of a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The atomic number is not the one the root and label give.
    Id {
        /// The number the root and label give.
        expected: String,
    },
    /// The commit is not an atom commit for the entry's label and version.
    NotTheAtom {
        /// What the structure check found.
        findings: Vec<String>,
    },
    /// The requirer's own lock records another atom under that name.
    NotTheRequirers {
        /// The requiring atom.
        requirer: AtomKey,
        /// The name it requires the atom by.
        name: Name,
        /// What the requirer's lock says, as `<key> commit <id> tree <id>`, or why it says
        /// nothing.
        says: String,
    },
    /// A pin or source a dependency owns is not the one its own lock records.
    NotTheOwners {
        /// `pins` or `srcs`.
        section: &'static str,
        /// Its name.
        name: Name,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Id { expected } => write!(
                f,
                "its atomic number is not the one its root and label give ({expected})"
            ),
            Problem::NotTheAtom { findings } => {
                write!(f, "its commit is not this atom: {}", findings.join("; "))
            }
            Problem::NotTheRequirers {
                requirer,
                name,
                says,
            } => write!(
                f,
                "{requirer} requires it as `{name}`, and {requirer}'s own atom.lock says {says}"
            ),
            Problem::NotTheOwners { section, name } => write!(
                f,
                "`{section}.{name}` is not what the owner's own atom.lock records"
            ),
        }
    }
}

/// Why a lock does not prove itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An entry does not hold.
    #[error("{lock}: the entry {entry} does not hold: {problem}; run `git atom resolve` to lock what the manifest asks for")]
    Entry {
        /// The lock, as shown.
        lock: String,
        /// The entry, `label@version (<key>)`.
        entry: String,
        /// What is wrong.
        problem: Box<Problem>,
    },
    /// An entry's atom failed admission, or could not be fetched.
    #[error("{lock}: the entry {entry}")]
    Admit {
        /// The lock, as shown.
        lock: String,
        /// The entry.
        entry: String,
        /// Why.
        #[source]
        source: Box<admit::Error>,
    },
    /// The offline proof lacks an entry's atom.
    #[error("{lock}: the entry {entry} is not in the atom index and --offline was given: run it once online")]
    Missing {
        /// The lock, as shown.
        lock: String,
        /// The entry.
        entry: String,
    },
    /// The store failed.
    #[error("{lock}: cannot read the entry {entry}")]
    Store {
        /// The lock, as shown.
        lock: String,
        /// The entry.
        entry: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
}

/// How a lock is proved.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The lock, as messages name it.
    pub lock: &'a str,
    /// What of each atom `store` holds (the index: manifests; the atom cache: whole atoms).
    pub contents: Contents,
    /// Fetch nothing: every atom must be in `store` already.
    pub offline: bool,
    /// The signature policy every fetched entry's atom is checked under (see
    /// [`admit::Request::signatures`]).
    pub signatures: Option<&'a crate::sign::Policy>,
}

/// `label@version (<key>)`.
fn shown(atom: &LockedAtom) -> String {
    format!("{}@{} ({})", atom.label, atom.version, atom.key())
}

/// Proves `lock` with the atoms in `store`, admitting into it those it lacks (unless offline).
pub fn prove(store: &GitStore, lock: &Lock, options: &Options<'_>) -> Result<(), Error> {
    let fetched: Vec<&LockedAtom> = lock
        .atoms
        .iter()
        .filter(|a| matches!(a.origin, Origin::Url { .. }))
        .collect();
    let entry_err = |atom: &LockedAtom, problem| Error::Entry {
        lock: options.lock.to_owned(),
        entry: shown(atom),
        problem: Box::new(problem),
    };
    for atom in &fetched {
        let expected = Root(atom.root).atom_id(&atom.label);
        if expected != atom.id {
            return Err(entry_err(
                atom,
                Problem::Id {
                    expected: expected.to_string(),
                },
            ));
        }
    }
    admit_all(store, &fetched, options)?;
    for atom in &fetched {
        let findings = crate::resolve::check_structure(store, &atom.atom_ref(), atom.commit);
        if !findings.is_empty() {
            return Err(entry_err(atom, Problem::NotTheAtom { findings }));
        }
    }
    let by_key: BTreeMap<AtomKey, &LockedAtom> = lock.atoms.iter().map(|a| (a.key(), a)).collect();
    for requirer in &fetched {
        if requirer.requires.is_empty()
            && !lock
                .pins
                .iter()
                .any(|p| p.owner.as_ref() == Some(&requirer.key()))
            && !lock
                .srcs
                .iter()
                .any(|s| s.owner.as_ref() == Some(&requirer.key()))
        {
            continue;
        }
        let own = own_lock(store, requirer).map_err(|source| Error::Store {
            lock: options.lock.to_owned(),
            entry: shown(requirer),
            source,
        })?;
        let manifest = own_manifest(store, requirer).map_err(|source| Error::Store {
            lock: options.lock.to_owned(),
            entry: shown(requirer),
            source,
        })?;
        for (name, key) in &requirer.requires {
            let Some(ours) = by_key.get(key) else {
                continue; // `Lock::check` names a dangling key.
            };
            let allowed = manifest.as_ref().and_then(|m| match m.deps.get(name) {
                Some(Dep::Atom(dep)) => Some(&dep.version),
                _ => None,
            });
            if let Some(says) = disagreement(own.as_ref(), allowed, name, ours) {
                return Err(entry_err(
                    ours,
                    Problem::NotTheRequirers {
                        requirer: requirer.key(),
                        name: name.clone(),
                        says,
                    },
                ));
            }
        }
        let key = Some(requirer.key());
        for pin in lock.pins.iter().filter(|p| p.owner == key) {
            let theirs = own.as_ref().and_then(|l| {
                l.pins
                    .iter()
                    .find(|p| p.owner.is_none() && p.name == pin.name)
            });
            if theirs.is_none_or(|t| t.source != pin.source || t.entry != pin.entry) {
                return Err(entry_err(
                    requirer,
                    Problem::NotTheOwners {
                        section: "pins",
                        name: pin.name.clone(),
                    },
                ));
            }
        }
        for src in lock.srcs.iter().filter(|s| s.owner == key) {
            let theirs = own.as_ref().and_then(|l| {
                l.srcs
                    .iter()
                    .find(|s| s.owner.is_none() && s.name == src.name)
            });
            if theirs.is_none_or(|t| t.source != src.source) {
                return Err(entry_err(
                    requirer,
                    Problem::NotTheOwners {
                        section: "srcs",
                        name: src.name.clone(),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Admits every fetched atom of the lock (grouped by repository, from its URL then its
/// mirrors), each at the commit and tree the lock records.
fn admit_all(store: &GitStore, atoms: &[&LockedAtom], options: &Options<'_>) -> Result<(), Error> {
    type Batch<'a> = (Vec<String>, String, Vec<(Wanted, &'a LockedAtom)>);
    let mut by_repo: BTreeMap<String, Batch<'_>> = BTreeMap::new();
    for atom in atoms {
        let Origin::Url { url, mirrors } = &atom.origin else {
            continue;
        };
        if options.offline && !store.has_object(atom.commit) {
            return Err(Error::Missing {
                lock: options.lock.to_owned(),
                entry: shown(atom),
            });
        }
        let batch = by_repo.entry(url.to_string()).or_insert_with(|| {
            let mut urls = vec![url.git_url()];
            urls.extend(mirrors.iter().map(|m| m.git_url()));
            (urls, url.redacted(), Vec::new())
        });
        batch.2.push((
            Wanted {
                atom: atom.atom_ref(),
                commit: atom.commit,
                tree: Some(atom.tree),
            },
            atom,
        ));
    }
    for (urls, remote, batch) in by_repo.values() {
        let wanted: Vec<Wanted> = batch.iter().map(|(w, _)| w.clone()).collect();
        let request = admit::Request {
            wanted: &wanted,
            contents: options.contents,
            listed: &[],
            verbosity: Verbosity::default(),
            signatures: options.signatures,
        };
        let result = if options.offline {
            // Everything is here: only the locked trees are checked.
            let connection_free = admit::check_held(store, remote, &wanted, options.signatures);
            connection_free.map(drop)
        } else {
            admit::admit_any(store, urls, remote, &request).map(drop)
        };
        result.map_err(|source| {
            let atom = source
                .refusal()
                .and_then(|r| batch.iter().find(|(w, _)| w.commit == r.commit))
                .map_or(batch[0].1, |(_, a)| *a);
            Error::Admit {
                lock: options.lock.to_owned(),
                entry: shown(atom),
                source: Box::new(source),
            }
        })?;
    }
    Ok(())
}

/// The file `name` at the top of `atom`'s tree, with how to name it in errors
/// (`<label>@<version>:<name>`); `None` when there is no such file.
fn own_file(
    store: &GitStore,
    atom: &LockedAtom,
    name: &str,
) -> Result<Option<(Vec<u8>, String)>, StoreError> {
    let Some(entry) = store
        .tree_entries(atom.tree)?
        .into_iter()
        .find(|e| e.name == name.as_bytes() && e.kind == EntryKind::Blob)
    else {
        return Ok(None);
    };
    let shown = format!("{}@{}:{name}", atom.label, atom.version);
    Ok(Some((store.read_blob(entry.oid)?, shown)))
}

/// The `atom.toml` in `atom`'s tree, if it has a readable one (`git atom tree` reads the
/// requirements a dependency states with it).
pub fn own_manifest(store: &GitStore, atom: &LockedAtom) -> Result<Option<Manifest>, StoreError> {
    Ok(own_file(store, atom, MANIFEST_FILE)?
        .and_then(|(bytes, shown)| Manifest::parse(&bytes, &shown).ok()))
}

/// The `atom.lock` in `atom`'s tree, if it has a readable one.
fn own_lock(store: &GitStore, atom: &LockedAtom) -> Result<Option<Lock>, StoreError> {
    Ok(own_file(store, atom, LOCK_FILE)?
        .and_then(|(bytes, shown)| Lock::parse(&bytes, &shown).ok()))
}

/// What the requirer's own lock says for `name`, when it is not `ours`; `None` when it agrees.
/// `allowed` is the requirement the requirer's manifest states for `name`.
fn disagreement(
    own: Option<&Lock>,
    allowed: Option<&Requirement>,
    name: &Name,
    ours: &LockedAtom,
) -> Option<String> {
    let Some(own) = own else {
        return Some("nothing (it has no readable atom.lock)".to_owned());
    };
    let Some(theirs) = own.requires.get(name).and_then(|k| own.atom(k)) else {
        return Some(format!("nothing for `{name}`"));
    };
    let same = match theirs.origin {
        // A sibling of the requirer's repository, locked by path: published apart from it, so
        // its atom commit differs; the consumer's entry is that atom or a later compatible
        // version of it (docs/lock.md, "Path dependencies"), with the locked tree if the same.
        Origin::Path { .. } => {
            theirs.id == ours.id
                && theirs.root == ours.root
                && sibling_requirement(&theirs.version).matches(&ours.version)
                && (theirs.version != ours.version || theirs.tree == ours.tree)
        }
        // The atom the requirer locked, or another version of it its manifest allows (a
        // consumer moved it with `--update`; item 2 proved that version is the atom).
        Origin::Url { .. } => {
            theirs.id == ours.id
                && theirs.root == ours.root
                && if theirs.version == ours.version {
                    theirs.commit == ours.commit && theirs.tree == ours.tree
                } else {
                    allowed.is_some_and(|r| r.matches(&ours.version))
                }
        }
    };
    (!same).then(|| {
        format!(
            "{} commit {} tree {}",
            theirs.key(),
            short(theirs.commit),
            short(theirs.tree)
        )
    })
}

fn short(oid: Oid) -> String {
    oid.short(12).to_string()
}
