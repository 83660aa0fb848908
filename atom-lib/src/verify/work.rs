//! One atom on its way through the levels: what the checks found out so far.

use super::findings::{Finding, Level, Unverifiable};
use crate::commit::AtomPath;
use crate::refs::AtomRef;
use crate::Oid;

/// One atom on its way through the levels.
#[derive(Debug)]
pub(super) struct Work {
    pub(super) atom: AtomRef,
    pub(super) commit: Oid,
    pub(super) findings: Vec<Finding>,
    pub(super) levels: Vec<Level>,
    pub(super) unverifiable: Option<Unverifiable>,
    pub(super) tree: Option<Oid>,
    pub(super) source: Option<Oid>,
    pub(super) path: Option<AtomPath>,
}

impl Work {
    pub(super) fn blocked(&self) -> bool {
        self.unverifiable.is_some()
    }
}
