//! `eka-run`: see the library for what it does.

use std::process::ExitCode;

fn main() -> ExitCode {
    match eka_run::cli::run(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("eka-run: {err:#}");
            ExitCode::from(eka_run::cli::exit_code(&err))
        }
    }
}
