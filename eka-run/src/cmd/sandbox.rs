//! `eka-run sandbox`: run a program in the evaluation sandbox instead of nix-instantiate, to
//! inspect what an evaluator can reach.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::jail::{Error, Jail, SandboxOptions};

/// Arguments of `eka-run sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The directory the sandbox exposes read-only, as eval exposes the atom
    #[arg(value_name = "ATOM-DIR")]
    pub atom: PathBuf,
    /// The program to run in the sandbox (it must be visible inside), then its arguments
    #[arg(
        value_name = "PROGRAM",
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub command: Vec<OsString>,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// `eka-run sandbox`: run a program in the evaluation sandbox; its exit code.
pub fn run(args: &Args) -> Result<u8, Error> {
    let jail = Jail::prepare(Some(&args.atom), &args.sandbox)?;
    let (program, rest) = args.command.split_first().expect("clap requires a program");
    Ok(jail
        .spawn(Path::new(program), |_| rest.to_vec(), false)?
        .code)
}
