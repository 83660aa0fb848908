//! `git atom hook install [--server]`: the steps a user takes, through the real git, and the
//! server hook behind git daemon, smart HTTP and sshd.

use std::path::{Path, PathBuf};

use atom_tests::{GitDaemon, HttpServer, SshServer, TestEnv};

/// A source repository with `origin` (a bare repository) holding `main` and the published atom
/// `foo` 0.1.0. Returns (source, remote).
fn published(env: &TestEnv) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("srv/remote.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo 0.1.0");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    (src, remote)
}

fn remote_ref(env: &TestEnv, remote: &Path, name: &str) -> String {
    env.git(remote, ["rev-parse", "--verify", "-q", name])
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn the_pre_push_hook_guards_atom_refs_and_lets_everything_else_through() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let atom = remote_ref(&env, &remote, "refs/atoms/foo/0.1.0");
    let install = env.git(&src, ["atom", "hook", "install"]).success();
    let hook = src.join(".git/hooks/pre-push");
    assert_eq!(
        install.stderr,
        format!("installed the pre-push hook at {}\n", hook.display())
    );
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains("hook pre-push \"$@\""), "{script}");

    // An ordinary push works.
    env.write(&src, "README", "more\n");
    let head = env.commit_all(&src, "more");
    env.git(&src, ["push", "-q", "origin", "main"]).success();
    assert_eq!(remote_ref(&env, &remote, "refs/heads/main"), head);

    // A force-push over an atom ref is refused, and the ref stays.
    let force = env
        .git(
            &src,
            ["push", "--force", "origin", "HEAD:refs/atoms/foo/0.1.0"],
        )
        .code(1);
    assert!(
        force.stderr.contains(&format!(
            "error: refusing to update `refs/atoms/foo/0.1.0` ({} -> {}): published atoms and subatomics are immutable",
            &atom[..12],
            &head[..12]
        )),
        "{}",
        force.stderr
    );
    // Deleting it is refused too.
    let delete = env
        .git(&src, ["push", "origin", ":refs/atoms/foo/0.1.0"])
        .code(1);
    assert!(
        delete
            .stderr
            .contains("error: refusing to delete `refs/atoms/foo/0.1.0`"),
        "{}",
        delete.stderr
    );
    // And so is a mirror push that would rewrite it.
    env.git_ok(&src, &["update-ref", "refs/atoms/foo/0.1.0", &head]);
    let mirror = env
        .git(&src, ["push", "--mirror", "--force", "origin"])
        .code(1);
    assert!(
        mirror
            .stderr
            .contains("error: refusing to update `refs/atoms/foo/0.1.0`"),
        "{}",
        mirror.stderr
    );
    env.git_ok(&src, &["update-ref", "refs/atoms/foo/0.1.0", &atom]);
    assert_eq!(remote_ref(&env, &remote, "refs/atoms/foo/0.1.0"), atom);

    // Publishing still works with the hook installed.
    env.atom(&src, "pkgs/foo", "foo", "0.2.0");
    env.commit_all(&src, "foo 0.2.0");
    env.git(&src, ["push", "-q", "origin", "main"]).success();
    env.git(&src, ["atom", "publish"]).success();
    assert!(!remote_ref(&env, &remote, "refs/atoms/foo/0.2.0").is_empty());

    // A branch whose atom has dependencies but no lock is refused; with a lock it goes through
    // (see the deps tests for locks that are current) -- here, dropping the dependency.
    env.write(
        &src,
        "pkgs/bar/atom.toml",
        "[atom]\nid = \"bar\"\nversion = \"0.1.0\"\n\n[deps.foo]\nurl = \"https://example.org/x\"\nversion = \"0.1\"\n",
    );
    env.commit_all(&src, "bar without a lock");
    let stale = env.git(&src, ["push", "origin", "main"]).code(1);
    assert!(
        stale.stderr.contains(
            "error: refusing to push `refs/heads/main`: `pkgs/bar` has dependencies but no `atom.lock`"
        ),
        "{}",
        stale.stderr
    );
    env.write(
        &src,
        "pkgs/bar/atom.toml",
        "[atom]\nid = \"bar\"\nversion = \"0.1.0\"\n",
    );
    env.commit_all(&src, "bar without dependencies");
    env.git(&src, ["push", "-q", "origin", "main"]).success();

    // The hook was what refused: without it (--no-verify) the same force-push goes through.
    env.git(
        &src,
        [
            "push",
            "-q",
            "--no-verify",
            "--force",
            "origin",
            "HEAD:refs/atoms/foo/0.1.0",
        ],
    )
    .success();
    assert_ne!(remote_ref(&env, &remote, "refs/atoms/foo/0.1.0"), atom);
}

