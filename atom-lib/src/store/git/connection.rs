//! A remote as one connection: a protocol v2 session when the server speaks it (a listing and
//! every fetch on one connection), else a `git` process per step (a v0/v1 server allows one
//! command per connection). Callers list and fetch through a [`Connection`] and never choose.

use super::quarantine::{Filter, Quarantine, Sparse};
use super::{GitStore, Session, StoreError, Verbosity};
use crate::refs::{RefName, Refspec};
use crate::store::RemoteRef;
use crate::Oid;

/// An object to fetch: the ref that names it on the remote (what a v0/v1 server can be asked
/// for), and the id it must have (what a protocol v2 session asks for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The ref on the remote, or `None` for an object asked for by id only.
    pub name: Option<RefName>,
    /// The object.
    pub oid: Oid,
}

impl Want {
    /// The object `oid`, named on the remote by the ref `name`.
    pub fn named(name: RefName, oid: Oid) -> Want {
        Want {
            name: Some(name),
            oid,
        }
    }

    /// The object `oid`, asked for by id.
    pub fn id(oid: Oid) -> Want {
        Want { name: None, oid }
    }

    /// What `git fetch` is given: the ref's name when there is one (a v0/v1 server refuses
    /// ids unless configured to allow them), else the id.
    fn refspec(&self) -> Refspec {
        self.name
            .clone()
            .map_or(Refspec::Object(self.oid), Refspec::Objects)
    }
}

/// One remote, reached over a session or the `git` command line.
#[derive(Debug, Clone)]
pub struct Connection {
    url: String,
    session: Option<Session>,
}

impl GitStore {
    /// Connects to `url` with this repository's configuration (credentials, `http.*`, ssh
    /// command, `insteadOf`, `atom.timeout`): a protocol v2 session when the server speaks it.
    pub fn connect(&self, url: &str) -> Result<Connection, StoreError> {
        Ok(Connection {
            url: url.to_owned(),
            session: self.session(url)?,
        })
    }
}

impl Connection {
    /// The URL connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether every step shares one connection (a protocol v2 session).
    pub fn is_session(&self) -> bool {
        self.session.is_some()
    }

    /// The remote's refs under `prefixes`, sorted by name.
    pub fn list(&self, store: &GitStore, prefixes: &[&str]) -> Result<Vec<RemoteRef>, StoreError> {
        match &self.session {
            Some(session) => session.list(prefixes),
            None => store.list_remote(&self.url, prefixes),
        }
    }

    /// Fetches the commits `wants` with their root trees and nothing else into a throwaway
    /// repository borrowing `store`'s objects ([`Sparse`]); blobs follow with
    /// [`Sparse::fetch_blobs`].
    pub fn fetch_sparse(&self, store: &GitStore, wants: &[Want]) -> Result<Sparse, StoreError> {
        match &self.session {
            Some(session) => {
                let ids: Vec<Oid> = wants.iter().map(|w| w.oid).collect();
                store.fetch_sparse_with(session, &ids)
            }
            None => {
                let args: Vec<Refspec> = wants.iter().map(Want::refspec).collect();
                let ids: Vec<Oid> = wants.iter().map(|w| w.oid).collect();
                store.fetch_sparse(&self.url, &args, &ids)
            }
        }
    }

    /// Fetches `wants` with everything under them into a new quarantine of `store`.
    pub fn fetch_whole(
        &self,
        store: &GitStore,
        wants: &[Want],
        verbosity: Verbosity,
    ) -> Result<Quarantine, StoreError> {
        let quarantine = store.quarantine()?;
        match &self.session {
            Some(session) => {
                let ids: Vec<Oid> = wants.iter().map(|w| w.oid).collect();
                quarantine.fetch_with(session, &ids)?;
            }
            None => {
                let args: Vec<Refspec> = wants.iter().map(Want::refspec).collect();
                quarantine.fetch(&self.url, &args, Filter::Everything, verbosity)?;
            }
        }
        Ok(quarantine)
    }

    /// Fetches the objects `wants` by id, leaving out what `filter` says, into a new
    /// quarantine stacked on `view` (which sees `view`'s objects).
    pub fn fetch_ids(
        &self,
        view: &GitStore,
        wants: &[Oid],
        filter: Filter,
        verbosity: Verbosity,
    ) -> Result<Quarantine, StoreError> {
        let quarantine = view.quarantine()?;
        match &self.session {
            Some(session) => quarantine.fetch_filtered_with(session, wants, filter)?,
            None => {
                let ids: Vec<Refspec> = wants.iter().copied().map(Refspec::Object).collect();
                quarantine.fetch(&self.url, &ids, filter, verbosity)?;
            }
        }
        Ok(quarantine)
    }

    /// Fetches refs by refspec (`<src>:<dst>`, written under `<dst>` in the quarantine) into a
    /// new quarantine stacked on `view` (which sees `view`'s objects), leaving out what
    /// `filter` says. Refspecs need the command line, whatever the server speaks.
    pub fn fetch_refspecs(
        &self,
        view: &GitStore,
        refspecs: &[Refspec],
        filter: Filter,
        verbosity: Verbosity,
    ) -> Result<Quarantine, StoreError> {
        let quarantine = view.quarantine()?;
        quarantine.fetch(&self.url, refspecs, filter, verbosity)?;
        Ok(quarantine)
    }
}
