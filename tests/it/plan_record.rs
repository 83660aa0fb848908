//! Plan records (docs/plan-record.md): a machine that built an atom writes, with `eka-run build
//! --to`, its outputs and the signed record of the evaluation into a binary cache served by
//! lighttpd on loopback; a second machine (a home of its own: empty user store, empty atom and
//! evaluation caches) that trusts the key runs, builds and plans the atom from its URI without
//! starting nix-instantiate (a wrapper says when it starts) and without fetching a dependency
//! (its caches are looked into); and each fallback (no record, a record signed by a key it does
//! not trust, a record whose outputs the cache no longer has) evaluates, saying why at `-v`.

use std::path::PathBuf;

use atom_tests::{require_program, HttpServer, Run, TestEnv};

const NIX_STARTED: &str = "wrapper: nix-instantiate started";

/// The producer: `base.git` (`base` 1.0.0, whose tarball pin is a static busybox) and `app.git`
/// (`app` 1.0.0, needing `base` ^1, with a package `Hello` built by that busybox), served over
/// smart HTTP; `app` built by `eka-run build --to` into the binary cache `cache/` of the same
/// server, signed with `test-cache-1`.
struct World {
    env: TestEnv,
    http: HttpServer,
    uri: String,
    public: String,
    base_commit: String,
    out: String,
}

const APP: &str = r#"let
  bb = from.base.busybox;
  greeting = if config.variant.loud or false then "HELLO FROM THE PLAN" else "hello from the plan";
in
{
  Hello = builtins.derivation {
    name = "hello-1.0";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" "${bb} mkdir -p $out/bin && printf '#!%s sh\necho ${greeting} \"$@\"\n' ${bb} > $out/bin/hello && ${bb} chmod +x $out/bin/hello" ];
  };
}
"#;

impl World {
    fn new() -> Self {
        Self::with(false)
    }