#[test]
fn install_does_not_replace_a_hook_it_did_not_write() {
    let env = TestEnv::new();
    let src = env.init("src");
    let hook = src.join(".git/hooks/pre-push");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let run = env.git(&src, ["atom", "hook", "install"]).code(1);
    assert_eq!(
        run.stderr,
        format!(
            "error: `{}` exists and was not installed by git atom (use --force to replace it)\n",
            hook.display()
        )
    );
    env.git(&src, ["atom", "hook", "install", "--force"])
        .success();
    // Its own hook it replaces without --force.
    env.git(&src, ["atom", "hook", "install"]).success();
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("hook pre-push"));
}

/// Pushes through `url` to the bare `remote`, which has the server hook: an update and a
/// deletion of the atom ref and a malformed new atom are refused whoever pushes; a genuine new
/// atom and branch pushes go through.
fn server_hook_refuses_over(env: &TestEnv, src: &Path, remote: &Path, url: &str) {
    let atom = remote_ref(env, remote, "refs/atoms/foo/0.1.0");
    let head = env.git_ok(src, &["rev-parse", "HEAD"]);
    // No client hook here: the server refuses.
    let force = env
        .git(
            src,
            [
                "push",
                "--no-verify",
                "--force",
                url,
                "HEAD:refs/atoms/foo/0.1.0",
            ],
        )
        .code(1);
    assert!(
        force.stderr.contains(&format!(
            "refusing to update `refs/atoms/foo/0.1.0` ({} -> {})",
            &atom[..12],
            &head[..12]
        )),
        "{}",
        force.stderr
    );
    let delete = env
        .git(src, ["push", "--no-verify", url, ":refs/atoms/foo/0.1.0"])
        .code(1);
    assert!(
        delete
            .stderr
            .contains("refusing to delete `refs/atoms/foo/0.1.0`"),
        "{}",
        delete.stderr
    );
    // A branch commit is not a subatomic: refused as a new ref.
    let fake = env
        .git(
            src,
            [
                "push",
                "--no-verify",
                url,
                &format!("HEAD:refs/subs/{}", "a".repeat(40)),
            ],
        )
        .code(1);
    assert!(
        fake.stderr.contains(&format!(
            "refusing new subatomic ref `refs/subs/{}` ({}): has 1 parent(s)",
            "a".repeat(40),
            &head[..12]
        )),
        "{}",
        fake.stderr
    );
    // A genuine subatomic (docs/format.md 4.1) is created; it cannot be moved afterwards.
    let tree = env.git_ok(src, &["rev-parse", "HEAD:pkgs"]);
    let bytes = format!(
        "tree {tree}\nauthor atom <atom@invalid> 0 +0000\ncommitter atom <atom@invalid> 0 +0000\n\
         atom-format 1\natom-source {head}\natom-path pkgs\n\nsubatomic: pkgs\n"
    );
    std::fs::write(env.path("sub-bytes"), bytes).unwrap();
    let sub_commit = env.git_ok(
        src,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            env.path("sub-bytes").to_str().unwrap(),
        ],
    );
    let sub_ref = format!("refs/subs/{tree}");
    env.git(
        src,
        [
            "push",
            "--no-verify",
            url,
            &format!("{sub_commit}:{sub_ref}"),
        ],
    )
    .success();
    let sub_update = env
        .git(
            src,
            [
                "push",
                "--no-verify",
                "--force",
                url,
                &format!("HEAD~1:{sub_ref}"),
            ],
        )
        .code(1);
    assert!(
        sub_update.stderr.contains("refusing to update `refs/subs/"),
        "{}",
        sub_update.stderr
    );
    // A branch commit pushed as a new atom is not an atom.
    let malformed = env
        .git(
            src,
            ["push", "--no-verify", url, "HEAD:refs/atoms/foo/9.9.9"],
        )
        .code(1);
    assert!(
        malformed.stderr.contains(&format!(
            "refusing new atom ref `refs/atoms/foo/9.9.9` ({}): has 1 parent(s)",
            &head[..12]
        )),
        "{}",
        malformed.stderr
    );
    assert_eq!(remote_ref(env, remote, "refs/atoms/foo/0.1.0"), atom);
    assert_eq!(remote_ref(env, remote, "refs/atoms/foo/9.9.9"), "");
    // A genuine new atom is accepted through the same transport.
    env.atom(src, "pkgs/foo", "foo", "0.3.0");
    env.commit_all(src, "foo 0.3.0");
    env.git(src, ["push", "-q", "--no-verify", url, "main"])
        .success();
    env.git(src, ["atom", "publish", "--remote", url]).success();
    assert!(!remote_ref(env, remote, "refs/atoms/foo/0.3.0").is_empty());
}

