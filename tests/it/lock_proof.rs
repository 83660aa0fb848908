//! A lock that proves itself (`docs/lock.md`, "What a lock proves"): hand-edited locks fail
//! `git atom resolve --locked`, `git atom publish` and `eka-run eval`, each naming the entry,
//! while the genuine lock passes all three; against repositories served by `git daemon`.

use std::path::PathBuf;

use atom_tests::{require_program, GitDaemon, Run, TestEnv};

/// Under `srv/`:
/// - `leaf.git`: `leaf` 1.0.0 (`Word = "leaf"`);
/// - `evil.git`: another repository's `leaf` 1.0.0 (`Word = "evil"`);
/// - `nixlib.git` and `nixlib2.git`: a legacy library (`answer.nix`), twice;
/// - `lib.git`: `lib` 1.0.0, needing `leaf` ^1 and pinning `nixlib`, published with its lock;
///
/// and `app/app`, an atom needing only `lib` ^1, locked.
struct World {
    env: TestEnv,
    daemon: GitDaemon,
    app: PathBuf,
}

impl World {
    fn new() -> Self {
        require_program("nix-instantiate", "nix-bin");
        let env = TestEnv::new();
        std::fs::create_dir_all(env.path("srv")).unwrap();
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            "# the test's own, empty\n",
        );
        for (name, word) in [("leaf", "leaf"), ("evil", "evil")] {
            let repo = env.served_repo(name);
            env.write(
                &repo,
                "leaf/atom.toml",
                "[atom]\nid = \"leaf\"\nversion = \"1.0.0\"\n",
            );
            env.write(
                &repo,
                "leaf/mod.nix",
                &format!("{{ Word = \"{word}\"; }}\n"),
            );
            env.publish_pushed(&repo);
        }
        for name in ["nixlib", "nixlib2"] {
            let repo = env.served_repo(name);
            env.write(&repo, "answer.nix", "42\n");
            env.commit_all(&repo, "answer");
            env.git_ok(&repo, &["push", "-q", "origin", "main"]);
        }
        let lib = env.served_repo("lib");
        env.write(
            &lib,
            "lib/atom.toml",
            &format!(
                "[atom]\nid = \"lib\"\nversion = \"1.0.0\"\n\n[deps.leaf]\nurl = \"{}\"\nversion = \"1\"\n\n[pins.nixlib]\ngit = \"{}\"\nref = \"main\"\nentry = \"answer.nix\"\n",
                daemon.url("leaf.git"),
                daemon.url("nixlib.git")
            ),
        );
        env.write(
            &lib,
            "lib/mod.nix",
            "{ Word = \"lib+\" + from.leaf.word; }\n",
        );
        env.git(&lib.join("lib"), ["atom", "resolve"]).success();
        env.publish_pushed(&lib);

        let app = env.init("app");
        env.write(
            &app,
            "app/atom.toml",
            &format!(
                "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.lib]\nurl = \"{}\"\nversion = \"1\"\n",
                daemon.url("lib.git")
            ),
        );
        env.write(&app, "app/mod.nix", "{ Lib = from.lib.word; }\n");
        env.git(&app.join("app"), ["atom", "resolve"]).success();
        env.commit_all(&app, "app");
        World {
            env,
            daemon,
            app: app.join("app"),
        }
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.app.join("atom.lock")).unwrap()
    }

    /// Writes `lock` as the app's lock and commits it (publish reads the committed one).
    fn edit(&self, lock: &str) {
        std::fs::write(self.app.join("atom.lock"), lock).unwrap();
        self.env
            .commit_all(self.app.parent().unwrap(), "edited lock");
    }

    /// The lock of a scratch atom needing `leaf` from `repo`: its `leaf` entry's fields.
    fn leaf_entry(&self, repo: &str) -> Entry {
        let scratch = self.env.init(&format!("scratch-{repo}"));
        self.env.write(
            &scratch,
            "s/atom.toml",
            &format!(
                "[atom]\nid = \"s\"\nversion = \"0.1.0\"\n\n[deps.leaf]\nurl = \"{}\"\nversion = \"1\"\n",
                self.daemon.url(&format!("{repo}.git"))
            ),
        );
        self.env
            .git(&scratch.join("s"), ["atom", "resolve"])
            .success();
        Entry::of(
            &std::fs::read_to_string(scratch.join("s/atom.lock")).unwrap(),
            "leaf",
        )
    }

    /// The three doors, on the app's lock as it is.
    fn doors(&self) -> [Run; 3] {
        [
            self.env.git(&self.app, ["atom", "resolve", "--locked"]),
            self.env
                .git(&self.app, ["atom", "publish", "--local", "--dry-run"]),
            self.env
                .eka_run(&self.app, &["eval", "--no-cache", "--json", "."]),
        ]
    }
}

