//! Output manners: `-q`, `-v`/`-vv` and `ATOM_LOG`, progress only on a terminal, JSON documents
//! (errors included), and tables that fit the terminal.

use atom_tests::TestEnv;

use crate::remote_transport::Fixture;

fn one_atom(env: &TestEnv) -> std::path::PathBuf {
    let src = env.init("src");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "init");
    src
}

#[test]
fn quiet_publish_prints_nothing_but_json_stays() {
    let env = TestEnv::new();
    let src = one_atom(&env);
    let loud = env
        .git(&src, ["atom", "publish", "--local", "--dry-run"])
        .success();
    assert!(loud.stdout.starts_with("LABEL"), "{}", loud.stdout);
    assert!(
        loud.stderr.contains("would publish 1 of 1"),
        "{}",
        loud.stderr
    );
    let quiet = env
        .git(&src, ["atom", "publish", "--local", "-q"])
        .success();
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
    assert_eq!(env.refs(&src, "refs/atoms/foo").len(), 1);
    let json = env
        .git(&src, ["atom", "publish", "--local", "-q", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["atoms"][0]["status"], "up-to-date");
    assert_eq!(json.stderr, "");
    // What ls exists to print is printed with -q too.
    let ls = env.git(&src, ["atom", "ls", "-q"]).success();
    assert!(ls.stdout.contains("foo"), "{}", ls.stdout);
}

#[test]
fn verbose_and_atom_log_show_logs() {
    let env = TestEnv::new();
    let src = one_atom(&env);
    let plain = env
        .git(&src, ["atom", "publish", "--local", "-n"])
        .success();
    assert!(!plain.stderr.contains("INFO"), "{}", plain.stderr);
    let v = env
        .git(&src, ["atom", "publish", "--local", "-n", "-v"])
        .success();
    assert!(v.stderr.contains("INFO"), "{}", v.stderr);
    assert!(!v.stderr.contains("running git"), "{}", v.stderr);
    let vv = env
        .git(&src, ["atom", "publish", "--local", "-n", "-vv"])
        .success();
    assert!(vv.stderr.contains("DEBUG"), "{}", vv.stderr);
    assert!(vv.stderr.contains("running git"), "{}", vv.stderr);
    let out = env
        .command(&src, "git")
        .args(["atom", "publish", "--local", "-n"])
        .env("ATOM_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("running git"), "{stderr}");
}

#[test]
fn push_progress_shows_on_a_terminal_only() {
    let f = Fixture::new();
    let env = &f.env;
    env.atom(&f.src, "pkgs/baz", "baz", "1.0.0");
    env.commit_all(&f.src, "baz");
    env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    let piped = env.git(&f.src, ["atom", "publish", "pkgs/baz"]).success();
    assert!(
        !piped.stderr.contains("Writing objects"),
        "{}",
        piped.stderr
    );
    env.atom(&f.src, "pkgs/baz", "baz", "1.0.1");
    env.commit_all(&f.src, "baz 1.0.1");
    env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    // `script` runs the command on a pseudo-terminal, as a person would.
    let tty = env.run(
        &f.src,
        "script",
        ["-qec", "git atom publish pkgs/baz", "/dev/null"],
    );
    assert_eq!(tty.code, 0, "{}", tty.stdout);
    assert!(tty.stdout.contains("Writing objects"), "{}", tty.stdout);
    assert_eq!(
        f.remote_ref("refs/atoms/baz/1.0.1"),
        Some(f.src_ref("refs/atoms/baz/1.0.1"))
    );
}

#[test]
fn json_is_one_family_and_errors_are_documents() {
    let env = TestEnv::new();
    let src = one_atom(&env);
    env.git(&src, ["atom", "publish", "--local"]).success();
    let verify = env.git(&src, ["atom", "verify", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(v["atoms"][0]["label"], "foo");
    assert_eq!(v["atoms"][0]["status"], "verified");
    let ls = env.git(&src, ["atom", "ls", "--json"]).success();
    let l: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(
        l["atoms"][0]["versions"][0]["commit"],
        v["atoms"][0]["commit"]
    );
    for run in [&verify, &ls] {
        assert!(run.stdout.ends_with("}\n"), "{}", run.stdout);
    }
    // An error with --json: a JSON object on stdout, the usual line on stderr.
    let err = env.git(&src, ["atom", "ls", "nowhere", "--json"]).code(1);
    let e: serde_json::Value = serde_json::from_str(&err.stdout).unwrap();
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("no remote `nowhere`"), "{message}");
    assert_eq!(err.stderr, format!("error: {message}\n"));
    assert!(err.stdout.ends_with("}\n"));
    // Bad arguments too, with clap's usage on stderr as usual.
    let usage = env
        .git(&src, ["atom", "ls", "--json", "--frobnicate"])
        .code(2);
    let u: serde_json::Value = serde_json::from_str(&usage.stdout).unwrap();
    assert!(
        u["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--frobnicate"),
        "{}",
        usage.stdout
    );
    assert!(usage.stderr.contains("Usage:"), "{}", usage.stderr);
    let refused = env
        .git(&src, ["atom", "verify", "nosuch", "--json"])
        .code(2);
    let r: serde_json::Value = serde_json::from_str(&refused.stdout).unwrap();
    assert!(
        r["error"]["message"].as_str().unwrap().contains("nosuch"),
        "{}",
        refused.stdout
    );
}

#[test]
fn tables_wrap_to_the_terminal_and_align_wide_labels() {
    let env = TestEnv::new();
    let src = one_atom(&env);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);
    for i in 0..40 {
        env.git_ok(
            &src,
            &["update-ref", &format!("refs/atoms/foo/0.1.{i}"), &head],
        );
    }
    env.git_ok(&src, &["update-ref", "refs/atoms/ひらがな/1.0.0", &head]);
    let run = env
        .command(&src, "git")
        .args(["atom", "ls"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let stdout = String::from_utf8(run.stdout).unwrap();
    let width = |l: &str| {
        l.chars()
            .map(|c| {
                if ('\u{3040}'..='\u{30ff}').contains(&c) {
                    2
                } else {
                    1
                }
            })
            .sum::<usize>()
    };
    assert!(stdout.lines().all(|l| width(l) <= 80), "{stdout}");
    assert!(stdout.lines().count() > 4, "{stdout}");
    let versions: Vec<&str> = stdout
        .lines()
        .skip(1)
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("0.1."))
        .collect();
    assert_eq!(versions.len(), 40, "{stdout}");
    // The ID column starts at the same column on every row, wide label or not.
    let id_column = |l: &str| {
        width(&l[..l.find(char::is_whitespace).unwrap()]) + {
            let rest = &l[l.find(char::is_whitespace).unwrap()..];
            rest.len() - rest.trim_start().len()
        }
    };
    let rows: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(
        rows.iter().all(|r| id_column(r) == id_column(rows[0])),
        "{stdout}"
    );
    // Piped without COLUMNS: one line per atom, for scripts.
    let piped = env.git(&src, ["atom", "ls"]).success();
    assert_eq!(piped.stdout.lines().count(), 3, "{}", piped.stdout);
}

#[test]
fn what_a_manifest_says_is_escaped_before_it_reaches_a_terminal() {
    let env = TestEnv::new();
    let src = env.init("src");
    env.write(
        &src,
        "pkgs/foo/atom.toml",
        "[atom]\nid = \"foo\"\nversion = \"0.1.0\"\n\n[atom.meta]\ndescription = \"nice\\u001b[2J\\nfatal: forged line\"\n",
    );
    env.write(&src, "pkgs/foo/mod.nix", "{ }\n");
    env.commit_all(&src, "init");
    let shown = env.git(&src.join("pkgs/foo"), ["atom", "show"]).success();
    assert!(!shown.stdout.contains('\u{1b}'), "{:?}", shown.stdout);
    assert!(
        shown
            .stdout
            .contains("description  nice\\u{1b}[2J\\nfatal: forged line\n"),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.lines().any(|l| l.starts_with("fatal:")));
    // JSON keeps the value as it is (escaped by JSON itself).
    let json = env
        .git(&src.join("pkgs/foo"), ["atom", "show", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["description"], "nice\u{1b}[2J\nfatal: forged line");
}
