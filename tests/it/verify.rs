//! `git atom verify` through the real git, including forged atoms.

use std::path::{Path, PathBuf};

use atom_tests::TestEnv;

/// A repository with `foo` 0.1.0 published locally; returns (repo, source commit, foo's tree).
fn setup(env: &TestEnv) -> (PathBuf, String, String) {
    let src = env.init("src");
    env.write(&src, "README", "the root commit holds no atom\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.atom(&src, "pkgs/other", "other", "0.1.0");
    let head = env.commit_all(&src, "init");
    env.git(&src, ["atom", "publish", "--local"]).success();
    let tree = env.git_ok(&src, &["rev-parse", "HEAD:pkgs/foo"]);
    (src, head, tree)
}

/// Writes a raw commit object and points `refs/atoms/<atom>` at it.
fn forge(env: &TestEnv, repo: &Path, atom: &str, body: &str) -> String {
    let file = env.path("forged");
    std::fs::write(&file, body).unwrap();
    let oid = env.git_ok(
        repo,
        &[
            "hash-object",
            "--literally",
            "-t",
            "commit",
            "-w",
            file.to_str().unwrap(),
        ],
    );
    env.git_ok(repo, &["update-ref", &format!("refs/atoms/{atom}"), &oid]);
    oid
}

fn genuine(tree: &str, source: &str, path: &str, atom: &str) -> String {
    format!(
        "tree {tree}\nauthor atom <atom@invalid> 0 +0000\ncommitter atom <atom@invalid> 0 +0000\n\
         atom-format 1\natom-source {source}\natom-path {path}\n\natom: {atom}\n"
    )
}

#[test]
fn genuine_atoms_verify() {
    let env = TestEnv::new();
    let (src, _, _) = setup(&env);
    let run = env.git(&src, ["atom", "verify"]).success();
    atom_tests::assert_user_sees!(env, run);
    // The genuine bytes are what the forging helper writes, so the forgeries below differ from
    // a real atom only in what each test changes.
    let (_, head, tree) = (
        0,
        env.git_ok(&src, &["rev-parse", "HEAD"]),
        env.git_ok(&src, &["rev-parse", "HEAD:pkgs/foo"]),
    );
    let body = env.git_ok(&src, &["cat-file", "commit", "refs/atoms/foo/0.1.0"]) + "\n";
    assert_eq!(body, genuine(&tree, &head, "pkgs/foo", "foo@0.1.0"));
    let json = env
        .git(&src, ["atom", "verify", "--json", "foo@0.1.0"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["atoms"][0]["status"], "verified");
    assert_eq!(v["atoms"][0]["source"], head.as_str());
}

#[test]
fn forged_atoms_fail_with_the_reason() {
    let env = TestEnv::new();
    let (src, head, tree) = setup(&env);
    let other_tree = env.git_ok(&src, &["rev-parse", "HEAD:pkgs/other"]);
    // Each forgery is published at its own version with a manifest to match where needed.
    struct Forgery {
        version: &'static str,
        body: String,
        reason: &'static str,
    }
    let non_orphan = genuine(&tree, &head, "pkgs/foo", "foo@0.1.0").replacen(
        '\n',
        &format!("\nparent {head}\n"),
        1,
    );
    let forgeries = [
        Forgery {
            version: "0.1.0",
            body: non_orphan,
            reason: "has 1 parent(s): an atom commit must be an orphan",
        },
        Forgery {
            version: "0.1.0",
            body: genuine(&tree, &head, "pkgs/foo", "foo@0.1.0")
                .replace("<atom@invalid> 0 +0000", "<atom@invalid> 1700000000 +0000"),
            reason: "author timestamp is `1700000000 +0000`, expected `0 +0000` (the Unix epoch)",
        },
        Forgery {
            version: "0.1.0",
            body: genuine(&other_tree, &head, "pkgs/foo", "foo@0.1.0"),
            reason: "manifest declares other@0.1.0 but the ref names foo@0.1.0",
        },
        Forgery {
            version: "0.1.0",
            body: genuine(&tree, &head, "pkgs/foo", "foo@0.1.0")
                .replace("atom: foo@0.1.0\n", "hello\n"),
            reason: "message is \"hello\\n\", expected \"atom: foo@0.1.0\\n\"",
        },
        Forgery {
            version: "0.1.0",
            body: genuine(&tree, &head, "pkgs/foo", "foo@0.1.0")
                .replace("committer atom", "encoding latin1\ncommitter atom"),
            reason: "unexpected header `encoding`",
        },
    ];
    for f in &forgeries {
        forge(&env, &src, &format!("foo/{}", f.version), &f.body);
        let run = env
            .git(&src, ["atom", "verify", &format!("foo@{}", f.version)])
            .code(1);
        assert!(run.stdout.contains(f.reason), "{}", run.stdout);
        atom_tests::assert_user_sees!(env, run);
    }
    // The other atom is untouched and still verifies; a run over everything fails overall.
    env.git(&src, ["atom", "verify", "other"]).success();
    let all = env.git(&src, ["atom", "verify"]).code(1);
    atom_tests::assert_user_sees!(env, all);
}

#[test]
fn a_tree_swapped_for_another_fails_provenance() {
    let env = TestEnv::new();
    let (src, head, _) = setup(&env);
    // A tree with foo's manifest but other content: reproducible bytes, wrong provenance.
    let mut swapped = env.path("swapped");
    swapped.push("x");
    std::fs::create_dir_all(&swapped).unwrap();
    let index = env.path("swap-index");
    let write_tree = |files: &[(&str, &str)]| {
        for (name, contents) in files {
            let f = env.path(name);
            std::fs::write(&f, contents).unwrap();
            let blob = env.git_ok(&src, &["hash-object", "-w", f.to_str().unwrap()]);
            let out = env
                .command(&src, "git")
                .args([
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    &format!("100644,{blob},{name}"),
                ])
                .env("GIT_INDEX_FILE", &index)
                .output()
                .unwrap();
            assert!(out.status.success());
        }
        let out = env
            .command(&src, "git")
            .args(["write-tree"])
            .env("GIT_INDEX_FILE", &index)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let evil = write_tree(&[
        ("atom.toml", "[atom]\nid = \"foo\"\nversion = \"0.1.0\"\n"),
        ("mod.nix", "{ Evil = true; }\n"),
    ]);
    forge(
        &env,
        &src,
        "foo/0.1.0",
        &genuine(&evil, &head, "pkgs/foo", "foo@0.1.0"),
    );
    let run = env.git(&src, ["atom", "verify", "foo@0.1.0"]).code(1);
    let expected = format!(
        "FAILED        foo@0.1.0: tree {evil} differs from `pkgs/foo` in source commit {}",
        &head[..12]
    );
    assert!(run.stdout.starts_with(&expected), "{}", run.stdout);
}

#[test]
fn a_source_outside_the_history_fails() {
    let env = TestEnv::new();
    let (src, _, tree) = setup(&env);
    // An unrelated root commit holding the same tree at the same path.
    let orphan_tree = env.git_ok(&src, &["rev-parse", "HEAD^{tree}"]);
    let orphan = env.git_ok(&src, &["commit-tree", &orphan_tree, "-m", "unrelated"]);
    forge(
        &env,
        &src,
        "foo/0.1.0",
        &genuine(&tree, &orphan, "pkgs/foo", "foo@0.1.0"),
    );
    let run = env.git(&src, ["atom", "verify", "foo"]).code(1);
    assert!(run.stdout.contains(&orphan[..12]), "{}", run.stdout);
    atom_tests::assert_user_sees!(env, run);
}

#[test]
fn missing_objects_are_unverifiable_unless_fetched() {
    let env = TestEnv::new();
    let remote = env.init_bare("remote.git");
    let (src, _, _) = setup(&env);
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    env.git(
        &src,
        ["atom", "publish", "--remote", remote.to_str().unwrap()],
    )
    .success();
    // A repository that fetched the atom refs (small, orphan commits) but not the source history.
    let fresh = env.init("fresh");
    env.git_ok(
        &fresh,
        &[
            "fetch",
            "-q",
            remote.to_str().unwrap(),
            "refs/atoms/*:refs/atoms/*",
        ],
    );
    assert_eq!(env.refs(&fresh, "refs/atoms/").len(), 3);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    assert_eq!(
        env.git(&fresh, ["cat-file", "-e", &head]).code,
        1,
        "the source commit is not here"
    );
    let run = env.git(&fresh, ["atom", "verify", "foo"]).code(2);
    assert_eq!(
        run.stdout,
        format!(
            "UNVERIFIABLE  foo@0.1.0: source commit {head} is missing (try --remote) \
             (structure; not checked: source, ancestry)\n"
        )
    );
    // With --remote what the source level needs is fetched; ancestry needs the history, which
    // is not fetched unless asked for, and the run says it was not checked.
    let fetched = env
        .git(
            &fresh,
            ["atom", "verify", "--remote", remote.to_str().unwrap()],
        )
        .success();
    assert_eq!(
        fetched.stdout,
        "ok            foo@0.1.0 (structure, source; not checked: ancestry)\n\
         ok            other@0.1.0 (structure, source; not checked: ancestry)\n"
    );
    assert!(
        fetched
            .stderr
            .contains("ancestry not checked for 2 atom(s)"),
        "{}",
        fetched.stderr
    );
    let with_ancestry = env
        .git(
            &fresh,
            [
                "atom",
                "verify",
                "--ancestry",
                "--remote",
                remote.to_str().unwrap(),
            ],
        )
        .success();
    assert_eq!(
        with_ancestry.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry)\n\
         ok            other@0.1.0 (structure, source, ancestry)\n"
    );
    // --ancestry without a remote to fetch from cannot check it: could not verify.
    let required = env.git(&fresh, ["atom", "verify", "--ancestry"]).code(2);
    assert!(
        required.stdout.contains("UNVERIFIABLE  foo@0.1.0"),
        "{}",
        required.stdout
    );
    // Verification fetched into a quarantine it threw away: the repository is unchanged.
    assert_eq!(
        env.git(&fresh, ["cat-file", "-e", &head]).code,
        1,
        "the source commit was not added"
    );
    assert!(
        env.refs(&fresh, "refs/heads/").is_empty(),
        "fetching for verification creates no branch"
    );
}

#[test]
fn bad_arguments_exit_2() {
    let env = TestEnv::new();
    let (src, _, _) = setup(&env);
    let unknown = env.git(&src, ["atom", "verify", "nope"]).code(2);
    assert_eq!(
        unknown.stderr,
        "error: no atom `nope` in this repository (see `git atom ls`)\n"
    );
    let invalid = env.git(&src, ["atom", "verify", "9lives"]).code(2);
    atom_tests::assert_user_sees!(env, invalid);
    let version = env.git(&src, ["atom", "verify", "foo@1"]).code(2);
    atom_tests::assert_user_sees!(env, version);
    let outside = env.run(env.root(), "git-atom", ["verify"]).code(2);
    atom_tests::assert_user_sees!(env, outside);
}

#[test]
fn a_source_reaching_the_root_only_through_a_second_parent_fails_as_publish_refuses_it() {
    let env = TestEnv::new();
    let (src, _, tree) = setup(&env);
    // A side history with its own root, merged so that the repository's root is only its
    // second parent.
    env.git_ok(&src, &["checkout", "-q", "--orphan", "side"]);
    env.git_ok(&src, &["rm", "-rfq", "."]);
    env.write(&src, "side.txt", "another line of history\n");
    env.git_ok(&src, &["add", "side.txt"]);
    env.git_ok(&src, &["commit", "-qm", "side root"]);
    env.git_ok(
        &src,
        &[
            "merge",
            "-q",
            "--allow-unrelated-histories",
            "-m",
            "merge main",
            "main",
        ],
    );
    let merge = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let side_tree = env.git_ok(&src, &["rev-parse", "HEAD:pkgs/foo"]);
    assert_eq!(side_tree, tree);
    forge(
        &env,
        &src,
        "foo/0.2.0",
        &genuine(&tree, &merge, "pkgs/foo", "foo@0.2.0"),
    );
    let run = env.git(&src, ["atom", "verify", "foo@0.2.0"]).code(1);
    // (The manifest says 0.1.0; only the provenance finding matters here.)
    assert!(
        run.stdout.contains(&format!(
            "source commit {} does not descend from the repository root",
            &merge[..12]
        )),
        "{}",
        run.stdout
    );
    // Publishing from that commit is refused by the same rule.
    let publish = env.git(&src, ["atom", "publish", "--local"]).code(1);
    assert!(
        publish.stderr.contains("refs/atoms/_root is "),
        "{}",
        publish.stderr
    );
    // The genuine atom still verifies.
    env.git(&src, ["atom", "verify", "foo@0.1.0"]).success();
}

#[test]
fn one_bad_atom_does_not_stop_the_others() {
    let env = TestEnv::new();
    let (src, _, tree) = setup(&env);
    // An atom whose recorded source is a tree, not a commit.
    forge(
        &env,
        &src,
        "foo/0.3.0",
        &genuine(&tree, &tree, "pkgs/foo", "foo@0.3.0"),
    );
    let run = env.git(&src, ["atom", "verify"]).code(1);
    // A source that is no commit has no history: ancestry is reported as not checked.
    assert!(run.stdout.contains(&tree), "{}", run.stdout);
    atom_tests::assert_user_sees!(env, run);
}

#[test]
fn atoms_in_formats_this_tool_does_not_read_are_unsupported_not_failed() {
    let env = TestEnv::new();
    let (src, head, tree) = setup(&env);
    // The genuine atom verifies (the positive twin).
    env.git(&src, ["atom", "verify", "foo@0.1.0"]).success();
    // A later format version under a format-1 ref.
    forge(
        &env,
        &src,
        "foo/0.2.0",
        &genuine(&tree, &head, "pkgs/foo", "foo@0.2.0").replace("atom-format 1", "atom-format 2"),
    );
    let run = env.git(&src, ["atom", "verify", "foo@0.2.0"]).code(2);
    assert_eq!(
        run.stdout,
        "UNVERIFIABLE  foo@0.2.0: unsupported format `atom-format 2` (this tool reads \
         `atom-format 1` and eka's `format pre1`) (not checked: structure, source, ancestry)\n"
    );
    // The eka tool's older generation: `src`, `path` and `format 1` headers.
    let body = format!(
        "tree {tree}\nauthor  <> 0 +0000\ncommitter  <> 0 +0000\nsrc {head}\npath pkgs/foo\nformat 1\n\nfoo: 0.1.0"
    );
    let file = env.path("old-eka");
    std::fs::write(&file, body).unwrap();
    let oid = env.git_ok(
        &src,
        &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()],
    );
    env.git_ok(&src, &["update-ref", "refs/eka/atoms/foo/0.1.0", &oid]);
    // The format-1 atom of the same version still verifies in the same run.
    let run = env.git(&src, ["atom", "verify", "foo@0.1.0"]).code(2);
    atom_tests::assert_user_sees!(env, run);
}

/// An eka `pre1` atom of `legacy/` with its identity and metadata refs; returns (repo, source).
fn eka_atom(env: &TestEnv) -> (PathBuf, String) {
    let src = env.init("eka");
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
    let file = env.path("eka-body");
    std::fs::write(&file, body).unwrap();
    let commit = env.git_ok(
        &src,
        &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()],
    );
    for (name, target) in [
        ("refs/eka/atoms/nix-lock/0.1.2", commit.as_str()),
        ("refs/ekala/init", head.as_str()),
        ("refs/eka/meta/nix-lock/0.1.2/origin", head.as_str()),
        ("refs/eka/meta/nix-lock/0.1.2/manifest", tree.as_str()),
    ] {
        env.git_ok(&src, &["update-ref", name, target]);
    }
    (src, head)
}

