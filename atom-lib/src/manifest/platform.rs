//! `[platform] supported`: the build matrix, as `BUILD:HOST:TARGET` patterns.
//!
//! A pattern is expanded in two steps:
//!
//! 1. shell-style brace expansion, left to right, as a shell does it: `{a,b}:{c,d}` gives
//!    `a:c`, `a:d`, `b:c`, `b:d` (braces may nest; a brace group needs a comma);
//! 2. each result is split at `:` into one to three components; `<` stands for the previous
//!    component, and missing trailing components repeat the last one.
//!
//! ```
//! use atom_lib::manifest::platform::expand;
//!
//! let triples = expand("x86_64-linux:{<,aarch64-linux}").unwrap();
//! let shown: Vec<String> = triples.iter().map(ToString::to_string).collect();
//! assert_eq!(shown, ["x86_64-linux:x86_64-linux:x86_64-linux", "x86_64-linux:aarch64-linux:aarch64-linux"]);
//! ```

use std::fmt;
use std::str::FromStr;

use super::suggest;

/// The Nix system names a platform pattern may use.
pub const SYSTEMS: &[&str] = &[
    "aarch64-darwin",
    "aarch64-freebsd",
    "aarch64-linux",
    "aarch64-windows",
    "armv6l-linux",
    "armv7l-linux",
    "i686-freebsd",
    "i686-linux",
    "i686-windows",
    "loongarch64-linux",
    "mips64el-linux",
    "mipsel-linux",
    "powerpc64-linux",
    "powerpc64le-linux",
    "riscv32-linux",
    "riscv64-linux",
    "s390x-linux",
    "wasm32-wasi",
    "x86_64-darwin",
    "x86_64-freebsd",
    "x86_64-linux",
    "x86_64-windows",
];

/// The most patterns one brace expansion may produce (a guard against `{a,b}` repeated 30 times).
pub const MAX_EXPANSION: usize = 4096;

/// A known Nix system name, such as `x86_64-linux`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct System(&'static str);

impl System {
    /// The system's name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl FromStr for System {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SYSTEMS
            .iter()
            .find(|known| **known == s)
            .map(|known| System(known))
            .ok_or_else(|| PlatformError::UnknownSystem {
                pattern: s.escape_debug().to_string(),
                system: s.escape_debug().to_string(),
                suggestion: suggest(s, SYSTEMS.iter().copied()),
            })
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One cell of the build matrix: where it builds, where it runs, what it targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Triple {
    /// The system the build runs on.
    pub build: System,
    /// The system the result runs on.
    pub host: System,
    /// The system the result produces code for (compilers and linkers).
    pub target: System,
}

impl fmt::Display for Triple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.build, self.host, self.target)
    }
}

/// Why a platform pattern does not expand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// A `{` without its `}`, or the reverse.
    #[error("invalid platform pattern `{pattern}`: unbalanced braces")]
    Unbalanced {
        /// The pattern.
        pattern: String,
    },
    /// A brace group without a comma, such as `{a}`.
    #[error("invalid platform pattern `{pattern}`: a brace group needs at least two alternatives")]
    SingleAlternative {
        /// The pattern.
        pattern: String,
    },
    /// The pattern expands to too many alternatives.
    #[error("invalid platform pattern `{pattern}`: expands to more than {MAX_EXPANSION} triples")]
    TooLarge {
        /// The pattern.
        pattern: String,
    },
    /// More than three `:`-separated components.
    #[error("invalid platform pattern `{pattern}`: `{expanded}` has more than three components (BUILD:HOST:TARGET)")]
    TooManyComponents {
        /// The pattern.
        pattern: String,
        /// The expanded alternative.
        expanded: String,
    },
    /// `<` in the first component, which has no previous one.
    #[error("invalid platform pattern `{pattern}`: `<` cannot stand for the build system, there is no previous component")]
    NoPrevious {
        /// The pattern.
        pattern: String,
    },
    /// Not a known Nix system name.
    #[error("invalid platform pattern `{pattern}`: unknown system `{system}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownSystem {
        /// The pattern.
        pattern: String,
        /// The unknown name.
        system: String,
        /// The nearest known system, if one is close.
        suggestion: Option<String>,
    },
    /// The same triple twice in the list.
    #[error("invalid platform pattern `{pattern}`: `{triple}` is already in the list")]
    Duplicate {
        /// The pattern that repeats it.
        pattern: String,
        /// The repeated triple.
        triple: Triple,
    },
}

