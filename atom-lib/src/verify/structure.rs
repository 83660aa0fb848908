//! The structure level: the checks that need only the atom commit and its tree
//! (`docs/format.md`, section 8, checks 1-6), and for eka atoms their metadata refs.

use super::findings::{Finding, Level, Subject, Unverifiable};
use super::work::Work;
use crate::commit::{
    AtomCommit, AtomPath, RawCommit, EKA_IDENTITY, FORMAT_VERSION, HEADER_FORMAT, HEADER_PATH,
    HEADER_SOURCE, IDENTITY,
};
use crate::format::Format;
use crate::manifest::{Manifest, Schema, MANIFEST_FILE};
use crate::refs::{AtomRef, EkaMeta};
use crate::store::EntryKind;
use crate::{GitStore, Oid, StoreError};

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
            structure
                .findings
                .push(Finding::unreadable(Subject::Commit(commit), e));
            return Ok(structure);
        }
    };
    let Some(raw) = RawCommit::parse(&bytes) else {
        structure.findings.push(Finding::Malformed { commit });
        return Ok(structure);
    };
    if let Some(why) = unsupported_format(&raw) {
        return Err(why);
    }
    header_level(&raw, atom, &mut structure);
    let Some(tree) = raw.one("tree").and_then(|t| t.parse::<Oid>().ok()) else {
        structure
            .findings
            .push(Finding::InvalidHeader { name: "tree" });
        return Ok(structure);
    };
    structure.tree = Some(tree);
    if let Some(finding) = manifest_finding(store, atom, tree)? {
        structure.findings.push(finding);
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

/// The checks on the commit's own bytes: no parents, the fixed identity, exactly the format's
/// headers in order with valid values, and the message; records the source and path found.
fn header_level(raw: &RawCommit, atom: &AtomRef, structure: &mut Structure) {
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
    let findings = &mut structure.findings;
    let parents = raw.all("parent").count();
    if parents > 0 {
        findings.push(Finding::Parents { count: parents });
    }
    for role in ["author", "committer"] {
        identity_findings(raw, role, identity, findings);
    }
    findings.extend(header_findings(raw, expected_headers));

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
}

/// The `author` or `committer` header must be the format's fixed identity and timestamp.
fn identity_findings(
    raw: &RawCommit,
    role: &'static str,
    identity: &'static str,
    findings: &mut Vec<Finding>,
) {
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

/// The manifest inside the atom must name the atom the ref names.
fn manifest_finding(
    store: &GitStore,
    atom: &AtomRef,
    tree: Oid,
) -> Result<Option<Finding>, Unverifiable> {
    let schema = match atom.format {
        Format::Atom1 => Schema::Atom,
        Format::EkaPre1 => Schema::EkaPackage,
    };
    let entries = match store.tree_entries(tree) {
        Ok(entries) => entries,
        Err(StoreError::Missing { oid }) => {
            return Err(Unverifiable::Missing { what: "tree", oid })
        }
        Err(e) => return Ok(Some(Finding::unreadable(Subject::Tree(tree), e))),
    };
    let Some(entry) = entries
        .iter()
        .find(|e| e.name == MANIFEST_FILE.as_bytes() && e.kind == EntryKind::Blob)
    else {
        return Ok(Some(Finding::NoManifest));
    };
    let manifest = store
        .read_blob(entry.oid)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            Manifest::parse_schema(&b, &format!("{}:{MANIFEST_FILE}", atom.name()), schema)
                .map_err(|e| e.to_string())
        });
    Ok(match manifest {
        Ok(m) if m.label == atom.label && m.version == atom.version => None,
        Ok(m) => Some(Finding::ManifestMismatch {
            label: m.label,
            version: m.version,
            atom: atom.clone(),
        }),
        Err(e) => Some(Finding::InvalidManifest(e)),
    })
}

/// The structure level on one atom: [`check_structure`], and for eka atoms the metadata refs
/// (read from `meta` when given, else from `view`).
pub(super) fn structure_level(
    view: &GitStore,
    w: &mut Work,
    meta: Option<&GitStore>,
) -> Result<(), Unverifiable> {
    let structure = check_structure(view, &w.atom, w.commit)?;
    w.findings.extend(structure.findings);
    w.tree = structure.tree;
    w.source = structure.source;
    w.path = structure.path;
    if w.atom.format == Format::EkaPre1 {
        w.findings.extend(eka_meta(
            meta.unwrap_or(view),
            view,
            &w.atom,
            w.tree,
            w.source,
        ));
    }
    w.levels.push(Level::Structure);
    Ok(())
}

