//! Run mode: execute a program in a user + mount namespace where the user's store is
//! `/nix/store` and its state directory is `/nix/var/nix`.
//!
//! The rest of the host's filesystem is visible, writable as before, except the host's own
//! `/nix`, which is hidden. eka-run then `exec`s the program: there is no waiting parent, so the
//! program's exit status and signals reach the caller unchanged.

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser as _;

use crate::nix::command::{self, RunMode};
use crate::nix::env;
use crate::sandbox::{self, Mode, Namespaces, NewRoot};
use crate::{exit, shebang, store};

/// Arguments of run mode.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub store: store::Options,
    /// The program to run (or an eka-run script), then its arguments
    #[arg(
        value_name = "PROGRAM",
        num_args = 1..,
        trailing_var_arg = true,
        required = true
    )]
    pub command: Vec<OsString>,
}

/// The options a script's `#! eka-run` lines may carry.
#[derive(Debug, clap::Parser)]
#[command(name = "#! eka-run", no_binary_name = true, disable_help_flag = true)]
struct Directives {
    #[command(flatten)]
    store: store::Options,
    #[arg(num_args = 1.., trailing_var_arg = true, required = true)]
    interpreter: Vec<OsString>,
}

/// A failure of run mode.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be set up.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The script's `#! eka-run` lines could not be read.
    #[error(transparent)]
    Shebang(#[from] shebang::Error),
    /// The script's `#! eka-run` lines do not parse.
    #[error("invalid `#! eka-run` lines in `{script}`: {message}")]
    Directives {
        /// The script.
        script: PathBuf,
        /// clap's explanation.
        message: String,
    },
    /// The namespace could not be set up.
    #[error(transparent)]
    Sandbox(#[from] sandbox::Error),
    /// The working directory is unknown.
    #[error("cannot determine the working directory")]
    Cwd(#[source] std::io::Error),
    /// `exec` failed.
    #[error("cannot run `{}`{hint}", program.to_string_lossy())]
    Exec {
        /// The program.
        program: OsString,
        /// What the user may have meant (a subcommand), with a leading space, filled in by the
        /// command line; or nothing.
        hint: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code for this failure: 127 when the program was not found, 126 when it could
    /// not be executed (as `env` does), 125 for eka-run's own failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                exit::NOT_FOUND
            }
            Error::Exec { .. } => exit::CANNOT_EXECUTE,
            _ => exit::FAILURE,
        }
    }
}

/// What to execute, after reading a script's `#! eka-run` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Where the store is.
    pub store: store::Options,
    /// The program and its arguments; with [`Invocation::atom`], the arguments of `eka-run run`.
    pub command: Vec<OsString>,
    /// The script names an atom to run it with (`#! eka-run run <atom> [attr]`): `command` is
    /// `<atom> [attr] [options] -- <script> [args]`, for `eka-run run`.
    pub atom: Option<PathBuf>,
}

/// Turn the command line into what to execute: an eka-run script becomes its interpreter
/// followed by the script and its arguments; anything else is executed as given.
pub fn invocation(args: Args, path_var: Option<&std::ffi::OsStr>) -> Result<Invocation, Error> {
    let Some(program) = args.command.first() else {
        unreachable!("clap requires a program");
    };
    let Some(script) = locate(program, path_var) else {
        return Ok(Invocation {
            store: args.store,
            command: args.command,
            atom: None,
        });
    };
    let Some(words) = shebang::directives(&script)? else {
        return Ok(Invocation {
            store: args.store,
            command: args.command,
            atom: None,
        });
    };
    let directives = Directives::try_parse_from(&words).map_err(|e| Error::Directives {
        script: script.clone(),
        message: e.render().to_string().trim().to_owned(),
    })?;
    // Relative paths in the script are relative to the script (after symlinks), as in nix-shell.
    let real = script.canonicalize().unwrap_or_else(|_| script.clone());
    let base = real.parent().unwrap_or(Path::new("."));
    let rebase = |p: Option<PathBuf>| p.map(|p| base.join(p));
    let store = store::Options {
        store: args.store.store.or(rebase(directives.store.store)),
        state: args.store.state.or(rebase(directives.store.state)),
    };
    // An interpreter named by a path (it has a `/`) is relative to the script too; a bare name
    // is looked up on `PATH`, as any program's.
    let mut command = directives.interpreter;
    if command.first().is_some_and(|w| w == "run") {
        // `#! eka-run run <atom> [attr] [options]`: the atom's main program is the interpreter,
        // run as `eka-run run` runs it, with the script and its arguments after `--`. An atom
        // named by a relative path is relative to the script; a URI (`<repo>::<label>`) is not.
        command.remove(0);
        if let Some(atom) = command.first_mut() {
            let path = Path::new(atom.as_os_str());
            let uri = atom.as_encoded_bytes().windows(2).any(|w| w == b"::");
            if path.is_relative() && !uri && !atom.as_encoded_bytes().starts_with(b"-") {
                *atom = base.join(path).into_os_string();
            }
        }
        if !command.iter().any(|w| w == "--") {
            command.push("--".into());
        }
        command.extend(args.command);
        return Ok(Invocation {
            store,
            command,
            atom: Some(script),
        });
    }
    if let Some(interpreter) = command.first_mut() {
        let path = Path::new(interpreter.as_os_str());
        if path.is_relative() && interpreter.as_encoded_bytes().contains(&b'/') {
            *interpreter = base.join(path).into_os_string();
        }
    }
    command.extend(args.command);
    Ok(Invocation {
        store,
        command,
        atom: None,
    })
}

