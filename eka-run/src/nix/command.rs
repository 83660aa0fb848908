//! Every `nix-*` process eka-run starts is built here, as atom-lib's `store/git/command.rs`
//! builds every `git` process: which program ([`Program`]), its arguments from typed settings
//! ([`Instantiate`], [`Realise`]) and its environment, sealed:
//!
//! - in the evaluation sandbox ([`Sealed`]): nothing of the caller's environment but a few
//!   locale variables ([`env::evaluator`]); Nix's settings only from the `nix.conf`
//!   [`evaluator_conf`] writes (`NIX_CONF_DIR` and `NIX_USER_CONF_FILES` point at it);
//! - in run mode ([`RunMode`]): the caller's environment, with `NIX_CONF_DIR` pointing at run
//!   mode's `nix.conf` ([`run_mode_conf`]), which includes the caller's own.
//!
//! A program `eka-run sandbox` runs in the evaluation sandbox, and one run mode runs in the
//! user's store, gets the same environment as the Nix programs there, so it goes through here
//! too. Callers never build a `Command`.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::env;

/// The Nix programs eka-run runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `nix-instantiate`: evaluates, in the evaluation sandbox.
    Instantiate,
    /// `nix-store`: realises derivations, in run mode.
    Store,
    /// `nix`: reads Nix's settings as run mode's Nix sees them ([`show_config`]).
    Nix,
}

impl Program {
    /// The program's name.
    pub fn name(self) -> &'static str {
        match self {
            Program::Instantiate => "nix-instantiate",
            Program::Store => "nix-store",
            Program::Nix => "nix",
        }
    }

    /// The program on the caller's `PATH`, if it is there.
    pub fn find_on_path(self) -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(self.name()))
            .find(|p| p.is_file())
    }
}

/// `nix-instantiate --eval --strict --read-write-mode`: the settings of one evaluation
/// (`--read-write-mode`: atom-nix copies module files to the store as it evaluates them, and a
/// derivation's `drvPath` writes the derivation).
#[derive(Debug, Clone, Default)]
pub struct Instantiate {
    /// `--json`: print the value as JSON.
    pub json: bool,
    /// `--show-trace`: Nix's detailed trace on errors.
    pub show_trace: bool,
    /// `--argstr NAME VALUE`, in order.
    pub argstr: Vec<(&'static str, OsString)>,
    /// `-A PATH`: the attribute of the value to print.
    pub attr: Option<String>,
    /// The expression file, as the evaluator sees it.
    pub file: PathBuf,
}

impl Instantiate {
    /// The arguments.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["--eval", "--strict", "--read-write-mode"]
            .map(OsString::from)
            .to_vec();
        if self.json {
            args.push("--json".into());
        }
        if self.show_trace {
            args.push("--show-trace".into());
        }
        for (name, value) in &self.argstr {
            args.extend(["--argstr".into(), (*name).into(), value.clone()]);
        }
        if let Some(attr) = &self.attr {
            args.extend(["-A".into(), attr.into()]);
        }
        args.push(self.file.clone().into_os_string());
        args
    }
}

/// `nix-store --realise`: realise one derivation in the user's store.
#[derive(Debug, Clone)]
pub struct Realise {
    /// The `.drv` file, in the store, or output paths to substitute.
    pub paths: Vec<String>,
    /// `--add-root PATH`: a symlink to the default output, registered as a garbage collector
    /// root (absolute). Without one, `--no-gc-warning`: the outputs are not roots, as
    /// `nix-build --no-out-link` leaves them, and that was asked for.
    pub add_root: Option<PathBuf>,
}

impl Realise {
    /// The arguments.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--realise".into()];
        args.extend(self.paths.iter().map(OsString::from));
        match &self.add_root {
            Some(link) => args.extend(["--add-root".into(), link.clone().into_os_string()]),
            None => args.push("--no-gc-warning".into()),
        }
        args
    }

    /// `program` (a nix-store) realising this in run mode. Nix prints the paths (or the roots)
    /// on stdout; eka-run prints the outputs itself, so its stdout goes to `/dev/null`.
    pub fn in_run_mode(&self, program: &Path) -> io::Result<RunMode> {
        let null = File::create("/dev/null")?;
        Ok(RunMode::new(program, self.args()).stdout(null))
    }
}

