//! The atom an evaluation is about and its locked dependencies, made ready on the host before
//! the sandbox starts.
//!
//! - [`Spec`]: what the command line names: an atom directory, or an atom URI
//!   (`<address>::<label>[@<requirement>]`, as `git clone atom::` takes it, with the aliases of
//!   `git config atom.alias.*`).
//! - [`Subject::open`]: a directory is read where it is. A URI is resolved against its
//!   repository's listing (the highest matching version) and the atom commit is fetched into the
//!   per-user atom cache (`$XDG_CACHE_HOME/atom/atoms.git`), through the quarantine and the
//!   structural check, unless the cache has it. Either way the manifest and the lock are checked:
//!   an atom whose manifest declares dependencies, pins or sources needs an `atom.lock`, and the
//!   lock must be current (`Lock::check`); a path source of a fetched atom is refused (its
//!   repository is not at hand), never a silently empty `get.<src>`.
//! - [`Subject::materialise`]: when an evaluation really runs (not from the evaluation cache),
//!   the atom of a URI and every locked dependency are exported from the cache into the
//!   sandbox's private directory; a locked atom the cache lacks is fetched first from the URL the
//!   lock records (then its mirrors), through the quarantine and the structural check.
//!   Every locked pin is placed there too (a git pin's commit exported from the cache, fetched
//!   alone if missing; a tarball pin downloaded, unpacked and checked against its NAR hash), and
//!   every git or path source's tree; a URL source is only described, for the builder to fetch.
//!   [`Materialised::graph`] is what the Nix driver composes them with: each locked atom once per
//!   atomic number and version, with its own locked dependencies and pins as its `from` and its
//!   sources as its `get`.
//!
//! This is the only module of eka-run that uses atom-lib: everything it does happens on the
//! host, before the sandbox starts; the sandbox only ever sees the directories it exports.

// These errors end the command and carry their ids and paths in full (as atom-lib's resolver's
// do); boxing each would only add noise. `backend::Error` boxes this one.
#![allow(clippy::result_large_err)]

mod error;
mod fetch;
mod materialise;
mod spec;
mod subject;
mod tarball;

pub use error::{Error, Fix};
pub use materialise::{Exports, Materialised};
pub use spec::Spec;
pub use subject::{Home, Origin, Peeked, Subject};

/// Small downloads outside git (plan records), made as pins' tarballs are: libcurl configured
/// from git's settings (CA bundle, proxy, time-outs), read once for every download.
#[derive(Debug, Clone)]
pub struct Downloader(atom_lib::store::git::remote::HttpSettings);

impl Downloader {
    /// Git's settings as the atom cache sees them, each download held to `max` bytes.
    pub fn new(max: u64) -> Result<Self, String> {
        let cache = subject::cache().map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
        let mut settings = cache
            .http_settings()
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
        settings.max_download = max;
        Ok(Downloader(settings))
    }

    /// The bytes at `url` (`file`, `http` or `https`); why not, in one line.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let url = atom_lib::manifest::Url::new(url).map_err(|e| format!("`{url}` {e}"))?;
        let mut bytes = Vec::new();
        match atom_lib::download::download(&url, &self.0, &mut bytes) {
            Ok(_) => Ok(bytes),
            // This downloader's own limit, not the setting the general message names.
            Err(atom_lib::download::Error::TooLarge { url, limit }) => {
                Err(format!("{url} is larger than {limit} bytes"))
            }
            Err(e) => Err(format!("{:#}", anyhow::Error::from(e))),
        }
    }
}
