//! The Nix backend: `nix-instantiate` in eka-run's evaluation sandbox evaluates, `nix-store
//! --realise` in run mode (the user's store at `/nix/store`, eka-run's Nix configuration)
//! builds.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::{Builder, Derivation, Error, Evaluator, Format, Request};
use crate::jail::{self, Jail, SandboxOptions};
use crate::nix::command::{self, Instantiate, Program, Realise};
use crate::nix::expr;
use crate::{atom_nix, cache, exit, run, sandbox, store};

/// `nix-instantiate --eval` in the evaluation sandbox.
#[derive(Debug, Clone)]
pub struct NixEvaluator {
    /// The sandbox, the store, the Nix to run.
    pub sandbox: SandboxOptions,
    /// Pass `--show-trace`.
    pub show_trace: bool,
}

impl NixEvaluator {
    /// Run nix-instantiate on `entry` (in the sandbox's `/eka`) with `settings` (`--json`, `-A`
    /// and `--argstr`s of its own, after the ones every evaluation gets); its stdout.
    fn instantiate(
        &self,
        request: &Request,
        entry: &str,
        settings: Instantiate,
    ) -> Result<Vec<u8>, Error> {
        let mut jail = Jail::prepare(request.atom.dir(), &self.sandbox)?;
        let deps = export_deps(request, &mut jail)?;
        let nix = jail.nix.clone();
        let config = request.config.for_evaluation();
        let spawned = jail.spawn(
            &nix,
            |view| {
                // A URI atom is exported; a directory is bound where it is.
                let atom_root = match &deps.atom {
                    Some(rel) => view.eka.join(rel),
                    None => jail.atom.clone().unwrap_or_default(),
                };
                let mut argstr: Vec<(&'static str, OsString)> = vec![
                    ("ekaDir", view.eka.clone().into_os_string()),
                    ("atomRoot", atom_root.into_os_string()),
                    ("atomNix", view.atom_nix.clone().into_os_string()),
                    ("configJSON", config.into()),
                ];
                if deps.bound {
                    argstr.push(("depsBase", jail::DEPS_BASE.into()));
                }
                argstr.extend(settings.argstr);
                Instantiate {
                    show_trace: self.show_trace,
                    argstr,
                    file: view.eka.join(entry),
                    ..settings
                }
                .args()
            },
            true,
        )?;
        if spawned.code != 0 {
            return Err(Error::Failed {
                program: Program::Instantiate.name().into(),
                status: spawned.code,
                error: spawned.error,
            });
        }
        Ok(spawned.stdout)
    }
}

/// Export the request's locked atoms for `jail` (everything the evaluator will read is on the
/// host before the sandbox starts; the locked atoms are exported once per tree and bound, not
/// copied per evaluation), bind them, and write the dependency graph beside the entry
/// expression.
fn export_deps(request: &Request, jail: &mut Jail) -> Result<Exported, Error> {
    let exports = jail.exports();
    let how = if jail.uses_shared_exports() {
        crate::closure::Exports::Shared
    } else {
        crate::closure::Exports::Copy
    };
    let mut deps = request.atom.materialise(&exports, how)?;
    let binds = std::mem::take(&mut deps.binds);
    let bound = !binds.is_empty();
    jail.bind_deps(binds);
    // A file, not an argument: one argument may not exceed 128 KiB, a large lock would.
    let graph = exports.join(jail::DEPS_JSON);
    std::fs::write(&graph, deps.graph()).map_err(|source| jail::Error::Private {
        path: graph.clone(),
        source,
    })?;
    tracing::info!(
        atoms = deps.atom_count(),
        bytes = deps.bytes,
        "exported the locked atoms from the atom cache"
    );
    Ok(Exported {
        atom: deps.atom,
        bound,
    })
}

/// What [`export_deps`] did.
#[derive(Debug)]
struct Exported {
    /// Where the atom itself was exported, relative to the jail's exports (`None`: the atom is
    /// a directory, bound where it is).
    atom: Option<PathBuf>,
    /// Whether any locked atom is bound below [`jail::DEPS_BASE`].
    bound: bool,
}

