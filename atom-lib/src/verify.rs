//! Verification: proving that a published atom is exactly what the format says it is.
//!
//! For each atom: the commit is re-serialised from its fields and must hash to the same id; its
//! parents, identity, timestamps, headers, format version and message are checked; its manifest
//! must declare the label and version its ref names; its tree must equal the tree at the recorded
//! path in the recorded source commit; and the source commit must descend from the repository's
//! root.

use std::str::FromStr;

use crate::format::{
    AtomCommit, AtomPath, AtomRef, Format, RawCommit, EKA_IDENTITY, EKA_ROOT_REF, FORMAT_VERSION,
    HEADER_FORMAT, HEADER_PATH, HEADER_SOURCE, IDENTITY, ROOT_REF,
};
use crate::list::{self, ListedAtom};
use crate::manifest::{Manifest, Schema, MANIFEST_FILE};
use crate::source;
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

/// The verdict on one atom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Checks failed; each finding is one line.
    Failed(Vec<String>),
    /// The atom could not be checked (missing objects); the reason.
    Unverifiable(String),
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
    #[error("no atom `{target}` in this repository (see `git atom ls`)")]
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
        let checked = check(store, &atom, commit, options.remote.as_deref())?;
        atoms.push(checked);
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
    /// Every violated rule, one line each; empty means well-formed.
    pub findings: Vec<String>,
    /// The atom's tree, if the `tree` header is valid.
    pub tree: Option<Oid>,
    /// The source commit named by the commit, if valid.
    pub source: Option<Oid>,
    /// The recorded path (format 1), if valid.
    pub path: Option<AtomPath>,
}

/// An object the structural checks need is not in the repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {oid} is missing")]
pub struct Missing {
    /// `atom commit` or `tree`.
    pub what: &'static str,
    /// The missing object.
    pub oid: Oid,
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
) -> Result<Structure, Missing> {
    let mut structure = Structure::default();
    let bytes = match store.read_commit_raw(commit) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(Missing {
                what: "atom commit",
                oid: commit,
            })
        }
        Err(e) => {
            structure.findings.push(e.to_string());
            return Ok(structure);
        }
    };
    let findings = &mut structure.findings;
    let Some(raw) = RawCommit::parse(&bytes) else {
        findings.push("not a well-formed commit object".into());
        return Ok(structure);
    };

    let (identity, expected_headers): (&str, &[&str]) = match atom.format {
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
        findings.push(format!(
            "has {parents} parent(s): an atom commit must be an orphan"
        ));
    }
    for role in ["author", "committer"] {
        match raw.one(role) {
            Some(v) if v == identity => {}
            Some(v) => {
                let (who, when) = split_ident(v);
                let (want_who, want_when) = split_ident(identity);
                if who != want_who {
                    findings.push(format!("{role} is `{who}`, expected `{want_who}`"));
                }
                if when != want_when {
                    findings.push(format!(
                        "{role} timestamp is `{when}`, expected `{want_when}` (the Unix epoch)"
                    ));
                }
            }
            None => findings.push(format!("missing or repeated `{role}` header")),
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
            findings.push(format!("unexpected header `{name}`"));
        }
    }
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| expected_headers.contains(n))
        .collect();
    if present != expected_headers && expected_headers.iter().all(|h| raw.one(h).is_some()) {
        findings.push(format!(
            "headers out of order: expected {}",
            expected_headers.join(", ")
        ));
    }

    let (format_header, source_header, want_format) = match atom.format {
        Format::Atom1 => (HEADER_FORMAT, HEADER_SOURCE, FORMAT_VERSION),
        Format::EkaPre1 => ("format", "origin", "pre1"),
    };
    match raw.one(format_header) {
        Some(v) if v == want_format => {}
        Some(v) => findings.push(format!(
            "unknown format version `{v}` (this tool reads `{want_format}`)"
        )),
        None => findings.push(format!("missing `{format_header}` header")),
    }
    structure.source = raw.one(source_header).and_then(|s| s.parse::<Oid>().ok());
    if structure.source.is_none() {
        findings.push(format!("missing or invalid `{source_header}` header"));
    }
    if atom.format == Format::Atom1 {
        match raw.one(HEADER_PATH).map(AtomPath::new) {
            Some(Ok(p)) => structure.path = Some(p),
            Some(Err(e)) => findings.push(e.to_string()),
            None => findings.push(format!("missing `{HEADER_PATH}` header")),
        }
    }
    let expected_message = match atom.format {
        Format::Atom1 => format!("atom: {atom}\n"),
        Format::EkaPre1 => format!("publish({}): {}", atom.label, atom.version),
    };
    if raw.message != expected_message.as_bytes() {
        findings.push(format!(
            "message is {:?}, expected {expected_message:?}",
            String::from_utf8_lossy(&raw.message)
        ));
    }
    let Some(tree) = raw.one("tree").and_then(|t| t.parse::<Oid>().ok()) else {
        findings.push("missing or invalid `tree` header".into());
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
                    Ok(m) => findings.push(format!(
                        "manifest declares {}@{} but the ref names {atom}",
                        m.label, m.version
                    )),
                    Err(e) => findings.push(e),
                }
            }
            _ => findings.push("the atom's tree has no regular `atom.toml`".into()),
        },
        Err(StoreError::Missing { oid }) => return Err(Missing { what: "tree", oid }),
        Err(e) => findings.push(e.to_string()),
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
            structure.findings.push(format!(
                "not reproducible: rebuilt from its fields the commit is {id}, not {commit}"
            ));
        }
    }
    Ok(structure)
}

