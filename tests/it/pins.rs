//! Pins (`from.<pin>`) and sources (`get.<src>`) end to end: `git atom resolve` locks a git pin
//! served over smart HTTP, a tarball pin and a URL source served as files by the same web server,
//! and path sources of the working tree, and a dependency atom (served by `git daemon`) brings
//! its own pin; `git atom show` lists them; `eka-run` evaluates, plans, builds and runs an atom
//! using all of them with the real Nix, the URL source fetched by Nix's builder from the
//! loopback server. Every hash is checked against Nix's own (`nix hash`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use atom_tests::{require_program, GitDaemon, HttpServer, Run, TestEnv};

/// The served files, the repositories and the app:
/// - `nixlib` (a plain git repository, not an atom, at `srv/nixlib.git` over smart HTTP): tag
///   `v1` has `default.nix` (`greet`) and `answer.nix`; `main` moves on after it;
/// - `dep` (`srv/dep.git` over `git daemon`): an atom that pins `nixlib` at `v1` with
///   `entry = "answer.nix"` and says `dep:<answer>`; published with its lock;
/// - files: `tool-1.2.3.txt` (the URL source) and `tarlib.tar.gz` (a tarball pin);
/// - `app/app` (version 1.2.3): depends on `dep`, pins `nixlib` and `tarlib`, and has sources
///   `tool` (URL, `${version}` of the atom's), `data` (the directory `../data`) and `cargo` (the
///   single file `../Cargo.lock`).
struct World {
    env: TestEnv,
    _daemon: GitDaemon,
    http: HttpServer,
    nixlib: PathBuf,
    repo: PathBuf,
    app: PathBuf,
    busybox: String,
}

const TOOL: &str = "tool source 1.2.3\n";

impl World {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let busybox = require_program("busybox", "busybox-static");
        let env = TestEnv::new();
        let srv = env.path("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let daemon = GitDaemon::start(&env, &srv);
        let http = HttpServer::start(&env, &srv);
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            "# the test's own, empty\n",
        );

        // nixlib, over smart HTTP.
        let nixlib = env.init("nixlib");
        env.write(&nixlib, "default.nix", "{ greet = n: \"hello \" + n; }\n");
        env.write(&nixlib, "answer.nix", "{ answer = 42; }\n");
        env.write(&nixlib, "bin/tool", "#!/bin/sh\necho tool\n");
        set_mode(&nixlib.join("bin/tool"), 0o755);
        std::os::unix::fs::symlink("bin/tool", nixlib.join("tool")).unwrap();
        env.commit_all(&nixlib, "nixlib v1");
        env.git_ok(&nixlib, &["tag", "v1"]);
        env.write(&nixlib, "default.nix", "{ greet = n: \"hi \" + n; }\n");
        env.commit_all(&nixlib, "nixlib after v1");
        env.init_bare("srv/nixlib.git");
        env.git_ok(
            &nixlib,
            &[
                "push",
                "-q",
                env.path("srv/nixlib.git").to_str().unwrap(),
                "main",
                "v1",
            ],
        );
        let nixlib_url = http.url("nixlib.git");

        // dep, over git daemon, with its own pin.
        let dep = env.init("dep");
        env.init_bare("srv/dep.git");
        env.git_ok(
            &dep,
            &[
                "remote",
                "add",
                "origin",
                env.path("srv/dep.git").to_str().unwrap(),
            ],
        );
        env.write(&dep, "README", "dep\n");
        env.commit_all(&dep, "root");
        env.write(
            &dep,
            "dep/atom.toml",
            &format!(
                "[atom]\nid = \"dep\"\nversion = \"1.0.0\"\n\n[pins.nixlib]\ngit = \"{nixlib_url}\"\nref = \"v1\"\nentry = \"answer.nix\"\n"
            ),
        );
        env.write(
            &dep,
            "dep/mod.nix",
            "{ Word = \"dep:\" + builtins.toString from.nixlib.answer; }\n",
        );
        env.git(&dep.join("dep"), ["atom", "resolve"]).success();
        env.commit_all(&dep, "dep");
        env.git_ok(&dep, &["push", "-q", "origin", "main"]);
        env.git(&dep, ["atom", "publish"]).success();

