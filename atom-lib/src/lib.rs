//! # atom
//!
//! Versioned source packages ("atoms") as first-class git objects.
//!
//! An atom is a directory holding an `atom.toml` manifest. Publishing it creates an orphan commit
//! whose tree is the directory's existing tree, with a fixed identity and epoch timestamps, so the
//! commit is byte-for-byte reproducible, and headers naming the source commit, the path and the
//! format version. The ref `refs/atoms/<label>/<version>` points at it. Each atom has an
//! *atomic number*, a keyed BLAKE3 hash of its label under the repository's root commit.
//!
//! ```
//! use atom_lib::{Label, Root};
//!
//! let root = Root("4abbd2644bc3585e9be95deb277ccf48f6ed26ac".parse().unwrap());
//! let label: Label = "nix-lock".parse().unwrap();
//! assert_eq!(
//!     root.atom_id(&label).to_string(),
//!     "r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm0"
//! );
//! ```
//!
//! The normative specifications are in the source repository: `docs/format.md` (the store
//! format), `docs/manifest.md` (`atom.toml`, see [`manifest`]) and `docs/lock.md` (`atom.lock`,
//! see [`lock`]).

pub mod admit;
pub mod commit;
pub mod confine;
pub mod download;
pub mod escape;
pub mod fetch;
pub mod format;
pub mod guard;
pub mod id;
pub mod label;
pub mod list;
pub mod local;
pub mod lock;

pub mod manifest;
pub mod nar;
pub mod oid;
pub mod proof;
pub mod publish;
pub mod refs;
pub mod resolve;
pub mod scan;
pub mod sign;
pub mod store;
pub mod subatomic;
pub mod unpack;
pub mod update;
pub mod uri;
pub mod variant;
pub mod verify;
pub mod version;

pub use commit::{AtomCommit, AtomPath};
pub use format::Format;
pub use id::{AtomId, Numbering, Root};
pub use label::{Label, LabelError};
pub use lock::{Lock, LockError};
pub use manifest::{Identity, Manifest, ManifestError};
pub use oid::Oid;
pub use refs::{AtomRef, RefName};
pub use store::git::{GitStore, StoreError};
pub use version::{Version, VersionError};

/// An error and its causes on one line, `: `-separated, as anyhow's `{:#}` prints them; a cause
/// whose text already ends the line so far is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.ends_with(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}
