use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(git_remote_atom::main(std::env::args_os()))
}