        // The served files.
        std::fs::write(http.files.join("tool-1.2.3.txt"), TOOL).unwrap();
        let tar_src = env.path("tarlib-src");
        std::fs::create_dir_all(tar_src.join("tarlib-1.0")).unwrap();
        std::fs::write(tar_src.join("tarlib-1.0/default.nix"), "{ y = 7; }\n").unwrap();
        let tar = env
            .command(&tar_src, "tar")
            .args(["-czf"])
            .arg(http.files.join("tarlib.tar.gz"))
            .arg("tarlib-1.0")
            .status()
            .unwrap();
        assert!(tar.success());

        // The app.
        let repo = env.init("app");
        env.write(&repo, "data/f", "data\n");
        env.write(&repo, "Cargo.lock", "# a lock\n");
        env.write(
            &repo,
            "app/atom.toml",
            &format!(
                r#"[atom]
id = "app"
version = "1.2.3"

[deps.dep]
url = "{dep_url}"
version = "1"

[pins.nixlib]
git = "{nixlib_url}"
ref = "v1"

[pins.tarlib]
url = "{tar_url}"

[srcs.tool]
url = "{tool_url}"
version = "${{atom.version}}"

[srcs.data]
path = "../data"

[srcs.cargo]
path = "../Cargo.lock"
"#,
                dep_url = daemon.url("dep.git"),
                tar_url = http.file_url("tarlib.tar.gz"),
                tool_url = http.file_url("tool-${version}.txt"),
            ),
        );
        env.write(&repo, "app/mod.nix", APP);
        env.commit_all(&repo, "app");
        let w = World {
            app: repo.join("app"),
            env,
            _daemon: daemon,
            http,
            nixlib,
            repo,
            busybox: String::new(),
        };
        // The builder: a static busybox added to eka-run's user store.
        std::fs::create_dir_all(w.env.path("bb/bin")).unwrap();
        std::fs::copy(&busybox, w.env.path("bb/bin/busybox")).unwrap();
        let bb = w.env.path("bb");
        let added = w
            .eka(&["nix-store", "--add", bb.to_str().unwrap()])
            .success();
        let busybox = added.stdout.trim().to_owned();
        assert!(busybox.starts_with("/nix/store/"), "{busybox}");
        World { busybox, ..w }
    }

    fn eka(&self, args: &[&str]) -> Run {
        self.env.eka_run(&self.app, args)
    }

    fn config(&self) -> String {
        format!(r#"{{"busybox":"{}"}}"#, self.busybox)
    }

    fn git_atom(&self, args: &[&str]) -> Run {
        let mut all = vec!["atom"];
        all.extend(args);
        self.env.git(&self.app, all)
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.app.join("atom.lock")).unwrap()
    }

    /// `nix hash <kind> <path>`: Nix's own hash, the oracle.
    fn nix_hash(&self, kind: &str, path: &Path) -> String {
        let out = self
            .env
            .command(self.env.root(), "nix")
            .args(["--extra-experimental-features", "nix-command", "hash", kind])
            .arg(path)
            .env("NIX_CONF_DIR", self.env.path("nix-conf"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The value of `key` in the `[[<table>]]` entry named `name` of the app's lock, owned by
    /// the app (`own`) or by a dependency, as the lock's reader gives it.
    fn locked(&self, table: &str, name: &str, own: bool, key: &str) -> String {
        use atom_lib::lock::{Lock, PathObject, PinSource, SrcSource};
        let lock = Lock::parse(self.lock().as_bytes(), "atom.lock").unwrap();
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        if table == "pin" {
            let pin = lock
                .pins
                .iter()
                .find(|p| p.name.to_string() == name && p.owner.is_none() == own)
                .unwrap_or_else(|| panic!("no pin {name} (own: {own}) in\n{}", self.lock()));
            match &pin.source {
                PinSource::Git { rev, hash, .. } => {
                    fields.insert("rev", rev.to_string());
                    if let Some(hash) = hash {
                        fields.insert("hash", hash.to_string());
                    }
                }
                PinSource::Tarball { url, hash } => {
                    fields.insert("url", url.to_string());
                    fields.insert("hash", hash.to_string());
                }
            }
            if let Some(entry) = &pin.entry {
                fields.insert("entry", entry.to_string());
            }
        } else {
            let src = lock
                .srcs
                .iter()
                .find(|s| s.name.to_string() == name && s.owner.is_none() == own)
                .unwrap_or_else(|| panic!("no src {name} (own: {own}) in\n{}", self.lock()));
            match &src.source {
                SrcSource::Url { url, hash } => {
                    fields.insert("url", url.to_string());
                    fields.insert("hash", hash.to_string());
                }
                SrcSource::Git { rev, hash, .. } => {
                    fields.insert("rev", rev.to_string());
                    fields.insert("hash", hash.to_string());
                }
                SrcSource::Path { path, object, hash } => {
                    fields.insert("path", path.clone());
                    fields.insert("hash", hash.to_string());
                    match object {
                        PathObject::Tree(t) => fields.insert("tree", t.to_string()),
                        PathObject::Blob(b) => fields.insert("blob", b.to_string()),
                    };
                }
            }
        }
        fields
            .remove(key)
            .unwrap_or_else(|| panic!("no `{key}` for {table} {name} in\n{}", self.lock()))
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The app's modules: every pin and source used, and a package built from the sources.
const APP: &str = r##"let
  bb = "${builtins.path { path = config.busybox; name = "bb"; }}/bin/busybox";
in
{
  Greeting = from.nixlib.greet "atom";
  Dep = from.dep.word;
  Tar = from.tarlib.y;
  Tool = "${get.tool}";
  Data = builtins.readFile "${get.data}/f";
  Cargo = builtins.readFile get.cargo;
  Pkg = builtins.derivation {
    name = "pkg-1.2.3";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" ''
      ${bb} mkdir -p $out/bin
      ${bb} cat ${get.tool} ${get.data}/f > $out/share
      printf '#!%s sh\n%s cat %s\n' ${bb} ${bb} $out/share > $out/bin/pkg
      ${bb} chmod +x $out/bin/pkg
    '' ];
  };
}
"##;

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

#[test]
fn pins_and_sources_are_locked_shown_evaluated_built_and_run() {
    let w = World::new();
    w.git_atom(&["resolve"]).success();
    let lock = w.lock();

    // The git pin: the commit of `v1`, and the NAR hash Nix gives the same commit's files.
    let v1 = w.env.git_ok(&w.nixlib, &["rev-parse", "v1^{commit}"]);
    assert_eq!(w.locked("pin", "nixlib", true, "rev"), v1.trim());
    let checkout = w.env.path("nixlib-v1");
    w.env.git_ok(
        w.env.root(),
        &[
            "clone",
            "-q",
            "--branch",
            "v1",
            w.nixlib.to_str().unwrap(),
            checkout.to_str().unwrap(),
        ],
    );
    std::fs::remove_dir_all(checkout.join(".git")).unwrap();
    assert_eq!(
        w.locked("pin", "nixlib", true, "hash"),
        w.nix_hash("path", &checkout)
    );
    // The dependency's own pin, owned by it, with its entry.
    assert_eq!(w.locked("pin", "nixlib", false, "rev"), v1.trim());
    assert_eq!(w.locked("pin", "nixlib", false, "entry"), "answer.nix");
    // The tarball pin: the NAR hash of its single top-level directory, unpacked.
    assert_eq!(
        w.locked("pin", "tarlib", true, "hash"),
        w.nix_hash("path", &w.env.path("tarlib-src/tarlib-1.0"))
    );
    // The URL source: interpolated with the atom's version, the flat hash of the file.
    assert_eq!(
        w.locked("src", "tool", true, "url"),
        w.http.file_url("tool-1.2.3.txt")
    );
    assert_eq!(
        w.locked("src", "tool", true, "hash"),
        w.nix_hash("file", &w.http.files.join("tool-1.2.3.txt"))
    );
    // The path sources: the directory's tree, the single file's blob, their NAR hashes.
    let tree = w.env.git_ok(&w.repo, &["rev-parse", "HEAD:data"]);
    assert_eq!(w.locked("src", "data", true, "tree"), tree.trim());
    assert_eq!(w.locked("src", "data", true, "path"), "data");
    assert_eq!(
        w.locked("src", "data", true, "hash"),
        w.nix_hash("path", &w.repo.join("data"))
    );
    let blob = w.env.git_ok(&w.repo, &["rev-parse", "HEAD:Cargo.lock"]);
    assert_eq!(w.locked("src", "cargo", true, "blob"), blob.trim());
    assert_eq!(
        w.locked("src", "cargo", true, "hash"),
        w.nix_hash("path", &w.repo.join("Cargo.lock"))
    );

    // Deterministic: a second resolve writes the same bytes, and --locked agrees.
    w.git_atom(&["resolve"]).success();
    assert_eq!(w.lock(), lock);
    w.git_atom(&["resolve", "--locked"]).success();

    // show lists each with its locked value.
    let show = json(&w.git_atom(&["show", "--json"]).success());
    let row = |name: &str| {
        show["deps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {show}"))
    };
    assert_eq!(row("nixlib")["kind"], "pin");
    assert_eq!(row("nixlib")["locked"], v1.trim());
    assert_eq!(
        row("tool")["locked"],
        w.locked("src", "tool", true, "hash").as_str()
    );
    assert_eq!(row("data")["locked"], format!("tree {}", tree.trim()));
    assert_eq!(row("cargo")["locked"], format!("blob {}", blob.trim()));

    // Evaluation: touching `get.tool` fetches nothing (the file is not even served now), and
    // every other value comes from the lock.
    let served = w.http.files.join("tool-1.2.3.txt");
    std::fs::rename(&served, w.env.path("tool-aside")).unwrap();
    let config = w.config();
    let eval = w
        .eka(&["eval", "--json", "--config", &config, ".", "--no-cache"])
        .success();
    let v = json(&eval);
    assert_eq!(v["greeting"], "hello atom", "the pin at v1, not main");
    assert_eq!(v["dep"], "dep:42");
    assert_eq!(v["tar"], 7);
    assert_eq!(v["data"], "data\n");
    assert_eq!(v["cargo"], "# a lock\n");
    let tool = v["tool"].as_str().unwrap();
    assert!(tool.ends_with("-tool-1.2.3.txt"), "{tool}");
    let plan = json(
        &w.eka(&["plan", "--json", "--config", &config, ".", "pkg"])
            .success(),
    );
    assert!(plan["drvPath"]
        .as_str()
        .unwrap()
        .ends_with("-pkg-1.2.3.drv"));
    std::fs::rename(w.env.path("tool-aside"), &served).unwrap();

    // Build: the builder fetches the URL source from the loopback server.
    let built = w.eka(&["build", "--config", &config, ".", "pkg"]).success();
    let out = built.stdout.trim();
    assert_eq!(out, plan["outputs"]["out"].as_str().unwrap());
    let run = w.eka(&["run", "--config", &config, ".", "pkg"]).success();
    assert_eq!(run.stdout, format!("{TOOL}data\n"));
}

#[test]
fn drift_is_found_by_locked_and_update_moves_only_what_it_names() {
    let w = World::new();
    w.git_atom(&["resolve"]).success();
    let v1 = w.env.git_ok(&w.nixlib, &["rev-parse", "v1^{commit}"]);
    let main = w.env.git_ok(&w.nixlib, &["rev-parse", "main"]);
    assert_ne!(v1, main);
    let manifest = w.app.join("atom.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();

    // A changed ref is drift.
    let moved = text.replacen("ref = \"v1\"", "ref = \"main\"", 1);
    std::fs::write(&manifest, &moved).unwrap();
    let run = w.git_atom(&["resolve", "--locked"]).code(1);
    assert!(
        run.stderr
            .contains("atom.lock is not current: `pins.nixlib` changed since it was locked"),
        "{}",
        run.stderr
    );
    w.git_atom(&["resolve"]).success();
    assert_eq!(w.locked("pin", "nixlib", true, "rev"), main.trim());
    // The dependency's pin stays where its own lock has it.
    assert_eq!(w.locked("pin", "nixlib", false, "rev"), v1.trim());

    // The branch moves on: nothing changes until `--update nixlib` says so.
    w.env.write(&w.nixlib, "answer.nix", "{ answer = 43; }\n");
    let newer = w.env.commit_all(&w.nixlib, "newer");
    w.env.git_ok(
        &w.nixlib,
        &[
            "push",
            "-q",
            w.env.path("srv/nixlib.git").to_str().unwrap(),
            "main",
        ],
    );
    let before = w.lock();
    w.git_atom(&["resolve"]).success();
    assert_eq!(w.lock(), before, "a locked pin stays");
    w.git_atom(&["resolve", "--update", "tool"]).success();
    assert_eq!(w.lock(), before, "updating a source leaves the pin");
    w.git_atom(&["resolve", "--update", "nixlib"]).success();
    assert_eq!(w.locked("pin", "nixlib", true, "rev"), newer.trim());
    assert_ne!(w.lock(), before);

    // A path source whose content changed is drift, found without network.
    w.git_atom(&["resolve", "--locked"]).success();
    w.env.write(&w.repo, "data/f", "other data\n");
    let run = w.git_atom(&["resolve", "--locked"]).code(1);
    assert!(
        run.stderr
            .contains("atom.lock is not current: `srcs.data` changed since it was locked"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`srcs.cargo`"), "{}", run.stderr);
    w.git_atom(&["resolve"]).success();
    assert_eq!(
        w.locked("src", "data", true, "hash"),
        w.nix_hash("path", &w.repo.join("data"))
    );
    w.git_atom(&["resolve", "--locked"]).success();

    // A changed URL (through the atom's version) is drift of the source.
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("version = \"1.2.3\"", "version = \"1.2.4\"", 1),
    )
    .unwrap();
    let run = w.git_atom(&["resolve", "--locked"]).code(1);
    assert!(run.stderr.contains("`srcs.tool`"), "{}", run.stderr);
    let before = w.lock();
    let run = w.git_atom(&["resolve"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "`srcs.tool`: cannot download {}",
            w.http.file_url("tool-1.2.4.txt")
        )),
        "{}",
        run.stderr
    );
    assert_eq!(w.lock(), before, "a failed resolve writes nothing");
}

#[test]
fn a_tampered_download_fails_the_build_and_a_tampered_tarball_the_evaluation() {
    let w = World::new();
    w.git_atom(&["resolve"]).success();
    let config = w.config();
    // The server now serves other bytes for the source: the builder's hash check refuses them.
    std::fs::write(w.http.files.join("tool-1.2.3.txt"), "evil\n").unwrap();
    let run = w.eka(&["build", "--config", &config, ".", "pkg"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("hash mismatch"), "{}", run.stderr);
    assert!(run.stderr.contains("tool-1.2.3.txt"), "{}", run.stderr);
    // The positive twin: the right bytes build.
    std::fs::write(w.http.files.join("tool-1.2.3.txt"), TOOL).unwrap();
    w.eka(&["build", "--config", &config, ".", "pkg"]).success();

    // A tarball pin is downloaded on the host before evaluation, checked there, and kept
    // unpacked in the cache: with the server's copy gone, evaluation still has it.
    let served = w.http.files.join("tarlib.tar.gz");
    std::fs::rename(&served, w.env.path("tarlib-aside")).unwrap();
    let run = w
        .eka(&["eval", "--config", &config, "--no-cache", ".", "tar"])
        .success();
    assert_eq!(run.stdout.trim(), "7");
    std::fs::rename(w.env.path("tarlib-aside"), &served).unwrap();
    // Without the cached copy it is downloaded again, and other bytes are refused.
    std::fs::remove_dir_all(w.env.home().join(".cache/atom/unpacked")).unwrap();
    let tar_src = w.env.path("tarlib-src");
    std::fs::write(tar_src.join("tarlib-1.0/default.nix"), "{ y = 8; }\n").unwrap();
    let tar = w
        .env
        .command(&tar_src, "tar")
        .args(["-czf"])
        .arg(w.http.files.join("tarlib.tar.gz"))
        .arg("tarlib-1.0")
        .status()
        .unwrap();
    assert!(tar.success());
    let run = w
        .eka(&["eval", "--config", &config, "--no-cache", ".", "tar"])
        .code(125);
    assert!(
        run.stderr.contains(&format!(
            "`pins.tarlib`: the download of {} has the hash ",
            w.http.file_url("tarlib.tar.gz")
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("run `git atom resolve --update <name>`"),
        "{}",
        run.stderr
    );
}

/// A dependency's path sources (a directory, published as a subatomic, and a single file) are
/// not part of its atom: evaluation fetches them by id from the dependency's repository, once,
/// and so for an atom evaluated by URI.
#[test]
fn a_dependencys_path_sources_are_fetched_from_its_repository() {
    require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
    let srv = env.path("srv");
    std::fs::create_dir_all(&srv).unwrap();
    let daemon = GitDaemon::start(&env, &srv);
    env.write(
        &env.path("nix-conf"),
        "nix.conf",
        "# the test's own, empty\n",
    );
    let dep = env.init("dep");
    env.init_bare("srv/dep.git");
    env.git_ok(
        &dep,
        &[
            "remote",
            "add",
            "origin",
            env.path("srv/dep.git").to_str().unwrap(),
        ],
    );
    env.write(&dep, "README", "dep\n");
    env.commit_all(&dep, "root");
    env.write(&dep, "vendor/v.txt", "vendored\n");
    env.write(&dep, "vendor/sub/w.txt", "deeper\n");
    env.write(&dep, "config.txt", "config\n");
    env.write(
        &dep,
        "dep/atom.toml",
        "[atom]\nid = \"dep\"\nversion = \"1.0.0\"\n\n[srcs.vendor]\npath = \"../vendor\"\n\n\
         [srcs.cfg]\npath = \"../config.txt\"\n",
    );
    env.write(
        &dep,
        "dep/mod.nix",
        "{ Word = builtins.readFile \"${get.vendor}/v.txt\" + builtins.readFile \"${get.vendor}/sub/w.txt\" + builtins.readFile get.cfg; }\n",
    );
    // Path sources are locked from the committed tree.
    env.commit_all(&dep, "dep");
    env.git(&dep.join("dep"), ["atom", "resolve"]).success();
    env.commit_all(&dep, "dep's lock");
    env.git_ok(&dep, &["push", "-q", "origin", "main"]);
    env.git(&dep, ["atom", "publish"]).success();
    let vendor_tree = env.git_ok(&dep, &["rev-parse", "HEAD:vendor"]);

    let app = env.init("app");
    env.write(
        &app,
        "app/atom.toml",
        &format!(
            "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.dep]\nurl = \"{}\"\nversion = \"1\"\n",
            daemon.url("dep.git")
        ),
    );
    env.write(&app, "app/mod.nix", "{ Dep = from.dep.word; }\n");
    env.git(&app.join("app"), ["atom", "resolve"]).success();
    env.commit_all(&app, "app");
    let lock = std::fs::read_to_string(app.join("app/atom.lock")).unwrap();
    assert!(lock.contains(vendor_tree.trim()), "{lock}");

    let eka = |cwd: &Path, args: &[&str], cache: &str| {
        let out = env
            .command(cwd, "eka-run")
            .args(args)
            .env("NIX_CONF_DIR", env.path("nix-conf"))
            .env("NIX_USER_CONF_FILES", env.path("nix-conf/nix.conf"))
            .env("XDG_CACHE_HOME", env.path(cache))
            .output()
            .expect("run eka-run");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(run.code, 0, "{run:?}");
        json(&run)
    };
    let expected = "vendored\ndeeper\nconfig\n";
    let before = daemon.upload_packs().len();
    let v = eka(
        &app.join("app"),
        &["eval", "--json", ".", "--no-cache"],
        "cache",
    );
    assert_eq!(v["dep"], expected);
    // Everything came from the dependency's repository.
    let connections = daemon.upload_packs().split_off(before);
    assert!(
        !connections.is_empty() && connections.iter().all(|c| c == "dep.git"),
        "{connections:?}"
    );
    // Once: a second evaluation finds it all in the cache.
    let before = daemon.upload_packs().len();
    let v = eka(
        &app.join("app"),
        &["eval", "--json", ".", "--no-cache"],
        "cache",
    );
    assert_eq!(v["dep"], expected);
    assert_eq!(daemon.upload_packs().len(), before);
    // The dependency by URI, with an empty cache: its own path sources come the same way.
    let uri = format!("{}::dep", daemon.url("dep.git"));
    let v = eka(
        env.root(),
        &["eval", "--json", &uri, "--no-cache"],
        "cache2",
    );
    assert_eq!(v["word"], expected);
}

#[test]
fn a_file_source_keeps_its_mode_an_executable_and_a_symbolic_link_included() {
    require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
    let repo = env.init("repo");
    env.write(&repo, "tools/run.sh", "#!/bin/sh\necho tool\n");
    set_mode(&repo.join("tools/run.sh"), 0o755);
    env.write(&repo, "tools/plain.txt", "plain\n");
    std::os::unix::fs::symlink("plain.txt", repo.join("tools/link")).unwrap();
    env.write(
        &repo,
        "app/atom.toml",
        "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[srcs.tool]\npath = \"../tools/run.sh\"\n\n\
         [srcs.plain]\npath = \"../tools/plain.txt\"\n\n[srcs.link]\npath = \"../tools/link\"\n",
    );
    env.write(
        &repo,
        "app/mod.nix",
        "{ Tool = builtins.readFile get.tool; Plain = builtins.readFile get.plain; \
         Link = \"${get.link}\"; }\n",
    );
    env.commit_all(&repo, "app");
    let app = repo.join("app");
    env.git(&app, ["atom", "resolve"]).success();
    let lock = std::fs::read_to_string(app.join("atom.lock")).unwrap();
    // Each file is locked with the hash of what it is: three different kinds of NAR.
    let hashes: Vec<&str> = lock.lines().filter(|l| l.starts_with("hash = ")).collect();
    assert_eq!(hashes.len(), 3, "{lock}");

    let eval = env.eka_run(&app, &["eval", "--json", "."]).success();
    let v = json(&eval);
    assert_eq!(v["tool"], "#!/bin/sh\necho tool\n");
    assert_eq!(v["plain"], "plain\n");
    let link = v["link"].as_str().unwrap();
    assert!(
        link.starts_with("/nix/store/") && link.ends_with("-link"),
        "{link}"
    );

    // The mode is part of what is locked: without the executable bit the lock is stale.
    set_mode(&repo.join("tools/run.sh"), 0o644);
    let run = env.git(&app, ["atom", "resolve", "--locked"]).code(1);
    assert!(run.stderr.contains("`srcs.tool` changed"), "{}", run.stderr);
    assert!(!run.stderr.contains("`srcs.plain`"), "{}", run.stderr);
}
