//! Verification: proving that a published atom is exactly what the format says it is.
//!
//! For each atom: the commit is re-serialised from its fields and must hash to the same id; its
//! parents, identity, timestamps, headers, format version and message are checked; its manifest
//! must declare the label and version its ref names; its tree must equal the tree at the recorded
//! path in the recorded source commit; and the source commit's first parents must lead to the
//! repository's root (its identity), the same rule publishing applies. Findings are data
//! ([`Finding`]); the command line turns them into words.

use std::str::FromStr;

use crate::commit::{
    AtomCommit, AtomPath, AtomPathError, Format, RawCommit, EKA_IDENTITY, FORMAT_VERSION,
    HEADER_FORMAT, HEADER_PATH, HEADER_SOURCE, IDENTITY,
};
use crate::list::{self, ListedAtom};
use crate::manifest::{Manifest, Schema, MANIFEST_FILE};
use crate::refs::{AtomRef, EKA_ROOT_REF, ROOT_REF};
use crate::scan;
use crate::store::EntryKind;
use crate::{GitStore, Label, LabelError, Oid, StoreError, Version, VersionError};

/// Which atoms to verify: `label` or `label@version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The label.
    pub label: Label,
    /// One version, or all of them.
    pub version: Option<Version>,
}

/// Why a target argument is invalid.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Bad label.
    #[error(transparent)]
    Label(#[from] LabelError),
    /// Bad version.
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (label, version) = match s.split_once('@') {
            Some((l, v)) => (l, Some(Version::new(v)?)),
            None => (s, None),
        };
        Ok(Target {
            label: Label::new(label)?,
            version,
        })
    }
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The atoms; every local atom when empty.
    pub targets: Vec<Target>,
    /// Fetch missing objects from this remote.
    pub remote: Option<String>,
}

/// Why an atom is not what the format says it is. The CLI renders these; each carries the data
/// it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Finding {
    /// The atom commit has parents.
    #[error("has {count} parent(s): an atom commit must be an orphan")]
    Parents {
        /// How many.
        count: usize,
    },
    /// The author or committer is not the fixed identity.
    #[error("{role} is `{found}`, expected `{expected}`")]
    Identity {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// The author or committer time is not the epoch.
    #[error("{role} timestamp is `{found}`, expected `{expected}` (the Unix epoch)")]
    Timestamp {
        /// `author` or `committer`.
        role: &'static str,
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// A header that must appear exactly once is missing or repeated.
    #[error("missing or repeated `{name}` header")]
    MissingOrRepeated {
        /// The header.
        name: &'static str,
    },
    /// A header the format does not define.
    #[error("unexpected header `{name}`")]
    UnexpectedHeader {
        /// The header.
        name: String,
    },
    /// The headers are not in the format's order.
    #[error("headers out of order: expected {}", .expected.join(", "))]
    HeadersOutOfOrder {
        /// The order required.
        expected: Vec<&'static str>,
    },
    /// A header is missing.
    #[error("missing `{name}` header")]
    MissingHeader {
        /// The header.
        name: &'static str,
    },
    /// A header is missing or its value is not an object id.
    #[error("missing or invalid `{name}` header")]
    InvalidHeader {
        /// The header.
        name: &'static str,
    },
    /// The format version is not the one the ref's layout uses.
    #[error("unknown format version `{found}` (this tool reads `{expected}`)")]
    UnknownFormat {
        /// What the commit says.
        found: String,
        /// What this tool reads.
        expected: &'static str,
    },
    /// The recorded path is not a valid atom path.
    #[error(transparent)]
    Path(#[from] AtomPathError),
    /// The commit message is not the format's.
    #[error("message is {found:?}, expected {expected:?}")]
    Message {
        /// What the commit says.
        found: String,
        /// What the format requires.
        expected: String,
    },
    /// The atom's tree has no manifest.
    #[error("the atom's tree has no regular `atom.toml`")]
    NoManifest,
    /// The manifest cannot be read.
    #[error("{0}")]
    InvalidManifest(String),
    /// The manifest names another atom than the ref.
    #[error("manifest declares {label}@{version} but the ref names {atom}")]
    ManifestMismatch {
        /// The declared label.
        label: Label,
        /// The declared version.
        version: Version,
        /// The atom the ref names.
        atom: AtomRef,
    },
    /// The commit's bytes are not what its fields produce.
    #[error("not reproducible: rebuilt from its fields the commit is {rebuilt}, not {commit}")]
    NotReproducible {
        /// The id of the rebuilt commit.
        rebuilt: Oid,
        /// The atom commit.
        commit: Oid,
    },
    /// The tree differs from the source's tree at the recorded path.
    #[error("tree {tree} differs from `{path}` in source commit {} ({found})", .source_commit.short(12))]
    TreeDiffers {
        /// The atom's tree.
        tree: Oid,
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
        /// What the source has there.
        found: Oid,
    },
    /// The recorded path does not exist in the source.
    #[error("`{path}` does not exist in source commit {}", .source_commit.short(12))]
    PathMissing {
        /// The recorded path.
        path: AtomPath,
        /// The source commit.
        source_commit: Oid,
    },
    /// (pre1) The tree is no directory of the source.
    #[error("tree {tree} is not a directory of source commit {}", .source_commit.short(12))]
    NotInSource {
        /// The atom's tree.
        tree: Oid,
        /// The source commit.
        source_commit: Oid,
    },
    /// The source commit cannot be read as a commit.
    #[error("source {source_commit}: {error}")]
    BadSource {
        /// The source commit.
        source_commit: Oid,
        /// What is wrong.
        error: String,
    },
    /// The recorded repository root has parents.
    #[error("the recorded repository root {root} is not a root commit")]
    RootNotRoot {
        /// The recorded root.
        root: Oid,
    },
    /// The repository root cannot be read.
    #[error("repository root: {error}")]
    BadRoot {
        /// What is wrong.
        error: String,
    },
    /// The source's first-parent root is not the repository's identity.
    #[error("source commit {} does not descend from the repository root {} by first parents (its first-parent root is {})", .source_commit.short(12), .root.short(12), .found.short(12))]
    NotDescended {
        /// The source commit.
        source_commit: Oid,
        /// The repository's identity.
        root: Oid,
        /// The root its first parents lead to.
        found: Oid,
    },
    /// Neither an identity ref nor `HEAD` says what the repository root is.
    #[error("the repository root is unknown (no refs/atoms/_root and no HEAD)")]
    RootUnknown,
    /// An object could not be read.
    #[error("{0}")]
    Store(String),
}

/// Why an atom could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverifiable {
    /// An object the checks need is not in the repository.
    #[error("{what} {oid} is missing")]
    Missing {
        /// `atom commit`, `tree` or `source commit`.
        what: &'static str,
        /// The object.
        oid: Oid,
    },
    /// The repository could not be read.
    #[error("{0}")]
    Store(String),
}

/// The verdict on one atom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Checks failed.
    Failed(Vec<Finding>),
    /// The atom could not be checked.
    Unverifiable(Unverifiable),
}

