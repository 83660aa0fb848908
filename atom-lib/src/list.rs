//! Listing atoms from a ref listing: local refs, or a remote's over protocol v2 with
//! server-side `ref-prefix` filtering, grouped per atom in semver precedence order.

use std::collections::BTreeSet;
use std::fmt;

use crate::commit::Format;
use crate::format::{Unsupported, RECORDED_ROOT_KEY};
use crate::refs::{
    AtomRef, AtomRefError, ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX, EKA_ROOT_REF, ROOT_REF,
};
use crate::store::RemoteRef;
use crate::{AtomId, GitStore, Label, Oid, Root, StoreError, Version};

/// A label pattern: `*` matches any run of characters, `?` one character; anything else is
/// literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// A pattern; it is matched against NFKC-normalised labels.
    pub fn new(pattern: &str) -> Self {
        use unicode_normalization::UnicodeNormalization;
        Pattern(pattern.nfkc().collect())
    }

    /// Whether `label` matches.
    pub fn matches(&self, label: &str) -> bool {
        fn go(p: &[char], s: &[char]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
                Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
                Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
            }
        }
        let p: Vec<char> = self.0.chars().collect();
        let s: Vec<char> = label.chars().collect();
        go(&p, &s)
    }

    /// The ref prefix under `base` that every matching ref has: the literal part before the
    /// first wildcard, or `<label>/` for a pattern without wildcards.
    pub fn ref_prefix(&self, base: &str) -> String {
        match self.0.find(['*', '?']) {
            Some(i) => format!("{base}{}", &self.0[..i]),
            None => format!("{base}{}/", self.0),
        }
    }
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    /// The version.
    pub version: Version,
    /// The atom commit the ref points at.
    pub commit: Oid,
    /// The layout of the ref it was listed under.
    pub format: Format,
    /// Set when the listing shows the version is in a generation this suite does not read
    /// (resolution skips it).
    pub unsupported: Option<Unsupported>,
}

impl ListedVersion {
    /// The atom ref this version was listed under.
    pub fn atom_ref(&self, label: &Label) -> AtomRef {
        AtomRef {
            format: self.format,
            label: label.clone(),
            version: self.version.clone(),
        }
    }
}

/// One atom with all its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAtom {
    /// The label.
    pub label: Label,
    /// The layout its refs use.
    pub format: Format,
    /// Set when these versions are in a generation this suite recognises but does not read.
    pub unsupported: Option<Unsupported>,
    /// The atomic number, when the repository root is known (never for an unsupported
    /// generation: how it numbered atoms is not this suite's to say).
    pub id: Option<AtomId>,
    /// Versions in ascending semver precedence.
    pub versions: Vec<ListedVersion>,
}

/// The atoms of one ref listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Atoms sorted by label, then format.
    pub atoms: Vec<ListedAtom>,
    /// The repository root format-1 atoms are numbered from: `refs/atoms/_root`, else
    /// `refs/ekala/init`, else the root computed locally.
    pub root: Option<Root>,
    /// The root eka atoms are numbered from: `refs/ekala/init`, else as [`Listing::root`].
    pub eka_root: Option<Root>,
    /// Refs under an atom prefix that are not valid atom refs.
    pub malformed: Vec<AtomRefError>,
    /// What a reader of the listing should be told, once.
    pub warnings: Vec<ListingWarning>,
}

/// Something wrong with a listing that does not stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingWarning {
    /// Both identity refs exist and name different commits; each format's atoms are numbered
    /// from its own.
    IdentityRefsDisagree {
        /// `refs/atoms/_root`.
        atom1: Oid,
        /// `refs/ekala/init`.
        eka: Oid,
    },
}

impl fmt::Display for ListingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListingWarning::IdentityRefsDisagree { atom1, eka } => write!(
                f,
                "the repository's identity refs disagree: {ROOT_REF} is {atom1}, \
                 {EKA_ROOT_REF} is {eka}; eka atoms are numbered from {EKA_ROOT_REF}"
            ),
        }
    }
}

