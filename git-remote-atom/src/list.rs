//! `list` and `list for-push`: one ref listing on the real remote. For an atom, of its refs in
//! both formats (`refs/atoms/<label>/`, `refs/eka/atoms/<label>/`), eka's metadata refs of it
//! and the identity refs; for a repository, of every atom ref and the identity refs; for a
//! push, of `refs/atoms/<label>/`.

use atom_lib::list::{self, Listing};
use atom_lib::refs::ATOM_REF_PREFIX;
use atom_lib::resolve::{self, ResolveError};
use atom_lib::store::RemoteRef;
use atom_lib::verify::label_prefixes;
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
    /// One ref listing of the real remote, restricted to `prefixes` by the server.
    fn remote_refs(&self, prefixes: &[String]) -> Result<Vec<RemoteRef>, Error> {
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let refs = self
            .connection()
            .and_then(|connection| connection.list(&self.store, &prefixes))
            .map_err(|source| Error::Listing {
                location: self.address.redacted(),
                source,
            })?;
        tracing::debug!(count = refs.len(), "listed");
        Ok(refs)
    }

    /// Says the listing's warnings (identity refs that disagree) at verbosity 1 and above.
    fn warn(&self, listing: &Listing) {
        for warning in &listing.warnings {
            self.say(1, &format!("warning: {warning}"));
        }
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
        let uri = self.atom()?.clone();
        let label = &uri.label;
        let mut text = String::new();
        if for_push {
            let refs = self.remote_refs(&[format!("{ATOM_REF_PREFIX}{label}/")])?;
            self.existing = refs.iter().map(|r| (r.name.clone(), r.oid)).collect();
            for r in &refs {
                text.push_str(&format!("{} {}\n", r.oid, r.name));
            }
            text.push('\n');
            return Ok(text);
        }
        // Both formats, eka's metadata refs (the fetch hands them to the provenance check) and
        // the identity refs, in one listing.
        let refs = self.remote_refs(&label_prefixes(label))?;
        self.warn(&Listing::from_refs(&refs, &[], None));
        let resolution = resolve::resolve(
            &refs,
            label,
            uri.requirement.as_ref(),
            &self.address.redacted(),
        )?;
        for v in &resolution.shadowed {
            self.say(
                2,
                &format!(
                    "atom: {} is not offered: the format-1 atom {ATOM_REF_PREFIX}{label}/{} has \
                     the same version",
                    v.atom_ref(label).name(),
                    v.version
                ),
            );
        }
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
            let branch = atom_lib::refs::RefName::new(&format!("refs/heads/{label}"));
            let current = branch
                .ok()
                .and_then(|b| self.store.find_ref(&b).ok().flatten());
            if let Some(current) = current {
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
            text.push_str(&format!("{} {}\n", v.commit, v.atom_ref(label).name()));
        }
        text.push_str(&format!(
            "{} refs/heads/{label}\n@refs/heads/{label} HEAD\n\n",
            resolution.selected.commit
        ));
        self.resolution = Some(resolution);
        self.listed = refs;
        Ok(text)
    }

    /// Every atom version of the repository, as `<commit> refs/atoms/<label>/<version>` and
    /// `<commit> refs/eka/atoms/<label>/<version>`, per label (format 1 first) in semver
    /// precedence order; no branch and no `HEAD`. Atoms of a generation this suite does not read
    /// are not offered (a message says so).
    fn list_all(&self) -> Result<String, Error> {
        let refs = self.remote_refs(&list::remote_prefixes(&[]))?;
        let listing = Listing::from_refs(&refs, &[], None);
        self.warn(&listing);
        let mut text = String::new();
        for atom in &listing.atoms {
            if let Some(generation) = atom.unsupported {
                let versions: Vec<String> = atom
                    .versions
                    .iter()
                    .map(|v| v.version.to_string())
                    .collect();
                self.say(
                    1,
                    &format!(
                        "atom: `{}` {} is in {}, which atom does not read: not offered",
                        atom.label,
                        versions.join(", "),
                        generation.describe()
                    ),
                );
                continue;
            }
            for v in &atom.versions {
                text.push_str(&format!(
                    "{} {}\n",
                    v.commit,
                    v.atom_ref(&atom.label).name()
                ));
            }
        }
        text.push('\n');
        Ok(text)
    }
}
