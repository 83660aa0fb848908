//! Dependencies: `git atom add | remove | resolve | show`, the lock, and resolution over mirrors,
//! against real repositories served by `git daemon` and smart HTTP on loopback.

use std::path::PathBuf;

use atom_tests::{GitDaemon, HttpServer, TestEnv};

/// Three repositories under `srv/` served by one `git daemon`:
/// - `core.git`: `base` 1.0.0, 1.1.0, 1.2.0 and 2.0.0, and `util` 0.1.0;
/// - `mid.git`: `mid` 1.0.0 (needs `base` ^1.0) and `mid2` 1.0.0 (needs `base` ^1.1), each
///   published with its lock;
/// - `app`: a working tree whose atom `app` depends on `mid`, `mid2` and `base` ^2.
struct Graph {
    env: TestEnv,
    daemon: GitDaemon,
    core: PathBuf,
    mid: PathBuf,
    app: PathBuf,
}

fn manifest(label: &str, version: &str, deps: &[(&str, &str, &str)]) -> String {
    let mut text = format!("[atom]\nid = \"{label}\"\nversion = \"{version}\"\n");
    for (name, url, req) in deps {
        text.push_str(&format!(
            "\n[deps.{name}]\nurl = \"{url}\"\nversion = \"{req}\"\n"
        ));
    }
    text
}

impl Graph {
    fn new() -> Self {
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        let core = env.init("core");
        env.git_ok(
            &core,
            &[
                "remote",
                "add",
                "origin",
                env.path("srv/core.git").to_str().unwrap(),
            ],
        );
        env.init_bare("srv/core.git");
        env.write(&core, "README", "core\n");
        env.commit_all(&core, "root");
        env.git_ok(&core, &["push", "-q", "origin", "main"]);
        let graph = Graph {
            core,
            mid: env.init("mid"),
            app: env.init("app"),
            env,
            daemon,
        };
        for v in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"] {
            graph.publish_core("base", v);
        }
        graph.publish_core("util", "0.1.0");

        let (env, mid) = (&graph.env, &graph.mid);
        env.init_bare("srv/mid.git");
        env.git_ok(
            mid,
            &[
                "remote",
                "add",
                "origin",
                env.path("srv/mid.git").to_str().unwrap(),
            ],
        );
        let core_url = graph.url("core.git");
        env.write(
            mid,
            "mid/atom.toml",
            &manifest("mid", "1.0.0", &[("base", &core_url, "1.0")]),
        );
        env.write(
            mid,
            "mid2/atom.toml",
            &manifest("mid2", "1.0.0", &[("base", &core_url, "1.1")]),
        );
        for dir in ["mid", "mid2"] {
            env.git(&mid.join(dir), ["atom", "resolve"]).success();
        }
        env.commit_all(mid, "mid atoms");
        env.git_ok(mid, &["push", "-q", "origin", "main"]);
        env.git(mid, ["atom", "publish"]).success();

        let mid_url = graph.url("mid.git");
        env.write(
            &graph.app,
            "app/atom.toml",
            &manifest(
                "app",
                "0.1.0",
                &[
                    ("mid", &mid_url, "1"),
                    ("mid2", &mid_url, "1"),
                    ("base", &core_url, "2"),
                ],
            ),
        );
        env.commit_all(&graph.app, "app");
        graph
    }

    fn url(&self, repo: &str) -> String {
        self.daemon.url(repo)
    }

    /// Publishes `label` at `version` from the core repository.
    fn publish_core(&self, label: &str, version: &str) {
        let env = &self.env;
        env.atom(&self.core, label, label, version);
        env.commit_all(&self.core, &format!("{label} {version}"));
        env.git_ok(&self.core, &["push", "-q", "origin", "main"]);
        env.git(&self.core, ["atom", "publish", label]).success();
    }

    fn app_dir(&self) -> PathBuf {
        self.app.join("app")
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.app_dir().join("atom.lock")).unwrap()
    }

    fn resolve(&self, args: &[&str]) -> atom_tests::Run {
        let mut all = vec!["atom", "resolve"];
        all.extend_from_slice(args);
        self.env.git(&self.app_dir(), all)
    }
}

