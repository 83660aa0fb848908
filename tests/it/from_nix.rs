//! Atoms from plain Nix and from flakes: `atom-nix/lock.nix` composes an atom with what its
//! `atom.lock` records, fetched with Nix's own fetchers. Against repositories and files served
//! by lighttpd on loopback (smart HTTP), with the real `nix-instantiate`, `nix-build` and
//! `nix build` (flakes) in eka-run's user store, every Nix call reading the test's own
//! `NIX_CONF_DIR`:
//! - the three-level fixture (app -> lib -> base; base has a tarball pin and a URL source, app
//!   a path source) gives through lock.nix exactly the JSON `eka-run eval` gives, from the
//!   working tree and, in pure evaluation, from the published atoms;
//! - a missing and a stale lock are refused with eka-run's words;
//! - the flake template builds the app's package, and its `flake.lock` holds one commit per
//!   atom; the nix-build template builds the same derivation;
//! - atom-nix is itself an atom that `git atom publish` publishes and `git atom verify` checks;
//! - `atom-nix/lock/semver.nix` agrees with the `semver` crate.

use std::path::{Path, PathBuf};

use atom_tests::{copy_tree, require_program, HttpServer, Run, TestEnv};

const SYSTEM: &str = "x86_64-linux";
const GREETING: &str = "greeting 1.0.0\n";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The served repositories and files, and the app's working tree:
/// - `atom-nix.git`: this workspace's `atom-nix/`, published as the atom `atom-nix` 0.1.0;
/// - `nixlib.git`: a plain git repository (not an atom) whose tag `v1` has `default.nix`;
/// - `base.git`: `base` 1.0.0, pinning `nixlib` at the tag `v1` and the tarball `bb.tar.gz` (a static busybox, the
///   builder) and with the URL source `greeting-${version}.txt`;
/// - `lib.git`: `lib` 1.0.0, needing `base` ^1, with a data file read through `"${mod}"`;
/// - `app.git` and the working tree `app/app`: `app` 1.0.0, needing `lib` ^1, with the path
///   source `../data`, and a package `hello` built by busybox from both sources.
struct World {
    env: TestEnv,
    http: HttpServer,
    app: PathBuf,
    atom_nix_commit: String,
    app_commit: String,
}

fn manifest(label: &str, rest: &str) -> String {
    format!("[atom]\nid = \"{label}\"\nversion = \"1.0.0\"\n{rest}")
}

impl World {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let busybox = require_program("busybox", "busybox-static");
        let env = TestEnv::new();
        let srv = env.path("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let http = HttpServer::start(&env, &srv);
        // The test's own Nix configuration: flakes on, no registry from the network.
        let registry = env.path("nix-conf/registry.json");
        env.write(
            &env.path("nix-conf"),
            "registry.json",
            "{\"flakes\": [], \"version\": 2}\n",
        );
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            &format!(
                "experimental-features = nix-command flakes\nflake-registry = {}\n",
                registry.display()
            ),
        );

        // The builder, as a tarball pin: one top-level directory.
        env.busybox_tarball(&busybox, &http.files.join("bb.tar.gz"));
        std::fs::write(http.files.join("greeting-1.0.0.txt"), GREETING).unwrap();

        // atom-nix, from this workspace.
        let tools = env.served_repo("atom-nix");
        std::fs::create_dir_all(tools.join("atom-nix")).unwrap();
        copy_tree(&workspace().join("atom-nix"), &tools.join("atom-nix"));
        env.publish_pushed(&tools);
        let atom_nix_commit = env.git_ok(&tools, &["rev-parse", "refs/atoms/atom-nix/0.1.0"]);

        // A legacy Nix library at a tag (a short ref: lock.nix looks among all refs), which
        // moves on after it.
        let nixlib = env.served_repo("nixlib");
        env.write(&nixlib, "default.nix", "{ answer = 42; }\n");
        env.commit_all(&nixlib, "v1");
        env.git_ok(&nixlib, &["tag", "v1"]);
        env.write(&nixlib, "default.nix", "{ answer = 43; }\n");
        env.commit_all(&nixlib, "after v1");
        env.git_ok(&nixlib, &["push", "-q", "origin", "main", "v1"]);

