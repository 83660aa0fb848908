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

    /// An id from its full lowercase hexadecimal form (40 or 64 digits), as bytes; `None` for
    /// anything else.
    pub fn from_hex(hex: &[u8]) -> Option<Self> {
        // Each byte's value as a digit, or 0xff: one lookup per digit, one check per id.
        const NIBBLE: [u8; 256] = {
            let mut table = [0xff; 256];
            let mut i = 0;
            while i < 10 {
                table[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                table[b'a' as usize + i] = 10 + i as u8;
                i += 1;
            }
            table
        };
        if hex.len() != 40 && hex.len() != 64 {
            return None;
        }
        let mut bytes = [0; 32];
        let mut bad = 0;
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let (high, low) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
            bad |= high | low;
            *byte = high << 4 | low;
        }
        if bad & 0xf0 != 0 {
            return None;
        }
        Some(Oid {
            bytes,
            len: (hex.len() / 2) as u8,
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
        Oid::from_hex(s.as_bytes()).ok_or_else(err)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, b) in hex.chunks_exact_mut(2).zip(self.as_bytes()) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0xf)];
        }
        let hex = &hex[..self.as_bytes().len() * 2];
        f.write_str(std::str::from_utf8(hex).expect("hexadecimal digits are ASCII"))
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

    /// Both hash lengths, every digit, and what is not a full lowercase id.
    #[test]
    fn hex_is_decoded_exactly() {
        let long = "0123456789abcdef".repeat(4);
        let oid = Oid::from_hex(long.as_bytes()).unwrap();
        assert_eq!(oid.as_bytes().len(), 32);
        assert_eq!(
            oid.as_bytes()[..8],
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        );
        assert_eq!(oid.to_string(), long);
        assert_eq!(format!("{oid:?}"), format!("Oid({long})"));
        for bad in [
            &long[..63],
            &long[..41],
            "",
            &"0123456789abcdeg".repeat(4),
            &"0123456789abcde ".repeat(4),
            &"0123456789ABCDEF".repeat(4),
        ] {
            assert_eq!(Oid::from_hex(bad.as_bytes()), None, "{bad:?}");
            assert!(bad.parse::<Oid>().is_err(), "{bad:?}");
        }
    }
}
