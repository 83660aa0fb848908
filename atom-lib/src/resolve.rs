//! Resolving an atom URI against a repository's ref listing, and checking what was fetched.
//!
//! [`resolve`] picks, from the `refs/atoms/<label>/` (and `refs/eka/atoms/<label>/`) refs of
//! one listing, the versions a [`Requirement`] accepts and the highest of them. [`check_structure`] is the part of
//! verification that needs only the atom commit and its tree (section 8, checks 1 to 6 of
//! `docs/format.md`): a client that fetched just the atom runs it before writing any ref.

pub mod graph;
pub mod input;
pub mod pins;

use crate::commit::Format;
use crate::list::{ListedVersion, Listing};
use crate::refs::AtomRef;
use crate::store::RemoteRef;
use crate::uri::Requirement;
use crate::{GitStore, Label, Oid, Version};

/// The versions of one atom that a requirement accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The atom.
    pub label: Label,
    /// Every accepted version, in ascending precedence.
    pub matching: Vec<ListedVersion>,
    /// The highest accepted version (the last of `matching`).
    pub selected: ListedVersion,
    /// eka versions left out because a format-1 atom has the same version.
    pub shadowed: Vec<ListedVersion>,
}

impl Resolution {
    /// The ref of the selected version (in its own format's namespace).
    pub fn selected_ref(&self) -> AtomRef {
        self.selected.atom_ref(&self.label)
    }
}

/// Why no version could be selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The repository has no version of the atom at all.
    #[error("no atom `{label}` at {location}")]
    NoSuchAtom {
        /// The atom.
        label: Label,
        /// Where it was looked for.
        location: String,
    },
    /// The repository has the atom only in a generation of the eka tool this suite does not
    /// read.
    #[error(
        "`{label}` at {location} is published only in {} ({}), which atom does not read: republish it with `git atom publish`",
        .generation.describe(),
        list(.versions)
    )]
    UnsupportedFormat {
        /// The atom.
        label: Label,
        /// Where it was looked for.
        location: String,
        /// Its generation.
        generation: crate::format::Unsupported,
        /// Its versions there.
        versions: Vec<Version>,
    },
    /// Versions exist, but none is accepted.
    #[error(
        "no version of `{label}` at {location} matches `{requirement}` (available: {})",
        list(available)
    )]
    NoMatch {
        /// The atom.
        label: Label,
        /// Where it was looked for.
        location: String,
        /// The requirement, or `*` when none was given.
        requirement: String,
        /// Every published version.
        available: Vec<Version>,
    },
}

fn list(versions: &[Version]) -> String {
    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
    shown.join(", ")
}

/// Picks the versions of `label` in `refs` (a listing of `refs/atoms/<label>/`, and of
/// `refs/eka/atoms/<label>/` for the eka tool's atoms) that `requirement` accepts; with no
/// requirement, released versions only. Malformed refs are ignored, and so are atoms of a
/// generation this suite does not read (named in the error when they are all there is).
///
/// The two formats are merged per version, format 1 winning: an eka version is a candidate
/// unless a format-1 atom of the same label has the same version (it is then in
/// [`Resolution::shadowed`]). See `docs/format.md`, "Refs".
pub fn resolve(
    refs: &[RemoteRef],
    label: &Label,
    requirement: Option<&Requirement>,
    location: &str,
) -> Result<Resolution, ResolveError> {
    let listing = Listing::from_refs(refs, &[], None);
    let (mut versions, mut shadowed): (Vec<ListedVersion>, Vec<ListedVersion>) =
        (Vec::new(), Vec::new());
    let mut unsupported = None;
    // Sorted by format, format 1 first: an eka version meets the format-1 one it loses to.
    for atom in listing.atoms.into_iter().filter(|a| &a.label == label) {
        if let Some(generation) = atom.unsupported {
            unsupported = Some((generation, atom.versions));
            continue;
        }
        for v in atom.versions {
            if atom.format == Format::EkaPre1
                && versions
                    .iter()
                    .any(|w| w.format == Format::Atom1 && w.version == v.version)
            {
                shadowed.push(v);
            } else {
                versions.push(v);
            }
        }
    }
    versions.sort_by(|a, b| a.version.cmp(&b.version));
    if let (true, Some((generation, listed))) = (versions.is_empty(), unsupported) {
        return Err(ResolveError::UnsupportedFormat {
            label: label.clone(),
            location: location.to_owned(),
            generation,
            versions: listed.into_iter().map(|v| v.version).collect(),
        });
    }
    if versions.is_empty() {
        return Err(ResolveError::NoSuchAtom {
            label: label.clone(),
            location: location.to_owned(),
        });
    }
    let matching: Vec<ListedVersion> = versions
        .iter()
        .filter(|v| Requirement::accepts(requirement, &v.version))
        .cloned()
        .collect();
    match matching.last() {
        Some(selected) => Ok(Resolution {
            label: label.clone(),
            selected: selected.clone(),
            matching,
            shadowed,
        }),
        None => Err(ResolveError::NoMatch {
            label: label.clone(),
            location: location.to_owned(),
            requirement: requirement.map_or_else(|| "*".to_owned(), ToString::to_string),
            available: versions.into_iter().map(|v| v.version).collect(),
        }),
    }
}

