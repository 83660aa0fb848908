//! The ancestry level: the source descends from the repository root by first parents (check 8),
//! and what that root is.

use std::collections::{HashMap, HashSet};

use super::findings::{Finding, Level, Unverifiable};
use super::work::Work;
use crate::format::Format;
use crate::refs::{AtomRef, EKA_ROOT_REF, ROOT_REF};
use crate::{GitStore, Oid, StoreError};

/// What the repository root is, per format, and where that came from.
#[derive(Debug, Clone, Default)]
pub(super) struct Roots {
    /// `refs/atoms/_root` (or the root of `HEAD`).
    pub(super) atom1: Option<Oid>,
    /// `refs/ekala/init` (or the format-1 root, or the root of `HEAD`).
    pub(super) eka: Option<Oid>,
    /// Whether the remote's listing was asked already.
    pub(super) remote_listed: bool,
}

impl Roots {
    /// The local identity refs; failing those, the first-parent root of `HEAD`, unless `HEAD`
    /// is itself one of the atoms (in a clone it is, and its root would be itself).
    pub(super) fn local(store: &GitStore, atoms: &[(AtomRef, Oid)]) -> Result<Self, StoreError> {
        let atom1 = store.find_ref(&crate::refs::RefName::root())?;
        let eka = store.find_ref(&crate::refs::RefName::eka_root())?;
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

    pub(super) fn get(&self, format: Format) -> Option<Oid> {
        match format {
            Format::Atom1 => self.atom1,
            Format::EkaPre1 => self.eka,
        }
    }

    /// Fills what is unknown from the remote's identity refs.
    pub(super) fn fill_from_remote(&mut self, store: &GitStore, remote: &str) {
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

/// Remembers which commits are known to reach which root by first parents, so that atoms
/// published from the same history walk it once between them. Every [`Walker::EVERY`]th commit
/// of a walk is remembered (a checkpoint): a later walk joining the same chain stops at most
/// that many commits after joining it, and memory stays a fraction of the history's length.
#[derive(Debug, Default)]
pub(super) struct Walker {
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
pub(super) fn ancestry_level(
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
        // A shallow clone's history stops short of the root: not here, like a missing commit.
        Err(StoreError::Missing { oid } | StoreError::Shallow { commit: oid }) => {
            return Err(missing(oid))
        }
        Err(e) => w.findings.push(Finding::BadSource {
            source_commit: source,
            error: e.to_string(),
        }),
    }
    w.levels.push(Level::Ancestry);
    Ok(())
}
