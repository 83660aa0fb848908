//! `eka-run eval` with dependencies: the lock drives `from`, dependency atoms come from the
//! atom cache (fetched from the lock's URL when missing), and an atom URI is resolved and
//! fetched before it is evaluated; against repositories served by `git daemon` on loopback, with
//! the real `nix-instantiate` in eka-run's sandbox.

use std::path::PathBuf;

use atom_tests::{require_program, GitDaemon, Run, TestEnv};

/// Two repositories under `srv/` and a working tree:
/// - `leaf.git`: `leaf` 1.0.0 (`Word = "leaf"`, traced when it is computed);
/// - `lib.git`: `lib` 1.0.0, which needs `leaf` ^1 and says `lib+<leaf's word>`, with a data
///   file read through `"${mod}/greeting.txt"`; published with its lock;
/// - `app/app`: an atom needing `lib` ^1 and `leaf` ^1 (a diamond on `leaf`), not yet locked.
struct Graph {
    env: TestEnv,
    daemon: GitDaemon,
    lib: PathBuf,
    app: PathBuf,
}

const TRACE: &str = "trace: leaf composed";

fn manifest(label: &str, deps: &[(&str, &str)]) -> String {
    let mut text = format!("[atom]\nid = \"{label}\"\nversion = \"1.0.0\"\n");
    for (name, url) in deps {
        text.push_str(&format!(
            "\n[deps.{name}]\nurl = \"{url}\"\nversion = \"1\"\n"
        ));
    }
    text
}

impl Graph {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        // A Nix configuration of the test's own: nothing from the host's.
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            "# the test's own, empty\n",
        );
        let leaf = env.served_repo("leaf");
        env.write(&leaf, "leaf/atom.toml", &manifest("leaf", &[]));
        env.write(
            &leaf,
            "leaf/mod.nix",
            "{ Word = builtins.trace \"leaf composed\" \"leaf\"; }\n",
        );
        env.publish_pushed(&leaf);

        let lib = env.served_repo("lib");
        let leaf_url = daemon.url("leaf.git");
        env.write(
            &lib,
            "lib/atom.toml",
            &manifest("lib", &[("leaf", &leaf_url)]),
        );
        env.write(
            &lib,
            "lib/mod.nix",
            "{\n  Word = \"lib+\" + from.leaf.word;\n  Text = builtins.readFile \"${mod}/greeting.txt\";\n  Drv = builtins.derivation { name = \"lib-drv\"; system = config.system; builder = \"/bin/sh\"; };\n}\n",
        );
        env.write(&lib, "lib/greeting.txt", "hello from lib\n");
        env.git(&lib.join("lib"), ["atom", "resolve"]).success();
        env.publish_pushed(&lib);

        let app = env.init("app");
        let lib_url = daemon.url("lib.git");
        env.write(
            &app,
            "app/atom.toml",
            &manifest("app", &[("lib", &lib_url), ("leaf", &leaf_url)]),
        );
        env.write(
            &app,
            "app/mod.nix",
            "{\n  Lib = from.lib.word;\n  Leaf = from.leaf.word;\n  Text = from.lib.text;\n}\n",
        );
        env.commit_all(&app, "app");
        Graph {
            env,
            daemon,
            lib,
            app: app.join("app"),
        }
    }

    /// `eka-run args...` in the app's directory, with the test's Nix configuration.
    fn eka(&self, args: &[&str]) -> Run {
        self.env.eka_run(&self.app, args)
    }

    fn resolve(&self) {
        self.env.git(&self.app, ["atom", "resolve"]).success();
    }

    fn cache(&self) -> PathBuf {
        self.env.home().join(".cache/atom/atoms.git")
    }

    fn lock(&self) -> PathBuf {
        self.app.join("atom.lock")
    }
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// The one line eka-run printed on stderr for its own failure.
fn failure(run: Run) -> String {
    let run = run.code(125);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
    lines[0].to_owned()
}