/// (pre1) `refs/eka/meta/<label>/<version>/origin` must name the atom's origin, and
/// `.../manifest` the atom's manifest blob or a tree of the atom's own files holding it. The refs are read from
/// `refs`, the atom's tree from `view`.
fn eka_meta(
    refs: &GitStore,
    view: &GitStore,
    atom: &AtomRef,
    tree: Option<Oid>,
    origin: Option<Oid>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let origin_ref = atom.eka_meta_ref(EkaMeta::Origin);
    match refs.find_ref(&origin_ref) {
        Ok(Some(found)) => {
            if let Some(expected) = origin.filter(|o| *o != found) {
                findings.push(Finding::EkaOriginMismatch {
                    name: origin_ref,
                    found,
                    expected,
                });
            }
        }
        Ok(None) => findings.push(Finding::EkaMetaMissing { name: origin_ref }),
        Err(e) => findings.push(Finding::unreadable(Subject::Ref(origin_ref.clone()), e)),
    }
    let manifest_ref = atom.eka_meta_ref(EkaMeta::Manifest);
    match refs.find_ref(&manifest_ref) {
        Ok(Some(found)) => {
            let atom_entries = tree
                .and_then(|t| view.tree_entries(t).ok())
                .unwrap_or_default();
            // The atom's own manifest blob (what the eka tool writes, PRIOR-ART.md), or a tree
            // of the atom's own files holding it.
            let is_manifest_blob = atom_entries
                .iter()
                .any(|e| e.name == MANIFEST_FILE.as_bytes() && e.oid == found);
            let entries = view
                .tree_entries(found)
                .or_else(|_| refs.tree_entries(found));
            let holds = is_manifest_blob
                || entries.is_ok_and(|entries| {
                    entries.iter().any(|e| e.name == MANIFEST_FILE.as_bytes())
                        && entries.iter().all(|e| atom_entries.contains(e))
                });
            if !holds {
                findings.push(Finding::EkaManifestMismatch {
                    name: manifest_ref,
                    found,
                });
            }
        }
        Ok(None) => findings.push(Finding::EkaMetaMissing { name: manifest_ref }),
        Err(e) => findings.push(Finding::unreadable(Subject::Ref(manifest_ref), e)),
    }
    findings
}

/// The format a commit declares, when it is one this tool does not read: `atom-format` other
/// than `1`, or eka's `format` other than `pre1` (its older generation says `format 1` next to
/// `src` and `path` headers).
fn unsupported_format(raw: &RawCommit) -> Option<Unverifiable> {
    let (header, value) = raw
        .headers
        .iter()
        .find(|(n, _)| n == HEADER_FORMAT || n == "format")?;
    let known = (header == HEADER_FORMAT && value == FORMAT_VERSION)
        || (header == "format" && value == "pre1" && raw.one("src").is_none());
    (!known).then(|| Unverifiable::UnsupportedFormat {
        header: header.clone(),
        value: value.clone(),
    })
}

/// Splits `name <email> time tz` into (`name <email>`, `time tz`).
fn split_ident(v: &str) -> (&str, &str) {
    match v.rfind('>') {
        Some(i) => (&v[..=i], v[i + 1..].trim_start()),
        None => (v, ""),
    }
}

/// The header findings of an atom or subatomic commit, whose headers (`parent` aside) must be
/// exactly `expected`, in that order: each unexpected header, and a wrong order when every
/// expected one is there. One rule for both kinds of commit.
pub(crate) fn header_findings(raw: &RawCommit, expected: &[&'static str]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let names: Vec<&str> = raw
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "parent")
        .collect();
    for name in &names {
        if !expected.contains(name) {
            findings.push(Finding::UnexpectedHeader {
                name: (*name).to_owned(),
            });
        }
    }
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| expected.contains(n))
        .collect();
    if present != expected && expected.iter().all(|h| raw.one(h).is_some()) {
        findings.push(Finding::HeadersOutOfOrder {
            expected: expected.to_vec(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert_eq!(split_ident(IDENTITY), ("atom <atom@invalid>", "0 +0000"));
        assert_eq!(split_ident(EKA_IDENTITY), (" <>", "0 +0000"));
    }
}
