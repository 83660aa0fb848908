//! Sibling dependencies (`[deps.x] path = "../x"` between atoms of one repository): evaluated
//! from the working tree before anything is published, refused at publish unless the siblings
//! are published with them, and, once published, resolved by a consumer in the same
//! repository, through `git daemon` on loopback and the real `nix-instantiate`.

use std::path::{Path, PathBuf};

use atom_tests::{require_program, GitDaemon, Run, TestEnv};

/// A monorepo `mono` (origin `srv/mono.git`, served by `git daemon`) with the chain
/// `strings` <- `greet` <- `tool`, each depending on the previous one by path, locked.
struct Mono {
    env: TestEnv,
    daemon: GitDaemon,
    repo: PathBuf,
}

fn atom(label: &str, version: &str, dep: Option<&str>) -> String {
    let mut text = format!("[atom]\nid = \"{label}\"\nversion = \"{version}\"\n");
    if let Some(dep) = dep {
        text.push_str(&format!("\n[deps.{dep}]\npath = \"../{dep}\"\n"));
    }
    text
}

impl Mono {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        env.write(&env.path("nix-conf"), "nix.conf", "# the test's own\n");
        let repo = env.init("mono");
        env.init_bare("srv/mono.git");
        let remote = env.path("srv/mono.git");
        env.git_ok(
            &repo,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        env.write(&repo, "README", "a monorepo\n");
        env.commit_all(&repo, "root");
        env.write(
            &repo,
            "pkgs/strings/atom.toml",
            &atom("strings", "1.0.0", None),
        );
        env.write(&repo, "pkgs/strings/mod.nix", "{ Word = \"strings\"; }\n");
        env.write(
            &repo,
            "pkgs/greet/atom.toml",
            &atom("greet", "1.0.0", Some("strings")),
        );
        env.write(
            &repo,
            "pkgs/greet/mod.nix",
            "{ Greeting = \"hello \" + from.strings.word; }\n",
        );
        env.write(
            &repo,
            "pkgs/tool/atom.toml",
            &atom("tool", "1.0.0", Some("greet")),
        );
        env.write(
            &repo,
            "pkgs/tool/mod.nix",
            "{ Out = from.greet.greeting + \"!\"; }\n",
        );
        let mono = Mono { env, daemon, repo };
        mono.resolve("pkgs/greet");
        mono.resolve("pkgs/tool");
        mono
    }

    fn resolve(&self, dir: &str) {
        self.env
            .git(&self.repo.join(dir), ["atom", "resolve"])
            .success();
    }

    fn commit_and_push(&self, message: &str) {
        self.env.commit_all(&self.repo, message);
        self.env
            .git_ok(&self.repo, &["push", "-q", "origin", "main"]);
    }

    fn remote_refs(&self) -> String {
        self.env.git_ok(
            &self.env.path("srv/mono.git"),
            &["for-each-ref", "--format=%(refname)", "refs/atoms/"],
        )
    }

