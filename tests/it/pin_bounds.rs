//! What a pin's URL may make atom do is bounded, and nothing it serves is echoed: a 1 GiB
//! tarball bomb is refused by `git atom resolve` with its memory far below the bomb and nothing
//! left on disk; a pin that points at a local file (`file:///proc/self/environ`) or at a
//! loopback service (a credentials document) is refused without a byte of it in the error.

use atom_tests::{require_program, HttpServer, Run, TestEnv};

struct World {
    env: TestEnv,
    http: HttpServer,
    app: std::path::PathBuf,
}

impl World {
    fn new() -> Self {
        let env = TestEnv::new();
        let srv = env.path("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let http = HttpServer::start(&env, &srv);
        let repo = env.init("app");
        env.write(&repo, "app/mod.nix", "{ }\n");
        World {
            app: repo.join("app"),
            env,
            http,
        }
    }

    fn pin(&self, url: &str) {
        self.env.write(
            &self.app,
            "atom.toml",
            &format!("[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[pins.p]\nurl = \"{url}\"\n"),
        );
    }

    /// `git atom resolve` in the app with `TMPDIR` of its own; its peak resident memory (KiB),
    /// as the kernel counts it for the waited-for descendants of a Python wrapper.
    fn resolve(&self, extra_env: &[(&str, &str)]) -> (Run, u64) {
        let tmp = self.env.path("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let out = self
            .env
            .command(&self.app, "python3")
            .args([
                "-c",
                "import resource, subprocess, sys\n\
                 r = subprocess.run(sys.argv[1:])\n\
                 print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
                 sys.exit(r.returncode)",
                "git",
                "atom",
                "resolve",
            ])
            .env("TMPDIR", &tmp)
            .envs(extra_env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let (said, rss) = stderr.trim_end().rsplit_once('\n').unwrap_or(("", &stderr));
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: said.to_owned(),
        };
        (run, rss.trim().parse().unwrap())
    }

    fn tmp_is_empty(&self) -> bool {
        std::fs::read_dir(self.env.path("tmp"))
            .unwrap()
            .next()
            .is_none()
    }
}

#[test]
fn a_tarball_bomb_is_refused_at_the_limit_without_memory_or_leftovers() {
    require_program("gzip", "gzip");
    let w = World::new();
    // 1 GiB and a little more of zeros, in one file: a few MB gzip-compressed.
    let mk = w.env.path("mk");
    std::fs::create_dir_all(mk.join("bomb")).unwrap();
    let file = std::fs::File::create(mk.join("bomb/zeros")).unwrap();
    file.set_len((1 << 30) + (1 << 20)).unwrap();
    let ok = w
        .env
        .command(&mk, "sh")
        .args(["-c", "tar -cf - bomb | gzip -1 > \"$1\"", "sh"])
        .arg(w.http.files.join("bomb.tar.gz"))
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::remove_dir_all(&mk).unwrap();
    let served = std::fs::metadata(w.http.files.join("bomb.tar.gz"))
        .unwrap()
        .len();
    assert!(served < 8 << 20, "{served}");

    w.pin(&w.http.file_url("bomb.tar.gz"));
    let (run, rss_kib) = w.resolve(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "cannot unpack the tarball of {}: unpacks to more than 1073741824 bytes (the limit is `atom.maxUnpackedSize`)",
            w.http.file_url("bomb.tar.gz")
        )),
        "{}",
        run.stderr
    );
    assert!(rss_kib < 256 * 1024, "peak memory {rss_kib} KiB");
    assert!(w.tmp_is_empty(), "something left in TMPDIR");
    assert!(!w.app.join("atom.lock").exists());

    // A lower limit is a setting (the user's: pins are fetched through the cache), and so is
    // the download's size.
    w.env
        .append_global_config("[atom]\n\tmaxUnpackedSize = 10m\n");
    let (run, _) = w.resolve(&[]);
    assert!(
        run.stderr
            .contains("unpacks to more than 10485760 bytes (the limit is `atom.maxUnpackedSize`)"),
        "{}",
        run.stderr
    );
    w.env.append_global_config("\tmaxDownloadSize = 100k\n");
    let (run, _) = w.resolve(&[]);
    assert!(
        run.stderr.contains(&format!(
            "the download of {} is larger than 102400 bytes (the limit is `atom.maxDownloadSize`)",
            w.http.file_url("bomb.tar.gz")
        )),
        "{}",
        run.stderr
    );
    assert!(w.tmp_is_empty(), "something left in TMPDIR");
    w.env
        .append_global_config("[atom]\n\tmaxDownloadSize = lots\n");
    let (run, _) = w.resolve(&[]);
    assert!(
        run.stderr.contains("atom.maxDownloadSize"),
        "{}",
        run.stderr
    );
}

#[test]
fn pins_that_point_at_local_secrets_are_refused_without_echoing_them() {
    let w = World::new();
    let token = "tok-SECRET-91b2";
    // A loopback service's credentials document.
    std::fs::write(
        w.http.files.join("creds"),
        format!("{{\"AccessKeyId\":\"AKIA-{token}\",\"Token\":\"{token}\"}}\n"),
    )
    .unwrap();
    for url in [
        "file:///proc/self/environ".to_owned(),
        w.http.file_url("creds"),
    ] {
        w.pin(&url);
        let (run, _) = w.resolve(&[("CI_TOKEN", token)]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(!run.stderr.contains(token), "{}", run.stderr);
        assert!(!run.stderr.contains("AKIA"), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "cannot unpack the tarball of {url}: not a tar archive (plain or gzip-compressed), or a damaged one"
            )),
            "{}",
            run.stderr
        );
    }
}
