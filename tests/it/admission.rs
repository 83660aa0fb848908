//! Admission at every door: a remote serving a forged atom (the genuine commit's bytes, label,
//! version, source, path and identity, with another tree: a commit reproducible from its
//! fields, so only the source check finds it) is refused by each entry point with nothing
//! written, and the genuine atom from the same remote is accepted in the same test.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use atom_tests::Run;

use crate::remote_transport::Fixture;

/// What `docs/trust.md` promises the refusal says: the atom, and the source check's finding.
const DIFFERS: &str = "differs from `pkgs/foo` in source commit";

/// A forged atom on the remote.
struct Forged {
    /// The forged commit.
    commit: String,
    /// Its tree.
    tree: String,
}

/// `git <args>` in `dir` with `input` on stdin; its trimmed stdout.
fn git_stdin(f: &Fixture, dir: &Path, args: &[&str], input: &str) -> String {
    let mut child = f
        .env
        .command(dir, "git")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Writes on the remote `foo@<version>` as the genuine `foo@<like>` commit with its tree, the
/// version in its message and its manifest swapped for a tree whose `mod.nix` says
/// `Name = "evil"`, under `refs/atoms/foo/<version>` (replacing the genuine ref when `version`
/// is `like`).
fn forge(f: &Fixture, version: &str, like: &str) -> Forged {
    let remote = &f.remote;
    let manifest = git_stdin(
        f,
        remote,
        &["hash-object", "-w", "--stdin"],
        &format!("[atom]\nid = \"foo\"\nversion = \"{version}\"\n"),
    );
    let module = git_stdin(
        f,
        remote,
        &["hash-object", "-w", "--stdin"],
        "{ Name = \"evil\"; }\n",
    );
    let tree = git_stdin(
        f,
        remote,
        &["mktree"],
        &format!("100644 blob {manifest}\tatom.toml\n100644 blob {module}\tmod.nix\n"),
    );
    let genuine = f.env.git_ok(
        remote,
        &["cat-file", "commit", &format!("refs/atoms/foo/{like}")],
    );
    let bytes: Vec<String> = genuine
        .lines()
        .map(|l| {
            if l.starts_with("tree ") {
                format!("tree {tree}")
            } else if l.starts_with("atom: ") {
                format!("atom: foo@{version}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    let commit = git_stdin(
        f,
        remote,
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        &format!("{}\n", bytes.join("\n")),
    );
    f.env.git_ok(
        remote,
        &["update-ref", &format!("refs/atoms/foo/{version}"), &commit],
    );
    Forged { commit, tree }
}

/// The remote as a URL.
pub(crate) fn url(f: &Fixture) -> String {
    f.remote.to_str().unwrap().to_owned()
}

/// Whether the repository at `dir` holds `oid`.
pub(crate) fn holds(f: &Fixture, dir: &Path, oid: &str) -> bool {
    dir.exists() && f.env.git(dir, ["cat-file", "-e", oid]).code == 0
}

/// The user's atom cache (eka-run's) and the resolver's index.
pub(crate) fn caches(f: &Fixture) -> [PathBuf; 2] {
    let base = f.env.home().join(".cache/atom");
    [base.join("atoms.git"), base.join("index.git")]
}

/// Asserts that `run` is a refusal of `foo@<version>` (the forged commit) from the remote for
/// the tree that differs from its source, in one line, and that no cache holds the forged
/// commit.
fn assert_refused(f: &Fixture, run: &Run, version: &str, forged: &Forged) {
    // The remote is shown as written (a path) or as the URL it stands for (`file://`).
    let refusal = format!(
        "refusing atom foo@{version} ({}) from ",
        &forged.commit[..12]
    );
    let reason = format!("{}: tree {} {DIFFERS}", url(f), forged.tree);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains(&refusal) && l.contains(&reason)),
        "expected `{refusal}…{reason}`:\n{}",
        run.stderr
    );
    for cache in caches(f) {
        assert!(
            !holds(f, &cache, &forged.commit),
            "{} holds the forged commit",
            cache.display()
        );
    }
}

/// An atom directory `app` in a new repository, with `atom.toml` declaring `foo` at
/// `requirement` from the fixture's remote (and no other dependency).
pub(crate) fn app(f: &Fixture, name: &str, requirement: Option<&str>) -> PathBuf {
    let repo = f.env.init(name);
    let mut manifest = "[atom]\nid = \"app\"\nversion = \"0.1.0\"\n".to_owned();
    if let Some(req) = requirement {
        manifest.push_str(&format!(
            "\n[deps.foo]\nurl = \"file://{}\"\nversion = \"{req}\"\n",
            url(f)
        ));
    }
    f.env.write(&repo, "app/atom.toml", &manifest);
    f.env.write(&repo, "app/mod.nix", "{ Name = \"app\"; }\n");
    f.env.commit_all(&repo, "app");
    repo.join("app")
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_remote_helper_refuses_a_forged_atom_at_clone() {
    let f = Fixture::new();
    let uri = format!("atom::{}::foo@=1.1.0", url(&f));
    f.env
        .git(f.env.root(), ["clone", "-q", &uri, "genuine"])
        .success();
    assert_eq!(
        read(&f.env.path("genuine/mod.nix")),
        "{ Name = \"foo\"; }\n"
    );
    let forged = forge(&f, "1.1.0", "1.1.0");
    let run = f.env.git(f.env.root(), ["clone", "-q", &uri, "forged"]);
    assert_eq!(run.code, 128, "{}", run.stderr);
    assert_refused(&f, &run, "1.1.0", &forged);
    assert!(!f.env.path("forged").exists());
}

#[test]
fn git_atom_fetch_refuses_a_forged_atom_and_writes_no_ref() {
    let f = Fixture::new();
    let genuine = f.env.init("genuine");
    let run = f.env.git(&genuine, ["atom", "fetch", &url(&f)]).success();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["foo", "1.1.0"])),
        "{}",
        run.stdout
    );
    assert_eq!(
        f.env
            .git_ok(&genuine, &["rev-parse", "refs/atoms/foo/1.1.0"]),
        f.remote_ref("refs/atoms/foo/1.1.0").unwrap()
    );

    let forged = forge(&f, "1.1.0", "1.1.0");
    let repo = f.env.init("forged");
    let run = f.env.git(&repo, ["atom", "fetch", &url(&f)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_refused(&f, &run, "1.1.0", &forged);
    assert_eq!(f.env.refs(&repo, "refs/atoms/"), Vec::<String>::new());
    assert!(!holds(&f, &repo, &forged.commit));
    // The repository that has the genuine atom says the remote now differs from it.
    let run = f.env.git(&genuine, ["atom", "fetch", &url(&f)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refs/atoms/foo/1.1.0")
            && run.stderr.contains("published atoms never change"),
        "{}",
        run.stderr
    );
}

#[test]
fn show_of_a_uri_refuses_a_forged_atom() {
    let f = Fixture::new();
    let uri = format!("{}::foo@=1.1.0", url(&f));
    let run = f.env.git(f.env.root(), ["atom", "show", &uri]).success();
    assert!(run.stdout.starts_with("foo 1.1.0\n"), "{}", run.stdout);
    let forged = forge(&f, "1.1.0", "1.1.0");
    let run = f.env.git(f.env.root(), ["atom", "show", &uri]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_refused(&f, &run, "1.1.0", &forged);
}

#[test]
fn add_and_resolve_update_refuse_a_forged_atom_and_leave_the_files() {
    let f = Fixture::new();
    // The genuine atom is added and locked.
    let dir = app(&f, "app", None);
    f.env
        .git(&dir, ["atom", "add", &format!("{}::foo@^1.0", url(&f))])
        .success();
    let lock = read(&dir.join("atom.lock"));
    assert!(
        lock.contains(&f.remote_ref("refs/atoms/foo/1.1.0").unwrap()),
        "{lock}"
    );

    // A forged newer version: `resolve --update` refuses it and changes nothing.
    let forged = forge(&f, "1.9.0", "1.1.0");
    let (manifest, lock) = (read(&dir.join("atom.toml")), read(&dir.join("atom.lock")));
    let run = f.env.git(&dir, ["atom", "resolve", "--update", "foo"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_refused(&f, &run, "1.9.0", &forged);
    assert_eq!(read(&dir.join("atom.toml")), manifest);
    assert_eq!(read(&dir.join("atom.lock")), lock);

    // `add` of it into another atom refuses it too, and writes neither file.
    let other = app(&f, "other", None);
    let before = read(&other.join("atom.toml"));
    let run = f
        .env
        .git(&other, ["atom", "add", &format!("{}::foo@^1.9", url(&f))]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_refused(&f, &run, "1.9.0", &forged);
    assert_eq!(read(&other.join("atom.toml")), before);
    assert!(!other.join("atom.lock").exists());
}

#[test]
fn eka_run_refuses_a_forged_atom_of_a_uri_and_of_a_lock() {
    let f = Fixture::new();
    let uri = format!("{}::foo@=1.1.0", url(&f));
    let run = f
        .env
        .eka_run(f.env.root(), &["eval", "--no-cache", &uri, "name"])
        .success();
    assert_eq!(run.stdout, "\"foo\"\n");
    // The app locks the genuine atom and evaluates with it.
    let dir = app(&f, "app", Some("^1.0"));
    f.env.git(&dir, ["atom", "resolve"]).success();
    f.env
        .eka_run(&dir, &["eval", "--no-cache", "--json", "."])
        .success();

    let genuine_commit = f.remote_ref("refs/atoms/foo/1.1.0").unwrap();
    let genuine_tree = f
        .env
        .git_ok(&f.remote, &["rev-parse", "refs/atoms/foo/1.1.0^{tree}"]);
    let forged = forge(&f, "1.1.0", "1.1.0");
    let run = f
        .env
        .eka_run(f.env.root(), &["eval", "--no-cache", &uri, "name"]);
    assert_eq!(run.code, 125, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_refused(&f, &run, "1.1.0", &forged);

    // A lock edited to name the forged commit and tree: refused before anything is exported.
    let lock = read(&dir.join("atom.lock"))
        .replace(&genuine_commit, &forged.commit)
        .replace(&genuine_tree, &forged.tree);
    std::fs::write(dir.join("atom.lock"), lock).unwrap();
    let run = f.env.eka_run(&dir, &["eval", "--no-cache", "--json", "."]);
    assert_eq!(run.code, 125, "{}", run.stderr);
    assert_refused(&f, &run, "1.1.0", &forged);

    // With plan records to look for, the URI's manifest and lock are read without admitting
    // anything; no record names the forged commit, so it is evaluated, which admits it whole
    // with every check: refused there.
    let empty = f.env.path("empty-binary-cache");
    std::fs::create_dir_all(&empty).unwrap();
    f.env.write(
        &f.env.path("nix-conf"),
        "nix.conf",
        &format!(
            "substituters = file://{}\ntrusted-public-keys = k-1:GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\n",
            empty.display()
        ),
    );
    let run = f.env.eka_run(f.env.root(), &["-v", "plan", &uri, "name"]);
    assert_eq!(run.code, 125, "{}", run.stderr);
    assert!(
        run.stderr.contains("no plan record at file://"),
        "{}",
        run.stderr
    );
    assert_refused(&f, &run, "1.1.0", &forged);
}