impl Evaluator for NixEvaluator {
    fn fingerprint(&self) -> Result<String, Error> {
        let atom_nix = atom_nix::digest(self.sandbox.atom_nix.as_deref())?;
        let (_, real) = self.sandbox.nix()?;
        // The Nix installation: where it is and which build of it (a new one is a new file).
        let meta = std::fs::metadata(&real).map_err(|_| jail::Error::NoNix)?;
        let nix = format!(
            "{} {} {} {}",
            real.display(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        );
        Ok(cache::key(&[
            "nix",
            &atom_nix,
            expr::ENTRY_NIX,
            expr::DRV_NIX,
            &nix,
        ]))
    }

    fn evaluate(&self, request: &Request, format: Format) -> Result<Vec<u8>, Error> {
        let settings = Instantiate {
            json: format == Format::Json,
            attr: request.attribute.clone(),
            ..Instantiate::default()
        };
        self.instantiate(request, expr::ENTRY_FILE, settings)
    }

    fn derivation(&self, request: &Request) -> Result<Derivation, Error> {
        let names = serde_json::to_string(&request.attribute_names()?)
            .expect("a list of strings serialises");
        let settings = Instantiate {
            json: true,
            argstr: vec![("attrJSON", names.into())],
            ..Instantiate::default()
        };
        let out = self.instantiate(request, expr::DRV_FILE, settings)?;
        serde_json::from_slice(&out).map_err(|e| Error::Output {
            program: Program::Instantiate.name().into(),
            problem: format!("{e}: `{}`", String::from_utf8_lossy(&out).trim()),
        })
    }

    fn has(&self, derivation: &Derivation) -> bool {
        let Some(name) = derivation
            .drv_path
            .strip_prefix(store::STORE_DIR)
            .and_then(|n| n.strip_prefix('/'))
        else {
            return false;
        };
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return false;
        }
        self.sandbox
            .store
            .resolve(|k| std::env::var_os(k))
            .is_ok_and(|layout| layout.store.join(name).is_file())
    }
}

/// `nix-store --realise` in run mode: the user's store at `/nix/store`, eka-run's Nix
/// configuration (no substituters unless the user configured some), Nix's build sandbox.
#[derive(Debug, Clone)]
pub struct NixBuilder {
    /// The user's store.
    pub store: store::Options,
    /// The nix-store to run [default: the one on PATH].
    pub nix_store: Option<PathBuf>,
    /// Find the first error line of nix-store's stderr for [`Error::Failed`] (its stderr then
    /// passes through a pipe, so Nix sees no terminal there: no colours).
    pub first_error: bool,
}

impl Builder for NixBuilder {
    fn realise(
        &self,
        derivation: &Derivation,
        out_link: Option<&Path>,
    ) -> Result<Vec<String>, Error> {
        let echo = if self.first_error {
            Stderr::Echo
        } else {
            Stderr::Pass
        };
        self.realise_paths(std::slice::from_ref(&derivation.drv_path), out_link, echo)?;
        Ok(derivation.outputs.values().cloned().collect())
    }
}

/// Where a Nix program's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stderr {
    /// To ours, untouched.
    Pass,
    /// To ours through a pipe, to find its first error line.
    Echo,
    /// Through a pipe, to find its first error line, and nowhere else.
    Quiet,
}

impl NixBuilder {
    /// Substitute `outputs` (store paths) from the binary caches Nix is configured with,
    /// without building anything, Nix's stderr kept to find why it failed; with `out_link`, a
    /// root to the first as [`Builder::realise`] makes.
    pub fn substitute(&self, outputs: &[String], out_link: Option<&Path>) -> Result<(), Error> {
        self.realise_paths(outputs, out_link, Stderr::Quiet)
    }

    /// Copy `paths` and their closure into the binary cache directory `dir` with `nix copy`,
    /// in run mode, signing what it writes with the secret key file `key` (both absolute, and
    /// without the characters a store URL gives a meaning to).
    pub fn copy_to(&self, dir: &Path, key: &Path, paths: &[String]) -> Result<(), Error> {
        let program = self.program(Program::Nix)?;
        let to = format!("file://{}?secret-key={}", dir.display(), key.display());
        let mut args: Vec<OsString> = [
            "--extra-experimental-features",
            "nix-command",
            "copy",
            "--to",
            &to,
        ]
        .map(OsString::from)
        .to_vec();
        args.extend(paths.iter().map(OsString::from));
        let process = command::RunMode::new(program.into_os_string(), args);
        succeeded("nix copy", self.in_store(process, Stderr::Echo)?)
    }

    /// The Nix program `which` ([`program`]), or why there is none.
    fn program(&self, which: Program) -> Result<PathBuf, Error> {
        program(self.nix_store.as_deref(), which)
            .ok_or_else(|| Error::NotFound(which.name().into()))
    }

    fn realise_paths(
        &self,
        paths: &[String],
        out_link: Option<&Path>,
        stderr: Stderr,
    ) -> Result<(), Error> {
        let program = self.program(Program::Store)?;
        let add_root = out_link
            .map(std::path::absolute)
            .transpose()
            .map_err(|source| Error::Io {
                what: "resolve --out-link",
                source,
            })?;
        let realise = Realise {
            paths: paths.to_vec(),
            add_root,
        };
        let process = realise.in_run_mode(&program).map_err(|source| Error::Io {
            what: "open /dev/null",
            source,
        })?;
        succeeded("nix-store --realise", self.in_store(process, stderr)?)
    }