/// One verified atom.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The atom.
    pub atom: AtomRef,
    /// Its commit.
    pub commit: Oid,
    /// The source commit it names, if it could be read.
    pub source: Option<Oid>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The result of a verification run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// One entry per atom, sorted by label, format and version.
    pub atoms: Vec<Checked>,
}

impl Outcome {
    /// `0` all verified, `1` any failed, `2` any could not be verified (and none failed).
    pub fn exit_code(&self) -> u8 {
        if self
            .atoms
            .iter()
            .any(|a| matches!(a.verdict, Verdict::Failed(_)))
        {
            1
        } else if self
            .atoms
            .iter()
            .any(|a| matches!(a.verdict, Verdict::Unverifiable(_)))
        {
            2
        } else {
            0
        }
    }
}

/// Why verification could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested atom has no local ref.
    #[error("no atom `{target}` in this repository")]
    NoSuchAtom {
        /// The target as given.
        target: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies the atoms selected by `options`.
pub fn verify(store: &GitStore, options: &Options) -> Result<Outcome, Error> {
    let listing = list::local(store, &[])?;
    let mut selected: Vec<(AtomRef, Oid)> = Vec::new();
    let push =
        |selected: &mut Vec<(AtomRef, Oid)>, atom: &ListedAtom, version: Option<&Version>| {
            for v in atom
                .versions
                .iter()
                .filter(|v| version.is_none_or(|want| &v.version == want))
            {
                let r = AtomRef {
                    format: atom.format,
                    label: atom.label.clone(),
                    version: v.version.clone(),
                };
                if !selected.iter().any(|(s, _)| s == &r) {
                    selected.push((r, v.commit));
                }
            }
        };
    if options.targets.is_empty() {
        for atom in &listing.atoms {
            push(&mut selected, atom, None);
        }
    } else {
        for target in &options.targets {
            let before = selected.len();
            for atom in listing.atoms.iter().filter(|a| a.label == target.label) {
                push(&mut selected, atom, target.version.as_ref());
            }
            let found = selected.len() > before
                || selected.iter().any(|(r, _)| {
                    r.label == target.label
                        && target.version.as_ref().is_none_or(|v| &r.version == v)
                });
            if !found {
                return Err(Error::NoSuchAtom {
                    target: match &target.version {
                        Some(v) => format!("{}@{v}", target.label),
                        None => target.label.to_string(),
                    },
                });
            }
        }
    }
    let mut atoms = Vec::with_capacity(selected.len());
    for (atom, commit) in selected {
        let _span = tracing::info_span!("verify", %atom).entered();
        atoms.push(check(store, &atom, commit, options.remote.as_deref()));
    }
    atoms.sort_by(|a, b| {
        (&a.atom.label, a.atom.format, &a.atom.version).cmp(&(
            &b.atom.label,
            b.atom.format,
            &b.atom.version,
        ))
    });
    Ok(Outcome { atoms })
}

/// Ensures `oid` is present, fetching `what` from `remote` if allowed. `Ok(false)` if it stays
/// missing.
fn ensure(
    store: &GitStore,
    oid: Oid,
    remote: Option<&str>,
    what: &str,
) -> Result<bool, StoreError> {
    if store.has_object(oid) {
        return Ok(true);
    }
    let Some(remote) = remote else {
        return Ok(false);
    };
    tracing::info!(%oid, remote, "fetching missing object");
    store.fetch_objects(remote, &[what.to_owned()])?;
    Ok(store.has_object(oid))
}

/// What the structural checks found out about an atom commit.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    /// Every violated rule; empty means well-formed.
    pub findings: Vec<Finding>,
    /// The atom's tree, if the `tree` header is valid.
    pub tree: Option<Oid>,
    /// The source commit named by the commit, if valid.
    pub source: Option<Oid>,
    /// The recorded path (format 1), if valid.
    pub path: Option<AtomPath>,
}

