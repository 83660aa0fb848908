//! Sibling dependencies (`[deps.x] path = "../x"` between atoms of one repository): evaluated
//! from the working tree before anything is published, refused at publish unless the siblings
//! are published with them, and, once published, resolved, shown, evaluated, built and run by a
//! consumer in another repository through the same repository, served by `git daemon` and by
//! `git http-backend` on loopback, with the real `nix-instantiate` and `nix-build`.

use std::path::{Path, PathBuf};

use atom_tests::{require_program, GitDaemon, HttpServer, Run, TestEnv};

/// How the monorepo is served to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serve {
    Daemon,
    Http,
}

/// The server the monorepo is fetched from.
enum Server {
    Daemon(GitDaemon),
    Http(HttpServer),
}

/// A monorepo `mono` (origin `srv/mono.git`, served over `git://` or smart HTTP) with the chain
/// `strings` <- `greet` <- `tool`, each depending on the previous one by path, locked.
struct Mono {
    env: TestEnv,
    server: Server,
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
        Self::served(Serve::Daemon)
    }

    fn served(serve: Serve) -> Self {
        require_program("nix-instantiate", "nix-bin");
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let server = match serve {
            Serve::Daemon => Server::Daemon(GitDaemon::start(&env, &env.path("srv"))),
            Serve::Http => Server::Http(HttpServer::start(&env, &env.path("srv"))),
        };
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
        let mono = Mono { env, server, repo };
        mono.resolve("pkgs/greet");
        mono.resolve("pkgs/tool");
        mono
    }

    /// The URL consumers fetch the monorepo from.
    fn url(&self) -> String {
        match &self.server {
            Server::Daemon(d) => d.url("mono.git"),
            Server::Http(h) => h.url("mono.git"),
        }
    }

    /// The `upload-pack` connections made since `from` (with `git daemon`; `None` over HTTP,
    /// which has no connections to count).
    fn connections_since(&self, from: usize) -> Option<Vec<String>> {
        match &self.server {
            Server::Daemon(d) => Some(d.upload_packs().split_off(from)),
            Server::Http(_) => None,
        }
    }

    fn connections(&self) -> usize {
        self.connections_since(0).map_or(0, |c| c.len())
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

    /// A static busybox added to eka-run's user store, as the builder: `{"busybox": <path>}`.
    fn config(&self) -> String {
        let busybox = require_program("busybox", "busybox-static");
        std::fs::create_dir_all(self.env.path("bb/bin")).unwrap();
        std::fs::copy(&busybox, self.env.path("bb/bin/busybox")).unwrap();
        let bb = self.env.path("bb");
        let added = self
            .eka(
                self.env.root(),
                &["nix-store", "--add", bb.to_str().unwrap()],
            )
            .success();
        let path = added.stdout.trim();
        assert!(path.starts_with("/nix/store/"), "{path}");
        format!(r#"{{"busybox":"{path}"}}"#)
    }
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// The consumer `app`: says what `tool` says, and builds a program that prints it.
const APP: &str = r#"let
  bb = "${builtins.path { path = config.busybox; name = "busybox"; }}/bin/busybox";
in
{
  Says = from.tool.out;
  Pkg = builtins.derivation {
    name = "app-0.1.0";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" ''
      mkdir -p $out/bin
      printf '#!%s sh\necho "%s"\n' ${bb} "${from.tool.out}" > $out/bin/app
      chmod +x $out/bin/app
    '' ];
  };
}
"#;

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

    let run = m.env.git(&m.repo, ["atom", "publish"]).success();
    // Said in dependency order: each atom after the siblings it needs.
    let at = |label: &str| {
        run.stdout
            .lines()
            .position(|l| l.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("{label} is not listed:\n{}", run.stdout))
    };
    assert!(
        at("strings") < at("greet") && at("greet") < at("tool"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("published 3 of 3 atoms"),
        "{}",
        run.stderr
    );
    assert_eq!(
        m.remote_refs(),
        "refs/atoms/_root\nrefs/atoms/greet/1.0.0\nrefs/atoms/strings/1.0.0\nrefs/atoms/tool/1.0.0"
    );
}

/// The journey of a consumer of `tool`: add, show, evaluate, build and run it through its
/// siblings, evaluate it by URI, then take a new `strings` with `--update` of that transitive
/// name; with `git daemon`, each step's connections counted.
fn a_consumer_uses_the_chain(serve: Serve) {
    let m = Mono::served(serve);
    m.commit_and_push("the chain");
    m.env.git(&m.repo, ["atom", "publish"]).success();

    let app = m.env.init("app");
    m.env
        .write(&app, "app/atom.toml", &atom("app", "0.1.0", None));
    m.env.write(&app, "app/mod.nix", APP);
    m.env.commit_all(&app, "app");
    let dir = app.join("app");
    let url = m.url();
    let before = m.connections();
    m.env
        .git(&dir, ["atom", "add", &format!("{url}::tool@^1")])
        .success();
    // One connection to the monorepo lists and fetches tool and, through its lock, both
    // siblings.
    if let Some(made) = m.connections_since(before) {
        assert_eq!(made, ["mono.git"]);
    }
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    // The siblings are locked as the atoms they are, from the same repository.
    assert!(!lock.contains("path ="), "{lock}");
    assert_eq!(
        lock.matches(&format!("url = \"{url}\"")).count(),
        3,
        "{lock}"
    );
    let shown = m.env.git(&dir, ["atom", "show", "--json"]).success();
    let deps = &json(&shown)["deps"];
    assert_eq!(deps[0]["name"], "tool", "{deps}");
    assert_eq!(deps[0]["locked"], "1.0.0", "{deps}");

    let before = m.connections();
    let run = m.eka(&dir, &["eval", "--json", ".", "says"]).success();
    assert_eq!(json(&run), serde_json::json!("hello strings!"));
    // `add` admitted what resolving reads (manifests and locks); one connection brings the
    // three atoms' contents.
    if let Some(made) = m.connections_since(before) {
        assert_eq!(made, ["mono.git"]);
    }
    let config = m.config();
    let built = m
        .eka(&dir, &["build", "--config", &config, ".", "pkg"])
        .success();
    assert!(
        built.stdout.trim().ends_with("-app-0.1.0"),
        "{}",
        built.stdout
    );
    let ran = m
        .eka(&dir, &["run", "--config", &config, ".", "pkg"])
        .success();
    assert_eq!(ran.stdout, "hello strings!\n");

    // By URI, without an atom of one's own: the siblings come from tool's repository, on the
    // connection that brought tool.
    let elsewhere = m.env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let before = m.connections();
    let run = m
        .eka(
            &elsewhere,
            &[
                "eval",
                "--json",
                "--no-cache",
                &format!("{url}::tool@^1"),
                "out",
            ],
        )
        .success();
    assert_eq!(json(&run), serde_json::json!("hello strings!"));
    if let Some(made) = m.connections_since(before) {
        assert_eq!(made, ["mono.git"]);
    }

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
    let old = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    let before = m.connections();
    m.env
        .git(&dir, ["atom", "resolve", "--update", "strings"])
        .success();
    if let Some(made) = m.connections_since(before) {
        assert_eq!(made, ["mono.git"]);
    }
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    // strings moved, and nothing else: the lines that changed are strings' entry and greet's
    // edge to it (a key names the version).
    let changed: Vec<&str> = lock.lines().filter(|l| !old.contains(l)).collect();
    assert_eq!(changed.len(), 4, "{changed:?}");
    assert!(
        changed[0].starts_with("requires = { strings = \"") && changed[0].ends_with("@1.0.1\" }"),
        "{changed:?}"
    );
    assert_eq!(changed[1], "version = \"1.0.1\"", "{changed:?}");
    assert!(changed[2].starts_with("commit = "), "{changed:?}");
    assert!(changed[3].starts_with("tree = "), "{changed:?}");
    let run = m.eka(&dir, &["eval", "--json", ".", "says"]).success();
    assert_eq!(json(&run), serde_json::json!("hello strings 1.0.1!"));
    let ran = m
        .eka(&dir, &["run", "--config", &config, ".", "pkg"])
        .success();
    assert_eq!(ran.stdout, "hello strings 1.0.1!\n");
}

#[test]
fn a_consumer_uses_the_chain_over_git_daemon() {
    a_consumer_uses_the_chain(Serve::Daemon);
}

#[test]
fn a_consumer_uses_the_chain_over_smart_http() {
    a_consumer_uses_the_chain(Serve::Http);
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
    // Committed as it is, nothing of it publishes: strings has no lock, and no lock can be
    // written for it.
    m.commit_and_push("a cycle");
    let run = m.env.git(&m.repo, ["atom", "publish"]).code(1);
    assert!(
        run.stderr.contains("pkgs/strings") && run.stderr.contains("git atom resolve"),
        "{}",
        run.stderr
    );
    assert_eq!(m.remote_refs(), "");
}

#[test]
fn by_uri_a_sibling_must_be_published_with_the_locked_tree() {
    let m = Mono::new();
    m.commit_and_push("the chain");
    m.env.git(&m.repo, ["atom", "publish"]).success();
    let server = m.env.path("srv/mono.git");
    let uri = format!("{}::tool@^1", m.url());
    let elsewhere = m.env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    // The server's greet 1.0.0 swapped for strings' commit (another tree, another label).
    let strings = m
        .env
        .git_ok(&server, &["rev-parse", "refs/atoms/strings/1.0.0"]);
    let greet = m
        .env
        .git_ok(&server, &["rev-parse", "refs/atoms/greet/1.0.0"]);
    m.env.git_ok(
        &server,
        &["update-ref", "refs/atoms/greet/1.0.0", &strings, &greet],
    );
    let run = m
        .eka(&elsewhere, &["eval", "--json", &uri, "out"])
        .code(125);
    assert!(run.stderr.contains("greet@1.0.0"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");

    // Gone from the server: named, with who must fix it.
    m.env
        .git_ok(&server, &["update-ref", "-d", "refs/atoms/greet/1.0.0"]);
    let run = m
        .eka(&elsewhere, &["eval", "--json", &uri, "out"])
        .code(125);
    assert!(
        run.stderr
            .contains("tool@1.0.0 depends on its sibling greet@1.0.0 (path `pkgs/greet`), which")
            && run.stderr.contains("does not publish"),
        "{}",
        run.stderr
    );

    // Put back, it evaluates.
    m.env
        .git_ok(&server, &["update-ref", "refs/atoms/greet/1.0.0", &greet]);
    let run = m
        .eka(&elsewhere, &["eval", "--json", &uri, "out"])
        .success();
    assert_eq!(json(&run), serde_json::json!("hello strings!"));
}