#[test]
fn from_holds_the_locked_atoms_two_levels_deep_each_composed_once() {
    let g = Graph::new();
    g.resolve();
    let run = g.eka(&["eval", "--json", "."]).success();
    assert_eq!(
        json(&run),
        serde_json::json!({"leaf": "leaf", "lib": "lib+leaf", "text": "hello from lib\n"})
    );
    // `leaf` is required by the app and by `lib`: one version, composed once.
    assert_eq!(run.stderr.matches(TRACE).count(), 1, "{}", run.stderr);
    // An attribute path reaches into a dependency's value.
    let run = g.eka(&["eval", ".", "lib"]).success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    // The sandbox saw the exports, not the cache: the atom cache is under HOME, which it never
    // sees, and the dependencies still evaluated (the positive twin of the cache being hidden).
    let probe = g
        .eka(&[
            "sandbox",
            ".",
            "--",
            "/bin/sh",
            "-c",
            &format!(
                "test -e {} && echo seen || echo hidden",
                g.cache().display()
            ),
        ])
        .success();
    assert_eq!(probe.stdout, "hidden\n");
    assert!(
        g.cache().join("objects").is_dir(),
        "the cache exists on the host"
    );
}

#[test]
fn a_missing_lock_and_a_stale_lock_say_to_run_git_atom_resolve() {
    let g = Graph::new();
    let line = failure(g.eka(&["eval", "--json", "."]));
    let lock = g.lock();
    assert_eq!(
        line,
        format!(
            "eka-run: `{}` does not exist, and the atom declares dependencies: run `git atom resolve` in {}",
            lock.display(),
            g.app.display()
        )
    );
    g.resolve();
    g.eka(&["eval", "--json", "."]).success();
    // The manifest moves on: `lib` now wants ^2, which the lock does not have.
    let text = std::fs::read_to_string(g.app.join("atom.toml")).unwrap();
    let bumped = text.replacen("version = \"1\"", "version = \"2\"", 1);
    assert_ne!(bumped, text);
    std::fs::write(g.app.join("atom.toml"), bumped).unwrap();
    let line = failure(g.eka(&["eval", "--json", "."]));
    assert!(
        line.starts_with(&format!(
            "eka-run: `{}` is not current: `deps.",
            lock.display()
        )),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(": run `git atom resolve` in {}", g.app.display())),
        "{line}"
    );
    // And the same for plan and build, before anything is evaluated.
    for sub in ["plan", "build"] {
        let other = failure(g.eka(&[sub, "."]));
        assert_eq!(other, line, "{sub}");
    }
}

#[test]
fn a_one_byte_change_to_the_lock_is_a_cache_miss() {
    let g = Graph::new();
    g.resolve();
    let first = g.eka(&["eval", "-v", "--json", ".", "lib"]).success();
    assert!(
        first.stderr.contains("evaluation cache miss"),
        "{}",
        first.stderr
    );
    let again = g.eka(&["eval", "-v", "--json", ".", "lib"]).success();
    assert!(
        again.stderr.contains("evaluation cache hit"),
        "{}",
        again.stderr
    );
    assert_eq!(again.stdout, first.stdout);
    // One byte of the lock's header comment: still a current lock, another identity.
    let text = std::fs::read_to_string(g.lock()).unwrap();
    let edited = text.replacen("by hand", "by hanD", 1);
    assert_eq!(edited.len(), text.len());
    assert_ne!(edited, text);
    std::fs::write(g.lock(), edited).unwrap();
    let changed = g.eka(&["eval", "-v", "--json", ".", "lib"]).success();
    assert!(
        changed.stderr.contains("evaluation cache miss"),
        "{}",
        changed.stderr
    );
    assert_eq!(changed.stdout, first.stdout);
}

#[test]
fn a_dependency_missing_from_the_cache_is_fetched_from_the_locks_url() {
    let g = Graph::new();
    g.resolve();
    std::fs::remove_dir_all(g.cache()).unwrap();
    let run = g.eka(&["eval", "--json", ".", "lib"]).success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    // Only the atoms came: not the source history they were published from.
    let source = g.env.git_ok(&g.lib, &["rev-parse", "HEAD"]);
    let cache = g.cache();
    let has = |oid: &str| g.env.git(&cache, ["cat-file", "-e", oid]).code == 0;
    let lib_atom = g.env.git_ok(&g.lib, &["rev-parse", "refs/atoms/lib/1.0.0"]);
    assert!(has(&lib_atom), "the atom commit is in the cache");
    assert!(!has(&source), "the source commit is not");
}

