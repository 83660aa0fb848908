//! The eka tool's atoms (`refs/eka/atoms/`, format `pre1`) through `git-remote-atom`, from a
//! repository in eka's layout served by `git daemon`: listed next to format-1 atoms, cloned
//! and fetched after the same provenance checks (eka's metadata refs included), refused when
//! tampered with, and numbered from `refs/ekala/init`.

use std::path::{Path, PathBuf};

use atom_tests::{GitDaemon, TestEnv};

const LABEL: &str = "nix-lock";
const EKA_VERSIONS: [&str; 4] = ["0.1.0", "0.1.2", "0.1.10", "0.2.0"];

/// An eka-layout repository (several versions of `nix-lock`, their metadata refs,
/// `refs/ekala/init`) that also holds format-1 atoms `hello@1.0.0` and `nix-lock@0.2.0`
/// (which shadows eka's 0.2.0), mirrored to `srv/eka.git` and served by `git daemon`.
struct Fixture {
    env: TestEnv,
    src: PathBuf,
    served: PathBuf,
    daemon: GitDaemon,
    /// The repository's root commit.
    root: String,
}

/// Writes the eka atom commit of `tree` published from `origin` into `repo`; returns its id.
fn eka_commit(env: &TestEnv, repo: &Path, tree: &str, origin: &str, version: &str) -> String {
    eka_commit_by(env, repo, tree, origin, version, " <>")
}

fn eka_commit_by(
    env: &TestEnv,
    repo: &Path,
    tree: &str,
    origin: &str,
    version: &str,
    ident: &str,
) -> String {
    let body = format!(
        "tree {tree}\nauthor {ident} 0 +0000\ncommitter {ident} 0 +0000\norigin {origin}\n\
         format pre1\n\npublish({LABEL}): {version}"
    );
    let file = env.path(&format!("body-{version}"));
    std::fs::write(&file, body).unwrap();
    env.git_ok(
        repo,
        &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()],
    )
}

/// Sets eka's refs of `nix-lock@version` in `repo`: the atom and its metadata refs.
fn eka_refs(env: &TestEnv, repo: &Path, version: &str, commit: &str, origin: &str, tree: &str) {
    for (kind, target) in [
        (format!("refs/eka/atoms/{LABEL}/{version}"), commit),
        (format!("refs/eka/meta/{LABEL}/{version}/origin"), origin),
        (format!("refs/eka/meta/{LABEL}/{version}/manifest"), tree),
    ] {
        env.git_ok(repo, &["update-ref", &kind, target]);
    }
}

/// A repository `app` holding the atom `app` 0.1.0 at `app/`: (the repository, the atom).
fn app(env: &TestEnv) -> (PathBuf, PathBuf) {
    let app = env.init("app");
    env.atom(&app, "app", "app", "0.1.0");
    let dir = app.join("app");
    (app, dir)
}

/// Mirrors `src` to `srv/<name>.git` (what `git daemon` serves); returns its path.
fn mirror(env: &TestEnv, src: &Path, name: &str) -> PathBuf {
    let served = env.path(&format!("srv/{name}.git"));
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            "--mirror",
            src.to_str().unwrap(),
            served.to_str().unwrap(),
        ],
    );
    served
}

impl Fixture {
    fn new() -> Self {
        let env = TestEnv::new();
        let src = env.init("eka");
        env.write(&src, "README", "an eka repository\n");
        let root = env.commit_all(&src, "root");
        for version in EKA_VERSIONS {
            let (commit, source, tree) = Self::eka_publish(&env, &src, version);
            eka_refs(&env, &src, version, &commit, &source, &tree);
        }
        env.git_ok(&src, &["update-ref", "refs/ekala/init", &root]);
        // Format-1 atoms in the same repository, published by this suite.
        env.atom(&src, "pkgs/hello", "hello", "1.0.0");
        env.atom(&src, "pkgs/nix-lock", LABEL, "0.2.0");
        env.commit_all(&src, "format-1 atoms");
        env.git(
            &src,
            ["atom", "publish", "--local", "pkgs/hello", "pkgs/nix-lock"],
        )
        .success();
        let served = mirror(&env, &src, "eka");
        env.git_ok(&served, &["config", "uploadpack.allowFilter", "true"]);
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        Fixture {
            env,
            src,
            served,
            daemon,
            root,
        }
    }

