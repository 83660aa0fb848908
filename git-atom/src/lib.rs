//! `git atom`: publish, list and verify atoms in git repositories.
//!
//! git runs this binary for `git atom ...`. Each subcommand lives in its own module with its
//! `Args` (clap derive; the doc comments are the help text and the man pages) and its `run`.

mod add;
mod cli;
pub mod completions;
mod deps;
mod fetch;
mod hook;
mod ls;
pub mod man;
mod output;
mod publish;
mod repository;
mod resolve;
mod show;
mod sign;
mod tree;
mod update;
mod verify;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

pub use cli::Cli;

/// Exit status for a failure that is not a verification finding.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for bad arguments (as clap uses it) and "could not verify".
pub const EXIT_USAGE: u8 = 2;

/// The clap definition of `git atom`, used for parsing and for the man pages.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses `args`, runs the subcommand and returns the exit status. Diagnostics go to stderr.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(code) = man::help(&args) {
        return code;
    }
    let matches = match command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return 0;
            }
            // A script that asked for JSON gets a JSON error for bad arguments too.
            if args.iter().any(|a| a == "--json") {
                let _ = output::json(&serde_json::json!({
                    "error": { "message": first_line(&e), "problems": [first_line(&e)] }
                }));
            }
            return EXIT_USAGE;
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return EXIT_USAGE;
        }
    };
    let json = matches
        .subcommand()
        .and_then(|(_, m)| m.try_get_one::<bool>("json").ok().flatten().copied())
        .unwrap_or(false);
    output::set_json(json);
    cli::init_logging(cli.verbose, cli.quiet);
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            if output::is_broken_pipe(&e) {
                return 0;
            }
            output::error(&e);
            EXIT_FAILURE
        }
    }
}

/// The first line of clap's message, without its `error: ` prefix.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}