fn with_server_hook(env: &TestEnv) -> (PathBuf, PathBuf) {
    let (src, remote) = published(env);
    let run = env
        .git(&remote, ["atom", "hook", "install", "--server"])
        .success();
    assert_eq!(
        run.stderr,
        format!(
            "installed the pre-receive hook at {}\n",
            remote.join("hooks/pre-receive").display()
        )
    );
    (src, remote)
}

#[test]
fn the_server_hook_guards_atom_refs_behind_git_daemon() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let daemon = GitDaemon::start(&env, &env.path("srv"));
    server_hook_refuses_over(&env, &src, &remote, &daemon.url("remote.git"));
}

#[test]
fn the_server_hook_guards_atom_refs_behind_smart_http() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let server = HttpServer::start(&env, &env.path("srv"));
    server_hook_refuses_over(&env, &src, &remote, &server.url("remote.git"));
}

#[test]
fn the_server_hook_guards_atom_refs_behind_sshd() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let server = SshServer::start(&env);
    server_hook_refuses_over(&env, &src, &remote, &server.url(&remote));
}

/// Where a push goes: a URL, and how the server is told to serve the ref namespace `t` when it
/// is (`--receive-pack` running receive-pack with `GIT_NAMESPACE=t`, for a path and ssh; smart
/// HTTP has its own URL for it).
struct Door {
    url: String,
    receive_pack: Option<&'static str>,
}

const IN_NAMESPACE_T: Option<&str> = Some("env GIT_NAMESPACE=t git-receive-pack");

/// `git push --no-verify [--receive-pack ...] <door> args...`: no client hook, so what refuses
/// is the server's.
fn push_to(env: &TestEnv, src: &Path, door: &Door, args: &[&str]) -> atom_tests::Run {
    let mut all = vec!["push".to_owned(), "--no-verify".to_owned()];
    if let Some(receive_pack) = door.receive_pack {
        all.push(format!("--receive-pack={receive_pack}"));
    }
    all.push(door.url.clone());
    all.extend(args.iter().map(|a| (*a).to_owned()));
    env.git(src, all)
}

