//! Remotes that try to hold or flood the tools: a server that answers a fetch with progress
//! messages forever, one that lists more refs than a listing may bring. Each runs on loopback
//! in front of a real `git daemon` serving the fixture's repository
//! ([`atom_tests::HostileProxy`]), and each hostile case beside its honest twin.

use std::path::Path;
use std::time::Duration;

use atom_tests::{GitDaemon, HostileProxy, Hostility, Run};

use crate::remote_transport::Fixture;

/// Longer than any bounded command may take with `atom.timeout = 5`: the test fails (and the
/// command is killed) past it.
const LIMIT: Duration = Duration::from_secs(60);

/// What every command says when the server only ever sends progress, with `atom.timeout = 5`
/// (so `atom.progressTimeout` is 20 s).
fn endless(url: &str) -> String {
    format!(
        "remote `{url}`: progress messages but no data for 20 s, gave up (the limit is \
         `atom.progressTimeout`, in seconds)"
    )
}

/// The fixture's remote served by a daemon behind a hostile proxy, with `atom.timeout = 5`.
struct Served {
    f: Fixture,
    _daemon: GitDaemon,
    proxy: HostileProxy,
    url: String,
}

impl Served {
    fn new(mode: Hostility) -> Self {
        let f = Fixture::new();
        let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
        let proxy = HostileProxy::start(daemon.port, mode);
        let url = proxy.url("remote.git");
        f.env.append_global_config("[atom]\n\ttimeout = 5\n");
        Served {
            f,
            _daemon: daemon,
            proxy,
            url,
        }
    }

    /// `program args...` in `cwd`, which must end within [`LIMIT`].
    fn run(&self, cwd: &Path, program: &str, args: &[&str]) -> Run {
        self.f.env.run_within(cwd, program, args, LIMIT)
    }

    /// Whether the user's atom cache holds `oid`.
    fn cached(&self, oid: &str) -> bool {
        let cache = self.f.env.home().join(".cache/atom/atoms.git");
        cache.exists() && self.f.env.git(&cache, ["cat-file", "-e", oid]).code == 0
    }

    /// Quarantines left in the user's atom caches.
    fn quarantines(&self) -> Vec<String> {
        let mut left = Vec::new();
        for repo in ["atoms.git", "index.git"] {
            let dir = self.f.env.home().join(".cache/atom").join(repo);
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("atom-quarantine-") {
                    left.push(name);
                }
            }
        }
        left
    }
}

#[test]
fn endless_progress_ends_show() {
    let s = Served::new(Hostility::Honest);
    let uri = format!("{}::foo", s.url);
    let root = s.f.env.root();
    let honest = s.run(root, "git", &["atom", "show", &uri]).success();
    assert!(
        honest.stdout.starts_with("foo 1.1.0\n"),
        "{}",
        honest.stdout
    );
    // `show` admitted the atom's manifest into the index: forget it, so that it is fetched again.
    std::fs::remove_dir_all(s.f.env.home().join(".cache/atom/index.git")).unwrap();
    s.proxy.set(Hostility::EndlessProgress);
    let run = s.run(root, "git", &["atom", "show", &uri]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains(&endless(&s.url)), "{}", run.stderr);
    assert!(s.proxy.answered() >= 1);
    assert_eq!(s.quarantines(), Vec::<String>::new());
}

#[test]
fn endless_progress_ends_clone() {
    let s = Served::new(Hostility::Honest);
    let uri = format!("atom::{}::foo", s.url);
    let root = s.f.env.root();
    s.run(root, "git", &["clone", "-q", &uri, "ok"]).success();
    assert_eq!(
        s.f.env.git_ok(&s.f.env.path("ok"), &["rev-parse", "HEAD"]),
        s.f.src_ref("refs/atoms/foo/1.1.0")
    );
    s.proxy.set(Hostility::EndlessProgress);
    let run = s.run(root, "git", &["clone", &uri, "held"]);
    assert_eq!(run.code, 128, "{}", run.stderr);
    let fatal: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("fatal:"))
        .collect();
    assert_eq!(
        fatal,
        [format!(
            "fatal: cannot fetch atom `foo`: {}",
            endless(&s.url)
        )],
        "{}",
        run.stderr
    );
    assert!(!s.f.env.path("held").exists());
    assert!(s.proxy.answered() >= 1);
}

#[test]
fn endless_progress_ends_add() {
    let s = Served::new(Hostility::EndlessProgress);
    let env = &s.f.env;
    let app = env.init("app");
    env.atom(&app, "app", "app", "0.1.0");
    env.commit_all(&app, "app");
    let dir = app.join("app");
    let manifest = std::fs::read_to_string(dir.join("atom.toml")).unwrap();
    let uri = format!("{}::foo", s.url);
    let run = s.run(&dir, "git", &["atom", "add", &uri]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains(&endless(&s.url)), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("atom.toml")).unwrap(),
        manifest
    );
    assert!(!dir.join("atom.lock").exists());
    assert!(s.proxy.answered() >= 1);
    assert_eq!(s.quarantines(), Vec::<String>::new());
    // The honest twin adds the dependency and locks it.
    s.proxy.set(Hostility::Honest);
    s.run(&dir, "git", &["atom", "add", &uri]).success();
    let added = std::fs::read_to_string(dir.join("atom.toml")).unwrap();
    assert!(added.contains("[deps.foo]"), "{added}");
    assert!(dir.join("atom.lock").exists());
}

