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
    /// The label is `HEAD` (in any ASCII case), which cannot name a branch in a clone: git
    /// reserves it for the current branch, and `refs/remotes/<remote>/HEAD` is the remote's.
    #[error(
        "invalid atom label `{label}`: `HEAD` is reserved by git and cannot name a branch in a clone"
    )]
    Reserved {
        /// The label as given.
        label: String,
    },
    /// The label holds a character that is not shown (a Unicode default-ignorable code point,
    /// such as U+200D ZERO WIDTH JOINER, or a bidirectional control), so two different labels
    /// would look the same.
    #[error("invalid atom label `{label}`: invisible character {found:?} is not allowed")]
    Invisible {
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
        // ASCII is its own NFKC form (most labels are ASCII).
        let normal: String = if input.is_ascii() {
            input.to_owned()
        } else {
            input.nfkc().collect()
        };
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
        if let Some(found) = normal.chars().find(|&c| is_invisible(c)) {
            return Err(LabelError::Invisible {
                label: shown(),
                found,
            });
        }
        if let Some(found) = chars.find(|&c| !(c == '-' || unicode_ident::is_xid_continue(c))) {
            return Err(LabelError::BadChar {
                label: shown(),
                found,
            });
        }
        if normal.eq_ignore_ascii_case("HEAD") {
            return Err(LabelError::Reserved { label: shown() });
        }
        Ok(Label(normal))
    }

    /// The normalised label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `c` is not shown: a Unicode `Default_Ignorable_Code_Point` (Unicode 16,
/// `DerivedCoreProperties.txt`) or a bidirectional control (`Bidi_Control`, all of which are also
/// default-ignorable except U+061C, listed too).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// The form two labels that look alike share: the Unicode TR39 skeleton of the label in lower
/// case (`Label`, `label` and `LabeI` have the same one).
pub fn skeleton(label: &Label) -> String {
    let mut out = String::new();
    push_skeleton(label, &mut out);
    out
}

/// Appends the [`skeleton`] of `label` to `out`: for an ASCII label (most labels of a
/// monorepo), from a table and without allocating.
fn push_skeleton(label: &Label, out: &mut String) {
    if label.0.is_ascii()
        && push_ascii_skeleton(label.0.bytes().map(|b| b.to_ascii_lowercase()), out)
    {
        return;
    }
    out.extend(unicode_security::confusable_detection::skeleton(
        &label.0.to_lowercase(),
    ));
}

/// Appends the TR39 skeleton of the ASCII text `bytes` when each of its characters has an
/// ASCII skeleton: their concatenation, which is exact there (the skeleton is NFD, each
/// character replaced by its prototype, NFD again, and ASCII has neither decompositions nor
/// combining marks to reorder). `false`, and `out` as it was, otherwise. A table of 128
/// entries instead of the general algorithm: most labels of a monorepo are ASCII, and listing
/// 10,000 of them spent a tenth of its time in skeletons.
fn push_ascii_skeleton(bytes: impl Iterator<Item = u8>, out: &mut String) -> bool {
    static TABLE: std::sync::OnceLock<Vec<Option<String>>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0u8..128)
            .map(|b| {
                let own: String =
                    unicode_security::confusable_detection::skeleton(&char::from(b).to_string())
                        .collect();
                own.is_ascii().then_some(own)
            })
            .collect()
    });
    let start = out.len();
    for b in bytes {
        match table.get(usize::from(b)).and_then(Option::as_deref) {
            Some(s) => out.push_str(s),
            None => {
                out.truncate(start);
                return false;
            }
        }
    }
    true
}

/// The first label of `others` that looks like `label` without being it (see [`skeleton`]).
pub fn confusable_with<'a>(
    label: &Label,
    others: impl IntoIterator<Item = &'a Label>,
) -> Option<&'a Label> {
    let mine = skeleton(label);
    others
        .into_iter()
        .find(|other| *other != label && skeleton(other) == mine)
}