/// The checks that need only the atom commit and its tree (format.md, section 8, items 1-6):
/// an orphan with the fixed identity, exactly the format's headers in order, a known format
/// version, the right message, a manifest naming the atom the ref names, and bytes that
/// re-serialise to the same id. Provenance (the source history) is not looked at, so a client
/// that fetched only the atom can run them before accepting it.
pub fn check_structure(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
) -> Result<Structure, Unverifiable> {
    let mut structure = Structure::default();
    let bytes = match store.read_commit_raw(commit) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(Unverifiable::Missing {
                what: "atom commit",
                oid: commit,
            })
        }
        Err(e) => {
            structure.findings.push(Finding::Store(e.to_string()));
            return Ok(structure);
        }
    };
    let findings = &mut structure.findings;
    let Some(raw) = RawCommit::parse(&bytes) else {
        findings.push(Finding::Store("not a well-formed commit object".into()));
        return Ok(structure);
    };

    let (identity, expected_headers): (&'static str, &[&'static str]) = match atom.format {
        Format::Atom1 => (
            IDENTITY,
            &[
                "tree",
                "author",
                "committer",
                HEADER_FORMAT,
                HEADER_SOURCE,
                HEADER_PATH,
            ],
        ),
        Format::EkaPre1 => (
            EKA_IDENTITY,
            &["tree", "author", "committer", "origin", "format"],
        ),
    };
    let parents = raw.all("parent").count();
    if parents > 0 {
        findings.push(Finding::Parents { count: parents });
    }
    for role in ["author", "committer"] {
        match raw.one(role) {
            Some(v) if v == identity => {}
            Some(v) => {
                let (who, when) = split_ident(v);
                let (want_who, want_when) = split_ident(identity);
                if who != want_who {
                    findings.push(Finding::Identity {
                        role,
                        found: who.to_owned(),
                        expected: want_who,
                    });
                }
                if when != want_when {
                    findings.push(Finding::Timestamp {
                        role,
                        found: when.to_owned(),
                        expected: want_when,
                    });
                }
            }
            None => findings.push(Finding::MissingOrRepeated { name: role }),
        }
    }
    let names: Vec<&str> = raw
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "parent")
        .collect();
    for name in &names {
        if !expected_headers.contains(name) {
            findings.push(Finding::UnexpectedHeader {
                name: (*name).to_owned(),
            });
        }
    }
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| expected_headers.contains(n))
        .collect();
    if present != expected_headers && expected_headers.iter().all(|h| raw.one(h).is_some()) {
        findings.push(Finding::HeadersOutOfOrder {
            expected: expected_headers.to_vec(),
        });
    }

    let (format_header, source_header, want_format) = match atom.format {
        Format::Atom1 => (HEADER_FORMAT, HEADER_SOURCE, FORMAT_VERSION),
        Format::EkaPre1 => ("format", "origin", "pre1"),
    };
    match raw.one(format_header) {
        Some(v) if v == want_format => {}
        Some(v) => findings.push(Finding::UnknownFormat {
            found: v.to_owned(),
            expected: want_format,
        }),
        None => findings.push(Finding::MissingHeader {
            name: format_header,
        }),
    }
    structure.source = raw.one(source_header).and_then(|s| s.parse::<Oid>().ok());
    if structure.source.is_none() {
        findings.push(Finding::InvalidHeader {
            name: source_header,
        });
    }
    if atom.format == Format::Atom1 {
        match raw.one(HEADER_PATH).map(AtomPath::new) {
            Some(Ok(p)) => structure.path = Some(p),
            Some(Err(e)) => findings.push(Finding::Path(e)),
            None => findings.push(Finding::MissingHeader { name: HEADER_PATH }),
        }
    }
    let expected_message = match atom.format {
        Format::Atom1 => format!("atom: {atom}\n"),
        Format::EkaPre1 => format!("publish({}): {}", atom.label, atom.version),
    };
    if raw.message != expected_message.as_bytes() {
        findings.push(Finding::Message {
            found: String::from_utf8_lossy(&raw.message).into_owned(),
            expected: expected_message,
        });
    }
    let Some(tree) = raw.one("tree").and_then(|t| t.parse::<Oid>().ok()) else {
        findings.push(Finding::InvalidHeader { name: "tree" });
        return Ok(structure);
    };
    structure.tree = Some(tree);

    // The manifest inside the atom must name the atom the ref names.
    let schema = match atom.format {
        Format::Atom1 => Schema::Atom,
        Format::EkaPre1 => Schema::EkaPackage,
    };
    match store.tree_entries(tree) {
        Ok(entries) => match entries.iter().find(|e| e.name == MANIFEST_FILE.as_bytes()) {
            Some(e) if e.kind == EntryKind::Blob => {
                let manifest = store
                    .read_blob(e.oid)
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        Manifest::parse_schema(
                            &b,
                            &format!("{}:{MANIFEST_FILE}", atom.name()),
                            schema,
                        )
                        .map_err(|e| e.to_string())
                    });
                match manifest {
                    Ok(m) if m.label == atom.label && m.version == atom.version => {}
                    Ok(m) => findings.push(Finding::ManifestMismatch {
                        label: m.label,
                        version: m.version,
                        atom: atom.clone(),
                    }),
                    Err(e) => findings.push(Finding::InvalidManifest(e)),
                }
            }
            _ => findings.push(Finding::NoManifest),
        },
        Err(StoreError::Missing { oid }) => {
            return Err(Unverifiable::Missing { what: "tree", oid })
        }
        Err(e) => findings.push(Finding::Store(e.to_string())),
    }

    // Reproducibility: the commit rebuilt from its fields must be this very object.
    if let Some(source) = structure.source {
        let rebuilt = AtomCommit {
            format: atom.format,
            tree,
            source,
            path: structure.path.clone(),
            label: atom.label.clone(),
            version: atom.version.clone(),
        };
        let id = store.hash_commit(&rebuilt.to_bytes());
        if id != commit {
            structure.findings.push(Finding::NotReproducible {
                rebuilt: id,
                commit,
            });
        }
    }
    Ok(structure)
}

