//! The helper's state across commands: the atom URI, the real remote behind it, the repository
//! git works on (or a scratch one), and what git asked for with `option`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use atom_lib::resolve::Resolution;
use atom_lib::store::git::{Connection, Verbosity};
use atom_lib::store::RemoteRef;
use atom_lib::uri::{Address, AliasError, Aliases, Uri, UriError};
use atom_lib::{GitStore, Oid, StoreError};

use crate::policy;

/// Why the helper cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The repository or the configuration cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An alias in git config is invalid.
    #[error("in git config `atom.alias.*`")]
    Alias(#[source] AliasError),
    /// The URI is invalid.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The URI names no repository.
    #[error("`atom::{url}` names no repository: write `atom::<repository>::{label}`")]
    NoRepository {
        /// The URL as given.
        url: String,
        /// Its label.
        label: String,
    },
    /// git's transport policy forbids the transport underneath.
    #[error("transport '{0}' not allowed")]
    Transport(&'static str),
}

/// The URL names a repository but no atom, for a command that needs one.
#[derive(Debug, thiserror::Error)]
#[error("`atom::{url}` names no atom: the label is missing; write `atom::{url}::<label>` (`git ls-remote atom::{url}` lists the atoms)")]
pub struct NoLabel {
    /// The URL as given.
    pub url: String,
}

/// Whether `url` has a `::` before a label, not counting those inside IPv6 literals
/// (`http://[::1]/repo`).
fn names_label(url: &str) -> bool {
    let mut outside = String::new();
    let mut depth = 0;
    for c in url.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside.contains("::")
}

/// One `atom::` remote, as git talks to it.
#[derive(Debug)]
pub struct Remote {
    /// The URL as given, after `atom::`.
    pub(crate) given: String,
    /// The atom URI; `None` when the URL names only a repository (`git ls-remote atom::<repo>`
    /// lists every atom then).
    pub(crate) uri: Option<Uri>,
    /// Whether git runs the helper for a configured remote (`origin` of a clone) rather than for
    /// a URL given on the command line.
    pub(crate) named: bool,
    pub(crate) address: Address,
    pub(crate) verbosity: Verbosity,
    pub(crate) dry_run: bool,
    pub(crate) atomic: bool,
    /// The repository git is working on, when there is one.
    pub(crate) git_dir: Option<PathBuf>,
    /// The repository the helper talks to remotes from: git's, or a scratch one.
    pub(crate) store: GitStore,
    /// The last `list`'s result: the selected version and every accepted one.
    pub(crate) resolution: Option<Resolution>,
    /// The last `list`'s refs: the atom's refs in both formats, eka's metadata refs of them and
    /// the identity refs.
    pub(crate) listed: Vec<RemoteRef>,
    /// The last `list for-push`'s refs: what exists on the remote.
    pub(crate) existing: BTreeMap<atom_lib::refs::RefName, Oid>,
    /// What to say once the newer version selected by `list` has been fetched.
    pub(crate) after_fetch: Option<String>,
    /// The connection to the remote, opened by the first listing or fetch and kept: a
    /// protocol v2 session carries the listing and the fetch.
    connection: std::cell::RefCell<Option<Connection>>,
}

impl Remote {
    /// Parses `url` with the aliases of git config and applies git's transport policy. `named`
    /// says whether git runs the helper for a configured remote rather than a bare URL.
    pub fn start(url: &str, named: bool) -> Result<Remote, StartError> {
        let git_dir = std::env::var_os("GIT_DIR")
            .map(PathBuf::from)
            .map(|p| p.canonicalize().unwrap_or(p));
        let store = match &git_dir {
            Some(dir) => GitStore::open(dir)?,
            None => GitStore::scratch()?,
        };
        let config = store.config()?;
        let aliases = Aliases::from_config(&config).map_err(StartError::Alias)?;
        // `<address>::<label>[@<requirement>]`, or a bare address naming every atom of a
        // repository. Both go through the one parser of atom URIs, so the errors read the same.
        let (uri, address) = match Uri::parse(url, &aliases) {
            Ok(uri) => {
                let address = uri
                    .address
                    .clone()
                    .ok_or_else(|| StartError::NoRepository {
                        url: url.to_owned(),
                        label: uri.label.to_string(),
                    })?;
                (Some(uri), address)
            }
            // No `::` (outside an IPv6 literal): the URL is only an address, and its own error
            // says what is wrong with it.
            Err(_) if !names_label(url) => match Address::parse(url, &aliases) {
                Ok(address) => (None, address),
                Err(address_error) => return Err(address_error.into()),
            },
            Err(e) => return Err(e.into()),
        };
        let protocol = address.scheme().protocol();
        if !policy::allowed(protocol, &config, |name| std::env::var(name).ok()) {
            return Err(StartError::Transport(protocol));
        }
        Ok(Remote {
            given: url.to_owned(),
            uri,
            named,
            address,
            verbosity: Verbosity {
                level: 1,
                progress: None,
            },
            dry_run: false,
            atomic: false,
            git_dir,
            store,
            resolution: None,
            listed: Vec::new(),
            connection: Default::default(),
            existing: BTreeMap::new(),
            after_fetch: None,
        })
    }

    /// The atom URI, for commands that need a label.
    pub(crate) fn atom(&self) -> Result<&Uri, NoLabel> {
        self.uri.as_ref().ok_or_else(|| NoLabel {
            url: self.given.clone(),
        })
    }

    /// The connection to the remote, opened on first use.
    pub(crate) fn connection(&self) -> Result<Connection, StoreError> {
        if let Some(connection) = &*self.connection.borrow() {
            return Ok(connection.clone());
        }
        let connection = self.store.connect(&self.url())?;
        *self.connection.borrow_mut() = Some(connection.clone());
        Ok(connection)
    }

    /// Says `message` on stderr when git's verbosity is at least `level`.
    pub(crate) fn say(&self, level: u32, message: &str) {
        if self.verbosity.level >= level {
            let _ = writeln!(std::io::stderr().lock(), "{message}");
        }
    }

    /// The real remote's URL, for git.
    pub(crate) fn url(&self) -> String {
        self.address.git_url()
    }

    /// Answers `option <name> <value>`.
    pub fn option(&mut self, rest: &str) -> &'static str {
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let boolean = match value {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        match (name, boolean) {
            ("verbosity", _) => match value.parse() {
                Ok(v) => {
                    self.verbosity.level = v;
                    "ok"
                }
                Err(_) => "error invalid verbosity",
            },
            ("progress", Some(b)) => {
                self.verbosity.progress = Some(b);
                "ok"
            }
            ("dry-run", Some(b)) => {
                self.dry_run = b;
                "ok"
            }
            ("atomic", Some(b)) => {
                self.atomic = b;
                "ok"
            }
            // Nothing to do: a clone and a fetch are the same to this helper.
            ("cloning", Some(_)) => "ok",
            _ => "unsupported",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_label_follows_a_double_colon_outside_ipv6_literals() {
        assert!(super::names_label("gh:o/r::foo"));
        assert!(super::names_label("http://[::1]:8080/r::foo"));
        assert!(!super::names_label("http://[::1]:8080/r"));
        assert!(!super::names_label("git://127.0.0.1/mono.git"));
    }
}
