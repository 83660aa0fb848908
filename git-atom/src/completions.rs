//! Shell completion scripts generated from the clap definitions (bash, zsh, fish), for
//! `git-atom` and for `git atom` through git's own completion.

use clap_complete::Shell;

/// Lets git's bash completion complete `git atom ...`: it calls `_git_atom` when it exists
/// (loading `completions/git-atom` first), with the words of the whole git command line in
/// `words` and the index of `atom` in `__git_cmd_idx`; this hands the words from `atom` on to
/// the completion of `git-atom`.
const GIT_BASH_ADAPTER: &str = r#"
# `git atom <TAB>`: git's completion calls _git_atom.
_git_atom() {
    local idx=${__git_cmd_idx:-1}
    local COMP_WORDS=(git-atom "${words[@]:idx+1}")
    local COMP_CWORD=$((cword - idx))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _git-atom git-atom "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// `(file name, script)` for every shell, for a program called `name` defined by `cmd`. The bash
/// script of `git-atom` also completes `git atom`.
pub fn scripts(cmd: clap::Command, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (shell, file) in [
        (Shell::Bash, format!("{name}.bash")),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let mut cmd = cmd.clone();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, name, &mut buf);
        if shell == Shell::Bash && name == "git-atom" {
            buf.extend_from_slice(GIT_BASH_ADAPTER.as_bytes());
        }
        out.push((file, buf));
    }
    out
}

/// The scripts of `git-atom`.
pub fn git_atom() -> Vec<(String, Vec<u8>)> {
    scripts(crate::command(), "git-atom")
}
