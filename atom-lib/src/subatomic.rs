//! Subatomics: a directory of the source that an atom's manifest names as a build-time source
//! (`[srcs.<name>] path = "<dir>"`), published as `refs/subs/<tree id>` so it can be fetched
//! alone, without the history and without the rest of the repository (seed 001,
//! "Subatomics"; `docs/format.md`, section 4.1).
//!
//! A subatomic commit is an atom commit's sibling: the same fixed identity, the same three
//! provenance headers, no parent, and a message naming the path instead of an atom:
//!
//! ```text
//! tree <tree id>
//! author atom <atom@invalid> 0 +0000
//! committer atom <atom@invalid> 0 +0000
//! atom-format 1
//! atom-source <source commit id>
//! atom-path <path of the directory, relative to the repository root>
//!
//! subatomic: <path>
//! ```
//!
//! Every byte is a function of (tree, source, path). The ref is named by the tree, so one tree
//! is published once: a later publish that finds `refs/subs/<tree>` (from any source commit, at
//! any path) finds it up to date, and the ref is never moved (it is guarded like atom refs).

use std::collections::BTreeMap;

use crate::commit::{AtomPath, RawCommit, FORMAT_VERSION, HEADER_FORMAT, HEADER_PATH};
use crate::commit::{HEADER_SOURCE, IDENTITY};
use crate::manifest::{Manifest, Src};
use crate::refs::{RefName, SUBS_REF_PREFIX};
use crate::store::git::{Filter, Verbosity};
use crate::store::EntryKind;
use crate::verify::findings::{Finding, Level, Subject, Unverifiable, Verdict};
use crate::{GitStore, Oid, StoreError};

/// What a subatomic commit's message starts with.
pub const MESSAGE_PREFIX: &str = "subatomic: ";

/// The headers of a subatomic commit, in order.
const HEADERS: [&str; 6] = [
    "tree",
    "author",
    "committer",
    HEADER_FORMAT,
    HEADER_SOURCE,
    HEADER_PATH,
];

/// The fields a subatomic commit is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubatomicCommit {
    /// The directory's tree.
    pub tree: Oid,
    /// The commit it was published from.
    pub source: Oid,
    /// The directory, relative to the repository root.
    pub path: AtomPath,
}

impl SubatomicCommit {
    /// The exact bytes of the commit object (without git's `commit <len>\0` object header).
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "tree {}\nauthor {IDENTITY}\ncommitter {IDENTITY}\n{HEADER_FORMAT} {FORMAT_VERSION}\n\
             {HEADER_SOURCE} {}\n{HEADER_PATH} {}\n\n{MESSAGE_PREFIX}{}\n",
            self.tree, self.source, self.path, self.path
        )
        .into_bytes()
    }
}

/// `refs/subs/<tree>`.
pub fn ref_name(tree: Oid) -> RefName {
    RefName::new(&format!("{SUBS_REF_PREFIX}{tree}")).expect("an object id is a valid ref name")
}

/// The directories of `source_tree` that the atom at `atom_path` with `manifest` names as path
/// sources (`[srcs.<name>] path = "<dir>"`), with their trees. A path naming a file (not a
/// subatomic), leaving the repository or missing is not listed: the lock check reports those.
pub fn sources_of(
    store: &GitStore,
    source_tree: Oid,
    atom_path: &AtomPath,
    manifest: &Manifest,
) -> Result<Vec<(AtomPath, Oid)>, StoreError> {
    let mut found = Vec::new();
    for src in manifest.srcs.values() {
        let Src::Path(rel) = src else { continue };
        let Some(dir) = rel.resolve(atom_path.as_str()) else {
            continue;
        };
        let Ok(path) = AtomPath::new(&dir) else {
            continue;
        };
        if let Some(entry) = crate::scan::entry_at(store, source_tree, path.as_str())? {
            if entry.kind == EntryKind::Tree {
                found.push((path, entry.oid));
            }
        }
    }
    Ok(found)
}

/// One tree per subatomic: when several paths hold the same tree, the first path in byte order
/// names it, so every publisher writes the same commit.
pub fn dedup(subs: impl IntoIterator<Item = (AtomPath, Oid)>) -> Vec<(AtomPath, Oid)> {
    let mut by_tree: BTreeMap<Oid, AtomPath> = BTreeMap::new();
    for (path, tree) in subs {
        by_tree
            .entry(tree)
            .and_modify(|p| {
                if path < *p {
                    *p = path.clone();
                }
            })
            .or_insert(path);
    }
    by_tree.into_iter().map(|(t, p)| (p, t)).collect()
}

