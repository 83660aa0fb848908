//! Where atoms live. The only backend is git ([`git::GitStore`]); the rest of the crate deals in
//! the domain types of this module and never in the git library's own types.

pub mod git;

use crate::refs::RefName;
use crate::Oid;

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Tree,
    /// A regular or executable file.
    Blob,
    /// A symbolic link.
    Link,
    /// A submodule (a gitlink to a commit).
    Submodule,
}

/// One entry of a tree object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The entry's name; not necessarily UTF-8.
    pub name: Vec<u8>,
    /// What the entry is.
    pub kind: EntryKind,
    /// The object it points at.
    pub oid: Oid,
    /// A blob with git's executable mode (`100755`).
    pub executable: bool,
}

/// A ref and the object it points at (peeled for annotated tags), from a local or a remote
/// listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The full ref name.
    pub name: RefName,
    /// The object id the ref points at.
    pub oid: Oid,
    /// For an annotated tag, the object it points to.
    pub peeled: Option<Oid>,
}

impl RemoteRef {
    /// The object the ref stands for: the tag's target for an annotated tag, else the ref's
    /// own value.
    pub fn target(&self) -> Oid {
        self.peeled.unwrap_or(self.oid)
    }
}
