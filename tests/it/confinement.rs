//! A hostile dependency gets nothing through a link: pins whose tarball's top entry, or an
//! entry inside it, is a symbolic link out of the tree (absolute, relative, `/oldroot`, or a
//! chain of links), and git pins whose tree holds one, are refused before anything is bound into
//! the sandbox, by `git atom resolve` and by `eka-run eval|build` (with and without
//! `--best-effort`), with a clear error, no secret in it, and nothing left in the cache; so is a
//! dependency atom whose tree holds such a link (which `git atom publish` refuses to make). The
//! positive twin in the same world: a tarball with links that stay inside evaluates.

use std::path::{Path, PathBuf};

use atom_tests::{require_program, HttpServer, Run, TestEnv};

const SECRET: &str = "TOPSECRET-7f3a9c";

struct World {
    env: TestEnv,
    http: HttpServer,
    app: PathBuf,
    victim: PathBuf,
}

impl World {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let env = TestEnv::new();
        let srv = env.path("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let http = HttpServer::start(&env, &srv);
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            "# the test's own, empty\n",
        );
        let victim = env.path("victim");
        env.write(&victim, "secret", SECRET);

        // The good tarball: a link that stays inside.
        let good = env.path("mk/good/pkg");
        env.write(&good, "default.nix", "{ y = 7; }\n");
        std::os::unix::fs::symlink("default.nix", good.join("same.nix")).unwrap();
        let w = World {
            app: env.path("app/app"),
            env,
            http,
            victim,
        };
        w.tar("good", "good.tar.gz");

        let repo = w.env.init("app");
        w.env.write(
            &repo,
            "app/atom.toml",
            &format!(
                "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[pins.p]\nurl = \"{}\"\n",
                w.http.file_url("good.tar.gz")
            ),
        );
        w.env.write(
            &repo,
            "app/mod.nix",
            "{ Y = from.p.y; Leak = builtins.readDir /eka-deps/pins; }\n",
        );
        w.env.commit_all(&repo, "app");
        w
    }

    /// Archives `mk/<dir>`'s single entry into the served file `name` (links kept as links).
    fn tar(&self, dir: &str, name: &str) {
        let from = self.env.path(&format!("mk/{dir}"));
        let flags = if name.ends_with(".gz") { "-czf" } else { "-cf" };
        let entries: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries.len(), 1, "{dir}");
        let ok = self
            .env
            .command(&from, "tar")
            .arg(flags)
            .arg(self.http.files.join(name))
            .arg(&entries[0])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn eka(&self, args: &[&str]) -> Run {
        self.env.eka_run(&self.app, args)
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.app.join("atom.lock")).unwrap()
    }

    fn cache(&self, sub: &str) -> PathBuf {
        self.env.home().join(".cache/atom").join(sub)
    }

    /// Points the pin at `name` in the manifest and, as an attacker who controls a lock would,
    /// in the lock too, with the NAR hash of `mk/<dir>`'s top entry (what Nix would check).
    fn forge(&self, good_lock: &str, dir: &str, name: &str) {
        let good_url = self.http.file_url("good.tar.gz");
        let url = self.http.file_url(name);
        let manifest = std::fs::read_to_string(self.app.join("atom.toml")).unwrap();
        let manifest = manifest.replace(&good_url, &url);
        std::fs::write(self.app.join("atom.toml"), manifest).unwrap();
        let top = std::fs::read_dir(self.env.path(&format!("mk/{dir}")))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let hash = atom_lib::nar::hash_path(&top).unwrap().to_string();
        let good_hash = atom_lib::nar::hash_path(&self.env.path("mk/good/pkg"))
            .unwrap()
            .to_string();
        assert!(good_lock.contains(&good_hash), "{good_lock}");
        let lock = good_lock
            .replace(&good_url, &url)
            .replace(&good_hash, &hash);
        std::fs::write(self.app.join("atom.lock"), lock).unwrap();
    }
}

fn assert_refused(run: &Run, what: &str, entry: &str, secret_dir: &Path) {
    assert_ne!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains(SECRET), "{run:?}");
    assert!(!run.stderr.contains(SECRET), "{run:?}");
    assert!(
        run.stderr.contains(what) && run.stderr.contains(entry),
        "expected `{what}` and `{entry}` in:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(secret_dir.join("secret").exists());
}

