use std::process::ExitCode;

fn main() -> ExitCode {
    // A scratch repository (listing a URL from outside a repository) must not outlive a kill.
    let _ = atom_lib::store::git::remove_scratch_dirs_on_signals();
    ExitCode::from(git_remote_atom::main(std::env::args_os()))
}