        let base = env.served_repo("base");
        env.write(
            &base,
            "base/atom.toml",
            &manifest(
                "base",
                &format!(
                    "\n[pins.bb]\nurl = \"{}\"\n\n[pins.nixlib]\ngit = \"{}\"\nref = \"v1\"\n\n[srcs.greeting]\nurl = \"{}\"\nversion = \"${{atom.version}}\"\n",
                    http.file_url("bb.tar.gz"),
                    http.url("nixlib.git"),
                    http.file_url("greeting-${version}.txt")
                ),
            ),
        );
        env.write(
            &base,
            "base/mod.nix",
            "{\n  Word = \"base\";\n  Answer = from.nixlib.answer;\n  Busybox = from.bb.busybox;\n  Greeting = get.greeting;\n}\n",
        );
        env.git(&base.join("base"), ["atom", "resolve"]).success();
        env.publish_pushed(&base);

        let lib = env.served_repo("lib");
        env.write(
            &lib,
            "lib/atom.toml",
            &manifest(
                "lib",
                &format!(
                    "\n[deps.base]\nurl = \"{}\"\nversion = \"1\"\n",
                    http.url("base.git")
                ),
            ),
        );
        env.write(
            &lib,
            "lib/mod.nix",
            "{\n  Word = \"lib+\" + from.base.word;\n  Answer = from.base.answer;\n  Text = builtins.readFile \"${mod}/greeting.txt\";\n  Busybox = from.base.busybox;\n  Greeting = from.base.greeting;\n}\n",
        );
        env.write(&lib, "lib/greeting.txt", "hello from lib\n");
        env.git(&lib.join("lib"), ["atom", "resolve"]).success();
        env.publish_pushed(&lib);

        let app = env.served_repo("app");
        env.write(&app, "data/f", "data\n");
        env.write(
            &app,
            "app/atom.toml",
            &manifest(
                "app",
                &format!(
                    "\n[deps.lib]\nurl = \"{}\"\nversion = \"1\"\n\n[srcs.data]\npath = \"../data\"\n",
                    http.url("lib.git")
                ),
            ),
        );
        env.write(&app, "app/mod.nix", APP);
        env.git(&app.join("app"), ["atom", "resolve"]).success();
        env.publish_pushed(&app);
        let app_commit = env.git_ok(&app, &["rev-parse", "refs/atoms/app/1.0.0"]);
        World {
            env,
            http,
            app: app.join("app"),
            atom_nix_commit,
            app_commit,
        }
    }

    /// `eka-run args...` in the app's directory: its evaluation, or a Nix command run against
    /// its user store.
    fn eka(&self, args: &[&str]) -> Run {
        self.env.eka_run(&self.app, args)
    }

    /// `nix-instantiate --eval --strict --json` of `expr` in the user store, in pure
    /// evaluation when `pure`.
    fn nix_eval(&self, expr: &str, pure: bool) -> Run {
        let mut args = vec![
            "nix-instantiate",
            "--eval",
            "--strict",
            "--json",
            "--read-write-mode",
        ];
        if pure {
            args.push("--pure-eval");
        }
        args.extend(["-E", expr]);
        self.eka(&args)
    }

    /// The workspace's lock.nix on the app's working tree.
    fn lock_nix_expr(&self) -> String {
        format!(
            "import {}/atom-nix/lock.nix {} {{ config.system = \"{SYSTEM}\"; }}",
            workspace().display(),
            self.app.display()
        )
    }

    fn eka_eval(&self) -> Run {
        self.eka(&[
            "eval",
            "--json",
            "--no-cache",
            "--config",
            &format!("{{\"system\":\"{SYSTEM}\"}}"),
            ".",
        ])
    }

    /// `rel` with the example URLs of the templates replaced by the served ones.
    fn template(&self, rel: &str) -> String {
        let text =
            std::fs::read_to_string(workspace().join("atom-nix/templates").join(rel)).unwrap();
        let served = text
            .replace("https://example.org/mono.git", &self.http.url("app.git"))
            .replace(
                "https://github.com/ekala-project/atom",
                &self.http.url("atom-nix.git"),
            );
        assert_ne!(served, text, "{rel} names the example URLs");
        served
    }

    /// The one file of the built package, read in the user store.
    fn hello_text(&self, out: &str) -> String {
        self.eka(&["cat", &format!("{out}/hello")]).success().stdout
    }
}