    /// With `matrix`, the app declares `[support] loud = false` and is built with `build
    /// --matrix --to`: one record per variant.
    fn with(matrix: bool) -> Self {
        require_program("nix-instantiate", "nix-bin");
        let busybox = require_program("busybox", "busybox-static");
        let env = TestEnv::new();
        let srv = env.path("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let http = HttpServer::start(&env, &srv);
        env.busybox_tarball(&busybox, &http.files.join("bb.tar.gz"));

        let base = env.served_repo("base");
        env.write(
            &base,
            "base/atom.toml",
            &format!(
                "[atom]\nid = \"base\"\nversion = \"1.0.0\"\n\n[pins.bb]\nurl = \"{}\"\n",
                http.file_url("bb.tar.gz")
            ),
        );
        env.write(&base, "base/mod.nix", "{ Busybox = from.bb.busybox; }\n");
        env.git(&base.join("base"), ["atom", "resolve"]).success();
        env.publish_pushed(&base);
        let base_commit = env.git_ok(&base, &["rev-parse", "refs/atoms/base/1.0.0"]);

        let app = env.served_repo("app");
        env.write(
            &app,
            "app/atom.toml",
            &format!(
                "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[deps.base]\nurl = \"{}\"\nversion = \"1\"\n{}",
                http.url("base.git"),
                if matrix { "\n[support]\nloud = false\n" } else { "" }
            ),
        );
        env.write(&app, "app/mod.nix", APP);
        env.git(&app.join("app"), ["atom", "resolve"]).success();
        env.publish_pushed(&app);
        let uri = format!("{}::app@^1", http.url("app.git"));

        let root = env.root().to_owned();
        env.eka_run(
            &root,
            &[
                "nix-store",
                "--generate-binary-cache-key",
                "test-cache-1",
                "key.sec",
                "key.pub",
            ],
        )
        .success();
        let public = std::fs::read_to_string(env.path("key.pub"))
            .unwrap()
            .trim()
            .to_owned();
        let cache = http.files.join("cache");
        let mut args = vec![
            "build",
            "--to",
            cache.to_str().unwrap(),
            "--secret-key-file",
            "key.sec",
            &uri,
            "hello",
        ];
        if matrix {
            args.insert(1, "--matrix");
        }
        let built = env.eka_run(&root, &args).success();
        let out = if matrix {
            assert!(
                built
                    .stdout
                    .ends_with("2 entries: 2 built, 0 skipped, 0 failed\n"),
                "{built:?}"
            );
            built
                .stdout
                .lines()
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        } else {
            built.stdout.trim().to_owned()
        };
        assert!(out.ends_with("-hello-1.0"), "{built:?}");
        assert!(
            built.stderr.contains("wrote the plan record"),
            "{}",
            built.stderr
        );
        World {
            env,
            http,
            uri,
            public,
            base_commit,
            out,
        }
    }

    /// The one record in the cache.
    fn record(&self) -> PathBuf {
        let dir = self.http.files.join("cache/atom-plan");
        let records: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(records.len(), 1, "{records:?}");
        records[0].clone()
    }

    /// A machine of its own (a new home: empty store and caches) whose Nix configuration has
    /// the cache as a substituter and trusts `key`, with a nix-instantiate that says when it
    /// starts.
    fn consumer(&self, key: &str) -> Consumer {
        self.consumer_with(key, &[])
    }

    /// [`World::consumer`] with the binary caches `before` listed before the cache.
    fn consumer_with(&self, key: &str, before: &[String]) -> Consumer {
        let env = TestEnv::new();
        let mut substituters = before.to_vec();
        substituters.push(self.http.file_url("cache"));
        env.write(
            &env.path("nix-conf"),
            "nix.conf",
            &format!(
                "substituters = {}\ntrusted-public-keys = {key}\n",
                substituters.join(" ")
            ),
        );
        let real = require_program("nix-instantiate", "nix-bin");
        env.write(
            &env.path("wrap"),
            "nix-instantiate",
            &format!(
                "#!/bin/sh\necho '{NIX_STARTED}' >&2\nexec {} \"$@\"\n",
                real.display()
            ),
        );
        let wrapper = env.path("wrap/nix-instantiate");
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Consumer { env, wrapper }
    }
}

struct Consumer {
    env: TestEnv,
    wrapper: PathBuf,
}

impl Consumer {
    /// `eka-run -v <sub> --nix-instantiate <wrapper> <args...>`.
    fn eka(&self, sub: &str, args: &[&str]) -> Run {
        let mut all = vec![
            "-v",
            sub,
            "--nix-instantiate",
            self.wrapper.to_str().unwrap(),
        ];
        all.extend(args);
        let root = self.env.root().to_owned();
        self.env.eka_run(&root, &all)
    }

