//! `push`: only ever creates `refs/atoms/<label>/<version>` refs holding valid atom commits,
//! with create-only leases.

use atom_lib::publish;
use atom_lib::refs::ROOT_REF;
use atom_lib::store::git::{PushOptions, PushOutcome, Verbosity};
use atom_lib::{AtomRef, Format, Label, Oid, StoreError};

use crate::remote::{NoLabel, Remote};

/// Why a push failed as a whole (refusals of single refs are replies, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git is not pushing from a repository.
    #[error("git did not say which repository to push from (GIT_DIR)")]
    NoRepository,
    /// The URL names no atom.
    #[error(transparent)]
    NoLabel(#[from] NoLabel),
    /// A line of the batch is malformed.
    #[error("malformed push command `{0}`")]
    Malformed(String),
    /// The push itself failed.
    #[error("cannot push to {location}")]
    Transfer {
        /// The remote, credentials removed.
        location: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
}

impl Remote {
    /// Answers a batch of `push [+]<src>:<dst>` lines with `ok <dst>` or `error <dst> <why>`.
    pub fn push(&mut self, batch: &[String]) -> Result<String, Error> {
        if self.git_dir.is_none() {
            return Err(Error::NoRepository);
        }
        let label = self.atom()?.label.clone();
        let mut results: Vec<(String, Result<(), String>)> = Vec::new();
        let mut candidates: Vec<(AtomRef, Oid)> = Vec::new();
        for line in batch {
            let spec = line.strip_prefix("push ").unwrap_or(line);
            let spec = spec.strip_prefix('+').unwrap_or(spec);
            let Some((src, dst)) = spec.split_once(':') else {
                return Err(Error::Malformed(line.escape_debug().to_string()));
            };
            match self.check_push(&label, src, dst) {
                Ok(candidate) => candidates.push(candidate),
                Err(why) => results.push((dst.to_owned(), Err(why))),
            }
        }
        // The rules of `git atom publish`, in its one place: provenance (the tree at the path of
        // a source commit the remote has, descending from the remote's root), checked with the
        // same minimal fetches as `git atom verify`.
        let check = publish::check_existing(
            &self.store,
            &self.url(),
            &self.address.redacted(),
            candidates,
            Verbosity {
                level: 0,
                progress: self.verbosity.progress,
            },
        )
        .map_err(|source| Error::Transfer {
            location: self.address.redacted(),
            source,
        })?;
        for (atom, reasons) in check.refused {
            results.push((
                atom.name().to_string(),
                Err(format!("not a valid atom commit: {}", reasons.join("; "))),
            ));
        }
        let mut updates = check.updates;
        if self.atomic && !results.is_empty() {
            for update in updates.drain(..).filter(|u| u.name.as_str() != ROOT_REF) {
                results.push((
                    update.name.to_string(),
                    Err("atomic push failed".to_owned()),
                ));
            }
        }
        if !updates.is_empty() {
            let options = PushOptions {
                atomic: self.atomic,
                dry_run: self.dry_run,
                run_hooks: false,
                env: Vec::new(),
                verbosity: self.verbosity,
            };
            let pushed = self
                .store
                .push(&self.url(), &updates, &options)
                .map_err(|source| Error::Transfer {
                    location: self.address.redacted(),
                    source,
                })?;
            for p in pushed {
                if p.name == ROOT_REF {
                    // Created along with the atoms, as publish does; git did not ask for it.
                    continue;
                }
                let result = match p.outcome {
                    PushOutcome::Updated | PushOutcome::UpToDate => Ok(()),
                    PushOutcome::Rejected(why) => Err(why.to_string()),
                };
                results.push((p.name, result));
            }
        }
        let mut text = String::new();
        for (name, result) in &results {
            match result {
                Ok(()) => text.push_str(&format!("ok {name}\n")),
                Err(why) => text.push_str(&format!("error {name} {why}\n")),
            }
        }
        text.push('\n');
        Ok(text)
    }

    /// Whether `src` may be pushed to `dst` as far as names go: `dst` is a new
    /// `refs/atoms/<label>/<version>` and `src` a commit; [`publish::check_existing`] then
    /// decides whether it is a valid atom commit for it.
    fn check_push(&self, label: &Label, src: &str, dst: &str) -> Result<(AtomRef, Oid), String> {
        let atom = match AtomRef::parse(dst) {
            Ok(Some(atom)) if atom.format == Format::Atom1 && &atom.label == label => atom,
            _ => {
                return Err(format!(
                    "not an atom ref of `{label}` (push to refs/atoms/{label}/<version>)"
                ))
            }
        };
        if self.existing.contains_key(dst) {
            return Err(if src.is_empty() {
                "already exists (published atoms are never deleted)".to_owned()
            } else {
                "already exists".to_owned()
            });
        }
        if src.is_empty() {
            return Err("does not exist".to_owned());
        }
        let oid = self.store.resolve_commit(src).map_err(|e| e.to_string())?;
        Ok((atom, oid))
    }
}
