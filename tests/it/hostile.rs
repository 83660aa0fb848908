//! Hostile input and hostile remotes: names git cannot use, servers that never answer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use atom_tests::TestEnv;

/// A repository with an atom `label` 1.0.0 in `pkgs/a`, committed.
fn source_with(env: &TestEnv, label: &str) -> std::path::PathBuf {
    let src = env.init("src");
    env.atom(&src, "pkgs/a", label, "1.0.0");
    env.commit_all(&src, "init");
    src
}

#[test]
fn a_label_named_head_is_refused_at_publish() {
    let env = TestEnv::new();
    let src = source_with(&env, "HEAD");
    let run = env.git(&src, ["atom", "publish", "--local"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    atom_tests::assert_user_sees!(env, run);
    assert_eq!(env.refs(&src, "refs/atoms/"), Vec::<String>::new());
}

#[test]
fn a_label_like_head_publishes_and_clones() {
    let env = TestEnv::new();
    let src = source_with(&env, "HEADS");
    env.git(&src, ["atom", "publish", "--local"]).success();
    let clone = env
        .git(
            env.root(),
            [
                "clone",
                "-q",
                &format!("atom::{}::HEADS", src.display()),
                "c",
            ],
        )
        .success();
    assert_eq!(clone.stderr, "");
    let dir = env.path("c");
    assert_eq!(
        env.git_ok(&dir, &["symbolic-ref", "HEAD"]),
        "refs/heads/HEADS"
    );
    env.git_ok(&dir, &["fsck", "--strict"]);
}

#[test]
fn the_helper_refuses_a_head_atom_published_by_others() {
    let env = TestEnv::new();
    // A repository where something else wrote `refs/atoms/HEAD/1.0.0` (as an older publisher
    // did): the atom of label `HEADS`, under the name `HEAD`.
    let src = source_with(&env, "HEADS");
    env.git(&src, ["atom", "publish", "--local"]).success();
    env.git_ok(
        &src,
        &[
            "update-ref",
            "refs/atoms/HEAD/1.0.0",
            "refs/atoms/HEADS/1.0.0",
        ],
    );
    let clone = env.git(
        env.root(),
        ["clone", &format!("atom::{}::HEAD", src.display()), "c"],
    );
    assert_ne!(clone.code, 0, "{}", clone.stderr);
    assert!(
        clone
            .stderr
            .contains("invalid atom label `HEAD`: `HEAD` is reserved by git"),
        "{}",
        clone.stderr
    );
    assert!(!env.path("c").join(".git/refs/heads/HEAD").exists());
}

/// A TCP listener on loopback that accepts connections and never says anything.
fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn a_silent_server_times_out_naming_the_remote() {
    let env = TestEnv::new();
    let (listener, port) = silent_server();
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    env.append_global_config("[atom]\n\ttimeout = 2\n");
    for scheme in ["git", "http"] {
        let url = format!("{scheme}://127.0.0.1:{port}/remote.git");
        // It ends (the timeout fired: the message says so), whatever the machine's speed.
        let ls = env.git(env.root(), ["atom", "ls", &url]);
        assert_ne!(ls.code, 0, "{}", ls.stdout);
        assert!(ls.stderr.contains(&url), "{}", ls.stderr);
        assert!(
            ls.stderr.contains("no answer within 2 s")
                || ls.stderr.contains("timed out")
                || ls.stderr.contains("Timeout"),
            "{}",
            ls.stderr
        );

        let clone = env.git(env.root(), ["clone", &format!("atom::{url}::foo"), "c"]);
        assert_ne!(clone.code, 0, "{}", clone.stderr);
        assert!(clone.stderr.contains(&url), "{}", clone.stderr);
    }
}

#[test]
fn a_bad_timeout_setting_is_named() {
    let env = TestEnv::new();
    env.append_global_config("[atom]\n\ttimeout = soon\n");
    let ls = env.git(env.root(), ["atom", "ls", "git://127.0.0.1:1/r.git"]);
    assert_ne!(ls.code, 0);
    assert!(
        ls.stderr.contains(
            "invalid `atom.timeout` value `soon`: expected a whole number of seconds above 0"
        ),
        "{}",
        ls.stderr
    );
}

#[test]
fn warnings_carry_no_colour_codes_off_a_terminal() {
    let env = TestEnv::new();
    let src = source_with(&env, "HEADS");
    env.git(&src, ["atom", "publish", "--local"]).success();
    // Without a bad ref there is no warning; with one, `ls` warns in plain text.
    let clean = env.git(&src, ["atom", "ls"]).success();
    assert!(!clean.stderr.contains("WARN"), "{}", clean.stderr);
    env.git_ok(
        &src,
        &[
            "update-ref",
            "refs/atoms/HEAD/1.0.0",
            "refs/atoms/HEADS/1.0.0",
        ],
    );
    let ls = env.git(&src, ["atom", "ls"]).success();
    assert!(ls.stderr.contains("WARN"), "{}", ls.stderr);
    assert!(ls.stderr.contains("refs/atoms/HEAD/1.0.0"), "{}", ls.stderr);
    assert!(!ls.stderr.contains('\u{1b}'), "{:?}", ls.stderr);
}

/// The `atom-scratch-*` directories in `dir`.
fn scratch_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("atom-scratch-"))
        })
        .collect()
}

