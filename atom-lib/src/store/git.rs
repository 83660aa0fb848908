//! The git store: the only part of the crate that talks to git. Objects and refs are read and
//! written with `gix`; ref listings of remotes use protocol v2 with server-side `ref-prefix`
//! filtering; the `git` command line is used where it is the right tool (fetch, push, status and
//! config honour the user's credentials, ssh config, `insteadOf` and `-c` settings), and only
//! through [`command`].
//!
//! - [`objects`]: reading and writing objects, walking history;
//! - [`export`]: writing a tree as a directory on disk, refused unless it stays confined;
//! - [`refs`]: reading refs and updating them in transactions that state what they expect;
//! - [`remote`]: listing, fetching from and pushing to remotes;
//! - [`session`]: one protocol v2 connection carrying a listing and several fetches;
//! - [`connection`]: a remote as one connection, session or command line, for listing and fetching;
//! - [`quarantine`]: fetching into a private object directory, checking, then admitting;
//! - [`config`]: git configuration as git itself sees it;
//! - [`sign`]: signed tags, made and checked with the user's git signing setup;
//! - [`worktree`]: the state of the working tree.

pub mod command;
pub mod config;
pub mod connection;
mod daemon;
pub mod export;
mod listing;
pub mod objects;
mod packed;
pub mod quarantine;
pub mod refs;
pub mod remote;
pub mod session;
mod settings;
pub mod sign;
mod ssh;
pub mod worktree;

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

use crate::Oid;

pub use command::{first_error_line, Verbosity};
pub use config::Config;
pub use connection::{Connection, Want};
pub use quarantine::{Filter, Quarantine, Sparse};
pub use refs::{Expect, RefUpdate};
pub use remote::{PushOptions, PushOutcome, PushedRef, Rejection};
pub use session::Session;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the git store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No repository holds the directory, nor any of its parents.
    #[error(
        "not in a git repository: `{}` (nor any of its parents); run this inside a repository's work tree",
        crate::escape::escaped(&path.to_string_lossy())
    )]
    NotARepository {
        /// Where the search started.
        path: PathBuf,
    },
    /// No repository could be opened.
    #[error("not a git repository: `{}`", crate::escape::escaped(&path.to_string_lossy()))]
    Open {
        /// Where the search started.
        path: PathBuf,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A temporary repository could not be created.
    #[error("cannot create a temporary repository")]
    Scratch {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A revision did not resolve to a commit.
    #[error("unknown revision `{}`", crate::escape::escaped(rev))]
    Revision {
        /// The revision as given.
        rev: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The repository has no commit yet (`HEAD` names a branch with no commit).
    #[error("unknown revision `{rev}`: the repository has no commit yet (commit the atoms first)")]
    NoCommit {
        /// The revision as given.
        rev: String,
    },
    /// A history walk reached the end of a shallow clone's history.
    #[error(
        "the history stops at {commit} (a shallow clone), so the repository's root is unknown: \
         `git atom fetch` records the remote's root, or `git fetch --unshallow` brings the history"
    )]
    Shallow {
        /// The boundary commit, whose parents are not here.
        commit: Oid,
    },
    /// An object is not in the object database.
    #[error("object {oid} is missing from the repository")]
    Missing {
        /// The missing object.
        oid: Oid,
    },
    /// An object could not be read, written or decoded.
    #[error("object {oid}: {what}")]
    Object {
        /// The object.
        oid: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A ref could not be read or written.
    #[error(
        "ref `{}`: {}",
        crate::escape::escaped(name),
        crate::escape::escaped(what)
    )]
    Ref {
        /// The ref.
        name: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A remote could not be found, reached or listed.
    #[error(
        "remote `{}`: {}",
        crate::escape::escaped(remote),
        crate::escape::escaped(what)
    )]
    Remote {
        /// The remote name or URL.
        remote: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A configuration value is not what its key needs.
    #[error(
        "invalid `{key}` value `{}`: expected {expected}",
        crate::escape::escaped(value)
    )]
    Config {
        /// The key.
        key: String,
        /// The value found.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// `git` could not be started (or waited for).
    #[error("cannot run `git {command}`{}", why.describe())]
    Spawn {
        /// The subcommand.
        command: &'static str,
        /// Why, in words of its own.
        why: SpawnFailure,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A `git` subprocess failed.
    #[error("`git {command}` failed: {}", crate::escape::escaped(message))]
    Git {
        /// The subcommand.
        command: &'static str,
        /// Its diagnostics (first meaningful line of stderr).
        message: String,
    },
    /// Objects could not be moved out of a quarantine.
    #[error("cannot admit fetched objects into `{path}`")]
    Admit {
        /// The object directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The revocation keyring (`gpg.ssh.revocationKeyring`) could not be read or checked: no
    /// signature counts until it can be.
    #[error("cannot check the revocation keyring `{}`: {what}", crate::escape::escaped(&path.to_string_lossy()))]
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// What failed.
        what: String,
    },
}

/// Why a process could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnFailure {
    /// The program is not there (`ENOENT`): git is not on `PATH`.
    NotFound,
    /// The arguments and environment are more than the system takes (`E2BIG`).
    TooManyArguments,
    /// Something else, said by the cause.
    Other,
}