/// The roots each format's atoms are numbered from, by the rule of `docs/format.md` ("Refs"):
/// each format's own identity ref, else the other format's, else `fallback`. Returns
/// (format 1, eka), and a warning when both identity refs exist and disagree.
pub fn roots(
    atom1: Option<Oid>,
    eka: Option<Oid>,
    fallback: Option<Oid>,
) -> (Option<Root>, Option<Root>, Option<ListingWarning>) {
    let warning = match (atom1, eka) {
        (Some(atom1), Some(eka)) if atom1 != eka => {
            Some(ListingWarning::IdentityRefsDisagree { atom1, eka })
        }
        _ => None,
    };
    (
        atom1.or(eka).or(fallback).map(Root),
        eka.or(atom1).or(fallback).map(Root),
        warning,
    )
}

/// Which atom refs of a listing belong to a generation of the eka tool this suite recognises but
/// does not read. Its first generation shares this suite's layout
/// (`refs/atoms/<label>/<version>`); its metadata refs (`refs/atoms/<label>/_specs/<version>`,
/// `.../_srcs/<version>`) tell its atoms apart.
#[derive(Debug, Default)]
pub struct Generations {
    /// `<label>/<version>` of every atom with eka/1 metadata refs.
    eka1: BTreeSet<String>,
}

impl Generations {
    /// Reads the metadata refs of `refs`.
    pub fn from_refs(refs: &[RemoteRef]) -> Self {
        Generations {
            eka1: refs
                .iter()
                .filter_map(|r| crate::refs::eka1_meta_of(r.name.as_str()))
                .collect(),
        }
    }

    /// The unsupported generation `atom` was published in, if the listing shows one.
    pub fn unsupported(&self, atom: &AtomRef) -> Option<Unsupported> {
        // Most listings have none: no name is built per atom then.
        (!self.eka1.is_empty()
            && atom.format == Format::Atom1
            && self
                .eka1
                .contains(&format!("{}/{}", atom.label, atom.version)))
        .then_some(Unsupported::Eka1)
    }

    /// Whether `r` is one of those generations' metadata refs (not an atom, not malformed).
    pub fn is_metadata(r: &RemoteRef) -> bool {
        crate::refs::eka1_meta_of(r.name.as_str()).is_some()
    }
}

impl Listing {
    /// The root `format`'s atoms are numbered from.
    pub fn root_of(&self, format: Format) -> Option<Root> {
        match format {
            Format::Atom1 => self.root,
            Format::EkaPre1 => self.eka_root,
        }
    }

    /// Groups `refs` into atoms, keeping those whose label matches any of `patterns` (all when
    /// empty). Each format's atoms are numbered from its own identity ref (see [`roots`]);
    /// `fallback_root` is used when the listing carries neither.
    pub fn from_refs(refs: &[RemoteRef], patterns: &[Pattern], fallback_root: Option<Oid>) -> Self {
        let find = |name: &str| refs.iter().find(|r| r.name == name).map(|r| r.target());
        let (root, eka_root, warning) = roots(find(ROOT_REF), find(EKA_ROOT_REF), fallback_root);
        let generations = Generations::from_refs(refs);
        // Parsed into one vector, sorted by atom then version, and cut into runs: a vector of
        // exactly its versions per atom (a listing of 50,000 atoms is mostly this).
        let mut parsed: Vec<(Label, ListedVersion)> = Vec::with_capacity(refs.len());
        let mut malformed = Vec::new();
        for r in refs {
            match AtomRef::parse(r.name.as_str()) {
                Ok(Some(atom)) => {
                    if patterns.is_empty()
                        || patterns.iter().any(|p| p.matches(atom.label.as_str()))
                    {
                        let unsupported = generations.unsupported(&atom);
                        parsed.push((
                            atom.label,
                            ListedVersion {
                                version: atom.version,
                                commit: r.target(),
                                format: atom.format,
                                unsupported,
                            },
                        ));
                    }
                }
                Ok(None) => {}
                Err(_) if Generations::is_metadata(r) => {}
                Err(e) => malformed.push(e),
            }
        }
        parsed.sort_by(|a, b| {
            (&a.0, a.1.format, a.1.unsupported)
                .cmp(&(&b.0, b.1.format, b.1.unsupported))
                .then_with(|| a.1.version.cmp(&b.1.version))
        });
        let numberings = (root.map(|r| r.numbering()), eka_root.map(|r| r.numbering()));
        let mut atoms: Vec<ListedAtom> = Vec::new();
        let mut rest = parsed.into_iter().peekable();
        while let Some((label, first)) = rest.next() {
            let (format, unsupported) = (first.format, first.unsupported);
            let mut versions = vec![first];
            while let Some((_, v)) = rest.next_if(|next| {
                next.0 == label && next.1.format == format && next.1.unsupported == unsupported
            }) {
                versions.push(v);
            }
            let numbering = match format {
                Format::Atom1 => &numberings.0,
                Format::EkaPre1 => &numberings.1,
            };
            atoms.push(ListedAtom {
                id: numbering
                    .as_ref()
                    .filter(|_| unsupported.is_none())
                    .map(|n| n.atom_id(&label)),
                label,
                format,
                unsupported,
                versions,
            });
        }
        Listing {
            atoms,
            root,
            eka_root,
            malformed,
            warnings: warning.into_iter().collect(),
        }
    }
}

