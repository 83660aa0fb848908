//! What a resolution takes: its options, which locked versions may move, and the repository a
//! path dependency is read from. Below [`super::graph`] and [`super::pins`], which both use them.

use std::collections::{BTreeMap, BTreeSet};

use crate::lock::AtomKey;
use crate::manifest::Name;
use crate::uri::Address;
use crate::{AtomId, GitStore};

/// How to resolve.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which locked versions may move to the newest matching ones.
    pub update: Update,
    /// Extra addresses for repositories, by the address written in manifests
    /// (`git config atom.mirror.<url> <other-url>`).
    pub mirrors: BTreeMap<String, Vec<Address>>,
    /// Use only what the index holds: no listing, no fetch. The candidates of a repository are
    /// the atoms earlier resolutions recorded for any of its addresses.
    pub offline: bool,
    /// The signature policy every fetched candidate is admitted under: under one that
    /// requires signatures (`atom.requireSignature`), an unsigned version is refused, not
    /// locked.
    pub signatures: Option<crate::sign::Policy>,
}

/// Which dependencies may move away from their locked versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Update {
    /// None: a locked version that still matches stays.
    #[default]
    Nothing,
    /// Every dependency moves to the newest matching version.
    All,
    /// Only what the selection names moves.
    Names(Selection),
}

/// What `--update <name>...` names: any name of the manifest or of the existing lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The locking atom's own `deps.<name>`, `pins.<name>` and `srcs.<name>`: a dependency
    /// moves with what it alone brings; a pin or source is resolved again.
    pub direct: BTreeSet<Name>,
    /// Atoms of the lock, by atomic number (a transitive dependency named by its label or by
    /// the name a dependent requires it as): each moves alone, to the newest version every
    /// requirement on it allows; what it requires keeps its locked version where it still
    /// matches.
    pub atoms: BTreeSet<AtomId>,
    /// Pins and sources a dependency owns, by owner and name: a path dependency's are resolved
    /// again (a fetched dependency's are its own lock's, and move only with it).
    pub owned: BTreeSet<(AtomKey, Name)>,
}

impl Update {
    /// Whether the atom `id`, wherever it is required, may move away from its locked version.
    pub fn moves_atom(&self, id: AtomId) -> bool {
        match self {
            Update::Nothing => false,
            Update::All => true,
            Update::Names(selection) => selection.atoms.contains(&id),
        }
    }

    /// Whether the pin or source `name` of `owner` (`None`: the locking atom) is resolved again.
    pub fn moves_entry(&self, owner: Option<&AtomKey>, name: &Name) -> bool {
        match (self, owner) {
            (Update::Nothing, _) => false,
            (Update::All, _) => true,
            (Update::Names(s), None) => s.direct.contains(name),
            (Update::Names(s), Some(owner)) => s.owned.contains(&(owner.clone(), name.clone())),
        }
    }
}

/// The repository the resolved atom lives in, for its path dependencies: they are read from its
/// working tree, as they will be committed.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// The repository.
    pub store: &'a GitStore,
    /// The atom's directory, relative to the repository's root.
    pub atom_dir: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_moves_exactly_what_it_names() {
        let name = |s: &str| Name::new(s).unwrap();
        let id = |label: &str| {
            crate::Root("1".repeat(40).parse().unwrap()).atom_id(&label.parse().unwrap())
        };
        let key = AtomKey {
            id: id("greet"),
            version: "1.0.0".parse().unwrap(),
        };
        let selection = Selection {
            direct: [name("pkgs")].into(),
            atoms: [id("strings")].into(),
            owned: [(key.clone(), name("lib"))].into(),
        };
        let update = Update::Names(selection);
        assert!(update.moves_atom(id("strings")));
        assert!(!update.moves_atom(id("greet")));
        assert!(update.moves_entry(None, &name("pkgs")));
        assert!(!update.moves_entry(None, &name("lib")));
        assert!(update.moves_entry(Some(&key), &name("lib")));
        assert!(!update.moves_entry(Some(&key), &name("pkgs")));
        assert!(
            Update::All.moves_atom(id("greet")) && Update::All.moves_entry(Some(&key), &name("x"))
        );
        assert!(!Update::Nothing.moves_atom(id("strings")));
        assert!(!Update::Nothing.moves_entry(None, &name("pkgs")));
    }
}
