//! `eka-run build`: evaluate an atom's derivation in the sandbox, realise it in the user's store,
//! and print its outputs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::target::Target;
use crate::backend::nix::NixBuilder;
use crate::backend::{Builder as _, Derivation, Evaluator as _};
use crate::jail::SandboxOptions;

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
    let derivation = target.evaluator(sandbox).derivation(&request)?;
    let builder = NixBuilder {
        store: sandbox.store.clone(),
        nix_store: builder.nix_store.clone(),
    };
    let outputs = builder.realise(&derivation, out_link)?;
    Ok((derivation, outputs))
}

/// `eka-run build`: print the output paths, one a line.
pub fn run(args: &Args) -> anyhow::Result<u8> {
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
