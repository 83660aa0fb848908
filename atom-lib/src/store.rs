//! Where atoms live. The only backend is git ([`git::GitStore`]); the rest of the crate deals in
//! the domain types of this module and never in the git library's own types.

pub mod git;

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
}

/// A ref and the object it points at (peeled for annotated tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The full ref name.
    pub name: String,
    /// The object id the ref points at.
    pub oid: Oid,
    /// For an annotated tag, the commit it points to.
    pub peeled: Option<Oid>,
}

/// The result of a push, per ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    /// The destination ref.
    pub name: String,
    /// Whether it was created (`true`) or already had this value (`false`).
    pub created: bool,
}