    /// Commits `legacy/` at `version` in `repo` (eka's manifest and a file) and writes its eka
    /// atom commit; returns (atom commit, source commit, tree).
    fn eka_publish(env: &TestEnv, repo: &Path, version: &str) -> (String, String, String) {
        env.write(
            repo,
            "legacy/atom.toml",
            &format!("[package]\nlabel = \"{LABEL}\"\nversion = \"{version}\"\n"),
        );
        env.write(repo, "legacy/lock.nix", &format!("\"{version}\"\n"));
        let source = env.commit_all(repo, &format!("nix-lock {version}"));
        let tree = env.git_ok(repo, &["rev-parse", "HEAD:legacy"]);
        let commit = eka_commit(env, repo, &tree, &source, version);
        (commit, source, tree)
    }

    fn url(&self) -> String {
        self.daemon.url("eka.git")
    }

    fn served_ref(&self, name: &str) -> String {
        self.env.git_ok(&self.served, &["rev-parse", name])
    }

    /// Publishes `legacy/` at `version` in the source and copies the objects and eka's refs to
    /// the served repository; returns (atom commit, source commit, tree).
    fn publish_served(&self, version: &str) -> (String, String, String) {
        let published = Self::eka_publish(&self.env, &self.src, version);
        self.env.git_ok(
            &self.src,
            &["push", "-q", self.served.to_str().unwrap(), "HEAD:main"],
        );
        // The atom commit and the tree are not reachable from `main`: pass them along.
        let keep = format!("refs/keep/{version}");
        self.env
            .git_ok(&self.src, &["update-ref", &keep, &published.0]);
        self.env.git_ok(
            &self.src,
            &[
                "push",
                "-q",
                self.served.to_str().unwrap(),
                &format!("{keep}:{keep}"),
            ],
        );
        published
    }

    /// [`Fixture::publish_served`], then eka's refs of that release set on the served repository.
    fn serve_release(&self, version: &str) -> (String, String, String) {
        let (commit, source, tree) = self.publish_served(version);
        eka_refs(&self.env, &self.served, version, &commit, &source, &tree);
        (commit, source, tree)
    }

    /// A release of the eka atom written for atom-nix (its `mod.nix` has `Version`), without a
    /// lock, served: [`Fixture::serve_release`].
    fn serve_module(&self, version: &str) -> (String, String, String) {
        self.env.write(
            &self.src,
            "legacy/mod.nix",
            &format!("{{ Version = \"{version}\"; }}\n"),
        );
        self.serve_release(version)
    }
}

#[test]
fn ls_remote_lists_eka_atoms_next_to_format_one_atoms() {
    let f = Fixture::new();
    let line = |name: &str| format!("{}\t{name}\n", f.served_ref(name));
    let all = f
        .env
        .git(f.env.root(), ["ls-remote", &format!("atom::{}", f.url())])
        .success();
    // Per label, format 1 first, each in semver precedence order (0.1.10 after 0.1.2).
    let mut expected = line("refs/atoms/hello/1.0.0") + &line("refs/atoms/nix-lock/0.2.0");
    for version in EKA_VERSIONS {
        expected += &line(&format!("refs/eka/atoms/{LABEL}/{version}"));
    }
    assert_eq!(all.stdout, expected);
    // The identity refs agree: no warning.
    assert_eq!(all.stderr, "");

    // One label: both formats merged per version, format 1 winning the version both have.
    let one = f
        .env
        .git(
            f.env.root(),
            ["ls-remote", &format!("atom::{}::{LABEL}", f.url())],
        )
        .success();
    let f1 = f.served_ref("refs/atoms/nix-lock/0.2.0");
    assert_eq!(
        one.stdout,
        format!(
            "{}{}{}{}{f1}\trefs/heads/{LABEL}\n{f1}\tHEAD\n",
            line("refs/eka/atoms/nix-lock/0.1.0"),
            line("refs/eka/atoms/nix-lock/0.1.2"),
            line("refs/eka/atoms/nix-lock/0.1.10"),
            line("refs/atoms/nix-lock/0.2.0"),
        )
    );
    assert_eq!(one.stderr, "");
}