impl SpawnFailure {
    /// The kind of `e`, an error of starting a process.
    pub fn of(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => SpawnFailure::NotFound,
            std::io::ErrorKind::ArgumentListTooLong => SpawnFailure::TooManyArguments,
            _ => SpawnFailure::Other,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SpawnFailure::NotFound => " (is git on PATH?)",
            SpawnFailure::TooManyArguments => ": too many arguments",
            SpawnFailure::Other => "",
        }
    }
}

/// The size of the cache of inflated objects of every opened repository.
const OBJECT_CACHE_BYTES: usize = 64 << 20;

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> BoxError {
    Box::new(e)
}

/// Maps a git library error about object `oid` to [`StoreError::Object`].
fn object_error<'a, E>(
    oid: impl std::fmt::Display + 'a,
    what: &'a str,
) -> impl FnOnce(E) -> StoreError + 'a
where
    E: std::error::Error + Send + Sync + 'static,
{
    // Formatted only on failure: on the paths that read thousands of objects, formatting each
    // id in advance cost more than reading the object.
    move |e| StoreError::Object {
        oid: oid.to_string(),
        what: what.to_owned(),
        source: Some(boxed(e)),
    }
}

fn to_oid(id: impl AsRef<gix::oid>) -> Oid {
    Oid::from_bytes(id.as_ref().as_bytes()).expect("git object ids are 20 or 32 bytes")
}

fn to_gix(oid: Oid) -> gix::ObjectId {
    gix::ObjectId::try_from(oid.as_bytes()).expect("object ids of supported hash kinds")
}

/// The scratch directories alive in this process, for [`remove_scratch_dirs`].
static SCRATCH_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn scratch_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    SCRATCH_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A scratch repository's directory: removed when dropped, and known to
/// [`remove_scratch_dirs`] while it exists.
#[derive(Debug)]
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new(dir: tempfile::TempDir) -> Self {
        scratch_dirs().push(dir.path().to_owned());
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        scratch_dirs().retain(|p| p != self.0.path());
    }
}