/// Finds the first line of a Nix program's stderr that says `error: ...`, as the stream passes
/// by: what `build --matrix` reports for an entry that failed. At most [`ErrorLine::MAX`] bytes
/// of a line are kept; colour escapes are removed.
#[derive(Debug, Default)]
pub struct ErrorLine {
    line: Vec<u8>,
    found: Option<String>,
}

impl ErrorLine {
    /// The most bytes of one line kept.
    pub const MAX: usize = 4096;

    /// The next bytes of the stream.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if self.found.is_some() {
                return;
            }
            if b == b'\n' {
                self.end_line();
            } else if self.line.len() < Self::MAX {
                self.line.push(b);
            }
        }
    }

    fn end_line(&mut self) {
        let line = strip_escapes(&String::from_utf8_lossy(&self.line));
        self.line.clear();
        let line = line.trim();
        if line.starts_with("error:") {
            self.found = Some(line.to_owned());
        }
    }

    /// The first error line, once the stream has ended.
    pub fn finish(mut self) -> Option<String> {
        if !self.line.is_empty() {
            self.end_line();
        }
        self.found
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... <letter>`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if !c.is_control() || c == '\t' {
            out.push(c);
        }
    }
    out
}

/// Where the evaluator's Nix finds the user's store.
#[derive(Debug, Clone, Copy)]
pub enum StoreAt<'a> {
    /// Mounted at `/nix/store`, its state at `/nix/var/nix` (the sandbox's own root).
    Mounted,
    /// Where it is on the host (best effort, without a mount namespace).
    Host {
        /// The store directory.
        store: &'a Path,
        /// Its state directory.
        state: &'a Path,
        /// Its log directory.
        log: &'a Path,
    },
}

/// The evaluator's `nix.conf` (see [`env::nix_conf`]) for a store at `store`.
pub fn evaluator_conf(store: StoreAt<'_>) -> String {
    let url = match store {
        StoreAt::Mounted => "local".to_owned(),
        StoreAt::Host { store, state, log } => format!(
            "local?real={}&state={}&log={}",
            store.display(),
            state.display(),
            log.display()
        ),
    };
    env::nix_conf(&url)
}

/// A program to execute in the evaluation sandbox, in the evaluator's sealed environment:
/// `nix-instantiate` with [`Instantiate`]'s arguments, or what `eka-run sandbox` runs in its
/// place.
#[derive(Debug, Clone)]
pub struct Sealed {
    program: PathBuf,
    args: Vec<OsString>,
    environment: Vec<(OsString, OsString)>,
}

impl Sealed {
    /// `program` with `args`, in the environment [`env::evaluator`] builds for `paths` (as the
    /// sandbox shows them) from the caller's.
    pub fn new(program: &Path, args: Vec<OsString>, paths: env::Paths<'_>) -> Self {
        Sealed {
            program: program.to_owned(),
            args,
            environment: env::evaluator(std::env::vars_os(), paths),
        }
    }

    /// The program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Replace this process by the program, in nothing but its environment. Returns only on
    /// failure.
    pub fn exec(&self) -> io::Error {
        Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(self.environment.iter().cloned())
            .exec()
    }
}

/// Run mode's `nix.conf` (see [`env::run_nix_conf`]): it includes the caller's
/// `$NIX_CONF_DIR/nix.conf`.
pub fn run_mode_conf() -> String {
    env::run_nix_conf(std::env::var_os("NIX_CONF_DIR").as_deref().map(Path::new))
}

/// Nix's settings as `nix-store --realise` in run mode reads them, from `nix show-config
/// --json` (`program`, a `nix`): the caller's environment with `NIX_CONF_DIR` at a directory
/// holding run mode's `nix.conf` ([`run_mode_conf`], which includes the caller's
/// `$NIX_CONF_DIR/nix.conf`), so the user's `nix.conf` files and `NIX_CONFIG` count as they
/// count there. Needs no store. Its stdout, or why it failed (its stderr's first line).
pub fn show_config(program: &Path) -> Result<Vec<u8>, String> {
    let dir = tempfile::Builder::new()
        .prefix("eka-run-conf.")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    std::fs::write(dir.path().join("nix.conf"), run_mode_conf())
        .map_err(|e| format!("cannot write a nix.conf: {e}"))?;
    let out = Command::new(program)
        .args([
            "--extra-experimental-features",
            "nix-command",
            "show-config",
            "--json",
        ])
        .env("NIX_CONF_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", program.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "`{} show-config` failed ({}): {}",
            program.display(),
            out.status,
            first.trim()
        ));
    }
    Ok(out.stdout)
}

