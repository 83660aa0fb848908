//! `git clone/fetch/ls-remote/push atom::<uri>` through the real git, over every real transport
//! on loopback: plain paths, `file://`, `git://` (git daemon), smart HTTP (lighttpd running
//! git http-backend) and `ssh://` (OpenSSH sshd).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use atom_tests::{GitDaemon, HttpServer, SshServer, TestEnv};

/// A source repository whose atoms are published to a bare repository `srv/remote.git`:
/// `foo` 0.1.0, 1.0.0, 1.1.0 and 2.0.0-rc.1, and `bar` 0.1.0, with unrelated history around them.
pub struct Fixture {
    pub env: TestEnv,
    pub src: PathBuf,
    pub remote: PathBuf,
}

impl Fixture {
    /// A copy of the fixture, which is built once per test process (under the target
    /// directory) and copied for each test.
    pub fn new() -> Self {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        let template = TEMPLATE.get_or_init(|| {
            let built = Fixture::build();
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("remote-fixture");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            atom_tests::copy_tree(built.env.root(), &dir);
            dir
        });
        let env = TestEnv::new();
        atom_tests::copy_tree(template, env.root());
        let remote = env.path("srv/remote.git");
        let src = env.path("src");
        env.git_ok(
            &src,
            &["remote", "set-url", "origin", remote.to_str().unwrap()],
        );
        Fixture { env, src, remote }
    }

    fn build() -> Self {
        let env = TestEnv::new();
        let remote = env.init_bare("srv/remote.git");
        let src = env.init("src");
        env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
        env.write(&src, "README", "not part of any atom\n");
        env.write(&src, "big/history.txt", &"source history\n".repeat(100));
        env.commit_all(&src, "unrelated history");
        let fixture = Fixture { env, src, remote };
        fixture.publish("pkgs/bar", "bar", "0.1.0");
        for v in ["0.1.0", "1.0.0", "1.1.0", "2.0.0-rc.1"] {
            fixture.publish("pkgs/foo", "foo", v);
        }
        fixture
    }

    /// Commits `label` at `version` in `dir` and publishes it to the bare remote.
    pub fn publish(&self, dir: &str, label: &str, version: &str) {
        let env = &self.env;
        env.atom(&self.src, dir, label, version);
        env.write(
            &self.src,
            "big/history.txt",
            &format!("history before {label} {version}\n"),
        );
        env.commit_all(&self.src, &format!("{label} {version}"));
        env.git_ok(&self.src, &["push", "-q", "origin", "main"]);
        env.git(&self.src, ["atom", "publish", dir]).success();
    }

    /// Commits `label` at `version` and publishes it only in the source repository.
    pub fn publish_locally(&self, dir: &str, label: &str, version: &str) {
        let env = &self.env;
        env.atom(&self.src, dir, label, version);
        env.commit_all(&self.src, &format!("{label} {version}"));
        env.git(&self.src, ["atom", "publish", "--local", dir])
            .success();
    }

    /// The commit `ref` names in the source repository.
    pub fn src_ref(&self, name: &str) -> String {
        self.env.git_ok(&self.src, &["rev-parse", name])
    }

    /// The commit `ref` names on the bare remote, if it exists.
    pub fn remote_ref(&self, name: &str) -> Option<String> {
        let run = self
            .env
            .git(&self.remote, ["rev-parse", "--verify", "-q", name]);
        (run.code == 0).then(|| run.stdout.trim().to_owned())
    }
}

