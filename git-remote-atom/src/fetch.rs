//! `fetch`: the wanted atom commits come into the store's quarantine, each is checked, and only
//! then are the objects admitted into the repository git works on.

use atom_lib::admit;
use atom_lib::refs::RECORDED_ROOT_KEY;
use atom_lib::refs::ROOT_REF;
use atom_lib::{AtomRef, Oid, StoreError};

use crate::remote::{NoLabel, Remote};

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git is not fetching into a repository.
    #[error("git did not say which repository to fetch into (GIT_DIR)")]
    NoRepository,
    /// The URL names no atom.
    #[error(transparent)]
    NoLabel(#[from] NoLabel),
    /// git asked to fetch before listing.
    #[error("git asked to fetch `{0}` before listing")]
    NotListed(String),
    /// A line of the batch is malformed.
    #[error("malformed fetch command `{0}`")]
    Malformed(String),
    /// git asked for a ref this remote does not offer.
    #[error("`{0}` is not offered by this atom remote")]
    NotOffered(String),
    /// The objects could not be fetched or admitted.
    #[error("cannot fetch atom `{label}`")]
    Transfer {
        /// The atom.
        label: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// What arrived is not a valid atom.
    #[error("{0}")]
    Refused(Box<admit::Refusal>),
}

impl Remote {
    /// The atom ref a name from git's `fetch` command stands for.
    fn atom_for(&self, name: &str) -> Result<(AtomRef, Oid), Error> {
        let resolution = self
            .resolution
            .as_ref()
            .ok_or_else(|| Error::NotListed(name.escape_debug().to_string()))?;
        let label = &self.atom()?.label;
        if name == "HEAD" || name == format!("refs/heads/{label}") {
            return Ok((resolution.selected_ref(), resolution.selected.commit));
        }
        // The atom refs `list` offered, in either format (`refs/atoms/<label>/<version>`,
        // `refs/eka/atoms/<label>/<version>`).
        if let Ok(Some(atom)) = AtomRef::parse(name) {
            if &atom.label == label {
                if let Some(v) = resolution
                    .matching
                    .iter()
                    .find(|v| v.version == atom.version && v.format == atom.format)
                {
                    return Ok((atom, v.commit));
                }
            }
        }
        Err(Error::NotOffered(name.escape_debug().to_string()))
    }

    /// Answers a batch of `fetch <oid> <name>` lines.
    pub fn fetch(&mut self, batch: &[String]) -> Result<(), Error> {
        if self.git_dir.is_none() {
            return Err(Error::NoRepository);
        }
        let label = self.atom()?.label.to_string();
        let mut wanted: Vec<(AtomRef, Oid)> = Vec::new();
        for line in batch {
            let mut fields = line.split(' ');
            let (Some("fetch"), Some(_oid), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(Error::Malformed(line.escape_debug().to_string()));
            };
            let atom = self.atom_for(name)?;
            if !wanted.contains(&atom) {
                wanted.push(atom);
            }
        }
        for (atom, commit) in &wanted {
            self.say(2, &format!("atom: fetching {atom} ({})", commit.short(12)));
        }
        let transfer = |source| Error::Transfer {
            label: label.clone(),
            source,
        };
        // Structure, then provenance: the atom's tree must be the tree at its path in its
        // source commit, which the remote must have; only then are the objects admitted.
        let atoms: Vec<admit::Wanted> = wanted
            .iter()
            .map(|(atom, commit)| admit::Wanted::listed(atom.clone(), *commit))
            .collect();
        // Under `atom.requireSignature`, each atom must carry a signature that counts.
        let policy = atom_lib::sign::Policy::from_config(&self.store).map_err(transfer)?;
        let request = admit::Request {
            signatures: Some(&policy),
            wanted: &atoms,
            contents: admit::Contents::Whole,
            listed: &self.listed,
            verbosity: self.verbosity,
        };
        let connection = self.connection().map_err(transfer)?;
        admit::admit(&self.store, &connection, &self.address.redacted(), &request).map_err(
            |e| match e {
                admit::Error::Refused(refusal) => Error::Refused(refusal),
                admit::Error::Transfer { source, .. } => transfer(source),
            },
        )?;
        self.record_root().map_err(transfer)?;
        // The policy read before admission: recording the root changed the configuration,
        // and reading it again would cost another `git config` process.
        self.fetch_signatures(&policy, &wanted).map_err(transfer)?;
        if let Some(hint) = self.after_fetch.take() {
            self.say(1, &hint);
        }
        Ok(())
    }
}

impl Remote {
    /// Records the publisher's identity in the clone, so atomic numbers shown there (`git atom
    /// ls`, `show`) are the publisher's: the remote's listed `refs/atoms/_root` goes into the
    /// clone's configuration as `atom.root`. The clone holds the atom commits alone, not the
    /// publisher's history, so a ref would name a commit (and a tree) it does not have; nothing
    /// is fetched for it. A repository that records a root already (its own `_root`, or an
    /// earlier `atom.root`) keeps it; a remote without a root records nothing (the atomic
    /// number is then unknown, as the remote's own).
    fn record_root(&self) -> Result<(), StoreError> {
        let Some(root) = self.listed.iter().find(|r| r.name == ROOT_REF) else {
            return Ok(());
        };
        if atom_lib::list::recorded_root(&self.store)?.is_some() {
            return Ok(());
        }
        self.store
            .set_local_config(RECORDED_ROOT_KEY, &root.oid.to_string())
    }
}
