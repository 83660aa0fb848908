//! `git atom publish` through the real git.

use std::path::{Path, PathBuf};

use atom_tests::{GitDaemon, TestEnv};

/// A source repository with two atoms, pushed to a bare `remote.git` as `origin`.
fn setup(env: &TestEnv) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.atom(&src, "lib/bar", "bar", "1.0.0");
    env.write(&src, "README", "not an atom\n");
    env.commit_all(&src, "init");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    (src, remote)
}

fn atom_refs(env: &TestEnv, repo: &Path) -> Vec<String> {
    env.refs(repo, "refs/atoms/")
}

#[test]
fn publishes_every_atom_locally_and_to_the_remote() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    let run = env.git(&src, ["atom", "publish"]).success();
    atom_tests::assert_user_sees!(env, run);
    let local = atom_refs(&env, &src);
    assert_eq!(local.len(), 3, "{local:?}");
    assert_eq!(
        atom_refs(&env, &remote),
        local,
        "the remote has exactly the local refs"
    );
    let names: Vec<&str> = local.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "refs/atoms/_root",
            "refs/atoms/bar/1.0.0",
            "refs/atoms/foo/0.1.0"
        ]
    );
    // The root ref names the root commit.
    let root = env.git_ok(&src, &["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(local[0], format!("refs/atoms/_root {root}"));
    // The atom commit reuses the directory's tree, has no parent and the documented headers.
    let tree = env.git_ok(&src, &["rev-parse", "HEAD:pkgs/foo"]);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let body = env.git_ok(&src, &["cat-file", "commit", "refs/atoms/foo/0.1.0"]);
    assert_eq!(
        body,
        format!(
            "tree {tree}\nauthor atom <atom@invalid> 0 +0000\ncommitter atom <atom@invalid> 0 +0000\n\
             atom-format 1\natom-source {head}\natom-path pkgs/foo\n\natom: foo@0.1.0"
        )
    );
    // git itself finds the objects sound.
    env.git_ok(&src, &["fsck", "--strict", "--no-dangling"]);

    // Publishing again is not an error: everything is up to date.
    let again = env.git(&src, ["atom", "publish"]).success();
    atom_tests::assert_user_sees!(env, again);
    assert_eq!(atom_refs(&env, &remote), local);
}

#[test]
fn the_same_atom_gets_the_same_commit_in_every_clone() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.git(&src, ["atom", "publish", "--local"]).success();
    // A clone made elsewhere, with other dates and another user, publishes byte-identical atoms.
    let clone = env.path("clone");
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let out = env
        .command(&clone, "git")
        .args(["atom", "publish", "--local"])
        .env("GIT_COMMITTER_DATE", "2030-05-05T05:05:05Z")
        .env("GIT_AUTHOR_NAME", "Someone Else")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(atom_refs(&env, &src), atom_refs(&env, &clone));
}

#[test]
fn without_a_remote_it_publishes_locally_and_says_so() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "a", "alpha", "0.1.0");
    env.commit_all(&src, "init");
    let run = env.git(&src, ["atom", "publish"]).success();
    atom_tests::assert_user_sees!(env, run);
    assert_eq!(atom_refs(&env, &src).len(), 2);
}

