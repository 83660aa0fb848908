//! The Nix backend: `nix-instantiate` in eka-run's evaluation sandbox evaluates, `nix-store
//! --realise` in run mode (the user's store at `/nix/store`, eka-run's Nix configuration)
//! builds.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

use super::{Builder, Derivation, Error, Evaluator, Format, Request};
use crate::eval::{self, Jail, SandboxOptions, View};
use crate::{atom_nix, cache, env, run, sandbox, store};

/// `nix-instantiate --eval` in the evaluation sandbox.
#[derive(Debug, Clone)]
pub struct NixEvaluator {
    /// The sandbox, the store, the Nix to run.
    pub sandbox: SandboxOptions,
    /// Pass `--show-trace`.
    pub show_trace: bool,
}

impl NixEvaluator {
    /// Run nix-instantiate on `entry` (in the sandbox's `/eka`) with `extra` arguments; its
    /// stdout.
    fn instantiate(
        &self,
        request: &Request,
        entry: &str,
        json: bool,
        extra: impl FnOnce(&View) -> Vec<OsString>,
    ) -> Result<Vec<u8>, Error> {
        let mut jail = Jail::prepare(request.atom.dir(), &self.sandbox)?;
        // Everything the evaluator will read is on the host before the sandbox starts. The
        // locked atoms are exported once per tree and bound, not copied per evaluation.
        let exports = jail.exports();
        let how = if jail.uses_shared_exports() {
            crate::closure::Exports::Shared
        } else {
            crate::closure::Exports::Copy
        };
        let mut deps = request.atom.materialise(&exports, how)?;
        let deps_base = if deps.binds.is_empty() {
            None
        } else {
            Some(eval::DEPS_BASE)
        };
        jail.bind_deps(std::mem::take(&mut deps.binds));
        // A file, not an argument: one argument may not exceed 128 KiB, a large lock would.
        let graph = exports.join(eval::DEPS_JSON);
        std::fs::write(&graph, deps.graph()).map_err(|source| eval::Error::Private {
            path: graph.clone(),
            source,
        })?;
        tracing::info!(
            atoms = deps.atom_count(),
            bytes = deps.bytes,
            "exported the locked atoms from the atom cache"
        );
        let nix = jail.nix.clone();
        let config = request.config.for_evaluation();
        let spawned = jail.spawn(
            &nix,
            |view| {
                // --read-write-mode: atom-nix copies module files to the store as it evaluates
                // them, and a derivation's drvPath writes the derivation.
                let mut args: Vec<OsString> = ["--eval", "--strict", "--read-write-mode"]
                    .map(OsString::from)
                    .to_vec();
                if json {
                    args.push("--json".into());
                }
                if self.show_trace {
                    args.push("--show-trace".into());
                }
                // A URI atom is exported; a directory is bound where it is.
                let atom_root = match &deps.atom {
                    Some(rel) => view.eka.join(rel),
                    None => jail.atom.clone().unwrap_or_default(),
                };
                args.extend([
                    "--argstr".into(),
                    "ekaDir".into(),
                    view.eka.clone().into_os_string(),
                    "--argstr".into(),
                    "atomRoot".into(),
                    atom_root.into_os_string(),
                    "--argstr".into(),
                    "atomNix".into(),
                    view.atom_nix.clone().into_os_string(),
                    "--argstr".into(),
                    "configJSON".into(),
                    config.into(),
                ]);
                if let Some(base) = deps_base {
                    args.extend(["--argstr".into(), "depsBase".into(), base.into()]);
                }
                args.extend(extra(view));
                args.push(view.eka.join(entry).into_os_string());
                args
            },
            true,
        )?;
        if spawned.code != 0 {
            return Err(Error::Failed {
                program: "nix-instantiate".into(),
                status: spawned.code,
            });
        }
        Ok(spawned.stdout)
    }
}