    fn eka(&self, cwd: &Path, args: &[&str]) -> Run {
        self.env.eka_run(cwd, args)
    }
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

#[test]
fn the_chain_evaluates_from_the_working_tree_before_anything_is_published() {
    let m = Mono::new();
    let lock = std::fs::read_to_string(m.repo.join("pkgs/tool/atom.lock")).unwrap();
    assert!(lock.contains("path = \"pkgs/greet\""), "{lock}");
    assert!(lock.contains("path = \"pkgs/strings\""), "{lock}");
    let run = m
        .eka(&m.repo.join("pkgs/tool"), &["eval", "--json", "."])
        .success();
    assert_eq!(json(&run), serde_json::json!({"out": "hello strings!"}));
    // Nothing was published to evaluate it.
    assert_eq!(m.remote_refs(), "");
}

#[test]
fn publish_refuses_a_dependent_without_its_siblings_and_publishes_the_chain_together() {
    let m = Mono::new();
    m.commit_and_push("the chain");
    let run = m.env.git(&m.repo, ["atom", "publish", "pkgs/tool"]).code(1);
    assert!(
        run.stderr.contains(
            "`pkgs/tool` depends on `greet@1.0.0` (path `pkgs/greet`), which is not published"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`pkgs/tool` depends on `strings@1.0.0` (path `pkgs/strings`)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`git atom publish pkgs/greet pkgs/tool`"),
        "{}",
        run.stderr
    );
    // Nothing half-written: no atom here or there.
    assert_eq!(m.remote_refs(), "");
    let local = m.env.git_ok(
        &m.repo,
        &["for-each-ref", "--format=%(refname)", "refs/atoms/"],
    );
    assert_eq!(local, "");

    m.env.git(&m.repo, ["atom", "publish"]).success();
    assert_eq!(
        m.remote_refs(),
        "refs/atoms/_root\nrefs/atoms/greet/1.0.0\nrefs/atoms/strings/1.0.0\nrefs/atoms/tool/1.0.0"
    );
}

#[test]
fn a_consumer_resolves_evaluates_and_updates_through_the_siblings() {
    let m = Mono::new();
    m.commit_and_push("the chain");
    m.env.git(&m.repo, ["atom", "publish"]).success();

    let app = m.env.init("app");
    m.env
        .write(&app, "app/atom.toml", &atom("app", "0.1.0", None));
    m.env
        .write(&app, "app/mod.nix", "{ Says = from.tool.out; }\n");
    m.env.commit_all(&app, "app");
    let dir = app.join("app");
    let url = m.daemon.url("mono.git");
    m.env
        .git(&dir, ["atom", "add", &format!("{url}::tool@^1")])
        .success();
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    // The siblings are locked as the atoms they are, from the same repository.
    assert!(!lock.contains("path ="), "{lock}");
    assert_eq!(
        lock.matches(&format!("url = \"{url}\"")).count(),
        3,
        "{lock}"
    );
    let run = m.eka(&dir, &["eval", "--json", "."]).success();
    assert_eq!(json(&run), serde_json::json!({"says": "hello strings!"}));

    // A new `strings` is published alone; greet's lock asked for `^1.0.0` of it.
    m.env.write(
        &m.repo,
        "pkgs/strings/atom.toml",
        &atom("strings", "1.0.1", None),
    );
    m.env.write(
        &m.repo,
        "pkgs/strings/mod.nix",
        "{ Word = \"strings 1.0.1\"; }\n",
    );
    m.commit_and_push("strings 1.0.1");
    m.env
        .git(&m.repo, ["atom", "publish", "pkgs/strings"])
        .success();
    m.env.git(&dir, ["atom", "resolve", "--update"]).success();
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    assert!(lock.contains("version = \"1.0.1\""), "{lock}");
    let run = m.eka(&dir, &["eval", "--json", "."]).success();
    assert_eq!(
        json(&run),
        serde_json::json!({"says": "hello strings 1.0.1!"})
    );
}

#[test]
fn a_cycle_of_siblings_is_refused_naming_it() {
    let m = Mono::new();
    // strings now needs tool: strings -> tool -> greet -> strings.
    m.env.write(
        &m.repo,
        "pkgs/strings/atom.toml",
        &atom("strings", "1.0.0", Some("tool")),
    );
    let before = std::fs::read(m.repo.join("pkgs/tool/atom.lock")).unwrap();
    let run = m
        .env
        .git(&m.repo.join("pkgs/tool"), ["atom", "resolve"])
        .code(1);
    assert!(
        run.stderr.contains(
            "the dependencies form a cycle: tool@1.0.0 -> deps.greet -> greet@1.0.0 -> \
             deps.strings -> strings@1.0.0 -> deps.tool -> tool@1.0.0"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(m.repo.join("pkgs/tool/atom.lock")).unwrap(),
        before,
        "the lock is left as it was"
    );
}