/// The fields of one `[[atom]]` entry of a lock, by label.
#[derive(Debug)]
struct Entry {
    id: String,
    root: String,
    commit: String,
    tree: String,
    url: String,
}

impl Entry {
    fn of(lock: &str, label: &str) -> Entry {
        let block = lock
            .split("[[atom]]")
            .find(|b| b.contains(&format!("label = \"{label}\"")))
            .unwrap_or_else(|| panic!("no `{label}` in\n{lock}"));
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("no `{key}` in\n{block}"))
                .to_owned()
        };
        Entry {
            id: field("id"),
            root: field("root"),
            commit: field("commit"),
            tree: field("tree"),
            url: field("url"),
        }
    }
}

/// Asserts that each door failed (code 1 for git atom, 125 for eka-run) naming `entry` and
/// `why`.
fn assert_refused(runs: &[Run; 3], entry: &str, why: &str) {
    for (run, code) in runs.iter().zip([1, 1, 125]) {
        assert_eq!(run.code, code, "{}", run.stderr);
        assert!(
            run.stderr.contains(entry) && run.stderr.contains(why),
            "expected `{entry}` and `{why}`:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_genuine_lock_proves_itself_at_every_door() {
    let w = World::new();
    let [locked, publish, eval] = w.doors();
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    assert!(
        locked.stderr.contains("atom.lock is current"),
        "{}",
        locked.stderr
    );
    assert_eq!(publish.code, 0, "{}", publish.stderr);
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    assert_eq!(eval.stdout, "{\"lib\":\"lib+leaf\"}\n");
}

#[test]
fn a_transitive_entry_swapped_for_another_repositorys_atom_is_refused() {
    let w = World::new();
    let genuine = Entry::of(&w.lock(), "leaf");
    let evil = w.leaf_entry("evil");
    assert_ne!(genuine.id, evil.id);
    // Every field of the entry, and the key `lib` requires it by, made the other atom's: a
    // lock that is consistent in itself.
    let mut lock = w.lock();
    for (from, to) in [
        (&genuine.id, &evil.id),
        (&genuine.root, &evil.root),
        (&genuine.commit, &evil.commit),
        (&genuine.tree, &evil.tree),
        (&genuine.url, &evil.url),
    ] {
        lock = lock.replace(from.as_str(), to);
    }
    w.edit(&lock);
    let runs = w.doors();
    assert_refused(
        &runs,
        &format!("the entry leaf@1.0.0 ({}@1.0.0) does not hold", evil.id),
        "'s own atom.lock says",
    );
    assert_eq!(runs[2].stdout, "");
}

#[test]
fn a_direct_entry_with_another_atoms_commit_and_tree_is_refused_with_a_warm_cache() {
    let w = World::new();
    // Warm: the cache holds both atoms.
    w.env
        .eka_run(&w.app, &["eval", "--no-cache", "--json", "."])
        .success();
    let lib = Entry::of(&w.lock(), "lib");
    let leaf = Entry::of(&w.lock(), "leaf");
    let lock = w.lock().replace(&lib.commit, &leaf.commit).replace(
        &format!("tree = \"{}\"", lib.tree),
        &format!("tree = \"{}\"", leaf.tree),
    );
    w.edit(&lock);
    assert_refused(
        &w.doors(),
        &format!("the entry lib@1.0.0 ({}@1.0.0) does not hold", lib.id),
        "its commit is not this atom",
    );
}

#[test]
fn a_dependencys_pin_with_another_url_is_refused() {
    let w = World::new();
    let lib = Entry::of(&w.lock(), "lib");
    let lock = w
        .lock()
        .replace(&w.daemon.url("nixlib.git"), &w.daemon.url("nixlib2.git"));
    assert_ne!(lock, w.lock());
    w.edit(&lock);
    assert_refused(
        &w.doors(),
        &format!("the entry lib@1.0.0 ({}@1.0.0) does not hold", lib.id),
        "`pins.nixlib` is not what the owner's own atom.lock records",
    );
}
