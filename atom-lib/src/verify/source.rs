//! The source level: the atom's tree is the tree at the recorded path of the recorded source
//! commit (check 7).

use super::findings::{Finding, Level, Unverifiable};
use super::work::Work;
use crate::format::Format;
use crate::scan;
use crate::store::EntryKind;
use crate::{GitStore, StoreError};

/// The source level on one atom: its tree is the source commit's tree at the recorded path
/// (pre1: some directory of the source).
pub(super) fn source_level(view: &GitStore, w: &mut Work) -> Result<(), Unverifiable> {
    let (Some(source), Some(tree)) = (w.source, w.tree) else {
        // The structure findings say why there is nothing to compare.
        return Ok(());
    };
    let missing = |e: StoreError| match e {
        StoreError::Missing { oid } if oid == source => Unverifiable::Missing {
            what: "source commit",
            oid,
        },
        StoreError::Missing { oid } => Unverifiable::Missing {
            what: "source tree",
            oid,
        },
        other => Unverifiable::store("read the source", other),
    };
    if !view.has_object(source) {
        return Err(Unverifiable::Missing {
            what: "source commit",
            oid: source,
        });
    }
    let source_tree = match view.commit_tree_and_parents(source) {
        Ok((source_tree, _)) => source_tree,
        Err(e) => {
            w.findings.push(Finding::BadSource {
                source_commit: source,
                error: e.to_string(),
            });
            w.levels.push(Level::Source);
            return Ok(());
        }
    };
    match (&w.path, w.atom.format) {
        (Some(p), _) => match scan::entry_at(view, source_tree, p.as_str()).map_err(missing)? {
            Some(e) if e.oid == tree && e.kind == EntryKind::Tree => {}
            Some(e) => w.findings.push(Finding::TreeDiffers {
                tree,
                path: p.clone(),
                source_commit: source,
                found: e.oid,
            }),
            None => w.findings.push(Finding::PathMissing {
                path: p.clone(),
                source_commit: source,
            }),
        },
        (None, Format::EkaPre1) => {
            if scan::paths_of_tree(view, source_tree, tree)
                .map_err(missing)?
                .is_empty()
            {
                w.findings.push(Finding::NotInSource {
                    tree,
                    source_commit: source,
                });
            }
        }
        (None, Format::Atom1) => {}
    }
    w.levels.push(Level::Source);
    Ok(())
}