#[test]
fn clones_the_highest_matching_eka_version_and_nothing_else() {
    let f = Fixture::new();
    let run = f
        .env
        .git(
            f.env.root(),
            [
                "clone",
                "-q",
                &format!("atom::{}::{LABEL}@^0.1", f.url()),
                "clone",
            ],
        )
        .success();
    assert_eq!(run.stderr, "");
    let clone = f.env.path("clone");
    let atom = f.served_ref("refs/eka/atoms/nix-lock/0.1.10");
    assert_eq!(f.env.git_ok(&clone, &["rev-parse", "HEAD"]), atom);
    assert_eq!(
        f.env.git_ok(&clone, &["symbolic-ref", "HEAD"]),
        format!("refs/heads/{LABEL}")
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("lock.nix")).unwrap(),
        "\"0.1.10\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("atom.toml")).unwrap(),
        "[package]\nlabel = \"nix-lock\"\nversion = \"0.1.10\"\n"
    );
    // Only the atom: one commit, no source history, and none of eka's metadata refs (they went
    // into the throw-away quarantine).
    assert_eq!(f.env.git_ok(&clone, &["rev-list", "--all"]), atom);
    let source = f.served_ref("refs/eka/meta/nix-lock/0.1.10/origin");
    assert_ne!(f.env.git(&clone, ["cat-file", "-e", &source]).code, 0);
    assert_eq!(f.env.refs(&clone, "refs/eka/"), Vec::<String>::new());
    // The clone verifies: eka's metadata refs are read from the atom's remote, and still not
    // kept.
    let verified = f.env.git(&clone, ["atom", "verify"]).success();
    assert_eq!(
        verified.stdout,
        "ok            nix-lock@0.1.10 (eka/pre1) (structure, source; not checked: ancestry)\n"
    );
    let verified = f
        .env
        .git(&clone, ["atom", "verify", "--ancestry"])
        .success();
    assert_eq!(
        verified.stdout,
        "ok            nix-lock@0.1.10 (eka/pre1) (structure, source, ancestry)\n"
    );
    assert_eq!(f.env.refs(&clone, "refs/eka/"), Vec::<String>::new());
    // It is the remote's metadata refs that are checked: moved there, the clone fails.
    let origin_ref = "refs/eka/meta/nix-lock/0.1.10/origin";
    f.env
        .git_ok(&f.served, &["update-ref", origin_ref, &f.root]);
    let moved = f.env.git(&clone, ["atom", "verify"]).code(1);
    assert!(
        moved.stdout.contains(&format!(
            "eka metadata ref `{origin_ref}` points at {}, but the atom's origin is {source}",
            f.root
        )),
        "{}",
        moved.stdout
    );
    f.env
        .git_ok(&f.served, &["update-ref", origin_ref, &source]);
    // And so does the atom URI, without a repository.
    let outside = f.env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = f
        .env
        .git(
            &outside,
            [
                "atom",
                "verify",
                "--ancestry",
                &format!("{}::{LABEL}@^0.1", f.url()),
            ],
        )
        .success();
    assert_eq!(
        uri.stdout,
        "ok            nix-lock@0.1.10 (eka/pre1) (structure, source, ancestry)\n"
    );
    // A newer eka release: `git fetch` moves the remote-tracking branch, `git atom update` the
    // checkout.
    let (newer, source, tree) = f.publish_served("0.1.11");
    eka_refs(&f.env, &f.served, "0.1.11", &newer, &source, &tree);
    f.env.git(&clone, ["fetch", "-q"]).success();
    assert_eq!(
        f.env.git_ok(
            &clone,
            &["rev-parse", &format!("refs/remotes/origin/{LABEL}")]
        ),
        newer
    );
    f.env.git(&clone, ["atom", "update"]).success();
    assert_eq!(f.env.git_ok(&clone, &["rev-parse", "HEAD"]), newer);
}

