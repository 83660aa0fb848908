//! `git atom sign` and `git atom verify --signed` with ssh signing keys made by `ssh-keygen`,
//! trusted through git's own `gpg.ssh.allowedSignersFile`.

use std::path::{Path, PathBuf};

use atom_tests::TestEnv;

/// Makes an ed25519 key `name` and returns its private key path.
fn key(env: &TestEnv, name: &str) -> PathBuf {
    let path = env.path(name);
    env.run(
        env.root(),
        "ssh-keygen",
        [
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            name,
            "-f",
            path.to_str().unwrap(),
        ],
    )
    .success();
    path
}

/// Trusts `keys` for `git verify-tag` (an allowed-signers file, as git documents).
fn trust(env: &TestEnv, keys: &[&Path]) {
    let mut text = String::new();
    for k in keys {
        let public = std::fs::read_to_string(k.with_extension("pub")).unwrap();
        text.push_str(&format!("test@example.com {public}"));
    }
    let file = env.path("allowed_signers");
    std::fs::write(&file, text).unwrap();
    env.git_ok(
        env.root(),
        &[
            "config",
            "--global",
            "gpg.ssh.allowedSignersFile",
            file.to_str().unwrap(),
        ],
    );
}

fn use_key(env: &TestEnv, key: &Path) {
    env.git_ok(env.root(), &["config", "--global", "gpg.format", "ssh"]);
    env.git_ok(
        env.root(),
        &[
            "config",
            "--global",
            "user.signingKey",
            key.to_str().unwrap(),
        ],
    );
}

/// A repository with `foo` 0.1.0 published, pushed with its atoms to `remote.git`.
fn published(env: &TestEnv) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo");
    env.git_ok(&src, &["push", "-q", remote.to_str().unwrap(), "main"]);
    env.git(
        &src,
        ["atom", "publish", "--remote", remote.to_str().unwrap()],
    )
    .success();
    (src, remote)
}

#[test]
fn signed_atoms_verify_only_with_a_trusted_key() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let alice = key(&env, "alice");
    let mallory = key(&env, "mallory");
    trust(&env, &[&alice]);

    // Unsigned: --signed fails (exit 1) and says why; without it, the atom verifies.
    env.git(&src, ["atom", "verify"]).success();
    let unsigned = env.git(&src, ["atom", "verify", "--signed"]).code(1);
    assert_eq!(
        unsigned.stdout,
        "FAILED        foo@0.1.0: no signature (no ref under `refs/atoms/_sig/foo/0.1.0/`) \
         (structure, source, ancestry, signature)\n"
    );

    // Signing without a key configured says what to set.
    let no_key = env.git(&src, ["atom", "sign"]).code(1);
    assert!(
        no_key
            .stderr
            .contains("no signing key: set `user.signingKey`"),
        "{}",
        no_key.stderr
    );

    use_key(&env, &alice);
    let signed = env.git(&src, ["atom", "sign", "foo@0.1.0"]).success();
    let sig_refs = env.refs(&src, "refs/atoms/_sig/");
    assert_eq!(sig_refs.len(), 1, "{sig_refs:?}");
    let (sig_ref, tag) = sig_refs[0].split_once(' ').unwrap();
    assert!(
        sig_ref.starts_with("refs/atoms/_sig/foo/0.1.0/"),
        "{sig_ref}"
    );
    assert_eq!(
        signed.stdout,
        format!("signed          foo@0.1.0 {sig_ref}\n")
    );
    // A real signed tag object, pointing at the atom, naming it; git itself accepts it.
    let atom = env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.0"]);
    let tree = env.git_ok(&src, &["rev-parse", "refs/atoms/foo/0.1.0^{tree}"]);
    let body = env.git_ok(&src, &["cat-file", "tag", tag]);
    assert!(
        body.starts_with(&format!("object {atom}\ntype commit\n")),
        "{body}"
    );
    assert!(
        body.contains(&format!("atom foo@0.1.0\ncommit {atom}\ntree {tree}\n")),
        "{body}"
    );
    assert!(body.contains("-----BEGIN SSH SIGNATURE-----"), "{body}");
    env.git(&src, ["verify-tag", tag]).success();
    // No tag is left under refs/tags.
    assert!(env.refs(&src, "refs/tags/").is_empty());
    // Signing again is a no-op.
    let again = env.git(&src, ["atom", "sign"]).success();
    assert_eq!(
        again.stdout,
        format!("signed already  foo@0.1.0 {sig_ref}\n")
    );

    let ok = env.git(&src, ["atom", "verify", "--signed"]).success();
    assert_eq!(
        ok.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry, signature)\n"
    );
    // `atom.requireSignature` asks for the same.
    env.git_ok(&src, &["config", "atom.requireSignature", "true"]);
    let required = env.git(&src, ["atom", "verify"]).success();
    assert_eq!(required.stdout, ok.stdout);

    // On the remote, through an atom URI, once the signature refs are pushed.
    env.git_ok(
        &src,
        &[
            "push",
            "-q",
            remote.to_str().unwrap(),
            "refs/atoms/_sig/*:refs/atoms/_sig/*",
        ],
    );
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = format!("{}::foo", remote.display());
    let remote_ok = env
        .git(&outside, ["atom", "verify", "--signed", &uri])
        .success();
    assert_eq!(
        remote_ok.stdout,
        "ok            foo@0.1.0 (structure, source, signature; not checked: ancestry)\n"
    );

    // A key git does not trust does not count: mallory's signature alone fails.
    env.git_ok(&src, &["config", "--unset", "atom.requireSignature"]);
    env.git_ok(&src, &["update-ref", "-d", sig_ref]);
    use_key(&env, &mallory);
    env.git(&src, ["atom", "sign"]).success();
    let untrusted = env.git(&src, ["atom", "verify", "--signed"]).code(1);
    assert!(
        untrusted
            .stdout
            .starts_with("FAILED        foo@0.1.0: no valid signature by a trusted key: `refs/atoms/_sig/foo/0.1.0/"),
        "{}",
        untrusted.stdout
    );
    // Trusting mallory too makes the same signature count.
    trust(&env, &[&alice, &mallory]);
    env.git(&src, ["atom", "verify", "--signed"]).success();
}