/// What the structural check found out about a subatomic commit.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    /// Every violated rule; empty means well-formed.
    pub findings: Vec<Finding>,
    /// The source commit it names, if valid.
    pub source: Option<Oid>,
    /// The recorded path, if valid.
    pub path: Option<AtomPath>,
}

/// The checks that need only the commit (`docs/format.md`, section 8.2): an orphan with the
/// fixed identity, exactly the format's headers in order, the tree its ref names, the message
/// naming the recorded path, and bytes that re-serialise to the same id.
pub fn check_structure(
    store: &GitStore,
    tree: Oid,
    commit: Oid,
) -> Result<Structure, Unverifiable> {
    let mut s = Structure::default();
    let bytes = match store.read_commit_raw(commit) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(Unverifiable::Missing {
                what: "subatomic commit",
                oid: commit,
            })
        }
        Err(e) => {
            s.findings
                .push(Finding::unreadable(Subject::Commit(commit), e));
            return Ok(s);
        }
    };
    let Some(raw) = RawCommit::parse(&bytes) else {
        s.findings.push(Finding::Malformed { commit });
        return Ok(s);
    };
    let findings = &mut s.findings;
    let parents = raw.all("parent").count();
    if parents > 0 {
        findings.push(Finding::Parents { count: parents });
    }
    for role in ["author", "committer"] {
        match raw.one(role) {
            Some(v) if v == IDENTITY => {}
            Some(v) => findings.push(Finding::Identity {
                role,
                found: v.to_owned(),
                expected: IDENTITY,
            }),
            None => findings.push(Finding::MissingOrRepeated { name: role }),
        }
    }
    findings.extend(crate::verify::structure::header_findings(&raw, &HEADERS));
    match raw.one(HEADER_FORMAT) {
        Some(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(Unverifiable::UnsupportedFormat {
                header: HEADER_FORMAT.into(),
                value: v.to_owned(),
            })
        }
        None => findings.push(Finding::MissingHeader {
            name: HEADER_FORMAT,
        }),
    }
    match raw.one("tree").and_then(|t| t.parse::<Oid>().ok()) {
        Some(t) if t == tree => {}
        Some(t) => findings.push(Finding::SubatomicTree {
            named: tree,
            found: t,
        }),
        None => findings.push(Finding::InvalidHeader { name: "tree" }),
    }
    s.source = raw.one(HEADER_SOURCE).and_then(|v| v.parse().ok());
    if s.source.is_none() {
        findings.push(Finding::InvalidHeader {
            name: HEADER_SOURCE,
        });
    }
    match raw.one(HEADER_PATH).map(AtomPath::new) {
        Some(Ok(p)) => s.path = Some(p),
        Some(Err(e)) => findings.push(Finding::Path(e)),
        None => findings.push(Finding::MissingHeader { name: HEADER_PATH }),
    }
    let expected = format!(
        "{MESSAGE_PREFIX}{}\n",
        s.path.as_ref().map_or("<path>", AtomPath::as_str)
    );
    if raw.message != expected.as_bytes() {
        findings.push(Finding::Message {
            found: String::from_utf8_lossy(&raw.message).into_owned(),
            expected,
        });
    }
    if let (Some(source), Some(path)) = (s.source, &s.path) {
        let rebuilt = store.hash_commit(
            &SubatomicCommit {
                tree,
                source,
                path: path.clone(),
            }
            .to_bytes(),
        );
        if rebuilt != commit {
            findings.push(Finding::NotReproducible { rebuilt, commit });
        }
    }
    Ok(s)
}

/// The source check: the entry at the recorded path of the recorded source commit is the
/// subatomic's tree. Needs that commit and the trees along the path.
pub fn check_source(
    store: &GitStore,
    tree: Oid,
    source: Oid,
    path: &AtomPath,
) -> Result<Option<Finding>, Unverifiable> {
    let missing = |e: StoreError| match e {
        StoreError::Missing { oid } => Unverifiable::Missing {
            what: if oid == source {
                "source commit"
            } else {
                "source tree"
            },
            oid,
        },
        other => Unverifiable::store("read the source", other),
    };
    if !store.has_object(source) {
        return Err(Unverifiable::Missing {
            what: "source commit",
            oid: source,
        });
    }
    let source_tree = match store.commit_tree_and_parents(source) {
        Ok((t, _)) => t,
        Err(e) => {
            return Ok(Some(Finding::BadSource {
                source_commit: source,
                error: e.to_string(),
            }))
        }
    };
    Ok(
        match crate::scan::entry_at(store, source_tree, path.as_str()).map_err(missing)? {
            Some(e) if e.oid == tree && e.kind == EntryKind::Tree => None,
            Some(e) => Some(Finding::TreeDiffers {
                tree,
                path: path.clone(),
                source_commit: source,
                found: e.oid,
            }),
            None => Some(Finding::PathMissing {
                path: path.clone(),
                source_commit: source,
            }),
        },
    )
}

