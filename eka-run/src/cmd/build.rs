//! `eka-run build`: evaluate an atom's derivation in the sandbox, realise it in the user's store,
//! and print its outputs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::target::Target;
use crate::backend::nix::NixBuilder;
use crate::backend::{self, Builder as _, Derivation, Evaluator as _, Request};
use crate::jail::SandboxOptions;

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

/// Evaluate and realise; the derivation and its outputs' paths.
pub(super) fn realise(
    target: &Target,
    builder: &BuilderOptions,
    sandbox: &SandboxOptions,
    out_link: Option<&Path>,
) -> anyhow::Result<(Derivation, Vec<String>)> {
    let request = target.request()?;
    Ok(realise_with(
        &request, target, builder, sandbox, out_link, false,
    )?)
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
    let builder = NixBuilder {
        store: sandbox.store.clone(),
        nix_store: builder.nix_store.clone(),
        first_error,
    };
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
    if args.matrix {
        return matrix::run(args);
    }
    let (_, outputs) = realise(
        &args.target,
        &args.builder,
        &args.sandbox,
        args.out_link.as_deref(),
    )?;
    let mut out = std::io::stdout().lock();
    let _ = outputs
        .iter()
        .try_for_each(|p| writeln!(out, "{p}"))
        .and_then(|()| out.flush());
    Ok(0)
}
