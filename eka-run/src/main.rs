//! `eka-run`: see the library for what it does.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    match eka_run::cli::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed stderr is not a reason to panic: the exit code still says what happened.
            let _ = writeln!(std::io::stderr(), "eka-run: {err:#}");
            ExitCode::from(eka_run::cli::exit_code(&err))
        }
    }
}