/// The verdict on one subatomic.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The tree its ref names.
    pub tree: Oid,
    /// Its commit.
    pub commit: Oid,
    /// The recorded path, if it could be read.
    pub path: Option<AtomPath>,
    /// The recorded source commit, if it could be read.
    pub source: Option<Oid>,
    /// The verdict.
    pub verdict: Verdict,
    /// The levels checked (`structure`, `source`).
    pub levels: Vec<Level>,
}

/// Verifies the subatomics `subs` (tree, commit) in `store`: the structure level, then the
/// source level, fetching the source commits and the trees along their paths from `remote`
/// into a throw-away quarantine when they are not here.
pub fn verify(
    store: &GitStore,
    subs: &[(Oid, Oid)],
    remote: Option<&str>,
    verbosity: Verbosity,
) -> Vec<Checked> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for &(tree, commit) in subs {
        let mut c = Checked {
            tree,
            commit,
            path: None,
            source: None,
            verdict: Verdict::Verified,
            levels: Vec::new(),
        };
        match check_structure(store, tree, commit) {
            Ok(s) => {
                c.levels.push(Level::Structure);
                c.path = s.path;
                c.source = s.source;
                if !s.findings.is_empty() {
                    c.verdict = Verdict::Failed(s.findings);
                }
            }
            Err(why) => c.verdict = Verdict::Unverifiable(why),
        }
        if let (Verdict::Verified, Some(source), Some(path)) = (&c.verdict, c.source, &c.path) {
            match check_source(store, tree, source, path) {
                Ok(finding) => {
                    c.levels.push(Level::Source);
                    c.verdict = finding.map_or(Verdict::Verified, |f| Verdict::Failed(vec![f]));
                }
                Err(Unverifiable::Missing { .. }) if remote.is_some() => pending.push(out.len()),
                Err(why) => c.verdict = Verdict::Unverifiable(why),
            }
        }
        out.push(c);
    }
    let Some(remote) = remote.filter(|_| !pending.is_empty()) else {
        return out;
    };
    let wants: Vec<crate::refs::Refspec> = pending
        .iter()
        .filter_map(|&i| out[i].source.map(crate::refs::Refspec::Object))
        .collect();
    let depth = pending
        .iter()
        .filter_map(|&i| out[i].path.as_ref())
        .map(|p| u32::try_from(p.as_str().split('/').count()).unwrap_or(u32::MAX))
        .max()
        .unwrap_or(1);
    // The quarantine lives until the checks are done; dropping it removes what it fetched.
    let quarantine = store.fetch_scratch(remote, &wants, Filter::TreesToDepth(depth), verbosity);
    let fetched: Result<GitStore, String> = match &quarantine {
        Ok(q) => q.store().map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    for i in pending {
        let c = &mut out[i];
        let (Some(source), Some(path)) = (c.source, c.path.clone()) else {
            continue;
        };
        c.verdict = match &fetched {
            Ok(view) => match check_source(view, c.tree, source, &path) {
                Ok(finding) => {
                    c.levels.push(Level::Source);
                    finding.map_or(Verdict::Verified, |f| Verdict::Failed(vec![f]))
                }
                Err(why) => Verdict::Unverifiable(why),
            },
            Err(e) => Verdict::Unverifiable(Unverifiable::Fetch {
                level: Level::Source,
                remote: remote.to_owned(),
                error: e.clone(),
            }),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        let c = SubatomicCommit {
            tree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".parse().unwrap(),
            source: "4abbd2644bc3585e9be95deb277ccf48f6ed26ac".parse().unwrap(),
            path: AtomPath::new("vendor/src").unwrap(),
        };
        assert_eq!(
            String::from_utf8(c.to_bytes()).unwrap(),
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
             author atom <atom@invalid> 0 +0000\n\
             committer atom <atom@invalid> 0 +0000\n\
             atom-format 1\n\
             atom-source 4abbd2644bc3585e9be95deb277ccf48f6ed26ac\n\
             atom-path vendor/src\n\
             \n\
             subatomic: vendor/src\n"
        );
    }

    #[test]
    fn one_path_per_tree() {
        let t = |s: &str| s.repeat(40).parse::<Oid>().unwrap();
        let p = |s: &str| AtomPath::new(s).unwrap();
        assert_eq!(
            dedup([(p("b"), t("1")), (p("a"), t("1")), (p("c"), t("2"))]),
            [(p("a"), t("1")), (p("c"), t("2"))]
        );
    }
}
