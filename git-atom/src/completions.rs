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
    _git__atom git-atom "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
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
        // The program's own name, not `git atom`: the scripts complete `git-atom`.
        let mut cmd = with_bin_name(cmd.clone(), name);
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, name, &mut buf);
        if shell == Shell::Bash {
            buf = fix_bash_case_names(&buf, name);
            if name == "git-atom" {
                buf.extend_from_slice(GIT_BASH_ADAPTER.as_bytes());
            }
        }
        out.push((file, buf));
    }
    out
}

/// clap_complete's bash script names a subcommand's case `git__atom__subcmd__publish` where it
/// sets it and `git__subcmd__atom__subcmd__publish` where it matches it (the `-` of the program's
/// name becomes `__` in one place and `__subcmd__` in the other), so no subcommand's options
/// would complete; this makes both the former.
fn fix_bash_case_names(script: &[u8], name: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let wrong = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", name.replace('-', "__"));
    text.replace(&wrong, &right).into_bytes()
}

/// `cmd` named `name`, and each subcommand `<parent's name> <subcommand>`, all the way down.
fn with_bin_name(cmd: clap::Command, name: &str) -> clap::Command {
    cmd.bin_name(name).mut_subcommands(|sub| {
        let sub_name = format!("{name} {}", sub.get_name());
        with_bin_name(sub, &sub_name)
    })
}

/// The scripts of `git-atom`.
pub fn git_atom() -> Vec<(String, Vec<u8>)> {
    scripts(crate::command(), "git-atom")
}

#[cfg(test)]
mod tests {
    #[test]
    fn subcommands_are_named_after_the_program() {
        let (_, bash) = super::git_atom().remove(0);
        let bash = String::from_utf8(bash).unwrap();
        assert!(
            bash.contains("git__atom__subcmd__publish)\n            opts="),
            "{bash}"
        );
        assert!(!bash.contains("git__subcmd__atom"), "{bash}");
    }
}