/// The pairs of different labels among `labels` that look alike: the same Unicode TR39 skeleton
/// (`Label` and `LabeI`, or Latin `a` and Cyrillic `а`), compared without case as file systems
/// that fold case would. Each pair once, in the order of `labels`.
pub fn confusable_pairs<'a>(
    labels: impl IntoIterator<Item = &'a Label>,
) -> Vec<(&'a Label, &'a Label)> {
    // Grouped by skeleton, so the cost is one skeleton per label, not one comparison per pair
    // of labels (50,000 labels are a monorepo's, not a limit); the skeletons are written into
    // one buffer, and only labels whose skeleton an earlier one has are looked at again.
    let labels: Vec<&Label> = labels.into_iter().collect();
    let mut text = String::new();
    let mut ends = Vec::with_capacity(labels.len());
    for label in &labels {
        push_skeleton(label, &mut text);
        ends.push(text.len());
    }
    let skeleton_of = |i: usize| &text[i.checked_sub(1).map_or(0, |p| ends[p])..ends[i]];
    let mut first: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(labels.len());
    let mut later = Vec::new();
    for i in 0..labels.len() {
        match first.entry(skeleton_of(i)) {
            std::collections::hash_map::Entry::Occupied(_) => later.push(i),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    let mut groups: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    let mut pairs = Vec::new();
    for i in later {
        let head = first[skeleton_of(i)];
        let alike = groups.entry(head).or_insert_with(|| vec![head]);
        pairs.extend(
            alike
                .iter()
                .filter(|&&other| labels[other] != labels[i])
                .map(|&other| (labels[other], labels[i])),
        );
        alike.push(i);
    }
    pairs
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

    fn ascii_skeleton(text: &str) -> Option<String> {
        let mut out = String::new();
        push_ascii_skeleton(text.bytes(), &mut out).then_some(out)
    }

    /// The table's answer is the general algorithm's, for every pair of ASCII characters (all
    /// the neighbours a character can have) and for look-alikes made of several characters.
    #[test]
    fn the_ascii_skeleton_is_the_general_one() {
        let full =
            |t: &str| -> String { unicode_security::confusable_detection::skeleton(t).collect() };
        let mut texts: Vec<String> = ["rn", "m", "l1I|0O", "vv", "w", "cl", "d", "a-b_c.d"]
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        for a in 32u8..127 {
            for b in 32u8..127 {
                texts.push(String::from_utf8(vec![a, b]).unwrap());
            }
        }
        let mut fast = 0;
        for t in &texts {
            if let Some(s) = ascii_skeleton(t) {
                assert_eq!(s, full(t), "{t:?}");
                fast += 1;
            }
        }
        assert!(fast > texts.len() / 2, "the table answers most ASCII text");
        assert_eq!(ascii_skeleton("é"), None);
    }

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
    fn confusable_labels_are_paired() {
        let labels: Vec<Label> = ["paypal", "pаypal", "foo", "Foo", "bar", "rn-x", "m-x"]
            .iter()
            .map(|s| Label::new(s).unwrap())
            .collect();
        let pairs: Vec<(&str, &str)> = confusable_pairs(&labels)
            .into_iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        // Cyrillic `а` looks like Latin `a`; `Foo` differs from `foo` only in case; `rn`
        // looks like `m`. `bar` looks like nothing else.
        assert_eq!(
            pairs,
            [("paypal", "pаypal"), ("foo", "Foo"), ("rn-x", "m-x")]
        );
    }

    /// Groups of several look-alikes, repeated labels (a label listed under two formats) and
    /// non-ASCII ones: the pairs are those of comparing every pair, in the same order.
    #[test]
    fn confusable_pairs_are_those_of_comparing_every_pair() {
        let labels: Vec<Label> = [
            "rn", "m", "x", "rn", "RN", "pаypal", "paypal", "m", "l1", "I1", "ll", "x", "Paypal",
            "ǅx", "džx", "DŽX",
        ]
        .iter()
        .map(|s| Label::new(s).unwrap())
        .collect();
        let mut every = Vec::new();
        for j in 0..labels.len() {
            for i in 0..j {
                if labels[i] != labels[j] && skeleton(&labels[i]) == skeleton(&labels[j]) {
                    every.push((labels[i].as_str(), labels[j].as_str()));
                }
            }
        }
        let pairs: Vec<(&str, &str)> = confusable_pairs(&labels)
            .into_iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert!(every.len() >= 12, "{every:?}");
        assert_eq!(pairs, every);
    }

    #[test]
    fn head_is_reserved() {
        for bad in ["HEAD", "head", "Head"] {
            let err = Label::new(bad).unwrap_err();
            assert!(matches!(err, LabelError::Reserved { .. }), "{bad}: {err}");
        }
        assert_eq!(
            Label::new("HEAD").unwrap_err().to_string(),
            "invalid atom label `HEAD`: `HEAD` is reserved by git and cannot name a branch in a clone"
        );
        for ok in ["HEADS", "heady", "FETCH_HEAD"] {
            assert!(Label::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn invisible_characters_are_refused() {
        // Both joiners are XID_Continue, so only the invisibility rule refuses them.
        for c in [
            '\u{200C}',
            '\u{200D}',
            '\u{FE0F}',
            '\u{180B}',
            '\u{E0100}',
            '\u{17B4}',
        ] {
            let label = format!("ab{c}c");
            assert!(
                unicode_ident::is_xid_continue(c),
                "{c:?} is XID_Continue, so this case tests the invisibility rule"
            );
            assert_eq!(
                Label::new(&label),
                Err(LabelError::Invisible {
                    label: label.escape_debug().to_string(),
                    found: c
                }),
                "{c:?}"
            );
        }
        // The same letters without the invisible character are fine.
        assert!(Label::new("abc").is_ok());
        // U+115F HANGUL CHOSEONG FILLER is XID_Start and invisible.
        assert!(matches!(
            Label::new("\u{115F}a"),
            Err(LabelError::Invisible { .. })
        ));
        assert_eq!(
            Label::new("a\u{200D}").unwrap_err().to_string(),
            "invalid atom label `a\\u{200d}`: invisible character '\\u{200d}' is not allowed"
        );
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
                prop_assert!(!l.chars().any(is_invisible));
                prop_assert!(!l.eq_ignore_ascii_case("HEAD"));
                // Normalisation is idempotent: a valid label parses to itself.
                prop_assert_eq!(Label::new(l).unwrap(), label.clone());
            }
        }
    }
}
