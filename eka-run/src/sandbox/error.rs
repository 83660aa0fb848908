//! What goes wrong setting up the sandbox.

use std::io;
use std::path::PathBuf;

/// A failure to set up the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused to create a user namespace.
    #[error("user namespaces are not available: {hint}")]
    UserNamespaces {
        /// What to do about it.
        hint: String,
        /// The error `unshare(2)` returned.
        #[source]
        source: io::Error,
    },
    /// Landlock is missing from the kernel or disabled.
    #[error("landlock is not available ({status}): {hint}")]
    LandlockUnavailable {
        /// What the kernel reported.
        status: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// Building or applying the Landlock ruleset failed.
    #[error("cannot apply the landlock ruleset")]
    Landlock(#[source] landlock::RulesetError),
    /// Writing a uid or gid map failed.
    #[error("cannot write `{path}`")]
    IdMap {
        /// The `/proc` file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A mount inside the new namespace failed.
    #[error("cannot {what} `{target}`")]
    Mount {
        /// What was being done.
        what: &'static str,
        /// The mount point, as seen inside the namespace.
        target: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating a file or directory in the new root failed.
    #[error("cannot create `{path}` in the new root")]
    Create {
        /// The path, as seen inside the namespace.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A bind source is a symbolic link: it is refused, never followed (a link a dependency
    /// ships would name a host path).
    #[error("refusing to bind `{path}` into the sandbox: it is a symbolic link, and links are never followed into it")]
    BindLink {
        /// The host path.
        path: PathBuf,
    },
    /// `pivot_root` failed.
    #[error("cannot pivot_root into the new root")]
    PivotRoot(#[source] io::Error),
    /// The working directory does not exist inside the sandbox.
    #[error("cannot change to the working directory `{path}` inside the sandbox")]
    Chdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The process has more than one thread, so it cannot enter a user namespace or fork safely.
    #[error("the process has {threads} threads ({}); the sandbox must be entered by a single-threaded process", .names.join(", "))]
    Threads {
        /// How many threads there are.
        threads: usize,
        /// Their names (`/proc/self/task/<tid>/comm`), to tell which one stayed.
        names: Vec<String>,
    },
    /// Another process-level operation failed.
    #[error("cannot {what}")]
    Process {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

pub(super) fn process_error(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> Error {
    move |e| Error::Process {
        what,
        source: e.into(),
    }
}