/// The local repository's atoms.
pub fn local(store: &GitStore, patterns: &[Pattern]) -> Result<Listing, StoreError> {
    let mut refs = Vec::new();
    for prefix in [ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX] {
        refs.extend(store.refs_with_prefix(prefix)?);
    }
    if let Some(oid) = store.find_ref(&crate::refs::RefName::eka_root())? {
        refs.push(RemoteRef {
            name: crate::refs::RefName::eka_root(),
            oid,
            peeled: None,
        });
    }
    if let Some(oid) = recorded_root(store)? {
        refs.push(RemoteRef {
            name: crate::refs::RefName::root(),
            oid,
            peeled: None,
        });
    }
    // Walking HEAD's history costs its length: only when no identity ref says the root.
    let has_root = refs
        .iter()
        .any(|r| r.name == ROOT_REF || r.name == EKA_ROOT_REF);
    // No atom here needs no root; a shallow clone's history may not reach it (then the ids are
    // unknown until `git atom fetch` brings the remote's `_root`).
    let fallback = match store.head_commit() {
        Some(head) if !has_root && !refs.is_empty() => match store.first_parent_root(head) {
            Ok(root) => Some(root),
            Err(StoreError::Shallow { commit }) => {
                tracing::warn!("the history stops at {commit} (a shallow clone): ids unknown");
                None
            }
            Err(e) => return Err(e),
        },
        _ => None,
    };
    tracing::info!(refs = refs.len(), "listed the local repository");
    Ok(Listing::from_refs(&refs, patterns, fallback))
}

/// The root of the repository whose history holds `head`: the first-parent root of that
/// history, else, in a shallow clone whose history stops short of it, the root recorded here
/// ([`recorded_root`], which `git atom fetch` brings from the remote).
pub fn history_root(store: &GitStore, head: Oid) -> Result<Oid, StoreError> {
    match store.first_parent_root(head) {
        Err(shallow @ StoreError::Shallow { .. }) => recorded_root(store)?.ok_or(shallow),
        other => other,
    }
}

/// The root this repository's atoms are numbered from, as recorded: its `refs/atoms/_root`,
/// else, in a clone made with `git clone atom::<uri>`, the publisher's root the remote helper
/// recorded under `atom.root` ([`RECORDED_ROOT_KEY`]). `None` when neither is recorded (the
/// root is then that of `HEAD`'s history). A recorded value that is not an object id is an
/// error naming the key.
pub fn recorded_root(store: &GitStore) -> Result<Option<Oid>, StoreError> {
    if let Some(oid) = store.find_ref(&crate::refs::RefName::root())? {
        return Ok(Some(oid));
    }
    let Some(value) = store.config()?.string(RECORDED_ROOT_KEY) else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<Oid>()
        .map(Some)
        .map_err(|_| StoreError::Ref {
            name: RECORDED_ROOT_KEY.to_owned(),
            what: format!(
            "`{}` is not an object id (remove it with `git config --unset {RECORDED_ROOT_KEY}`)",
            crate::escape::escaped(&value)
        ),
            source: None,
        })
}