/// Files in a working tree, without `.git`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Clone, ls-remote, fetch and push through `atom::<url>::foo`, where `url` reaches the
/// fixture's bare remote.
pub fn exercise(f: &Fixture, url: &str, name: &str) {
    let env = &f.env;
    let work = env.path(&format!("clones-{name}"));
    std::fs::create_dir_all(&work).unwrap();

    // Clone: exactly the atom's files, on a branch named after the atom, at the highest release.
    let clone = env
        .git(&work, ["clone", &format!("atom::{url}::foo")])
        .success();
    assert!(
        clone.stderr.contains("Cloning into 'foo'"),
        "{}",
        clone.stderr
    );
    let dir = work.join("foo");
    assert_eq!(files(&dir), ["atom.toml", "mod.nix"]);
    assert_eq!(
        env.git_ok(&dir, &["symbolic-ref", "HEAD"]),
        "refs/heads/foo"
    );
    assert_eq!(
        env.git_ok(&dir, &["rev-parse", "HEAD"]),
        f.src_ref("refs/atoms/foo/1.1.0")
    );
    // Only the atom commit and its tree came: no source history.
    let objects = env.git_ok(&dir, &["rev-list", "--objects", "--all"]);
    assert_eq!(objects.lines().count(), 4, "{objects}");
    let source = env.git_ok(&dir, &["show", "-s", "--format=%(trailers)%B", "HEAD"]);
    assert!(source.starts_with("atom: foo@1.1.0"), "{source}");
    let main = f.src_ref("main");
    assert_ne!(
        env.git(&dir, ["cat-file", "-e", &main]).code,
        0,
        "source history was fetched"
    );

    // ls-remote lists the versions the requirement accepts.
    let ls = env
        .git(&work, ["ls-remote", &format!("atom::{url}::foo@^1")])
        .success();
    let names: Vec<&str> = ls
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    assert_eq!(
        names,
        [
            "refs/atoms/foo/1.0.0",
            "refs/atoms/foo/1.1.0",
            "refs/heads/foo",
            "HEAD"
        ],
        "{}",
        ls.stdout
    );
    let pre = env
        .git(
            &work,
            ["ls-remote", &format!("atom::{url}::foo@>=2.0.0-rc.1")],
        )
        .success();
    assert!(
        pre.stdout.contains("refs/atoms/foo/2.0.0-rc.1"),
        "{}",
        pre.stdout
    );

    // A new release: fetch moves the remote-tracking branch, as a forced update.
    f.publish("pkgs/foo", "foo", &format!("1.2.{}", name.len()));
    let newest = f.src_ref(&format!("refs/atoms/foo/1.2.{}", name.len()));
    let fetch = env.git(&dir, ["fetch"]).success();
    assert!(fetch.stderr.contains("(forced update)"), "{}", fetch.stderr);
    assert_eq!(
        env.git_ok(&dir, &["rev-parse", "refs/remotes/origin/foo"]),
        newest
    );

    // Push adds a new atom...
    let version = format!("1.3.{}", name.len());
    f.publish_locally("pkgs/foo", "foo", &version);
    let new_ref = format!("refs/atoms/foo/{version}");
    assert_eq!(f.remote_ref(&new_ref), None);
    // (Its source first, as `git atom publish` requires: a pushed atom is checked the same way.)
    env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    env.git(&f.src, ["push", &format!("atom::{url}::foo"), &new_ref])
        .success();
    assert_eq!(f.remote_ref(&new_ref), Some(f.src_ref(&new_ref)));
    // ...and never replaces one, even with --force.
    let before = f.remote_ref("refs/atoms/foo/1.0.0");
    let push = env.git(
        &f.src,
        [
            "push",
            "--force",
            &format!("atom::{url}::foo"),
            &format!("{new_ref}:refs/atoms/foo/1.0.0"),
        ],
    );
    assert_ne!(push.code, 0, "{}", push.stderr);
    assert!(push.stderr.contains("already exists"), "{}", push.stderr);
    assert_eq!(f.remote_ref("refs/atoms/foo/1.0.0"), before);

    // Resolution over the same transport (its listing and fetches on one protocol v2
    // session), and `show` of a remote atom.
    let app = env.init(&format!("app-{name}"));
    // (A manifest names a local repository with a `file://` URL.)
    let url = if url.starts_with('/') {
        format!("file://{url}")
    } else {
        url.to_owned()
    };
    env.write(
        &app,
        "atom.toml",
        &format!(
            "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.foo]\nurl = \"{url}\"\nversion = \"1\"\n\n\
             [deps.bar]\nurl = \"{url}\"\nversion = \"0.1\"\n"
        ),
    );
    env.git(&app, ["atom", "resolve"]).success();
    let lock = atom_lib::Lock::parse(
        std::fs::read_to_string(app.join("atom.lock"))
            .unwrap()
            .as_bytes(),
        "atom.lock",
    )
    .unwrap();
    let locked: Vec<(String, String, String)> = lock
        .atoms
        .iter()
        .map(|a| {
            (
                a.label.to_string(),
                a.version.to_string(),
                a.commit.to_string(),
            )
        })
        .collect();
    assert_eq!(
        locked,
        [
            (
                "bar".to_owned(),
                "0.1.0".to_owned(),
                f.src_ref("refs/atoms/bar/0.1.0")
            ),
            (
                "foo".to_owned(),
                version.clone(),
                f.remote_ref(&new_ref).unwrap()
            ),
        ]
    );
    let show = env
        .git(&app, ["atom", "show", &format!("{url}::foo@^1")])
        .success();
    assert!(
        show.stdout.starts_with(&format!("foo {version}\n")),
        "{}",
        show.stdout
    );
}