#[test]
fn endless_progress_ends_eka_run_eval() {
    let s = Served::new(Hostility::EndlessProgress);
    let uri = format!("{}::foo", s.url);
    let atom = s.f.src_ref("refs/atoms/foo/1.1.0");
    let root = s.f.env.root();
    let run = s.run(root, "eka-run", &["eval", "--json", &uri, "name"]);
    assert_eq!(run.code, 125, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
    assert!(lines[0].starts_with("eka-run: "), "{}", run.stderr);
    assert!(lines[0].ends_with(&endless(&s.url)), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(!s.cached(&atom), "nothing of the atom was admitted");
    assert_eq!(s.quarantines(), Vec::<String>::new());
    // Through the honest twin the atom is fetched (evaluating it needs Nix, which this test
    // does not ask for: the fetch is what the server controls).
    s.proxy.set(Hostility::Honest);
    let _ = s.run(root, "eka-run", &["eval", "--json", &uri, "name"]);
    assert!(s.cached(&atom), "the honest server's atom was fetched");
}

#[test]
fn a_listing_over_the_bounds_is_refused() {
    let s = Served::new(Hostility::Refs(50));
    let env = &s.f.env;
    let root = env.root();
    // Within the bounds, all 50 are listed.
    env.append_global_config("[atom]\n\tlistMaxRefs = 50\n");
    let ls = s.run(root, "git", &["atom", "ls", &s.url]).success();
    // A header, then one line per atom.
    assert_eq!(
        ls.stdout.lines().filter(|l| l.contains(" 1.0.0")).count(),
        50,
        "{}",
        ls.stdout
    );
    assert!(ls.stdout.contains("a49"), "{}", ls.stdout);
    // One ref fewer allowed: refused, by `ls` and by the remote helper.
    env.append_global_config("[atom]\n\tlistMaxRefs = 49\n");
    let refused = format!(
        "remote `{}`: the listing has more than 49 refs, refused (the limit is \
         `atom.listMaxRefs`)",
        s.url
    );
    let ls = s.run(root, "git", &["atom", "ls", &s.url]);
    assert_ne!(ls.code, 0, "{}", ls.stdout);
    assert_eq!(ls.stdout, "");
    assert!(ls.stderr.contains(&refused), "{}", ls.stderr);
    let clone = s.run(
        root,
        "git",
        &["clone", &format!("atom::{}::a1", s.url), "c"],
    );
    assert_eq!(clone.code, 128, "{}", clone.stderr);
    assert!(clone.stderr.contains(&refused), "{}", clone.stderr);
    assert!(!env.path("c").exists());
    // A protocol v2 session (show's) is bounded the same way.
    let show = s.run(root, "git", &["atom", "show", &format!("{}::a1", s.url)]);
    assert_ne!(show.code, 0, "{}", show.stdout);
    assert!(show.stderr.contains(&refused), "{}", show.stderr);
    // The bytes are bounded too: 50 refs of about 60 bytes are more than 1k.
    env.append_global_config("[atom]\n\tlistMaxRefs = 1000\n\tlistMaxBytes = 1k\n");
    let ls = s.run(root, "git", &["atom", "ls", &s.url]);
    assert_ne!(ls.code, 0, "{}", ls.stdout);
    assert!(
        ls.stderr.contains(&format!(
            "remote `{}`: the listing is larger than 1024 bytes, refused (the limit is \
             `atom.listMaxBytes`)",
            s.url
        )),
        "{}",
        ls.stderr
    );
    assert!(s.proxy.answered() >= 4);
}

#[test]
fn a_bad_listing_bound_is_named() {
    let s = Served::new(Hostility::Honest);
    s.f.env
        .append_global_config("[atom]\n\tlistMaxRefs = many\n");
    let ls = s.run(s.f.env.root(), "git", &["atom", "ls", &s.url]);
    assert_ne!(ls.code, 0);
    assert!(
        ls.stderr
            .contains("invalid `atom.listMaxRefs` value `many`: expected a whole number above 0"),
        "{}",
        ls.stderr
    );
}

#[test]
fn objects_a_fetch_did_not_want_are_not_admitted() {
    // The server adds the source branch, with its history, to every pack it sends.
    let f = Fixture::new();
    let source = f.src_ref("refs/heads/main");
    let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
    let proxy = HostileProxy::start(
        daemon.port,
        Hostility::ExtraObjects(f.remote.clone(), source.clone()),
    );
    let url = proxy.url("remote.git");
    let env = &f.env;
    let app = env.init("app");
    env.write(
        &app,
        "app/atom.toml",
        &format!(
            "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.foo]\nurl = \"{url}\"\nversion = \"1\"\n"
        ),
    );
    env.write(&app, "app/mod.nix", "{ }\n");
    env.commit_all(&app, "app");
    let dir = app.join("app");
    env.run_within(&dir, "git", ["atom", "resolve"], LIMIT)
        .success();
    assert!(proxy.answered() >= 1, "the hostile server sent its packs");
    // The genuine atom is resolved and its commit admitted ...
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    assert!(lock.contains("1.1.0"), "{lock}");
    let index = env.home().join(".cache/atom/index.git");
    let has = |oid: &str| env.git(&index, ["cat-file", "-e", oid]).code == 0;
    let atom = f.src_ref("refs/atoms/foo/1.1.0");
    assert!(has(&atom), "the atom commit was admitted");
    // ... and nothing of the source history is.
    assert!(!has(&source), "the source commit was admitted");
    let first = env.git_ok(&f.src, &["rev-list", "--max-parents=0", "HEAD"]);
    assert!(!has(&first), "the first source commit was admitted");
    let history = env.git_ok(&f.src, &["rev-parse", "HEAD:big/history.txt"]);
    assert!(!has(&history), "a source blob was admitted");
}
