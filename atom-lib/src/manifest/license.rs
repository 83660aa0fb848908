//! SPDX license expressions, as `[atom.meta] license` holds them.
//!
//! The grammar is SPDX's (annex D of the specification), with its operators in upper case:
//!
//! ```text
//! expression = and-expr *( "OR" and-expr )
//! and-expr   = with-expr *( "AND" with-expr )
//! with-expr  = simple [ "WITH" exception-id ]
//! simple     = license-id [ "+" ] / "LicenseRef-" idstring / "(" expression ")"
//! ```
//!
//! License and exception ids must be on the SPDX license list ([`licenses`], [`exceptions`]),
//! written as SPDX writes them; anything else can be named with `LicenseRef-<name>`.
//!
//! ```
//! use atom_lib::manifest::license::License;
//!
//! let l: License = "(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0".parse().unwrap();
//! assert_eq!(l.to_string(), "(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0");
//! assert!("MIT or Apache-2.0".parse::<License>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use super::suggest;

/// The SPDX license ids: the whole SPDX license list (the `spdx` crate's copy of it) as SPDX
/// writes them, without the ids SPDX deprecated (`GPL-3.0`: say `GPL-3.0-only` or
/// `GPL-3.0-or-later`), which a suggestion then replaces.
pub fn licenses() -> impl Iterator<Item = &'static str> + Clone {
    spdx::identifiers::LICENSES
        .iter()
        .filter(|l| l.flags & spdx::flags::IS_DEPRECATED == 0)
        .map(|l| l.name)
}

/// The SPDX license exception ids, from the same list, without the deprecated ones.
pub fn exceptions() -> impl Iterator<Item = &'static str> + Clone {
    spdx::identifiers::EXCEPTIONS
        .iter()
        .filter(|e| e.flags & spdx::flags::IS_DEPRECATED == 0)
        .map(|e| e.name)
}

/// A parsed SPDX license expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum License {
    /// A listed license id; `or_later` is a trailing `+`.
    Id {
        /// The id, as listed in [`licenses`].
        id: &'static str,
        /// Written with `+`: this version or any later one.
        or_later: bool,
    },
    /// `LicenseRef-<name>`: a license outside the list; holds `<name>`.
    Ref(String),
    /// `<license> WITH <exception>`.
    With {
        /// The license (an id or a reference).
        license: Box<License>,
        /// The exception, as listed in [`exceptions`].
        exception: &'static str,
    },
    /// Both (two or more operands).
    And(Vec<License>),
    /// Either (two or more operands).
    Or(Vec<License>),
}

/// Why a string is not an accepted SPDX expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SPDX license expression `{expression}`: {problem}")]
pub struct LicenseError {
    /// The expression as given.
    pub expression: String,
    /// What is wrong.
    pub problem: LicenseProblem,
}

/// What is wrong with a license expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseProblem {
    /// Nothing where a license was expected.
    #[error("expected a license at the end")]
    UnexpectedEnd,
    /// Something other than a license where one was expected.
    #[error("expected a license, found `{found}`")]
    ExpectedLicense {
        /// The token found.
        found: String,
    },
    /// A token after a complete expression.
    #[error("unexpected `{found}` (operators are `AND`, `OR` and `WITH`, in upper case)")]
    Unexpected {
        /// The token found.
        found: String,
    },
    /// An id not on the license list.
    #[error("unknown license id `{id}`{}", suggestion_text(suggestion))]
    UnknownLicense {
        /// The id.
        id: String,
        /// The nearest listed id, if one is close.
        suggestion: Option<String>,
    },
    /// An id not on the exception list.
    #[error("unknown license exception `{id}`{}", suggestion_text(suggestion))]
    UnknownException {
        /// The id.
        id: String,
        /// The nearest listed exception, if one is close.
        suggestion: Option<String>,
    },
    /// A `(` without its `)`.
    #[error("unclosed `(`")]
    Unclosed,
}