/// The file `program` names, as `execvp` would find it on the host (if it is there).
fn locate(program: &OsString, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let program = Path::new(program);
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return Some(program.to_owned());
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Run mode: set up the namespace and `exec` the program. Returns only on failure.
pub fn run(invocation: Invocation) -> Result<Infallible, Error> {
    let layout = invocation.store.resolve(|k| std::env::var_os(k))?;
    let cwd = std::env::current_dir().map_err(Error::Cwd)?;
    tracing::debug!(store = %layout.store.display(), state = ?layout.state, "entering namespace");
    enter(&layout, &cwd, &command::run_mode_conf())?;
    let (program, args) = invocation
        .command
        .split_first()
        .expect("clap requires a program");
    let source = RunMode::new(program, args.to_vec()).exec();
    Err(Error::Exec {
        hint: String::new(),
        program: program.clone(),
        source,
    })
}

/// Execute `program` (a path in the store, as seen at `/nix/store`) with `args` in run mode on
/// the store `store`. Returns only on failure.
pub fn exec_in_store(
    store: &store::Options,
    program: &Path,
    args: &[OsString],
) -> Result<Infallible, Error> {
    let layout = store.resolve(|k| std::env::var_os(k))?;
    let cwd = std::env::current_dir().map_err(Error::Cwd)?;
    enter(&layout, &cwd, &command::run_mode_conf())?;
    let source = RunMode::new(program, args.to_vec()).exec();
    Err(Error::Exec {
        hint: String::new(),
        program: program.into(),
        source,
    })
}

/// Enter a user + mount namespace where the host is visible as before except `/nix`, which is
/// replaced by the user's store and state directory, and `nix_conf` at
/// [`env::RUN_NIX_CONF_DIR`]`/nix.conf`.
pub fn enter(layout: &store::Layout, cwd: &Path, nix_conf: &str) -> Result<(), Error> {
    // Root needs no user namespace to mount; one would stop Nix from sandboxing root's builds.
    let mounted = rustix::process::geteuid().is_root() && sandbox::enter_mount_namespace()?;
    if !mounted {
        sandbox::enter_user_namespace(Namespaces::default())?;
    }
    let with_nix = |root: NewRoot| {
        let root = root
            .bind(&layout.store, store::STORE_DIR, Mode::ReadWrite)
            .file(Path::new(env::RUN_NIX_CONF_DIR).join("nix.conf"), nix_conf);
        match &layout.state {
            Some(state) => root
                .bind(&state.dir, store::STATE_DIR, Mode::ReadWrite)
                .bind(&state.log, store::LOG_DIR, Mode::ReadWrite),
            None => root,
        }
    };
    // A host `/nix` is covered where it is, leaving the rest of the host as it is; without one
    // there is nothing to mount on, and a new root holds the host's other entries and `/nix`.
    let nix = Path::new("/nix");
    if std::fs::symlink_metadata(nix).is_ok_and(|m| m.is_dir()) {
        with_nix(NewRoot::new()).cover(nix, cwd)?;
    } else {
        with_nix(NewRoot::new().host_root_except(&["nix"])).enter(cwd)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args {
            store: store::Options::default(),
            command: words.iter().map(OsString::from).collect(),
        }
    }

    #[test]
    fn plain_programs_run_as_given() {
        let inv = invocation(args(&["/bin/true", "a b"]), None).unwrap();
        assert_eq!(inv.command, ["/bin/true", "a b"]);
    }

    #[test]
    fn scripts_run_through_their_interpreter_with_options_relative_to_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(
            &script,
            "#!/usr/bin/env eka-run\n#! eka-run --store store\n#! eka-run sh -e\necho hi\n",
        )
        .unwrap();
        let s = script.to_str().unwrap();
        let inv = invocation(args(&[s, "x y", "--store"]), None).unwrap();
        assert_eq!(inv.command, ["sh", "-e", s, "x y", "--store"]);
        let real_dir = dir.path().canonicalize().unwrap();
        assert_eq!(inv.store.store, Some(real_dir.join("store")));

        // The command line wins over the script.
        let mut a = args(&[s]);
        a.store.store = Some("/elsewhere".into());
        assert_eq!(
            invocation(a, None).unwrap().store.store,
            Some("/elsewhere".into())
        );
    }

    #[test]
    fn a_relative_interpreter_path_is_relative_to_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        let s = script.to_str().unwrap();
        let real_dir = dir.path().canonicalize().unwrap();
        std::fs::write(
            &script,
            "#!/usr/bin/env eka-run\n#! eka-run ./bin/interp -x\n",
        )
        .unwrap();
        let inv = invocation(args(&[s]), None).unwrap();
        assert_eq!(
            inv.command,
            [
                real_dir.join("./bin/interp").into_os_string(),
                "-x".into(),
                s.into()
            ]
        );
        // A bare name is looked up on PATH, an absolute path is kept.
        for interpreter in ["python3", "/usr/bin/python3"] {
            std::fs::write(
                &script,
                format!("#!/usr/bin/env eka-run\n#! eka-run {interpreter}\n"),
            )
            .unwrap();
            assert_eq!(
                invocation(args(&[s]), None).unwrap().command,
                [interpreter, s]
            );
        }
    }

    #[test]
    fn a_script_without_interpreter_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(&script, "#!/usr/bin/env eka-run\necho hi\n").unwrap();
        let err = invocation(args(&[script.to_str().unwrap()]), None).unwrap_err();
        assert!(matches!(err, Error::Directives { .. }), "{err}");
    }
}
