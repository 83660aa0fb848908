//! CI's clones: `git clone --depth 1` and `git clone --filter=blob:none` of a remote served by
//! `git daemon` on loopback. Every `git atom` command works there: what it needs is fetched, or
//! it says what is missing and the one command that brings it.

use std::path::PathBuf;

use atom_tests::{GitDaemon, TestEnv};

/// A repository with three commits (a root, then atoms `a` and `b`) published to `srv/r.git`,
/// served by `git daemon`.
struct Served {
    env: TestEnv,
    daemon: GitDaemon,
    full: PathBuf,
}

fn atom(label: &str) -> String {
    format!("[atom]\nid = \"{label}\"\nversion = \"1.0.0\"\n")
}

impl Served {
    fn new() -> Self {
        let env = TestEnv::new();
        let bare = env.init_bare("srv/r.git");
        env.git_ok(&bare, &["config", "uploadpack.allowFilter", "true"]);
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        let full = env.init("full");
        env.git_ok(&full, &["remote", "add", "origin", bare.to_str().unwrap()]);
        env.write(&full, "README", "root\n");
        env.commit_all(&full, "root");
        for label in ["a", "b"] {
            env.write(&full, &format!("p/{label}/atom.toml"), &atom(label));
            env.write(
                &full,
                &format!("p/{label}/mod.nix"),
                &format!("{{ Name = \"{label}\"; }}\n"),
            );
            env.commit_all(&full, label);
        }
        env.git_ok(&full, &["push", "-q", "origin", "main"]);
        env.git(&full, ["atom", "publish"]).success();
        Served { env, daemon, full }
    }

    fn clone(&self, name: &str, how: &str) -> PathBuf {
        let url = self.daemon.url("r.git");
        self.env
            .git_ok(self.env.root(), &["clone", "-q", how, &url, name]);
        self.env.path(name)
    }
}