fn suggestion_text(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// A token: a word (`MIT`, `AND`, `GPL-2.0+`) or a parenthesis.
fn tokens(input: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in input.char_indices() {
        if c.is_whitespace() || c == '(' || c == ')' {
            if let Some(s) = start.take() {
                out.push(&input[s..i]);
            }
            if !c.is_whitespace() {
                out.push(&input[i..i + 1]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&input[s..]);
    }
    out
}

struct Parser<'a> {
    tokens: Vec<&'a str>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }

    fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        self.at += 1;
        t
    }

    fn expression(&mut self) -> Result<License, LicenseProblem> {
        let mut operands = vec![self.and()?];
        while self.peek() == Some("OR") {
            self.at += 1;
            operands.push(self.and()?);
        }
        Ok(flatten(operands, License::Or))
    }

    fn and(&mut self) -> Result<License, LicenseProblem> {
        let mut operands = vec![self.with()?];
        while self.peek() == Some("AND") {
            self.at += 1;
            operands.push(self.with()?);
        }
        Ok(flatten(operands, License::And))
    }

    fn with(&mut self) -> Result<License, LicenseProblem> {
        let simple = self.simple()?;
        if self.peek() != Some("WITH") {
            return Ok(simple);
        }
        self.at += 1;
        if matches!(
            simple,
            License::And(_) | License::Or(_) | License::With { .. }
        ) {
            return Err(LicenseProblem::Unexpected {
                found: "WITH".into(),
            });
        }
        let id = self.next().ok_or(LicenseProblem::UnexpectedEnd)?;
        let exception =
            exceptions()
                .find(|e| *e == id)
                .ok_or_else(|| LicenseProblem::UnknownException {
                    id: id.to_owned(),
                    suggestion: suggest(id, exceptions()),
                })?;
        Ok(License::With {
            license: Box::new(simple),
            exception,
        })
    }

    fn simple(&mut self) -> Result<License, LicenseProblem> {
        let token = self.next().ok_or(LicenseProblem::UnexpectedEnd)?;
        match token {
            "(" => {
                let inner = self.expression()?;
                match self.next() {
                    Some(")") => Ok(inner),
                    Some(other) => Err(LicenseProblem::Unexpected {
                        found: other.to_owned(),
                    }),
                    None => Err(LicenseProblem::Unclosed),
                }
            }
            ")" | "AND" | "OR" | "WITH" => Err(LicenseProblem::ExpectedLicense {
                found: token.to_owned(),
            }),
            _ => license_id(token),
        }
    }
}

fn license_id(token: &str) -> Result<License, LicenseProblem> {
    if let Some(name) = token.strip_prefix("LicenseRef-") {
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Ok(License::Ref(name.to_owned()));
        }
        return Err(LicenseProblem::ExpectedLicense {
            found: token.to_owned(),
        });
    }
    let (name, or_later) = match token.strip_suffix('+') {
        Some(name) => (name, true),
        None => (token, false),
    };
    let id = licenses()
        .find(|l| *l == name)
        .ok_or_else(|| LicenseProblem::UnknownLicense {
            id: name.to_owned(),
            suggestion: suggest(name, licenses()),
        })?;
    Ok(License::Id { id, or_later })
}

fn flatten(mut operands: Vec<License>, make: fn(Vec<License>) -> License) -> License {
    if operands.len() == 1 {
        operands.pop().expect("one operand")
    } else {
        make(operands)
    }
}

impl FromStr for License {
    type Err = LicenseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |problem| LicenseError {
            expression: s.escape_debug().to_string(),
            problem,
        };
        let mut parser = Parser {
            tokens: tokens(s),
            at: 0,
        };
        let license = parser.expression().map_err(err)?;
        if let Some(extra) = parser.peek() {
            return Err(err(LicenseProblem::Unexpected {
                found: extra.to_owned(),
            }));
        }
        Ok(license)
    }
}