/// The server `remote` (with the server hook and the atom `foo` 0.1.0) also serves the
/// namespace `t`, holding the same atom at `refs/namespaces/t/refs/atoms/foo/0.1.0`, and has
/// symbolic refs `refs/heads/alias` to the atom, in and out of the namespace. Through `plain`
/// (no namespace) and `in_t` (serving `t`), every change of an existing atom ref however it is
/// named (in a namespace, nested, through a symbolic ref) is refused, new atom refs are checked
/// under their namespaced names, and ordinary and genuine pushes go through.
fn namespaced_and_symbolic_atoms_are_guarded(
    env: &TestEnv,
    src: &Path,
    remote: &Path,
    plain: &Door,
    in_t: &Door,
) {
    let atom = remote_ref(env, remote, "refs/atoms/foo/0.1.0");
    let t_atom = "refs/namespaces/t/refs/atoms/foo/0.1.0";
    env.git_ok(remote, &["update-ref", t_atom, &atom]);
    env.git_ok(
        remote,
        &["symbolic-ref", "refs/heads/alias", "refs/atoms/foo/0.1.0"],
    );
    env.git_ok(
        remote,
        &["symbolic-ref", "refs/namespaces/t/refs/heads/alias", t_atom],
    );
    env.write(src, "README", "namespaces\n");
    let head = env.commit_all(src, "namespaces");
    let short = |oid: &str| oid[..12].to_owned();

    // Controls: branch pushes go through, in and out of the namespace.
    push_to(env, src, plain, &["-q", "main"]).success();
    assert_eq!(remote_ref(env, remote, "refs/heads/main"), head);
    push_to(env, src, in_t, &["-q", "main"]).success();
    assert_eq!(
        remote_ref(env, remote, "refs/namespaces/t/refs/heads/main"),
        head
    );

    // Without the namespace, its atom is still an atom: no force-update, deletion or
    // malformed creation.
    let force = push_to(env, src, plain, &["--force", &format!("HEAD:{t_atom}")]).code(1);
    assert!(
        force.stderr.contains(&format!(
            "error: refusing to update `{t_atom}` ({} -> {}): published atoms and subatomics are immutable",
            short(&atom),
            short(&head)
        )),
        "{}",
        force.stderr
    );
    let delete = push_to(env, src, plain, &[&format!(":{t_atom}")]).code(1);
    assert!(
        delete.stderr.contains(&format!(
            "error: refusing to delete `{t_atom}` ({}): published atoms and subatomics are immutable",
            short(&atom)
        )),
        "{}",
        delete.stderr
    );
    for name in [
        "refs/namespaces/t/refs/atoms/foo/9.9.9",
        "refs/namespaces/a/refs/namespaces/b/refs/atoms/foo/9.9.9",
    ] {
        let create = push_to(env, src, plain, &[&format!("HEAD:{name}")]).code(1);
        assert!(
            create.stderr.contains(&format!(
                "error: refusing new atom ref `{name}` ({}): has 1 parent(s)",
                short(&head)
            )),
            "{}",
            create.stderr
        );
        assert_eq!(remote_ref(env, remote, name), "");
    }
    // A symbolic ref is checked as its target.
    let alias = push_to(env, src, plain, &["--force", "HEAD:refs/heads/alias"]).code(1);
    assert!(
        alias.stderr.contains(&format!(
            "error: `refs/heads/alias` is a symbolic ref to `refs/atoms/foo/0.1.0`: refusing to update `refs/atoms/foo/0.1.0` ({} -> {})",
            short(&atom),
            short(&head)
        )),
        "{}",
        alias.stderr
    );

    // Through the namespace: the same, nested namespaces and symbolic refs included.
    let force = push_to(env, src, in_t, &["--force", "HEAD:refs/atoms/foo/0.1.0"]).code(1);
    assert!(
        force.stderr.contains(&format!(
            "error: refusing to update `refs/atoms/foo/0.1.0` ({} -> {})",
            short(&atom),
            short(&head)
        )),
        "{}",
        force.stderr
    );
    let nested = "refs/namespaces/u/refs/atoms/foo/9.9.9";
    let create = push_to(env, src, in_t, &[&format!("HEAD:{nested}")]).code(1);
    assert!(
        create.stderr.contains(&format!(
            "error: refusing new atom ref `{nested}` ({}): has 1 parent(s)",
            short(&head)
        )),
        "{}",
        create.stderr
    );
    let alias = push_to(env, src, in_t, &["--force", "HEAD:refs/heads/alias"]).code(1);
    assert!(
        alias.stderr.contains(&format!(
            "error: `refs/heads/alias` is a symbolic ref to `{t_atom}`: refusing to update `{t_atom}` ({} -> {})",
            short(&atom),
            short(&head)
        )),
        "{}",
        alias.stderr
    );
    let delete = push_to(env, src, in_t, &[":refs/atoms/foo/0.1.0"]).code(1);
    assert!(
        delete
            .stderr
            .contains("error: refusing to delete `refs/atoms/foo/0.1.0`"),
        "{}",
        delete.stderr
    );

    // Nothing moved.
    assert_eq!(remote_ref(env, remote, "refs/atoms/foo/0.1.0"), atom);
    assert_eq!(remote_ref(env, remote, t_atom), atom);
    assert_eq!(
        env.git_ok(remote, &["symbolic-ref", "refs/heads/alias"]),
        "refs/atoms/foo/0.1.0"
    );
    assert_eq!(remote_ref(env, remote, nested), "");
    assert_eq!(
        remote_ref(
            env,
            remote,
            "refs/namespaces/t/refs/namespaces/u/refs/atoms/foo/9.9.9"
        ),
        ""
    );

    // A genuine atom is created under a (nested) namespaced name: the check is the atom's.
    push_to(
        env,
        src,
        in_t,
        &[
            "-q",
            &format!("{atom}:refs/namespaces/u/refs/atoms/foo/0.1.0"),
        ],
    )
    .success();
    assert_eq!(
        remote_ref(
            env,
            remote,
            "refs/namespaces/t/refs/namespaces/u/refs/atoms/foo/0.1.0"
        ),
        atom
    );
}

