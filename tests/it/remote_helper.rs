//! `git-remote-atom`'s protocol manners, its security checks, push rules and failure modes.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::Duration;

use crate::remote_transport::{files, Fixture};

fn url(f: &Fixture) -> String {
    f.remote.to_str().unwrap().to_owned()
}

/// Appends `text` to the test's global git config.
fn global_config(f: &Fixture, text: &str) {
    let path = f.env.home().join(".gitconfig");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(text);
    std::fs::write(path, config).unwrap();
}

#[test]
fn answers_the_protocol_exactly() {
    let f = Fixture::new();
    let out = f
        .env
        .command(f.env.root(), "git-remote-atom")
        .args(["origin", &format!("{}::foo@^1", url(&f))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(
                b"capabilities\noption verbosity 0\noption progress false\noption depth 1\noption frobnicate yes\nlist\n\n",
            )?;
            child.wait_with_output()
        })
        .unwrap();
    let (v100, v110) = (
        f.src_ref("refs/atoms/foo/1.0.0"),
        f.src_ref("refs/atoms/foo/1.1.0"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "fetch\npush\noption\n\nok\nok\nunsupported\nunsupported\n\
             {v100} refs/atoms/foo/1.0.0\n{v110} refs/atoms/foo/1.1.0\n{v110} refs/heads/foo\n@refs/heads/foo HEAD\n\n"
        )
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success());
}

#[test]
fn flushes_every_reply() {
    let f = Fixture::new();
    let mut child = f
        .env
        .command(f.env.root(), "git-remote-atom")
        .args(["origin", &format!("{}::foo", url(&f))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
    });
    // Each reply arrives while stdin is still open: nothing waits for more input to be flushed.
    stdin.write_all(b"capabilities\n").unwrap();
    stdin.flush().unwrap();
    for want in ["fetch", "push", "option", ""] {
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), want);
    }
    stdin.write_all(b"option verbosity 1\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "ok");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let f = Fixture::new();
    let mut child = f
        .env
        .command(f.env.root(), "git-remote-atom")
        .args(["origin", &format!("{}::foo", url(&f))])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"capabilities\nlist\nlist\n\n");
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn human_output_obeys_quiet_and_verbose() {
    let f = Fixture::new();
    let uri = format!("atom::{}::foo", url(&f));
    let quiet = f
        .env
        .git(f.env.root(), ["clone", "-q", &uri, "q"])
        .success();
    assert_eq!(quiet.stderr, "");
    let verbose = f
        .env
        .git(f.env.root(), ["clone", "-v", &uri, "v"])
        .success();
    // -v shows the helper's own lines; without it, git's lines only.
    for line in ["atom: selected foo@1.1.0", "atom: fetching foo@1.1.0"] {
        assert!(verbose.stderr.contains(line), "{}", verbose.stderr);
    }
    let normal = f.env.git(f.env.root(), ["clone", &uri, "n"]).success();
    assert!(
        normal.stderr.contains("Cloning into 'n'"),
        "{}",
        normal.stderr
    );
    assert!(!normal.stderr.contains("atom: "), "{}", normal.stderr);
}

#[test]
fn aliases_come_from_git_config() {
    let f = Fixture::new();
    global_config(
        &f,
        &format!(
            "[atom \"alias\"]\n\tmine = {}\n\tr = mine:remote.git\n\tx = y\n\ty = x:z\n",
            f.env.path("srv").display()
        ),
    );
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", "atom::r::foo@=1.0.0", "aliased"],
        )
        .success();
    assert_eq!(files(&f.env.path("aliased")), ["atom.toml", "mod.nix"]);
    let cycle = f.env.git(f.env.root(), ["ls-remote", "atom::x::foo"]);
    assert_eq!(cycle.code, 128);
    assert_eq!(
        cycle.stderr,
        "fatal: alias cycle in atom URI `x::foo`: x -> y -> x\n"
    );
}

