//! What a resolution takes: its options, which locked versions may move, and the repository a
//! path dependency is read from. Below [`super::graph`] and [`super::pins`], which both use them.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::Name;
use crate::uri::Address;
use crate::GitStore;

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
    /// Only these direct dependencies (and what they alone bring) move.
    Names(BTreeSet<Name>),
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
