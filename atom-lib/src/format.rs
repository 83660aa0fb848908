//! The atom formats this crate knows, and where each keeps its atoms and its root ref (the
//! rest of the ref namespace is [`crate::refs`]'s).

use std::fmt;

/// Where atom refs live.
pub const ATOM_REF_PREFIX: &str = "refs/atoms/";
/// The ref naming the repository's root commit (its identity), next to the atoms.
pub const ROOT_REF: &str = "refs/atoms/_root";
/// The configuration key an atom clone records its publisher's root under (`git clone
/// atom::<uri>` writes it into the clone's own configuration): the clone holds the atom commit
/// alone, not the publisher's history, so it cannot point [`ROOT_REF`] at a commit it has.
pub const RECORDED_ROOT_KEY: &str = "atom.root";
/// Where the eka tool's atom refs live.
pub const EKA_ATOM_REF_PREFIX: &str = "refs/eka/atoms/";
/// The eka tool's root ref.
pub const EKA_ROOT_REF: &str = "refs/ekala/init";

/// A known atom format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// This suite's format, version 1 (`refs/atoms/`).
    Atom1,
    /// The eka tool's format `pre1` (`refs/eka/atoms/`).
    EkaPre1,
}

impl Format {
    /// The name shown to users and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Format::Atom1 => "atom/1",
            Format::EkaPre1 => "eka/pre1",
        }
    }

    /// The ref prefix its atoms live under.
    pub fn ref_prefix(self) -> &'static str {
        match self {
            Format::Atom1 => ATOM_REF_PREFIX,
            Format::EkaPre1 => EKA_ATOM_REF_PREFIX,
        }
    }

    /// The ref naming the repository root for this format.
    pub fn root_ref(self) -> &'static str {
        match self {
            Format::Atom1 => ROOT_REF,
            Format::EkaPre1 => EKA_ROOT_REF,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