    /// Whether the atom cache or the resolver's index holds `commit`.
    fn holds(&self, commit: &str) -> bool {
        ["atoms.git", "index.git"].iter().any(|repo| {
            let dir = self.env.home().join(".cache/atom").join(repo);
            dir.exists()
                && self
                    .env
                    .git(&dir, ["cat-file", "-e", &format!("{commit}^{{commit}}")])
                    .code
                    == 0
        })
    }
}

#[test]
fn a_trusted_record_runs_builds_and_plans_without_evaluating_or_fetching_dependencies() {
    let w = World::new();
    let record = std::fs::read_to_string(w.record()).unwrap();
    assert!(record.starts_with("PlanRecord: 1\n"), "{record}");
    assert!(
        record.contains(&format!("\nOutput: out {}\n", w.out)),
        "{record}"
    );
    assert!(record.contains("\nSig: test-cache-1:"), "{record}");

    // Another binary cache, without records, comes first: the caches are asked at once and
    // their answers taken in order.
    std::fs::create_dir_all(w.http.files.join("other")).unwrap();
    std::fs::write(
        w.http.files.join("other/nix-cache-info"),
        "StoreDir: /nix/store\n",
    )
    .unwrap();
    let c = w.consumer_with(&w.public, &[w.http.file_url("other")]);
    let plan = c.eka("plan", &["--json", &w.uri, "hello"]).success();
    assert!(
        plan.stderr.contains(&format!(
            "no plan record at {}/atom-plan/",
            w.http.file_url("other")
        )),
        "{}",
        plan.stderr
    );
    assert!(!plan.stderr.contains(NIX_STARTED), "{}", plan.stderr);
    let p: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(p["outputs"]["out"], w.out.as_str());
    assert!(
        p["record"].as_str().unwrap().ends_with(&format!(
            "/cache/atom-plan/{}.plan",
            p["identity"].as_str().unwrap()
        )),
        "{p}"
    );
    assert!(
        record.contains(&format!("Identity: {}\n", p["identity"].as_str().unwrap())),
        "{record}"
    );

    let ran = c.eka("run", &[&w.uri, "hello", "--", "a b"]).success();
    assert_eq!(ran.stdout, "hello from the plan a b\n");
    assert_ran_from_the_record(&ran);
    let built = c.eka("build", &[&w.uri, "hello"]).success();
    assert_eq!(built.stdout.trim(), w.out);
    assert!(!built.stderr.contains(NIX_STARTED), "{}", built.stderr);

    // No dependency was fetched: not `base`, not its pin.
    assert!(!c.holds(&w.base_commit), "base was fetched");
    assert!(
        !c.env.home().join(".cache/atom/tarballs").exists()
            && !c.env.home().join(".cache/atom/exports").exists(),
        "nothing was downloaded or exported"
    );
    // The producer's evaluation is the one the record names.
    let producer = w
        .env
        .eka_run(w.env.root(), &["plan", "--json", &w.uri, "hello"])
        .success();
    let q: serde_json::Value = serde_json::from_str(&producer.stdout).unwrap();
    assert_eq!(q["identity"], p["identity"]);
    assert_eq!(q["drvPath"], p["drvPath"]);
}

/// Asserts that `run` evaluated (the nix-instantiate wrapper started) and said `why` at `-v`.
#[track_caller]
fn assert_evaluated(run: &Run, why: &str) {
    assert!(run.stderr.contains(NIX_STARTED), "{}", run.stderr);
    assert!(run.stderr.contains(why), "{why}: {}", run.stderr);
}

#[test]
fn without_a_usable_record_the_atom_is_evaluated_and_the_reason_said() {
    let w = World::new();
    // Signed by a key the consumer does not trust (and Nix refuses the cache's paths too).
    let other = "other-cache-1:GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=";
    let c = w.consumer(other);
    let ran = c.eka("run", &[&w.uri, "hello"]).success();
    assert_eq!(ran.stdout, "hello from the plan\n");
    assert_evaluated(
        &ran,
        "is signed by no key of `trusted-public-keys` (signed by: test-cache-1)",
    );

    // A record whose outputs the cache does not have: the narinfo of the output removed.
    let narinfo = w
        .http
        .files
        .join("cache")
        .join(format!("{}.narinfo", &w.out["/nix/store/".len()..][..32]));
    let saved = std::fs::read(&narinfo).unwrap();
    std::fs::remove_file(&narinfo).unwrap();
    let c = w.consumer(&w.public);
    let built = c.eka("build", &[&w.uri, "hello"]).success();
    assert_eq!(built.stdout.trim(), w.out);
    assert_evaluated(&built, "cannot be substituted");
    std::fs::write(&narinfo, saved).unwrap();

    // A record whose signed bytes were changed: its signature does not verify.
    let record = w.record();
    let genuine = std::fs::read_to_string(&record).unwrap();
    std::fs::write(
        &record,
        genuine.replace("MainProgram: hello\n", "MainProgram: sh\n"),
    )
    .unwrap();
    let c = w.consumer(&w.public);
    let ran = c.eka("run", &[&w.uri, "hello"]).success();
    assert_eq!(ran.stdout, "hello from the plan\n");
    assert_evaluated(&ran, "its signature by `test-cache-1` does not verify");
    std::fs::write(&record, &genuine).unwrap();

    // A record larger than a record may be: the download stops at the limit.
    std::fs::write(&record, "x".repeat(1 << 20)).unwrap();
    let c = w.consumer(&w.public);
    let ran = c.eka("run", &[&w.uri, "hello"]).success();
    assert_eq!(ran.stdout, "hello from the plan\n");
    assert_evaluated(&ran, "is larger than 65536 bytes");
    // Stopped at the download (not read whole and refused by the parser), in its own words.
    let line = ran
        .stderr
        .lines()
        .find(|l| l.contains("is larger than"))
        .unwrap();
    assert!(line.contains("no plan record at"), "{line}");
    assert!(!line.contains("maxDownloadSize"), "{line}");
    std::fs::write(&record, genuine).unwrap();

    // No record at all.
    std::fs::remove_file(w.record()).unwrap();
    let c = w.consumer(&w.public);
    let built = c.eka("build", &[&w.uri, "hello"]).success();
    assert_eq!(built.stdout.trim(), w.out);
    assert_evaluated(&built, "no plan record at");
    // `--no-cache` looks for none.
    let c = w.consumer(&w.public);
    let plan = c.eka("plan", &["--no-cache", &w.uri, "hello"]).success();
    assert!(plan.stderr.contains(NIX_STARTED), "{}", plan.stderr);
    assert!(!plan.stderr.contains("plan record"), "{}", plan.stderr);
}

#[test]
fn build_to_refuses_a_bad_key_or_cache_before_anything_is_built() {
    let env = TestEnv::new();
    let root = env.root().to_owned();
    std::fs::create_dir_all(env.path("atom")).unwrap();
    env.write(&env.path("atom"), "mod.nix", "{ }\n");
    env.write(
        &root,
        "public.key",
        "k-1:GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\n",
    );
    // docs/plan-record.md's test key.
    env.write(
        &root,
        "secret.key",
        "example-cache-1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioZf2sj4WyFMsaryDj6zV6nib4MdrKSAzQDm/qLPTaNYQ==",
    );
    let cases = [
        (
            vec!["--to", "cache", "--secret-key-file", "missing.key"],
            "cannot read --secret-key-file",
        ),
        (
            vec!["--to", "cache", "--secret-key-file", "public.key"],
            "is not a secret key of the form `<name>:<base64>`: an Ed25519 secret key has 64 bytes",
        ),
        (
            vec!["--to", "a?b", "--secret-key-file", "secret.key"],
            "a character a Nix store URL gives a meaning to",
        ),
        // A usage error: clap's words, with the usage line.
        (
            vec!["--to", "cache"],
            "required arguments were not provided",
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["build"];
        all.extend(args.iter().copied());
        all.push("atom");
        let run = env.eka_run(&root, &all);
        assert_eq!(run.code, 125, "{run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        if !says.starts_with("required") {
            assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        }
        assert!(
            !env.path("cache").exists() && !env.path("a?b").exists(),
            "nothing written: {args:?}"
        );
    }
}

#[test]
fn build_matrix_to_writes_a_record_for_every_variant() {
    let w = World::with(true);
    let records = std::fs::read_dir(w.http.files.join("cache/atom-plan"))
        .unwrap()
        .count();
    assert_eq!(records, 2, "one record per entry of the matrix");
    let c = w.consumer(&w.public);
    for (args, says) in [
        (vec![], "hello from the plan x\n"),
        (vec!["--enable", "loud"], "HELLO FROM THE PLAN x\n"),
    ] {
        let ran = c
            .eka("run", &[&args[..], &[&w.uri, "hello", "--", "x"]].concat())
            .success();
        assert_eq!(ran.stdout, says);
        assert_ran_from_the_record(&ran);
    }
}

/// `ran` started no Nix evaluation and substituted its outputs as the plan record names them.
fn assert_ran_from_the_record(ran: &Run) {
    assert!(!ran.stderr.contains(NIX_STARTED), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("outputs substituted from the plan record"),
        "{}",
        ran.stderr
    );
}