/// Removes every scratch repository of this process ([`GitStore::scratch`]) now, for a process
/// about to die of a signal, which runs no destructors.
pub fn remove_scratch_dirs() {
    for dir in scratch_dirs().drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Makes `SIGTERM`, `SIGINT` and `SIGHUP` remove the scratch repositories
/// ([`remove_scratch_dirs`]) before the process dies of the signal as it would have. For binaries
/// to call once at start.
pub fn remove_scratch_dirs_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("atom-signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                remove_scratch_dirs();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// A git repository holding atoms.
#[derive(Debug)]
pub struct GitStore {
    repo: gix::Repository,
    /// For a scratch repository: its directory, removed when the store is dropped.
    _scratch: Option<Scratch>,
    /// Large trees indexed by entry name, so that finding the atoms of a monorepo's `pkgs/` one
    /// after another costs one lookup each, not a read of the whole tree each.
    trees: objects::TreeIndex,
    /// The configuration, read once by [`GitStore::config`] (a `git config` process each time
    /// was most of the cost of publishing 500 atoms with locks) and dropped by this store's own
    /// writes to it.
    config: std::cell::RefCell<Option<config::Config>>,
}

impl GitStore {
    /// Whether this is a scratch repository ([`GitStore::scratch`]): the caller is outside any
    /// repository.
    pub fn is_scratch(&self) -> bool {
        self._scratch.is_some()
    }

    fn new(mut repo: gix::Repository) -> Self {
        // Inflated objects are kept a while: the trees above many atoms (a monorepo's `pkgs/`
        // of 50,000 entries) are read once per atom, and inflating them each time was most of
        // the cost of verifying every atom.
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        GitStore {
            repo,
            _scratch: None,
            trees: objects::TreeIndex::default(),
            config: Default::default(),
        }
    }

    /// Opens the repository containing `dir`, honouring `GIT_DIR` and friends as git does.
    pub fn discover(dir: &Path) -> Result<Self, StoreError> {
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(dir)
            .map_err(|e| {
                if e.is_not_found() {
                    StoreError::NotARepository {
                        path: dir.to_owned(),
                    }
                } else {
                    StoreError::Open {
                        path: dir.to_owned(),
                        source: boxed(e),
                    }
                }
            })?
            .to_thread_local();
        tracing::debug!(git_dir = %repo.git_dir().display(), "opened the repository");
        Ok(GitStore::new(repo))
    }

    /// Opens the repository at exactly `git_dir` (bare or `.git`).
    pub fn open(git_dir: &Path) -> Result<Self, StoreError> {
        let repo = gix::open(git_dir).map_err(|e| StoreError::Open {
            path: git_dir.to_owned(),
            source: boxed(e),
        })?;
        Ok(GitStore::new(repo))
    }

    /// An empty bare repository in a temporary directory, removed when the store is dropped:
    /// for talking to remotes from outside any repository, as `git ls-remote <url>` does. Its
    /// configuration is the user's global one.
    pub fn scratch() -> Result<Self, StoreError> {
        let dir = tempfile::Builder::new()
            .prefix("atom-scratch-")
            .tempdir()
            .map_err(|source| StoreError::Scratch { source })?;
        let repo = init_bare(dir.path())?;
        Ok(GitStore {
            repo,
            _scratch: Some(Scratch::new(dir)),
            trees: objects::TreeIndex::default(),
            config: Default::default(),
        })
    }

    /// The `.git` directory (or the bare repository).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The working tree, unless the repository is bare.
    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// A `git <subcommand>` process working on this repository, from its working tree (or, for
    /// a bare repository, from the repository itself), as git would run inside it.
    pub(crate) fn git(&self, subcommand: &'static str) -> command::Git {
        self.git_with_dir(subcommand, self.git_dir())
    }

    /// As [`git`](Self::git), with `git_dir` as the git directory (one sharing this
    /// repository's, as a push's stage does).
    pub(crate) fn git_with_dir(&self, subcommand: &'static str, git_dir: &Path) -> command::Git {
        let git = command::Git::new(subcommand, git_dir);
        match self.work_dir() {
            Some(work_dir) => git.work_tree(work_dir),
            None => git.current_dir(self.git_dir()),
        }
    }

    /// The commit `HEAD` points at, if any.
    pub fn head_commit(&self) -> Option<Oid> {
        self.repo.head_id().ok().map(to_oid)
    }

    /// The branch `HEAD` is on (`refs/heads/...`), if any.
    pub fn head_branch(&self) -> Option<String> {
        self.repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.as_bstr().to_str_lossy().into_owned())
    }
}

/// Creates an empty bare repository at `dir`.
fn init_bare(dir: &Path) -> Result<gix::Repository, StoreError> {
    gix::init_bare(dir).map_err(|e| StoreError::Open {
        path: dir.to_owned(),
        source: boxed(e),
    })
}

impl GitStore {
    /// Where git runs this repository's hooks from: `core.hooksPath` if set, else `hooks` in
    /// the repository (as `git rev-parse --git-path hooks` says).
    pub fn hooks_dir(&self) -> Result<PathBuf, StoreError> {
        let out = self.git("rev-parse").args(["--git-path", "hooks"]).run()?;
        let path = PathBuf::from(String::from_utf8_lossy(&out).trim_end_matches('\n'));
        // Relative paths are relative to where git ran: the working tree, or the repository.
        let base = self.work_dir().unwrap_or(self.git_dir());
        Ok(base.join(path))
    }

    /// The repository a `pre-receive` hook runs in (discovered from `dir`), seeing the objects
    /// being pushed: git keeps them in a quarantine directory (`GIT_QUARANTINE_PATH`) until the
    /// hook accepts the push, which the git library does not read from the environment. Refs
    /// are not visible through the returned store; its objects are the repository's and the
    /// pushed ones.
    pub fn open_receiving(dir: &Path) -> Result<Self, StoreError> {
        let store = GitStore::discover(dir)?;
        let Some(incoming) = std::env::var_os("GIT_QUARANTINE_PATH") else {
            return Ok(store);
        };
        // Absolute paths: alternates are read relative to the scratch repository otherwise.
        let absolute = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
        let objects = absolute(dir.join(store.repo.common_dir()).join("objects"));
        let incoming = absolute(dir.join(incoming));
        let scratch = tempfile::Builder::new()
            .prefix("atom-receive-")
            .tempdir()
            .map_err(|source| StoreError::Scratch { source })?;
        let repo = init_bare(scratch.path())?;
        let info = scratch.path().join("objects/info");
        std::fs::create_dir_all(&info)
            .and_then(|()| {
                std::fs::write(
                    info.join("alternates"),
                    format!("{}\n{}\n", incoming.display(), objects.display()),
                )
            })
            .map_err(|source| StoreError::Scratch { source })?;
        drop(repo);
        let repo = gix::open(scratch.path()).map_err(|e| StoreError::Open {
            path: scratch.path().to_owned(),
            source: boxed(e),
        })?;
        Ok(GitStore {
            repo,
            _scratch: Some(Scratch::new(scratch)),
            trees: objects::TreeIndex::default(),
            config: Default::default(),
        })
    }

    /// Opens the bare repository at `dir`, creating it (and its parents) first if it does not
    /// exist: the per-user cache of fetched atoms. Every fetch admits a pack, so it is opened
    /// with room for many more packs than it has (the object store's table of pack indices is
    /// sized when it is opened).
    pub fn open_or_init_bare(dir: &Path) -> Result<Self, StoreError> {
        if !dir.join("HEAD").is_file() {
            // Created beside its place and renamed into it, so that processes starting at
            // once never see a half-made repository: the first rename wins, the others find
            // the winner's and drop theirs.
            let parent = dir.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Scratch { source })?;
            let fresh = tempfile::Builder::new()
                .prefix(".atom-init-")
                .tempdir_in(parent)
                .map_err(|source| StoreError::Scratch { source })?;
            init_bare(fresh.path())?;
            match std::fs::rename(fresh.path(), dir) {
                Ok(()) => {
                    // Renamed away: nothing is left for the guard to remove.
                    let _ = fresh.keep();
                }
                Err(_) if dir.join("HEAD").is_file() => {}
                Err(source) => return Err(StoreError::Scratch { source }),
            }
        }
        let options = gix::open::Options::default().object_store_slots(
            gix::odb::store::init::Slots::AsNeededByDiskState {
                multiplier: 2.0,
                minimum: 4096,
            },
        );
        let repo = gix::open_opts(dir, options).map_err(|e| StoreError::Open {
            path: dir.to_owned(),
            source: boxed(e),
        })?;
        Ok(GitStore::new(repo))
    }
}
