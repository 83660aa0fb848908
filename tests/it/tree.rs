//! `git atom tree`: the closure a lock pins as a tree, inverted (`-i`), its duplicates, as JSON
//! and as Graphviz DOT rendered by the real `dot`, for an atom directory and an atom URI.

use std::path::{Path, PathBuf};

use atom_tests::{require_program, GitDaemon, Run, TestEnv};

/// Repositories under `srv/`, served by one `git daemon`:
/// - `core.git`: `base` 1.0.0, 1.2.0 and 2.0.0;
/// - `nixlib.git`: a plain git repository (a pin);
/// - `mid.git`: `mid` 1.0.0 (needs `base` ^1.0, pins `nixlib`) and `mid2` 1.0.0 (needs `base`
///   ^1.1, has the path source `data`), published with their locks;
/// - `app.git`: `app` 0.1.0, needing `mid` ^1, `mid2` ^1 as `two`, `base` ^2 and its sibling
///   `ユーティル` by path (as `util`), published with its lock.
///
/// Three levels (app, mid, base), a diamond (app -> mid, mid2 -> base 1.2.0), two majors of
/// `base`, a pin and a source.
struct World {
    env: TestEnv,
    daemon: GitDaemon,
    app: PathBuf,
}

fn publish(env: &TestEnv, repo: &Path, what: &[&str]) {
    env.commit_all(repo, "atoms");
    env.git_ok(repo, &["push", "-q", "origin", "main"]);
    let mut args = vec!["atom", "publish"];
    args.extend_from_slice(what);
    env.git(repo, args).success();
}

impl World {
    fn new() -> Self {
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let daemon = GitDaemon::start(&env, &env.path("srv"));

        let core = env.served_repo("core");
        for v in ["1.0.0", "1.2.0", "2.0.0"] {
            env.atom(&core, "base", "base", v);
            publish(&env, &core, &["base"]);
        }
        let nixlib = env.served_repo("nixlib");
        env.write(&nixlib, "answer.nix", "42\n");
        env.commit_all(&nixlib, "answer");
        env.git_ok(&nixlib, &["push", "-q", "origin", "main"]);

        let (core_url, nixlib_url) = (daemon.url("core.git"), daemon.url("nixlib.git"));
        let mid = env.served_repo("mid");
        env.write(
            &mid,
            "mid/atom.toml",
            &format!(
                "[atom]\nid = \"mid\"\nversion = \"1.0.0\"\n\n[deps.base]\nurl = \"{core_url}\"\nversion = \"1.0\"\n\n[pins.nixlib]\ngit = \"{nixlib_url}\"\nref = \"main\"\nentry = \"answer.nix\"\n"
            ),
        );
        env.write(
            &mid,
            "mid2/atom.toml",
            &format!(
                "[atom]\nid = \"mid2\"\nversion = \"1.0.0\"\n\n[deps.base]\nurl = \"{core_url}\"\nversion = \"1.1\"\n\n[srcs.data]\npath = \"../data\"\n"
            ),
        );
        env.write(&mid, "data/f", "data\n");
        // Path sources are locked from the committed tree.
        env.commit_all(&mid, "mid atoms");
        for dir in ["mid", "mid2"] {
            env.git(&mid.join(dir), ["atom", "resolve"]).success();
        }
        publish(&env, &mid, &[]);

        let app = env.served_repo("app");
        env.write(
            &app,
            "util/atom.toml",
            "[atom]\nid = \"ユーティル\"\nversion = \"0.1.0\"\n",
        );
        let mid_url = daemon.url("mid.git");
        env.write(
            &app,
            "app/atom.toml",
            &format!(
                "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.mid]\nurl = \"{mid_url}\"\nversion = \"1\"\n\n[deps.two]\nurl = \"{mid_url}\"\nversion = \"1\"\nlabel = \"mid2\"\n\n[deps.base]\nurl = \"{core_url}\"\nversion = \"2\"\n\n[deps.util]\npath = \"../util\"\n"
            ),
        );
        env.commit_all(&app, "app");
        env.git(&app.join("app"), ["atom", "resolve"]).success();
        publish(&env, &app, &[]);
        World {
            env,
            daemon,
            app: app.join("app"),
        }
    }

    fn tree(&self, args: &[&str]) -> Run {
        let mut all = vec!["atom", "tree"];
        all.extend_from_slice(args);
        self.env.git(&self.app, all)
    }

