//! `git atom verify --locked`: every atom an app's lock pins, checked where the lock says it
//! lives, against a real repository served over smart HTTP.

use crate::deps::Monorepo;

/// Replaces the commit `refs/atoms/<label>/<version>` names in the bare repository `bare` with a
/// forged one: the same headers and message, another atom's tree.
fn forge(g: &Monorepo, bare: &std::path::Path, reference: &str, tree_of: &str) -> String {
    let env = &g.env;
    let genuine = env.git_ok(bare, &["cat-file", "commit", reference]);
    let tree = env.git_ok(bare, &["rev-parse", &format!("{tree_of}^{{tree}}")]);
    let mut lines: Vec<String> = genuine.lines().map(str::to_owned).collect();
    lines[0] = format!("tree {tree}");
    let path = env.path("forged-commit");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let forged = env.git_ok(
        bare,
        &["hash-object", "-t", "commit", "-w", path.to_str().unwrap()],
    );
    env.git_ok(bare, &["update-ref", reference, &forged]);
    forged
}

#[test]
fn verify_locked_checks_every_pinned_atom_where_it_lives() {
    let g = Monorepo::new();
    let app = g.app_dir();
    let run = g.env.git(&app, ["atom", "verify", "--locked"]).success();
    g.env.insta_settings().bind(|| {
        insta::assert_snapshot!("verify_locked_ok", g.env.snapshot(&run));
    });
    let json = g
        .env
        .git(&app, ["atom", "verify", "--locked", "--json"])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let atoms: Vec<(String, String)> = doc["atoms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let label = a["label"].as_str().unwrap().to_owned();
            (label, a["status"].as_str().unwrap().to_owned())
        })
        .collect();
    let verified = |l: &str| (l.to_owned(), "verified".to_owned());
    assert_eq!(
        atoms,
        [verified("extra"), verified("greet"), verified("strings")]
    );

    // The remote's extra 0.1.0 now names a forged commit with greet's tree.
    let bare = g.env.path("srv/lib.git");
    let forged = forge(
        &g,
        &bare,
        "refs/atoms/extra/0.1.0",
        "refs/atoms/greet/1.0.0",
    );
    let run = g.env.git(&app, ["atom", "verify", "--locked"]).code(1);
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAILED"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(failed[0].contains("extra@0.1.0"), "{}", run.stdout);
    assert!(
        failed[0].contains(&format!(
            "the remote's refs/atoms/extra/0.1.0 is {forged}, the lock has"
        )),
        "{}",
        run.stdout
    );
    let ok: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("ok")).collect();
    assert_eq!(ok.len(), 2, "{}", run.stdout);
    assert!(ok[0].contains("greet@1.0.0") && ok[1].contains("strings@1.0.0"));

    // No lock: one line saying to resolve.
    std::fs::remove_file(app.join("atom.lock")).unwrap();
    let run = g.env.git(&app, ["atom", "verify", "--locked"]).code(2);
    assert_eq!(
        g.env.normalise(&run.stderr),
        "error: [TMP]/app/app/atom.lock does not exist: run `git atom resolve` to lock the \
         atom's dependencies\n"
    );
}

#[test]
fn verify_locked_checks_a_path_entry_against_the_working_tree() {
    let g = Monorepo::new();
    let env = &g.env;
    // `tool` in the lib repository needs its sibling `strings` by path.
    env.write(
        &g.lib,
        "tool/atom.toml",
        "[atom]\nid = \"tool\"\nversion = \"0.1.0\"\n\n[deps.strings]\npath = \"../strings\"\n",
    );
    let tool = g.lib.join("tool");
    env.git(&tool, ["atom", "resolve"]).success();
    let run = env.git(&tool, ["atom", "verify", "--locked"]).success();
    assert_eq!(
        run.stdout,
        "ok            strings@1.0.0 (not checked: structure, source, ancestry)\n"
    );
    // The working tree moves away from the locked tree: the entry fails, naming both trees.
    env.write(&g.lib, "strings/mod.nix", "{ Name = \"changed\"; }\n");
    let run = env.git(&tool, ["atom", "verify", "--locked"]).code(1);
    assert!(
        run.stdout
            .starts_with("FAILED        strings@1.0.0: the working tree's strings is "),
        "{}",
        run.stdout
    );
    // A lock that is not current for the manifest: one line saying to resolve.
    env.write(
        &g.lib,
        "tool/atom.toml",
        "[atom]\nid = \"tool\"\nversion = \"0.1.0\"\n",
    );
    let run = env.git(&tool, ["atom", "verify", "--locked"]).code(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not current (")
            && run
                .stderr
                .contains("run `git atom resolve` to bring it in line with atom.toml"),
        "{}",
        run.stderr
    );
}