#[test]
fn dry_run_writes_nothing_anywhere() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    let run = env.git(&src, ["atom", "publish", "--dry-run"]).success();
    atom_tests::assert_user_sees!(env, run);
    assert!(atom_refs(&env, &src).is_empty());
    assert!(atom_refs(&env, &remote).is_empty());
    // Not even the commit objects were written.
    let json = env
        .git(&src, ["atom", "publish", "--dry-run", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    for atom in v["atoms"].as_array().unwrap() {
        assert_eq!(atom["local"], "would-publish");
        assert_eq!(atom["remote"], "would-publish");
        let commit = atom["commit"].as_str().unwrap();
        assert_eq!(
            env.git(&src, ["cat-file", "-e", commit]).code,
            1,
            "{commit} must not exist"
        );
    }
    // The real publish then creates exactly the commits the dry run announced.
    env.git(&src, ["atom", "publish"]).success();
    for atom in v["atoms"].as_array().unwrap() {
        let name = format!(
            "refs/atoms/{}/{}",
            atom["label"].as_str().unwrap(),
            atom["version"].as_str().unwrap()
        );
        assert_eq!(
            env.git_ok(&src, &["rev-parse", &name]),
            atom["commit"].as_str().unwrap()
        );
    }
}

#[test]
fn json_output_describes_every_atom() {
    let env = TestEnv::new();
    let (src, _remote) = setup(&env);
    let run = env.git(&src, ["atom", "publish", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let root = env.git_ok(&src, &["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(v["root"], root.as_str());
    assert_eq!(
        v["source"],
        env.git_ok(&src, &["rev-parse", "HEAD"]).as_str()
    );
    assert_eq!(v["remote"], "origin");
    let atoms = v["atoms"].as_array().unwrap();
    assert_eq!(atoms.len(), 2);
    assert_eq!(atoms[0]["label"], "bar");
    assert_eq!(atoms[0]["path"], "lib/bar");
    assert_eq!(atoms[0]["local"], "published");
    assert_eq!(atoms[0]["remote"], "published");
    // The id is the documented derivation of the label under the root commit.
    let expected = atom_lib::Root(root.parse().unwrap()).atom_id(&"bar".parse().unwrap());
    assert_eq!(atoms[0]["id"], expected.to_string().as_str());
    assert_eq!(
        atoms[0]["commit"],
        env.git_ok(&src, &["rev-parse", "refs/atoms/bar/1.0.0"])
            .as_str()
    );
}

#[test]
fn only_the_given_paths_are_published() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    // Paths are relative to the current directory, as with every git command.
    let run = env
        .git(&src.join("pkgs"), ["atom", "publish", "foo/"])
        .success();
    assert!(run.stdout.contains("foo "), "{}", run.stdout);
    assert!(!run.stdout.contains("bar"), "{}", run.stdout);
    let names: Vec<String> = atom_refs(&env, &remote)
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["refs/atoms/_root", "refs/atoms/foo/0.1.0"]);
}

#[test]
fn a_source_commit_the_remote_lacks_is_refused_unless_pushed_along() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.atom(&src, "pkgs/foo", "foo", "0.2.0");
    env.commit_all(&src, "foo 0.2.0");
    let run = env.git(&src, ["atom", "publish", "pkgs/foo"]).code(1);
    atom_tests::assert_user_sees!(env, run);
    assert!(atom_refs(&env, &src).is_empty());
    assert!(atom_refs(&env, &remote).is_empty());

    // --push-source pushes the branch in the same atomic push.
    env.git(&src, ["atom", "publish", "--push-source", "pkgs/foo"])
        .success();
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    assert_eq!(env.git_ok(&remote, &["rev-parse", "refs/heads/main"]), head);
    assert_eq!(
        env.git_ok(&remote, &["rev-parse", "refs/atoms/foo/0.2.0"]),
        env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.2.0"])
    );
}

#[test]
fn a_published_version_is_never_overwritten() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.git(&src, ["atom", "publish"]).success();
    let before_local = atom_refs(&env, &src);
    let before_remote = atom_refs(&env, &remote);
    // Change the atom without bumping its version.
    env.write(&src, "pkgs/foo/extra.nix", "{ }\n");
    env.commit_all(&src, "change foo");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    let run = env.git(&src, ["atom", "publish"]).code(1);
    atom_tests::assert_user_sees!(env, run);
    assert_eq!(atom_refs(&env, &src), before_local);
    assert_eq!(atom_refs(&env, &remote), before_remote);
    // There is no force option.
    let force = env.git(&src, ["atom", "publish", "--force"]).code(2);
    assert!(
        force.stderr.contains("unexpected argument '--force'"),
        "{}",
        force.stderr
    );

    // Bumping the version publishes it; the unchanged atom stays as published (same tree, from
    // the earlier source commit) and is reported up to date.
    env.atom(&src, "pkgs/foo", "foo", "0.1.1");
    env.commit_all(&src, "bump foo");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    let bumped = env.git(&src, ["atom", "publish"]).success();
    atom_tests::assert_user_sees!(env, bumped);
    let bar = before_local
        .iter()
        .find(|l| l.starts_with("refs/atoms/bar/"))
        .unwrap();
    assert!(
        atom_refs(&env, &src).contains(bar),
        "bar's ref is unchanged"
    );
    assert!(atom_refs(&env, &remote).contains(bar));
    env.git(&src, ["atom", "verify"]).success();
}

#[test]
fn a_version_published_elsewhere_with_other_content_is_refused_before_anything_is_written() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    // Another clone publishes foo 0.3.0 from its own commit first.
    let other = env.path("other");
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    env.atom(&other, "pkgs/foo", "foo", "0.3.0");
    env.write(&other, "pkgs/foo/theirs.nix", "1\n");
    env.commit_all(&other, "their foo");
    env.git(&other, ["atom", "publish", "--push-source", "pkgs/foo"])
        .success();
    let remote_before = atom_refs(&env, &remote);

    env.atom(&src, "pkgs/foo", "foo", "0.3.0");
    env.write(&src, "pkgs/foo/ours.nix", "2\n");
    env.commit_all(&src, "our foo");
    let run = env.git(&src, ["atom", "publish", "--push-source"]).code(1);
    assert!(
        run.stderr
            .contains("error: foo@0.3.0 is already published on remote `origin` as "),
        "{}",
        run.stderr
    );
    assert!(
        atom_refs(&env, &src).is_empty(),
        "no local ref, not even bar's"
    );
    assert_eq!(atom_refs(&env, &remote), remote_before);
}

