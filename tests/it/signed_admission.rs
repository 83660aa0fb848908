//! Signatures at every door: with `atom.requireSignature` set, an atom enters a repository or
//! a cache only with a good signature by a trusted key that is not revoked. Each door refuses
//! an unsigned atom and one signed by an untrusted key, with nothing written, and accepts the
//! signed atom from the same remote in the same test.

use std::path::Path;

use atom_tests::Run;

use crate::admission::{app, caches, holds, read, url};
use crate::remote_transport::Fixture;
use crate::sign::{key, trust, use_key};

/// The fixture's remote with `foo@1.1.0` signed by alice (trusted), `bar@0.1.0` signed by
/// mallory (not trusted) and `foo@1.0.0` unsigned; signatures required from here on.
fn signed() -> Fixture {
    let f = Fixture::new();
    let (alice, mallory) = (key(&f.env, "alice"), key(&f.env, "mallory"));
    trust(&f.env, &[&alice]);
    let remote = url(&f);
    for (signer, atom) in [(&alice, "foo@1.1.0"), (&mallory, "bar@0.1.0")] {
        use_key(&f.env, signer);
        f.env
            .git(&f.src, ["atom", "sign", atom, "--remote", &remote])
            .success();
    }
    f.env.git_ok(
        f.env.root(),
        &["config", "--global", "atom.requireSignature", "true"],
    );
    f
}

/// The atom commit `refs/atoms/<name>` on the remote.
fn commit(f: &Fixture, name: &str) -> String {
    f.remote_ref(&format!("refs/atoms/{name}")).unwrap()
}

/// Asserts that `run` refused `label@version` from the remote for its signatures (`why`), in
/// one line, and that no cache holds its commit.
fn assert_refused(f: &Fixture, run: &Run, atom: &str, why: &str) {
    let (label, version) = atom.split_once('@').unwrap();
    let oid = commit(f, &format!("{label}/{version}"));
    let refusal = format!("refusing atom {atom} ({}) from ", &oid[..12]);
    let reason = format!("atom.requireSignature is set and it has {why}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains(&refusal) && l.contains(&reason)),
        "expected `{refusal}…{reason}`:\n{}",
        run.stderr
    );
    for cache in caches(f) {
        assert!(!holds(f, &cache, &oid), "{} holds {atom}", cache.display());
    }
}

const UNSIGNED: &str = "no signature (no ref under `refs/atoms/_sig/foo/1.0.0/`)";
const UNTRUSTED: &str = "no valid signature by a trusted key";

#[test]
fn the_remote_helper_admits_only_signed_atoms() {
    let f = signed();
    let clone = |atom: &str, dir: &str| {
        f.env.git(
            f.env.root(),
            ["clone", "-q", &format!("atom::{}::{atom}", url(&f)), dir],
        )
    };
    clone("foo@=1.1.0", "genuine").success();
    let genuine = f.env.path("genuine");
    assert_eq!(read(&genuine.join("mod.nix")), "{ Name = \"foo\"; }\n");
    assert_eq!(
        f.env.refs(&genuine, "refs/atoms/_sig/"),
        f.env.refs(&f.remote, "refs/atoms/_sig/foo/")
    );
    for (atom, dir, why) in [
        ("foo@=1.0.0", "unsigned", UNSIGNED),
        ("bar@=0.1.0", "untrusted", UNTRUSTED),
    ] {
        let run = clone(atom, dir);
        assert_eq!(run.code, 128, "{}", run.stderr);
        assert_refused(&f, &run, &atom.replace("@=", "@"), why);
        assert!(!f.env.path(dir).exists());
    }
}

#[test]
fn git_atom_fetch_and_show_admit_only_signed_atoms() {
    let f = signed();
    // The remote serves unsigned atoms: `git atom fetch` of it writes no ref.
    let repo = f.env.init("fetched");
    let run = f.env.git(&repo, ["atom", "fetch", &url(&f)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("atom.requireSignature is set"),
        "{}",
        run.stderr
    );
    assert_eq!(f.env.refs(&repo, "refs/atoms/"), Vec::<String>::new());

    let show = |atom: &str| {
        f.env.git(
            f.env.root(),
            ["atom", "show", &format!("{}::{atom}", url(&f))],
        )
    };
    let run = show("foo@=1.1.0").success();
    assert!(run.stdout.starts_with("foo 1.1.0\n"), "{}", run.stdout);
    for (atom, why) in [("foo@=1.0.0", UNSIGNED), ("bar@=0.1.0", UNTRUSTED)] {
        let run = show(atom);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.stdout, "");
        assert_refused(&f, &run, &atom.replace("@=", "@"), why);
    }
}

#[test]
fn add_locks_only_signed_atoms() {
    let f = signed();
    let dir = app(&f, "app", None);
    f.env
        .git(&dir, ["atom", "add", &format!("{}::foo@=1.1.0", url(&f))])
        .success();
    assert!(
        read(&dir.join("atom.lock")).contains(&commit(&f, "foo/1.1.0")),
        "{}",
        read(&dir.join("atom.lock"))
    );
    let other = app(&f, "other", None);
    let before = read(&other.join("atom.toml"));
    let run = f
        .env
        .git(&other, ["atom", "add", &format!("{}::foo@=1.0.0", url(&f))]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_refused(&f, &run, "foo@1.0.0", UNSIGNED);
    assert_eq!(read(&other.join("atom.toml")), before);
    assert!(!other.join("atom.lock").exists());
}

/// `eka-run eval --no-cache <uri> name` in `dir`.
fn eval(f: &Fixture, dir: &Path, atom: &str) -> Run {
    let uri = format!("{}::{atom}", url(f));
    f.env.eka_run(dir, &["eval", "--no-cache", &uri, "name"])
}

#[test]
fn eka_run_evaluates_only_signed_atoms_and_checks_its_cache_again() {
    let f = signed();
    let root = f.env.root().to_owned();
    let run = eval(&f, &root, "foo@=1.1.0").success();
    assert_eq!(run.stdout, "\"foo\"\n");
    for (atom, why) in [("foo@=1.0.0", UNSIGNED), ("bar@=0.1.0", UNTRUSTED)] {
        let run = eval(&f, &root, atom);
        assert_eq!(run.code, 125, "{}", run.stderr);
        assert_eq!(run.stdout, "");
        assert_refused(&f, &run, &atom.replace("@=", "@"), why);
    }
    // alice's key revoked by the consumer's revocation keyring: the atom in the cache no
    // longer counts.
    let keyring = f.env.path("revoked_keys");
    std::fs::copy(f.env.path("alice.pub"), &keyring).unwrap();
    f.env.git_ok(
        &root,
        &[
            "config",
            "--global",
            "gpg.ssh.revocationKeyring",
            keyring.to_str().unwrap(),
        ],
    );
    let run = eval(&f, &root, "foo@=1.1.0");
    assert_eq!(run.code, 125, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("its key is revoked by `gpg.ssh.revocationKeyring`"),
        "{}",
        run.stderr
    );
}