#[test]
fn an_atom_uri_is_resolved_fetched_and_evaluated_with_its_lock() {
    let g = Graph::new();
    // An alias from git config, as `git clone atom::` expands it.
    g.env.git_ok(
        g.env.root(),
        &[
            "config",
            "--global",
            "atom.alias.srv",
            &format!("git://127.0.0.1:{}", g.daemon.port),
        ],
    );
    let run = g
        .eka(&["eval", "--json", "srv:lib.git::lib@^1", "word"])
        .success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    let run = g
        .eka(&["eval", "--json", "srv:lib.git::lib", "text"])
        .success();
    assert_eq!(run.stdout, "\"hello from lib\\n\"\n");
    // The identity's atom part is the atom commit; its lock part the published lock's digest.
    let url = format!("{}::lib", g.daemon.url("lib.git"));
    let plan = json(&g.eka(&["plan", "--json", &url, "drv"]).success());
    let commit = g.env.git_ok(&g.lib, &["rev-parse", "refs/atoms/lib/1.0.0"]);
    assert_eq!(plan["atom"], commit.as_str());
    let lock = plan["lock"].as_str().unwrap();
    assert!(lock.len() == 64 && lock != "0".repeat(64), "{lock}");
    assert!(
        plan["drvPath"].as_str().unwrap().ends_with("-lib-drv.drv"),
        "{plan}"
    );
    let source = g.env.git_ok(&g.lib, &["rev-parse", "HEAD"]);
    let has = |oid: &str| g.env.git(&g.cache(), ["cat-file", "-e", oid]).code == 0;
    assert!(has(&commit), "the atom commit was fetched into the cache");
    assert!(!has(&source), "its source history was not");
    // A requirement nothing matches names what there is.
    let line = failure(g.eka(&["eval", "srv:lib.git::lib@^2"]));
    assert_eq!(
        line,
        format!(
            "eka-run: no version of `lib` at {} matches `^2` (available: 1.0.0)",
            g.daemon.url("lib.git")
        )
    );
}

#[test]
fn each_locked_tree_is_exported_once_and_reused() {
    use std::os::unix::fs::MetadataExt as _;
    let g = Graph::new();
    g.resolve();
    let trees = g.env.home().join(".cache/atom/exports");
    let listing = || -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = std::fs::read_dir(&trees)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let ino = std::fs::metadata(e.path().join("atom.toml")).map_or(0, |m| m.ino());
                (e.file_name().to_string_lossy().into_owned(), ino)
            })
            .collect();
        out.sort();
        out
    };
    let run = g.eka(&["eval", "--no-cache", ".", "lib"]).success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    // `lib` and `leaf`: one export each, named by its tree id, nothing half-written beside them.
    let first = listing();
    assert_eq!(first.len(), 2, "{first:?}");
    for (name, ino) in &first {
        assert!(
            name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        assert_ne!(*ino, 0, "{name} holds the atom's files");
    }
    let lock = std::fs::read_to_string(g.lock()).unwrap();
    for (name, _) in &first {
        assert!(lock.contains(name.as_str()), "{name} is a locked tree");
    }
    // A second evaluation reads the same exports: not one file rewritten.
    let run = g.eka(&["eval", "--no-cache", ".", "lib"]).success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    assert_eq!(listing(), first);
    // Deleted, they are exported again.
    std::fs::remove_dir_all(&trees).unwrap();
    let run = g.eka(&["eval", "--no-cache", ".", "lib"]).success();
    assert_eq!(run.stdout, "\"lib+leaf\"\n");
    assert_eq!(
        listing().iter().map(|(n, _)| n).collect::<Vec<_>>(),
        first.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
}