/// A program to execute in run mode (the user's store at `/nix/store`, entered already): the
/// caller's environment with `NIX_CONF_DIR` at run mode's `nix.conf`
/// ([`env::RUN_NIX_CONF_DIR`]).
#[derive(Debug)]
pub struct RunMode {
    program: OsString,
    args: Vec<OsString>,
    stdout: Option<File>,
    stderr: Option<File>,
}

impl RunMode {
    /// `program` with `args`.
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> Self {
        RunMode {
            program: program.into(),
            args,
            stdout: None,
            stderr: None,
        }
    }

    /// Send the program's stderr to `file` instead of ours.
    pub fn stderr(mut self, file: File) -> Self {
        self.stderr = Some(file);
        self
    }

    /// Send the program's stdout to `file` instead of ours.
    pub fn stdout(mut self, file: File) -> Self {
        self.stdout = Some(file);
        self
    }

    /// The program.
    pub fn program(&self) -> &Path {
        Path::new(&self.program)
    }

    /// Replace this process by the program. Returns only on failure.
    pub fn exec(self) -> io::Error {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env("NIX_CONF_DIR", env::RUN_NIX_CONF_DIR);
        if let Some(file) = self.stdout {
            cmd.stdout(Stdio::from(file));
        }
        if let Some(file) = self.stderr {
            cmd.stderr(Stdio::from(file));
        }
        cmd.exec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instantiate_arguments_come_in_nix_instantiates_order() {
        let args = Instantiate {
            json: true,
            show_trace: false,
            argstr: vec![("ekaDir", "/eka".into()), ("configJSON", "{}".into())],
            attr: Some("lib.x".into()),
            file: "/eka/eval.nix".into(),
        }
        .args();
        assert_eq!(
            args,
            [
                "--eval",
                "--strict",
                "--read-write-mode",
                "--json",
                "--argstr",
                "ekaDir",
                "/eka",
                "--argstr",
                "configJSON",
                "{}",
                "-A",
                "lib.x",
                "/eka/eval.nix"
            ]
        );
    }

    #[test]
    fn realise_adds_a_root_or_says_there_is_none() {
        let mut realise = Realise {
            paths: vec!["/nix/store/x.drv".into()],
            add_root: None,
        };
        assert_eq!(
            realise.args(),
            ["--realise", "/nix/store/x.drv", "--no-gc-warning"]
        );
        realise.add_root = Some("/w/result".into());
        assert_eq!(
            realise.args(),
            ["--realise", "/nix/store/x.drv", "--add-root", "/w/result"]
        );
    }

    #[test]
    fn the_first_error_line_is_found_across_reads() {
        let mut e = ErrorLine::default();
        e.feed(b"building '/nix/store/x.drv'...\nsomething\n\x1b[31;1mer");
        e.feed(b"ror:\x1b[0m builder for '/nix/store/x.drv' failed\nerror: second\n");
        assert_eq!(
            e.finish().as_deref(),
            Some("error: builder for '/nix/store/x.drv' failed")
        );
        let mut none = ErrorLine::default();
        none.feed(b"warning: x\nno newline at the end: error: not at the start");
        assert_eq!(none.finish(), None);
        let mut last = ErrorLine::default();
        last.feed(b"error: without a newline");
        assert_eq!(last.finish().as_deref(), Some("error: without a newline"));
    }

    #[test]
    fn the_evaluator_finds_the_store_mounted_or_where_it_is() {
        assert!(evaluator_conf(StoreAt::Mounted).contains("\nstore = local\n"));
        let conf = evaluator_conf(StoreAt::Host {
            store: Path::new("/s"),
            state: Path::new("/v"),
            log: Path::new("/l"),
        });
        assert!(conf.contains("\nstore = local?real=/s&state=/v&log=/l\n"));
    }
}
