//! `git atom sign` and `git atom verify --signed` with ssh signing keys made by `ssh-keygen`,
//! trusted through git's own `gpg.ssh.allowedSignersFile`.

use std::path::{Path, PathBuf};

use atom_tests::{GitDaemon, TestEnv};

/// Makes an ed25519 key `name` and returns its private key path.
pub(crate) fn key(env: &TestEnv, name: &str) -> PathBuf {
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
pub(crate) fn trust(env: &TestEnv, keys: &[&Path]) {
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

pub(crate) fn use_key(env: &TestEnv, key: &Path) {
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

/// Pushes the signature and revocation refs of `src` to `remote`.
fn push_trust_refs(env: &TestEnv, src: &Path, remote: &Path) {
    env.git_ok(
        src,
        &[
            "push",
            "-q",
            remote.to_str().unwrap(),
            "refs/atoms/_sig/*:refs/atoms/_sig/*",
            "refs/atoms/_revoked/*:refs/atoms/_revoked/*",
        ],
    );
}

#[test]
fn a_key_revoked_in_the_repository_stops_counting_for_every_consumer() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let alice = key(&env, "alice");
    let bob = key(&env, "bob");
    let mallory = key(&env, "mallory");
    // Consumers trust alice and bob; nobody trusts mallory.
    trust(&env, &[&alice, &bob]);
    use_key(&env, &alice);
    env.git(&src, ["atom", "sign"]).success();
    push_trust_refs(&env, &src, &remote);

    // A consumer fetches the atoms with their signatures; they verify.
    let consumer = env.init("consumer");
    let url = remote.to_str().unwrap();
    env.git(&consumer, ["atom", "fetch", url]).success();
    let ok = "ok            foo@0.1.0 (structure, source; not checked: ancestry)\n";
    let signed_ok = env
        .git(&consumer, ["atom", "verify", "--signed", "--remote", url])
        .success();
    assert_eq!(
        signed_ok.stdout,
        "ok            foo@0.1.0 (structure, source, signature; not checked: ancestry)\n"
    );
    let atom = env.git_ok(&consumer, &["rev-parse", "refs/atoms/foo/0.1.0"]);
    let atom_refs = |repo: &Path| -> Vec<String> {
        env.refs(repo, "refs/atoms/")
            .into_iter()
            .filter(|r| {
                !r.starts_with("refs/atoms/_sig/") && !r.starts_with("refs/atoms/_revoked/")
            })
            .collect()
    };
    let before = atom_refs(&consumer);

    // Alice's key leaks: she revokes it in the repository, signed by the key itself.
    let revoked = env
        .git(&src, ["atom", "sign", "--revoke", alice.to_str().unwrap()])
        .success();
    let rev_refs = env.refs(&src, "refs/atoms/_revoked/");
    assert_eq!(rev_refs.len(), 1, "{rev_refs:?}");
    let (rev_ref, rev_tag) = rev_refs[0].split_once(' ').unwrap();
    let alice_id = rev_ref.strip_prefix("refs/atoms/_revoked/").unwrap();
    assert_eq!(
        revoked.stdout,
        format!("revoked         {alice_id} {rev_ref}\n")
    );
    let body = env.git_ok(&src, &["cat-file", "tag", rev_tag]);
    let alice_public = std::fs::read_to_string(alice.with_extension("pub")).unwrap();
    assert!(
        body.contains(&format!(
            "atom-revocation 1\nkey {alice_id}\npublic-key {}\n",
            alice_public.trim()
        )),
        "{body}"
    );
    env.git(&src, ["verify-tag", rev_tag]).success();
    push_trust_refs(&env, &src, &remote);

    // The consumer learns of it by fetching, with no configuration: alice's signature fails.
    env.git(&consumer, ["atom", "fetch", url]).success();
    let failed = env
        .git(&consumer, ["atom", "verify", "--signed", "--remote", url])
        .code(1);
    let sig_ref = env.refs(&consumer, "refs/atoms/_sig/")[0]
        .split_once(' ')
        .unwrap()
        .0
        .to_owned();
    assert_eq!(
        failed.stdout,
        format!(
            "FAILED        foo@0.1.0: no valid signature by a trusted key: `{sig_ref}`: its key \
             was revoked in the repository (`{rev_ref}`) (structure, source, signature; not \
             checked: ancestry)\n"
        )
    );
    // Without --signed nothing changed.
    assert_eq!(
        env.git(&consumer, ["atom", "verify", "--remote", url])
            .success()
            .stdout,
        ok
    );
    // Verifying the URI from nowhere sees the revocation too.
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = format!("{url}::foo");
    env.git(&outside, ["atom", "verify", "--signed", &uri])
        .code(1);

    // A signature ref that lies about its key id is still alice's: git checks the key.
    let forged = format!("refs/atoms/_sig/foo/0.1.0/{}", "0".repeat(32));
    let alice_tag = env.git_ok(&consumer, &["rev-parse", &sig_ref]);
    env.git_ok(&consumer, &["update-ref", &forged, &alice_tag]);
    let lying = env
        .git(&consumer, ["atom", "verify", "--signed", "--remote", url])
        .code(1);
    assert!(
        lying.stdout.contains(&format!("`{forged}`: ")),
        "{}",
        lying.stdout
    );
    env.git_ok(&consumer, &["update-ref", "-d", &forged]);

    // Bob signs again; the consumer fetches and the atom verifies, signed.
    use_key(&env, &bob);
    env.git(&src, ["atom", "sign"]).success();
    push_trust_refs(&env, &src, &remote);
    env.git(&consumer, ["atom", "fetch", url]).success();
    let again = env
        .git(&consumer, ["atom", "verify", "--signed", "--remote", url])
        .success();
    assert_eq!(again.stdout, signed_ok.stdout);
    env.git(&outside, ["atom", "verify", "--signed", &uri])
        .success();

    // A revocation signed by a key nobody trusts does not count.
    use_key(&env, &mallory);
    env.git(&src, ["atom", "sign", "--revoke", bob.to_str().unwrap()])
        .success();
    push_trust_refs(&env, &src, &remote);
    env.git(&consumer, ["atom", "fetch", url]).success();
    assert_eq!(env.refs(&consumer, "refs/atoms/_revoked/").len(), 2);
    env.git(&consumer, ["atom", "verify", "--signed", "--remote", url])
        .success();

    // The atom and every ref but the signatures' are as they were.
    assert_eq!(
        env.git_ok(&consumer, &["rev-parse", "refs/atoms/foo/0.1.0"]),
        atom
    );
    assert_eq!(atom_refs(&consumer), before);
}

/// `gpg` with the test's own keyring.
fn gpg(env: &TestEnv, home: &Path, args: &[&str]) -> String {
    let program = atom_tests::require_program("gpg", "gnupg");
    let out = env
        .command(env.root(), &program)
        .env("GNUPGHOME", home)
        .args(["--batch", "--no-tty"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh GnuPG home, private to the test (mode 0700, as gpg requires).
fn gnupg_home(env: &TestEnv, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let home = env.path(name);
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    home
}

/// Stops the gpg-agent of `home` (started by gpg on demand).
struct Agent<'a>(&'a TestEnv, PathBuf);

impl Drop for Agent<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .command(self.0.root(), "gpgconf")
            .env("GNUPGHOME", &self.1)
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn openpgp_signatures_verify_with_the_gnupg_keyring() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let publisher = gnupg_home(&env, "gnupg-publisher");
    let _agent = Agent(&env, publisher.clone());
    gpg(
        &env,
        &publisher,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "Alice <alice@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let listing = gpg(&env, &publisher, &["--list-keys", "--with-colons"]);
    let fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| f.len() == 40))
        .expect("a fingerprint")
        .to_owned();
    // gpg.format defaults to openpgp; the key is named by its fingerprint.
    env.set_env("GNUPGHOME", &publisher);
    env.git_ok(
        env.root(),
        &["config", "--global", "user.signingKey", &fingerprint],
    );
    let signed = env.git(&src, ["atom", "sign"]).success();
    let sig_ref = format!("refs/atoms/_sig/foo/0.1.0/{fingerprint}");
    assert_eq!(
        signed.stdout,
        format!("signed          foo@0.1.0 {sig_ref}\n")
    );
    let tag = env.git_ok(&src, &["rev-parse", &sig_ref]);
    let body = env.git_ok(&src, &["cat-file", "tag", &tag]);
    assert!(body.contains("-----BEGIN PGP SIGNATURE-----"), "{body}");
    let ok = env.git(&src, ["atom", "verify", "--signed"]).success();
    assert_eq!(
        ok.stdout,
        "ok            foo@0.1.0 (structure, source, ancestry, signature)\n"
    );

    // A consumer whose keyring lacks the key cannot count the signature...
    env.git_ok(
        &src,
        &[
            "push",
            "-q",
            remote.to_str().unwrap(),
            "refs/atoms/_sig/*:refs/atoms/_sig/*",
        ],
    );
    let consumer_home = gnupg_home(&env, "gnupg-consumer");
    let _consumer_agent = Agent(&env, consumer_home.clone());
    env.set_env("GNUPGHOME", &consumer_home);
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let uri = format!("{}::foo", remote.display());
    let failed = env
        .git(&outside, ["atom", "verify", "--signed", &uri])
        .code(1);
    assert!(
        failed.stdout.starts_with(&format!(
            "FAILED        foo@0.1.0: no valid signature by a trusted key: `{sig_ref}`: "
        )),
        "{}",
        failed.stdout
    );
    // ... until it imports the publisher's public key.
    let public = env.path("alice.asc");
    let exported = gpg(&env, &publisher, &["--armor", "--export", &fingerprint]);
    std::fs::write(&public, exported).unwrap();
    gpg(
        &env,
        &consumer_home,
        &["--import", public.to_str().unwrap()],
    );
    let passed = env
        .git(&outside, ["atom", "verify", "--signed", &uri])
        .success();
    assert_eq!(
        passed.stdout,
        "ok            foo@0.1.0 (structure, source, signature; not checked: ancestry)\n"
    );
}

#[test]
fn clones_bring_signatures_when_required_and_the_server_checks_new_ones() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let alice = key(&env, "alice");
    trust(&env, &[&alice]);
    use_key(&env, &alice);
    env.git(&src, ["atom", "sign"]).success();
    env.git(&remote, ["atom", "hook", "install", "--server"])
        .success();
    let url = remote.to_str().unwrap();

    // The server accepts a genuine signature ref...
    env.git(&src, ["push", url, "refs/atoms/_sig/*:refs/atoms/_sig/*"])
        .success();
    assert_eq!(env.refs(&remote, "refs/atoms/_sig/").len(), 1);
    // ... and refuses a signed tag of something else under a signature name.
    env.git_ok(&src, &["tag", "-s", "-m", "not an atom", "bogus", "HEAD"]);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let bogus = "refs/atoms/_sig/foo/0.1.0/bogus";
    let refused = env.git(&src, ["push", url, &format!("refs/tags/bogus:{bogus}")]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(&format!(
            "error: refusing signature ref `{bogus}`: it points at {}, not at the atom commit",
            &head[..12]
        )),
        "{}",
        refused.stderr
    );
    // A signature of an atom the server does not have is refused too.
    let orphan = "refs/atoms/_sig/bar/1.0.0/bogus";
    let refused = env.git(&src, ["push", url, &format!("refs/tags/bogus:{orphan}")]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains(&format!(
            "error: refusing signature ref `{orphan}`: there is no atom bar@1.0.0 here"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(env.refs(&remote, "refs/atoms/_sig/").len(), 1);

    // A clone does not bring signature refs unless signatures are required...
    let uri = format!("atom::{url}::foo");
    env.git_ok(env.root(), &["clone", "-q", &uri, "plain"]);
    let plain = env.path("plain");
    assert!(env.refs(&plain, "refs/atoms/_sig/").is_empty());
    env.git(&plain, ["atom", "verify", "--signed"]).code(1);
    // ... and then it does, so verify --signed works in the clone.
    env.git_ok(
        env.root(),
        &[
            "clone",
            "-q",
            "-c",
            "atom.requireSignature=true",
            &uri,
            "signed",
        ],
    );
    let signed = env.path("signed");
    assert_eq!(
        env.refs(&signed, "refs/atoms/_sig/"),
        env.refs(&remote, "refs/atoms/_sig/")
    );
    let ok = env.git(&signed, ["atom", "verify"]).success();
    assert_eq!(
        ok.stdout,
        "ok            foo@0.1.0 (structure, source, signature; not checked: ancestry)\n"
    );
}

/// Pushes `refspec` to `url` without the client hook; the run, whatever its status.
fn push_refspec(env: &TestEnv, src: &Path, url: &str, refspec: &str) -> atom_tests::Run {
    env.git(src, ["push", "--no-verify", url, refspec])
}

#[test]
fn a_revocation_cannot_be_squatted_behind_git_daemon_with_the_server_hook() {
    let env = TestEnv::new();
    let remote = env.init_bare("srv/remote.git");
    env.git(&remote, ["atom", "hook", "install", "--server"])
        .success();
    let daemon = GitDaemon::start(&env, &env.path("srv"));
    let url = daemon.url("remote.git");
    let src = env.init("src");
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo");
    env.git_ok(&src, &["push", "-q", &url, "main"]);
    // Publishing creates `refs/atoms/_root` through the hook: a well-formed reserved ref.
    env.git(&src, ["atom", "publish", "--remote", url.as_str()])
        .success();
    let root = env.git_ok(&src, &["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(
        env.git_ok(&remote, &["rev-parse", "refs/atoms/_root"]),
        root
    );

    let alice = key(&env, "alice");
    let mallory = key(&env, "mallory");
    use_key(&env, &alice);
    // Alice's genuine revocation, made locally; not pushed yet.
    env.git(&src, ["atom", "sign", "--revoke", alice.to_str().unwrap()])
        .success();
    let rev_refs = env.refs(&src, "refs/atoms/_revoked/");
    assert_eq!(rev_refs.len(), 1, "{rev_refs:?}");
    let (rev_ref, rev_tag) = rev_refs[0].split_once(' ').unwrap();
    let alice_id = rev_ref.strip_prefix("refs/atoms/_revoked/").unwrap();
    let alice_public = std::fs::read_to_string(alice.with_extension("pub")).unwrap();
    let blob = env.git_ok(&src, &["rev-parse", &format!("{rev_tag}^{{}}")]);

    // Mallory, with push access, tries to take the name first.
    let junk = env.git_ok(&src, &["hash-object", "-w", "README"]);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    let message = format!(
        "atom-revocation 1\nkey {alice_id}\npublic-key {}\n",
        alice_public.trim()
    );
    // A tag in the revocation format, pointing at alice's public key, signed by mallory.
    env.git_ok(
        &src,
        &[
            "-c",
            &format!("user.signingKey={}", mallory.display()),
            "tag",
            "-s",
            "-m",
            &message,
            "squat",
            &blob,
        ],
    );
    let squat = env.git_ok(&src, &["rev-parse", "refs/tags/squat"]);
    // The same, unsigned.
    env.git_ok(&src, &["tag", "-a", "-m", &message, "unsigned", &blob]);
    let unsigned = env.git_ok(&src, &["rev-parse", "refs/tags/unsigned"]);
    let not_signed = format!(
        "it is not signed by the key {alice_id} it revokes (nor by a key of the server's \
         `atom.revocationSigners`)"
    );
    for (object, reason) in [
        (junk.as_str(), "it is not a tag object".to_owned()),
        (head.as_str(), "it is not a tag object".to_owned()),
        (squat.as_str(), not_signed.clone()),
        (unsigned.as_str(), not_signed.clone()),
    ] {
        let refused = push_refspec(&env, &src, &url, &format!("{object}:{rev_ref}")).code(1);
        assert!(
            refused.stderr.contains(&format!(
                "error: refusing new reserved ref `{rev_ref}`: {reason}"
            )),
            "{object}: {}",
            refused.stderr
        );
        assert_eq!(
            env.refs(&remote, "refs/atoms/_revoked/"),
            Vec::<String>::new()
        );
    }
    // An unknown reserved name is refused too, and nothing is created.
    let unknown = push_refspec(&env, &src, &url, &format!("{head}:refs/atoms/_foo")).code(1);
    assert!(
        unknown.stderr.contains(
            "error: refusing new ref `refs/atoms/_foo`: not a reserved name of the atom format"
        ),
        "{}",
        unknown.stderr
    );
    assert_eq!(env.refs(&remote, "refs/atoms/_foo"), Vec::<String>::new());

    // The control: alice's genuine revocation is accepted, and is then the one that stays.
    push_refspec(&env, &src, &url, &format!("{rev_ref}:{rev_ref}")).success();
    assert_eq!(
        env.refs(&remote, "refs/atoms/_revoked/"),
        [format!("{rev_ref} {rev_tag}")]
    );
    let late = push_refspec(&env, &src, &url, &format!("+{squat}:{rev_ref}")).code(1);
    assert!(
        late.stderr
            .contains(&format!("refusing to update `{rev_ref}`")),
        "{}",
        late.stderr
    );
}

/// Trusts `keys` for `git verify-tag`, each line with `options` (e.g. a validity window).
fn trust_with(env: &TestEnv, keys: &[(&Path, &str)]) {
    let mut text = String::new();
    for (k, options) in keys {
        let public = std::fs::read_to_string(k.with_extension("pub")).unwrap();
        text.push_str(&format!("test@example.com {options} {public}"));
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

#[test]
fn verify_signed_applies_the_revocation_keyring_and_validity_windows() {
    let env = TestEnv::new();
    let (src, _) = published(&env);
    let alice = key(&env, "alice");
    let bob = key(&env, "bob");
    trust(&env, &[&alice]);
    use_key(&env, &alice);
    env.git(&src, ["atom", "sign"]).success();
    let ok = "ok            foo@0.1.0 (structure, source, ancestry, signature)\n";
    // The control: the genuine signer is accepted.
    let genuine = env.git(&src, ["atom", "verify", "--signed"]).success();
    assert_eq!(genuine.stdout, ok);
    let set_keyring = |path: &Path| {
        env.git_ok(
            env.root(),
            &[
                "config",
                "--global",
                "gpg.ssh.revocationKeyring",
                path.to_str().unwrap(),
            ],
        );
    };
    let revoked = |keyring: &Path| {
        let failed = env.git(&src, ["atom", "verify", "--signed"]).code(1);
        assert!(
            failed.stdout.contains(&format!(
                "its key is revoked by `gpg.ssh.revocationKeyring` (`{}`)",
                keyring.display()
            )),
            "{}",
            failed.stdout
        );
    };

    // A keyring listing public keys: bob's alone does not touch alice's signature...
    let list = env.path("revoked_keys");
    std::fs::write(
        &list,
        std::fs::read_to_string(bob.with_extension("pub")).unwrap(),
    )
    .unwrap();
    set_keyring(&list);
    assert_eq!(
        env.git(&src, ["atom", "verify", "--signed"])
            .success()
            .stdout,
        ok
    );
    // ... alice's in it refuses it.
    let both = format!(
        "# revoked\n{}{}",
        std::fs::read_to_string(bob.with_extension("pub")).unwrap(),
        std::fs::read_to_string(alice.with_extension("pub")).unwrap()
    );
    std::fs::write(&list, both).unwrap();
    revoked(&list);

    // An OpenSSH KRL made with `ssh-keygen -k`: bob's leaves alice alone, alice's refuses her.
    let krl = env.path("revoked.krl");
    let make_krl = |k: &Path| {
        let _ = std::fs::remove_file(&krl);
        env.run(
            env.root(),
            "ssh-keygen",
            [
                "-q",
                "-k",
                "-f",
                krl.to_str().unwrap(),
                k.with_extension("pub").to_str().unwrap(),
            ],
        )
        .success();
    };
    make_krl(&bob);
    set_keyring(&krl);
    assert_eq!(
        env.git(&src, ["atom", "verify", "--signed"])
            .success()
            .stdout,
        ok
    );
    make_krl(&alice);
    revoked(&krl);
    // A keyring that cannot be read lets nothing through: verification cannot be done (2).
    std::fs::remove_file(&krl).unwrap();
    let unreadable = env.git(&src, ["atom", "verify", "--signed"]);
    assert_ne!(unreadable.code, 0, "{}", unreadable.stdout);
    env.git_ok(
        env.root(),
        &["config", "--global", "--unset", "gpg.ssh.revocationKeyring"],
    );
    assert_eq!(
        env.git(&src, ["atom", "verify", "--signed"])
            .success()
            .stdout,
        ok
    );

    // Validity windows, at the signature's time (the tag's tagger time, 2024-01-01T00:00:00Z
    // in these tests), as git applies them: expired, not yet valid, then valid.
    trust_with(&env, &[(&alice, "valid-before=\"20231231\"")]);
    let expired = env.git(&src, ["atom", "verify", "--signed"]).code(1);
    assert!(
        expired.stdout.contains(
            "its key is not valid at the signature's time (2024-01-01T00:00:00Z): \
             valid-before 2023-12-31T00:00:00Z"
        ),
        "{}",
        expired.stdout
    );
    trust_with(&env, &[(&alice, "valid-after=\"20240102\"")]);
    let early = env.git(&src, ["atom", "verify", "--signed"]).code(1);
    assert!(
        early.stdout.contains(
            "its key is not valid at the signature's time (2024-01-01T00:00:00Z): \
             valid-after 2024-01-02T00:00:00Z"
        ),
        "{}",
        early.stdout
    );
    trust_with(
        &env,
        &[(&alice, "valid-after=\"20231201\",valid-before=\"20240201\"")],
    );
    assert_eq!(
        env.git(&src, ["atom", "verify", "--signed"])
            .success()
            .stdout,
        ok
    );
}

#[test]
fn sign_revoke_remote_pushes_the_revocation_that_clones_then_apply() {
    let env = TestEnv::new();
    let (src, remote) = published(&env);
    let alice = key(&env, "alice");
    trust(&env, &[&alice]);
    use_key(&env, &alice);
    let url = remote.to_str().unwrap();
    env.git(&src, ["atom", "sign", "--remote", url]).success();
    let uri = format!("atom::{url}::foo");

    // A clone made before signatures were required has none; the message says how to get them.
    env.git_ok(env.root(), &["clone", "-q", &uri, "early"]);
    let early = env.path("early");
    let unsigned = env.git(&early, ["atom", "verify", "--signed"]).code(1);
    assert!(
        unsigned.stdout.contains("no signature"),
        "{}",
        unsigned.stdout
    );
    assert!(
        unsigned
            .stderr
            .contains(&format!("`git atom fetch {url}` brings them")),
        "{}",
        unsigned.stderr
    );
    env.git(&early, ["atom", "fetch", url]).success();
    env.git(&early, ["atom", "verify", "--signed"]).success();

    // Before the revocation, a clone requiring signatures verifies.
    let clone = |name: &str| {
        env.git_ok(
            env.root(),
            &[
                "clone",
                "-q",
                "-c",
                "atom.requireSignature=true",
                &uri,
                name,
            ],
        );
        env.path(name)
    };
    let before = clone("before");
    env.git(&before, ["atom", "verify"]).success();

    // The revocation is made and pushed in one command.
    let revoked = env
        .git(
            &src,
            [
                "atom",
                "sign",
                "--revoke",
                alice.to_str().unwrap(),
                "--remote",
                url,
            ],
        )
        .success();
    let rev_refs = env.refs(&remote, "refs/atoms/_revoked/");
    assert_eq!(rev_refs.len(), 1, "{rev_refs:?}");
    assert_eq!(rev_refs, env.refs(&src, "refs/atoms/_revoked/"));
    let rev_ref = rev_refs[0].split_once(' ').unwrap().0;
    assert!(
        revoked.stdout.starts_with("revoked, pushed "),
        "{}",
        revoked.stdout
    );
    // Again: the remote has it.
    let again = env
        .git(
            &src,
            [
                "atom",
                "sign",
                "--revoke",
                alice.to_str().unwrap(),
                "--remote",
                url,
            ],
        )
        .success();
    assert!(
        again.stdout.starts_with("revoked already, on remote "),
        "{}",
        again.stdout
    );

    // A clone requiring signatures made now is refused (admission applies the remote's
    // revocations), and the earlier one sees it after `git atom fetch`.
    let refused = env.git(
        env.root(),
        [
            "clone",
            "-q",
            "-c",
            "atom.requireSignature=true",
            &uri,
            "after",
        ],
    );
    assert_eq!(refused.code, 128, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "its key was revoked in the repository (`{rev_ref}`)"
        )),
        "{}",
        refused.stderr
    );
    assert!(!env.path("after").exists());
    env.git(&before, ["atom", "fetch", url]).success();
    env.git(&before, ["atom", "verify"]).code(1);
}
