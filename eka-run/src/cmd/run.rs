//! `eka-run run`: build an atom's derivation as `eka-run build` does, then execute its main
//! program in run mode.

use std::ffi::OsString;
use std::path::Path;

use super::build::{realise, BuilderOptions};
use super::target::Target;
use crate::jail::SandboxOptions;
use crate::store;

/// Arguments of `eka-run run`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
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

/// `eka-run run`: build, then execute the main program in run mode. Returns only on failure.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let derivation = realise(&args.target, &args.builder, &args.sandbox, None)?.derivation;
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
    match crate::run::exec_in_store(&args.sandbox.store, Path::new(&program), &args.args)? {}
}