/// Verifies one atom; every failure becomes its verdict, so one bad atom never stops the rest.
fn check(store: &GitStore, atom: &AtomRef, commit: Oid, remote: Option<&str>) -> Checked {
    let mut checked = Checked {
        atom: atom.clone(),
        commit,
        source: None,
        verdict: Verdict::Verified,
    };
    checked.verdict = match verdict(store, atom, commit, remote, &mut checked.source) {
        Ok(v) => v,
        Err(e) => Verdict::Unverifiable(Unverifiable::Store(e.to_string())),
    };
    checked
}

fn verdict(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
    remote: Option<&str>,
    source_out: &mut Option<Oid>,
) -> Result<Verdict, StoreError> {
    let missing = |what, oid| Verdict::Unverifiable(Unverifiable::Missing { what, oid });
    if !ensure(store, commit, remote, &atom.name())? {
        return Ok(missing("atom commit", commit));
    }
    let Structure {
        mut findings,
        tree,
        source,
        path,
    } = match check_structure(store, atom, commit) {
        Ok(s) => s,
        Err(why) => return Ok(Verdict::Unverifiable(why)),
    };
    *source_out = source;

    // Provenance: the tree is the source commit's tree at the path, and the source's first
    // parents lead to the repository's identity (the rule publishing applies).
    if let (Some(source), Some(tree)) = (source, tree) {
        if !ensure(store, source, remote, &source.to_string())? {
            if findings.is_empty() {
                return Ok(missing("source commit", source));
            }
        } else {
            findings.extend(provenance(store, atom, source, tree, path.as_ref())?);
        }
    }

    Ok(if findings.is_empty() {
        Verdict::Verified
    } else {
        Verdict::Failed(findings)
    })
}

