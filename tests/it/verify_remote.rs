//! `git atom verify` where the consumer is: in a `git clone atom::` clone, and on an atom URI
//! without a local repository, fetching what each level needs and nothing more.

use std::path::{Path, PathBuf};

use atom_tests::{GitDaemon, TestEnv};

/// A source repository with history and a large file outside the atom, whose atom `foo`
/// (at `pkgs/foo`) is published to the bare `srv/remote.git`. Returns (source, remote).
fn published(env: &TestEnv) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("srv/remote.git");
    let src = env.init("src");
    for i in 0..20 {
        env.write(&src, "history.txt", &format!("commit {i}\n"));
        env.commit_all(&src, &format!("history {i}"));
    }
    env.write(
        &src,
        "big/blob.bin",
        &"not part of the atom\n".repeat(50_000),
    );
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo 0.1.0");
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    env.git(
        &src,
        ["atom", "publish", "--remote", remote.to_str().unwrap()],
    )
    .success();
    (src, remote)
}

fn object_count(env: &TestEnv, repo: &Path) -> usize {
    env.git_ok(
        repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname)",
        ],
    )
    .lines()
    .count()
}

#[test]
fn a_clone_verifies_against_the_repository_it_came_from() {
    let env = TestEnv::new();
    let (_, remote) = published(&env);
    let uri = format!("atom::{}::foo", remote.display());
    env.git_ok(env.root(), &["clone", "-q", &uri, "clone"]);
    let clone = env.path("clone");
    let before = object_count(&env, &clone);
    let run = env.git(&clone, ["atom", "verify"]).success();
    assert_eq!(
        run.stdout,
        "ok            foo@0.1.0 (structure, source; not checked: ancestry)\n"
    );
    let run = env.git(&clone, ["atom", "verify", "--ancestry"]).success();
    assert_eq!(
        run.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry)\n"
    );
    let json = env
        .git(&clone, ["atom", "verify", "--json", "foo"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["atoms"][0]["status"], "verified");
    assert_eq!(v["atoms"][0]["levels"]["structure"], "checked");
    assert_eq!(v["atoms"][0]["levels"]["source"], "checked");
    assert_eq!(v["atoms"][0]["levels"]["ancestry"], "not checked");
    assert_eq!(
        object_count(&env, &clone),
        before,
        "verification adds nothing to the clone"
    );
    // Without the repository it came from, the source level cannot be checked: exit 2.
    env.git_ok(&clone, &["remote", "remove", "origin"]);
    let run = env.git(&clone, ["atom", "verify"]).code(2);
    assert!(
        run.stdout
            .starts_with("UNVERIFIABLE  foo@0.1.0: source commit "),
        "{}",
        run.stdout
    );
}

#[test]
fn an_atom_uri_verifies_without_a_repository() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // Aliases come from git config, as for `git clone atom::`.
    env.git_ok(
        env.root(),
        &[
            "config",
            "--global",
            "atom.alias.srv",
            env.path("srv").to_str().unwrap(),
        ],
    );
    let run = env
        .git(
            &outside,
            ["atom", "verify", "--ancestry", "srv:remote.git::foo@^0.1"],
        )
        .success();
    assert_eq!(
        run.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry)\n"
    );
    // An unknown atom is an error naming it; exit 2.
    let missing = env
        .git(&outside, ["atom", "verify", "srv:remote.git::nope"])
        .code(2);
    assert!(
        missing
            .stderr
            .contains("cannot verify `srv:remote.git::nope`")
            && missing.stderr.contains("no atom `nope` at "),
        "{}",
        missing.stderr
    );
    // A forged atom on the remote, whose tree is not the source's: exit 1.
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let wrong_tree = env.git_ok(&src, &["rev-parse", "HEAD:pkgs"]);
    let body = format!(
        "tree {wrong_tree}\nauthor atom <atom@invalid> 0 +0000\ncommitter atom <atom@invalid> 0 +0000\n\
         atom-format 1\natom-source {head}\natom-path pkgs/foo\n\natom: foo@0.2.0\n"
    );
    let file = env.path("forged");
    std::fs::write(&file, body).unwrap();
    let forged = env.git_ok(
        &remote,
        &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()],
    );
    env.git_ok(&remote, &["update-ref", "refs/atoms/foo/0.2.0", &forged]);
    let run = env
        .git(&outside, ["atom", "verify", "srv:remote.git::foo"])
        .code(1);
    assert!(
        run.stdout.starts_with("FAILED        foo@0.2.0: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the atom's tree has no regular `atom.toml`"),
        "{}",
        run.stdout
    );
}

/// A `uploadpack.packObjectsHook` that keeps a copy of every pack the server sends, so a test
/// can count the objects each fetch transferred.
fn record_packs(env: &TestEnv) -> PathBuf {
    let dir = env.path("packs");
    std::fs::create_dir_all(&dir).unwrap();
    let hook = env.path("pack-hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nout=$(mktemp {dir}/pack.XXXXXX)\n\"$@\" | tee \"$out\"\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    env.run(env.root(), "chmod", ["+x", hook.to_str().unwrap()])
        .success();
    env.git_ok(
        env.root(),
        &[
            "config",
            "--global",
            "uploadpack.packObjectsHook",
            hook.to_str().unwrap(),
        ],
    );
    dir
}

/// The object count of each recorded pack (bytes 8..12 of a pack are its object count), in the
/// order they were sent.
fn pack_counts(dir: &Path) -> Vec<u32> {
    let mut packs: Vec<(std::time::SystemTime, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            let start = bytes.windows(4).position(|w| w == b"PACK")?;
            let count = u32::from_be_bytes(bytes[start + 8..start + 12].try_into().ok()?);
            Some((e.metadata().ok()?.modified().ok()?, count))
        })
        .collect();
    packs.sort();
    packs.into_iter().map(|(_, c)| c).collect()
}

#[test]
fn each_level_fetches_exactly_what_it_needs_over_git_daemon() {
    let env = TestEnv::new();
    let (_, remote) = published(&env);
    env.git_ok(&remote, &["config", "uploadpack.allowFilter", "true"]);
    let daemon = GitDaemon::start(&env, &env.path("srv"));
    let packs = record_packs(&env);
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = format!("{}::foo", daemon.url("remote.git"));
    let run = env.git(&outside, ["atom", "verify", &uri]).success();
    assert_eq!(
        run.stdout,
        "ok            foo@0.1.0 (structure, source; not checked: ancestry)\n"
    );
    // The atom: its commit, its tree and its two files. The source level: the source commit,
    // its root tree and the trees one level down (`big`, `pkgs`), which hold the entry
    // `pkgs/foo`; no blob (the large file stays on the server) and no history.
    assert_eq!(pack_counts(&packs), [4, 4]);
    for p in std::fs::read_dir(&packs).unwrap().flatten() {
        std::fs::remove_file(p.path()).unwrap();
    }
    let run = env
        .git(&outside, ["atom", "verify", "--ancestry", &uri])
        .success();
    assert_eq!(
        run.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry)\n"
    );
    // Ancestry adds the 21 commits from the source to the root, without trees or blobs.
    assert_eq!(pack_counts(&packs), [4, 4, 21]);
}
