//! `git atom verify --locked`: every atom an `atom.lock` pins, checked at the commit and tree it
//! records. A fetched entry is checked where the lock says it lives (its `url`, else each of
//! its `mirrors`): one listing and one fetch per repository, into a scratch view; the remote's
//! ref for the atom must name the locked commit, the repository's root must be the locked root,
//! the commit's tree must be the locked tree, and the levels of [`super::verify_uri`] run on it.
//! A path entry (an atom of the locking atom's own repository) is checked against the working
//! tree, as `git atom resolve` locked it.

use std::collections::BTreeMap;

use super::{label_prefixes, run, Checked, Finding, Level, Options, Outcome, Roots};
use super::{Unverifiable, Verdict};
use crate::lock::{Lock, LockedAtom, Origin};
use crate::refs::{AtomRef, Refspec, EKA_ROOT_REF, ROOT_REF};
use crate::store::git::Filter;
use crate::store::RemoteRef;
use crate::uri::Address;
use crate::{list, Format, GitStore, Oid};

/// Verifies every atom `lock` pins: fetched ones from their repositories into scratch views of
/// `scratch`, path ones against the working tree of `local` (the repository of the locking
/// atom). One entry per atom, sorted by label and version.
pub fn verify_lock(
    scratch: &GitStore,
    local: Option<&GitStore>,
    lock: &Lock,
    options: &Options,
) -> Outcome {
    let mut outcome = Outcome::default();
    // By repository: its URL, and every mirror any entry of it gives.
    let mut repositories: BTreeMap<String, (Vec<Address>, Vec<&LockedAtom>)> = BTreeMap::new();
    for atom in &lock.atoms {
        match &atom.origin {
            Origin::Url { url, mirrors } => {
                let (addresses, atoms) = repositories.entry(url.git_url()).or_default();
                for address in std::iter::once(url).chain(mirrors) {
                    if !addresses.contains(address) {
                        addresses.push(address.clone());
                    }
                }
                atoms.push(atom);
            }
            Origin::Path { path } => outcome.atoms.push(path_entry(local, atom, path)),
        }
    }
    for (addresses, atoms) in repositories.into_values() {
        outcome
            .atoms
            .extend(repository(scratch, &addresses, &atoms, options));
    }
    outcome.atoms.sort_by(|a, b| {
        (a.atom.label.as_str(), &a.atom.version).cmp(&(b.atom.label.as_str(), &b.atom.version))
    });
    outcome
}

fn checked(atom: &LockedAtom, verdict: Verdict) -> Checked {
    Checked {
        atom: atom.atom_ref(),
        commit: atom.commit,
        source: None,
        verdict,
        levels: Vec::new(),
    }
}

fn not_locked(what: String, found: Option<Oid>, locked: Oid) -> Finding {
    Finding::NotLocked {
        what,
        found: found.map_or_else(|| "missing".to_owned(), |o| o.to_string()),
        locked,
    }
}

/// A path entry: the tree at its directory in the working tree (uncommitted changes included,
/// ignored files not, as `git atom resolve` locks it) must be the locked tree.
fn path_entry(local: Option<&GitStore>, atom: &LockedAtom, path: &str) -> Checked {
    let operation = "read the working tree";
    let verdict = match local.map(|store| store.working_tree_of(path)) {
        None => Verdict::Unverifiable(Unverifiable::store(operation, "not in a repository")),
        Some(Err(e)) => Verdict::Unverifiable(Unverifiable::store(operation, e)),
        Some(Ok(Some(tree))) if tree == atom.tree => Verdict::Verified,
        Some(Ok(found)) => Verdict::Failed(vec![not_locked(
            format!("the working tree's {path}"),
            found,
            atom.tree,
        )]),
    };
    checked(atom, verdict)
}