#[test]
fn over_plain_paths() {
    let f = Fixture::new();
    exercise(&f, f.remote.to_str().unwrap(), "path");
}

#[test]
fn over_relative_paths() {
    let f = Fixture::new();
    // git runs the helper in the directory the command was run in.
    let clone = f
        .env
        .git(
            f.env.root(),
            ["clone", "-q", "atom::./srv/remote.git::foo@^1.0", "rel"],
        )
        .success();
    assert_eq!(clone.stderr, "");
    assert_eq!(files(&f.env.path("rel")), ["atom.toml", "mod.nix"]);
}

#[test]
fn over_file_urls() {
    let f = Fixture::new();
    exercise(&f, &format!("file://{}", f.remote.display()), "file");
}

#[test]
fn over_git_daemon() {
    let f = Fixture::new();
    let daemon = GitDaemon::start(&f.env, &f.env.path("srv"));
    exercise(&f, &daemon.url("remote.git"), "git");
}

#[test]
fn over_smart_http() {
    let f = Fixture::new();
    let server = HttpServer::start(&f.env, &f.env.path("srv"));
    exercise(&f, &server.url("remote.git"), "http");
}

#[test]
fn over_ssh() {
    let f = Fixture::new();
    let server = SshServer::start(&f.env);
    exercise(&f, &server.url(&f.remote), "ssh");
}

/// A `core.sshCommand` with arguments (`ssh -i <key> ...`, the usual CI setup) runs as git runs
/// it: the program is OpenSSH by its first word's name, so no connection first asks it
/// (`<command> -G <host>`, an extra ssh process each time), and it gets OpenSSH's options.
#[test]
fn an_ssh_command_with_arguments_is_not_probed() {
    let f = Fixture::new();
    let env = &f.env;
    let server = SshServer::start(env);
    // A program named `ssh` that logs its arguments and runs the real one.
    let real = env
        .run(env.root(), "sh", ["-c", "command -v ssh"])
        .success()
        .stdout
        .trim()
        .to_owned();
    let log = env.path("ssh.log");
    let wrapper = env.path("wrap/ssh");
    env.write(
        env.root(),
        "wrap/ssh",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >>'{}'\nexec '{real}' \"$@\"\n",
            log.display()
        ),
    );
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let command = server
        .ssh_command()
        .replacen("ssh", wrapper.to_str().unwrap(), 1);
    env.git_ok(
        env.root(),
        &["config", "--global", "core.sshCommand", &command],
    );
    let url = server.url(&f.remote);

    let ls = env.git(env.root(), ["atom", "ls", &url]).success();
    assert!(ls.stdout.contains("foo"), "{}", ls.stdout);
    env.git(env.root(), ["clone", &format!("atom::{url}::foo")])
        .success();
    assert_eq!(files(&env.path("foo")), ["atom.toml", "mod.nix"]);

    let calls = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert!(calls.len() >= 2, "{calls:#?}");
    for call in &calls {
        assert!(!call.contains(" -G "), "a probe: {calls:#?}");
        // OpenSSH's options, as git passes them: the port and the protocol version.
        assert!(
            call.contains(&format!("-p {}", server.port))
                || call.contains(&format!("-p{}", server.port)),
            "{calls:#?}"
        );
        assert!(call.contains("git-upload-pack"), "{calls:#?}");
    }
}

