//! `eka-run eval`: evaluate an atom with atom-nix in the evaluation sandbox and print the value.

use std::io::{self, Write as _};

use super::target::Target;
use crate::backend::{Evaluator as _, Format};
use crate::jail::SandboxOptions;

/// Arguments of `eka-run eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON instead of as a Nix value
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// `eka-run eval`: evaluate the atom and print the value.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let request = args.target.request()?;
    let format = if args.json { Format::Json } else { Format::Nix };
    let value = args
        .target
        .evaluator(&args.sandbox)
        .evaluate(&request, format)?;
    let mut out = io::stdout().lock();
    // Every value ends with a newline (`nix-instantiate --json` writes none).
    let newline: &[u8] = if value.ends_with(b"\n") { b"" } else { b"\n" };
    // A closed stdout (`| head`) is not an error.
    let _ = out
        .write_all(&value)
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush());
    Ok(0)
}
