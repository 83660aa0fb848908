//! `list` and `list for-push`: one ref listing of `refs/atoms/<label>/` on the real remote.

use atom_lib::list::Listing;
use atom_lib::refs::ATOM_REF_PREFIX;
use atom_lib::resolve::{self, ResolveError};
use atom_lib::store::RemoteRef;
use atom_lib::Format;
use atom_lib::StoreError;

use crate::remote::{NoLabel, Remote};

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
    /// The URL names no atom, where one is needed.
    #[error(transparent)]
    NoLabel(#[from] NoLabel),
    /// No version matches.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

impl Remote {
    fn remote_refs(&self) -> Result<Vec<RemoteRef>, Error> {
        let prefix = match &self.uri {
            Some(uri) => format!("{ATOM_REF_PREFIX}{}/", uri.label),
            None => ATOM_REF_PREFIX.to_owned(),
        };
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
        if self.uri.is_none() {
            // A repository without a label: `git ls-remote atom::<repo>` lists every atom; a
            // clone, a configured remote or a push needs to know which atom.
            if for_push || self.named {
                return Err(self.atom().unwrap_err().into());
            }
            return self.list_all();
        }
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
        let uri = self.atom()?.clone();
        let resolution = resolve::resolve(
            &refs,
            &uri.label,
            uri.requirement.as_ref(),
            &self.address.redacted(),
        )?;
        let label = &uri.label;
        let wanted = uri
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
        // In a clone whose branch is behind, say the one command that moves it: the versions
        // are unrelated commits, so `git pull` would refuse to merge them.
        if self.git_dir.is_some() {
            let branch = format!("refs/heads/{label}");
            if let Ok(Some(current)) = self.store.find_ref(&branch) {
                if current != resolution.selected.commit {
                    let hint = format!(
                        "atom: {label}@{} is the newest {wanted}: run `git atom update` to check \
                         it out (atom versions share no history, so `git pull` cannot merge them)",
                        resolution.selected.version
                    );
                    // git fetches only what it does not have; say it once the atom is here.
                    if self.store.has_object(resolution.selected.commit) {
                        self.say(1, &hint);
                    } else {
                        self.after_fetch = Some(hint);
                    }
                }
            }
        }
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

    /// Every atom version of the repository, as `<commit> refs/atoms/<label>/<version>`, per
    /// label in semver precedence order; no branch and no `HEAD`.
    fn list_all(&self) -> Result<String, Error> {
        let refs = self.remote_refs()?;
        let listing = Listing::from_refs(&refs, &[], None);
        let mut text = String::new();
        for atom in listing.atoms.iter().filter(|a| a.format == Format::Atom1) {
            for v in &atom.versions {
                text.push_str(&format!(
                    "{} {ATOM_REF_PREFIX}{}/{}\n",
                    v.commit, atom.label, v.version
                ));
            }
        }
        text.push('\n');
        Ok(text)
    }
}
