//! Publishing under stress: concurrent publishers racing for the same version, and publishes
//! killed at random moments. The suite runs a short form (20 races, 10 kills); `ATOM_STRESS=1`
//! runs the long form of the adversarial review (100 races, 90 kills). See "Stress tests" in
//! `docs/trust.md`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use atom_tests::TestEnv;

/// `(races, kills)`: the short form, or the long one with `ATOM_STRESS=1`.
fn rounds() -> (usize, usize) {
    match std::env::var("ATOM_STRESS").as_deref() {
        Ok("1") => (100, 90),
        _ => (20, 10),
    }
}

/// A bare remote holding `main` with atom `bar` 0.1.0 published (so `refs/atoms/_root` exists),
/// and the source repository that published it.
fn remote_with_root(env: &TestEnv) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.atom(&src, "pkgs/bar", "bar", "0.1.0");
    env.atom(&src, "pkgs/foo", "foo", "1.0.0");
    env.write(&src, "pkgs/foo/mod.nix", "{ Racer = \"none\"; }\n");
    env.commit_all(&src, "init");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish", "pkgs/bar"]).success();
    (remote, src)
}

/// Runs `git <args>` in each of `dirs` at the same moment (threads released together);
/// returns each one's exit code and stderr, in the order of `dirs`.
fn at_once(
    env: &Arc<TestEnv>,
    dirs: &[PathBuf],
    args: &[&'static str],
) -> Vec<(Option<i32>, String)> {
    let start = Arc::new(Barrier::new(dirs.len()));
    let handles: Vec<_> = dirs
        .iter()
        .cloned()
        .map(|dir| {
            let (env, start, args) = (env.clone(), start.clone(), args.to_vec());
            std::thread::spawn(move || {
                let mut cmd = env.command(&dir, "git");
                cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
                start.wait();
                let out = cmd.output().unwrap();
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn concurrent_publishes_of_one_version_have_exactly_one_winner() {
    let (races, _) = rounds();
    let env = TestEnv::new();
    let (remote, src) = remote_with_root(&env);
    // Each racer: its own clone and branch, a different `foo` 1.0.0, published with its
    // source branch in the same atomic push.
    let racers: Vec<PathBuf> = (0..races)
        .map(|i| {
            let dir = env.path(&format!("racer-{i}"));
            env.git_ok(
                env.root(),
                &["clone", "-q", src.to_str().unwrap(), dir.to_str().unwrap()],
            );
            env.git_ok(
                &dir,
                &["remote", "set-url", "origin", remote.to_str().unwrap()],
            );
            env.git_ok(&dir, &["checkout", "-q", "-b", &format!("racer-{i}")]);
            env.write(&dir, "pkgs/foo/mod.nix", &format!("{{ Racer = {i}; }}\n"));
            env.commit_all(&dir, &format!("racer {i}"));
            dir
        })
        .collect();
    let env = Arc::new(env);
    let results = at_once(
        &env,
        &racers,
        &["atom", "publish", "--push-source", "pkgs/foo"],
    );

    let winners: Vec<usize> = (0..races).filter(|&i| results[i].0 == Some(0)).collect();
    assert_eq!(winners.len(), 1, "{results:#?}");
    let winner = winners[0];
    for (i, (code, stderr)) in results.iter().enumerate() {
        if i == winner {
            continue;
        }
        // The documented refusal: exit 1, nothing written, and the same words whether the
        // loser planned after the winner pushed or its atomic push met the winner's ref (git
        // reports that as `already exists`, `stale info` or `atomic transaction failed`; the
        // publish then looks at the remote again).
        assert_eq!(*code, Some(1), "racer {i}: {stderr}");
        assert!(
            stderr.starts_with("error: foo@1.0.0 is already published on remote `origin` as "),
            "racer {i}: {stderr}"
        );
        assert_eq!(
            env.refs(&racers[i], "refs/atoms/foo/"),
            Vec::<String>::new(),
            "racer {i} wrote local refs"
        );
    }
    // The remote is consistent: the winner's atom, its source branch, and no loser's branch.
    let winner_atom = env.git_ok(&racers[winner], &["rev-parse", "refs/atoms/foo/1.0.0"]);
    assert_eq!(
        env.git_ok(&remote, &["rev-parse", "refs/atoms/foo/1.0.0"]),
        winner_atom
    );
    let branches: Vec<String> = env
        .git_ok(
            &remote,
            &["for-each-ref", "--format=%(refname)", "refs/heads/"],
        )
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        branches,
        [
            "refs/heads/main".to_owned(),
            format!("refs/heads/racer-{winner}")
        ]
    );
    let verify = env.git(&racers[winner], ["atom", "verify", "--ancestry", "foo"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
}

/// The refs under `refs/` of `repo`, as `name oid` lines.
fn all_refs(env: &TestEnv, repo: &Path) -> Vec<String> {
    env.git_ok(
        repo,
        &["for-each-ref", "--format=%(refname) %(objectname)", "refs/"],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Waits until no process of process group `group` is left (git children of a killed publish
/// finish what they were doing, or fail, on their own).
fn wait_for_group(group: u32) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let alive = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .any(|stat| {
                // `pid (comm) state ppid pgrp ...`; comm may hold spaces, so split after `)`.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                    .and_then(|g| g.parse::<u32>().ok())
                    == Some(group)
            });
        if !alive {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of killed publish {group} still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_publish_killed_at_any_moment_leaves_all_or_nothing() {
    use std::os::unix::process::CommandExt;
    let (_, kills) = rounds();
    let env = TestEnv::new();
    // Where pushes stage their refs (a directory in memory, the user's runtime directory): this
    // test's own, so that what killed pushes leave there can be counted.
    let runtime = env.path("runtime");
    std::fs::create_dir(&runtime).unwrap();
    env.set_env("XDG_RUNTIME_DIR", &runtime);
    let stages = || {
        std::fs::read_dir(&runtime)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("atom-push-"))
            .count()
    };
    let (remote, src) = remote_with_root(&env);
    let atoms = ["a", "b", "c", "d", "e"];
    // A plan of several refs: five atoms and the source branch, in one atomic push.
    let bump = |round: usize| {
        for label in atoms {
            env.atom(
                &src,
                &format!("pkgs/{label}"),
                label,
                &format!("1.0.{round}"),
            );
        }
        env.commit_all(&src, &format!("round {round}"))
    };
    // `git-atom` itself is what is killed (`git atom` runs it as a child of `git`). The first
    // publish also creates `_root`; the second is what every round does.
    bump(0);
    env.run(&src, "git-atom", ["publish", "--push-source"])
        .success();
    bump(1);
    let started = Instant::now();
    env.run(&src, "git-atom", ["publish", "--push-source"])
        .success();
    // Kill moments spread over an undisturbed publish, from a fixed seed.
    let span = u64::try_from(started.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1000);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    // Rounds that left nothing, that pushed but created no local ref, that completed.
    let mut outcomes = (0, 0, 0);
    for round in 2..=kills + 1 {
        let source = bump(round);
        let remote_before = all_refs(&env, &remote);
        let local_before = all_refs(&env, &src);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % span);
        let mut child = env
            .command(&src, "git-atom")
            .args(["publish", "--push-source"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        wait_for_group(child.id());

        // Every ref of the plan or none, on the remote; nothing else.
        let planned: Vec<String> = atoms
            .iter()
            .map(|l| format!("refs/atoms/{l}/1.0.{round}"))
            .collect();
        let remote_after = all_refs(&env, &remote);
        let main = env.git_ok(&remote, &["rev-parse", "refs/heads/main"]);
        let has =
            |refs: &[String], name: &str| refs.iter().any(|r| r.starts_with(&format!("{name} ")));
        let published = planned.iter().filter(|p| has(&remote_after, p)).count();
        if published == 0 {
            assert_eq!(remote_after, remote_before, "round {round}: stray refs");
            outcomes.0 += 1;
        } else {
            assert_eq!(published, planned.len(), "round {round}: {remote_after:#?}");
            assert_eq!(main, source, "round {round}: atoms without their source");
            assert_eq!(
                remote_after.len(),
                remote_before.len() + planned.len(),
                "round {round}: stray refs {remote_after:#?}"
            );
        }
        // Locally, the refs come after the push in one transaction: none or all, and never
        // ahead of the remote.
        let local_after = all_refs(&env, &src);
        let local = planned.iter().filter(|p| has(&local_after, p)).count();
        assert!(
            local == 0 || (local == planned.len() && published == planned.len()),
            "round {round}: {local} local refs, {published} on the remote"
        );
        // (A push that went through moved `refs/remotes/origin/main`, as git does.)
        let own = |refs: &[String]| -> Vec<String> {
            refs.iter()
                .filter(|r| !r.starts_with("refs/remotes/"))
                .cloned()
                .collect()
        };
        if published == planned.len() {
            if local == 0 {
                outcomes.1 += 1;
            } else {
                outcomes.2 += 1;
            }
        }
        if local == 0 {
            assert_eq!(
                own(&local_after),
                own(&local_before),
                "round {round}: stray local refs"
            );
        }

        // A rerun completes, whatever the kill left. A kill inside the local ref transaction
        // leaves git's lock files behind, as a killed `git update-ref` does: the rerun then
        // refuses, naming the lock file, writes nothing, and completes once it is removed (what
        // the message tells the user to do).
        let mut rerun = env.git(&src, ["atom", "publish", "--push-source"]);
        if rerun.code != 0 {
            let locks = lock_files(&src.join(".git"));
            assert!(
                !locks.is_empty() && locks.iter().any(|l| rerun.stderr.contains(l.as_str())),
                "round {round}: {} (lock files: {locks:?})",
                rerun.stderr
            );
            assert!(
                rerun.stderr.contains("might need manual deletion"),
                "{}",
                rerun.stderr
            );
            for l in &locks {
                std::fs::remove_file(l).unwrap();
            }
            rerun = env.git(&src, ["atom", "publish", "--push-source"]);
        }
        assert_eq!(rerun.code, 0, "round {round}: {}", rerun.stderr);
        let remote_done = all_refs(&env, &remote);
        let local_done = all_refs(&env, &src);
        for p in &planned {
            assert!(
                has(&remote_done, p),
                "round {round}: {p} missing on the remote"
            );
            assert!(has(&local_done, p), "round {round}: {p} missing locally");
        }
    }
    eprintln!(
        "{kills} kills: {} left nothing, {} had pushed but not created the local refs, {} had \
         completed; {} stages left behind",
        outcomes.0,
        outcomes.1,
        outcomes.2,
        stages()
    );
    // A killed push cannot remove its stage; the next push removes every stage whose push is
    // gone, and its own when it is done.
    bump(kills + 2);
    env.git(&src, ["atom", "publish", "--push-source"])
        .success();
    assert_eq!(stages(), 0);
}

/// Every `*.lock` file under `dir` (git's ref and index locks), as strings.
fn lock_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "lock") {
                found.push(path.to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// Resolutions running at once in different working trees share the user's cache (its objects
/// and its index of what each address served): every one succeeds with the same lock.
#[test]
fn concurrent_resolutions_share_one_cache() {
    let (races, _) = rounds();
    let env = TestEnv::new();
    let (remote, src) = remote_with_root(&env);
    env.git(&src, ["atom", "publish", "pkgs/foo"]).success();
    let manifest = format!(
        "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.foo]\nurl = \"file://{0}\"\nversion = \"1\"\n\n\
         [deps.bar]\nurl = \"file://{0}\"\nversion = \"0.1\"\n",
        remote.display()
    );
    let apps: Vec<PathBuf> = (0..races)
        .map(|i| {
            let app = env.init(&format!("app-{i}"));
            env.write(&app, "atom.toml", &manifest);
            app
        })
        .collect();
    let env = Arc::new(env);
    let results = at_once(&env, &apps, &["atom", "resolve"]);
    for (i, (code, stderr)) in results.iter().enumerate() {
        assert_eq!(*code, Some(0), "resolution {i}: {stderr}");
    }
    let locks: Vec<String> = apps
        .iter()
        .map(|app| std::fs::read_to_string(app.join("atom.lock")).unwrap())
        .collect();
    assert!(locks.iter().all(|l| l == &locks[0]), "{locks:#?}");
    let foo = env.git_ok(&remote, &["rev-parse", "refs/atoms/foo/1.0.0"]);
    assert!(locks[0].contains(&foo), "{}", locks[0]);
    // The index recorded both atoms once, at the commits the remote serves.
    let index = env.home().join(".cache/atom/index.git");
    let recorded = env.git_ok(
        &index,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/index/",
        ],
    );
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(recorded.len(), 2, "{recorded:#?}");
    assert!(
        recorded
            .iter()
            .any(|l| l.starts_with(&foo) && l.ends_with("/foo/1.0.0")),
        "{recorded:#?}"
    );
}