fn provenance(
    store: &GitStore,
    atom: &AtomRef,
    source: Oid,
    tree: Oid,
    path: Option<&AtomPath>,
) -> Result<Vec<Finding>, StoreError> {
    let mut findings = Vec::new();
    let source_tree = match store.commit_tree_and_parents(source) {
        Ok((source_tree, _)) => source_tree,
        Err(e) => {
            findings.push(Finding::BadSource {
                source_commit: source,
                error: e.to_string(),
            });
            return Ok(findings);
        }
    };
    match (path, atom.format) {
        (Some(p), _) => match scan::entry_at(store, source_tree, p.as_str())? {
            Some(e) if e.oid == tree && e.kind == EntryKind::Tree => {}
            Some(e) => findings.push(Finding::TreeDiffers {
                tree,
                path: p.clone(),
                source_commit: source,
                found: e.oid,
            }),
            None => findings.push(Finding::PathMissing {
                path: p.clone(),
                source_commit: source,
            }),
        },
        (None, Format::EkaPre1) => {
            if scan::paths_of_tree(store, source_tree, tree)?.is_empty() {
                findings.push(Finding::NotInSource {
                    tree,
                    source_commit: source,
                });
            }
        }
        (None, Format::Atom1) => {}
    }
    match repository_root(store)? {
        Some(root) => match store.commit_tree_and_parents(root) {
            Ok((_, parents)) if !parents.is_empty() => findings.push(Finding::RootNotRoot { root }),
            Ok(_) => match store.first_parent_root(source) {
                Ok(found) if found == root => {}
                Ok(found) => findings.push(Finding::NotDescended {
                    source_commit: source,
                    root,
                    found,
                }),
                Err(e) => findings.push(Finding::BadSource {
                    source_commit: source,
                    error: e.to_string(),
                }),
            },
            Err(e) => findings.push(Finding::BadRoot {
                error: e.to_string(),
            }),
        },
        None => findings.push(Finding::RootUnknown),
    }
    Ok(findings)
}

/// The recorded repository root (`refs/atoms/_root`, else the eka tool's `refs/ekala/init`),
/// or the first-parent root of `HEAD`.
fn repository_root(store: &GitStore) -> Result<Option<Oid>, StoreError> {
    match store.find_ref(ROOT_REF)?.or(store.find_ref(EKA_ROOT_REF)?) {
        Some(root) => Ok(Some(root)),
        None => store
            .head_commit()
            .map(|h| store.first_parent_root(h))
            .transpose(),
    }
}

/// Splits `name <email> time tz` into (`name <email>`, `time tz`).
fn split_ident(v: &str) -> (&str, &str) {
    match v.rfind('>') {
        Some(i) => (&v[..=i], v[i + 1..].trim_start()),
        None => (v, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t: Target = "foo@1.2.3".parse().unwrap();
        assert_eq!(
            (t.label.as_str(), t.version.unwrap().to_string()),
            ("foo", "1.2.3".to_owned())
        );
        assert_eq!("foo".parse::<Target>().unwrap().version, None);
        assert!("9x".parse::<Target>().is_err());
        assert!("foo@1".parse::<Target>().is_err());
    }

    #[test]
    fn idents() {
        assert_eq!(split_ident(IDENTITY), ("atom <atom@invalid>", "0 +0000"));
        assert_eq!(split_ident(EKA_IDENTITY), (" <>", "0 +0000"));
    }
}
