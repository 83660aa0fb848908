//! `push`: only ever creates `refs/atoms/<label>/<version>` refs holding valid atom commits,
//! with create-only leases.

use atom_lib::resolve;
use atom_lib::store::git::{PushOptions, PushOutcome, RefUpdate};
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
        let mut updates: Vec<RefUpdate> = Vec::new();
        for line in batch {
            let spec = line.strip_prefix("push ").unwrap_or(line);
            let spec = spec.strip_prefix('+').unwrap_or(spec);
            let Some((src, dst)) = spec.split_once(':') else {
                return Err(Error::Malformed(line.escape_debug().to_string()));
            };
            match self.check_push(&label, src, dst) {
                Ok((atom, oid)) => updates.push(RefUpdate::create(atom.ref_name(), oid)),
                Err(why) => results.push((dst.to_owned(), Err(why))),
            }
        }
        if self.atomic && !results.is_empty() {
            for update in updates.drain(..) {
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

    /// Whether `src` may be pushed to `dst`: `dst` is a new `refs/atoms/<label>/<version>` and
    /// `src` a valid atom commit for it.
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
        let findings = resolve::check_structure(&self.store, &atom, oid);
        if findings.is_empty() {
            Ok((atom, oid))
        } else {
            Err(format!("not a valid atom commit: {}", findings.join("; ")))
        }
    }
}