#[test]
fn a_tampered_eka_atom_is_refused_and_nothing_is_written() {
    let f = Fixture::new();
    let url = format!("atom::{}::{LABEL}@^0.1", f.url());
    f.env
        .git(f.env.root(), ["clone", "-q", &url, "clone"])
        .success();
    let clone = f.env.path("clone");
    let tracking = format!("refs/remotes/origin/{LABEL}");
    let before = f.env.git_ok(&clone, &["rev-parse", &tracking]);
    let refs_before = f.env.refs(&clone, "refs/");
    let (_, source, tree) = f.publish_served("0.1.11");
    let served = f.served.clone();
    let version = "0.1.11";
    let origin_ref = format!("refs/eka/meta/{LABEL}/{version}/origin");
    let manifest_ref = format!("refs/eka/meta/{LABEL}/{version}/manifest");
    // A tree that is no directory of the source: the atom's files with one more.
    let listed = f.env.git_ok(&served, &["ls-tree", &tree]);
    let blob = f
        .env
        .git_ok(&served, &["rev-parse", &format!("{source}:README")]);
    let foreign_tree = {
        let input = format!("{listed}\n100644 blob {blob}\tREADME\n");
        let out = f
            .env
            .command(&served, "git")
            .args(["mktree"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(input.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let cases: Vec<(&str, String, String, String, String)> = vec![
        // (what, atom commit, origin ref target, manifest ref target, expected finding)
        (
            "origin ref pointing elsewhere",
            eka_commit(&f.env, &served, &tree, &source, version),
            f.root.clone(),
            tree.clone(),
            format!(
                "eka metadata ref `{origin_ref}` points at {}, but the atom's origin is {source}",
                f.root
            ),
        ),
        (
            "missing metadata refs",
            eka_commit(&f.env, &served, &tree, &source, version),
            String::new(),
            String::new(),
            format!(
                "eka metadata ref `{origin_ref}` is missing; eka metadata ref `{manifest_ref}` is missing"
            ),
        ),
        (
            "a tree that is not in the source",
            eka_commit(&f.env, &served, &foreign_tree, &source, version),
            source.clone(),
            foreign_tree.clone(),
            format!(
                "tree {foreign_tree} is not a directory of source commit {}",
                &source[..12]
            ),
        ),
        (
            "a forged commit",
            eka_commit_by(&f.env, &served, &tree, &source, version, "eve <eve@example.org>"),
            source.clone(),
            tree.clone(),
            "author is `eve <eve@example.org>".to_owned(),
        ),
    ];
    for (what, commit, origin, manifest, finding) in cases {
        f.env.git_ok(
            &served,
            &[
                "update-ref",
                &format!("refs/eka/atoms/{LABEL}/{version}"),
                &commit,
            ],
        );
        for (name, target) in [(&origin_ref, &origin), (&manifest_ref, &manifest)] {
            if target.is_empty() {
                let _ = f.env.git(&served, ["update-ref", "-d", name.as_str()]);
            } else {
                f.env.git_ok(&served, &["update-ref", name, target]);
            }
        }
        let run = f.env.git(&clone, ["fetch", "-q"]);
        assert_eq!(run.code, 128, "{what}: {}", run.stderr);
        let refusal = format!(
            "fatal: refusing atom {LABEL}@{version} ({}) from {}: ",
            &commit[..12],
            f.url()
        );
        assert!(
            run.stderr.contains(&refusal) && run.stderr.contains(&finding),
            "{what}: expected `{refusal}` with `{finding}`:\n{}",
            run.stderr
        );
        // Nothing admitted, no ref written.
        assert_eq!(
            f.env.git_ok(&clone, &["rev-parse", &tracking]),
            before,
            "{what}"
        );
        assert_eq!(f.env.refs(&clone, "refs/"), refs_before, "{what}");
        assert_ne!(
            f.env.git(&clone, ["cat-file", "-e", &commit]).code,
            0,
            "{what}"
        );
    }
    // The positive case: the same version, untampered, is fetched.
    let good = eka_commit(&f.env, &served, &tree, &source, version);
    eka_refs(&f.env, &served, version, &good, &source, &tree);
    f.env.git(&clone, ["fetch", "-q"]).success();
    assert_eq!(f.env.git_ok(&clone, &["rev-parse", &tracking]), good);
}

/// The atomic number of `label` under `root`, by the rule of PRIOR-ART.md through `atom_lib`,
/// after checking that rule against its test vector.
fn atomic_number(root: &str, label: &str) -> String {
    let id = |root: &str, label: &str| {
        atom_lib::Root(root.parse().unwrap())
            .atom_id(&label.parse().unwrap())
            .to_string()
    };
    assert_eq!(
        id("4abbd2644bc3585e9be95deb277ccf48f6ed26ac", "nix-lock"),
        "r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm0"
    );
    id(root, label)
}

#[test]
fn disagreeing_identity_refs_warn_and_number_eka_atoms_from_ekala_init() {
    let f = Fixture::new();
    let ls_json = || {
        let run = f
            .env
            .git(f.env.root(), ["atom", "ls", &f.url(), "--json"])
            .success();
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (v, run.stderr)
    };
    let ids = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v["atoms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["label"].as_str().unwrap().to_owned(),
                    a["format"].as_str().unwrap().to_owned(),
                    a["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // They agree: no warning anywhere, and one number per label.
    assert_eq!(f.served_ref("refs/atoms/_root"), f.root);
    let (agree, stderr) = ls_json();
    assert_eq!(stderr, "");
    assert_eq!(agree["warnings"], serde_json::json!([]));
    let at_root = atomic_number(&f.root, LABEL);
    assert_eq!(
        ids(&agree),
        [
            (
                "hello".into(),
                "atom/1".into(),
                atomic_number(&f.root, "hello")
            ),
            (LABEL.into(), "atom/1".into(), at_root.clone()),
            (LABEL.into(), "eka/pre1".into(), at_root.clone()),
        ]
    );

    // eka's identity ref names another commit.
    let other = f.env.git_ok(&f.served, &["rev-parse", "main~1"]);
    f.env
        .git_ok(&f.served, &["update-ref", "refs/ekala/init", &other]);
    let warning = format!(
        "warning: the repository's identity refs disagree: refs/atoms/_root is {}, \
         refs/ekala/init is {other}; eka atoms are numbered from refs/ekala/init\n",
        f.root
    );
    let (disagree, stderr) = ls_json();
    assert_eq!(stderr, warning);
    assert_eq!(
        disagree["warnings"],
        serde_json::json!([warning.trim_start_matches("warning: ").trim_end()])
    );
    let at_init = atomic_number(&other, LABEL);
    assert_ne!(at_init, at_root);
    assert_eq!(
        ids(&disagree),
        [
            (
                "hello".into(),
                "atom/1".into(),
                atomic_number(&f.root, "hello")
            ),
            (LABEL.into(), "atom/1".into(), at_root),
            (LABEL.into(), "eka/pre1".into(), at_init),
        ]
    );
    // The table says it once too; `-q` leaves it out.
    let table = f.env.git(f.env.root(), ["atom", "ls", &f.url()]).success();
    assert_eq!(table.stderr, warning);
    let quiet = f
        .env
        .git(f.env.root(), ["atom", "-q", "ls", &f.url()])
        .success();
    assert_eq!(quiet.stderr, "");
    // The local listing of the source repository, the same way.
    f.env
        .git_ok(&f.src, &["update-ref", "refs/ekala/init", &other]);
    let local = f.env.git(&f.src, ["atom", "ls"]).success();
    assert_eq!(local.stderr, warning);

    // The helper says it once per listing, at its default verbosity; `-q` silences it.
    let ls = f
        .env
        .git(f.env.root(), ["ls-remote", &format!("atom::{}", f.url())])
        .success();
    assert_eq!(ls.stderr, warning);
    let clone = f
        .env
        .git(
            f.env.root(),
            [
                "clone",
                &format!("atom::{}::{LABEL}@^0.1", f.url()),
                "clone",
            ],
        )
        .success();
    assert_eq!(
        clone.stderr.matches(&warning).count(),
        1,
        "{}",
        clone.stderr
    );
    let quiet = f
        .env
        .git(
            f.env.root(),
            [
                "clone",
                "-q",
                &format!("atom::{}::{LABEL}@^0.1", f.url()),
                "quiet",
            ],
        )
        .success();
    assert_eq!(quiet.stderr, "");
}

/// A repository in the eka tool's first layout: `nix-lock` 0.1.0 and 0.2.0 at
/// `refs/atoms/<label>/<version>` on commits with headers `src`, `path` and `format 1`, each
/// with its metadata refs `refs/atoms/<label>/_specs/<version>` and `_srcs/<version>`; no
/// `refs/atoms/_root`. Served by `git daemon`.
struct Eka1 {
    env: TestEnv,
    daemon: GitDaemon,
}

impl Eka1 {
    fn new() -> Self {
        let env = TestEnv::new();
        let src = env.init("eka1");
        for version in ["0.1.0", "0.2.0"] {
            env.write(
                &src,
                "legacy/atom.toml",
                &format!("[atom]\nid = \"{LABEL}\"\nversion = \"{version}\"\n"),
            );
            let source = env.commit_all(&src, &format!("nix-lock {version}"));
            let tree = env.git_ok(&src, &["rev-parse", "HEAD:legacy"]);
            let manifest = env.git_ok(&src, &["rev-parse", "HEAD:legacy/atom.toml"]);
            let body = format!(
                "tree {tree}\nauthor  <> 0 +0000\ncommitter  <> 0 +0000\nsrc {source}\n\
                 path legacy\nformat 1\n\n{LABEL}: {version}"
            );
            let file = env.path(&format!("eka1-{version}"));
            std::fs::write(&file, body).unwrap();
            let atom = env.git_ok(
                &src,
                &["hash-object", "-t", "commit", "-w", file.to_str().unwrap()],
            );
            for (name, target) in [
                (format!("refs/atoms/{LABEL}/{version}"), &atom),
                (format!("refs/atoms/{LABEL}/_specs/{version}"), &manifest),
                (format!("refs/atoms/{LABEL}/_srcs/{version}"), &source),
            ] {
                env.git_ok(&src, &["update-ref", &name, target]);
            }
        }
        mirror(&env, &src, "eka1");
        let daemon = GitDaemon::start(&env, &env.path("srv"));
        Eka1 { env, daemon }
    }

    fn url(&self) -> String {
        self.daemon.url("eka1.git")
    }
}

#[test]
fn the_eka_tools_first_generation_is_listed_as_unsupported_and_never_taken() {
    let f = Eka1::new();
    let url = f.url();
    // Listed for what it is, its metadata refs not taken for malformed atom refs.
    let ls = f.env.git(f.env.root(), ["atom", "ls", &url]).success();
    assert_eq!(
        ls.stdout,
        "LABEL     ID  FORMAT               VERSIONS\n\
         nix-lock  -   eka/1 (unsupported)  0.1.0 0.2.0\n"
    );
    assert_eq!(ls.stderr, "");
    let json = f
        .env
        .git(f.env.root(), ["atom", "ls", "--json", &url])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        doc["atoms"],
        serde_json::json!([{
            "label": LABEL,
            "id": null,
            "format": "eka/1",
            "supported": false,
            "versions": [
                { "version": "0.1.0", "commit": f.env.git_ok(&f.env.path("srv/eka1.git"), &["rev-parse", "refs/atoms/nix-lock/0.1.0"]) },
                { "version": "0.2.0", "commit": f.env.git_ok(&f.env.path("srv/eka1.git"), &["rev-parse", "refs/atoms/nix-lock/0.2.0"]) },
            ],
        }])
    );
    assert_eq!(doc["warnings"], serde_json::json!([]));

    // Never offered, cloned, verified or added, and each says why in the same words.
    let refused = format!(
        "`{LABEL}` at {url} is published only in the eka tool's first format (eka/1) (0.1.0, \
         0.2.0), which atom does not read: republish it with `git atom publish`"
    );
    let listed = f
        .env
        .git(f.env.root(), ["ls-remote", &format!("atom::{url}")])
        .success();
    assert_eq!(listed.stdout, "");
    assert_eq!(
        listed.stderr,
        format!(
            "atom: `{LABEL}` 0.1.0, 0.2.0 is in the eka tool's first format (eka/1), which atom \
             does not read: not offered\n"
        )
    );
    let clone = f.env.git(
        f.env.root(),
        ["clone", "-q", &format!("atom::{url}::{LABEL}"), "clone"],
    );
    assert_ne!(clone.code, 0);
    assert!(clone.stderr.contains(&refused), "{}", clone.stderr);
    assert!(!f.env.path("clone").exists());
    let verify = f
        .env
        .git(f.env.root(), ["atom", "verify", &format!("{url}::{LABEL}")])
        .code(2); // a format this tool does not read
    assert!(verify.stderr.contains(&refused), "{}", verify.stderr);

    let (app, dir) = app(&f.env);
    let before = std::fs::read_to_string(dir.join("atom.toml")).unwrap();
    let add = f
        .env
        .git(&dir, ["atom", "add", &format!("{url}::{LABEL}")])
        .code(1);
    assert!(add.stderr.contains(&refused), "{}", add.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("atom.toml")).unwrap(),
        before
    );
    assert!(!dir.join("atom.lock").exists());
    // Declared by hand, the resolver names it too, not "no refs/atoms/_root".
    f.env.write(
        &app,
        "app/atom.toml",
        &format!("{before}\n[deps.{LABEL}]\nurl = \"{url}\"\nversion = \"^0.1\"\n"),
    );
    let resolve = f.env.git(&dir, ["atom", "resolve"]).code(1);
    assert!(
        resolve.stderr.contains(&format!(
            "`{LABEL}` at {url} is published only in the eka tool's first format (eka/1) \
             (0.1.0, 0.2.0), which atom does not read: republish it with `git atom publish` \
             (needed by app@0.1.0 -> deps.nix-lock)"
        )),
        "{}",
        resolve.stderr
    );
    assert!(!dir.join("atom.lock").exists());
}

#[test]
fn show_reads_an_eka_atom_numbered_from_ekala_init() {
    let f = Fixture::new();
    let uri = format!("{}::{LABEL}@^0.1", f.url());
    let id = atomic_number(&f.root, LABEL);
    let shown = f.env.git(f.env.root(), ["atom", "show", &uri]).success();
    // The highest eka version the requirement accepts, checked against eka's metadata refs
    // before it was admitted; only its [package] identity is read.
    assert_eq!(
        shown.stdout,
        format!(
            "{LABEL} 0.1.10\nformat       eka/pre1\ntype         nix:package\nid           {id}\n"
        )
    );
    let json = f
        .env
        .git(f.env.root(), ["atom", "show", "--json", &uri])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["format"], "eka/pre1");
    assert_eq!(doc["id"], id.as_str());
    assert_eq!(doc["deps"], serde_json::json!([]));
    // The format-1 atom of the same label is shown as ours.
    let ours = f
        .env
        .git(
            f.env.root(),
            [
                "atom",
                "show",
                "--json",
                &format!("{}::{LABEL}@0.2.0", f.url()),
            ],
        )
        .success();
    let doc: serde_json::Value = serde_json::from_str(&ours.stdout).unwrap();
    assert_eq!(doc["format"], "atom/1");
    assert_eq!(doc["version"], "0.2.0");
}

#[test]
fn eka_run_evaluates_an_eka_atom_written_for_atom_nix() {
    let f = Fixture::new();
    // A release of the eka atom that is an atom-nix module (its `mod.nix`), with no lock.
    f.serve_module("0.3.0");
    let uri = format!("{}::{LABEL}@0.3.0", f.url());
    let run = f
        .env
        .eka_run(f.env.root(), &["eval", "--no-cache", &uri, "version"])
        .success();
    assert_eq!(run.stdout, "\"0.3.0\"\n");

    // One with a lock (the eka tool's own format) is refused, not evaluated without its
    // dependencies.
    f.env.write(&f.src, "legacy/atom.lock", "version = 1\n");
    let (commit, _, _) = f.serve_release("0.4.0");
    let locked = format!("{}::{LABEL}@0.4.0", f.url());
    let run = f
        .env
        .eka_run(f.env.root(), &["eval", "--no-cache", &locked, "version"]);
    assert_eq!(run.code, 125, "{}", run.stderr); // eka-run's own failure
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(&format!("eka-run: atom nix-lock@0.4.0 ({commit}): ")) && run.stderr.contains("it is an eka atom (format eka/pre1) with an `atom.lock` in the eka tool's own format, whose dependencies eka-run does not fetch; only eka atoms without dependencies are evaluated"),
        "{}",
        run.stderr
    );
}

/// The entry `git atom resolve` writes for eka's `nix-lock@version` published at `commit`.
fn eka_entry(f: &Fixture, version: &str, commit: &str, tree: &str) -> String {
    format!(
        "[[atom]]\nlabel = \"{LABEL}\"\nversion = \"{version}\"\nid = \"{}\"\nroot = \"{}\"\n\
         commit = \"{commit}\"\ntree = \"{tree}\"\nformat = \"eka/pre1\"\nurl = \"{}\"\n",
        atomic_number(&f.root, LABEL),
        f.root,
        f.url()
    )
}

#[test]
fn an_eka_atom_is_a_dependency_locked_evaluated_and_verified() {
    let f = Fixture::new();
    // A release of the eka atom written for atom-nix, without dependencies.
    let (commit, source, tree) = f.serve_module("0.3.0");
    let app = f.env.init("app");
    f.env.atom(&app, "app", "app", "0.1.0");
    f.env
        .write(&app, "app/mod.nix", "{ V = from.nix-lock.version; }\n");
    let dir = app.join("app");
    let url = f.url();

    // Added with no requirement: the highest version of either format, 0.3.0 (eka's).
    let add = f
        .env
        .git(&dir, ["atom", "add", &format!("{url}::{LABEL}")])
        .success();
    assert_eq!(
        add.stderr,
        format!("added deps.{LABEL} ({LABEL}@^0.3.0)\nlocked {LABEL} 0.3.0\n")
    );
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    let key = format!("{}@0.3.0", atomic_number(&f.root, LABEL));
    assert_eq!(
        lock,
        format!(
            "# This file is written by atom; do not edit it by hand.\nversion = 1\n\n\
             [requires]\n{LABEL} = \"{key}\"\n\n{}",
            eka_entry(&f, "0.3.0", &commit, &tree)
        )
    );

    // eka-run admits it from the lock (eka's metadata refs listed on its connection): a
    // metadata ref that disagrees with the atom is refused, and nothing is cached.
    let origin_ref = format!("refs/eka/meta/{LABEL}/0.3.0/origin");
    f.env
        .git_ok(&f.served, &["update-ref", &origin_ref, &f.root]);
    let refused = f
        .env
        .eka_run(&dir, &["eval", "--no-cache", ".", "v"])
        .code(125);
    assert!(
        refused.stderr.contains(&format!(
            "eka metadata ref `{origin_ref}` points at {}, but the atom's origin is {source}",
            f.root
        )) && refused.stderr.contains(&format!("{LABEL}@0.3.0")),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stdout, "");
    f.env
        .git_ok(&f.served, &["update-ref", &origin_ref, &source]);
    let eval = f
        .env
        .eka_run(&dir, &["eval", "--no-cache", ".", "v"])
        .success();
    assert_eq!(eval.stdout, "\"0.3.0\"\n");

    // Plain Nix through atom-nix's lock.nix: the eka ref, by commit.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let expr = format!(
        "(import {}/atom-nix/lock.nix {} {{ config.system = \"x86_64-linux\"; }}).v",
        workspace.display(),
        dir.display()
    );
    let nix = f
        .env
        .eka_run(
            &dir,
            &[
                "nix-instantiate",
                "--eval",
                "--strict",
                "--read-write-mode",
                "-E",
                &expr,
            ],
        )
        .success();
    assert_eq!(nix.stdout, "\"0.3.0\"\n");

    // The lock's closure verified against the remote, eka's metadata refs included.
    let verify = f.env.git(&dir, ["atom", "verify", "--locked"]).success();
    assert!(
        verify.stdout.starts_with(&format!(
            "ok            {LABEL}@0.3.0 (eka/pre1) (structure, source"
        )),
        "{}",
        verify.stdout
    );

    // `tree` shows it as the eka tool's.
    let tree = f.env.git(&dir, ["atom", "tree", "--json"]).success();
    let doc: serde_json::Value = serde_json::from_str(&tree.stdout).unwrap();
    let formats: Vec<(&str, &str)> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["label"].as_str().unwrap(), n["format"].as_str().unwrap()))
        .collect();
    assert_eq!(formats, [("app", "atom/1"), (LABEL, "eka/pre1")]);

    // Offline, from what the index recorded: the same lock.
    std::fs::remove_file(dir.join("atom.lock")).unwrap();
    f.env.git(&dir, ["atom", "resolve", "--offline"]).success();
    assert_eq!(
        std::fs::read_to_string(dir.join("atom.lock")).unwrap(),
        lock
    );

    // A newer eka release is taken by `--update`; a format-1 atom of the same label shadows
    // eka's at its version (0.2.0) and is locked as this suite's.
    let (newer, _, newer_tree) = f.serve_module("0.3.1");
    f.env
        .git(
            &dir,
            [
                "atom",
                "add",
                "--name",
                "old",
                &format!("{url}::{LABEL}@^0.2"),
            ],
        )
        .success();
    f.env
        .git(&dir, ["atom", "resolve", "--update", LABEL])
        .success();
    let lock = std::fs::read_to_string(dir.join("atom.lock")).unwrap();
    assert!(
        lock.contains(&eka_entry(&f, "0.3.1", &newer, &newer_tree)),
        "{lock}"
    );
    let ours = f.served_ref(&format!("refs/atoms/{LABEL}/0.2.0"));
    let shadowing = lock
        .split("\n\n")
        .find(|e| e.contains("version = \"0.2.0\""))
        .unwrap();
    assert!(
        shadowing.contains(&format!("commit = \"{ours}\"")) && !shadowing.contains("format"),
        "{lock}"
    );
    let eval = f
        .env
        .eka_run(&dir, &["eval", "--no-cache", ".", "v"])
        .success();
    assert_eq!(eval.stdout, "\"0.3.1\"\n");

    // An atom that depends on an eka atom is published like any other, its lock proved first.
    f.env.commit_all(&app, "app");
    f.env
        .git(&app, ["atom", "publish", "--local", "app"])
        .success();
    assert_eq!(
        f.env
            .git_ok(&app, &["cat-file", "-p", "refs/atoms/app/0.1.0:atom.lock"])
            + "\n",
        lock
    );
}

#[test]
fn an_eka_atom_with_dependencies_is_refused_as_a_dependency() {
    let f = Fixture::new();
    // Its lock is the eka tool's: its dependencies cannot be resolved here.
    f.env.write(&f.src, "legacy/atom.lock", "version = 1\n");
    f.serve_release("0.4.0");
    let (_, dir) = app(&f.env);
    let before = std::fs::read_to_string(dir.join("atom.toml")).unwrap();
    let add = f
        .env
        .git(&dir, ["atom", "add", &format!("{}::{LABEL}@^0.4", f.url())])
        .code(1);
    assert_eq!(
        add.stderr,
        format!(
            "error: {LABEL}@0.4.0 at {} is an eka atom (format eka/pre1) with an `atom.lock` in \
             the eka tool's own format, whose dependencies atom does not resolve: only eka atoms \
             without dependencies can be dependencies; depend on a version without them, or ask \
             its publisher to publish it with `git atom publish`\n",
            f.url()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("atom.toml")).unwrap(),
        before
    );
    assert!(!dir.join("atom.lock").exists());
}