/// Checks that `commit` is a well-formed atom commit for `atom` in its format, using only the
/// commit and its tree: an orphan with the fixed identity, exactly the format's headers in
/// order, its format value, a valid path (format 1), the right message, a manifest declaring
/// the label and version the ref names, and bytes that re-serialise to the same id. Returns the
/// findings; empty means the atom is well-formed. Provenance (the source history, eka's
/// metadata refs) is not checked: a client that fetched only the atom does not have it.
pub fn check_structure(store: &GitStore, atom: &AtomRef, commit: Oid) -> Vec<String> {
    match crate::verify::structure::check_structure(store, atom, commit) {
        Ok(structure) => structure.findings.iter().map(ToString::to_string).collect(),
        Err(missing) => vec![missing.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, fill: &str) -> RemoteRef {
        RemoteRef {
            name: crate::refs::RefName::new(name).unwrap(),
            oid: fill.repeat(40).parse().unwrap(),
            peeled: None,
        }
    }

    #[test]
    fn an_atom_only_in_an_unsupported_generation_is_named_so() {
        let legacy = [
            r("refs/atoms/nix-lock/0.1.0", "1"),
            r("refs/atoms/nix-lock/_specs/0.1.0", "2"),
            r("refs/atoms/nix-lock/_srcs/0.1.0", "3"),
        ];
        let label: Label = "nix-lock".parse().unwrap();
        let err = resolve(&legacy, &label, None, "srv:mono").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`nix-lock` at srv:mono is published only in the eka tool's first format (eka/1) \
             (0.1.0), which atom does not read: republish it with `git atom publish`"
        );
        // Once republished by this suite, its own versions are candidates, the old ones never.
        let mut both = legacy.to_vec();
        both.push(r("refs/atoms/nix-lock/0.0.9", "4"));
        let resolution = resolve(&both, &label, None, "srv:mono").unwrap();
        assert_eq!(resolution.selected.version.to_string(), "0.0.9");
        assert_eq!(resolution.matching.len(), 1);
    }

    #[test]
    fn picks_the_highest_match() {
        let refs = [
            r("refs/atoms/foo/0.1.2", "1"),
            r("refs/atoms/foo/0.1.10", "2"),
            r("refs/atoms/foo/1.0.0-rc.1", "3"),
            r("refs/atoms/foo/0.2.0", "4"),
            r("refs/atoms/bar/9.0.0", "5"),
        ];
        let foo: Label = "foo".parse().unwrap();
        let pick = |req: Option<&str>| {
            let req = req.map(|r| r.parse::<Requirement>().unwrap());
            resolve(&refs, &foo, req.as_ref(), "there").map(|r| {
                let m: Vec<String> = r.matching.iter().map(|v| v.version.to_string()).collect();
                (r.selected.version.to_string(), m.join(" "))
            })
        };
        assert_eq!(
            pick(None).unwrap(),
            ("0.2.0".into(), "0.1.2 0.1.10 0.2.0".into())
        );
        assert_eq!(pick(Some("0.1")).unwrap().0, "0.1.10");
        assert_eq!(pick(Some("=1.0.0-rc.1")).unwrap().0, "1.0.0-rc.1");
        assert_eq!(
            pick(Some("^2")).unwrap_err().to_string(),
            "no version of `foo` at there matches `^2` (available: 0.1.2, 0.1.10, 0.2.0, 1.0.0-rc.1)"
        );
        let nope: Label = "nope".parse().unwrap();
        assert_eq!(
            resolve(&refs, &nope, None, "there")
                .unwrap_err()
                .to_string(),
            "no atom `nope` at there"
        );
    }

    #[test]
    fn eka_versions_merge_with_format_one_winning_per_version() {
        let refs = [
            r("refs/eka/atoms/foo/0.1.2", "1"),
            r("refs/eka/atoms/foo/0.1.3", "2"),
            r("refs/atoms/foo/0.1.3", "3"),
            r("refs/atoms/foo/0.2.0", "4"),
            r("refs/eka/atoms/foo/0.3.0-rc.1", "5"),
            r("refs/eka/atoms/bar/1.0.0", "6"),
        ];
        let foo: Label = "foo".parse().unwrap();
        let pick = |req: Option<&str>| {
            let req = req.map(|r| r.parse::<Requirement>().unwrap());
            let r = resolve(&refs, &foo, req.as_ref(), "there").unwrap();
            let m: Vec<String> = r
                .matching
                .iter()
                .map(|v| v.atom_ref(&foo).name().to_string())
                .collect();
            let s: Vec<String> = r
                .shadowed
                .iter()
                .map(|v| v.atom_ref(&foo).name().to_string())
                .collect();
            (r.selected_ref().name(), m, s)
        };
        let (selected, matching, shadowed) = pick(Some("^0.1"));
        // 0.1.3 exists in both formats: format 1's is offered, eka's is shadowed.
        assert_eq!(selected, "refs/atoms/foo/0.1.3");
        assert_eq!(
            matching,
            ["refs/eka/atoms/foo/0.1.2", "refs/atoms/foo/0.1.3"]
        );
        assert_eq!(shadowed, ["refs/eka/atoms/foo/0.1.3"]);
        assert_eq!(pick(Some("=0.1.2")).0, "refs/eka/atoms/foo/0.1.2");
        assert_eq!(
            pick(Some(">=0.3.0-rc.1")).0,
            "refs/eka/atoms/foo/0.3.0-rc.1"
        );
        assert_eq!(pick(None).0, "refs/atoms/foo/0.2.0");
        // A label with eka versions only.
        let bar: Label = "bar".parse().unwrap();
        let only = resolve(&refs, &bar, None, "there").unwrap();
        assert_eq!(only.selected_ref().name(), "refs/eka/atoms/bar/1.0.0");
        assert_eq!(
            resolve(&refs, &foo, Some(&"^2".parse().unwrap()), "there")
                .unwrap_err()
                .to_string(),
            "no version of `foo` at there matches `^2` (available: 0.1.2, 0.1.3, 0.2.0, 0.3.0-rc.1)"
        );
    }
}
