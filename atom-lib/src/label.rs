//! Atom labels: the Unicode name of an atom within its repository.

use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

/// The longest label, in bytes of its NFKC-normalised UTF-8 form.
pub const MAX_LABEL_BYTES: usize = 128;

/// A validated, NFKC-normalised atom label.
///
/// A label starts with a Unicode `XID_Start` character, continues with `XID_Continue` characters
/// or `-`, and is at most [`MAX_LABEL_BYTES`] bytes long once normalised. It is used unchanged as
/// a ref path component, so it never holds `/`, `.`, whitespace or control characters.
///
/// ```
/// let label: atom_lib::Label = "Café_au_lait-123".parse().unwrap();
/// assert_eq!(label.as_str(), "Café_au_lait-123");
/// assert!("9lives".parse::<atom_lib::Label>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

/// Why a string is not a valid label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The label is empty.
    #[error("invalid atom label ``: must not be empty")]
    Empty,
    /// The label is longer than [`MAX_LABEL_BYTES`].
    #[error("invalid atom label `{label}`: longer than {MAX_LABEL_BYTES} bytes ({len})")]
    TooLong {
        /// The label as given.
        label: String,
        /// Its normalised length in bytes.
        len: usize,
    },
    /// The first character is not `XID_Start`.
    #[error("invalid atom label `{label}`: must start with a letter, not {found:?}")]
    BadStart {
        /// The label as given.
        label: String,
        /// The offending character.
        found: char,
    },
    /// A later character is neither `XID_Continue` nor `-`.
    #[error("invalid atom label `{label}`: {found:?} is not allowed (letters, digits, `_` and `-` only)")]
    BadChar {
        /// The label as given.
        label: String,
        /// The offending character.
        found: char,
    },
}

impl Label {
    /// Validates `input` after NFKC normalisation.
    pub fn new(input: &str) -> Result<Self, LabelError> {
        let normal: String = input.nfkc().collect();
        let shown = || input.escape_debug().to_string();
        let mut chars = normal.chars();
        let first = chars.next().ok_or(LabelError::Empty)?;
        if normal.len() > MAX_LABEL_BYTES {
            return Err(LabelError::TooLong {
                label: shown(),
                len: normal.len(),
            });
        }
        if !unicode_ident::is_xid_start(first) {
            return Err(LabelError::BadStart {
                label: shown(),
                found: first,
            });
        }
        if let Some(found) = chars.find(|&c| !(c == '-' || unicode_ident::is_xid_continue(c))) {
            return Err(LabelError::BadChar {
                label: shown(),
                found,
            });
        }
        Ok(Label(normal))
    }

    /// The normalised label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Label {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Label::new(s)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Label {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_labels() {
        for ok in ["α", "Café_au_lait-123", "ひらがな", "пакет", "foo-bar", "a"] {
            assert_eq!(Label::new(ok).unwrap().as_str(), ok, "{ok}");
        }
    }

    #[test]
    fn invalid_labels() {
        for bad in [
            "9lives",
            "_x",
            "-x",
            "a b",
            "a/b",
            "a.b",
            "a\u{200b}b",
            "\u{200b}a",
            "♥",
            "",
            "'a",
            "a\n",
        ] {
            assert!(Label::new(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn normalises_nfkc() {
        // U+FB01 LATIN SMALL LIGATURE FI decomposes to "fi" under NFKC.
        assert_eq!(Label::new("\u{fb01}le").unwrap().as_str(), "file");
        // A precomposed and a decomposed é are the same label.
        assert_eq!(
            Label::new("caf\u{e9}").unwrap(),
            Label::new("cafe\u{301}").unwrap()
        );
    }

    #[test]
    fn length_limit_counts_normalised_bytes() {
        assert!(Label::new(&"a".repeat(128)).is_ok());
        assert!(matches!(
            Label::new(&"a".repeat(129)),
            Err(LabelError::TooLong { len: 129, .. })
        ));
        // 64 two-byte characters are exactly 128 bytes.
        assert!(Label::new(&"é".repeat(64)).is_ok());
        assert!(Label::new(&"é".repeat(65)).is_err());
    }

    #[test]
    fn error_messages_quote_the_input() {
        assert_eq!(
            Label::new("9lives").unwrap_err().to_string(),
            "invalid atom label `9lives`: must start with a letter, not '9'"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_valid_labels_are_ref_safe(s in "\\PC{0,40}") {
            if let Ok(label) = Label::new(&s) {
                let l = label.as_str();
                prop_assert!(!l.is_empty() && l.len() <= MAX_LABEL_BYTES);
                prop_assert!(!l.contains(['/', '.', ' ', '\\', ':', '~', '^', '?', '*', '[']));
                prop_assert!(!l.starts_with('-'));
                // Normalisation is idempotent: a valid label parses to itself.
                prop_assert_eq!(Label::new(l).unwrap(), label.clone());
            }
        }
    }
}
