//! Reading refs, and updating them in one transaction where every update states what it expects
//! to find.

use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::{boxed, to_gix, to_oid, BoxError, GitStore, StoreError};
use crate::refs::RefName;
use crate::store::RemoteRef;
use crate::Oid;

/// What a ref update expects to find before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The ref must not exist: it is created (published atoms are only ever created).
    Absent,
    /// The ref must point at exactly this object.
    Equal(Oid),
    /// The ref may be absent; if present, the new value must descend from it (a branch).
    FastForward,
}

/// One ref to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The ref.
    pub name: RefName,
    /// Its new value.
    pub new: Oid,
    /// What it must be before.
    pub expect: Expect,
}

impl RefUpdate {
    /// An update that creates `name` and fails if it exists.
    pub fn create(name: RefName, new: Oid) -> Self {
        RefUpdate {
            name,
            new,
            expect: Expect::Absent,
        }
    }
}

impl GitStore {
    /// The object a ref points at (not peeled), if the ref exists.
    pub fn find_ref(&self, name: &RefName) -> Result<Option<Oid>, StoreError> {
        match self.repo.try_find_reference(name.as_str()) {
            Ok(Some(r)) => Ok(r.target().try_id().map(to_oid)),
            Ok(None) => Ok(None),
            Err(e) => Err(StoreError::Ref {
                name: name.to_string(),
                what: "could not be read".into(),
                source: Some(boxed(e)),
            }),
        }
    }

    /// The ref stored under exactly the full name `name`, whatever namespace (`GIT_NAMESPACE`)
    /// the repository was opened in, not followed if it is symbolic. `name` is untyped: the
    /// server hook asks about names exactly as git hands them over, which may be names this
    /// crate would never write.
    fn find_exact(&self, name: &str) -> Result<Option<gix::refs::Reference>, StoreError> {
        let err = |what: &str, e: BoxError| StoreError::Ref {
            name: name.to_owned(),
            what: what.into(),
            source: Some(e),
        };
        let full = gix::refs::FullName::try_from(name)
            .map_err(|e| err("is not a valid ref name", boxed(e)))?;
        let mut refs = self.repo.refs.clone();
        refs.namespace = None;
        refs.try_find(full.as_ref())
            .map_err(|e| err("could not be read", boxed(e)))
    }

    /// The object the ref stored under exactly the full name `name` points at (not peeled),
    /// whatever namespace the repository was opened in; `None` when it is absent or symbolic.
    pub fn find_exact_ref(&self, name: &str) -> Result<Option<Oid>, StoreError> {
        Ok(self
            .find_exact(name)?
            .and_then(|r| r.target.try_id().map(to_oid)))
    }

    /// The full name the symbolic ref stored under exactly `name` points to (one level, not
    /// followed further), whatever namespace the repository was opened in; `None` when `name`
    /// is absent or a direct ref.
    pub fn symbolic_target(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.find_exact(name)?.and_then(|r| match r.target {
            gix::refs::Target::Symbolic(target) => {
                Some(target.as_bstr().to_str_lossy().into_owned())
            }
            gix::refs::Target::Object(_) => None,
        }))
    }

    /// Every direct ref whose name starts with `prefix`, sorted by name. A ref pointing at an
    /// annotated tag carries the object the tag points to in `peeled`, as a remote listing
    /// does, so a tag never stands where a commit is expected.
    pub fn refs_with_prefix(&self, prefix: &str) -> Result<Vec<RemoteRef>, StoreError> {
        let err = |e: BoxError| StoreError::Ref {
            name: format!("{prefix}*"),
            what: "could not be listed".into(),
            source: Some(e),
        };
        let platform = self.repo.references().map_err(|e| err(boxed(e)))?;
        let iter = platform.prefixed(prefix).map_err(|e| err(boxed(e)))?;
        let mut out = Vec::new();
        for r in iter {
            let r = r.map_err(|e| err(boxed(e)))?;
            // A name git accepts but this crate does not (a C1 control character) is nothing
            // this crate reads.
            let Ok(name) = RefName::new(&r.name().as_bstr().to_str_lossy()) else {
                continue;
            };
            if let Some(id) = r.target().try_id() {
                let oid = to_oid(id);
                out.push(RemoteRef {
                    name,
                    oid,
                    peeled: self.peel_tag(oid),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Applies `updates` in one transaction: either every ref is written or none is. An update
    /// whose expectation does not hold fails the whole transaction, so concurrent writers
    /// cannot both win. Many creations at once are one rewrite of `packed-refs` instead of a
    /// loose ref each (see [`packed`](super::packed)).
    pub fn update_refs(&self, updates: &[RefUpdate], message: &str) -> Result<(), StoreError> {
        if self.packs_creations(updates)? && self.create_packed(updates)? {
            return Ok(());
        }
        let mut edits = Vec::with_capacity(updates.len());
        for update in updates {
            let name = update.name.as_str();
            let full = gix::refs::FullName::try_from(name).map_err(|e| StoreError::Ref {
                name: name.to_owned(),
                what: "is not a valid ref name".into(),
                source: Some(boxed(e)),
            })?;
            let expected = match update.expect {
                Expect::Absent => PreviousValue::MustNotExist,
                Expect::Equal(oid) => {
                    PreviousValue::MustExistAndMatch(gix::refs::Target::Object(to_gix(oid)))
                }
                Expect::FastForward => match self.find_ref(&update.name)? {
                    None => PreviousValue::MustNotExist,
                    Some(old) if self.is_ancestor(old, update.new)? => {
                        PreviousValue::MustExistAndMatch(gix::refs::Target::Object(to_gix(old)))
                    }
                    Some(old) => {
                        return Err(StoreError::Ref {
                            name: name.to_owned(),
                            what: format!("{} does not descend from {old}", update.new),
                            source: None,
                        })
                    }
                },
            };
            edits.push(RefEdit {
                change: Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: message.into(),
                    },
                    expected,
                    new: gix::refs::Target::Object(to_gix(update.new)),
                },
                name: full,
                deref: false,
            });
        }
        self.repo
            .edit_references(edits)
            .map_err(|e| StoreError::Ref {
                name: updates
                    .first()
                    .map(|u| u.name.to_string())
                    .unwrap_or_default(),
                what: "transaction failed, no ref was written".into(),
                source: Some(boxed(e)),
            })?;
        Ok(())
    }
}
