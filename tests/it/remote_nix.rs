//! Nix as a client: `builtins.fetchGit` with an atom's ref, on each local remote (a path,
//! `git daemon`, smart HTTP and ssh), returns exactly the atom's tree, with the real
//! `nix-instantiate` on a chroot store of the test's own.

use atom_tests::{require_program, GitDaemon, HttpServer, SshServer};

use crate::remote_transport::Fixture;

/// Evaluates `builtins.fetchGit { url; ref; }` and returns `rev`, the top-level names and the
/// manifest's text, as JSON.
fn fetch_git(f: &Fixture, url: &str, name: &str) -> serde_json::Value {
    let nix = require_program("nix-instantiate", "nix-bin");
    let state = f.env.path("nix");
    let expr = format!(
        r#"let t = builtins.fetchGit {{ url = "{url}"; ref = "{name}"; }};
           in {{ rev = t.rev; files = builtins.attrNames (builtins.readDir t);
                 manifest = builtins.readFile (t + "/atom.toml"); }}"#
    );
    // A Nix configuration of the test's own: nothing from the host's.
    let conf = state.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("nix.conf"),
        "build-users-group =\nsubstituters =\nsandbox = false\n",
    )
    .unwrap();
    let out = f
        .env
        .command(f.env.root(), nix)
        .args([
            "--eval",
            "--strict",
            "--json",
            "--read-write-mode",
            "--store",
        ])
        .arg(state.join("store"))
        .args(["-E", &expr])
        .env("NIX_STATE_DIR", state.join("state"))
        .env("NIX_LOG_DIR", state.join("log"))
        .env("NIX_CONF_DIR", &conf)
        .env("NIX_USER_CONF_FILES", conf.join("nix.conf"))
        .env("XDG_CACHE_HOME", state.join("cache"))
        .env("NIX_PATH", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nix-instantiate failed for {url}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(f: &Fixture, url: &str) {
    let name = "refs/atoms/foo/1.1.0";
    let got = fetch_git(f, url, name);
    assert_eq!(got["rev"], f.src_ref(name).as_str(), "{url}");
    assert_eq!(
        got["files"],
        serde_json::json!(["atom.toml", "mod.nix"]),
        "{url}"
    );
    let manifest = f
        .env
        .git_ok(&f.src, &["show", &format!("{name}:atom.toml")]);
    assert_eq!(
        got["manifest"].as_str().unwrap().trim_end(),
        manifest,
        "{url}"
    );
}

#[test]
fn fetch_git_returns_exactly_the_atom() {
    let f = Fixture::new();
    check(&f, &format!("file://{}", f.remote.display()));
    let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
    check(&f, &daemon.url("remote.git"));
    let http = HttpServer::start(&f.env, &f.env.path("srv"));
    check(&f, &http.url("remote.git"));
    let ssh = SshServer::start(&f.env);
    check(&f, &ssh.url(&f.remote));
}
