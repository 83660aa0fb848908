//! `eka-run build`: evaluate an atom's derivation in the sandbox, realise it in the user's store,
//! and print its outputs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::target::Target;
use crate::backend::nix::NixBuilder;
use crate::backend::{self, Builder as _, Derivation, Evaluator as _, Request};
use crate::identity::Identity;
use crate::jail::SandboxOptions;
use crate::nix::command::Program;
use crate::record::{self, Record, SecretKey};

pub mod matrix;

/// Arguments of `eka-run build`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Also make PATH a symlink to the default output (Nix names further outputs PATH-2, ...),
    /// registered in the user's store as a garbage collector root; it resolves where the
    /// store is /nix/store (in eka-run's run mode)
    #[arg(long, value_name = "PATH")]
    pub out_link: Option<PathBuf>,
    /// Build every entry of the atom's static build matrix (the list `git atom show --matrix`
    /// prints: every `build:host:target` triple of its `[platform]` times every combination of
    /// its variants) that this machine or Nix's `builders` can build, and skip the others,
    /// saying why. One line per entry (`built`, `skipped` or `failed`, the entry as `show
    /// --matrix` prints it, then the output paths or why), then a summary. A triple's build
    /// system is the derivation's `config.system`; a cross entry also gets `config.platform =
    /// {build, host, target}`. Exit status: 0 every entry built or skipped, 1 an entry failed,
    /// 125 eka-run itself failed
    #[arg(long, conflicts_with_all = ["with", "enable", "disable", "system", "out_link"])]
    pub matrix: bool,
    /// With --matrix: print one JSON object instead of lines, `{"include": [...], "built",
    /// "skipped", "failed"}` (docs/json.md)
    #[arg(long, requires = "matrix")]
    pub json: bool,
    /// After the build, copy the outputs and their closure into the Nix binary cache
    /// directory CACHE (created if missing) with `nix copy`, signed with --secret-key-file, and
    /// write the plan record of the evaluation beside them (CACHE/atom-plan/<identity>.plan,
    /// docs/plan-record.md), signed with the same key: a machine that trusts the key and has
    /// the cache among its substituters then runs the atom without evaluating it. With
    /// --matrix: for every entry built
    #[arg(long, value_name = "CACHE", requires = "secret_key_file")]
    pub to: Option<PathBuf>,
    /// With --to: the binary cache's secret key, in the format `nix-store
    /// --generate-binary-cache-key` writes (`<name>:<base64>`)
    #[arg(long, value_name = "FILE", requires = "to")]
    pub secret_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub builder: BuilderOptions,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// Options of the builder.
#[derive(Debug, Clone, clap::Args)]
pub struct BuilderOptions {
    /// The nix-store to realise with [default: the one on PATH]
    #[arg(long, value_name = "FILE")]
    pub nix_store: Option<PathBuf>,
}

impl BuilderOptions {
    /// The `nix` that reads Nix's settings: beside `--nix-store`, else on PATH.
    pub fn nix(&self) -> Option<PathBuf> {
        backend::nix::program(self.nix_store.as_deref(), Program::Nix)
    }

    /// The builder for the user's store of `sandbox`; with `first_error`, a failed build's
    /// error carries Nix's first error line.
    fn builder(&self, sandbox: &SandboxOptions, first_error: bool) -> NixBuilder {
        NixBuilder {
            store: sandbox.store.clone(),
            nix_store: self.nix_store.clone(),
            first_error,
        }
    }
}

/// What [`realise`] realised.
#[derive(Debug)]
pub(super) struct Realised {
    /// The evaluation's identity.
    pub identity: Identity,
    /// The derivation, as the evaluation or the plan record gave it.
    pub derivation: Derivation,
    /// Its outputs' paths, by output name.
    pub outputs: Vec<String>,
}

/// Realise what `target` names: from its plan record when there is one whose outputs can be
/// substituted (nothing is evaluated), else evaluated and built.
pub(super) fn realise(
    target: &Target,
    builder: &BuilderOptions,
    sandbox: &SandboxOptions,
    out_link: Option<&Path>,
) -> anyhow::Result<Realised> {
    let opened = target.open(sandbox, builder.nix())?;
    let identity = opened.identity.clone();
    if let Some(found) = &opened.record {
        let nix = builder.builder(sandbox, true);
        let derivation = found.derivation();
        // The default output first: `--add-root` links it, and the others after it.
        let mut paths = vec![derivation.out_path.clone()];
        paths.extend(
            derivation
                .outputs
                .values()
                .filter(|p| **p != derivation.out_path)
                .cloned(),
        );
        match nix.substitute(&paths, out_link) {
            Ok(()) => {
                tracing::info!(
                    record = %found.url,
                    key = %found.key,
                    "outputs substituted from the plan record; nothing evaluated"
                );
                let outputs = derivation.outputs.values().cloned().collect();
                return Ok(Realised {
                    identity,
                    derivation,
                    outputs,
                });
            }
            Err(e) => tracing::info!(
                "the outputs of the plan record {} cannot be substituted ({}); evaluating",
                found.url,
                match e {
                    backend::Error::Failed {
                        error: Some(line), ..
                    } => line,
                    e => format!("{:#}", anyhow::Error::from(e)),
                }
            ),
        }
    }
    let request = opened.request()?;
    let (derivation, outputs) = realise_with(&request, target, builder, sandbox, out_link, false)?;
    Ok(Realised {
        identity,
        derivation,
        outputs,
    })
}