#[test]
fn concurrent_publishers_of_one_version_exactly_one_wins() {
    let env = TestEnv::new();
    let (_src, remote) = setup(&env);
    let clones: Vec<PathBuf> = (0..2)
        .map(|i| {
            let c = env.path(&format!("c{i}"));
            env.git_ok(
                env.root(),
                &["clone", "-q", remote.to_str().unwrap(), c.to_str().unwrap()],
            );
            env.atom(&c, "pkgs/race", "race", "1.0.0");
            env.write(&c, "pkgs/race/who.nix", &format!("{i}\n"));
            env.git_ok(&c, &["checkout", "-q", "-b", &format!("b{i}")]);
            env.commit_all(&c, &format!("race from {i}"));
            c
        })
        .collect();
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = clones
            .iter()
            .map(|c| s.spawn(|| env.git(c, ["atom", "publish", "--push-source", "pkgs/race"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..2).filter(|i| runs[*i].code == 0).collect();
    assert_eq!(winners.len(), 1, "exactly one publisher wins: {runs:#?}");
    let winner = &clones[winners[0]];
    let loser = &clones[1 - winners[0]];
    assert_eq!(runs[1 - winners[0]].code, 1);
    let published = env.git_ok(&remote, &["rev-parse", "refs/atoms/race/1.0.0"]);
    assert_eq!(
        published,
        env.git_ok(winner, &["rev-parse", "refs/atoms/race/1.0.0"])
    );
    assert!(
        env.refs(loser, "refs/atoms/race/").is_empty(),
        "the loser wrote nothing locally"
    );
}

#[test]
fn refusals_write_nothing() {
    struct Case {
        name: &'static str,
        prepare: fn(&TestEnv, &Path),
        args: &'static [&'static str],
        expect: &'static str,
    }
    let cases = [
        Case {
            name: "manifest at the root",
            prepare: |env, src| env.write(src, "atom.toml", "[atom]\nid = \"root\"\nversion = \"1.0.0\"\n"),
            args: &[],
            expect: "error: `atom.toml` at the repository root: the root cannot be an atom, move it into a directory\n",
        },
        Case {
            name: "duplicate label after NFKC",
            prepare: |env, src| {
                env.atom(src, "x/one", "caf\u{e9}", "1.0.0");
                env.atom(src, "y/two", "cafe\u{301}", "2.0.0");
            },
            args: &[],
            expect: "error: atom label `caf\u{e9}` is used twice in HEAD: `x/one` and `y/two`\n",
        },
        Case {
            name: "invalid label",
            prepare: |env, src| env.atom(src, "z", "9lives", "1.0.0"),
            args: &[],
            expect: "error: z/atom.toml:2:6: `atom.id`: invalid atom label `9lives`: must start with a letter, not '9'\n",
        },
        Case {
            name: "invalid version",
            prepare: |env, src| env.atom(src, "z", "zed", "1.0"),
            args: &[],
            expect: "error: z/atom.toml:3:11: `atom.version`: invalid atom version `1.0`: unexpected end of input while parsing minor version number\n",
        },
        Case {
            name: "build metadata",
            prepare: |env, src| env.atom(src, "z", "zed", "1.0.0+linux"),
            args: &[],
            expect: "error: z/atom.toml:3:11: `atom.version`: invalid atom version `1.0.0+linux`: build metadata (`+linux`) is not allowed in a published version\n",
        },
        Case {
            name: "malformed toml",
            prepare: |env, src| env.write(src, "z/atom.toml", "[atom]\nid = \"zed\"\nversion = 1.0.0\n"),
            args: &[],
            expect: "error: z/atom.toml:3:14: invalid TOML: ",
        },
        Case {
            name: "missing table",
            prepare: |env, src| env.write(src, "z/atom.toml", "[package]\nname = \"zed\"\n"),
            args: &[],
            expect: "error: z/atom.toml: missing `[atom]` table\n",
        },
        Case {
            name: "symlinked directory",
            prepare: |env, src| {
                env.atom(src, "real", "real", "1.0.0");
                std::os::unix::fs::symlink("real", src.join("link")).unwrap();
            },
            args: &["link"],
            expect: "error: `link` is a symbolic link, not a directory: an atom must be a real directory\n",
        },
        Case {
            name: "not an atom",
            prepare: |env, src| env.write(src, "plain/file.txt", "x\n"),
            args: &["plain"],
            expect: "error: `plain` is not an atom: it has no `atom.toml`\n",
        },
        Case {
            name: "missing path",
            prepare: |_, _| {},
            args: &["nowhere"],
            expect: "error: `nowhere` does not exist in HEAD\n",
        },
        Case {
            name: "path outside the repository",
            prepare: |_, _| {},
            args: &["../elsewhere"],
            expect: "error: path `../elsewhere` is outside the repository\n",
        },
    ];
    for case in cases {
        let env = TestEnv::new();
        let (src, remote) = setup(&env);
        (case.prepare)(&env, &src);
        env.commit_all(&src, case.name);
        env.git_ok(&src, &["push", "-q", "origin", "main"]);
        let mut args = vec!["atom", "publish"];
        args.extend(case.args);
        let run = env.git(&src, &args);
        assert_eq!(run.code, 1, "{}: {run:#?}", case.name);
        assert!(run.stdout.is_empty(), "{}: {}", case.name, run.stdout);
        assert!(
            run.stderr.starts_with(case.expect),
            "{}: got {:?}, expected {:?}",
            case.name,
            run.stderr,
            case.expect
        );
        assert!(
            atom_refs(&env, &src).is_empty(),
            "{}: local refs written",
            case.name
        );
        assert!(
            atom_refs(&env, &remote).is_empty(),
            "{}: remote refs written",
            case.name
        );
        // The positive twin: the good atoms publish once the bad input is gone.
        if case.args.is_empty() {
            env.git_ok(
                &src,
                &["rm", "-rq", "--ignore-unmatch", "atom.toml", "z", "y"],
            );
            env.git_ok(&src, &["commit", "-qm", "fix", "--allow-empty"]);
            env.git_ok(&src, &["push", "-q", "origin", "main"]);
            env.git(&src, ["atom", "publish"]).success();
            assert!(
                !atom_refs(&env, &remote).is_empty(),
                "{}: the fixed repository publishes",
                case.name
            );
        }
    }
}

#[test]
fn a_submodule_is_not_an_atom() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    let sub = env.init("sub");
    env.atom(&sub, "inner", "inner", "1.0.0");
    env.commit_all(&sub, "sub");
    env.git_ok(
        &src,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            sub.to_str().unwrap(),
            "vendored",
        ],
    );
    env.commit_all(&src, "add submodule");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    let run = env.git(&src, ["atom", "publish", "vendored"]).code(1);
    assert_eq!(
        run.stderr,
        "error: `vendored` is a submodule, not a directory: an atom must be a real directory\n"
    );
    assert!(atom_refs(&env, &remote).is_empty());
    // Publishing everything does not descend into the submodule.
    let all = env.git(&src, ["atom", "publish"]).success();
    assert!(!all.stdout.contains("inner"), "{}", all.stdout);
}