impl Evaluator for NixEvaluator {
    fn fingerprint(&self) -> Result<String, Error> {
        let atom_nix = atom_nix::digest(self.sandbox.atom_nix.as_deref())?;
        let (_, real) = self.sandbox.nix()?;
        // The Nix installation: where it is and which build of it (a new one is a new file).
        let meta = std::fs::metadata(&real).map_err(|_| eval::Error::NoNix)?;
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
            eval::ENTRY_NIX,
            eval::DRV_NIX,
            &nix,
        ]))
    }

    fn evaluate(&self, request: &Request, format: Format) -> Result<Vec<u8>, Error> {
        let attr = request.attribute.clone();
        self.instantiate(request, "eval.nix", format == Format::Json, |_| {
            attr.map(|a| vec!["-A".into(), a.into()])
                .unwrap_or_default()
        })
    }

    fn derivation(&self, request: &Request) -> Result<Derivation, Error> {
        let names = serde_json::to_string(&request.attribute_names()?)
            .expect("a list of strings serialises");
        let out = self.instantiate(request, "drv.nix", true, |_| {
            vec!["--argstr".into(), "attrJSON".into(), names.into()]
        })?;
        serde_json::from_slice(&out).map_err(|e| Error::Output {
            program: "nix-instantiate".into(),
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
}

impl Builder for NixBuilder {
    fn realise(
        &self,
        derivation: &Derivation,
        out_link: Option<&Path>,
    ) -> Result<Vec<String>, Error> {
        let layout = self.store.resolve(|k| std::env::var_os(k))?;
        if layout.state.is_none() {
            return Err(eval::Error::NoState {
                store: layout.store.clone(),
                state: layout.state_wanted.clone(),
            }
            .into());
        }
        let program = match &self.nix_store {
            Some(p) => p.clone(),
            None => eval::find_on_path("nix-store")
                .ok_or_else(|| Error::NotFound("nix-store".into()))?,
        };
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            what: "determine the working directory",
            source,
        })?;
        let mut args: Vec<OsString> = vec!["--realise".into(), derivation.drv_path.clone().into()];
        if let Some(link) = out_link {
            let link = std::path::absolute(link).map_err(|source| Error::Io {
                what: "resolve --out-link",
                source,
            })?;
            args.extend(["--add-root".into(), link.into_os_string()]);
        } else {
            // As `nix-build --no-out-link`: the outputs are not roots, and that was asked for.
            args.push("--no-gc-warning".into());
        }
        let nix_conf =
            env::run_nix_conf(std::env::var_os("NIX_CONF_DIR").as_deref().map(Path::new));
        // Nix prints the paths (or the roots) on stdout; eka-run prints the outputs itself, so
        // stdout stays what `build` documents.
        let null = std::fs::File::create("/dev/null").map_err(|source| Error::Io {
            what: "open /dev/null",
            source,
        })?;
        sandbox::catch_signals().map_err(eval::Error::from)?;
        let (status_r, status_w) = sandbox::pipe().map_err(eval::Error::from)?;
        match sandbox::fork().map_err(eval::Error::from)? {
            sandbox::Fork::Child => {
                drop(status_r);
                let failure = match run::enter(&layout, &cwd, &nix_conf) {
                    Ok(()) => {
                        let source = std::process::Command::new(&program)
                            .args(&args)
                            .env("NIX_CONF_DIR", env::RUN_NIX_CONF_DIR)
                            .stdout(std::process::Stdio::from(null))
                            .exec();
                        format!("cannot run `{}`: {source}", program.display())
                    }
                    Err(e) => format!("{:#}", anyhow::Error::from(e)),
                };
                let _ = std::io::Write::write_all(
                    &mut std::fs::File::from(status_w),
                    failure.as_bytes(),
                );
                sandbox::exit_now(125)
            }
            sandbox::Fork::Parent(pid) => {
                drop((status_w, null));
                sandbox::forward_signals_to(pid);
                let mut report = String::new();
                let _ =
                    std::io::Read::read_to_string(&mut std::fs::File::from(status_r), &mut report);
                let code = sandbox::wait(pid);
                sandbox::stop_forwarding();
                let code = code.map_err(eval::Error::from)?;
                if !report.is_empty() {
                    return Err(Error::Start {
                        program: program.display().to_string(),
                        report,
                    });
                }
                if code != 0 {
                    return Err(Error::Failed {
                        program: "nix-store --realise".into(),
                        status: code,
                    });
                }
                Ok(derivation.outputs.values().cloned().collect())
            }
        }
    }
}