#[test]
fn tarball_pins_with_links_out_of_their_tree_are_refused_everywhere() {
    let w = World::new();
    // The positive twin: resolved, evaluated, and the inner link kept.
    w.env.git(&w.app, ["atom", "resolve"]).success();
    let good_lock = w.lock();
    let run = w.eka(&["eval", "--no-cache", ".", "y"]).success();
    assert_eq!(run.stdout.trim(), "7");

    let victim = w
        .victim
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let cases: [(&str, String, &str); 4] = [
        // (directory, link target at the top or inside, the entry named)
        ("abs", format!("/oldroot/{victim}"), "`top`"),
        ("rel", format!("{}{victim}", "../".repeat(12)), "`top`"),
        ("host", format!("/{victim}"), "`top`"),
        (
            "inner",
            format!("{}{victim}", "../".repeat(12)),
            "`pkg/leak`",
        ),
    ];
    for (dir, target, entry) in &cases {
        let mk = w.env.path(&format!("mk/{dir}"));
        if *dir == "inner" {
            w.env.write(&mk.join("pkg"), "default.nix", "{ y = 8; }\n");
            std::os::unix::fs::symlink(target, mk.join("pkg/leak")).unwrap();
        } else {
            std::fs::create_dir_all(&mk).unwrap();
            std::os::unix::fs::symlink(target, mk.join("top")).unwrap();
        }
        let name = format!("{dir}.tar");
        w.tar(dir, &name);
        // The control: on the host, the link does reach the secret.
        let through = if *dir == "inner" {
            mk.join("pkg/leak")
        } else {
            mk.join("top")
        };
        if *dir != "abs" {
            assert_eq!(
                std::fs::read_to_string(
                    std::fs::canonicalize(mk.join(&through))
                        .unwrap()
                        .join("secret")
                )
                .unwrap(),
                SECRET
            );
        }

        // Locking it is refused, and the lock is left as it was.
        w.forge(&good_lock, dir, &name);
        std::fs::write(w.app.join("atom.lock"), &good_lock).unwrap();
        let run = w.env.git(&w.app, ["atom", "resolve"]);
        assert_refused(&run, "pins.p", entry, &w.victim);
        assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
        assert_eq!(w.lock(), good_lock);

        // A lock that claims it anyway (with the link's own NAR hash): eka-run refuses it
        // before evaluating, sandboxed or not, for eval and for build.
        w.forge(&good_lock, dir, &name);
        for args in [
            &["eval", "--no-cache", ".", "leak"][..],
            &["eval", "--no-cache", "--best-effort", ".", "leak"],
            &["build", ".", "y"],
        ] {
            let run = w.eka(args).code(125);
            assert_refused(&run, "pins.p", entry, &w.victim);
            assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
        }
        // Nothing of it is kept: the cache holds only the good tarball.
        let kept: Vec<_> = std::fs::read_dir(w.cache("unpacked"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        std::fs::write(w.app.join("atom.lock"), &good_lock).unwrap();
        let manifest = std::fs::read_to_string(w.app.join("atom.toml")).unwrap();
        std::fs::write(
            w.app.join("atom.toml"),
            manifest.replace(&w.http.file_url(&name), &w.http.file_url("good.tar.gz")),
        )
        .unwrap();
    }
    // And the good one still evaluates.
    let run = w.eka(&["eval", "--no-cache", ".", "y"]).success();
    assert_eq!(run.stdout.trim(), "7");
}

#[test]
fn a_git_pin_whose_tree_links_out_is_refused_at_export() {
    let w = World::new();
    // A plain repository over smart HTTP whose tree holds a link out, inside a directory.
    let lib = w.env.init("lib");
    w.env.write(&lib, "default.nix", "{ y = 9; }\n");
    std::fs::create_dir_all(lib.join("sub")).unwrap();
    let target = format!("{}{}", "../".repeat(12), w.victim.to_str().unwrap());
    std::os::unix::fs::symlink(&target, lib.join("sub/leak")).unwrap();
    w.env.commit_all(&lib, "lib");
    w.env.init_bare("srv/lib.git");
    let bare = w.env.path("srv/lib.git");
    w.env
        .git_ok(&lib, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let manifest = format!(
        "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[pins.g]\ngit = \"{}\"\nref = \"main\"\n",
        w.http.url("lib.git")
    );
    std::fs::write(w.app.join("atom.toml"), manifest).unwrap();
    std::fs::write(w.app.join("mod.nix"), "{ Y = from.g.y; }\n").unwrap();
    w.env.git(&w.app, ["atom", "resolve"]).success();
    for args in [
        &["eval", "--no-cache", ".", "y"][..],
        &["eval", "--no-cache", "--best-effort", ".", "y"],
    ] {
        let run = w.eka(args).code(125);
        assert_refused(&run, "pins.g", "`sub/leak`", &w.victim);
        assert!(
            run.stderr
                .contains("is a symbolic link that leads out of its tree"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_dependency_atom_whose_tree_links_out_is_refused_at_export() {
    let w = World::new();
    let srv = w.env.path("srv");
    let daemon = atom_tests::GitDaemon::start(&w.env, &srv);
    // A genuine atom first; then the publisher adds a link out of the atom, which `git atom
    // publish` refuses, and publishes 1.0.1 anyway with plain git: an atom commit built from
    // the format's fields (reproducible, so it passes the structure check).
    let dep = w.env.init("evil");
    w.env.init_bare("srv/evil.git");
    let bare = w.env.path("srv/evil.git");
    w.env
        .git_ok(&dep, &["remote", "add", "origin", bare.to_str().unwrap()]);
    w.env.write(
        &dep,
        "evil/atom.toml",
        "[atom]\nid = \"evil\"\nversion = \"1.0.0\"\n",
    );
    w.env.write(&dep, "evil/mod.nix", "{ W = 1; }\n");
    w.env.commit_all(&dep, "evil");
    w.env.git_ok(&dep, &["push", "-q", "origin", "main"]);
    w.env.git(&dep, ["atom", "publish"]).success();
    w.env.write(
        &dep,
        "evil/atom.toml",
        "[atom]\nid = \"evil\"\nversion = \"1.0.1\"\n",
    );
    std::fs::create_dir_all(dep.join("evil/sub")).unwrap();
    let target = format!("{}{}", "../".repeat(12), w.victim.to_str().unwrap());
    std::os::unix::fs::symlink(&target, dep.join("evil/sub/leak")).unwrap();
    let source = w.env.commit_all(&dep, "evil 1.0.1");
    let refused = w.env.git(&dep, ["atom", "publish", "--local"]).code(1);
    assert!(
        refused.stderr.contains(
            "`evil/sub/leak` is a symbolic link that leads out of its atom, which consumers refuse"
        ),
        "{}",
        refused.stderr
    );
    assert!(w.env.refs(&dep, "refs/atoms/evil/1.0.1").is_empty());
    let tree = w.env.git_ok(&dep, &["rev-parse", "HEAD:evil"]);
    let forged = atom_lib::AtomCommit {
        format: atom_lib::Format::Atom1,
        tree: tree.trim().parse().unwrap(),
        source: source.trim().parse().unwrap(),
        path: Some(atom_lib::AtomPath::new("evil").unwrap()),
        label: "evil".parse().unwrap(),
        version: "1.0.1".parse().unwrap(),
    };
    let mut hash = w
        .env
        .command(&dep, "git")
        .args(["hash-object", "-t", "commit", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut hash.stdin.take().unwrap(), &forged.to_bytes()).unwrap();
    let out = hash.wait_with_output().unwrap();
    let commit = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    w.env
        .git_ok(&dep, &["update-ref", "refs/atoms/evil/1.0.1", &commit]);
    w.env.git_ok(
        &dep,
        &["push", "-q", "origin", "main", "refs/atoms/evil/1.0.1"],
    );

    let manifest = format!(
        "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[deps.evil]\nurl = \"{}\"\nversion = \"1\"\n",
        daemon.url("evil.git")
    );
    std::fs::write(w.app.join("atom.toml"), manifest).unwrap();
    std::fs::write(w.app.join("mod.nix"), "{ W = from.evil.w; }\n").unwrap();
    w.env.git(&w.app, ["atom", "resolve"]).success();
    for args in [
        &["eval", "--no-cache", ".", "w"][..],
        &["eval", "--no-cache", "--best-effort", ".", "w"],
    ] {
        let run = w.eka(args).code(125);
        assert_refused(&run, "evil@1.0.1", "`sub/leak`", &w.victim);
        assert!(
            run.stderr
                .contains("is a symbolic link that leads out of its tree"),
            "{}",
            run.stderr
        );
    }
    // Nothing of it is kept among the shared exports.
    let exports = w.cache("exports");
    let kept: Vec<_> = std::fs::read_dir(&exports)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        kept.iter()
            .all(|name| name.to_string_lossy().starts_with('.')),
        "{kept:?}"
    );
}
