//! Where the user's Nix store and Nix state directory live on the host.
//!
//! By default both live under the XDG data directory, in the same layout as `/nix`:
//! `$XDG_DATA_HOME/eka-run/nix/store` and `$XDG_DATA_HOME/eka-run/nix/var/nix`
//! (`$XDG_DATA_HOME` defaults to `~/.local/share`). With `--store <dir>` the state directory
//! defaults to `var/nix` beside it: `--store ~/nix/store` uses `~/nix/var/nix`.
//!
//! A store the user may read but not write (someone else's, or on a read-only filesystem) is
//! fine for running programs: when the state directory neither exists nor can be created, the
//! store appears at `/nix/store` without one, and only Nix itself cannot use it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A failure to locate or create the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither `XDG_DATA_HOME` nor `HOME` is set to an absolute path.
    #[error("cannot find a data directory for the default store: set HOME or XDG_DATA_HOME, or pass --store")]
    NoDataDir,
    /// The store's parent cannot hold the state directory.
    #[error("cannot place the state directory beside the store `{store}`: pass --state")]
    NoStateDir {
        /// The store directory.
        store: PathBuf,
    },
    /// Creating or resolving a directory failed.
    #[error("cannot create `{path}`")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where the caller asked the store to be (both optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct Options {
    /// Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]
    #[arg(long, value_name = "DIR", global = true)]
    pub store: Option<PathBuf>,
    /// Directory that appears at /nix/var/nix, Nix's state [default: var/nix beside the store's parent]
    #[arg(long, value_name = "DIR", global = true)]
    pub state: Option<PathBuf>,
}

/// The store and state directories on the host, created and canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Appears at `/nix/store`.
    pub store: PathBuf,
    /// Appears at `/nix/var/nix`, with its `log` at `/nix/var/log/nix`; `None` when the state
    /// directory neither exists nor can be created (a store the user cannot write).
    pub state: Option<State>,
    /// Where the state directory was looked for (for messages when it is missing).
    pub state_wanted: PathBuf,
}

/// Nix's state directory for the store, and its build log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Appears at `/nix/var/nix`.
    pub dir: PathBuf,
    /// Appears at `/nix/var/log/nix` (build logs): `log` in the state directory.
    pub log: PathBuf,
}

/// The path at which the store appears inside the sandbox.
pub const STORE_DIR: &str = "/nix/store";
/// The path at which the state directory appears inside the sandbox.
pub const STATE_DIR: &str = "/nix/var/nix";
/// The path at which the log directory appears inside the sandbox.
pub const LOG_DIR: &str = "/nix/var/log/nix";

impl Options {
    /// Resolve against the environment (`XDG_DATA_HOME`, `HOME`) and create what is missing.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<OsString>) -> Result<Layout, Error> {
        let store = match &self.store {
            Some(dir) => dir.clone(),
            None => default_root(&env)?.join("nix/store"),
        };
        let store = absolute(&store)?;
        let state = match &self.state {
            Some(dir) => absolute(dir)?,
            None => store
                .parent()
                .filter(|p| *p != Path::new("/"))
                .map(|p| p.join("var/nix"))
                .ok_or_else(|| Error::NoStateDir {
                    store: store.clone(),
                })?,
        };
        let store = create(&store)?;
        let available = create(&state).and_then(|dir| {
            let log = create(&dir.join("log"))?;
            Ok(State { dir, log })
        });
        let available = match available {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::info!(
                    "{:#}: running without a Nix state directory (programs from the store run; Nix cannot use it)",
                    anyhow::Error::from(e)
                );
                None
            }
        };
        Ok(Layout {
            store,
            state: available,
            state_wanted: state,
        })
    }
}

fn default_root(env: &impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, Error> {
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(data) = env("XDG_DATA_HOME").and_then(absolute) {
        return Ok(data.join("eka-run"));
    }
    env("HOME")
        .and_then(absolute)
        .map(|home| home.join(".local/share/eka-run"))
        .ok_or(Error::NoDataDir)
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|source| Error::Create {
        path: path.to_owned(),
        source,
    })
}

fn create(path: &Path) -> Result<PathBuf, Error> {
    let err = |source| Error::Create {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    path.canonicalize().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_follows_xdg_then_home() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().to_owned();
        let env = |k: &str| (k == "HOME").then(|| home.clone().into_os_string());
        let layout = Options::default().resolve(env).unwrap();
        let root = home
            .canonicalize()
            .unwrap()
            .join(".local/share/eka-run/nix");
        assert_eq!(layout.store, root.join("store"));
        assert_eq!(layout.state.unwrap().dir, root.join("var/nix"));

        let xdg = tmp.path().join("xdg");
        let env = |k: &str| (k == "XDG_DATA_HOME").then(|| xdg.clone().into_os_string());
        let layout = Options::default().resolve(env).unwrap();
        assert_eq!(
            layout.store,
            xdg.canonicalize().unwrap().join("eka-run/nix/store")
        );
    }

    #[test]
    fn state_defaults_beside_an_explicit_store() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = Options {
            store: Some(tmp.path().join("n/store")),
            state: None,
        };
        let layout = opts.resolve(|_| None).unwrap();
        assert_eq!(
            layout.state.unwrap().dir,
            tmp.path().canonicalize().unwrap().join("n/var/nix")
        );
    }

    #[test]
    fn a_store_without_a_creatable_state_directory_still_resolves() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("ro");
        std::fs::create_dir_all(parent.join("store")).unwrap();
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o555)).unwrap();
        let opts = Options {
            store: Some(parent.join("store")),
            state: None,
        };
        let layout = opts.resolve(|_| None);
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        let layout = layout.unwrap();
        assert_eq!(layout.store, parent.canonicalize().unwrap().join("store"));
        // Root may write anyway; anyone else gets no state directory.
        let root = rustix::process::geteuid().is_root();
        assert_eq!(layout.state.is_some(), root);
        assert_eq!(layout.state_wanted, parent.join("var/nix"));
    }

    #[test]
    fn no_home_is_an_error() {
        assert!(matches!(
            Options::default().resolve(|_| None),
            Err(Error::NoDataDir)
        ));
    }
}