/// `(label, version)` of every atom entry of a lock, sorted.
fn locked(lock: &str) -> Vec<(String, String)> {
    let parsed = atom_lib::Lock::parse(lock.as_bytes(), "atom.lock").unwrap();
    let mut out: Vec<(String, String)> = parsed
        .atoms
        .iter()
        .map(|a| (a.label.to_string(), a.version.to_string()))
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, v)| ((*l).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn resolves_a_three_level_graph_with_a_diamond_and_two_majors() {
    let g = Graph::new();
    let before = g.daemon.upload_packs().len();
    let run = g.resolve(&[]).success();
    assert!(run.stderr.contains("locked base 1.2.0"), "{}", run.stderr);
    // One connection per repository carries its listing and every fetch from it (a protocol
    // v2 session), though `mid.git` gives two atoms and `core.git` two versions of `base`.
    let mut connections = g.daemon.upload_packs().split_off(before);
    connections.sort();
    assert_eq!(connections, ["core.git", "mid.git"]);
    let lock = g.lock();
    // The diamond (mid ^1.0 and mid2 ^1.1 on base) unifies to one 1.x; the app's own ^2 is a
    // second major that coexists.
    assert_eq!(
        locked(&lock),
        pairs(&[
            ("base", "1.2.0"),
            ("base", "2.0.0"),
            ("mid", "1.0.0"),
            ("mid2", "1.0.0")
        ])
    );
    let parsed = atom_lib::Lock::parse(lock.as_bytes(), "atom.lock").unwrap();
    assert!(parsed.validate().is_empty(), "{:?}", parsed.validate());
    let base1 = parsed
        .atoms
        .iter()
        .find(|a| a.label.as_str() == "base" && a.version.to_string() == "1.2.0")
        .unwrap();
    for owner in ["mid", "mid2"] {
        let atom = parsed
            .atoms
            .iter()
            .find(|a| a.label.as_str() == owner)
            .unwrap();
        assert_eq!(atom.requires.values().next(), Some(&base1.key()), "{owner}");
    }
    // The locked commit is the one published, and the tree is its tree.
    let published = g
        .env
        .git_ok(&g.core, &["rev-parse", "refs/atoms/base/1.2.0"]);
    assert_eq!(base1.commit.to_string(), published);
    let tree = g
        .env
        .git_ok(&g.core, &["rev-parse", "refs/atoms/base/1.2.0^{tree}"]);
    assert_eq!(base1.tree.to_string(), tree);
    // A second resolution changes nothing, byte for byte.
    let again = g.resolve(&[]).success();
    assert!(
        again.stderr.contains("atom.lock is up to date"),
        "{}",
        again.stderr
    );
    assert_eq!(g.lock(), lock);
    // The lock is current for CI.
    g.resolve(&["--locked"]).success();
    g.resolve(&["--offline"]).success();
}

#[test]
fn locked_fails_on_drift_and_writes_nothing() {
    let g = Graph::new();
    g.resolve(&[]).success();
    let lock = g.lock();
    let path = g.app_dir().join("atom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("version = \"2\"", "version = \"1.1\"")).unwrap();
    let run = g.resolve(&["--locked"]).code(1);
    assert!(
        run.stderr.contains(
            "error: atom.lock is not current: `deps.base` requires `^1.1`, the lock has 2.0.0"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(g.lock(), lock);
    // Resolving moves only what must move: base ^1.1 is now satisfied by the 1.2.0 the
    // diamond already uses, and 2.0.0 goes.
    let run = g.resolve(&[]).success();
    assert!(run.stderr.contains("removed base 2.0.0"), "{}", run.stderr);
    assert_eq!(
        locked(&g.lock()),
        pairs(&[("base", "1.2.0"), ("mid", "1.0.0"), ("mid2", "1.0.0")])
    );
}

#[test]
fn update_moves_only_the_named_dependency() {
    let g = Graph::new();
    g.resolve(&[]).success();
    g.publish_core("base", "1.3.0");
    g.publish_core("base", "2.1.0");
    // Nothing moves without --update: the locked versions still match.
    g.resolve(&[]).success();
    assert_eq!(
        locked(&g.lock()),
        pairs(&[
            ("base", "1.2.0"),
            ("base", "2.0.0"),
            ("mid", "1.0.0"),
            ("mid2", "1.0.0")
        ])
    );
    // --update base moves the app's own base (^2) only; mid's base stays.
    let run = g.resolve(&["--update", "base"]).success();
    assert!(
        run.stderr.contains("updated base 2.0.0 -> 2.1.0"),
        "{}",
        run.stderr
    );
    assert_eq!(
        locked(&g.lock()),
        pairs(&[
            ("base", "1.2.0"),
            ("base", "2.1.0"),
            ("mid", "1.0.0"),
            ("mid2", "1.0.0")
        ])
    );
    // --update moves everything.
    g.resolve(&["--update"]).success();
    assert_eq!(
        locked(&g.lock()),
        pairs(&[
            ("base", "1.3.0"),
            ("base", "2.1.0"),
            ("mid", "1.0.0"),
            ("mid2", "1.0.0")
        ])
    );
    let bad = g.resolve(&["--update", "nope"]).code(1);
    assert!(
        bad.stderr.contains("`nope` is not a dependency"),
        "{}",
        bad.stderr
    );
}

#[test]
fn an_unsatisfiable_graph_names_each_requirement() {
    let g = Graph::new();
    let path = g.app_dir().join("atom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // base =1.0.0 beside mid2's ^1.1: the same major, no common version.
    std::fs::write(
        &path,
        text.replace("version = \"2\"", "version = \"=1.0.0\""),
    )
    .unwrap();
    let run = g.resolve(&[]).code(1);
    assert!(
        run.stderr
            .contains("error: no version of `base` satisfies every requirement on it:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("app@0.1.0 -> deps.mid2 -> mid2@1.0.0 -> deps.base requires `^1.1`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("app@0.1.0 -> deps.base requires `=1.0.0`"),
        "{}",
        run.stderr
    );
    assert!(!g.app_dir().join("atom.lock").exists());
}

/// Adds `mirrors = [...]` to the app's `deps.base`.
fn with_mirrors(g: &Graph, mirrors: &[String]) {
    let path = g.app_dir().join("atom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let list: Vec<String> = mirrors.iter().map(|m| format!("\"{m}\"")).collect();
    let core = g.url("core.git");
    std::fs::write(
        &path,
        text.replace(
            &format!("url = \"{core}\"\nversion = \"2\"\n"),
            &format!(
                "url = \"{core}\"\nversion = \"2\"\nmirrors = [{}]\n",
                list.join(", ")
            ),
        ),
    )
    .unwrap();
}

#[test]
fn a_dead_mirror_is_a_warning_and_smart_http_serves_as_well() {
    let g = Graph::new();
    let http = HttpServer::start(&g.env, &g.env.path("srv"));
    let dead = format!("git://127.0.0.1:{}/core.git", atom_tests::free_port());
    with_mirrors(&g, &[dead.clone(), http.url("core.git")]);
    let run = g.resolve(&[]).success();
    assert!(
        run.stderr
            .contains(&format!("warning: mirror {dead} did not answer")),
        "{}",
        run.stderr
    );
    assert!(locked(&g.lock()).contains(&("base".to_owned(), "2.0.0".to_owned())));
    // Only a dead address: resolution fails naming it.
    std::fs::write(
        g.app_dir().join("atom.toml"),
        manifest("app", "0.1.0", &[("base", &dead, "2")]),
    )
    .unwrap();
    std::fs::remove_file(g.app_dir().join("atom.lock")).unwrap();
    let run = g.resolve(&[]).code(1);
    assert!(
        run.stderr
            .contains(&format!("no address of {dead} answered")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_mirror_that_disagrees_is_tampering() {
    let g = Graph::new();
    let env = &g.env;
    // A mirror with the same history whose base@2.0.0 was published from another commit.
    let evil_src = env.path("evil-src");
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            g.core.to_str().unwrap(),
            evil_src.to_str().unwrap(),
        ],
    );
    env.init_bare("srv/evil.git");
    env.git_ok(
        &evil_src,
        &[
            "remote",
            "set-url",
            "origin",
            env.path("srv/evil.git").to_str().unwrap(),
        ],
    );
    env.write(&evil_src, "README", "changed elsewhere\n");
    env.commit_all(&evil_src, "another source commit");
    env.git_ok(&evil_src, &["push", "-q", "origin", "main"]);
    env.git(&evil_src, ["atom", "publish"]).success();
    let evil = g.url("evil.git");
    with_mirrors(&g, std::slice::from_ref(&evil));
    let run = g.resolve(&[]).code(1);
    let core = g.url("core.git");
    assert!(
        run.stderr
            .contains(&format!("{core} and {evil} disagree on base@2.0.0")),
        "{}",
        run.stderr
    );
    assert!(!g.app_dir().join("atom.lock").exists());
}

#[test]
fn add_remove_and_show() {
    let g = Graph::new();
    let env = &g.env;
    let app = g.app_dir();
    env.git(&app, ["atom", "resolve"]).success();
    // An alias expands, and the manifest records the full URL and `^<highest>`.
    let config = env.home().join(".gitconfig");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[atom \"alias\"]\n\tsrv = git://127.0.0.1:{}\n",
        g.daemon.port
    ));
    std::fs::write(&config, text).unwrap();
    std::fs::write(
        app.join("atom.toml"),
        std::fs::read_to_string(app.join("atom.toml")).unwrap() + "\n# keep this comment\n",
    )
    .unwrap();
    let run = env
        .git(&app, ["atom", "add", "srv:core.git::util"])
        .success();
    assert!(
        run.stderr.contains("added deps.util (util@^0.1.0)"),
        "{}",
        run.stderr
    );
    let manifest = std::fs::read_to_string(app.join("atom.toml")).unwrap();
    assert!(manifest.contains("# keep this comment"), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "[deps.util]\nurl = \"{}\"\nversion = \"^0.1.0\"\n",
            g.url("core.git")
        )),
        "{manifest}"
    );
    assert!(locked(&g.lock()).contains(&("util".to_owned(), "0.1.0".to_owned())));
    env.git(&app, ["atom", "resolve", "--locked"]).success();
    // Adding the name again is refused, and nothing is written; --replace replaces it.
    let (manifest_before, lock_before) = (manifest.clone(), g.lock());
    let run = env
        .git(&app, ["atom", "add", "srv:core.git::util@0.1"])
        .code(1);
    assert_eq!(
        run.stderr.trim_end(),
        "error: `deps.util` is already declared in atom.toml: pass --replace to replace it, or --name to add it under another name"
    );
    assert_eq!(
        std::fs::read_to_string(app.join("atom.toml")).unwrap(),
        manifest_before
    );
    assert_eq!(g.lock(), lock_before);
    env.git(
        &app,
        ["atom", "add", "--replace", "srv:core.git::util@^0.1.0"],
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(app.join("atom.toml")).unwrap(),
        manifest_before
    );

    // show, locally and as JSON.
    let shown = env.git(&app, ["atom", "show", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(v["label"], "app");
    assert_eq!(v["lock"], "current");
    let util = v["deps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "util")
        .unwrap();
    assert_eq!(util["requirement"], "^0.1.0");
    assert_eq!(util["locked"], "0.1.0");

    // remove needs no network and drops what only it reached.
    let run = env.git(&app, ["atom", "remove", "util"]).success();
    assert!(run.stderr.contains("removed util 0.1.0"), "{}", run.stderr);
    assert!(!std::fs::read_to_string(app.join("atom.toml"))
        .unwrap()
        .contains("deps.util"));
    assert!(!locked(&g.lock()).contains(&("util".to_owned(), "0.1.0".to_owned())));
    env.git(&app, ["atom", "resolve", "--locked"]).success();
    let missing = env.git(&app, ["atom", "remove", "util"]).code(1);
    assert!(
        missing.stderr.contains("`util` is not a dependency"),
        "{}",
        missing.stderr
    );

    // A remote atom, from its URI: its manifest and lock, no local repository needed.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let remote = env
        .git(&outside, ["atom", "show", "srv:mid.git::mid2"])
        .success();
    assert!(
        remote.stdout.starts_with("mid2 1.0.0\n"),
        "{}",
        remote.stdout
    );
    assert!(remote.stdout.contains("base  atom"), "{}", remote.stdout);
    assert!(remote.stdout.contains("^1.1"), "{}", remote.stdout);
}

#[test]
fn publish_refuses_an_atom_whose_lock_is_missing_or_stale() {
    let g = Graph::new();
    let env = &g.env;
    env.init_bare("srv/app.git");
    env.git_ok(
        &g.app,
        &[
            "remote",
            "add",
            "origin",
            env.path("srv/app.git").to_str().unwrap(),
        ],
    );
    let run = env.git(&g.app, ["atom", "publish", "--local"]).code(1);
    assert!(
        run.stderr
            .contains("error: `app` has dependencies but no `atom.lock` (run `git atom resolve` in it and commit the lock)"),
        "{}",
        run.stderr
    );
    env.git(&g.app_dir(), ["atom", "resolve"]).success();
    env.commit_all(&g.app, "lock");
    env.git(&g.app, ["atom", "publish", "--local"]).success();
    // The manifest moves on, the lock does not.
    let path = g.app_dir().join("atom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("version = \"0.1.0\"", "version = \"0.2.0\"")
            .replace("version = \"2\"", "version = \"1.2\""),
    )
    .unwrap();
    env.commit_all(&g.app, "drift");
    let run = env.git(&g.app, ["atom", "publish", "--local"]).code(1);
    assert!(
        run.stderr.contains("error: `app/atom.lock` is not current: `deps.base` requires `^1.2`, the lock has 2.0.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn path_dependencies_lock_the_tree_and_publish_checks_it() {
    let g = Graph::new();
    let env = &g.env;
    // `lib` beside `app` in the same repository, itself depending on base ^1.
    let core = g.url("core.git");
    env.write(
        &g.app,
        "lib/atom.toml",
        &manifest("lib", "0.3.0", &[("base", &core, "1")]),
    );
    env.write(
        &g.app,
        "app/atom.toml",
        &(manifest("app", "0.1.0", &[]) + "\n[deps.lib]\npath = \"../lib\"\n"),
    );
    env.commit_all(&g.app, "lib");
    // Both locks are made before committing: a path dependency is locked as its working tree
    // has it (lib's new lock included), which is what the next commit holds.
    env.git(&g.app.join("lib"), ["atom", "resolve"]).success();
    env.git(&g.app_dir(), ["atom", "resolve"]).success();
    env.commit_all(&g.app, "locks");
    let lock = atom_lib::Lock::parse(g.lock().as_bytes(), "atom.lock").unwrap();
    let lib = lock
        .atoms
        .iter()
        .find(|a| a.label.as_str() == "lib")
        .unwrap();
    assert_eq!(
        lib.origin,
        atom_lib::lock::Origin::Path { path: "lib".into() }
    );
    assert_eq!(
        lib.tree.to_string(),
        env.git_ok(&g.app, &["rev-parse", "HEAD:lib"])
    );
    assert_eq!(
        locked(&g.lock()),
        pairs(&[("base", "1.2.0"), ("lib", "0.3.0")])
    );
    env.git(&g.app, ["atom", "publish", "--local"]).success();

    // lib changes after the app's lock was made: publishing the app is refused until it is
    // resolved again.
    env.write(&g.app, "lib/mod.nix", "{ Changed = true; }\n");
    env.write(
        &g.app,
        "lib/atom.toml",
        &manifest("lib", "0.3.1", &[("base", &core, "1")]),
    );
    env.write(
        &g.app,
        "app/atom.toml",
        &(manifest("app", "0.1.1", &[]) + "\n[deps.lib]\npath = \"../lib\"\n"),
    );
    env.commit_all(&g.app, "change lib");
    let run = env.git(&g.app, ["atom", "publish", "--local"]).code(1);
    assert!(
        run.stderr.contains("`lib` (path `lib`) is locked at tree "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    env.git(&g.app_dir(), ["atom", "resolve"]).success();
    env.commit_all(&g.app, "relock");
    env.git(&g.app, ["atom", "publish", "--local"]).success();
    assert_eq!(
        locked(&g.lock()),
        pairs(&[("base", "1.2.0"), ("lib", "0.3.1")])
    );
}

#[test]
fn show_of_a_remote_atom_moves_only_the_manifest() {
    let env = TestEnv::new();
    let remote = env.init_bare("remote.git");
    env.git_ok(&remote, &["config", "uploadpack.allowFilter", "true"]);
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.atom(&src, "big", "big", "1.0.0");
    // 256 KiB that do not compress, which show must not download.
    let noise: Vec<u8> = (0u32..65536)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    std::fs::write(src.join("big/noise.bin"), &noise).unwrap();
    env.commit_all(&src, "big");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    let url = format!("file://{}::big", remote.display());
    let received = |args: &[&str], name: &str| {
        let trace = env.path(name);
        let run = env
            .command(env.root(), "git")
            .args(args)
            .env("GIT_TRACE_PACKFILE", &trace)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            std::fs::metadata(&trace).map(|m| m.len()).unwrap_or(0),
        )
    };
    let (shown, bytes) = received(&["atom", "show", &url], "show.pack");
    assert!(shown.starts_with("big 1.0.0\n"), "{shown}");
    assert!(
        bytes > 0 && bytes < 4096,
        "show received {bytes} bytes of packs"
    );
    // The positive twin: cloning the atom moves the noise too.
    let (_, cloned) = received(&["clone", "-q", &format!("atom::{url}"), "c"], "clone.pack");
    assert!(cloned > 256 * 1024, "clone received {cloned} bytes");
    // Nothing of it stays behind in the cache.
    let cache = env.home().join(".cache/atom/atoms.git");
    let left = env.git_ok(&cache, &["count-objects", "-v"]);
    assert!(
        left.contains("count: 0\n") && left.contains("in-pack: 0"),
        "{left}"
    );
}

#[test]
fn many_fetches_in_one_resolution() {
    // Each fetch admits a pack into the cache; a resolution that fetches from more repositories
    // than the object store had room for when it was opened must still work.
    let env = TestEnv::new();
    let remote = env.init_bare("srv/many.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    const N: usize = 40;
    for i in 0..N {
        env.atom(&src, &format!("a{i}"), &format!("a{i}"), "1.0.0");
    }
    env.commit_all(&src, "many atoms");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    // One address per atom (links to the same repository), so each is listed and fetched on
    // its own.
    let mut text = manifest("app", "0.1.0", &[]);
    for i in 0..N {
        let link = env.path(&format!("srv/link{i}.git"));
        std::os::unix::fs::symlink(&remote, &link).unwrap();
        text.push_str(&format!(
            "\n[deps.a{i}]\nurl = \"file://{}\"\nversion = \"1\"\n",
            link.display()
        ));
    }
    let app = env.init("app");
    env.write(&app, "app/atom.toml", &text);
    env.git(&app.join("app"), ["atom", "resolve"]).success();
    let lock = std::fs::read_to_string(app.join("app/atom.lock")).unwrap();
    assert_eq!(locked(&lock).len(), N);
}

#[test]
fn offline_resolves_from_the_index_and_names_what_it_lacks() {
    let g = Graph::new();
    g.resolve(&[]).success();
    let lock = g.lock();
    // The index records what the online resolution fetched (base 1.2.0 and 2.0.0, mid, mid2);
    // then the server has nothing to serve any more.
    std::fs::rename(g.env.path("srv"), g.env.path("srv-gone")).unwrap();
    let down = g.resolve(&[]).code(1);
    assert!(down.stderr.contains("no address of"), "{}", down.stderr);
    // A changed requirement the index satisfies: base ^1.1 is the 1.2.0 the diamond uses.
    let path = g.app_dir().join("atom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("version = \"2\"", "version = \"1.1\"")).unwrap();
    let run = g.resolve(&["--offline"]).success();
    assert!(run.stderr.contains("removed base 2.0.0"), "{}", run.stderr);
    assert_ne!(g.lock(), lock);
    assert_eq!(
        locked(&g.lock()),
        pairs(&[("base", "1.2.0"), ("mid", "1.0.0"), ("mid2", "1.0.0")])
    );
    g.resolve(&["--locked"]).success();
    // Back to ^2: 2.0.0 is still in the index, and the lock is the online one, byte for byte.
    std::fs::write(&path, &text).unwrap();
    g.resolve(&["--offline"]).success();
    assert_eq!(g.lock(), lock);
    // A requirement the index cannot satisfy (1.1.0 exists on the server, but was never
    // fetched): one line naming the dependency, and nothing written.
    std::fs::write(
        &path,
        text.replace("version = \"2\"", "version = \"=1.1.0\""),
    )
    .unwrap();
    let run = g.resolve(&["--offline"]).code(1);
    let core = g.url("core.git");
    assert_eq!(
        run.stderr,
        format!(
            "error: no version of `base` from {core} matching `=1.1.0` is cached \
             (needed by app@0.1.0 -> deps.base; cached: 1.2.0, 2.0.0): run without --offline\n"
        )
    );
    assert_eq!(g.lock(), lock);
    // An atom the index never saw.
    std::fs::write(
        &path,
        text + &format!("\n[deps.util]\nurl = \"{core}\"\nversion = \"0.1\"\n"),
    )
    .unwrap();
    let run = g.resolve(&["--offline"]).code(1);
    assert!(
        run.stderr.contains(
            "error: no version of `util` from {core} matching `^0.1` is cached (needed by app@0.1.0 -> deps.util; cached: none): run without --offline"
                .replace("{core}", &core)
                .as_str()
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn add_path_adds_another_atom_of_the_repository() {
    let g = Graph::new();
    let env = &g.env;
    let core = g.url("core.git");
    env.write(
        &g.app,
        "libs/lib/atom.toml",
        &manifest("lib", "0.3.0", &[("base", &core, "1")]),
    );
    env.write(&g.app, "libs/plain/README", "not an atom\n");
    env.commit_all(&g.app, "lib");
    env.git(&g.app.join("libs/lib"), ["atom", "resolve"])
        .success();
    let app = g.app_dir();
    let manifest_path = app.join("atom.toml");
    std::fs::write(
        &manifest_path,
        std::fs::read_to_string(&manifest_path).unwrap() + "\n# keep this comment\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(&manifest_path).unwrap();
    // Refused: outside the repository, not an atom, the atom itself, a missing directory.
    let outside = env.path("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("atom.toml"), manifest("x", "1.0.0", &[])).unwrap();
    for (dir, message) in [
        (
            outside.to_str().unwrap(),
            "is outside the repository".to_owned(),
        ),
        (
            "../libs/plain",
            "error: `../libs/plain` is not an atom: it has no atom.toml".to_owned(),
        ),
        (
            ".",
            "error: `.` is the atom being edited: an atom cannot depend on itself".to_owned(),
        ),
        ("../nope", "error: `../nope` does not exist".to_owned()),
    ] {
        let run = env.git(&app, ["atom", "add", "--path", dir]).code(1);
        assert!(run.stderr.contains(&message), "{dir}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{dir}: {}", run.stderr);
        assert_eq!(std::fs::read_to_string(&manifest_path).unwrap(), before);
        assert!(!app.join("atom.lock").exists());
    }
    // A URI and --path together are a usage error.
    env.git(&app, ["atom", "add", "--path", "../libs/lib", "x::y"])
        .code(2);
    // The name comes from the label; the path is written relative to the atom's directory,
    // the rest of the manifest as it was, and the lock holds lib and what it brings.
    let run = env
        .git(&app, ["atom", "add", "--path", "../libs/lib"])
        .success();
    assert!(
        run.stderr.contains("added deps.lib (path ../libs/lib)"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let original = before.trim_end_matches("\n# keep this comment\n");
    assert!(text.starts_with(original), "{text}");
    assert!(text.contains("# keep this comment\n"), "{text}");
    assert!(
        text.contains("\n[deps.lib]\npath = \"../libs/lib\"\n"),
        "{text}"
    );
    let lock = atom_lib::Lock::parse(g.lock().as_bytes(), "atom.lock").unwrap();
    let lib = lock
        .atoms
        .iter()
        .find(|a| a.label.as_str() == "lib")
        .unwrap();
    assert_eq!(
        lib.origin,
        atom_lib::lock::Origin::Path {
            path: "libs/lib".into()
        }
    );
    assert!(locked(&g.lock()).contains(&("lib".to_owned(), "0.3.0".to_owned())));
    env.git(&app, ["atom", "resolve", "--locked"]).success();
    // --name, from another directory with --atom. The rest of the lock is current and the
    // index holds it: no remote is contacted.
    let connections = g.daemon.upload_packs().len();
    let run = env
        .git(
            &g.app.join("libs"),
            [
                "atom", "add", "--atom", "../app", "--path", "lib", "--name", "mylib",
            ],
        )
        .success();
    assert!(
        run.stderr.contains("added deps.mylib (path ../libs/lib)"),
        "{}",
        run.stderr
    );
    assert_eq!(g.daemon.upload_packs().len(), connections);
    env.git(&app, ["atom", "resolve", "--locked"]).success();
}

#[test]
fn resolution_fetches_only_the_manifest_and_lock_of_a_dependency() {
    let env = TestEnv::new();
    let remote = env.init_bare("srv/big.git");
    env.git_ok(&remote, &["config", "uploadpack.allowFilter", "true"]);
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.atom(&src, "big", "big", "1.0.0");
    // 256 KiB that do not compress, in the atom's root and in a subdirectory.
    let noise: Vec<u8> = (0u32..65536)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    std::fs::write(src.join("big/noise.bin"), &noise).unwrap();
    std::fs::create_dir_all(src.join("big/data")).unwrap();
    std::fs::write(
        src.join("big/data/more.bin"),
        noise.iter().rev().copied().collect::<Vec<u8>>(),
    )
    .unwrap();
    env.commit_all(&src, "big");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    let app = env.init("app");
    env.write(
        &app,
        "app/atom.toml",
        &manifest(
            "app",
            "0.1.0",
            &[("big", &format!("file://{}", remote.display()), "1")],
        ),
    );
    let received = |cwd: &std::path::Path, args: &[&str], name: &str| {
        let trace = env.path(name);
        let run = env
            .command(cwd, "git")
            .args(args)
            .env("GIT_TRACE_PACKFILE", &trace)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        std::fs::metadata(&trace).map(|m| m.len()).unwrap_or(0)
    };
    let bytes = received(&app.join("app"), &["atom", "resolve"], "resolve.pack");
    assert!(
        bytes > 0 && bytes < 4096,
        "resolve received {bytes} bytes of packs"
    );
    let lock = std::fs::read_to_string(app.join("app/atom.lock")).unwrap();
    assert_eq!(locked(&lock), pairs(&[("big", "1.0.0")]));
    // The index holds the commit, its root tree and the manifest; not the noise, not the
    // subdirectory's tree. The whole-atom cache (what evaluation exports) holds nothing.
    let index = env.home().join(".cache/atom/index.git");
    let commit = env.git_ok(&remote, &["rev-parse", "refs/atoms/big/1.0.0"]);
    let has = |what: &str| {
        env.command(env.root(), "git")
            .args(["-C", index.to_str().unwrap(), "cat-file", "-e", what])
            .output()
            .unwrap()
            .status
            .success()
    };
    let object = |rev: &str| env.git_ok(&remote, &["rev-parse", rev]);
    assert!(has(&commit));
    assert!(has(&object(&format!("{commit}^{{tree}}"))));
    assert!(has(&object(&format!("{commit}:atom.toml"))));
    assert!(!has(&object(&format!("{commit}:noise.bin"))));
    assert!(!has(&object(&format!("{commit}:data"))));
    let cache = env.home().join(".cache/atom/atoms.git");
    let left = env.git_ok(&cache, &["count-objects", "-v"]);
    assert!(
        left.contains("count: 0\n") && left.contains("in-pack: 0"),
        "{left}"
    );
    // The positive twin: the naive fetch of the atom moves the noise too.
    let scratch = env.init_bare("scratch.git");
    let whole = received(
        &scratch,
        &[
            "fetch",
            "-q",
            remote.to_str().unwrap(),
            "refs/atoms/big/1.0.0",
        ],
        "fetch.pack",
    );
    assert!(whole > 2 * 256 * 1024, "fetch received {whole} bytes");
}

/// One repository `lib.git`, served over smart HTTP, with `strings` 1.0.0, `greet` 1.0.0 (which
/// needs `strings` ^1 as `text` from the same repository, by URL, and is published with its
/// lock) and
/// `extra` 0.1.0; and an app (a working tree of its own) needing `greet` ^1 and `extra` ^0.1.
/// Its lock pins two atoms and one transitive one.
pub(crate) struct Monorepo {
    pub env: TestEnv,
    /// Serves `srv/` for as long as the fixture lives.
    pub _http: HttpServer,
    pub lib: PathBuf,
    pub app: PathBuf,
}

impl Monorepo {
    pub fn new() -> Self {
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let http = HttpServer::start(&env, &env.path("srv"));
        let lib = env.init("lib");
        env.init_bare("srv/lib.git");
        let origin = env.path("srv/lib.git");
        env.git_ok(&lib, &["remote", "add", "origin", origin.to_str().unwrap()]);
        let url = http.url("lib.git");
        let g = Monorepo {
            app: env.init("app"),
            env,
            _http: http,
            lib,
        };
        g.publish("strings", "1.0.0");
        // greet requires strings by another name: `from.text`.
        g.env.write(
            &g.lib,
            "greet/atom.toml",
            &format!(
                "{}label = \"strings\"\n",
                manifest("greet", "1.0.0", &[("text", &url, "1")])
            ),
        );
        g.env
            .write(&g.lib, "greet/mod.nix", "{ Name = \"greet\"; }\n");
        g.env
            .git(&g.lib.join("greet"), ["atom", "resolve"])
            .success();
        g.publish_as_is("greet");
        g.publish("extra", "0.1.0");
        g.env.write(
            &g.app,
            "app/atom.toml",
            &manifest(
                "app",
                "0.1.0",
                &[("greet", &url, "1"), ("extra", &url, "0.1")],
            ),
        );
        g.env.commit_all(&g.app, "app");
        g.env.git(&g.app.join("app"), ["atom", "resolve"]).success();
        g.env.commit_all(&g.app, "lock");
        g
    }

    /// Writes `label` at `version` into the lib repository and publishes it.
    pub fn publish(&self, label: &str, version: &str) {
        self.env.atom(&self.lib, label, label, version);
        self.publish_as_is(label);
    }

    fn publish_as_is(&self, label: &str) {
        let env = &self.env;
        env.commit_all(&self.lib, label);
        env.git_ok(&self.lib, &["push", "-q", "origin", "HEAD:main"]);
        env.git(&self.lib, ["atom", "publish", label]).success();
    }

    pub fn app_dir(&self) -> PathBuf {
        self.app.join("app")
    }

    pub fn lock(&self) -> String {
        std::fs::read_to_string(self.app_dir().join("atom.lock")).unwrap()
    }
}

/// The entry of `label` in a lock.
fn entry(lock: &str, label: &str) -> atom_lib::lock::LockedAtom {
    let parsed = atom_lib::Lock::parse(lock.as_bytes(), "atom.lock").unwrap();
    let found = parsed.atoms.iter().find(|a| a.label.as_str() == label);
    found.unwrap().clone()
}

#[test]
fn update_takes_a_transitive_atom_and_moves_it_alone() {
    let g = Monorepo::new();
    let app = g.app_dir();
    let before = g.lock();
    assert_eq!(
        locked(&before),
        pairs(&[("extra", "0.1.0"), ("greet", "1.0.0"), ("strings", "1.0.0")])
    );
    g.publish("strings", "1.0.1");
    g.publish("extra", "0.1.1");
    // Nothing moves without --update.
    g.env.git(&app, ["atom", "resolve"]).success();
    assert_eq!(g.lock(), before);
    // `strings` is no dependency of the app, but an atom of its lock: it alone moves.
    let run = g
        .env
        .git(&app, ["atom", "resolve", "--update", "strings"])
        .success();
    assert!(
        run.stderr.contains("updated strings 1.0.0 -> 1.0.1"),
        "{}",
        run.stderr
    );
    let after = g.lock();
    assert_eq!(
        locked(&after),
        pairs(&[("extra", "0.1.0"), ("greet", "1.0.0"), ("strings", "1.0.1")])
    );
    let published = g
        .env
        .git_ok(&g.lib, &["rev-parse", "refs/atoms/strings/1.0.1"]);
    assert_eq!(entry(&after, "strings").commit.to_string(), published);
    // greet keeps its commit and tree (its `requires` now names strings 1.0.1); extra, with
    // a newer version published, keeps its entry whole.
    let (greet, was) = (entry(&after, "greet"), entry(&before, "greet"));
    assert_eq!((greet.commit, greet.tree), (was.commit, was.tree));
    assert_eq!(entry(&after, "extra"), entry(&before, "extra"));
    // greet's own lock says strings 1.0.0; greet's manifest allows 1.0.1, which the proof
    // accepts (docs/lock.md section 9, item 3): the lock is current.
    g.env.git(&app, ["atom", "resolve", "--locked"]).success();
    // The name greet requires it by works as well.
    g.publish("strings", "1.0.2");
    g.env
        .git(&app, ["atom", "resolve", "--update", "text"])
        .success();
    let after = g.lock();
    assert_eq!(entry(&after, "strings").version.to_string(), "1.0.2");
    assert_eq!(entry(&after, "extra"), entry(&before, "extra"));
    // An unknown name: one line, the nearest name, and the lock untouched byte for byte.
    let bad = g
        .env
        .git(&app, ["atom", "resolve", "--update", "strngs"])
        .code(1);
    assert_eq!(
        bad.stderr,
        "error: `strngs` is not a dependency, pin or source of this atom nor an atom, pin or \
         source of its atom.lock: did you mean `strings`? (see `git atom show`)\n"
    );
    assert_eq!(g.lock(), after);
}

/// Two repositories may each publish an atom of the same label and version, one depending on the
/// other (a wrapper named after what it wraps): two atoms, not a cycle. The resolver once
/// compared atoms on the chain by label and version only, and refused this graph.
#[test]
fn the_same_label_and_version_in_two_repositories_is_no_cycle() {
    let g = Graph::new();
    let env = &g.env;
    let fork = env.init("fork");
    env.init_bare("srv/fork.git");
    env.git_ok(
        &fork,
        &[
            "remote",
            "add",
            "origin",
            env.path("srv/fork.git").to_str().unwrap(),
        ],
    );
    let core_url = g.url("core.git");
    env.write(
        &fork,
        "base/atom.toml",
        &manifest("base", "1.0.0", &[("base", &core_url, "=1.0.0")]),
    );
    // Resolving the wrapper itself: its dependency has its own label and version.
    env.git(&fork.join("base"), ["atom", "resolve"]).success();
    env.commit_all(&fork, "a base wrapping core's");
    env.git_ok(&fork, &["push", "-q", "origin", "main"]);
    env.git(&fork, ["atom", "publish"]).success();

    env.write(
        &g.app,
        "app/atom.toml",
        &manifest("app", "0.1.0", &[("base", &g.url("fork.git"), "1")]),
    );
    env.commit_all(&g.app, "app on the wrapper");
    let run = g.resolve(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lock = g.lock();
    assert_eq!(
        locked(&lock),
        pairs(&[("base", "1.0.0"), ("base", "1.0.0")])
    );
    let parsed = atom_lib::Lock::parse(lock.as_bytes(), "atom.lock").unwrap();
    assert!(parsed.validate().is_empty(), "{:?}", parsed.validate());
    let wrapper = parsed
        .atoms
        .iter()
        .find(|a| !a.requires.is_empty())
        .expect("the wrapper requires the other");
    let wrapped = parsed
        .atom(wrapper.requires.values().next().unwrap())
        .unwrap();
    assert_ne!(wrapper.id, wrapped.id, "two atoms");
    g.resolve(&["--locked"]).success();
}

/// Outside every atom, the commands that work on one say where they looked (up to the
/// repository's root, or every parent outside a repository) and how to name an atom; nothing
/// is written.
#[test]
fn outside_an_atom_the_error_says_where_it_looked() {
    let env = TestEnv::new();
    let repo = env.init("repo");
    env.atom(&repo, "lib", "lib", "1.0.0");
    env.write(&repo, "docs/readme.txt", "x\n");
    env.commit_all(&repo, "lib");
    let docs = repo.join("docs").canonicalize().unwrap();
    let top = repo.canonicalize().unwrap();
    let in_repo = format!(
        "error: no `atom.toml` in `{}` or any directory above it up to the repository's root \
         `{}`: run this in an atom's directory (one with an `atom.toml`), or name one\n",
        docs.display(),
        top.display()
    );
    for args in [
        &["atom", "add", "lib@^1"][..],
        &["atom", "resolve"],
        &["atom", "remove", "lib"],
        &["atom", "tree"],
    ] {
        let run = env.git(&docs, args).code(1);
        assert_eq!(run.stderr, in_repo, "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert_eq!(env.git_ok(&repo, &["status", "--porcelain"]), "");

    let plain = env.path("plain");
    std::fs::create_dir(&plain).unwrap();
    let plain = plain.canonicalize().unwrap();
    let run = env.git(&plain, ["atom", "add", "lib@^1"]).code(1);
    assert_eq!(
        run.stderr,
        format!(
            "error: no `atom.toml` in `{}` or any directory above it: run this in an atom's \
             directory (one with an `atom.toml`), or name one\n",
            plain.display()
        )
    );
    assert_eq!(std::fs::read_dir(&plain).unwrap().count(), 0);
}