#[test]
fn a_depth_one_clone_lists_fetches_verifies_and_publishes() {
    let s = Served::new();
    let env = &s.env;
    let ids = env.git(&s.full, ["atom", "ls"]).success().stdout;
    let clone = s.clone("ci", "--depth=1");
    assert_eq!(
        env.git_ok(&clone, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    // No atom here yet: nothing needs the root, and the message says how to get them.
    let ls = env.git(&clone, ["atom", "ls"]).success();
    assert!(
        ls.stderr.contains("`git atom fetch origin` fetches them"),
        "{}",
        ls.stderr
    );
    env.git(&clone, ["atom", "fetch"]).success();
    // The remote's root came with the atoms: the ids are the publisher's.
    assert_eq!(env.git(&clone, ["atom", "ls"]).success().stdout, ids);

    // Verified without the history, and said so; with it fetched, the ancestry too.
    let verify = env.git(&clone, ["atom", "verify"]).success();
    assert_eq!(
        verify.stdout,
        "ok            a@1.0.0 (structure, source; not checked: ancestry)\n\
         ok            b@1.0.0 (structure, source; not checked: ancestry)\n"
    );
    let verify = env
        .git(
            &clone,
            ["atom", "verify", "--ancestry", "--remote", "origin"],
        )
        .success();
    assert_eq!(
        verify.stdout,
        "ok            a@1.0.0 (structure, source, ancestry)\n\
         ok            b@1.0.0 (structure, source, ancestry)\n"
    );
    // Still shallow: the history went into a quarantine, not into the clone.
    assert_eq!(
        env.git_ok(&clone, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    // A new atom published from the shallow clone, numbered from the remote's root.
    env.write(&clone, "p/c/atom.toml", &atom("c"));
    env.write(&clone, "p/c/mod.nix", "{ }\n");
    env.commit_all(&clone, "c");
    env.git_ok(&clone, &["push", "-q", "origin", "main"]);
    env.git(&clone, ["atom", "publish", "p/c"]).success();
    env.git_ok(&s.full, &["pull", "-q", "origin", "main"]);
    env.git(&s.full, ["atom", "fetch"]).success();
    let verify = env.git(&s.full, ["atom", "verify", "c"]).success();
    assert_eq!(
        verify.stdout,
        "ok            c@1.0.0 (structure, source, ancestry)\n"
    );
}

#[test]
fn a_shallow_clone_without_the_remote_root_says_what_to_run() {
    let s = Served::new();
    let env = &s.env;
    let clone = s.clone("ci", "--depth=1");
    env.write(&clone, "p/c/atom.toml", &atom("c"));
    env.write(&clone, "p/c/mod.nix", "{ }\n");
    env.commit_all(&clone, "c");
    // Publishing only here (no remote to ask for the root): one line, the fix named.
    let run = env
        .git(&clone, ["atom", "publish", "--local", "p/c"])
        .code(1);
    assert!(
        run.stderr.contains("(a shallow clone), so the repository's root is unknown: `git atom fetch` records the remote's root, or `git fetch --unshallow` brings the history"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.git_ok(&clone, &["for-each-ref", "refs/atoms/"]),
        "",
        "nothing half-written"
    );
}

#[test]
fn a_blobless_clone_fetches_and_verifies() {
    let s = Served::new();
    let env = &s.env;
    let ids = env.git(&s.full, ["atom", "ls"]).success().stdout;
    let clone = s.clone("partial", "--filter=blob:none");
    env.git(&clone, ["atom", "fetch"]).success();
    assert_eq!(env.git(&clone, ["atom", "ls"]).success().stdout, ids);
    let verify = env.git(&clone, ["atom", "verify"]).success();
    assert_eq!(
        verify.stdout,
        "ok            a@1.0.0 (structure, source, ancestry)\n\
         ok            b@1.0.0 (structure, source, ancestry)\n"
    );
}

/// A consumer's work in a CI clone (`how`): an atom depending on a published atom by URL and on
/// a sibling by path is added, resolved, shown, verified, evaluated and published.
fn a_consumer_works_in(how: &str) {
    atom_tests::require_program("nix-instantiate", "nix-bin");
    let s = Served::new();
    let env = &s.env;
    env.write(&env.path("nix-conf"), "nix.conf", "# the test's own\n");
    let clone = s.clone("ci", how);
    let url = s.daemon.url("r.git");
    env.git(&clone, ["atom", "fetch"]).success();
    env.write(&clone, "p/app/atom.toml", &atom("app"));
    env.write(
        &clone,
        "p/app/mod.nix",
        "{ Out = from.a.name + \"+\" + from.b.name; }\n",
    );
    let app = clone.join("p/app");
    env.git(&app, ["atom", "add", &format!("{url}::a@^1")])
        .success();
    env.git(&app, ["atom", "add", "--path", "../b"]).success();
    env.git(&app, ["atom", "resolve", "--locked"]).success();
    let shown = env.git(&app, ["atom", "show", "--json"]).success();
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let names: Vec<&str> = shown["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let remote = env
        .git(&app, ["atom", "show", &format!("{url}::b@^1")])
        .success();
    assert!(remote.stdout.contains("b"), "{}", remote.stdout);
    let verify = env.git(&app, ["atom", "verify", "--locked"]).success();
    assert!(
        verify.stdout.starts_with("ok            a@1.0.0")
            && verify.stdout.contains("\nok            b@1.0.0"),
        "{}",
        verify.stdout
    );
    let eval = env.eka_run(&app, &["eval", "--json", ".", "out"]).success();
    assert_eq!(eval.stdout.trim(), "\"a+b\"");

    env.commit_all(&clone, "app");
    env.git_ok(&clone, &["push", "-q", "origin", "main"]);
    env.git(&clone, ["atom", "publish", "p/app"]).success();
    let published = env.git_ok(
        &env.path("srv/r.git"),
        &["for-each-ref", "--format=%(refname)", "refs/atoms/app/"],
    );
    assert_eq!(published, "refs/atoms/app/1.0.0");
}

#[test]
fn a_consumer_works_in_a_depth_one_clone() {
    a_consumer_works_in("--depth=1");
}

#[test]
fn a_consumer_works_in_a_blobless_clone() {
    a_consumer_works_in("--filter=blob:none");
}
