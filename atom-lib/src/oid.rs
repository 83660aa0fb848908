//! Git object ids as a domain type, independent of the git library in use.

use std::fmt;
use std::str::FromStr;

/// A git object id: 20 bytes (SHA-1) or 32 bytes (SHA-256).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid {
    bytes: [u8; 32],
    len: u8,
}

/// Why a string or byte slice is not an object id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object id `{input}`: expected 40 or 64 hexadecimal digits")]
pub struct OidError {
    /// The input as given.
    pub input: String,
}

impl Oid {
    /// An id from its raw bytes (20 or 32 of them).
    pub fn from_bytes(raw: &[u8]) -> Result<Self, OidError> {
        if raw.len() != 20 && raw.len() != 32 {
            return Err(OidError {
                input: format!("<{} bytes>", raw.len()),
            });
        }
        let mut bytes = [0; 32];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Oid {
            bytes,
            len: raw.len() as u8,
        })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The full lowercase hexadecimal form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The first `n` hexadecimal digits.
    pub fn short(&self, n: usize) -> String {
        let mut hex = self.to_hex();
        hex.truncate(n);
        hex
    }
}

impl FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || OidError {
            input: s.escape_debug().to_string(),
        };
        if (s.len() != 40 && s.len() != 64)
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        let raw: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| err()))
            .collect::<Result<_, _>>()?;
        Oid::from_bytes(&raw)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let hex = "4abbd2644bc3585e9be95deb277ccf48f6ed26ac";
        let oid: Oid = hex.parse().unwrap();
        assert_eq!(oid.as_bytes().len(), 20);
        assert_eq!(oid.to_string(), hex);
        assert_eq!(oid.short(7), "4abbd26");
        assert!("4ABBD2644BC3585E9BE95DEB277CCF48F6ED26AC"
            .parse::<Oid>()
            .is_err());
        assert!("4abbd26".parse::<Oid>().is_err());
        assert!("zz".repeat(20).parse::<Oid>().is_err());
    }
}
