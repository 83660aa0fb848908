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

    /// The format [`Format::name`] shows as `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Atom1, Format::EkaPre1]
            .into_iter()
            .find(|f| f.name() == name)
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

/// A generation of the eka tool's atoms that a ref listing recognises but this suite does not
/// read: listed for what it is, never resolved, fetched or evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unsupported {
    /// The eka tool's first generation: `refs/atoms/<label>/<version>` (this suite's layout) on
    /// a commit with headers `src`, `path` and `format 1`, told apart in a listing by its
    /// metadata refs `refs/atoms/<label>/_specs/<version>` and `.../_srcs/<version>`
    /// ([`EKA1_META`]).
    Eka1,
}

/// The metadata refs of the eka tool's first generation, under
/// `refs/atoms/<label>/<kind>/<version>`.
pub const EKA1_META: [&str; 2] = ["_specs", "_srcs"];

impl Unsupported {
    /// The name shown to users and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Unsupported::Eka1 => "eka/1",
        }
    }

    /// What it is, for a message: "the eka tool's first format (eka/1)".
    pub fn describe(self) -> &'static str {
        match self {
            Unsupported::Eka1 => "the eka tool's first format (eka/1)",
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