impl PlatformError {
    fn with_pattern(self, pattern: &str) -> Self {
        let p = pattern.escape_debug().to_string();
        match self {
            PlatformError::UnknownSystem {
                system, suggestion, ..
            } => PlatformError::UnknownSystem {
                pattern: p,
                system,
                suggestion,
            },
            other => other,
        }
    }
}

/// Shell-style brace expansion of `pattern`, in the order a shell produces.
pub fn expand_braces(pattern: &str) -> Result<Vec<String>, PlatformError> {
    let shown = || pattern.escape_debug().to_string();
    // Check the balance once, so the recursion only sees balanced input.
    let mut depth = 0usize;
    for c in pattern.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(PlatformError::Unbalanced { pattern: shown() })?
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(PlatformError::Unbalanced { pattern: shown() });
    }
    let mut out = Vec::new();
    braces(pattern, &mut out, pattern)?;
    Ok(out)
}

fn braces(input: &str, out: &mut Vec<String>, pattern: &str) -> Result<(), PlatformError> {
    let Some(open) = input.find('{') else {
        if out.len() >= MAX_EXPANSION {
            return Err(PlatformError::TooLarge {
                pattern: pattern.escape_debug().to_string(),
            });
        }
        out.push(input.to_owned());
        return Ok(());
    };
    // The matching close brace and the top-level commas between.
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, c) in input[open..].char_indices() {
        let i = open + i;
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let close = close.ok_or_else(|| PlatformError::Unbalanced {
        pattern: pattern.escape_debug().to_string(),
    })?;
    if commas.is_empty() {
        return Err(PlatformError::SingleAlternative {
            pattern: pattern.escape_debug().to_string(),
        });
    }
    let (pre, post) = (&input[..open], &input[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        braces(&format!("{pre}{}{post}", &input[start..end]), out, pattern)?;
        start = end + 1;
    }
    Ok(())
}

/// The triples one pattern stands for, in order.
pub fn expand(pattern: &str) -> Result<Vec<Triple>, PlatformError> {
    let shown = || pattern.escape_debug().to_string();
    expand_braces(pattern)?
        .into_iter()
        .map(|alternative| {
            let parts: Vec<&str> = alternative.split(':').collect();
            if parts.len() > 3 {
                return Err(PlatformError::TooManyComponents {
                    pattern: shown(),
                    expanded: alternative.escape_debug().to_string(),
                });
            }
            let mut systems: Vec<System> = Vec::with_capacity(3);
            for part in &parts {
                let system = match (*part, systems.last()) {
                    ("<", Some(previous)) => *previous,
                    ("<", None) => return Err(PlatformError::NoPrevious { pattern: shown() }),
                    (name, _) => name
                        .parse()
                        .map_err(|e: PlatformError| e.with_pattern(pattern))?,
                };
                systems.push(system);
            }
            while systems.len() < 3 {
                let last = *systems.last().expect("split yields at least one part");
                systems.push(last);
            }
            Ok(Triple {
                build: systems[0],
                host: systems[1],
                target: systems[2],
            })
        })
        .collect()
}

/// Expands a whole `supported` list, refusing duplicate triples.
pub fn expand_all<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Triple>, PlatformError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for pattern in patterns {
        for triple in expand(pattern)? {
            if !seen.insert(triple) {
                return Err(PlatformError::Duplicate {
                    pattern: pattern.escape_debug().to_string(),
                    triple,
                });
            }
            out.push(triple);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown(patterns: &[&str]) -> Vec<String> {
        expand_all(patterns.iter().copied())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_seed_example_is_nine_triples() {
        let got = shown(&[
            "riscv64-linux",
            "x86_64-linux:{<,aarch64-linux}",
            "{aarch64-darwin,x86_64-darwin}:{<,aarch64-linux,x86_64-linux}",
        ]);
        assert_eq!(
            got,
            [
                "riscv64-linux:riscv64-linux:riscv64-linux",
                "x86_64-linux:x86_64-linux:x86_64-linux",
                "x86_64-linux:aarch64-linux:aarch64-linux",
                "aarch64-darwin:aarch64-darwin:aarch64-darwin",
                "aarch64-darwin:aarch64-linux:aarch64-linux",
                "aarch64-darwin:x86_64-linux:x86_64-linux",
                "x86_64-darwin:x86_64-darwin:x86_64-darwin",
                "x86_64-darwin:aarch64-linux:aarch64-linux",
                "x86_64-darwin:x86_64-linux:x86_64-linux",
            ]
        );
    }

    #[test]
    fn previous_and_nested_braces() {
        assert_eq!(
            shown(&["x86_64-linux:<:aarch64-linux"]),
            ["x86_64-linux:x86_64-linux:aarch64-linux"]
        );
        assert_eq!(
            shown(&["{x86_64,aarch64}-{linux,darwin}"]),
            [
                "x86_64-linux:x86_64-linux:x86_64-linux",
                "x86_64-darwin:x86_64-darwin:x86_64-darwin",
                "aarch64-linux:aarch64-linux:aarch64-linux",
                "aarch64-darwin:aarch64-darwin:aarch64-darwin",
            ]
        );
        assert_eq!(
            expand_braces("a{b,{c,d}e}f").unwrap(),
            ["abf", "acef", "adef"]
        );
    }

    #[test]
    fn errors() {
        let err = |p: &[&str]| expand_all(p.iter().copied()).unwrap_err().to_string();
        assert_eq!(
            err(&["x86_64-linux:{<,aarch64-linux"]),
            "invalid platform pattern `x86_64-linux:{<,aarch64-linux`: unbalanced braces"
        );
        assert_eq!(
            err(&["x86_64-linux}"]),
            "invalid platform pattern `x86_64-linux}`: unbalanced braces"
        );
        assert_eq!(
            err(&["{x86_64-linux}"]),
            "invalid platform pattern `{x86_64-linux}`: a brace group needs at least two alternatives"
        );
        assert_eq!(
            err(&["x86_64-linx"]),
            "invalid platform pattern `x86_64-linx`: unknown system `x86_64-linx`; did you mean `x86_64-linux`?"
        );
        assert_eq!(
            err(&["plan9"]),
            "invalid platform pattern `plan9`: unknown system `plan9`"
        );
        assert_eq!(
            err(&["<:x86_64-linux"]),
            "invalid platform pattern `<:x86_64-linux`: `<` cannot stand for the build system, there is no previous component"
        );
        assert_eq!(
            err(&["x86_64-linux:<:<:<"]),
            "invalid platform pattern `x86_64-linux:<:<:<`: `x86_64-linux:<:<:<` has more than three components (BUILD:HOST:TARGET)"
        );
        assert_eq!(
            err(&["x86_64-linux", "x86_64-linux:<"]),
            "invalid platform pattern `x86_64-linux:<`: `x86_64-linux:x86_64-linux:x86_64-linux` is already in the list"
        );
        assert_eq!(
            err(&["{<,x86_64-linux}"]),
            "invalid platform pattern `{<,x86_64-linux}`: `<` cannot stand for the build system, there is no previous component"
        );
        // A runaway expansion is refused instead of allocating.
        let huge = "{a,b}".repeat(20);
        assert!(matches!(
            expand_braces(&huge),
            Err(PlatformError::TooLarge { .. })
        ));
    }

    fn system() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(SYSTEMS)
    }

    proptest! {
        /// A fully written triple expands to itself.
        #[test]
        fn explicit_triples_are_fixed_points(b in system(), h in system(), t in system()) {
            let triple = format!("{b}:{h}:{t}");
            let got = expand(&triple).unwrap();
            prop_assert_eq!(got.len(), 1);
            prop_assert_eq!(got[0].to_string(), triple);
        }

        /// Brace groups multiply: the expansion of `{a,b,..}:{c,d,..}` is the product, in order.
        #[test]
        fn braces_are_a_product(
            builds in proptest::sample::subsequence(SYSTEMS, 1..4),
            hosts in proptest::sample::subsequence(SYSTEMS, 1..4),
        ) {
            let group = |s: &[&str]| if s.len() == 1 { s[0].to_owned() } else { format!("{{{}}}", s.join(",")) };
            let pattern = format!("{}:{}", group(&builds), group(&hosts));
            let got: Vec<String> = expand(&pattern).unwrap().iter().map(ToString::to_string).collect();
            let want: Vec<String> = builds.iter().flat_map(|b| hosts.iter().map(move |h| format!("{b}:{h}:{h}"))).collect();
            prop_assert_eq!(got, want);
        }

        /// `<` and omitted components mean the same thing.
        #[test]
        fn previous_equals_omitted(b in system(), h in system()) {
            prop_assert_eq!(expand(&format!("{b}:<:<")).unwrap(), expand(b).unwrap());
            prop_assert_eq!(expand(&format!("{b}:{h}:<")).unwrap(), expand(&format!("{b}:{h}")).unwrap());
        }

        /// Expansion never panics, whatever the input.
        #[test]
        fn never_panics(s in "[{},<:a-z0-9_-]{0,40}") {
            let _ = expand(&s);
        }
    }
}
