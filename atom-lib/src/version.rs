//! Atom versions: semantic versions that are safe to publish.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The longest version, in bytes: a version is a ref name component (`refs/atoms/<label>/<version>`,
/// and `<version>.lock` while it is written), which must fit every file system's 255-byte name
/// limit with room to spare, as a label does ([`crate::label::MAX_LABEL_BYTES`]).
pub const MAX_VERSION_BYTES: usize = 128;

/// A semantic version (2.0.0) that an atom may be published at.
///
/// Build metadata (`+...`) is refused: two versions differing only there have equal precedence,
/// so they could not be told apart by a version requirement. Ordering is semver precedence, so
/// `0.1.10` sorts after `0.1.2` and `1.0.0-rc.1` before `1.0.0`.
///
/// ```
/// let v: atom_lib::Version = "0.1.10".parse().unwrap();
/// assert!(v > "0.1.2".parse().unwrap());
/// assert!("1.0.0+build".parse::<atom_lib::Version>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(semver::Version);

/// Why a string is not a publishable version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not a semantic version.
    #[error("invalid atom version `{version}`: {reason}")]
    Syntax {
        /// The version as given.
        version: String,
        /// The semver parser's complaint (`semver::Error` is not `Clone`, so it is kept as text).
        reason: String,
    },
    /// Carries build metadata.
    #[error("invalid atom version `{version}`: build metadata (`+{build}`) is not allowed in a published version")]
    BuildMetadata {
        /// The version as given.
        version: String,
        /// The metadata.
        build: String,
    },
    /// Longer than [`MAX_VERSION_BYTES`].
    #[error("invalid atom version `{version}`: longer than {MAX_VERSION_BYTES} bytes ({len}), the most a ref name component may hold here")]
    TooLong {
        /// The version as given (escaped, its first 40 characters).
        version: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Ends in `.lock`, which git forbids at the end of a ref name component.
    #[error("invalid atom version `{version}`: must not end in `.lock`")]
    LockSuffix {
        /// The version as given.
        version: String,
    },
}

impl Version {
    /// Parses and validates a version.
    pub fn new(input: &str) -> Result<Self, VersionError> {
        if input.len() > MAX_VERSION_BYTES {
            let head: String = input.chars().take(40).collect();
            return Err(VersionError::TooLong {
                version: format!("{}...", head.escape_debug()),
                len: input.len(),
            });
        }
        let parsed = semver::Version::parse(input).map_err(|e| VersionError::Syntax {
            version: input.escape_debug().to_string(),
            reason: e.to_string(),
        })?;
        if !parsed.build.is_empty() {
            return Err(VersionError::BuildMetadata {
                version: input.to_owned(),
                build: parsed.build.to_string(),
            });
        }
        if input.ends_with(".lock") {
            return Err(VersionError::LockSuffix {
                version: input.to_owned(),
            });
        }
        Ok(Version(parsed))
    }

    /// The underlying semantic version.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }

    /// Whether this is a prerelease (`1.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// The versions that are semver-compatible share a class: the major version from 1 on, the
    /// minor for 0.x, the patch for 0.0.x (as Cargo's caret does).
    pub fn compatibility(&self) -> (u64, u64, u64) {
        let s = &self.0;
        match (s.major, s.minor) {
            (0, 0) => (0, 0, s.patch),
            (0, minor) => (0, minor, 0),
            (major, _) => (major, 0, 0),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::new(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn length_is_bounded() {
        let fits = format!("1.0.0-{}", "a".repeat(MAX_VERSION_BYTES - 6));
        assert_eq!(fits.len(), MAX_VERSION_BYTES);
        assert!(Version::new(&fits).is_ok());
        let long = format!("1.0.0-{}", "a".repeat(300));
        let err = Version::new(&long).unwrap_err();
        assert!(
            matches!(err, VersionError::TooLong { len: 306, .. }),
            "{err}"
        );
        assert!(
            err.to_string().ends_with(
                "longer than 128 bytes (306), the most a ref name component may hold here"
            ),
            "{err}"
        );
    }

    #[test]
    fn precedence_order() {
        let mut versions: Vec<Version> = [
            "0.1.10",
            "1.0.0",
            "0.1.2",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "0.2.0",
        ]
        .iter()
        .map(|s| v(s))
        .collect();
        versions.sort();
        let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "0.1.2",
                "0.1.10",
                "0.2.0",
                "1.0.0-alpha",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            Version::new("1.0.0+x"),
            Err(VersionError::BuildMetadata { .. })
        ));
        assert!(matches!(
            Version::new("1.0.0-a.lock"),
            Err(VersionError::LockSuffix { .. })
        ));
        assert!(matches!(
            Version::new("1.0"),
            Err(VersionError::Syntax { .. })
        ));
        assert!(matches!(
            Version::new("v1.0.0"),
            Err(VersionError::Syntax { .. })
        ));
        assert!(matches!(
            Version::new("01.0.0"),
            Err(VersionError::Syntax { .. })
        ));
        assert!(matches!(
            Version::new("1.0.0-"),
            Err(VersionError::Syntax { .. })
        ));
        assert!(Version::new("1.0.0-rc.1").unwrap().is_prerelease());
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "\\PC{0,24}") {
            if let Ok(version) = Version::new(&s) {
                prop_assert_eq!(version.to_string(), s);
            }
        }

        #[test]
        fn valid_versions_are_ref_safe(a in 0u64..1000, b in 0u64..1000, c in 0u64..1000, pre in "[0-9A-Za-z-]{1,8}(\\.[0-9A-Za-z-]{1,8}){0,2}") {
            let s = format!("{a}.{b}.{c}-{pre}");
            if let Ok(version) = Version::new(&s) {
                let shown = version.to_string();
                prop_assert!(!shown.contains("..") && !shown.ends_with(".lock") && !shown.starts_with('.'));
            }
        }
    }
}