/// The ref prefixes a remote listing asks for.
pub fn remote_prefixes(patterns: &[Pattern]) -> Vec<String> {
    let mut prefixes = vec![ROOT_REF.to_owned(), EKA_ROOT_REF.to_owned()];
    for base in [ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX] {
        if patterns.is_empty() {
            prefixes.push(base.to_owned());
        } else {
            prefixes.extend(patterns.iter().map(|p| p.ref_prefix(base)));
        }
    }
    prefixes
}

/// A remote's atoms, from one ref listing filtered by the server.
pub fn remote(store: &GitStore, remote: &str, patterns: &[Pattern]) -> Result<Listing, StoreError> {
    let prefixes = remote_prefixes(patterns);
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let refs = store.list_remote(remote, &prefixes)?;
    tracing::info!(remote, refs = refs.len(), "listed the remote");
    Ok(Listing::from_refs(&refs, patterns, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, oid: &str) -> RemoteRef {
        RemoteRef {
            name: crate::refs::RefName::new(name).unwrap(),
            oid: oid.repeat(40).parse().unwrap(),
            peeled: None,
        }
    }

    #[test]
    fn patterns() {
        let p = Pattern::new("fo*");
        assert!(p.matches("foo") && p.matches("fo") && !p.matches("bar"));
        assert!(Pattern::new("f?o").matches("foo") && !Pattern::new("f?o").matches("fo"));
        assert_eq!(p.ref_prefix("refs/atoms/"), "refs/atoms/fo");
        assert_eq!(
            Pattern::new("foo").ref_prefix("refs/atoms/"),
            "refs/atoms/foo/"
        );
    }

    #[test]
    fn groups_in_precedence_order() {
        let refs = [
            r("refs/atoms/foo/0.1.2", "1"),
            r("refs/atoms/foo/0.1.10", "2"),
            r("refs/atoms/foo/1.0.0-rc.1", "3"),
            r("refs/atoms/bar/1.0.0", "4"),
            r("refs/eka/atoms/foo/0.0.1", "5"),
            r("refs/atoms/_root", "6"),
            r("refs/atoms/9bad/1.0.0", "7"),
            // A reserved name this version does not know is skipped, not malformed.
            r("refs/atoms/_sig/foo/1.0.0", "8"),
        ];
        let listing = Listing::from_refs(&refs, &[], None);
        let shown: Vec<String> = listing
            .atoms
            .iter()
            .map(|a| {
                let versions: Vec<String> =
                    a.versions.iter().map(|v| v.version.to_string()).collect();
                format!("{} {} {}", a.label, a.format, versions.join(" "))
            })
            .collect();
        assert_eq!(
            shown,
            [
                "bar atom/1 1.0.0",
                "foo atom/1 0.1.2 0.1.10 1.0.0-rc.1",
                "foo eka/pre1 0.0.1"
            ]
        );
        assert_eq!(listing.root.unwrap().0.to_string(), "6".repeat(40));
        assert_eq!(listing.malformed.len(), 1);
        let only_bar = Listing::from_refs(&refs, &[Pattern::new("b*")], None);
        assert_eq!(only_bar.atoms.len(), 1);
    }

    #[test]
    fn the_eka_tools_first_generation_is_listed_as_unsupported() {
        // Its atoms share this format's layout; its metadata refs tell them apart, and are
        // neither atoms nor malformed.
        let refs = [
            r("refs/atoms/_root", "9"),
            r("refs/atoms/nix-lock/0.1.0", "1"),
            r("refs/atoms/nix-lock/_specs/0.1.0", "2"),
            r("refs/atoms/nix-lock/_srcs/0.1.0", "3"),
            r("refs/atoms/nix-lock/0.2.0", "4"),
            r("refs/atoms/nix-lock/_specs/0.2.0", "5"),
            r("refs/atoms/nix-lock/_srcs/0.2.0", "6"),
            // The same label later published by this suite: its own atom.
            r("refs/atoms/nix-lock/1.0.0", "7"),
            r("refs/atoms/other/_specs/not-a-version", "8"),
        ];
        let listing = Listing::from_refs(&refs, &[], None);
        let shown: Vec<String> = listing
            .atoms
            .iter()
            .map(|a| {
                let versions: Vec<String> = a
                    .versions
                    .iter()
                    .map(|v| {
                        format!(
                            "{}{}",
                            v.version,
                            if v.unsupported.is_some() { "!" } else { "" }
                        )
                    })
                    .collect();
                let generation = a.unsupported.map_or("-", Unsupported::name);
                format!(
                    "{} {} {generation} {} {}",
                    a.label,
                    a.format,
                    a.id.is_some(),
                    versions.join(" ")
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "nix-lock atom/1 - true 1.0.0",
                "nix-lock atom/1 eka/1 false 0.1.0! 0.2.0!",
            ]
        );
        // Only the ref that is neither an atom nor a known metadata ref is malformed.
        let malformed: Vec<String> = listing.malformed.iter().map(ToString::to_string).collect();
        assert_eq!(malformed.len(), 1, "{malformed:?}");
        assert!(
            malformed[0].contains("refs/atoms/other/_specs/not-a-version"),
            "{malformed:?}"
        );
    }

    fn ids(listing: &Listing) -> Vec<(String, String)> {
        listing
            .atoms
            .iter()
            .map(|a| (a.format.to_string(), a.id.unwrap().to_string()))
            .collect()
    }

    #[test]
    fn each_format_is_numbered_from_its_own_identity_ref() {
        let label: Label = "nix-lock".parse().unwrap();
        let id = |fill: &str| Root(fill.repeat(40).parse().unwrap()).atom_id(&label);
        let atoms = [
            r("refs/atoms/nix-lock/1.0.0", "1"),
            r("refs/eka/atoms/nix-lock/0.1.0", "2"),
        ];
        let with = |extra: &[RemoteRef]| {
            let mut refs = atoms.to_vec();
            refs.extend_from_slice(extra);
            Listing::from_refs(&refs, &[], Some("f".repeat(40).parse().unwrap()))
        };
        // Both identity refs, disagreeing: each format its own, and one warning naming both.
        let both = with(&[r(ROOT_REF, "a"), r(EKA_ROOT_REF, "b")]);
        assert_eq!(
            ids(&both),
            [
                ("atom/1".into(), id("a").to_string()),
                ("eka/pre1".into(), id("b").to_string())
            ]
        );
        assert_eq!(
            both.warnings,
            [ListingWarning::IdentityRefsDisagree {
                atom1: "a".repeat(40).parse().unwrap(),
                eka: "b".repeat(40).parse().unwrap(),
            }]
        );
        assert_eq!(
            both.warnings[0].to_string(),
            format!(
                "the repository's identity refs disagree: refs/atoms/_root is {}, \
                 refs/ekala/init is {}; eka atoms are numbered from refs/ekala/init",
                "a".repeat(40),
                "b".repeat(40)
            )
        );
        assert_eq!(both.root_of(Format::EkaPre1), both.eka_root);
        // Agreeing: no warning.
        let agree = with(&[r(ROOT_REF, "a"), r(EKA_ROOT_REF, "a")]);
        assert!(agree.warnings.is_empty());
        assert_eq!(ids(&agree)[0].1, ids(&agree)[1].1);
        // Only one of them: it numbers both formats, without a warning.
        for only in [r(ROOT_REF, "c"), r(EKA_ROOT_REF, "c")] {
            let one = with(std::slice::from_ref(&only));
            assert!(one.warnings.is_empty(), "{}", only.name);
            assert_eq!(
                ids(&one),
                [
                    ("atom/1".into(), id("c").to_string()),
                    ("eka/pre1".into(), id("c").to_string())
                ],
                "{}",
                only.name
            );
        }
        // Neither: the fallback (the root computed locally).
        let neither = with(&[]);
        assert_eq!(ids(&neither)[1].1, id("f").to_string());
        assert!(neither.warnings.is_empty());
    }
}