impl fmt::Display for License {
    /// The canonical form: single spaces, parentheses only where precedence needs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            License::Id { id, or_later } => {
                write!(f, "{id}{}", if *or_later { "+" } else { "" })
            }
            License::Ref(name) => write!(f, "LicenseRef-{name}"),
            License::With { license, exception } => write!(f, "{license} WITH {exception}"),
            License::And(operands) => {
                for (i, o) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    match o {
                        License::Or(_) | License::And(_) => write!(f, "({o})")?,
                        _ => write!(f, "{o}")?,
                    }
                }
                Ok(())
            }
            License::Or(operands) => {
                for (i, o) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    match o {
                        License::Or(_) => write!(f, "({o})")?,
                        _ => write!(f, "{o}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_canonicalises() {
        for (input, shown) in [
            ("MIT", "MIT"),
            ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
            ("  (MIT)  ", "MIT"),
            ("MPL-1.1+", "MPL-1.1+"),
            ("LicenseRef-my-own.1", "LicenseRef-my-own.1"),
            (
                "MIT AND (Apache-2.0 OR BSD-3-Clause)",
                "MIT AND (Apache-2.0 OR BSD-3-Clause)",
            ),
            ("MIT AND Apache-2.0 OR ISC", "MIT AND Apache-2.0 OR ISC"),
            ("(MIT AND Apache-2.0) OR ISC", "MIT AND Apache-2.0 OR ISC"),
            (
                "GPL-3.0-only WITH GCC-exception-3.1",
                "GPL-3.0-only WITH GCC-exception-3.1",
            ),
            // The whole SPDX list, not a part of it.
            ("CC-BY-3.0", "CC-BY-3.0"),
            (
                "LGPL-2.1-or-later WITH OCaml-LGPL-linking-exception",
                "LGPL-2.1-or-later WITH OCaml-LGPL-linking-exception",
            ),
        ] {
            let l: License = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(l.to_string(), shown, "{input}");
        }
        // Precedence: AND binds tighter than OR.
        assert!(matches!(
            "MIT AND Apache-2.0 OR ISC".parse::<License>().unwrap(),
            License::Or(v) if matches!(v[0], License::And(_))
        ));
    }

    #[test]
    fn refusals() {
        let err = |s: &str| s.parse::<License>().unwrap_err().to_string();
        assert_eq!(
            err("MTI"),
            "invalid SPDX license expression `MTI`: unknown license id `MTI`; did you mean `MIT`?"
        );
        assert_eq!(
            err("GPL-3.0"),
            "invalid SPDX license expression `GPL-3.0`: unknown license id `GPL-3.0`; did you mean `GPL-3.0-only`?"
        );
        assert_eq!(
            err("MIT or Apache-2.0"),
            "invalid SPDX license expression `MIT or Apache-2.0`: unexpected `or` (operators are `AND`, `OR` and `WITH`, in upper case)"
        );
        assert_eq!(
            err("MIT OR"),
            "invalid SPDX license expression `MIT OR`: expected a license at the end"
        );
        assert_eq!(
            err(""),
            "invalid SPDX license expression ``: expected a license at the end"
        );
        assert_eq!(
            err("(MIT"),
            "invalid SPDX license expression `(MIT`: unclosed `(`"
        );
        assert_eq!(
            err("AND MIT"),
            "invalid SPDX license expression `AND MIT`: expected a license, found `AND`"
        );
        assert_eq!(
            err("MIT WITH Nope"),
            "invalid SPDX license expression `MIT WITH Nope`: unknown license exception `Nope`"
        );
        assert_eq!(
            err("(MIT OR ISC) WITH LLVM-exception"),
            "invalid SPDX license expression `(MIT OR ISC) WITH LLVM-exception`: unexpected `WITH` (operators are `AND`, `OR` and `WITH`, in upper case)"
        );
        assert!("LicenseRef-".parse::<License>().is_err());
    }

    fn license() -> impl Strategy<Value = License> {
        let leaf = prop_oneof![
            (
                proptest::sample::select(licenses().collect::<Vec<_>>()),
                any::<bool>()
            )
                .prop_map(|(id, or_later)| License::Id { id, or_later }),
            "[A-Za-z0-9.-]{1,12}".prop_map(License::Ref),
            (
                proptest::sample::select(licenses().collect::<Vec<_>>()),
                proptest::sample::select(exceptions().collect::<Vec<_>>())
            )
                .prop_map(|(id, exception)| License::With {
                    license: Box::new(License::Id {
                        id,
                        or_later: false
                    }),
                    exception
                }),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(License::And),
                proptest::collection::vec(inner, 2..4).prop_map(License::Or),
            ]
        })
    }

    /// Nested operators of the same kind flatten, so compare on the canonical text.
    fn canonical(l: &License) -> String {
        l.to_string().parse::<License>().unwrap().to_string()
    }

    proptest! {
        /// Display then parse gives back an expression with the same canonical form, and the
        /// canonical form is a fixed point.
        #[test]
        fn display_parse_round_trip(l in license()) {
            let shown = l.to_string();
            let parsed: License = shown.parse().map_err(|e| TestCaseError::fail(format!("{shown}: {e}")))?;
            prop_assert_eq!(parsed.to_string(), canonical(&l));
            prop_assert_eq!(canonical(&parsed), parsed.to_string());
        }

        /// The parser never panics.
        #[test]
        fn never_panics(s in "[A-Za-z0-9()+ .-]{0,40}") {
            let _ = s.parse::<License>();
        }
    }
}