#[test]
fn uncommitted_changes_inside_an_atom_are_refused() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.write(&src, "pkgs/foo/mod.nix", "{ changed = true; }\n");
    env.write(&src, "pkgs/foo/new.nix", "{ }\n");
    env.write(&src, "README", "changes outside atoms do not matter\n");
    let run = env.git(&src, ["atom", "publish"]).code(1);
    atom_tests::assert_user_sees!(env, run);
    assert!(atom_refs(&env, &src).is_empty());
    assert!(atom_refs(&env, &remote).is_empty());
    // Only the selected atoms' directories matter.
    let bar = env.git(&src, ["atom", "publish", "lib/bar"]).success();
    assert!(bar.stdout.contains("bar    1.0.0"), "{}", bar.stdout);
    env.git_ok(&src, &["checkout", "-q", "--", "pkgs/foo/mod.nix"]);
    std::fs::remove_file(src.join("pkgs/foo/new.nix")).unwrap();
    env.git(&src, ["atom", "publish"]).success();
}

#[test]
fn a_remote_of_another_repository_is_refused() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.git(&src, ["atom", "publish"]).success();
    // An unrelated repository with its own history and atoms.
    let other = env.init("unrelated");
    env.atom(&other, "pkgs/foo", "foo", "9.0.0");
    env.commit_all(&other, "unrelated root");
    env.git_ok(
        &other,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    env.git_ok(
        &other,
        &["push", "-q", "origin", "main:refs/heads/unrelated"],
    );
    let before = atom_refs(&env, &remote);
    let run = env.git(&other, ["atom", "publish"]).code(1);
    assert!(
        run.stderr
            .starts_with("error: remote `origin` is a different repository: its root commit is "),
        "{}",
        run.stderr
    );
    assert_eq!(atom_refs(&env, &remote), before);
    assert!(atom_refs(&env, &other).is_empty());
}

