//! `git atom publish` where people run it: inside an atom, at the top, in a new repository, with
//! an atom that is not committed yet.

use atom_tests::TestEnv;

fn two_atoms(env: &TestEnv) -> std::path::PathBuf {
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.atom(&src, "pkgs/bar", "bar", "0.2.0");
    env.write(&src, "pkgs/foo/sub/file", "x\n");
    env.commit_all(&src, "init");
    src
}

#[test]
fn inside_an_atom_publishes_that_atom() {
    let env = TestEnv::new();
    let src = two_atoms(&env);
    let run = env
        .git(&src.join("pkgs/foo/sub"), ["atom", "publish", "--local"])
        .success();
    assert_eq!(env.refs(&src, "refs/atoms/bar").len(), 0);
    assert_eq!(env.refs(&src, "refs/atoms/foo").len(), 1);
    assert!(
        run.stderr.starts_with(
            "publishing the atom in `pkgs/foo`, which holds the current directory (--all publishes every atom)\n"
        ),
        "{}",
        run.stderr
    );
    // --all from the same place publishes the rest; from the top, everything is up to date.
    env.git(
        &src.join("pkgs/foo"),
        ["atom", "publish", "--local", "--all"],
    )
    .success();
    assert_eq!(env.refs(&src, "refs/atoms/bar").len(), 1);
    let top = env.git(&src, ["atom", "publish", "--local"]).success();
    assert_eq!(
        top.stdout.matches("up-to-date").count(),
        2,
        "{}",
        top.stdout
    );
}

#[test]
fn an_uncommitted_atom_is_skipped_with_a_warning() {
    let env = TestEnv::new();
    let src = two_atoms(&env);
    env.atom(&src, "pkgs/new", "new", "1.0.0");
    let run = env.git(&src, ["atom", "publish", "--local"]).success();
    assert!(
        run.stderr.contains(
            "warning: skipped `pkgs/new`: its `atom.toml` is not committed in HEAD (commit it, then publish)\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(env.refs(&src, "refs/atoms/new").len(), 0);
    // Once committed, it is published and nothing is skipped.
    env.commit_all(&src, "new");
    let run = env.git(&src, ["atom", "publish", "--local"]).success();
    assert!(!run.stderr.contains("skipped"), "{}", run.stderr);
    assert_eq!(env.refs(&src, "refs/atoms/new").len(), 1);
}

#[test]
fn a_repository_without_commits_says_so() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    let run = env.git(&src, ["atom", "publish", "--local"]).code(1);
    assert_eq!(
        run.stderr,
        "error: unknown revision `HEAD`: the repository has no commit yet (commit the atoms first)\n"
    );
}