/// The atoms of one repository: one listing (from the first address that answers), the refs
/// and root compared with the lock, then one fetch of every atom that passed into a scratch
/// view and the levels run on it.
fn repository(
    scratch: &GitStore,
    addresses: &[Address],
    atoms: &[&LockedAtom],
    options: &Options,
) -> Vec<Checked> {
    let mut prefixes: Vec<String> = atoms
        .iter()
        .flat_map(|a| label_prefixes(&a.label))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let mut failures = Vec::new();
    let listed = addresses.iter().find_map(|address| {
        match scratch.list_remote(&address.git_url(), &prefixes) {
            Ok(refs) => Some((address, refs)),
            Err(e) => {
                failures.push(format!("{}: {e}", address.redacted()));
                None
            }
        }
    });
    let Some((address, refs)) = listed else {
        let why = Unverifiable::store("list the repository", failures.join("; "));
        return atoms
            .iter()
            .map(|a| checked(a, Verdict::Unverifiable(why.clone())))
            .collect();
    };
    let find = |name: &str| refs.iter().find(|r| r.name == name).map(RemoteRef::target);
    let (atom1, eka, _) = list::roots(find(ROOT_REF), find(EKA_ROOT_REF), None);
    let roots = Roots {
        atom1: atom1.map(|r| r.0),
        eka: eka.map(|r| r.0),
        remote_listed: true,
    };
    let mut out = Vec::new();
    let mut wanted: Vec<&LockedAtom> = Vec::new();
    for atom in atoms {
        let name = atom.atom_ref().name();
        let mut findings = Vec::new();
        let found = find(name.as_str());
        if found != Some(atom.commit) {
            findings.push(not_locked(
                format!("the remote's {name}"),
                found,
                atom.commit,
            ));
        }
        let root = match atom.format {
            Format::Atom1 => roots.atom1,
            Format::EkaPre1 => roots.eka,
        };
        if root != Some(atom.root) {
            let what = format!("the remote's {}", atom.format.root_ref());
            findings.push(not_locked(what, root, atom.root));
        }
        if findings.is_empty() {
            wanted.push(atom);
        } else {
            out.push(checked(atom, Verdict::Failed(findings)));
        }
    }
    out.extend(fetch_and_check(
        scratch, address, &refs, &wanted, roots, options,
    ));
    out
}

/// Fetches `atoms` (whose refs name their locked commits) from `address` in one fetch and runs
/// the levels, then compares each commit's tree with the locked tree.
fn fetch_and_check(
    scratch: &GitStore,
    address: &Address,
    listed: &[RemoteRef],
    atoms: &[&LockedAtom],
    roots: Roots,
    options: &Options,
) -> Vec<Checked> {
    if atoms.is_empty() {
        return Vec::new();
    }
    let pairs: Vec<(AtomRef, Oid)> = atoms.iter().map(|a| (a.atom_ref(), a.commit)).collect();
    let mut wants: Vec<Refspec> = pairs
        .iter()
        .map(|(r, _)| Refspec::Objects(r.name()))
        .collect();
    if options.signed {
        for (atom, _) in &pairs {
            wants.push(Refspec::Mirror(crate::sign::check::sig_dir(atom)));
        }
        wants.push(Refspec::Mirror(crate::sign::check::revoked_dir()));
    }
    let url = address.git_url();
    let all = |why: Unverifiable| {
        atoms
            .iter()
            .map(|a| checked(a, Verdict::Unverifiable(why.clone())))
            .collect()
    };
    let quarantine =
        match scratch.fetch_scratch(&url, &wants, Filter::Everything, options.verbosity) {
            Ok(q) => q,
            Err(e) => {
                return all(Unverifiable::Fetch {
                    level: Level::Structure,
                    remote: address.redacted(),
                    error: e.to_string(),
                })
            }
        };
    let view = match quarantine.store() {
        Ok(v) => v,
        Err(e) => return all(Unverifiable::store("open the fetched objects", e)),
    };
    // eka's atoms are checked against their metadata refs, which the listing has: fetched
    // apart, trees only (they name the source commit), thrown away.
    let refs: Vec<AtomRef> = pairs.iter().map(|(a, _)| a.clone()).collect();
    let meta_refs = super::eka_meta_refspecs(listed, &refs);
    let meta = if meta_refs.is_empty() {
        None
    } else {
        match scratch.fetch_scratch(&url, &meta_refs, Filter::Trees, options.verbosity) {
            Ok(q) => Some(q),
            Err(e) => {
                return all(Unverifiable::Fetch {
                    level: Level::Structure,
                    remote: address.redacted(),
                    error: e.to_string(),
                })
            }
        }
    };
    let meta_view = match meta.as_ref().map(|q| q.store()).transpose() {
        Ok(v) => v,
        Err(e) => return all(Unverifiable::store("open the fetched metadata refs", e)),
    };
    let mut outcome = run(
        &view,
        pairs,
        roots,
        Some(&url),
        options,
        Level::Signature,
        meta_view.as_ref(),
    );
    for c in &mut outcome.atoms {
        let Some(atom) = atoms.iter().find(|a| a.commit == c.commit) else {
            continue;
        };
        let Ok((tree, _)) = view.commit_tree_and_parents(c.commit) else {
            continue; // The structure level said so.
        };
        if tree == atom.tree {
            continue;
        }
        let finding = not_locked("the tree of the commit".to_owned(), Some(tree), atom.tree);
        match &mut c.verdict {
            Verdict::Failed(findings) => findings.push(finding),
            verdict => *verdict = Verdict::Failed(vec![finding]),
        }
    }
    outcome.atoms
}