    /// `text` with the daemon's port and the temporary directory replaced.
    fn normalise(&self, text: &str) -> String {
        let port = format!("127.0.0.1:{}", self.daemon.port);
        self.env.normalise(text).replace(&port, "127.0.0.1:[PORT]")
    }

    /// Snapshots what a user sees, the port and ids redacted.
    fn assert_sees(&self, name: &str, run: &Run) {
        let mut settings = self.env.insta_settings();
        settings.add_filter(r"127\.0\.0\.1:[0-9]+", "127.0.0.1:[PORT]");
        let seen = self.env.snapshot(run);
        settings.bind(|| atom_tests::insta::assert_snapshot!(name, seen));
    }
}

const TREE: &str = "\
app 0.1.0 (path app)
├── base 2.0.0 (git://127.0.0.1:[PORT]/core.git)
├── mid 1.0.0 (git://127.0.0.1:[PORT]/mid.git)
│   ├── base 1.2.0 (git://127.0.0.1:[PORT]/core.git)
│   └── pin nixlib (git://127.0.0.1:[PORT]/nixlib.git main @ [SHORT-OID])
├── mid2 1.0.0 (git://127.0.0.1:[PORT]/mid.git) as two
│   ├── base 1.2.0 (git://127.0.0.1:[PORT]/core.git) (*)
│   └── src data (path data)
└── ユーティル 0.1.0 (path util) as util
";

const WHY_BASE: &str = "\
base 1.2.0 (git://127.0.0.1:[PORT]/core.git)
├── mid 1.0.0 (git://127.0.0.1:[PORT]/mid.git) requires ^1.0
│   └── app 0.1.0 (path app) requires ^1
└── mid2 1.0.0 (git://127.0.0.1:[PORT]/mid.git) requires ^1.1
    └── app 0.1.0 (path app) requires ^1 as two

base 2.0.0 (git://127.0.0.1:[PORT]/core.git)
└── app 0.1.0 (path app) requires ^2
";

/// Short object ids are redacted too (the pin's commit).
fn redact_short(text: &str) -> String {
    let short = regex::Regex::new(r"\b[0-9a-f]{12}\b").unwrap();
    short.replace_all(text, "[SHORT-OID]").into_owned()
}

#[test]
fn the_closure_as_a_tree_inverted_and_its_duplicates() {
    let w = World::new();
    let run = w.tree(&[]).success();
    w.assert_sees("tree", &run);
    assert_eq!(redact_short(&w.normalise(&run.stdout)), TREE);
    assert_eq!(run.stderr, "");

    // --depth: the atom and what it requires directly.
    let run = w.tree(&["--depth", "1"]).success();
    let shown: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(shown.len(), 5, "{}", run.stdout);
    assert!(shown[2].starts_with("├── mid 1.0.0 ("), "{}", run.stdout);
    let run = w.tree(&["--depth", "0"]).success();
    assert_eq!(w.normalise(&run.stdout), "app 0.1.0 (path app)\n");

    // Why: every path to `base`, each requirer with the requirement it states.
    let run = w.tree(&["-i", "base"]).success();
    w.assert_sees("why_base", &run);
    assert_eq!(w.normalise(&run.stdout), WHY_BASE);
    // By the name a requirer gives it, and a pin by its name.
    let run = w.tree(&["--invert", "two"]).success();
    assert_eq!(
        w.normalise(&run.stdout),
        "mid2 1.0.0 (git://127.0.0.1:[PORT]/mid.git)\n└── app 0.1.0 (path app) requires ^1 as two\n"
    );
    let run = w.tree(&["-i", "nixlib"]).success();
    assert_eq!(
        redact_short(&w.normalise(&run.stdout)),
        "pin nixlib (git://127.0.0.1:[PORT]/nixlib.git main @ [SHORT-OID])\n\
         └── mid 1.0.0 (git://127.0.0.1:[PORT]/mid.git)\n    \
         └── app 0.1.0 (path app) requires ^1\n"
    );

    // Duplicates: base in two majors, with every path to each.
    let run = w.tree(&["--duplicates"]).success();
    w.assert_sees("duplicates", &run);
    assert_eq!(w.normalise(&run.stdout), WHY_BASE);

    // A narrow terminal: lines wrap between words by display width, nothing is lost.
    let run = w.env.git(&w.app, ["atom", "tree"]);
    let wide = run.success().stdout;
    let narrow = w
        .env
        .command(&w.app, "git")
        .args(["atom", "tree"])
        .env("COLUMNS", "52")
        .output()
        .unwrap();
    assert!(narrow.status.success());
    let narrow = String::from_utf8(narrow.stdout).unwrap();
    assert!(narrow.lines().count() > wide.lines().count(), "{narrow}");
    for line in narrow.lines() {
        let columns = unicode_width::UnicodeWidthStr::width(line);
        assert!(columns <= 52, "{columns} columns: {line}\n{narrow}");
    }
    let words = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .filter(|w| !["│", "├──", "└──"].contains(w))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(words(&narrow), words(&wide));
}

#[test]
fn json_dot_and_the_remote_form() {
    let w = World::new();
    let run = w.tree(&["--json"]).success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    let edges = doc["edges"].as_array().unwrap();
    let described: Vec<String> = nodes
        .iter()
        .map(|n| {
            format!(
                "{} {} {} {}",
                n["kind"].as_str().unwrap(),
                n["label"].as_str().or(n["name"].as_str()).unwrap(),
                n["version"].as_str().unwrap_or("-"),
                n["format"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            "atom app 0.1.0 atom/1",
            "atom base 1.2.0 atom/1",
            "atom base 2.0.0 atom/1",
            "atom mid 1.0.0 atom/1",
            "atom mid2 1.0.0 atom/1",
            "atom ユーティル 0.1.0 atom/1",
            "pin nixlib - -",
            "src data - -"
        ]
    );
    assert_eq!(doc["root"], nodes[0]["key"]);
    assert_eq!(doc["targets"], serde_json::Value::Null);
    let id = |label: &str, version: &str| {
        nodes
            .iter()
            .find(|n| n["label"] == label && n["version"] == version)
            .map(|n| n["key"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let key = |kind: &str, name: &str| {
        nodes
            .iter()
            .find(|n| n["kind"] == kind && n["name"] == name)
            .map(|n| n["key"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let lock = std::fs::read_to_string(w.app.join("atom.lock")).unwrap();
    // Keys are the lock's atom keys, the locked commit and tree are the lock's.
    assert!(
        lock.contains(&format!("mid = \"{}\"", id("mid", "1.0.0"))),
        "{lock}"
    );
    let mid = nodes.iter().find(|n| n["label"] == "mid").unwrap();
    assert!(lock.contains(&format!("commit = \"{}\"", mid["commit"].as_str().unwrap())));
    assert_eq!(mid["source"], w.daemon.url("mid.git"));
    let app = id("app", "0.1.0");
    let edge_list: Vec<(String, String, String, Option<String>)> = edges
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
                e["requirement"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let s = |t: &str| t.to_owned();
    assert_eq!(
        edge_list,
        [
            (app.clone(), id("base", "2.0.0"), s("base"), Some(s("^2"))),
            (app.clone(), id("mid", "1.0.0"), s("mid"), Some(s("^1"))),
            (app.clone(), id("mid2", "1.0.0"), s("two"), Some(s("^1"))),
            (
                app.clone(),
                id("ユーティル", "0.1.0"),
                s("util"),
                Some(s("path ../util"))
            ),
            (
                id("mid", "1.0.0"),
                id("base", "1.2.0"),
                s("base"),
                Some(s("^1.0"))
            ),
            (id("mid", "1.0.0"), key("pin", "nixlib"), s("nixlib"), None),
            (
                id("mid2", "1.0.0"),
                id("base", "1.2.0"),
                s("base"),
                Some(s("^1.1"))
            ),
            (id("mid2", "1.0.0"), key("src", "data"), s("data"), None),
        ]
    );
    // With --invert, the part of the graph on a path to it.
    let run = w.tree(&["-i", "base", "--json"]).success();
    let why: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        why["targets"],
        serde_json::json!([id("base", "1.2.0"), id("base", "2.0.0")])
    );
    assert_eq!(why["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(why["edges"].as_array().unwrap().len(), 5);

    // DOT, rendered by Graphviz: every node and edge is in the picture.
    let dot = require_program("dot", "graphviz");
    let run = w.tree(&["--format", "dot"]).success();
    assert!(
        run.stdout.starts_with("digraph atoms {\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("shape=component") && run.stdout.contains("shape=note"));
    let rendered = w
        .env
        .command(&w.app, &dot)
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(run.stdout.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    let svg = String::from_utf8(rendered.stdout).unwrap();
    assert_eq!(svg.matches("class=\"node\"").count(), nodes.len(), "{svg}");
    assert_eq!(svg.matches("class=\"edge\"").count(), edges.len(), "{svg}");
    for node in nodes {
        let name = node["label"].as_str().or(node["name"].as_str()).unwrap();
        assert!(
            svg.contains(&format!(">{name}<"))
                || svg.contains(&format!(">pin {name}<"))
                || svg.contains(&format!(">src {name}<")),
            "{name} not in\n{svg}"
        );
    }
    for text in [
        ">two ^1<",
        ">base ^1.1<",
        ">util path ../util<",
        ">2.0.0<",
        ">1.2.0<",
    ] {
        assert!(svg.contains(text), "{text} not in\n{svg}");
    }

    // The remote form: the same tree, from the published app's manifest and lock.
    let uri = format!("{}::app@^0.1", w.daemon.url("app.git"));
    let run = w.env.git(w.env.root(), ["atom", "tree", &uri]).success();
    let local = w.tree(&[]).success();
    let expected = local.stdout.replacen(
        "app 0.1.0 (path app)",
        &format!("app 0.1.0 ({})", w.daemon.url("app.git")),
        1,
    );
    assert_eq!(run.stdout, expected);
    let run = w
        .env
        .git(w.env.root(), ["atom", "tree", &uri, "-i", "base"])
        .success();
    assert_eq!(
        w.normalise(&run.stdout),
        WHY_BASE.replace("(path app)", "(git://127.0.0.1:[PORT]/app.git)")
    );
    assert_eq!(run.stderr, "");
    // With an empty atom index, the requirements of `mid` and `mid2` are not at hand: the
    // paths are all there, their requirements are not, and stderr says why and what fetches
    // them.
    let fresh = w
        .env
        .command(w.env.root(), "git")
        .args(["atom", "tree", &uri, "-i", "base"])
        .env("XDG_CACHE_HOME", w.env.path("fresh-cache"))
        .output()
        .unwrap();
    assert!(fresh.status.success(), "{fresh:?}");
    let stdout = String::from_utf8(fresh.stdout).unwrap();
    assert_eq!(
        w.normalise(&stdout),
        WHY_BASE
            .replace("(path app)", "(git://127.0.0.1:[PORT]/app.git)")
            .replace(" requires ^1.0", "")
            .replace(" requires ^1.1", "")
    );
    assert_eq!(
        String::from_utf8(fresh.stderr).unwrap(),
        "not shown: what mid 1.0.0, mid2 1.0.0 require (their atom.toml is not in the atom index; `git atom resolve --locked` in an atom that locks them fetches it)\n"
    );
}

#[test]
fn bad_input_is_one_line() {
    let w = World::new();
    // An unknown name: the nearest one suggested, exit 1.
    let run = w.tree(&["-i", "bsae"]).code(1);
    w.assert_sees("unknown_name", &run);
    assert_eq!(
        run.stderr,
        "error: `bsae` is no atom, dependency, pin or source of the closure of app 0.1.0: did you mean `base`? (see `git atom tree`)\n"
    );
    assert_eq!(run.stdout, "");
    let run = w.tree(&["-i", "bsae", "--json"]).code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `base`?"));
    // Bad usage: exit 2.
    w.tree(&["--depth", "many"]).code(2);
    w.tree(&["-i", "base", "--duplicates"]).code(2);
    w.tree(&["--json", "--format", "dot"]).code(2);
    // A lock that is not current is shown as it is, with a warning saying so.
    let manifest = w.app.join("atom.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("version = \"2\"", "version = \"1\""),
    )
    .unwrap();
    let run = w.tree(&[]).success();
    assert_eq!(redact_short(&w.normalise(&run.stdout)), TREE);
    assert_eq!(
        w.normalise(&run.stderr),
        "warning: [TMP]/app/app/atom.lock is not current for its atom.toml: showing what it pins; run `git atom resolve` to lock what the manifest asks for\n"
    );
    std::fs::write(&manifest, text).unwrap();
    // No lock: the file named, and the command that makes it.
    std::fs::remove_file(w.app.join("atom.lock")).unwrap();
    let run = w.tree(&[]).code(1);
    let lock = w.app.canonicalize().unwrap().join("atom.lock");
    assert_eq!(
        w.normalise(&run.stderr),
        w.normalise(&format!(
            "error: {} does not exist: run `git atom resolve` in {} to lock the dependencies of app\n",
            lock.display(),
            w.app.canonicalize().unwrap().display()
        ))
    );
    w.assert_sees("no_lock", &run);
    // An atom without dependencies needs no lock: it is the whole tree.
    let run = w
        .env
        .git(&w.app.parent().unwrap().join("util"), ["atom", "tree"])
        .success();
    assert_eq!(run.stdout, "ユーティル 0.1.0 (path util)\n");
}