#[test]
fn the_server_hook_guards_namespaced_and_symbolic_atom_refs_over_a_path() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let url = remote.to_str().unwrap().to_owned();
    let plain = Door {
        url: url.clone(),
        receive_pack: None,
    };
    let in_t = Door {
        url,
        receive_pack: IN_NAMESPACE_T,
    };
    namespaced_and_symbolic_atoms_are_guarded(&env, &src, &remote, &plain, &in_t);
}

#[test]
fn the_server_hook_guards_namespaced_and_symbolic_atom_refs_behind_smart_http() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let server = HttpServer::start(&env, &env.path("srv"));
    let plain = Door {
        url: server.url("remote.git"),
        receive_pack: None,
    };
    let in_t = Door {
        url: server.namespaced_url("remote.git"),
        receive_pack: None,
    };
    namespaced_and_symbolic_atoms_are_guarded(&env, &src, &remote, &plain, &in_t);
}

#[test]
fn the_server_hook_guards_namespaced_and_symbolic_atom_refs_behind_sshd() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    let server = SshServer::start(&env);
    let plain = Door {
        url: server.url(&remote),
        receive_pack: None,
    };
    let in_t = Door {
        url: server.url(&remote),
        receive_pack: IN_NAMESPACE_T,
    };
    namespaced_and_symbolic_atoms_are_guarded(&env, &src, &remote, &plain, &in_t);
}

#[test]
fn the_server_hook_refuses_a_label_that_looks_like_a_published_one() {
    let env = TestEnv::new();
    let (src, remote) = with_server_hook(&env);
    // `Foo` beside the published `foo`: publish refuses it unless told it is intended; the
    // server refuses it whatever the client says.
    env.atom(&src, "pkgs/Foo", "Foo", "0.1.0");
    env.commit_all(&src, "Foo 0.1.0");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    let refused = env.git(&src, ["atom", "publish", "--allow-confusable"]);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("rejected: refs/atoms/Foo/0.1.0 pre-receive hook declined"),
        "{}",
        refused.stderr
    );
    assert_eq!(remote_ref(&env, &remote, "refs/atoms/Foo/0.1.0"), "");
    // The control: a label that looks like no other is accepted by the same hook.
    env.git_ok(&src, &["rm", "-q", "-r", "pkgs/Foo"]);
    env.atom(&src, "pkgs/bar", "bar", "0.1.0");
    env.commit_all(&src, "bar 0.1.0");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    assert_ne!(remote_ref(&env, &remote, "refs/atoms/bar/0.1.0"), "");
}