#[test]
fn eka_atoms_are_checked_against_their_metadata_refs() {
    let env = TestEnv::new();
    let (src, head) = eka_atom(&env);
    let ok = env.git(&src, ["atom", "verify"]).success();
    assert_eq!(
        ok.stdout,
        "ok            nix-lock@0.1.2 (eka/pre1) (structure, source, ancestry)\n"
    );
    // An origin ref that points elsewhere.
    let other = env.commit_all(&src, "another commit");
    env.git_ok(
        &src,
        &["update-ref", "refs/eka/meta/nix-lock/0.1.2/origin", &other],
    );
    let moved = env.git(&src, ["atom", "verify"]).code(1);
    assert!(
        moved.stdout.contains(&format!(
            "eka metadata ref `refs/eka/meta/nix-lock/0.1.2/origin` points at {other}, but the atom's origin is {head}"
        )),
        "{}",
        moved.stdout
    );
    // A missing manifest ref.
    env.git_ok(
        &src,
        &["update-ref", "refs/eka/meta/nix-lock/0.1.2/origin", &head],
    );
    env.git_ok(
        &src,
        &["update-ref", "-d", "refs/eka/meta/nix-lock/0.1.2/manifest"],
    );
    let missing = env.git(&src, ["atom", "verify"]).code(1);
    assert_eq!(
        missing.stdout,
        "FAILED        nix-lock@0.1.2 (eka/pre1): eka metadata ref \
         `refs/eka/meta/nix-lock/0.1.2/manifest` is missing (structure, source, ancestry)\n"
    );
    // The eka tool points it at the manifest blob itself: that holds too; another blob does not.
    let blob = env.git_ok(&src, &["rev-parse", "HEAD:legacy/atom.toml"]);
    env.git_ok(
        &src,
        &["update-ref", "refs/eka/meta/nix-lock/0.1.2/manifest", &blob],
    );
    env.git(&src, ["atom", "verify"]).success();
    let forged = env.path("forged.toml");
    std::fs::write(
        &forged,
        "[package]\nlabel = \"nix-lock\"\nversion = \"9.9.9\"\n",
    )
    .unwrap();
    let other_blob = env.git_ok(&src, &["hash-object", "-w", forged.to_str().unwrap()]);
    env.git_ok(
        &src,
        &[
            "update-ref",
            "refs/eka/meta/nix-lock/0.1.2/manifest",
            &other_blob,
        ],
    );
    let other = env.git(&src, ["atom", "verify"]).code(1);
    assert!(
        other.stdout.contains(&format!(
            "eka metadata ref `refs/eka/meta/nix-lock/0.1.2/manifest` ({other_blob}) does not hold the atom's manifest"
        )),
        "{}",
        other.stdout
    );
}

#[test]
fn nothing_to_verify_is_not_success() {
    let env = TestEnv::new();
    let remote = env.init_bare("remote.git");
    let (src, _, _) = setup(&env);
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    env.git(
        &src,
        ["atom", "publish", "--remote", remote.to_str().unwrap()],
    )
    .success();
    // A plain clone has the branches, not the atom refs.
    env.git_ok(
        env.root(),
        &["clone", "-q", remote.to_str().unwrap(), "plain"],
    );
    let plain = env.path("plain");
    let run = env.git(&plain, ["atom", "verify"]).code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: nothing to verify: this repository has no atom refs and no branch at an atom commit\n\
         hint: fetch the atoms first: git fetch <remote> 'refs/atoms/*:refs/atoms/*'\n\
         hint: or verify an atom where it is published: git atom verify <repository>::<label>\n"
    );
    // Following the hint makes it verify.
    env.git_ok(
        &plain,
        &["fetch", "-q", "origin", "refs/atoms/*:refs/atoms/*"],
    );
    let fetched = env.git(&plain, ["atom", "verify"]).success();
    assert_eq!(
        fetched.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry)\n\
         ok            other@0.1.0 (structure, source, ancestry)\n"
    );
}
