//! `git atom ls` through the real git.

use std::path::Path;

use atom_tests::{GitDaemon, TestEnv};

fn publish_versions(env: &TestEnv, src: &Path, label: &str, dir: &str, versions: &[&str]) {
    for v in versions {
        env.atom(src, dir, label, v);
        env.commit_all(src, &format!("{label} {v}"));
        env.git(src, ["atom", "publish", "--local", dir]).success();
    }
}

#[test]
fn groups_versions_in_precedence_order() {
    let env = TestEnv::new();
    let src = env.init("src");
    publish_versions(
        &env,
        &src,
        "foo",
        "pkgs/foo",
        &["0.1.2", "0.1.10", "1.0.0-rc.1", "1.0.0", "0.1.9"],
    );
    publish_versions(&env, &src, "bar", "pkgs/bar", &["2.0.0"]);
    let run = env.git(&src, ["atom", "ls"]).success();
    atom_tests::assert_user_sees!(env, run);
    let first = run.stdout.lines().nth(2).unwrap();
    assert!(
        first.ends_with("0.1.2 0.1.9 0.1.10 1.0.0-rc.1 1.0.0"),
        "{first}"
    );
    // A label pattern narrows the listing.
    let only = env.git(&src, ["atom", "ls", ".", "b*"]).success();
    assert_eq!(only.stdout.lines().count(), 2, "{}", only.stdout);
    assert!(only.stdout.contains("bar"));
    // JSON carries full ids and commits.
    let json = env.git(&src, ["atom", "ls", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let root = env.git_ok(&src, &["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(v["root"], root.as_str());
    let foo = &v["atoms"][1];
    assert_eq!(foo["label"], "foo");
    assert_eq!(foo["id"].as_str().unwrap().len(), 52);
    assert_eq!(foo["versions"][2]["version"], "0.1.10");
    assert_eq!(
        foo["versions"][2]["commit"],
        env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.10"])
            .as_str()
    );
}

#[test]
fn lists_a_remote_with_server_side_filtering() {
    let env = TestEnv::new();
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.atom(&src, "pkgs/bar", "bar", "0.2.0");
    env.commit_all(&src, "init");
    for i in 0..20 {
        env.git_ok(&src, &["branch", &format!("unrelated-{i}")]);
    }
    env.git_ok(&src, &["push", "-q", "--all", "origin"]);
    env.git(&src, ["atom", "publish"]).success();
    let trace = env.path("packets");
    let out = env
        .command(&src, "git")
        .args(["atom", "ls", "origin", "foo"])
        .env("GIT_TRACE_PACKET", &trace)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("foo") && !stdout.contains("bar"),
        "{stdout}"
    );
    // The server (git upload-pack) was asked with ref-prefix and sent no unrelated ref.
    let packets = std::fs::read_to_string(&trace).unwrap();
    assert!(packets.contains("ref-prefix refs/atoms/foo/"), "{packets}");
    assert!(packets.contains("command=ls-refs"), "{packets}");
    assert!(
        !packets.contains("refs/heads/unrelated"),
        "unrelated refs were transferred:\n{packets}"
    );
    assert!(!packets.contains("refs/atoms/bar/"), "{packets}");
    // The local listing and the remote listing agree.
    let local = env.git(&src, ["atom", "ls"]).success();
    let remote_ls = env.git(&src, ["atom", "ls", "origin"]).success();
    assert_eq!(local.stdout, remote_ls.stdout);
}

#[test]
fn lists_a_remote_over_git_daemon_by_url() {
    let env = TestEnv::new();
    let base = env.path("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = env.init_bare("served/r.git");
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "init");
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    env.git(
        &src,
        ["atom", "publish", "--remote", remote.to_str().unwrap()],
    )
    .success();
    let daemon = GitDaemon::start(&env, &base);
    let run = env
        .git(&src, ["atom", "ls", &daemon.url("r.git")])
        .success();
    assert_eq!(run.stdout, env.git(&src, ["atom", "ls"]).success().stdout);
    // Like `git ls-remote <url>`, it works outside any repository.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let anywhere = env
        .git(&outside, ["atom", "ls", &daemon.url("r.git")])
        .success();
    assert_eq!(anywhere.stdout, run.stdout);
    let local = env.git(&outside, ["atom", "ls"]).code(1);
    assert!(
        local.stderr.starts_with("error: not in a git repository"),
        "{}",
        local.stderr
    );
}

#[test]
fn recognises_atoms_of_the_eka_tool() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.write(
        &src,
        "legacy/atom.toml",
        "[package]\nlabel = \"nix-lock\"\nversion = \"0.1.2\"\n",
    );
    let head = env.commit_all(&src, "eka atom");
    let tree = env.git_ok(&src, &["rev-parse", "HEAD:legacy"]);
    let body = format!(
        "tree {tree}\nauthor  <> 0 +0000\ncommitter  <> 0 +0000\norigin {head}\nformat pre1\n\npublish(nix-lock): 0.1.2"
    );
    let body_path = env.path("body");
    std::fs::write(&body_path, body).unwrap();
    let commit = env.git_ok(
        &src,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            body_path.to_str().unwrap(),
        ],
    );
    env.git_ok(
        &src,
        &["update-ref", "refs/eka/atoms/nix-lock/0.1.2", &commit],
    );
    env.git_ok(&src, &["update-ref", "refs/ekala/init", &head]);
    // eka's metadata refs: the origin, and a tree holding the manifest.
    env.git_ok(
        &src,
        &["update-ref", "refs/eka/meta/nix-lock/0.1.2/origin", &head],
    );
    let manifest_tree = env.git_ok(&src, &["rev-parse", "HEAD:legacy"]);
    env.git_ok(
        &src,
        &[
            "update-ref",
            "refs/eka/meta/nix-lock/0.1.2/manifest",
            &manifest_tree,
        ],
    );
    let run = env.git(&src, ["atom", "ls"]).success();
    atom_tests::assert_user_sees!(env, run);
    let json = env.git(&src, ["atom", "ls", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["atoms"][0]["format"], "eka/pre1");
    let expected = atom_lib::Root(head.parse().unwrap()).atom_id(&"nix-lock".parse().unwrap());
    assert_eq!(v["atoms"][0]["id"], expected.to_string().as_str());
    // And it verifies by the same rules.
    let verified = env.git(&src, ["atom", "verify"]).success();
    assert_eq!(
        verified.stdout,
        "ok            nix-lock@0.1.2 (eka/pre1) (structure, source, ancestry)\n"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = TestEnv::new();
    let src = env.init("src");
    for i in 0..50 {
        env.atom(&src, &format!("p/a{i}"), &format!("a{i}"), "1.0.0");
    }
    env.commit_all(&src, "many");
    env.git(&src, ["atom", "publish", "--local"]).success();
    let out = env
        .command(&src, "sh")
        .args([
            "-c",
            "git atom ls | head -n 1; echo \"status ${PIPESTATUS:-}\"",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success());
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap(),
        "LABEL  ID            FORMAT  VERSIONS"
    );
}

#[test]
fn an_unreachable_remote_is_one_clear_error() {
    let env = TestEnv::new();
    let src = env.init("src");
    let missing = env.path("does-not-exist.git");
    let run = env
        .git(&src, ["atom", "ls", missing.to_str().unwrap()])
        .code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: remote `"), "{}", run.stderr);
    let bad = env
        .git(&src, ["atom", "ls", "--upload-pack=touch /tmp/pwned"])
        .code(2);
    assert!(bad.stderr.contains("unexpected argument"), "{}", bad.stderr);
    let dash = env
        .git(&src, ["atom", "ls", "--", "-oProxyCommand=x"])
        .code(2);
    assert!(
        dash.stderr.contains("must not start with `-`"),
        "{}",
        dash.stderr
    );
}

#[test]
fn urls_that_would_run_commands_are_refused() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "a", "alpha", "0.1.0");
    env.commit_all(&src, "init");
    let marker = env.path("pwned");
    // The same command does run when handed to a shell, so the marker would appear if it ran.
    env.run(&src, "sh", ["-c", &format!("touch {}", marker.display())])
        .success();
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    let ssh = format!("ssh://-oProxyCommand=touch${{IFS}}{}/x", marker.display());
    let run = env.git(&src, ["atom", "ls", &ssh]).code(1);
    assert!(run.stderr.contains("starts with `-`"), "{}", run.stderr);
    let ext = format!("ext::sh -c touch% {}", marker.display());
    let run = env.git(&src, ["atom", "ls", &ext]).code(1);
    assert!(
        run.stderr
            .contains("run other remote helpers and are not allowed"),
        "{}",
        run.stderr
    );
    let run = env.git(&src, ["atom", "publish", "--remote", &ext]).code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("run other remote helpers and are not allowed"),
        "{}",
        run.stderr
    );
    assert!(env.refs(&src, "refs/atoms/").is_empty());
    assert!(!marker.exists(), "a command ran");
}

/// A remote configured (not typed) with an ssh URL whose host or user would be an option, reached
/// through a `core.sshCommand` the store opens the ssh transport for itself (its first word is
/// `ssh`): refused before ssh runs, as through the library's own path.
#[test]
fn configured_ssh_urls_that_would_run_commands_are_refused() {
    let env = TestEnv::new();
    let src = env.init("src");
    let marker = env.path("pwned");
    // The same command does run when handed to a shell, so the marker would appear if it ran.
    env.run(&src, "sh", ["-c", &format!("touch {}", marker.display())])
        .success();
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    env.git_ok(&src, &["config", "core.sshCommand", "ssh -o BatchMode=yes"]);
    for url in [
        format!("ssh://-oProxyCommand=touch${{IFS}}{}/x", marker.display()),
        "ssh://-oProxyCommand=false@h/x".to_owned(),
    ] {
        env.git_ok(&src, &["config", "remote.origin.url", &url]);
        let run = env.git(&src, ["atom", "ls", "origin"]).code(1);
        assert!(
            run.stderr
                .contains("could be mistaken for a command-line argument"),
            "{url}: {}",
            run.stderr
        );
        assert!(!marker.exists(), "{url}: a command ran");
    }
}

#[test]
fn reserved_refs_are_skipped_and_tags_are_peeled() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "init");
    env.git(&src, ["atom", "publish", "--local"]).success();
    let commit = env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.0"]);
    // A reserved name of a later format version, and an annotated tag standing for the atom.
    env.git_ok(&src, &["update-ref", "refs/atoms/_future/x", &commit]);
    env.git_ok(&src, &["tag", "-a", "-m", "signed", "t", &commit]);
    let tag = env.git_ok(&src, &["rev-parse", "refs/tags/t"]);
    env.git_ok(&src, &["update-ref", "-d", "refs/atoms/foo/0.1.0"]);
    env.git_ok(&src, &["update-ref", "refs/atoms/foo/0.1.0", &tag]);
    let run = env.git(&src, ["atom", "ls", "--json"]).success();
    assert_eq!(run.stderr, "", "a reserved name is not malformed");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["atoms"][0]["versions"][0]["commit"], commit.as_str());
    // A malformed name is still reported.
    env.git_ok(&src, &["update-ref", "refs/atoms/9bad/1.0.0", &commit]);
    let run = env.git(&src, ["atom", "ls"]).success();
    assert!(run.stderr.contains("malformed atom ref"), "{}", run.stderr);
}

/// A directory is a repository whatever it is named: `migr.git` (no `/`, which as an address
/// would name a host) lists like `./migr.git` and `git ls-remote migr.git`, relative to where
/// the command runs.
#[test]
fn an_existing_directory_without_a_slash_is_a_path() {
    let env = TestEnv::new();
    let remote = env.init_bare("migr.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "init");
    env.git_ok(&src, &["push", "-q", "origin", "HEAD:main"]);
    env.git(&src, ["atom", "publish"]).success();
    env.git(env.root(), ["ls-remote", "migr.git"]).success();
    let bare = env.git(env.root(), ["atom", "ls", "migr.git"]).success();
    assert!(bare.stdout.contains("foo"), "{}", bare.stdout);
    let dotted = env.git(env.root(), ["atom", "ls", "./migr.git"]).success();
    assert_eq!(bare.stdout, dotted.stdout);
    // A bare word that is no directory is still a mistyped remote.
    let missing = env.git(&src, ["atom", "ls", "migr2.git"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
}