#[test]
fn refuses_option_injection_and_bad_names() {
    let f = Fixture::new();
    let marker = f.env.path("pwned");
    let inject = format!(
        "atom::ssh://-oProxyCommand=touch%20{}/repo::foo",
        marker.display()
    );
    let run = f.env.git(f.env.root(), ["ls-remote", &inject]);
    assert_eq!(run.code, 128);
    assert!(run.stderr.contains("starts with `-`"), "{}", run.stderr);
    assert!(!marker.exists());
    for (uri, says) in [
        (format!("atom::{}::foo..bar", url(&f)), "invalid atom URI"),
        (format!("atom::{}::-foo", url(&f)), "invalid atom URI"),
        (
            format!("atom::{}::foo@1..2", url(&f)),
            "invalid version requirement",
        ),
        (
            "atom::ext::sh -c touch% /tmp/x::foo".to_owned(),
            "other remote helpers",
        ),
        (
            "atom::git://127.0.0.1/../etc::foo".to_owned(),
            "`..` is not allowed",
        ),
    ] {
        let run = f.env.git(f.env.root(), ["ls-remote", &uri]);
        assert_eq!(run.code, 128, "{uri}");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains(says), "{uri}: {}", run.stderr);
    }
    // The same remote with a valid name works.
    f.env
        .git(
            f.env.root(),
            ["ls-remote", &format!("atom::{}::foo", url(&f))],
        )
        .success();
}

#[test]
fn follows_the_transport_policy() {
    let f = Fixture::new();
    let uri = format!("atom::{}::foo", url(&f));
    let ls = |vars: &[(&str, &str)], args: &[&str]| {
        let mut cmd = f.env.command(f.env.root(), "git");
        cmd.args(args).args(["ls-remote", &uri]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(ls(&[("GIT_ALLOW_PROTOCOL", "atom:file")], &[]).0, 0);
    assert_eq!(
        ls(&[("GIT_ALLOW_PROTOCOL", "atom")], &[]),
        (128, "fatal: transport 'file' not allowed\n".to_owned())
    );
    assert_eq!(
        ls(&[], &["-c", "protocol.file.allow=never"]),
        (128, "fatal: transport 'file' not allowed\n".to_owned())
    );
    // git applies the policy to the helper itself.
    let (code, stderr) = ls(&[], &["-c", "protocol.atom.allow=never"]);
    assert_eq!(code, 128);
    assert!(stderr.contains("transport 'atom' not allowed"), "{stderr}");
}

/// Runs `git clone atom::<uri>` in the test root and checks it failed with exactly one line,
/// containing `says`, and left no directory behind.
fn clone_fails(f: &Fixture, uri: &str, dir: &str, says: &str) {
    let run = f.env.git(f.env.root(), ["clone", &format!("atom::{uri}")]);
    assert_ne!(run.code, 0, "{uri}");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("Cloning into"))
        .collect();
    assert_eq!(lines.len(), 1, "{uri}: {}", run.stderr);
    assert!(
        lines[0].starts_with("fatal: ") && lines[0].contains(says),
        "{uri}: {}",
        run.stderr
    );
    assert!(!f.env.path(dir).exists(), "{uri} left {dir} behind");
}

#[test]
fn failures_are_one_line_and_leave_nothing() {
    let f = Fixture::new();
    let u = url(&f);
    clone_fails(&f, &format!("{u}::nope"), "nope", "no atom `nope` at");
    clone_fails(
        &f,
        &format!("{u}::foo@^7"),
        "foo@^7",
        "no version of `foo` at",
    );
    let port = atom_tests::free_port();
    clone_fails(
        &f,
        &format!("git://127.0.0.1:{port}/remote.git::foo"),
        "foo",
        "cannot list atoms at",
    );
    // The positive case.
    f.env
        .git(f.env.root(), ["clone", "-q", &format!("atom::{u}::foo@^1")])
        .success();
    assert!(f.env.path("foo@^1").is_dir());
}

#[test]
fn a_forged_atom_is_refused_before_anything_is_written() {
    let f = Fixture::new();
    let u = url(&f);
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{u}::foo@^1"), "c"],
        )
        .success();
    let clone = f.env.path("c");
    let before = f
        .env
        .git_ok(&clone, &["rev-parse", "refs/remotes/origin/foo"]);
    // A newer "version" that is really a commit of the source history.
    let main = f.src_ref("main");
    f.env
        .git_ok(&f.remote, &["update-ref", "refs/atoms/foo/1.9.0", &main]);
    let fetch = f.env.git(&clone, ["fetch"]);
    assert_eq!(fetch.code, 128, "{}", fetch.stderr);
    assert_eq!(fetch.stderr.lines().count(), 1, "{}", fetch.stderr);
    assert!(
        fetch.stderr.starts_with("fatal: refusing atom foo@1.9.0"),
        "{}",
        fetch.stderr
    );
    assert!(
        fetch.stderr.contains("must be an orphan"),
        "{}",
        fetch.stderr
    );
    assert_eq!(
        f.env
            .git_ok(&clone, &["rev-parse", "refs/remotes/origin/foo"]),
        before
    );
    // Not even the objects were kept.
    assert_ne!(f.env.git(&clone, ["cat-file", "-e", &main]).code, 0);
    clone_fails(
        &f,
        &format!("{u}::foo@=1.9.0"),
        "foo@=1.9.0",
        "refusing atom foo@1.9.0",
    );
}