#[test]
fn publishes_over_git_daemon_to_a_remote_that_checks_objects() {
    let env = TestEnv::new();
    let base = env.path("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = env.init_bare("served/repo.git");
    // A strict server: every received object is fsck'ed, as hosting services do.
    env.git_ok(&remote, &["config", "receive.fsckObjects", "true"]);
    let daemon = GitDaemon::start(&env, &base);
    let url = daemon.url("repo.git");
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.atom(&src, "pkgs/foo2", "foo2", "0.1.10");
    env.commit_all(&src, "init");
    env.git_ok(&src, &["remote", "add", "origin", &url]);
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    assert_eq!(atom_refs(&env, &remote), atom_refs(&env, &src));
    let listed = env.git(&src, ["atom", "ls", &url]).success();
    assert!(listed.stdout.contains("foo2  "), "{}", listed.stdout);
    // A second publish over the daemon is a no-op.
    let again = env.git(&src, ["atom", "publish"]).success();
    assert!(again.stdout.contains("up-to-date"), "{}", again.stdout);
}

#[test]
fn several_root_commits_warn_and_use_the_first_parent_root() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "a", "alpha", "0.1.0");
    env.commit_all(&src, "main root");
    let main_root = env.git_ok(&src, &["rev-parse", "HEAD"]);
    env.git_ok(&src, &["checkout", "-q", "--orphan", "other"]);
    env.git_ok(&src, &["rm", "-rqf", "."]);
    env.write(&src, "other.txt", "x\n");
    env.commit_all(&src, "other root");
    env.git_ok(&src, &["checkout", "-q", "main"]);
    env.git_ok(
        &src,
        &[
            "merge",
            "-q",
            "--allow-unrelated-histories",
            "-m",
            "merge",
            "other",
        ],
    );
    let run = env.git(&src, ["atom", "publish", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["root"], main_root.as_str());
    assert_eq!(
        env.normalise(&run.stderr).lines().next().unwrap(),
        "warning: the history of HEAD has 2 root commits; the repository's identity is [OID], the root reached by following first parents"
    );
}

#[test]
fn the_default_remote_is_the_one_git_push_would_use() {
    let env = TestEnv::new();
    let (src, origin) = setup(&env);
    let mirror = env.init_bare("mirror.git");
    env.git_ok(&src, &["remote", "add", "mirror", mirror.to_str().unwrap()]);
    env.git_ok(&src, &["push", "-q", "mirror", "main"]);
    // `git push` with no arguments would use `remote.pushDefault` over `origin`.
    env.git_ok(&src, &["config", "remote.pushDefault", "mirror"]);
    let run = env.git(&src, ["atom", "publish"]).success();
    assert!(run.stderr.ends_with("to `mirror`\n"), "{}", run.stderr);
    assert_eq!(atom_refs(&env, &mirror), atom_refs(&env, &src));
    assert!(atom_refs(&env, &origin).is_empty());
    // `branch.<name>.pushRemote` wins over `remote.pushDefault`, as in git.
    env.git_ok(&src, &["config", "branch.main.pushRemote", "origin"]);
    env.git(&src, ["atom", "publish"]).success();
    assert_eq!(atom_refs(&env, &origin), atom_refs(&env, &src));
}