/// Where `build --to` writes: the cache directory and the key, checked before anything is
/// built.
pub(super) struct Destination {
    dir: PathBuf,
    key_file: PathBuf,
    key: SecretKey,
}

impl Destination {
    fn prepare(dir: &Path, key_file: &Path) -> anyhow::Result<Self> {
        // Nix reads the cache and the key from a store URL: characters that mean something
        // there are refused rather than escaped.
        let plain = |what: &str, path: &Path| -> anyhow::Result<PathBuf> {
            let abs = std::path::absolute(path)
                .map_err(|e| anyhow::anyhow!("cannot resolve {what} `{}`: {e}", path.display()))?;
            match abs.to_str() {
                Some(s) if !s.chars().any(|c| "?&=#%+ ".contains(c) || c.is_control()) => Ok(abs),
                _ => anyhow::bail!(
                    "{what} `{}` holds a character a Nix store URL gives a meaning to (one of \
                     `?&=#%+`, a space or a control character) or is not UTF-8: use another path",
                    path.display()
                ),
            }
        };
        let key_file = plain("--secret-key-file", key_file)?;
        let text = std::fs::read_to_string(&key_file).map_err(|e| {
            anyhow::anyhow!(
                "cannot read --secret-key-file `{}`: {e}",
                key_file.display()
            )
        })?;
        let key = SecretKey::parse(&text)
            .map_err(|e| anyhow::anyhow!("--secret-key-file `{}`: {e}", key_file.display()))?;
        let dir = plain("--to", dir)?;
        std::fs::create_dir_all(dir.join(record::DIR)).map_err(|e| {
            anyhow::anyhow!("cannot create the binary cache `{}`: {e}", dir.display())
        })?;
        Ok(Destination { dir, key_file, key })
    }

    /// Copy the outputs into the cache, then write the record (so that a record never names
    /// outputs its cache does not have), and say so on stderr.
    fn publish(&self, builder: &NixBuilder, realised: &Realised) -> anyhow::Result<()> {
        let derivation = &realised.derivation;
        let default_output = derivation
            .outputs
            .iter()
            .find(|(_, p)| **p == derivation.out_path)
            .map(|(name, _)| name.clone())
            .unwrap_or_default();
        let record = Record {
            identity: realised.identity.clone(),
            derivation: derivation.drv_path.clone(),
            main_program: derivation.main_program(),
            default_output,
            outputs: derivation.outputs.clone(),
        };
        record
            .check()
            .map_err(|e| anyhow::anyhow!("cannot write a plan record for this build: {e}"))?;
        builder.copy_to(&self.dir, &self.key_file, &realised.outputs)?;
        let text = record.sign(&self.key);
        let path = self
            .dir
            .join(record::DIR)
            .join(format!("{}.plan", realised.identity.digest()));
        let write = |e: std::io::Error| {
            anyhow::anyhow!("cannot write the plan record `{}`: {e}", path.display())
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(self.dir.join(record::DIR))
            .map_err(write)?;
        tmp.write_all(text.as_bytes()).map_err(write)?;
        tmp.as_file().sync_data().map_err(write)?;
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(write)?;
        tmp.persist(&path).map_err(|e| write(e.error))?;
        eprintln!("eka-run: wrote the plan record {}", path.display());
        Ok(())
    }
}

/// Evaluate `request` as `target` says (the cache, the trace) and realise it; with
/// `first_error`, a failed build's [`backend::Error::Failed`] has Nix's first error line.
fn realise_with(
    request: &Request,
    target: &Target,
    builder: &BuilderOptions,
    sandbox: &SandboxOptions,
    out_link: Option<&Path>,
    first_error: bool,
) -> Result<(Derivation, Vec<String>), backend::Error> {
    let derivation = target.evaluator(sandbox).derivation(request)?;
    let builder = builder.builder(sandbox, first_error);
    let outputs = builder.realise(&derivation, out_link)?;
    Ok((derivation, outputs))
}

/// [`realise_with`] with `args`' options, finding Nix's first error line (`build --matrix`).
fn realise_request(
    request: &Request,
    args: &Args,
) -> Result<(Derivation, Vec<String>), backend::Error> {
    realise_with(
        request,
        &args.target,
        &args.builder,
        &args.sandbox,
        None,
        true,
    )
}

/// `eka-run build`: print the output paths, one a line.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let destination = match (&args.to, &args.secret_key_file) {
        (Some(dir), Some(key)) => Some(Destination::prepare(dir, key)?),
        _ => None,
    };
    if args.matrix {
        return matrix::run(args, destination.as_ref());
    }
    let realised = realise(
        &args.target,
        &args.builder,
        &args.sandbox,
        args.out_link.as_deref(),
    )?;
    if let Some(destination) = &destination {
        let builder = args.builder.builder(&args.sandbox, false);
        destination.publish(&builder, &realised)?;
    }
    let mut out = std::io::stdout().lock();
    let _ = realised
        .outputs
        .iter()
        .try_for_each(|p| writeln!(out, "{p}"))
        .and_then(|()| out.flush());
    Ok(0)
}