/// The app: every dependency, the pin (through `lib` and `base`), both sources, and a package.
const APP: &str = r#"let
  bb = from.lib.busybox;
in
{
  Lib = from.lib.word;
  Answer = from.lib.answer;
  Text = from.lib.text;
  Busybox = bb;
  Greeting = from.lib.greeting;
  Data = builtins.readFile "${get.data}/f";
  Hello = builtins.derivation {
    name = "hello-1.0.0";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" "${bb} mkdir -p $out && ${bb} cat ${from.lib.greeting} ${get.data}/f > $out/hello" ];
  };
}
"#;

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// The message of a failed evaluation or eka-run failure, without the tool's prefixes.
fn message(run: &Run, prefix: &str) -> String {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in: {}", run.stderr));
    let at = line.find(prefix).unwrap();
    line[at + prefix.len()..].to_owned()
}

#[test]
fn lock_nix_gives_eka_runs_values_from_the_working_tree_and_in_pure_evaluation() {
    let w = World::new();
    let eka = json(&w.eka_eval().success());
    // The values themselves: three levels, the pin, both sources, the package.
    assert_eq!(eka["lib"], "lib+base");
    assert_eq!(eka["text"], "hello from lib\n");
    assert_eq!(eka["data"], "data\n");
    assert_eq!(eka["answer"], 42, "the git pin at its tag, not its branch");
    for (key, end) in [
        ("busybox", "-bin/busybox"),
        ("greeting", "-greeting-1.0.0.txt"),
        ("hello", "-hello-1.0.0"),
    ] {
        let v = eka[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {eka}"));
        assert!(
            v.starts_with("/nix/store/") && v.ends_with(end),
            "{key}: {v}"
        );
    }

    // The same atom, lock and configuration through lock.nix, from the working tree.
    let from_tree = json(&w.nix_eval(&w.lock_nix_expr(), false).success());
    assert_eq!(from_tree, eka);

    // In pure evaluation, atom-nix and the app fetched by their atom refs at their commits.
    let pure = format!(
        r#"let
          atomNix = builtins.fetchGit {{ url = "{an}"; ref = "refs/atoms/atom-nix/0.1.0"; rev = "{anc}"; }};
          app = builtins.fetchGit {{ url = "{app}"; ref = "refs/atoms/app/1.0.0"; rev = "{appc}"; }};
        in import "${{atomNix}}/lock.nix" app {{ config.system = "{SYSTEM}"; url = "{app}"; }}"#,
        an = w.http.url("atom-nix.git"),
        anc = w.atom_nix_commit,
        app = w.http.url("app.git"),
        appc = w.app_commit,
    );
    let from_store = json(&w.nix_eval(&pure, true).success());
    assert_eq!(from_store, eka);
    // Pure evaluation is on: the host's atom-nix is out of reach there (the negative twin).
    let host = w.nix_eval(&w.lock_nix_expr(), true).code(1);
    assert!(
        host.stderr.contains("forbidden in pure eval mode"),
        "{}",
        host.stderr
    );
}

#[test]
fn a_missing_and_a_stale_lock_are_refused_with_eka_runs_words() {
    let w = World::new();
    let lock = w.app.join("atom.lock");
    let saved = std::fs::read_to_string(&lock).unwrap();
    // The positive case first: both evaluate.
    w.eka_eval().success();
    w.nix_eval(&w.lock_nix_expr(), false).success();

    std::fs::remove_file(&lock).unwrap();
    let eka = message(&w.eka_eval().code(125), "eka-run: ");
    let nix = message(&w.nix_eval(&w.lock_nix_expr(), false).code(1), "atom-nix: ");
    assert_eq!(
        eka,
        format!(
            "`{}` does not exist, and the atom declares dependencies: run `git atom resolve` in {}",
            lock.display(),
            w.app.display()
        )
    );
    assert_eq!(nix, eka);

    // The manifest moves on: `lib` now wants ^2, which the lock does not have, and a source
    // the lock does not know.
    std::fs::write(&lock, &saved).unwrap();
    let text = std::fs::read_to_string(w.app.join("atom.toml")).unwrap();
    let bumped = text.replacen("version = \"1\"", "version = \"2\"", 1)
        + "\n[srcs.more]\npath = \"../data\"\n";
    std::fs::write(w.app.join("atom.toml"), bumped).unwrap();
    let eka = message(&w.eka_eval().code(125), "eka-run: ");
    let nix = message(&w.nix_eval(&w.lock_nix_expr(), false).code(1), "atom-nix: ");
    assert_eq!(
        eka,
        format!(
            "`{}` is not current: `deps.lib` requires `^2`, the lock has 1.0.0 (and 1 more problem): run `git atom resolve` in {}",
            lock.display(),
            w.app.display()
        )
    );
    assert_eq!(nix, eka);
}

#[test]
fn a_flake_and_nix_build_build_an_atoms_package_from_its_lock() {
    let w = World::new();
    let eka = json(&w.eka_eval().success());
    let hello = eka["hello"].as_str().unwrap().to_owned();

    // The flake template, with the served repositories as its inputs.
    let flake = w.env.path("flake");
    w.env
        .write(&flake, "flake.nix", &w.template("flake/flake.nix"));
    let target = format!("path:{}#hello", flake.display());
    let run = w
        .eka(&["nix", "build", "--json", "--no-link", &target])
        .success();
    let built = json(&run);
    assert_eq!(built[0]["outputs"]["out"], hello.as_str(), "{built}");
    assert_eq!(w.hello_text(&hello), format!("{GREETING}data\n"));

    // flake.lock: one node per atom input, each locked to the published atom commit at its
    // atom ref; the app's dependencies are the atom lock's business, not the flake's.
    let locked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(flake.join("flake.lock")).unwrap()).unwrap();
    let nodes = locked["nodes"].as_object().unwrap();
    let mut names: Vec<&str> = nodes.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["app", "atom-nix", "root"], "{locked}");
    for (name, commit, reference) in [
        ("app", &w.app_commit, "refs/atoms/app/1.0.0"),
        ("atom-nix", &w.atom_nix_commit, "refs/atoms/atom-nix/0.1.0"),
    ] {
        let node = &nodes[name]["locked"];
        assert_eq!(node["type"], "git", "{name}: {node}");
        assert_eq!(node["rev"], commit.as_str(), "{name}: {node}");
        assert_eq!(node["ref"], reference, "{name}: {node}");
    }

    // The nix-build template: the same derivation, built with plain nix-build.
    let classic = w.env.path("classic");
    w.env.write(
        &classic,
        "default.nix",
        &w.template("nix-build/default.nix"),
    );
    let file = classic.join("default.nix");
    let run = w
        .eka(&[
            "nix-build",
            "--no-out-link",
            "--argstr",
            "system",
            SYSTEM,
            "-A",
            "hello",
            file.to_str().unwrap(),
        ])
        .success();
    assert_eq!(run.stdout.trim(), hello);
}