fn check(
    store: &GitStore,
    atom: &AtomRef,
    commit: Oid,
    remote: Option<&str>,
) -> Result<Checked, StoreError> {
    let mut checked = Checked {
        atom: atom.clone(),
        commit,
        source: None,
        verdict: Verdict::Verified,
    };
    let unverifiable = |mut c: Checked, why: String| {
        c.verdict = Verdict::Unverifiable(why);
        Ok(c)
    };
    if !ensure(store, commit, remote, &atom.name())? {
        return unverifiable(
            checked,
            format!("atom commit {commit} is missing (try --remote)"),
        );
    }
    let Structure {
        mut findings,
        tree,
        source,
        path,
    } = match check_structure(store, atom, commit) {
        Ok(s) => s,
        Err(missing) => return unverifiable(checked, format!("{missing} (try --remote)")),
    };
    checked.source = source;

    // Provenance: the tree is the source commit's tree at the path, and the source descends from
    // the repository root.
    if let (Some(source), Some(tree)) = (source, tree) {
        if !ensure(store, source, remote, &source.to_string())? {
            if findings.is_empty() {
                return unverifiable(
                    checked,
                    format!("source commit {source} is missing (try --remote)"),
                );
            }
        } else {
            match store.commit_tree_and_parents(source) {
                Ok((source_tree, _)) => match (&path, atom.format) {
                    (Some(p), _) => match source::entry_at(store, source_tree, p.as_str())? {
                        Some(e) if e.oid == tree && e.kind == EntryKind::Tree => {}
                        Some(e) => findings.push(format!(
                            "tree {tree} differs from `{p}` in source commit {} ({})",
                            source.short(12),
                            e.oid
                        )),
                        None => findings.push(format!(
                            "`{p}` does not exist in source commit {}",
                            source.short(12)
                        )),
                    },
                    (None, Format::EkaPre1) => {
                        if source::paths_of_tree(store, source_tree, tree)?.is_empty() {
                            findings.push(format!(
                                "tree {tree} is not a directory of source commit {}",
                                source.short(12)
                            ));
                        }
                    }
                    (None, Format::Atom1) => {}
                },
                Err(e) => findings.push(format!("source {source}: {e}")),
            }
            match repository_root(store)? {
                Some(root) => match store.commit_tree_and_parents(root) {
                    Ok((_, parents)) if !parents.is_empty() => findings.push(format!(
                        "the recorded repository root {root} is not a root commit"
                    )),
                    Ok(_) => {
                        if !store.is_ancestor(root, source)? {
                            findings.push(format!(
                                "source commit {} does not descend from the repository root {}",
                                source.short(12),
                                root.short(12)
                            ));
                        }
                    }
                    Err(e) => findings.push(format!("repository root: {e}")),
                },
                None => findings.push(
                    "the repository root is unknown (no refs/atoms/_root and no HEAD)".into(),
                ),
            }
        }
    }

    checked.verdict = if findings.is_empty() {
        Verdict::Verified
    } else {
        Verdict::Failed(findings)
    };
    Ok(checked)
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
