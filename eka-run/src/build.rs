//! `eka-run build` and `eka-run run`: evaluate an atom's derivation in the sandbox, realise it in
//! the user's store, and print its outputs or run its main program.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::backend::nix::NixBuilder;
use crate::backend::{Builder as _, Derivation, Evaluator as _};
use crate::eval::{SandboxOptions, Target};
use crate::{run, store};

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

/// Arguments of `eka-run run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: Target,
    /// Arguments for the program, after `--`
    #[arg(value_name = "ARGS", last = true)]
    pub args: Vec<OsString>,
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

/// A failure of `run` after the build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The main program is not in the output.
    #[error("`{path}` does not exist: `{name}` is the main program of `{drv}` (meta.mainProgram, else pname, else the name without version); set meta.mainProgram")]
    NoMainProgram {
        /// Where it was looked for.
        path: String,
        /// Its name.
        name: String,
        /// The derivation.
        drv: String,
    },
}

/// Evaluate and realise; the derivation and its outputs' paths.
fn realise(
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
pub fn build(args: &Args) -> anyhow::Result<u8> {
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

/// `eka-run run`: build, then execute the main program in run mode. Returns only on failure.
pub fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let (derivation, _) = realise(&args.target, &args.builder, &args.sandbox, None)?;
    let name = derivation.main_program();
    let program = format!("{}/bin/{name}", derivation.out_path);
    let layout = args.sandbox.store.resolve(|k| std::env::var_os(k))?;
    let on_host = program
        .strip_prefix(store::STORE_DIR)
        .map(|rel| layout.store.join(rel.trim_start_matches('/')));
    if !on_host.is_some_and(|p| p.is_file()) {
        return Err(Error::NoMainProgram {
            path: program,
            name,
            drv: derivation.drv_path,
        }
        .into());
    }
    match run::exec_in_store(&args.sandbox.store, Path::new(&program), &args.args)? {}
}