#[test]
fn atom_nix_is_an_atom_that_publishes_and_verifies() {
    let env = TestEnv::new();
    let repo = env.init("tools");
    env.init_bare("srv/tools.git");
    let remote = env.path("srv/tools.git");
    env.git_ok(
        &repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    std::fs::create_dir_all(repo.join("atom-nix")).unwrap();
    copy_tree(&workspace().join("atom-nix"), &repo.join("atom-nix"));
    env.commit_all(&repo, "atom-nix");
    env.git_ok(&repo, &["push", "-q", "origin", "main"]);
    env.git(&repo, ["atom", "publish"]).success();
    let published = env.refs(&remote, "refs/atoms/");
    let names: Vec<&str> = published
        .iter()
        .filter_map(|l| l.split(' ').next())
        .filter(|r| *r != "refs/atoms/_root")
        .collect();
    assert_eq!(names, ["refs/atoms/atom-nix/0.1.0"]);
    // Checked from the remote, at every level: structure, source, ancestry.
    let uri = format!("{}::atom-nix@0.1.0", remote.display());
    let verified = env
        .git(&repo, ["atom", "verify", "--ancestry", &uri])
        .success();
    assert!(
        verified.stdout.contains("atom-nix@0.1.0") && verified.stdout.contains("ok"),
        "{}",
        verified.stdout
    );
    // Its tree is the directory: lock.nix, compose.nix and the std are in it.
    let files = env.git_ok(
        &remote,
        &["ls-tree", "--name-only", "refs/atoms/atom-nix/0.1.0"],
    );
    for file in [
        "atom.toml",
        "compose.nix",
        "lock.nix",
        "std",
        "core",
        "templates",
    ] {
        assert!(files.lines().any(|l| l == file), "{file} in {files}");
    }
}

#[test]
fn semver_in_nix_agrees_with_the_semver_crate() {
    let nix = require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
    let versions = [
        "0.0.1",
        "0.0.2",
        "0.1.0",
        "0.1.5",
        "0.2.0",
        "0.2.0-rc.1",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.2.3",
        "1.2.3-pre",
        "1.2.4",
        "1.3.0",
        "1.10.0",
        "2.0.0",
        "2.0.0-rc.1",
        "2.1.0",
        "10.0.0",
        "1.0.0+build.5",
    ];
    let reqs = [
        "1",
        "1.2",
        "1.2.3",
        "^1.2.3",
        "^0.1",
        "^0.1.5",
        "^0.0.1",
        "^0",
        "~1",
        "~1.2",
        "~1.2.3",
        "=1.2.3",
        "=1.2",
        ">1.2",
        ">=1.2.3",
        "<2",
        "<=1.2.3",
        ">1.0.0-alpha",
        ">=1.0.0-beta.2",
        "<1.0.0-rc.1",
        "1.*",
        "1.2.*",
        "1.x",
        "*",
        ">=1.2, <1.10",
        ">= 1.0.0, < 2.0.0",
        "^1.0.0-alpha",
        "~2.0.0-rc.1",
        "=1.0.0-alpha.1",
        "0.*",
        "^0.0",
        "~0",
    ];
    let mut expected = Vec::new();
    for req in reqs {
        let parsed = semver::VersionReq::parse(req).unwrap();
        let row: Vec<bool> = versions
            .iter()
            .map(|v| parsed.matches(&semver::Version::parse(v).unwrap()))
            .collect();
        expected.push(serde_json::json!({"shown": parsed.to_string(), "matches": row}));
    }
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let expr = format!(
        "let s = import {}/atom-nix/lock/semver.nix; vs = [ {} ]; in map (r: {{ shown = s.showReq r; matches = map (s.matches r) vs; }}) [ {} ]",
        workspace().display(),
        list(&versions),
        list(&reqs)
    );
    let conf = env.path("nix-conf");
    env.write(&conf, "nix.conf", "# the test's own, empty\n");
    let out = env
        .command(env.root(), nix)
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .env("NIX_CONF_DIR", &conf)
        .env("NIX_USER_CONF_FILES", conf.join("nix.conf"))
        .env("NIX_PATH", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, req) in reqs.iter().enumerate() {
        assert_eq!(got[i], expected[i], "requirement `{req}` over {versions:?}");
    }
}