    /// Run `process` in run mode on the user's store, its stderr as `stderr` says.
    fn in_store(
        &self,
        process: command::RunMode,
        stderr: Stderr,
    ) -> Result<(u8, Option<String>), Error> {
        let layout = self.store.resolve(|k| std::env::var_os(k))?;
        if layout.state.is_none() {
            return Err(jail::Error::NoState {
                store: layout.store.clone(),
                state: layout.state_wanted.clone(),
            }
            .into());
        }
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            what: "determine the working directory",
            source,
        })?;
        let nix_conf = command::run_mode_conf();
        // Through a pipe, to find its first error line (Nix then sees no terminal there: no
        // colours).
        let (process, err_r) = if stderr == Stderr::Pass {
            (process, None)
        } else {
            let (err_r, err_w) = sandbox::pipe().map_err(jail::Error::from)?;
            (
                process.stderr(std::fs::File::from(err_w)),
                Some((err_r, stderr == Stderr::Echo)),
            )
        };
        in_run_mode(&layout, &cwd, &nix_conf, process, err_r)
    }
}

/// The Nix program `which` for a builder given `nix_store` (`--nix-store`): for nix-store,
/// `nix_store` itself; for another, the one beside it; else the one on PATH.
pub fn program(nix_store: Option<&Path>, which: Program) -> Option<PathBuf> {
    if let (Program::Store, Some(p)) = (which, nix_store) {
        return Some(p.to_owned());
    }
    nix_store
        .and_then(Path::parent)
        .map(|dir| dir.join(which.name()))
        .filter(|p| p.is_file())
        .or_else(|| which.find_on_path())
}

/// `Ok` when `program` exited with 0, else [`Error::Failed`] with its status and first error line.
fn succeeded(program: &str, (status, error): (u8, Option<String>)) -> Result<(), Error> {
    if status == 0 {
        return Ok(());
    }
    Err(Error::Failed {
        program: program.into(),
        status,
        error,
    })
}

/// Read `from` (a program's stderr) until it closes, copied to our stderr with `echo` (a
/// closed stderr of ours discards the rest); its first error line.
fn tee_stderr(mut from: std::fs::File, echo: bool) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut error = command::ErrorLine::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut ours = true;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        error.feed(&buf[..n]);
        if ours && echo {
            let mut e = std::io::stderr().lock();
            ours = e.write_all(&buf[..n]).and_then(|()| e.flush()).is_ok();
        }
    }
    error.finish()
}

/// Run `process` in run mode on the store `layout` (entered by a forked child, so that this
/// process stays where it is) with `nix_conf`, passing on SIGINT, SIGTERM and SIGHUP; its exit
/// code, and the first error line of its stderr when it goes to `stderr` (copied to ours by a
/// thread started after the fork, so the child inherits no lock it holds).
fn in_run_mode(
    layout: &store::Layout,
    cwd: &Path,
    nix_conf: &str,
    process: command::RunMode,
    stderr: Option<(std::os::fd::OwnedFd, bool)>,
) -> Result<(u8, Option<String>), Error> {
    let program = process.program().display().to_string();
    sandbox::catch_signals().map_err(jail::Error::from)?;
    let (status_r, status_w) = sandbox::pipe().map_err(jail::Error::from)?;
    match sandbox::fork().map_err(jail::Error::from)? {
        sandbox::Fork::Child => {
            drop((status_r, stderr));
            let failure = match run::enter(layout, cwd, nix_conf) {
                Ok(()) => {
                    let source = process.exec();
                    format!("cannot run `{program}`: {source}")
                }
                Err(e) => format!("{:#}", anyhow::Error::from(e)),
            };
            let _ =
                std::io::Write::write_all(&mut std::fs::File::from(status_w), failure.as_bytes());
            sandbox::exit_now(exit::FAILURE.into())
        }
        sandbox::Fork::Parent(pid) => {
            drop((status_w, process));
            let tee = stderr.map(|(fd, echo)| {
                std::thread::spawn(move || tee_stderr(std::fs::File::from(fd), echo))
            });
            sandbox::forward_signals_to(pid);
            let mut report = String::new();
            let _ = std::io::Read::read_to_string(&mut std::fs::File::from(status_r), &mut report);
            let code = sandbox::wait(pid);
            sandbox::stop_forwarding();
            let error = tee.and_then(|t| t.join().unwrap_or_default());
            let code = code.map_err(jail::Error::from)?;
            if !report.is_empty() {
                return Err(Error::Start { program, report });
            }
            Ok((code, error))
        }
    }
}
