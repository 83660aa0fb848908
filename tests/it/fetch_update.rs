//! `git atom fetch` brings a remote's atoms here; `git atom update` moves an atom clone to the
//! newest matching version, which `git pull` cannot do.

use crate::remote_transport::Fixture;

#[test]
fn fetch_brings_the_remotes_atoms_and_ls_says_how() {
    let f = Fixture::new();
    let env = &f.env;
    env.git_ok(
        env.root(),
        &["clone", "-q", f.remote.to_str().unwrap(), "other"],
    );
    let other = env.path("other");
    // A plain clone has no atoms; ls says where they are and how to get them.
    let empty = env.git(&other, ["atom", "ls"]).success();
    assert_eq!(empty.stdout, "");
    assert_eq!(
        empty.stderr,
        "no atoms in this repository: `git atom ls origin` lists the remote's atoms, `git atom fetch origin` fetches them\n"
    );
    // Nothing to verify is not success: it says what to fetch and exits 2.
    let verify = env.git(&other, ["atom", "verify"]).code(2);
    assert!(
        verify.stderr.starts_with("error: nothing to verify: "),
        "{}",
        verify.stderr
    );
    assert!(
        verify.stderr.contains("hint: fetch the atoms first"),
        "{}",
        verify.stderr
    );
    let run = env.git(&other, ["atom", "fetch"]).success();
    assert_eq!(
        run.stderr,
        "fetched 5 new atom versions from `origin` (5 here now)\n"
    );
    assert_eq!(run.stdout.lines().count(), 6, "{}", run.stdout);
    assert!(run.stdout.contains("foo    2.0.0-rc.1"), "{}", run.stdout);
    // Every atom ref and the identity ref, as on the remote; the source history did not come
    // along beyond what the clone had.
    assert_eq!(
        env.refs(&other, "refs/atoms/"),
        env.refs(&f.remote, "refs/atoms/")
    );
    assert_eq!(
        env.git(&other, ["atom", "ls"]).success().stdout,
        env.git(&f.src, ["atom", "ls"]).success().stdout
    );
    let again = env.git(&other, ["atom", "fetch", "--json"]).success();
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(json["atoms"].as_array().unwrap().len(), 0);
    assert_eq!(json["remote"], "origin");
    assert!(again.stdout.ends_with("}\n"));
    // Verification works on the fetched atoms (their sources are in the clone's history).
    env.git(&other, ["atom", "verify"]).success();
}

#[test]
fn update_moves_a_clone_to_the_newest_matching_version() {
    let f = Fixture::new();
    let env = &f.env;
    let url = format!("atom::{}::foo@^1", f.remote.display());
    env.git_ok(env.root(), &["clone", "-q", &url, "foo"]);
    let clone = env.path("foo");
    assert_eq!(
        env.git_ok(&clone, &["rev-parse", "HEAD"]),
        f.src_ref("refs/atoms/foo/1.1.0")
    );
    f.publish("pkgs/foo", "foo", "1.2.0");
    let newest = f.src_ref("refs/atoms/foo/1.2.0");
    // `git fetch` moves origin/foo and says what to run.
    let fetch = env.git(&clone, ["fetch"]).success();
    assert!(
        fetch.stderr.contains(
            "atom: foo@1.2.0 is the newest matching `^1`: run `git atom update` to check it out"
        ),
        "{}",
        fetch.stderr
    );
    assert_eq!(env.git_ok(&clone, &["rev-parse", "origin/foo"]), newest);
    // `git pull` cannot merge unrelated versions: this is why `git atom update` exists.
    let pull = env.git(&clone, ["pull", "-q"]);
    assert_ne!(pull.code, 0, "{}", pull.stderr);
    let run = env.git(&clone, ["atom", "update"]).success();
    assert_eq!(
        env.normalise(&run.stderr),
        format!(
            "updated `foo` from 1.1.0 ({}) to 1.2.0 ({})\n",
            &f.src_ref("refs/atoms/foo/1.1.0")[..12],
            &newest[..12]
        )
    );
    assert_eq!(env.git_ok(&clone, &["rev-parse", "HEAD"]), newest);
    let manifest = std::fs::read_to_string(clone.join("atom.toml")).unwrap();
    assert!(manifest.contains("version = \"1.2.0\""), "{manifest}");
    assert_eq!(env.git_ok(&clone, &["status", "--porcelain"]), "");
    // Nothing new: up to date, nothing moves.
    let again = env.git(&clone, ["atom", "update"]).success();
    assert_eq!(
        again.stderr,
        format!("`foo` is up to date at 1.2.0 ({})\n", &newest[..12])
    );
    // Not an atom clone: said plainly.
    let src = env.git(&f.src, ["atom", "update"]).code(1);
    assert!(
        src.stderr.starts_with("error: branch `main` "),
        "{}",
        src.stderr
    );
}