/// Writes, on the bare remote, a well-formed atom commit `foo@<version>` that names `source`
/// and `pkgs/foo` but holds `tree` instead of the tree there, under `refs/atoms/foo/<version>`.
fn forge_atom(f: &Fixture, version: &str, source: &str, mod_nix: &str) -> String {
    let env = &f.env;
    let hash = |text: &str| {
        let out = env
            .command(&f.remote, "git")
            .args(["hash-object", "-w", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(text.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let stdin_to = |args: &[&str], input: &str| -> String {
        let mut child = env
            .command(&f.remote, "git")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let manifest = hash(&format!("[atom]\nid = \"foo\"\nversion = \"{version}\"\n"));
    let module = hash(mod_nix);
    let tree = stdin_to(
        &["mktree"],
        &format!("100644 blob {manifest}\tatom.toml\n100644 blob {module}\tmod.nix\n"),
    );
    // The genuine atom commit's bytes with the tree, the source and the version swapped.
    let genuine = env.git_ok(&f.remote, &["cat-file", "commit", "refs/atoms/foo/1.1.0"]);
    let forged: Vec<String> = genuine
        .lines()
        .map(|l| {
            if l.starts_with("tree ") {
                format!("tree {tree}")
            } else if l.starts_with("source ") {
                format!("source {source}")
            } else if l.starts_with("atom: ") {
                format!("atom: foo@{version}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    let commit = stdin_to(
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        &format!("{}\n", forged.join("\n")),
    );
    env.git_ok(
        &f.remote,
        &["update-ref", &format!("refs/atoms/foo/{version}"), &commit],
    );
    commit
}

#[test]
fn an_atom_whose_tree_is_not_its_source_is_refused() {
    let f = Fixture::new();
    let u = url(&f);
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{u}::foo@^1"), "c"],
        )
        .success();
    let clone = f.env.path("c");
    let before = f.env.refs(&clone, "refs/");
    // Well-formed, names the genuine source commit (which the remote has) and path, but the
    // tree was swapped: what `git atom verify` calls a tree that differs from its source.
    let main = f.src_ref("main");
    let forged = forge_atom(&f, "1.9.0", &main, "{ Name = \"evil\"; }\n");
    let fetch = f.env.git(&clone, ["fetch"]);
    assert_eq!(fetch.code, 128, "{}", fetch.stderr);
    assert_eq!(fetch.stderr.lines().count(), 1, "{}", fetch.stderr);
    assert!(
        fetch.stderr.starts_with("fatal: refusing atom foo@1.9.0")
            && fetch
                .stderr
                .contains("differs from `pkgs/foo` in source commit"),
        "{}",
        fetch.stderr
    );
    assert_eq!(f.env.refs(&clone, "refs/"), before);
    assert_ne!(f.env.git(&clone, ["cat-file", "-e", &forged]).code, 0);
    // Nor is it cloned.
    clone_fails(
        &f,
        &format!("{u}::foo@=1.9.0"),
        "foo@=1.9.0",
        "differs from `pkgs/foo` in source commit",
    );

    // The positive case: a genuine new version is fetched, and no source object comes along.
    f.env
        .git_ok(&f.remote, &["update-ref", "-d", "refs/atoms/foo/1.9.0"]);
    f.publish("pkgs/foo", "foo", "1.5.0");
    f.env.git(&clone, ["fetch", "-q"]).success();
    assert_eq!(
        f.env
            .git_ok(&clone, &["rev-parse", "refs/remotes/origin/foo"]),
        f.src_ref("refs/atoms/foo/1.5.0")
    );
    assert_ne!(
        f.env
            .git(&clone, ["cat-file", "-e", &f.src_ref("main")])
            .code,
        0
    );
}

#[test]
fn an_atom_whose_source_is_not_on_the_remote_is_refused() {
    let f = Fixture::new();
    let u = url(&f);
    // Published locally from a commit that was never pushed; only the atom ref reaches the
    // remote, with plain git.
    f.publish_locally("pkgs/foo", "foo", "1.7.0");
    let source = f.src_ref("main");
    f.env.git_ok(
        &f.src,
        &[
            "push",
            "-q",
            &u,
            "refs/atoms/foo/1.7.0:refs/atoms/foo/1.7.0",
        ],
    );
    assert_ne!(f.env.git(&f.remote, ["cat-file", "-e", &source]).code, 0);
    clone_fails(
        &f,
        &format!("{u}::foo@^1"),
        "foo@^1",
        "refusing atom foo@1.7.0",
    );
    let run = f
        .env
        .git(f.env.root(), ["clone", &format!("atom::{u}::foo@^1")]);
    assert!(
        run.stderr.contains(&format!(
            "its source commit {source} cannot be fetched from the remote"
        )),
        "{}",
        run.stderr
    );
    // Once the source is pushed, the same atom clones.
    f.env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{u}::foo@^1"), "ok"],
        )
        .success();
    assert_eq!(
        f.env.git_ok(&f.env.path("ok"), &["rev-parse", "HEAD"]),
        f.src_ref("refs/atoms/foo/1.7.0")
    );
}

#[test]
fn a_helper_killed_mid_fetch_leaves_nothing() {
    let f = Fixture::new();
    let u = url(&f);
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{u}::foo@^1"), "c"],
        )
        .success();
    let clone = f.env.path("c");
    f.publish("pkgs/foo", "foo", "1.5.0");
    // git upload-pack runs this instead of pack-objects: it kills the helper that asked, while
    // the fetch is under way.
    let hook = f.env.path("kill-helper.sh");
    let killed = f.env.path("killed");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\npid=$$\nwhile [ \"$pid\" -gt 1 ]; do\n  pid=$(awk '{{print $4}}' /proc/$pid/stat)\n  \
         if [ \"$(cat /proc/$pid/comm)\" = git-remote-atom ]; then echo $pid >> {killed}; kill -9 $pid; exit 1; fi\n\
         done\nexit 1\n",
            killed = killed.display()
        ),
    )
    .unwrap();
    f.env
        .run(f.env.root(), "chmod", ["+x", hook.to_str().unwrap()])
        .success();
    global_config(
        &f,
        &format!("[uploadpack]\n\tpackObjectsHook = {}\n", hook.display()),
    );
    let before = f.env.refs(&clone, "refs/");
    let fetch = f.env.git(&clone, ["fetch"]);
    assert_ne!(fetch.code, 0, "{}", fetch.stderr);
    assert_eq!(f.env.refs(&clone, "refs/"), before);
    assert!(fetch.stderr.contains("signal 9"), "{}", fetch.stderr);
    assert_eq!(std::fs::read_to_string(&killed).unwrap().lines().count(), 1);
    let run = f
        .env
        .git(f.env.root(), ["clone", &format!("atom::{u}::foo")]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("signal 9"), "{}", run.stderr);
    assert!(!f.env.path("foo").exists());
    assert_eq!(std::fs::read_to_string(&killed).unwrap().lines().count(), 2);

    // What a killed helper leaves (an empty quarantine, never admitted) is removed by a later
    // fetch once it is stale; a recent one may belong to a running fetch and is kept.
    let config = f.env.home().join(".gitconfig");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, &text[..text.find("[uploadpack]").unwrap()]).unwrap();
    let git_dir = clone.join(".git");
    let quarantines = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&git_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("atom-quarantine-"))
            .collect();
        names.sort();
        names
    };
    let left = quarantines();
    let stale = git_dir.join("atom-quarantine-stale");
    let fresh = git_dir.join("atom-quarantine-fresh");
    std::fs::create_dir_all(stale.join("objects")).unwrap();
    std::fs::create_dir_all(&fresh).unwrap();
    let mut aged = vec!["-d", "2 hours ago"];
    let paths: Vec<String> = left
        .iter()
        .map(|n| git_dir.join(n).display().to_string())
        .chain([stale.display().to_string()])
        .collect();
    aged.extend(paths.iter().map(String::as_str));
    f.env.run(f.env.root(), "touch", aged).success();
    f.env.git(&clone, ["fetch", "-q"]).success();
    assert_eq!(quarantines(), ["atom-quarantine-fresh"]);
}

#[test]
fn push_only_adds_valid_atoms() {
    let f = Fixture::new();
    let remote = format!("atom::{}::foo", url(&f));
    let push = |args: &[&str]| {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        f.env.git(&f.src, all)
    };
    f.publish_locally("pkgs/foo", "foo", "1.5.0");
    let (new, invalid) = ("refs/atoms/foo/1.5.0", "main:refs/atoms/foo/9.0.0");

    // A commit that is not an atom is refused.
    let run = push(&[&remote, invalid]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("not a valid atom commit"),
        "{}",
        run.stderr
    );
    assert_eq!(f.remote_ref("refs/atoms/foo/9.0.0"), None);
    // So is another atom's ref, and deleting a published version.
    let run = push(&[&remote, "refs/atoms/bar/0.1.0"]);
    assert!(
        run.stderr.contains("not an atom ref of `foo`"),
        "{}",
        run.stderr
    );
    let run = push(&[&remote, ":refs/atoms/foo/1.0.0"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(f.remote_ref("refs/atoms/foo/1.0.0").is_some());

    // As with `git atom publish`: an atom whose source commit the remote does not have is
    // refused, and so is one whose tree is not the tree at its path in its source.
    let run = push(&[&remote, new]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(&format!(
            "source commit {} is not on remote",
            f.src_ref("main")
        )),
        "{}",
        run.stderr
    );
    assert_eq!(f.remote_ref(new), None);
    f.env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    let forged = forge_atom(&f, "1.6.0", &f.src_ref("main"), "{ Name = \"evil\"; }\n");
    f.env
        .git_ok(&f.src, &["fetch", "-q", "origin", "refs/atoms/foo/1.6.0"]);
    f.env
        .git_ok(&f.remote, &["update-ref", "-d", "refs/atoms/foo/1.6.0"]);
    let run = push(&[&remote, &format!("{forged}:refs/atoms/foo/1.6.0")]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("differs from `pkgs/foo` in source commit"),
        "{}",
        run.stderr
    );
    assert_eq!(f.remote_ref("refs/atoms/foo/1.6.0"), None);

    // --dry-run writes nothing.
    push(&["--dry-run", &remote, new]).success();
    assert_eq!(f.remote_ref(new), None);
    // --atomic: one bad ref fails them all.
    let run = push(&["--atomic", &remote, new, invalid]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(f.remote_ref(new), None, "{}", run.stderr);
    // Without --atomic the good one lands.
    let run = push(&[&remote, new, invalid]);
    assert_ne!(run.code, 0);
    assert_eq!(f.remote_ref(new), Some(f.src_ref(new)));
}

#[test]
fn lists_with_one_prefixed_ls_refs_and_fetches_no_history() {
    let f = Fixture::new();
    for i in 0..20 {
        f.env
            .git_ok(&f.remote, &["branch", &format!("unrelated-{i}"), "main"]);
    }
    let uri = format!("atom::file://{}::foo", f.remote.display());
    let traced = |args: &[&str]| {
        let trace = f.env.path("packets");
        let _ = std::fs::remove_file(&trace);
        let out = f
            .env
            .command(f.env.root(), "git")
            .args(args)
            .env("GIT_TRACE_PACKET", &trace)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&trace).unwrap()
    };
    let packets = traced(&["ls-remote", &uri]);
    // The real remote (git upload-pack) got exactly one ls-refs, with the atom's prefixes in
    // both formats, eka's metadata refs of it and the identity refs.
    assert_eq!(packets.matches("command=ls-refs").count(), 1, "{packets}");
    for prefix in [
        "refs/atoms/foo/",
        "refs/eka/atoms/foo/",
        "refs/eka/meta/foo/",
        "refs/atoms/_root",
        "refs/ekala/init",
    ] {
        assert!(
            packets.contains(&format!("ref-prefix {prefix}")),
            "{prefix}: {packets}"
        );
    }
    let sent: Vec<&str> = packets
        .lines()
        .filter(|l| l.contains("upload-pack> "))
        .collect();
    assert!(
        sent.iter().any(|l| l.contains("refs/atoms/foo/1.1.0")),
        "{packets}"
    );
    for unwanted in ["refs/heads/", "refs/atoms/bar/"] {
        assert!(
            !sent.iter().any(|l| l.contains(unwanted)),
            "{unwanted} was sent:\n{packets}"
        );
    }
    // A clone's fetch asks for the one atom ref and gets no branch either.
    let packets = traced(&["clone", "-q", &uri, "traced"]);
    let sent: Vec<&str> = packets
        .lines()
        .filter(|l| l.contains("upload-pack> "))
        .collect();
    assert!(!sent.iter().any(|l| l.contains("refs/heads/")), "{packets}");
    assert_eq!(
        f.env.git_ok(&f.env.path("traced"), &["rev-list", "--all"]),
        f.src_ref("refs/atoms/foo/1.1.0")
    );
}

#[test]
fn an_atom_clone_shows_the_publishers_atomic_number() {
    let env = atom_tests::TestEnv::new();
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo");
    let url = remote.to_str().unwrap();
    env.git_ok(&src, &["push", "-q", url, "main"]);
    env.git(&src, ["atom", "publish", "--remote", url])
        .success();
    // The publisher's atomic number, as its own `ls` shows it.
    let published = env.git(&src, ["atom", "ls", "--json"]).success().stdout;
    let field = |json: &str, pointer: &str| -> String {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no {pointer} in {json}"))
            .to_owned()
    };
    let id = field(&published, "/atoms/0/id");
    let root = field(&published, "/root");

    env.git_ok(
        env.root(),
        &["clone", "-q", &format!("atom::{url}::foo"), "clone"],
    );
    let clone = env.path("clone");
    // The clone records the publisher's root (in its configuration: it does not hold the
    // publisher's history), so its numbers are the publisher's.
    assert_eq!(
        env.git_ok(&clone, &["config", "--local", "atom.root"]),
        env.git_ok(&src, &["rev-parse", "refs/atoms/_root"])
    );
    assert_ne!(
        env.git(&clone, ["rev-parse", "-q", "--verify", "refs/atoms/_root"])
            .code,
        0
    );
    // `ls` numbers from it (the clone holds a branch, not atom refs), and `show` of the
    // checked-out atom shows the publisher's number.
    let listed = env.git(&clone, ["atom", "ls", "--json"]).success().stdout;
    assert_eq!(field(&listed, "/root"), root);
    let shown = env.git(&clone, ["atom", "show"]).success().stdout;
    assert!(
        shown.contains(&format!("id           {id}\n")),
        "{shown}\nexpected {id}"
    );
}
