//! The man pages in `man/` are generated from the clap definitions and must not drift.

use std::path::PathBuf;

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../man")
}

#[test]
fn git_atom_man_pages_match_the_clap_definitions() {
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let pages = git_atom::man::pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "git-atom.1",
            "git-atom-publish.1",
            "git-atom-ls.1",
            "git-atom-verify.1",
            "git-atom-add.1",
            "git-atom-remove.1",
            "git-atom-resolve.1",
            "git-atom-show.1",
            "git-atom-tree.1",
            "git-atom-hook.1",
            "git-atom-hook-install.1",
            "git-atom-sign.1",
            "git-atom-fetch.1",
            "git-atom-update.1"
        ]
    );
    let mut drifted = Vec::new();
    for (name, contents) in &pages {
        let path = man_dir().join(name);
        if update {
            std::fs::write(&path, contents).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(contents) {
            drifted.push(name.clone());
        }
    }
    assert!(
        drifted.is_empty(),
        "man pages out of date: {drifted:?}; run `UPDATE_MAN=1 cargo test -p atom-tests --test it man` and commit them"
    );
}

#[test]
fn every_flag_is_documented() {
    for (name, contents) in git_atom::man::pages() {
        let text = String::from_utf8(contents).unwrap();
        let flags: &[&str] = match name.as_str() {
            "git-atom-verify.1" => &["--remote", "--ancestry", "--signed", "--json"],
            "git-atom-hook-install.1" => &["--server", "--force"],
            "git-atom-tree.1" => &["--depth", "--invert", "--duplicates", "--format", "--json"],
            _ => &[],
        };
        for flag in flags {
            assert!(
                text.contains(&flag.replace('-', "\\-")),
                "{name} lacks {flag}"
            );
        }
        for flag in [
            "--json",
            "--remote",
            "--dry-run",
            "--rev",
            "--push-source",
            "--local",
        ] {
            if name == "git-atom-publish.1" {
                assert!(
                    text.contains(&flag.replace('-', "\\-")),
                    "{name} lacks {flag}"
                );
            }
        }
        assert!(
            text.contains(".SH DESCRIPTION") || name == "git-atom.1",
            "{name}"
        );
    }
}

#[test]
fn git_atom_help_opens_the_man_page_once_installed() {
    // `git atom --help` makes git run `man git-atom`. Install the pages as the README does
    // (`<prefix>/man1/`) and give git a man viewer that prints the page it was asked for from
    // there: the page's own text comes back only if git asked for the right name and the page
    // is installed.
    let env = atom_tests::TestEnv::new();
    let man1 = env.path("share/man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for entry in std::fs::read_dir(man_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), man1.join(entry.file_name())).unwrap();
    }
    let help = |topic: &str| {
        let run = env
            .command(env.root(), "git")
            .args([
                "-c",
                "help.format=man",
                "-c",
                "man.viewer=print-page",
                "-c",
                &format!(
                    "man.print-page.cmd=sh -c 'cat \"{}/$1.1\"' sh",
                    man1.display()
                ),
                "help",
                topic,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let page = help("atom");
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH GIT-ATOM 1"), "{page}");
    // The same viewer shows nothing for a page that is not installed.
    std::fs::remove_file(man1.join("git-atom.1")).unwrap();
    assert_eq!(help("atom"), "");
}

#[test]
fn git_help_finds_every_page_and_every_reference_resolves() {
    // Install the pages as the README does and let git's man viewer print the page git asked
    // for: `git help <topic>` shows a page only if the name git derives from the topic is a
    // page we install.
    let env = atom_tests::TestEnv::new();
    let man1 = env.path("share/man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(man_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), man1.join(entry.file_name())).unwrap();
        pages.push(
            entry
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".1")
                .to_owned(),
        );
    }
    pages.sort();
    let help = |topic: &str| {
        let out = env
            .command(env.root(), "git")
            .args([
                "-c",
                "help.format=man",
                "-c",
                "man.viewer=print-page",
                "-c",
                &format!(
                    "man.print-page.cmd=sh -c 'cat \"{}/$1.1\"' sh",
                    man1.display()
                ),
                "help",
                topic,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // `git\-atom\-publish(1)` as clap_mangen writes it, `\fBgit\-atom\fR(1)` as people do.
    let references = regex::Regex::new(r"(?:\\fB)?([a-z][a-z-]*)(?:\\fR)?\(1\)").unwrap();
    let mut checked = 0;
    for page in &pages {
        if !page.starts_with("git-") {
            continue;
        }
        // `git help git-atom-publish` is how git names the page of `git atom publish`
        // (`git help atom-publish` would look for `gitatom-publish`).
        let text = help(page);
        assert!(
            text.contains(&format!(
                ".TH {} 1",
                page.to_uppercase().replace('-', "\\-")
            )) || text.contains(&format!(".TH {} 1", page.to_uppercase())),
            "`git help {page}` did not show {page}.1: {text:.200}"
        );
        let source = std::fs::read_to_string(man_dir().join(format!("{page}.1"))).unwrap();
        let source = source.replace("\\-", "-");
        for reference in references.captures_iter(&source) {
            let name = &reference[1];
            if name.starts_with("git-atom") || name == "git-remote-atom" || name == "eka-run" {
                assert!(
                    pages.iter().any(|p| p == name),
                    "{page}.1 refers to {name}(1), which does not exist"
                );
                checked += 1;
            }
        }
    }
    // git-atom.1 names every subcommand's page, git-remote-atom.1 names git-atom.1.
    assert!(checked >= 10, "only {checked} references checked");
    assert!(help("atom").contains(".TH GIT-ATOM 1"));
    // `git atom publish --help` is clap's help of the subcommand, naming every flag.
    let run = env.git(env.root(), ["atom", "publish", "--help"]).success();
    assert!(run.stdout.contains("--all"), "{}", run.stdout);
}

#[test]
fn git_atom_help_opens_the_page_git_help_opens() {
    // `git atom help [<subcommand>]` opens what `git help git-atom-<subcommand>` opens (git is
    // the oracle), with git's viewer printing the installed page.
    let env = atom_tests::TestEnv::new();
    let man1 = env.path("share/man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for entry in std::fs::read_dir(man_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), man1.join(entry.file_name())).unwrap();
    }
    env.append_global_config(&format!(
        "[help]\n\tformat = man\n[man]\n\tviewer = print-page\n[man \"print-page\"]\n\t\
         cmd = sh -c 'cat \\\"{}/$1.1\\\"' sh\n",
        man1.display()
    ));
    for (ours, page) in [
        (vec!["atom", "help"], "git-atom"),
        (vec!["atom", "help", "publish"], "git-atom-publish"),
        (
            vec!["atom", "help", "hook", "install"],
            "git-atom-hook-install",
        ),
        (vec!["atom", "-v", "help", "ls"], "git-atom-ls"),
    ] {
        let oracle = env.git(env.root(), ["help", page]).success();
        let want = std::fs::read_to_string(man1.join(format!("{page}.1"))).unwrap();
        assert_eq!(oracle.stdout, want, "{page}");
        let run = env.git(env.root(), &ours).success();
        assert_eq!(run.stdout, want, "{ours:?}");
    }
    let bad = env.git(env.root(), ["atom", "help", "publsh"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("`publsh`") && bad.stderr.contains("`publish`"),
        "{}",
        bad.stderr
    );
    assert_eq!(bad.stdout, "");
}