#[test]
fn an_atom_that_does_not_verify_is_not_signed() {
    let env = TestEnv::new();
    let (src, _) = published(&env);
    let alice = key(&env, "alice");
    use_key(&env, &alice);
    // A forged atom: a branch commit under an atom ref.
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    env.git_ok(&src, &["update-ref", "refs/atoms/foo/0.2.0", &head]);
    let run = env.git(&src, ["atom", "sign", "foo@0.2.0"]).code(1);
    assert!(
        run.stderr
            .starts_with("error: refusing to sign foo@0.2.0: it does not verify (has 1 parent(s)"),
        "{}",
        run.stderr
    );
    assert!(env.refs(&src, "refs/atoms/_sig/").is_empty());
    // The genuine one is signed.
    env.git(&src, ["atom", "sign", "foo@0.1.0"]).success();
    assert_eq!(env.refs(&src, "refs/atoms/_sig/").len(), 1);
}

#[test]
fn publish_sign_pushes_atoms_and_signatures_in_one_push_and_sign_remote_adds_the_missing_ones() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let remote_arg = remote.to_str().unwrap();
    let alice = key(&env, "alice");
    trust(&env, &[&alice]);

    // --sign without a key: refused before anything is written, here or there.
    env.atom(&src, "pkgs/bar", "bar", "1.0.0");
    env.commit_all(&src, "bar");
    env.git_ok(&src, &["push", "-q", remote_arg, "main"]);
    let no_key = env
        .git(&src, ["atom", "publish", "--sign", "--remote", remote_arg])
        .code(1);
    assert!(
        no_key.stderr.contains("no signing key"),
        "{}",
        no_key.stderr
    );
    assert!(env.refs(&remote, "refs/atoms/bar/").is_empty());

    use_key(&env, &alice);
    let dry = env
        .git(
            &src,
            [
                "atom",
                "publish",
                "--sign",
                "--dry-run",
                "--remote",
                remote_arg,
            ],
        )
        .success();
    assert!(
        dry.stdout.contains("bar    1.0.0") && dry.stdout.contains("would-publish  would-sign"),
        "{}",
        dry.stdout
    );
    assert!(env.refs(&src, "refs/atoms/_sig/").is_empty());
    let json = env
        .git(
            &src,
            [
                "atom", "publish", "--sign", "--json", "--remote", remote_arg,
            ],
        )
        .success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let atoms = doc["atoms"].as_array().unwrap();
    let bar = atoms.iter().find(|a| a["label"] == "bar").unwrap();
    assert_eq!(bar["status"], "published");
    assert_eq!(bar["signature"]["status"], "signed");
    assert_eq!(bar["signature"]["remote"], "published");
    // foo was published before: its new signature is pushed alone.
    let foo = atoms.iter().find(|a| a["label"] == "foo").unwrap();
    assert_eq!(foo["status"], "up-to-date");
    assert_eq!(foo["signature"]["status"], "signed");
    // The same refs and tags, here and on the remote.
    let local = env.refs(&src, "refs/atoms/_sig/");
    assert_eq!(local.len(), 2, "{local:?}");
    assert_eq!(env.refs(&remote, "refs/atoms/_sig/"), local);
    // A consumer of the remote verifies the signatures.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = format!("{}::bar", remote.display());
    env.git(&outside, ["atom", "verify", "--signed", &uri])
        .success();
    // Publishing again changes nothing.
    let again = env
        .git(
            &src,
            [
                "atom", "publish", "--sign", "--json", "--remote", remote_arg,
            ],
        )
        .success();
    let doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    for a in doc["atoms"].as_array().unwrap() {
        assert_eq!(a["signature"]["status"], "up-to-date", "{a}");
    }

    // `git atom sign --remote`: signs locally, then pushes what the remote lacks.
    let other = env.init_bare("other.git");
    let other_arg = other.to_str().unwrap();
    let missing = env
        .git(&src, ["atom", "sign", "--remote", other_arg])
        .code(1);
    assert!(
        missing
            .stderr
            .starts_with("error: bar@1.0.0 is not published on `"),
        "{}",
        missing.stderr
    );
    assert!(env.refs(&other, "refs/atoms/").is_empty());
    env.git(
        &src,
        ["atom", "publish", "--push-source", "--remote", other_arg],
    )
    .success();
    let pushed = env
        .git(&src, ["atom", "sign", "--remote", other_arg])
        .success();
    assert!(
        pushed
            .stdout
            .lines()
            .all(|l| l.starts_with("signed already, pushed ")),
        "{}",
        pushed.stdout
    );
    assert_eq!(env.refs(&other, "refs/atoms/_sig/"), local);
    let none = env
        .git(&src, ["atom", "sign", "--remote", other_arg])
        .success();
    assert!(
        none.stderr.contains("0 signature(s) pushed"),
        "{}",
        none.stderr
    );
}
