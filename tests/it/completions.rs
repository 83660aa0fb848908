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

/// Installs every completion file where the README's install puts them, under the test's home.
fn install_completions(env: &atom_tests::TestEnv) {
    let home = env.home();
    for (from, to) in [
        (
            "git-atom/completions/_git-atom",
            ".local/share/zsh/site-functions/_git-atom",
        ),
        (
            "eka-run/completions/_eka-run",
            ".local/share/zsh/site-functions/_eka-run",
        ),
        (
            "git-atom/completions/git-atom.fish",
            ".config/fish/completions/git-atom.fish",
        ),
        (
            "eka-run/completions/eka-run.fish",
            ".config/fish/completions/eka-run.fish",
        ),
        (
            "git-atom/completions/git-atom.conf.fish",
            ".config/fish/conf.d/git-atom.fish",
        ),
    ] {
        let to = home.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let from = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(from);
        std::fs::copy(from, &to).unwrap();
    }
}

/// Completes `line` in an interactive zsh (driven through a pseudo-terminal by `zsh/zpty`) set
/// up as the README says: our functions on `fpath`, then `compinit`. Returns the candidates zsh
/// offered, sorted, one per line.
fn complete_zsh(env: &atom_tests::TestEnv, line: &str) -> String {
    let out = env.home().join("zsh-candidates");
    let _ = std::fs::remove_file(&out);
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=(~/.local/share/zsh/site-functions \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() {{ local -a m; builtin compadd -O m "$@"; print -rl -- "${{(@)m/#/M:}}" >> {out}; builtin compadd "$@"; }}'
zpty -w z 'candidates() {{ zle complete-word; print -r -- END >> {out}; }}; zle -N candidates; bindkey "^T" candidates'
zpty -w -n z {line:?}$'\C-t'
for i in {{1..300}}; do [[ -f {out} ]] && grep -qx END {out} && break; sleep 0.1; done
zpty -d z
"#,
        out = out.display(),
    );
    env.run(env.root(), "zsh", ["-f", "-c", &driver]).success();
    let text = std::fs::read_to_string(&out).expect("zsh finished completing");
    let mut found: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("M:")).collect();
    assert!(
        text.lines().any(|l| l == "END"),
        "zsh never completed: {text}"
    );
    found.sort_unstable();
    found.dedup();
    found.join("\n")
}

#[test]
fn git_atom_completes_through_zshs_git_completion() {
    assert!(
        std::path::Path::new("/usr/bin/zsh").is_file(),
        "this test needs zsh (Debian: zsh; tests/run installs it)"
    );
    let env = atom_tests::TestEnv::new();
    // Without our functions, zsh's git completion knows no `atom` subcommands.
    assert_eq!(complete_zsh(&env, "git atom pub"), "");
    install_completions(&env);
    assert_eq!(complete_zsh(&env, "git atom pub"), "publish");
    assert_eq!(complete_zsh(&env, "git-atom ver"), "verify");
    assert_eq!(
        complete_zsh(&env, "git atom publish --re"),
        "--remote\n--rev"
    );
    // eka-run's first argument is a subcommand or a program to run: both are offered.
    assert!(complete_zsh(&env, "eka-run ev")
        .lines()
        .any(|c| c == "eval"));
    assert_eq!(complete_zsh(&env, "eka-run eval --no-c"), "--no-cache");
}

/// Completes `line` in fish (`complete -C`), with the test's home holding its configuration.
/// Returns the candidates without their descriptions, sorted.
fn complete_fish(env: &atom_tests::TestEnv, line: &str) -> String {
    let script = format!("complete -C {line:?}");
    let run = env.run(env.root(), "fish", ["-c", &script]).success();
    let mut found: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    found.sort_unstable();
    found.join("\n")
}

#[test]
fn git_atom_completes_through_fishs_git_completion() {
    assert!(
        std::path::Path::new("/usr/bin/fish").is_file(),
        "this test needs fish (Debian: fish; tests/run installs it)"
    );
    let env = atom_tests::TestEnv::new();
    assert_eq!(complete_fish(&env, "git-atom pub"), "");
    install_completions(&env);
    assert_eq!(complete_fish(&env, "git atom pub"), "publish");
    assert_eq!(complete_fish(&env, "git -C . atom ver"), "verify");
    assert_eq!(complete_fish(&env, "git-atom pub"), "publish");
    assert_eq!(
        complete_fish(&env, "git atom publish --re"),
        "--remote\n--rev"
    );
    assert!(
        complete_fish(&env, "git at").lines().any(|c| c == "atom"),
        "fish offers `atom` among git's commands"
    );
    // Other git commands still complete as fish's git completion does.
    assert!(complete_fish(&env, "git sta")
        .lines()
        .any(|c| c == "status"));
    assert_eq!(complete_fish(&env, "eka-run ev"), "eval");
}
