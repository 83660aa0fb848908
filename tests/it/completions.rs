//! Shell completions: generated from the clap definitions into `git-atom/completions/` and
//! `eka-run/completions/`, never drifting, and working through git's own bash completion.

use std::path::PathBuf;

fn dir(krate: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("completions")
}

fn all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (name, contents) in git_atom::completions::git_atom() {
        files.push((dir("git-atom").join(name), contents));
    }
    for (name, contents) in git_atom::completions::scripts(eka_run::cli::command(), "eka-run") {
        files.push((dir("eka-run").join(name), contents));
    }
    files
}

#[test]
fn completion_scripts_match_the_clap_definitions() {
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    let mut drifted = Vec::new();
    for (path, contents) in all() {
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &contents).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(&contents) {
            drifted.push(path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "completions out of date: {drifted:?}; run `UPDATE_COMPLETIONS=1 cargo test -p atom-tests --test it completions` and commit them"
    );
}

/// Completes `line` in bash as a user with the README's install would: bash-completion, git's
/// completion and ours from `~/.local/share/bash-completion/completions`.
fn complete(env: &atom_tests::TestEnv, line: &str) -> String {
    let script = format!(
        r#"source /usr/share/bash-completion/bash_completion
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_completion_loader "${{COMP_WORDS[0]}}"
func=$(complete -p "${{COMP_WORDS[0]}}" | sed -E 's/.*-F ([^ ]+).*/\1/')
"$func" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}" | sort
"#
    );
    let run = env.run(env.root(), "bash", ["--norc", "-c", &script]);
    run.success().stdout
}

#[test]
fn git_atom_completes_through_gits_bash_completion() {
    let git_completion = PathBuf::from("/usr/share/bash-completion/completions/git");
    assert!(
        git_completion.is_file(),
        "this test needs bash-completion and git's bash completion (Debian: bash-completion, git)"
    );
    let env = atom_tests::TestEnv::new();
    // Without our script, git knows nothing of `atom`'s subcommands.
    assert_eq!(complete(&env, "git atom pub").trim(), "");
    let installed = env.home().join(".local/share/bash-completion/completions");
    std::fs::create_dir_all(&installed).unwrap();
    std::fs::copy(
        dir("git-atom").join("git-atom.bash"),
        installed.join("git-atom"),
    )
    .unwrap();
    std::fs::copy(
        dir("eka-run").join("eka-run.bash"),
        installed.join("eka-run"),
    )
    .unwrap();
    assert_eq!(complete(&env, "git atom pub").trim(), "publish");
    assert_eq!(complete(&env, "git-atom pub").trim(), "publish");
    let flags = complete(&env, "git atom publish --dr");
    assert_eq!(flags.trim(), "--dry-run");
    assert_eq!(complete(&env, "eka-run ev").trim(), "eval");
}
