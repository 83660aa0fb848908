//! Atomic numbers: the machine identity of an atom.
//!
//! An atom's id is a keyed BLAKE3 hash of its label, keyed by the repository's root commit:
//! `key = derive_key("AtomId", root commit id bytes)`, `id = keyed_hash(key, label)`. It is shown
//! in RFC 4648 base32 with the extended hex alphabet, lowercase, unpadded: 52 characters. The
//! version is not part of the id: the id names the (repository, label) pair.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::{Label, Oid};

/// The BLAKE3 key derivation context for atom ids.
pub const ID_CONTEXT: &str = "AtomId";

/// The repository's identity: the id of its root commit.
///
/// See the format specification (`docs/format.md`) for how the root is chosen when a history has
/// several parentless commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Root(pub Oid);

impl Root {
    /// The atomic number of `label` in this repository.
    pub fn atom_id(&self, label: &Label) -> AtomId {
        self.numbering().atom_id(label)
    }

    /// The key this root numbers atoms with, derived once for numbering many (deriving it is
    /// most of the cost of one atomic number).
    pub fn numbering(&self) -> Numbering {
        Numbering(blake3::derive_key(ID_CONTEXT, self.0.as_bytes()))
    }
}

/// The atomic numbers of one repository root (see [`Root::numbering`]).
#[derive(Debug, Clone)]
pub struct Numbering([u8; 32]);

impl Numbering {
    /// The atomic number of `label`: [`Root::atom_id`].
    pub fn atom_id(&self, label: &Label) -> AtomId {
        AtomId(*blake3::keyed_hash(&self.0, label.as_str().as_bytes()).as_bytes())
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An atomic number: 32 bytes, shown as 52 characters of lowercase base32hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomId([u8; 32]);

/// Why a string is not an atomic number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid atom id `{input}`: expected 52 characters of lowercase base32hex (0-9, a-v)")]
pub struct AtomIdError {
    /// The input as given.
    pub input: String,
}

fn encoding() -> &'static data_encoding::Encoding {
    static ENCODING: OnceLock<data_encoding::Encoding> = OnceLock::new();
    ENCODING.get_or_init(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("0123456789abcdefghijklmnopqrstuv");
        spec.check_trailing_bits = true;
        spec.encoding().expect("a valid base32hex specification")
    })
}

impl AtomId {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first `n` characters of the display form, for tables.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_string();
        s.truncate(n);
        s
    }

    /// The display form, written into `buf` without allocating (a table of many ids).
    pub fn encode_into<'b>(&self, buf: &'b mut [u8; ENCODED_LEN]) -> &'b str {
        encoding().encode_mut(&self.0, buf);
        // base32hex is ASCII.
        std::str::from_utf8(buf).expect("base32hex is ASCII")
    }
}

/// The length of an [`AtomId`]'s display form.
pub const ENCODED_LEN: usize = 52;

impl fmt::Display for AtomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encoding().encode(&self.0))
    }
}

impl fmt::Debug for AtomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AtomId({self})")
    }
}

impl FromStr for AtomId {
    type Err = AtomIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AtomIdError {
            input: s.escape_debug().to_string(),
        };
        let raw = encoding().decode(s.as_bytes()).map_err(|_| err())?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| err())?;
        Ok(AtomId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(root: &str, label: &str) -> String {
        Root(root.parse().unwrap())
            .atom_id(&label.parse().unwrap())
            .to_string()
    }

    #[test]
    fn prior_art_vector_nix_lock() {
        assert_eq!(
            id("4abbd2644bc3585e9be95deb277ccf48f6ed26ac", "nix-lock"),
            "r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm0"
        );
    }

    #[test]
    fn prior_art_vector_atom_nix() {
        assert_eq!(
            id("68b63bd131acd23bdfd57983fe85ba7c092ce02f", "atom-nix"),
            "r9ilp2p4bpkup8bejuqrg042m6ohc0rtcn2fks94otlrhnquhnv0"
        );
    }

    #[test]
    fn parse_accepts_only_32_bytes() {
        let s = "r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm0";
        assert_eq!(s.parse::<AtomId>().unwrap().to_string(), s);
        assert!(s[..51].parse::<AtomId>().is_err());
        assert!(format!("{s}0").parse::<AtomId>().is_err());
        assert!(s.to_uppercase().parse::<AtomId>().is_err());
        // The last character carries 4 bits of padding that must be zero.
        assert!("r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm1"
            .parse::<AtomId>()
            .is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in proptest::array::uniform32(any::<u8>())) {
            let id = AtomId(bytes);
            let shown = id.to_string();
            prop_assert_eq!(shown.len(), 52);
            prop_assert_eq!(shown.parse::<AtomId>().unwrap(), id);
        }
    }
}
