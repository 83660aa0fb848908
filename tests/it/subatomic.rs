//! Subatomics: `[srcs.<name>] path = "<dir>"` publishes `refs/subs/<tree>` in the same atomic
//! push as the atom; it verifies, is immutable, and can be fetched alone.

use std::path::{Path, PathBuf};

use atom_tests::TestEnv;

/// A repository whose atom `foo` (at `pkgs/foo`) names `vendor/lib` as a path source, with a
/// current lock, and an unrelated directory `other/`; its `main` is pushed to `remote.git`.
/// Returns (source repository, remote, tree of `vendor/lib`).
fn repository(env: &TestEnv) -> (PathBuf, PathBuf, String) {
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.write(&src, "vendor/lib/a.c", "int a;\n");
    env.write(&src, "vendor/lib/include/a.h", "extern int a;\n");
    for i in 0..20 {
        env.write(&src, &format!("other/file{i}"), &format!("unrelated {i}\n"));
    }
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.write(
        &src,
        "pkgs/foo/atom.toml",
        "[atom]\nid = \"foo\"\nversion = \"0.1.0\"\n\n[srcs.vendor]\npath = \"../../vendor/lib\"\n",
    );
    env.commit_all(&src, "foo");
    let tree = env.git_ok(&src, &["rev-parse", "HEAD:vendor/lib"]);
    env.write(
        &src,
        "pkgs/foo/atom.lock",
        &format!(
            "version = 1\n\n[[src]]\nname = \"vendor\"\npath = \"vendor/lib\"\ntree = \"{tree}\"\n\
             hash = \"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"\n"
        ),
    );
    env.commit_all(&src, "lock");
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    (src, remote, tree)
}

/// Objects in `repo`, loose and packed.
fn object_count(env: &TestEnv, repo: &Path) -> usize {
    let out = env.git_ok(repo, &["count-objects", "-v"]);
    out.lines()
        .filter_map(|l| {
            l.strip_prefix("count: ")
                .or_else(|| l.strip_prefix("in-pack: "))
        })
        .map(|n| n.parse::<usize>().unwrap())
        .sum()
}

#[test]
fn path_sources_are_published_as_subatomics() {
    let env = TestEnv::new();
    let (src, remote, tree) = repository(&env);
    let remote_url = remote.to_str().unwrap();
    let source = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let sub_ref = format!("refs/subs/{tree}");

    // The plan shows the subatomic; nothing is written.
    let dry = env
        .git(
            &src,
            ["atom", "publish", "--dry-run", "--remote", remote_url],
        )
        .success();
    assert!(
        dry.stdout.ends_with(&format!(
            "\nSUBATOMIC     PATH        STATUS\n{}  vendor/lib  would-publish\n",
            &tree[..12]
        )),
        "{}",
        dry.stdout
    );
    assert!(env.refs(&src, "refs/subs/").is_empty());
    assert!(env.refs(&remote, "refs/subs/").is_empty());

    // Published with the atom, in the same push: locally and on the remote.
    let json = env
        .git(&src, ["atom", "publish", "--json", "--remote", remote_url])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["subatomics"][0]["tree"], tree.as_str());
    assert_eq!(v["subatomics"][0]["path"], "vendor/lib");
    assert_eq!(v["subatomics"][0]["status"], "published");
    let commit = env.git_ok(&src, &["rev-parse", &sub_ref]);
    assert_eq!(
        env.refs(&remote, "refs/subs/"),
        [format!("{sub_ref} {commit}")]
    );
    // The exact bytes of docs/format.md, section 4.1.
    assert_eq!(
        env.git_ok(&src, &["cat-file", "commit", &commit]),
        format!(
            "tree {tree}\nauthor atom <atom@invalid> 0 +0000\n\
             committer atom <atom@invalid> 0 +0000\natom-format 1\natom-source {source}\n\
             atom-path vendor/lib\n\nsubatomic: vendor/lib"
        )
    );

    // Publishing again: up to date, nothing moves.
    let again = env
        .git(&src, ["atom", "publish", "--json", "--remote", remote_url])
        .success();
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["subatomics"][0]["status"], "up-to-date");
    assert_eq!(env.git_ok(&src, &["rev-parse", &sub_ref]), commit);

    // `git atom verify` checks it.
    let verified = env.git(&src, ["atom", "verify"]).success();
    assert_eq!(
        verified.stdout,
        format!(
            "ok            foo@0.1.0 (structure, source, ancestry)\n\
             ok            subatomic {} (vendor/lib) (structure, source)\n",
            &tree[..12]
        )
    );

    // Fetched alone, it brings the commit, its tree and what is under it, and nothing else.
    let alone = env.init("alone");
    env.git_ok(
        &alone,
        &["fetch", "-q", remote_url, &format!("{sub_ref}:{sub_ref}")],
    );
    let under = env
        .git_ok(&src, &["ls-tree", "-r", "-t", &tree])
        .lines()
        .count();
    assert_eq!(under, 3, "a.c, include/ and include/a.h");
    assert_eq!(object_count(&env, &alone), 1 + 1 + under);
    // There it verifies: the source level fetches the source commit and the trees along the
    // path (no blob) into a quarantine.
    let there = env
        .git(&alone, ["atom", "verify", "--remote", remote_url])
        .success();
    assert_eq!(
        there.stdout,
        format!(
            "ok            subatomic {} (vendor/lib) (structure, source)\n",
            &tree[..12]
        )
    );
    assert_eq!(object_count(&env, &alone), 1 + 1 + under);
}

#[test]
fn a_forged_subatomic_fails_verification_and_the_server_hook() {
    let env = TestEnv::new();
    let (src, remote, tree) = repository(&env);
    env.git(&src, ["atom", "publish", "--local"]).success();
    // A subatomic ref whose commit is the atom commit, not a subatomic of that tree.
    let atom = env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.0"]);
    let other_tree = env.git_ok(&src, &["rev-parse", "HEAD:other"]);
    env.git_ok(
        &src,
        &["update-ref", &format!("refs/subs/{other_tree}"), &atom],
    );
    let failed = env.git(&src, ["atom", "verify"]).code(1);
    assert!(
        failed.stdout.contains(&format!(
            "FAILED        subatomic {} (pkgs/foo): the commit's tree is {}, but its ref names {other_tree}; \
             message is \"atom: foo@0.1.0\\n\", expected \"subatomic: pkgs/foo\\n\"; not reproducible",
            &other_tree[..12],
            env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.0^{tree}"])
        )),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains(&format!(
            "ok            subatomic {} (vendor/lib)",
            &tree[..12]
        )),
        "{}",
        failed.stdout
    );

    // The server refuses the forged one and accepts the genuine one.
    env.git(&remote, ["atom", "hook", "install", "--server"])
        .success();
    let url = remote.to_str().unwrap();
    let refused = env.git(
        &src,
        [
            "push",
            url,
            &format!("refs/subs/{other_tree}:refs/subs/{other_tree}"),
        ],
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(&format!(
            "refusing new subatomic ref `refs/subs/{other_tree}`"
        )),
        "{}",
        refused.stderr
    );
    assert!(env.refs(&remote, "refs/subs/").is_empty());
    let sub_ref = format!("refs/subs/{tree}");
    env.git(&src, ["push", url, &format!("{sub_ref}:{sub_ref}")])
        .success();
    assert_eq!(env.refs(&remote, "refs/subs/").len(), 1);
}