/// A repository named by a plain path whose server side allows filters
/// (`uploadpack.allowFilter`): git filters from it only as a `file://` URL, so clone, verify
/// of the clone and verify of a URI work as from the URL. An atom with nested directories,
/// whose trees and blobs a filter leaves out.
#[test]
fn over_plain_paths_that_allow_filters() {
    let f = Fixture::new();
    let env = &f.env;
    env.git_ok(&f.remote, &["config", "uploadpack.allowFilter", "true"]);
    env.write(&f.src, "pkgs/deep/lib/inner/x.nix", "1\n");
    env.write(&f.src, "pkgs/deep/lib/y.nix", "2\n");
    f.publish("pkgs/deep", "deep", "1.0.0");
    let path = f.remote.to_str().unwrap().to_owned();
    let dir = env.path("deep");
    let clone = env.git(env.root(), ["clone", &format!("atom::{path}::deep")]);
    assert_eq!(clone.code, 0, "{}", clone.stderr);
    assert_eq!(
        files(&dir),
        ["atom.toml", "lib/inner/x.nix", "lib/y.nix", "mod.nix"]
    );
    let verify = env.git(&dir, ["atom", "verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("ok"), "{}", verify.stdout);
    assert!(verify.stdout.contains("source"), "{}", verify.stdout);
    for address in [path.as_str(), "srv/remote.git"] {
        let uri = env.git(
            env.root(),
            ["atom", "verify", &format!("{address}::deep@1")],
        );
        assert_eq!(uri.code, 0, "{address}: {}{}", uri.stdout, uri.stderr);
        assert!(uri.stdout.contains("source"), "{}", uri.stdout);
    }
}

/// A server that does not filter (`git daemon`'s default: `uploadpack.allowFilter` unset) makes
/// a check fetch the whole source snapshot; that is said on stderr (a warning when it is
/// large), and not said once the server filters.
#[test]
fn a_server_that_does_not_filter_is_named() {
    let f = Fixture::new();
    let env = &f.env;
    // 2 MiB that do not compress, outside the atom.
    let mut state: u32 = 0x9e37_79b9;
    let noise: Vec<u8> = (0..(2 << 20))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::create_dir_all(f.src.join("big")).unwrap();
    std::fs::write(f.src.join("big/noise.bin"), noise).unwrap();
    f.publish("pkgs/foo", "foo", "4.0.0");
    let daemon = GitDaemon::start(env, &env.path("srv"));
    let uri = format!("{}::foo@=4.0.0", daemon.url("remote.git"));

    let verify = env.git(env.root(), ["atom", "verify", &uri]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("source"), "{}", verify.stdout);
    assert!(
        verify.stderr.contains("does not filter")
            && verify.stderr.contains("uploadpack.allowFilter"),
        "{}",
        verify.stderr
    );

    env.git_ok(&f.remote, &["config", "uploadpack.allowFilter", "true"]);
    let verify = env.git(env.root(), ["atom", "-v", "verify", &uri]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("source"), "{}", verify.stdout);
    assert!(
        !verify.stderr.contains("does not filter"),
        "{}",
        verify.stderr
    );
}
