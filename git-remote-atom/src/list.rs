//! `list` and `list for-push`: one ref listing of `refs/atoms/<label>/` on the real remote.

use atom_lib::refs::ATOM_REF_PREFIX;
use atom_lib::resolve::{self, ResolveError};
use atom_lib::store::RemoteRef;
use atom_lib::StoreError;

use crate::remote::Remote;

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote could not be listed.
    #[error("cannot list atoms at {location}")]
    Listing {
        /// The remote, credentials removed.
        location: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// No version matches.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

impl Remote {
    fn remote_refs(&self) -> Result<Vec<RemoteRef>, Error> {
        let prefix = format!("{ATOM_REF_PREFIX}{}/", self.uri.label);
        let refs = self
            .store
            .list_remote(&self.url(), &[&prefix])
            .map_err(|source| Error::Listing {
                location: self.address.redacted(),
                source,
            })?;
        tracing::debug!(count = refs.len(), "listed");
        Ok(refs)
    }

    /// Answers `list` (the accepted versions, and a branch and `HEAD` at the highest) or
    /// `list for-push` (every existing version).
    pub fn list(&mut self, for_push: bool) -> Result<String, Error> {
        let refs = self.remote_refs()?;
        let mut text = String::new();
        if for_push {
            self.existing = refs.iter().map(|r| (r.name.clone(), r.oid)).collect();
            for r in &refs {
                text.push_str(&format!("{} {}\n", r.oid, r.name));
            }
            text.push('\n');
            return Ok(text);
        }
        let resolution = resolve::resolve(
            &refs,
            &self.uri.label,
            self.uri.requirement.as_ref(),
            &self.address.redacted(),
        )?;
        let label = &self.uri.label;
        let wanted = self
            .uri
            .requirement
            .as_ref()
            .map_or_else(|| "released".to_owned(), |r| format!("matching `{r}`"));
        self.say(
            2,
            &format!(
                "atom: selected {label}@{} ({}), the highest of {} {wanted} at {}",
                resolution.selected.version,
                resolution.selected.commit.short(12),
                resolution.matching.len(),
                self.address.redacted()
            ),
        );
        for v in &resolution.matching {
            text.push_str(&format!(
                "{} {}{label}/{}\n",
                v.commit, ATOM_REF_PREFIX, v.version
            ));
        }
        text.push_str(&format!(
            "{} refs/heads/{label}\n@refs/heads/{label} HEAD\n\n",
            resolution.selected.commit
        ));
        self.resolution = Some(resolution);
        Ok(text)
    }
}