#[test]
fn a_killed_ls_leaves_no_scratch_repository() {
    let env = TestEnv::new();
    let (listener, port) = silent_server();
    // The server says on `accepted` each time it has accepted a connection (and holds it open,
    // never answering).
    let (connected, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    let tmp = env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    env.set_env("TMPDIR", &tmp);
    for signal in ["TERM", "INT"] {
        // Outside any repository, `ls <url>` works in a scratch repository; the server never
        // answers, so it is still there when the signal comes.
        let mut child = env
            .command(env.root(), "git-atom")
            .args(["ls", &format!("git://127.0.0.1:{port}/remote.git")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The listing has connected to the silent server (so the scratch repository stands
        // and the command is waiting for an answer).
        accepted
            .recv_timeout(Duration::from_secs(20))
            .expect("the listing never connected");
        assert_eq!(scratch_dirs(&tmp).len(), 1);
        let kill = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert!(!status.success(), "{signal}: {status}");
        assert_eq!(
            scratch_dirs(&tmp),
            Vec::<std::path::PathBuf>::new(),
            "{signal}"
        );
    }
}

#[test]
fn names_from_input_are_escaped_in_errors() {
    let env = TestEnv::new();
    let src = env.init("src");
    let evil = "pkgs/x\u{1b}[31m\nred";
    env.write(&src, &format!("{evil}/atom.toml"), "[atom\nid = 1\n");
    env.commit_all(&src, "init");
    let run = env.git(&src, ["atom", "publish", "--local", evil]);
    assert_ne!(run.code, 0);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(
        run.stderr.contains("pkgs/x\\u{1b}[31m\\nred`"),
        "{:?}",
        run.stderr
    );
    // A plain name is shown as it is.
    let other = env.init("other");
    env.write(&other, "pkgs/plain/atom.toml", "[atom\nid = 1\n");
    env.commit_all(&other, "init");
    let plain = env.git(&other, ["atom", "publish", "--local", "pkgs/plain"]);
    assert_ne!(plain.code, 0);
    assert!(
        plain.stderr.contains("pkgs/plain/atom.toml"),
        "{:?}",
        plain.stderr
    );
    // A path that does not exist, given with control characters.
    let missing = env.git(&src, ["atom", "publish", "--local", "no\u{1b}such"]);
    assert_ne!(missing.code, 0);
    assert!(!missing.stderr.contains('\u{1b}'), "{:?}", missing.stderr);
}

#[test]
fn tree_entries_git_refuses_are_refused_at_publish() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "pkgs/a", "a", "1.0.0");
    env.commit_all(&src, "init");
    // Rebuild pkgs/a's tree with one extra entry named `name`, as a crafted commit would.
    let craft = |name: &str| {
        let blob = env.git_ok(&src, &["rev-parse", "HEAD:pkgs/a/mod.nix"]);
        let listing = env.git_ok(&src, &["ls-tree", "HEAD:pkgs/a"]);
        let input = format!("{listing}\n100644 blob {blob}\t{name}\n");
        let mut mktree = env
            .command(&src, "git")
            .args(["mktree", "--missing"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        mktree
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = mktree.wait_with_output().unwrap();
        assert!(out.status.success());
        let atom_tree = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let pkgs_in = format!("040000 tree {atom_tree}\ta\n");
        let mut mk = env
            .command(&src, "git")
            .arg("mktree")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        mk.stdin
            .take()
            .unwrap()
            .write_all(pkgs_in.as_bytes())
            .unwrap();
        let pkgs = String::from_utf8(mk.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        let root_in = format!("040000 tree {pkgs}\tpkgs\n");
        let mut mk = env
            .command(&src, "git")
            .arg("mktree")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        mk.stdin
            .take()
            .unwrap()
            .write_all(root_in.as_bytes())
            .unwrap();
        let root = String::from_utf8(mk.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        let commit = env.git_ok(&src, &["commit-tree", &root, "-m", name]);
        env.git_ok(&src, &["update-ref", "refs/heads/crafted", &commit]);
        env.git(&src, ["atom", "publish", "--local", "--rev", "crafted"])
    };
    for (name, shown) in [
        (".git", "pkgs/a/.git"),
        (".GIT", "pkgs/a/.GIT"),
        ("..", "pkgs/a/.."),
        ("Git~1", "pkgs/a/Git~1"),
    ] {
        let run = craft(name);
        assert_ne!(run.code, 0, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("`{shown}`: a name")),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(env.refs(&src, "refs/atoms/"), Vec::<String>::new());
    }
    // The same crafted commit with an ordinary extra name publishes.
    craft("extra.nix").success();
    assert_eq!(env.refs(&src, "refs/atoms/").len(), 2);
}

#[test]
fn look_alike_labels_are_warned_about() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.atom(&src, "pkgs/latin", "paypal", "1.0.0");
    env.atom(&src, "pkgs/other", "other", "1.0.0");
    env.commit_all(&src, "one");
    env.git(&src, ["atom", "publish", "--local"]).success();
    let ls = env.git(&src, ["atom", "ls"]).success();
    assert!(!ls.stderr.contains("look alike"), "{}", ls.stderr);
    // The same name with a Cyrillic `а`.
    env.atom(&src, "pkgs/cyrillic", "p\u{430}ypal", "1.0.0");
    env.commit_all(&src, "two");
    // Publish refuses it, naming both, with nothing written...
    let refused = env
        .git(&src, ["atom", "publish", "--local", "pkgs/cyrillic"])
        .code(1);
    assert!(
        refused
            .stderr
            .contains("label `p\u{430}ypal` looks like `paypal`, already published locally"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        env.refs(&src, "refs/atoms/").len(),
        2 + 1,
        "two atoms and the root"
    );
    // ...unless told it is intended; then ls warns.
    env.git(
        &src,
        [
            "atom",
            "publish",
            "--local",
            "--allow-confusable",
            "pkgs/cyrillic",
        ],
    )
    .success();
    let ls = env.git(&src, ["atom", "ls"]).success();
    assert!(
        ls.stderr
            .contains("atom labels `paypal` and `p\u{430}ypal` look alike"),
        "{}",
        ls.stderr
    );
}

/// A `git://` proxy on loopback in front of `daemon_port`: it passes everything through until
/// `stall` is set, and from then on holds every connection that sends a protocol v2
/// `command=fetch` without passing it on or answering: a server that lists, then stalls.
fn stalling_proxy(daemon_port: u16, stall: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let stall = stall.clone();
            std::thread::spawn(move || {
                let server = TcpStream::connect(("127.0.0.1", daemon_port)).unwrap();
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                });
                let (mut from_client, mut to_server) = (client, server);
                let mut buf = [0u8; 65536];
                let mut held = false;
                loop {
                    let n = match from_client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let chunk = &buf[..n];
                    if stall.load(Ordering::SeqCst)
                        && chunk.windows(13).any(|w| w == b"command=fetch")
                    {
                        held = true;
                    }
                    if !held && to_server.write_all(chunk).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_fetch_that_stalls_after_the_listing_times_out_naming_the_remote() {
    let f = crate::remote_transport::Fixture::new();
    let daemon = atom_tests::GitDaemon::start(&f.env, &f.env.path("srv"));
    let stall = Arc::new(AtomicBool::new(false));
    let port = stalling_proxy(daemon.port, stall.clone());
    let url = format!("git://127.0.0.1:{port}/remote.git");
    f.env.append_global_config("[atom]\n\ttimeout = 2\n");
    // Through the proxy passing everything, the clone works.
    f.env
        .git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{url}::foo"), "ok"],
        )
        .success();
    assert_eq!(
        f.env.git_ok(&f.env.path("ok"), &["rev-parse", "HEAD"]),
        f.src_ref("refs/atoms/foo/1.1.0")
    );
    // The listing is answered, the fetch never is: the helper's fetch (on the listing's
    // session) is ended once the server has not answered for `atom.timeout`, and the error
    // names the remote.
    stall.store(true, Ordering::SeqCst);
    let clone = f.env.git(
        f.env.root(),
        ["clone", &format!("atom::{url}::foo"), "stalled"],
    );
    assert_eq!(clone.code, 128, "{}", clone.stderr);
    let fatal: Vec<&str> = clone
        .stderr
        .lines()
        .filter(|l| l.starts_with("fatal:"))
        .collect();
    assert_eq!(
        fatal,
        [format!(
            "fatal: cannot fetch atom `foo`: remote `{url}`: no answer within 2 s (the limit is \
             `atom.timeout`, in seconds)"
        )],
        "{}",
        clone.stderr
    );
    assert!(!f.env.path("stalled").exists());
    // `git atom` fetches are bounded the same way: verify of an atom URI fetches the atom.
    let verify = f
        .env
        .git(f.env.root(), ["atom", "verify", &format!("{url}::foo")]);
    assert_eq!(verify.code, 2, "{}", verify.stdout);
    assert!(
        format!("{}{}", verify.stdout, verify.stderr).contains("no progress for 2 s"),
        "{}\n{}",
        verify.stdout,
        verify.stderr
    );
}
