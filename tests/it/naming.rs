//! One way to name a repository: remote names, paths, URLs and atom-URI addresses with aliases,
//! the same parser and the same errors for `git atom` and `git ... atom::`.

use atom_tests::GitDaemon;

use crate::remote_transport::Fixture;

/// Appends `text` to the test's global git config.
fn global_config(f: &Fixture, text: &str) {
    let path = f.env.home().join(".gitconfig");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(text);
    std::fs::write(path, config).unwrap();
}

#[test]
fn ls_takes_an_address_with_aliases() {
    let f = Fixture::new();
    global_config(
        &f,
        &format!(
            "[atom \"alias\"]\n\tsrv = {}\n",
            f.env.path("srv").display()
        ),
    );
    let by_remote = f.env.git(&f.src, ["atom", "ls", "origin"]).success();
    assert!(by_remote.stdout.contains("foo"), "{}", by_remote.stdout);
    // Outside any repository and inside one, the alias names the same repository.
    for cwd in [f.env.root().to_owned(), f.src.clone()] {
        let by_alias = f.env.git(&cwd, ["atom", "ls", "srv:remote.git"]).success();
        assert_eq!(by_alias.stdout, by_remote.stdout);
    }
}

#[test]
fn ls_remote_without_a_label_lists_every_atom() {
    let f = Fixture::new();
    let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
    let expected: String = [
        "bar/0.1.0",
        "foo/0.1.0",
        "foo/1.0.0",
        "foo/1.1.0",
        "foo/2.0.0-rc.1",
    ]
    .iter()
    .map(|v| {
        let name = format!("refs/atoms/{v}");
        format!("{}\t{name}\n", f.src_ref(&name))
    })
    .collect();
    for url in [daemon.url("remote.git"), f.remote.display().to_string()] {
        let run = f
            .env
            .git(f.env.root(), ["ls-remote", &format!("atom::{url}")])
            .success();
        assert_eq!(run.stdout, expected, "{url}");
    }
}

#[test]
fn clone_without_a_label_says_the_label_is_missing() {
    let f = Fixture::new();
    let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
    let url = daemon.url("remote.git");
    let run = f
        .env
        .git(f.env.root(), ["clone", &format!("atom::{url}")])
        .code(128);
    assert!(
        run.stderr.contains(&format!(
            "fatal: `atom::{url}` names no atom: the label is missing; write `atom::{url}::<label>`"
        )),
        "{}",
        run.stderr
    );
    // With the label, the same URL clones.
    f.env
        .git(f.env.root(), ["clone", "-q", &format!("atom::{url}::foo")])
        .success();
}

#[test]
fn an_alias_after_a_scheme_is_explained_everywhere() {
    let f = Fixture::new();
    let want = "aliases do not expand after a scheme: write `gh:org/repo` without `https://`";
    let clone = f
        .env
        .git(f.env.root(), ["clone", "atom::https://gh:org/repo::foo"])
        .code(128);
    assert!(clone.stderr.contains(want), "{}", clone.stderr);
    let ls = f
        .env
        .git(f.env.root(), ["ls-remote", "atom::https://gh:org/repo"])
        .code(128);
    assert!(ls.stderr.contains(want), "{}", ls.stderr);
    let atom_ls = f
        .env
        .git(&f.src, ["atom", "ls", "https://gh:org/repo"])
        .code(1);
    assert!(atom_ls.stderr.contains(want), "{}", atom_ls.stderr);
    assert!(
        !atom_ls.stderr.contains("invalid port"),
        "{}",
        atom_ls.stderr
    );
}

#[test]
fn a_mistyped_remote_names_the_configured_ones() {
    let f = Fixture::new();
    f.env
        .git_ok(&f.src, &["remote", "add", "upstream", "/nowhere"]);
    let want = "error: no remote `orgin` and no repository at that path: the configured remotes are `origin`, `upstream`\n";
    let publish = f
        .env
        .git(&f.src, ["atom", "publish", "--remote", "orgin"])
        .code(1);
    assert_eq!(publish.stderr, want);
    let ls = f.env.git(&f.src, ["atom", "ls", "orgin"]).code(1);
    assert_eq!(ls.stderr, want);
    let fetch = f.env.git(&f.src, ["atom", "fetch", "orgin"]).code(1);
    assert_eq!(fetch.stderr, want);
    // verify cannot verify with a remote that does not exist: exit 2, the same words.
    let verify = f
        .env
        .git(&f.src, ["atom", "verify", "--remote", "orgin"])
        .code(2);
    assert_eq!(verify.stderr, want);
    // The right name works.
    f.env.git(&f.src, ["atom", "ls", "origin"]).success();
    // Outside any repository there are no remotes to name: say so, not "no remotes here".
    let outside = f.env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let ls = f.env.git(&outside, ["atom", "ls", "origin"]).code(1);
    assert_eq!(
        ls.stderr,
        "error: no repository at `origin`, and outside a git repository there are no remotes: \
         give a path or a URL, or run this inside the repository whose remote it is\n"
    );
}

#[test]
fn a_relative_remote_works_from_a_subdirectory() {
    let f = Fixture::new();
    // As `git remote add origin ../srv/remote.git` run at the top records it.
    f.env.git_ok(
        &f.src,
        &["remote", "set-url", "origin", "../srv/remote.git"],
    );
    let sub = f.src.join("pkgs/foo");
    // git itself reads the URL relative to the top of the working tree.
    f.env.git_ok(&sub, &["push", "-q", "origin", "main"]);
    let top = f.env.git(&f.src, ["atom", "ls", "origin"]).success();
    let from_sub = f.env.git(&sub, ["atom", "ls", "origin"]).success();
    assert_eq!(from_sub.stdout, top.stdout);
    assert!(top.stdout.contains("foo"), "{}", top.stdout);
    f.env.atom(&f.src, "pkgs/foo", "foo", "3.0.0");
    f.env.commit_all(&f.src, "foo 3.0.0");
    f.env.git_ok(&sub, &["push", "-q", "origin", "main"]);
    f.env.git(&sub, ["atom", "publish"]).success();
    assert_eq!(
        f.remote_ref("refs/atoms/foo/3.0.0"),
        Some(f.src_ref("refs/atoms/foo/3.0.0"))
    );
}