#[test]
fn publishes_from_a_bare_repository() {
    let env = TestEnv::new();
    let (_src, remote) = setup(&env);
    // A bare repository (a server-side mirror) has no working tree: nothing can be uncommitted,
    // and paths are relative to the root of the revision.
    let run = env.git(&remote, ["atom", "publish", "lib/bar/"]).success();
    assert!(run.stdout.contains("bar    1.0.0"), "{}", run.stdout);
    let names: Vec<String> = atom_refs(&env, &remote)
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["refs/atoms/_root", "refs/atoms/bar/1.0.0"]);
    env.git(&remote, ["atom", "verify"]).success();
    let bad = env.git(&remote, ["atom", "publish", "../x"]).code(1);
    assert!(
        bad.stderr.starts_with("error: invalid atom path `../x`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.git(&src, ["atom", "publish"]).success();
    let before_local = atom_refs(&env, &src);
    let before_remote = atom_refs(&env, &remote);
    // Both atoms change without a version bump, and a third has a broken manifest.
    env.write(&src, "pkgs/foo/extra.nix", "{ }\n");
    env.write(&src, "lib/bar/extra.nix", "{ }\n");
    env.write(&src, "pkgs/baz/atom.toml", "[atom]\nid = \"baz\"\n");
    env.commit_all(&src, "change both");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    let run = env.git(&src, ["atom", "publish"]).code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: atom.toml of `pkgs/baz`")
            || lines[0].contains("pkgs/baz/atom.toml"),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with("error: bar@1.0.0 is already published locally as "),
        "{}",
        run.stderr
    );
    assert!(
        lines[2].starts_with("error: foo@0.1.0 is already published locally as "),
        "{}",
        run.stderr
    );
    assert_eq!(atom_refs(&env, &src), before_local);
    assert_eq!(atom_refs(&env, &remote), before_remote);
    // A dry run reports the same problems and exits the same way.
    let dry = env.git(&src, ["atom", "publish", "--dry-run"]).code(1);
    assert_eq!(dry.stderr, run.stderr);
}

#[test]
fn a_label_that_looks_like_a_published_one_is_refused_unless_allowed() {
    let env = TestEnv::new();
    let (src, remote) = setup(&env);
    env.atom(&src, "pkgs/strings", "strings", "1.0.0");
    env.commit_all(&src, "strings");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    // The control: a label unlike the others publishes.
    env.git(&src, ["atom", "publish"]).success();
    let published = atom_refs(&env, &remote);
    assert_eq!(published.len(), 4, "{published:?}");

    // In another clone, which has no atom ref, `Strings` looks like the remote's `strings`.
    let other = env.path("other");
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    env.atom(&other, "pkgs/Strings", "Strings", "1.0.0");
    env.commit_all(&other, "Strings");
    env.git_ok(&other, &["push", "-q", "origin", "main"]);
    let refused = env.git(&other, ["atom", "publish"]).code(1);
    assert!(
        refused.stderr.contains(
            "label `Strings` looks like `strings`, already published on remote `origin`: they \
             are easily mistaken for each other (rename the atom, or pass --allow-confusable if \
             this is intended)"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(atom_refs(&env, &other), Vec::<String>::new());
    assert_eq!(atom_refs(&env, &remote), published);

    // In the publishing repository, it looks like the local `strings`.
    env.atom(&src, "pkgs/Strings", "Strings", "1.0.0");
    env.commit_all(&src, "Strings");
    let local = atom_refs(&env, &src);
    let refused = env.git(&src, ["atom", "publish", "--local"]).code(1);
    assert!(
        refused
            .stderr
            .contains("label `Strings` looks like `strings`, already published locally"),
        "{}",
        refused.stderr
    );
    assert_eq!(atom_refs(&env, &src), local);

    // Said to be intended, it publishes.
    env.git(&other, ["atom", "publish", "--allow-confusable"])
        .success();
    let names: Vec<String> = atom_refs(&env, &remote)
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .filter(|n| n.contains("trings"))
        .collect();
    assert_eq!(
        names,
        ["refs/atoms/Strings/1.0.0", "refs/atoms/strings/1.0.0"]
    );
}
