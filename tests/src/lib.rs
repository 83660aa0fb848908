//! The end-to-end test harness shared by the suite's tests.
//!
//! Every test gets a [`TestEnv`]: a temporary directory with its own `HOME`, a global git config
//! of its own, no system config, fixed author and committer dates, `LC_ALL=C`, `TZ=UTC`, and our
//! freshly built binaries first on `PATH`, so tests run the real `git`, which runs our
//! `git-atom` and `git-remote-atom`. The environment is set on each [`Command`], never on the
//! test process.

pub mod sandbox;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The binaries the end-to-end tests run.
const BINARIES: [&str; 3] = ["git-atom", "git-remote-atom", "eka-run"];

/// The directory holding our built binaries (`target/<profile>`), built fresh once per test
/// process: the tests drive the binaries through git, so a test run must never use binaries
/// older than the sources. Under `cargo test` the workspace's binaries are rebuilt (cargo has
/// released its lock by the time tests run, and an up-to-date build takes a moment); a test
/// binary run by hand checks that the binaries are newer than every source file instead.
pub fn bin_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_binaries).clone()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_owned()
}

fn build_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .to_owned();
    let root = workspace_root();
    match std::env::var_os("CARGO") {
        Some(cargo) => {
            let profile = dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("target/<profile>")
                .to_owned();
            let target_dir = dir.parent().expect("target/<profile>");
            let mut cmd = Command::new(cargo);
            cmd.args([
                "build",
                "--quiet",
                "--workspace",
                "--bins",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir);
            // Not the variables cargo sets for the crate under test: a build script that
            // reruns when one changes (rustls-ffi's, on `CARGO_PKG_VERSION`) would otherwise
            // rebuild itself and everything above it (curl, gix: 100 s here) in every test
            // process, and again at the next plain `cargo build`.
            for (name, _) in std::env::vars_os() {
                if is_crate_variable(&name) {
                    cmd.env_remove(name);
                }
            }
            match profile.as_str() {
                "debug" => {}
                "release" => {
                    cmd.arg("--release");
                }
                other => {
                    cmd.args(["--profile", other]);
                }
            }
            let out = cmd.output().expect("cargo runs");
            assert!(
                out.status.success(),
                "building the binaries the tests run failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None => {
            if let Some(stale) = stale_binary(&dir, &root) {
                panic!("{stale}: run `cargo build --workspace --bins` (or the tests through `cargo test`)");
            }
        }
    }
    for bin in BINARIES {
        assert!(
            dir.join(bin).is_file(),
            "{bin} is not built in {}",
            dir.display()
        );
    }
    dir
}

/// Whether `name` is one of the variables cargo sets for a crate it builds or runs (its
/// package, manifest, binaries and scratch directory), none of which a build of other crates
/// should see.
fn is_crate_variable(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    [
        &b"CARGO_PKG_"[..],
        b"CARGO_BIN_",
        b"CARGO_CRATE_",
        b"CARGO_MANIFEST_",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        || [
            &b"CARGO_PRIMARY_PACKAGE"[..],
            b"CARGO_TARGET_TMPDIR",
            b"OUT_DIR",
        ]
        .contains(&name)
}

/// A binary older than a source file it is built from, described; `None` if all are fresh.
fn stale_binary(dir: &Path, root: &Path) -> Option<String> {
    fn newest(path: &Path, best: &mut Option<(std::time::SystemTime, PathBuf)>) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                newest(&entry.path(), best);
            }
        } else if let Ok(modified) = meta.modified() {
            if best.as_ref().is_none_or(|(t, _)| modified > *t) {
                *best = Some((modified, path.to_owned()));
            }
        }
    }
    let mut source = None;
    for part in [
        "atom-lib",
        "git-atom",
        "git-remote-atom",
        "eka-run",
        "Cargo.lock",
    ] {
        newest(&root.join(part), &mut source);
    }
    let (source_time, source_path) = source?;
    BINARIES.iter().find_map(|bin| {
        let built = std::fs::metadata(dir.join(bin)).and_then(|m| m.modified());
        match built {
            Ok(t) if t >= source_time => None,
            Ok(_) => Some(format!("{bin} is older than {}", source_path.display())),
            Err(_) => Some(format!("{bin} is not built in {}", dir.display())),
        }
    })
}

/// Fails naming every `*.rs` file in `dir` that `main.rs` there does not declare as a module:
/// a test file nobody declares would never run.
pub fn assert_no_forgotten_test_files(dir: &Path) {
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("main.rs of the test binary");
    let declared: Vec<String> = main
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("mod ")
                .or_else(|| l.strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'))
                .map(str::to_owned)
        })
        .collect();
    let mut forgotten: Vec<String> = std::fs::read_dir(dir)
        .expect("the test directory")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let module = name.strip_suffix(".rs")?.to_owned();
            (module != "main" && !declared.contains(&module)).then_some(name)
        })
        .collect();
    forgotten.sort();
    assert!(
        forgotten.is_empty(),
        "test files not declared in {}/main.rs, so they never run: {forgotten:?}",
        dir.display()
    );
}

/// Copies the directory `from` into `to` (which must exist), keeping modes and links.
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cannot copy {} to {}",
        from.display(),
        to.display()
    );
}

/// The result of running a command.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with everything the command said unless it exited 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed:\n--- stdout\n{}--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command exited with `code`.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code:\n--- stdout\n{}--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A sealed environment for one test.
#[derive(Debug)]
pub struct TestEnv {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Variables added to every command's environment (see [`TestEnv::set_env`]).
    extra_env: std::sync::Mutex<Vec<(std::ffi::OsString, std::ffi::OsString)>>,
}

/// The fixed date every commit made by a test carries.
pub const FIXED_DATE: &str = "2024-01-01T00:00:00Z";

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A fresh environment with an empty home and a minimal global git config.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("atom-test-")
            .tempdir()
            .expect("a temporary directory");
        let env = TestEnv {
            dir,
            bin: bin_dir(),
            extra_env: Default::default(),
        };
        std::fs::create_dir_all(env.home()).unwrap();
        std::fs::write(
            env.home().join(".gitconfig"),
            "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n\
             [protocol \"file\"]\n\tallow = always\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        env
    }

    /// The temporary directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The test's `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// A path inside the temporary directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Sets `key=value` in the environment of every command run from now on (for settings
    /// that only exist as environment variables, such as `GIT_SSL_CAINFO`).
    pub fn set_env(&self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        self.extra_env
            .lock()
            .unwrap()
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
    }

    /// Appends `text` to the test's global git config.
    pub fn append_global_config(&self, text: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.home().join(".gitconfig"))
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// A command with the sealed environment, run in `cwd`.
    pub fn command(&self, cwd: &Path, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.bin.clone()];
        paths.extend(std::env::split_paths(&path));
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home().join(".gitconfig"))
            .env("GIT_AUTHOR_DATE", FIXED_DATE)
            .env("GIT_COMMITTER_DATE", FIXED_DATE)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        for (key, value) in self.extra_env.lock().unwrap().iter() {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `program args...` in `cwd` and captures everything.
    pub fn run<I, S>(&self, cwd: &Path, program: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self
            .command(cwd, program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        Run::from_output(out)
    }

    /// Runs `program args...` in `cwd` like [`TestEnv::run`], but fails the test if it has not
    /// ended within `limit`: the command and every process it started (its process group) are
    /// killed, then the test panics with what they had said.
    #[track_caller]
    pub fn run_within<I, S>(&self, cwd: &Path, program: &str, args: I, limit: Duration) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::os::unix::process::CommandExt;
        let mut child = self
            .command(cwd, program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let drain = |stream: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                if let Some(mut stream) = stream {
                    let _ = stream.read_to_end(&mut kept);
                }
                String::from_utf8_lossy(&kept).into_owned()
            })
        };
        let stdout = drain(child.stdout.take().map(|s| Box::new(s) as _));
        let stderr = drain(child.stderr.take().map(|s| Box::new(s) as _));
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Whatever the command left behind (a killed transfer's children) goes too.
        let kill_group = || {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
        };
        kill_group();
        let Some(status) = status else {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "{program} was still running after {limit:?}:\n--- stdout\n{}--- stderr\n{}",
                stdout.join().unwrap_or_default(),
                stderr.join().unwrap_or_default()
            );
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// `eka-run args...` in `cwd` with the test's own, empty Nix configuration
    /// (`nix-conf/nix.conf`, made on first use): never the host's.
    pub fn eka_run(&self, cwd: &Path, args: &[&str]) -> Run {
        let conf = self.path("nix-conf");
        if !conf.join("nix.conf").exists() {
            self.write(&conf, "nix.conf", "# the test's own, empty\n");
        }
        let out = self
            .command(cwd, "eka-run")
            .args(args)
            .env("NIX_CONF_DIR", &conf)
            .env("NIX_USER_CONF_FILES", conf.join("nix.conf"))
            .output()
            .expect("run eka-run");
        Run::from_output(out)
    }

    /// Runs `git args...` in `cwd`.
    pub fn git<I, S>(&self, cwd: &Path, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(cwd, "git", args)
    }

    /// Runs `git args...` in `cwd`, requires success and returns trimmed stdout.
    #[track_caller]
    pub fn git_ok(&self, cwd: &Path, args: &[&str]) -> String {
        self.git(cwd, args).success().stdout.trim_end().to_owned()
    }

    /// A new non-bare repository at `rel`.
    pub fn init(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        self.git_ok(self.root(), &["init", "-q", path.to_str().unwrap()]);
        path
    }

    /// A new bare repository at `rel`.
    pub fn init_bare(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        self.git_ok(
            self.root(),
            &["init", "-q", "--bare", path.to_str().unwrap()],
        );
        path
    }

    /// A working tree `name` whose `origin` is the bare repository `srv/<name>.git`, with a first
    /// commit (a README) pushed: what a test serves its atoms from.
    pub fn served_repo(&self, name: &str) -> PathBuf {
        let repo = self.init(name);
        let remote = self.init_bare(&format!("srv/{name}.git"));
        self.git_ok(
            &repo,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        self.write(&repo, "README", &format!("{name}\n"));
        self.commit_all(&repo, "root");
        self.git_ok(&repo, &["push", "-q", "origin", "main"]);
        repo
    }

    /// Writes `out`, a tarball of one top-level directory `bb-1` holding the static
    /// `busybox` at `bin/busybox` and a `default.nix` that says `{ busybox = "${./bin}/busybox"; }`:
    /// a builder that a tarball pin brings into the store.
    pub fn busybox_tarball(&self, busybox: &Path, out: &Path) {
        let bb = self.path("bb-src/bb-1");
        std::fs::create_dir_all(bb.join("bin")).unwrap();
        std::fs::copy(busybox, bb.join("bin/busybox")).unwrap();
        std::fs::write(
            bb.join("default.nix"),
            "{ busybox = \"${./bin}/busybox\"; }\n",
        )
        .unwrap();
        let tar = self
            .command(&self.path("bb-src"), "tar")
            .arg("-czf")
            .arg(out)
            .arg("bb-1")
            .status()
            .unwrap();
        assert!(tar.success(), "tar of {}", bb.display());
    }

    /// Commits everything in `repo`, pushes it to `origin` and runs `git atom publish` there.
    pub fn publish_pushed(&self, repo: &Path) {
        self.commit_all(repo, "atoms");
        self.git_ok(repo, &["push", "-q", "origin", "main"]);
        self.git(repo, ["atom", "publish"]).success();
    }

    /// Writes `contents` to `repo/rel`, creating directories.
    pub fn write(&self, repo: &Path, rel: &str, contents: &str) {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Writes a minimal `atom.toml` for `label` at `version` into `repo/dir`, plus a file.
    pub fn atom(&self, repo: &Path, dir: &str, label: &str, version: &str) {
        self.write(
            repo,
            &format!("{dir}/atom.toml"),
            &format!("[atom]\nid = \"{label}\"\nversion = \"{version}\"\n"),
        );
        self.write(
            repo,
            &format!("{dir}/mod.nix"),
            &format!("{{ Name = \"{label}\"; }}\n"),
        );
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit_all(&self, repo: &Path, message: &str) -> String {
        self.git_ok(repo, &["add", "-A"]);
        self.git_ok(repo, &["commit", "-q", "--allow-empty", "-m", message]);
        self.git_ok(repo, &["rev-parse", "HEAD"])
    }

    /// `refname oid` lines of every ref under `prefix` in `repo` (sorted).
    pub fn refs(&self, repo: &Path, prefix: &str) -> Vec<String> {
        let out = self.git_ok(
            repo,
            &["for-each-ref", "--format=%(refname) %(objectname)", prefix],
        );
        out.lines().map(str::to_owned).collect()
    }

    /// Replaces the temporary directory with `[TMP]` and 40/64-digit hex ids with `[OID]`.
    pub fn normalise(&self, text: &str) -> String {
        let text = text.replace(self.root().to_str().unwrap(), "[TMP]");
        let canonical = self.root().canonicalize().unwrap();
        let text = text.replace(canonical.to_str().unwrap(), "[TMP]");
        let hex = regex::Regex::new(r"\b([0-9a-f]{64}|[0-9a-f]{40})\b").unwrap();
        hex.replace_all(&text, "[OID]").into_owned()
    }

    /// insta settings whose filters redact what differs between runs: this test's temporary
    /// directory (as given and canonical) becomes `[TMP]`, full object ids `[OID]`, 12-digit
    /// abbreviated ids `[SHORT-OID]`, and decimal durations (`0.25s`, `12.5 ms`) `[DURATION]`.
    pub fn insta_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        let canonical = self.root().canonicalize().unwrap();
        for root in [self.root(), canonical.as_path()] {
            settings.add_filter(&regex::escape(root.to_str().unwrap()), "[TMP]");
        }
        settings.add_filter(r"\b([0-9a-f]{64}|[0-9a-f]{40})\b", "[OID]");
        settings.add_filter(r"\b[0-9a-f]{12}\b", "[SHORT-OID]");
        settings.add_filter(r"\b[0-9]+\.[0-9]+ ?m?s\b", "[DURATION]");
        settings
    }

    /// What a user sees: exit status, stdout and stderr, normalised.
    pub fn snapshot(&self, run: &Run) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            run.code,
            self.normalise(&run.stdout),
            self.normalise(&run.stderr)
        )
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `git daemon` serving a directory on loopback, with push enabled; stopped on drop.
#[derive(Debug)]
pub struct GitDaemon {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// The repository of each `upload-pack` connection so far, from the daemon's log.
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl GitDaemon {
    /// Starts `git daemon --base-path=<base> --export-all --enable=receive-pack` on a free port
    /// and waits until it accepts connections.
    pub fn start(env: &TestEnv, base: &Path) -> Self {
        // A port found free can be taken by another test before the daemon binds it; the
        // daemon then exits, and this tries another.
        const ATTEMPTS: usize = 8;
        for _ in 0..ATTEMPTS {
            if let Some(daemon) = Self::start_on(env, base, free_port()) {
                return daemon;
            }
        }
        panic!("git daemon could not listen on a free port in {ATTEMPTS} attempts")
    }

    /// Starts the daemon on `port`: `None` if it exits before it is ready.
    fn start_on(env: &TestEnv, base: &Path, port: u16) -> Option<Self> {
        // The daemon itself, not `git daemon`: `git` would stay as its parent, and killing it on
        // drop would leave the daemon running after the test.
        let exec_path = env.git_ok(base, &["--exec-path"]);
        let daemon = Path::new(exec_path.trim()).join("git-daemon");
        let mut child = env
            .command(base, &daemon)
            .args([
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                "--verbose",
            ])
            .arg(base)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("git daemon starts (is git-daemon installed?)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Ready to rumble") {
                    let _ = tx.send(());
                }
                // `[<pid>] Request upload-pack for '<dir>'`: one per connection.
                if let Some((_, rest)) = line.split_once("Request upload-pack for '") {
                    let dir = rest.trim_end_matches('\'');
                    let name = Path::new(dir).file_name().unwrap_or_default();
                    log.lock()
                        .unwrap()
                        .push(name.to_string_lossy().into_owned());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while rx.recv_timeout(Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon did not start on port {port}"
            );
            if child.try_wait().unwrap().is_some() {
                return None;
            }
        }
        Some(GitDaemon {
            child,
            port,
            requests,
        })
    }

    /// The repository (its directory's name, such as `core.git`) of every `upload-pack`
    /// connection the daemon has logged, in order: what fetches and listings cost in
    /// connections. Every connection a command that has returned made is counted: this asks
    /// the daemon for a marker repository and waits until the log shows that request, which
    /// the daemon logged after everything before it.
    pub fn upload_packs(&self) -> Vec<String> {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MARKERS: AtomicUsize = AtomicUsize::new(0);
        let marker = format!(
            "atom-test-log-marker-{}-{}",
            std::process::id(),
            MARKERS.fetch_add(1, Ordering::SeqCst)
        );
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))
            .expect("connect to the git daemon");
        stream
            .write_all(&pkt_line(
                format!("git-upload-pack /{marker}\0host=127.0.0.1\0").as_bytes(),
            ))
            .expect("send the marker request");
        // The daemon refuses the marker (no such repository) and hangs up.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
        let _ = stream.read_to_end(&mut Vec::new());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let mut requests = self.requests.lock().unwrap();
                if let Some(at) = requests.iter().position(|r| *r == marker) {
                    requests.remove(at);
                    return requests.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the git daemon never logged the marker request {marker}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The `git://` URL of a repository under the base path.
    pub fn url(&self, rel: &str) -> String {
        format!("git://127.0.0.1:{}/{rel}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server on a free loopback port: `spawn` starts it on the port it is given, and this
/// waits until that very process listens there. A port found free can be taken by another test
/// before the server binds it; then the server exits (or something else answers on the port) and
/// this tries again on another port, instead of handing out a port whose listener belongs to a
/// server that another test stops.
pub(crate) fn start_on_free_port(what: &str, mut spawn: impl FnMut(u16) -> Child) -> (Child, u16) {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let port = free_port();
        let mut child = spawn(port);
        if wait_until_listening(port, what, &mut child) {
            return (child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{what} could not listen on a free port in {ATTEMPTS} attempts")
}

/// Waits until `child` listens on `127.0.0.1:port`: true once it does, false when it exits
/// first or another process holds the port; panics naming `what` after 20 seconds.
fn wait_until_listening(port: u16, what: &str, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Some(inode) = listening_inode(port) {
            return owns_socket(child.id(), &inode);
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The inode of the socket listening on `127.0.0.1:port` (or on every address), from
/// `/proc/net/tcp`.
fn listening_inode(port: u16) -> Option<String> {
    const LISTEN: &str = "0A";
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
        (wanted.iter().any(|w| w == local) && *state == LISTEN).then(|| (*inode).to_owned())
    })
}

/// Whether process `pid` holds the socket with this inode.
fn owns_socket(pid: u32, inode: &str) -> bool {
    let link = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == link.as_str())
        })
}

/// Finds a program on `PATH` or in the sbin directories, or panics saying which package to
/// install: a test that needs a missing server says so loudly instead of skipping.
pub fn require_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is needed by this test: install the Debian package `{package}`")
        })
}

/// A real web server (lighttpd) on loopback running git's smart HTTP backend
/// (`git http-backend` as a CGI program) for the repositories under a directory, with pushes
/// enabled, also in the ref namespace `t` ([`HttpServer::namespaced_url`]); stopped on drop.
#[derive(Debug)]
pub struct HttpServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// For a server speaking TLS: the certificate of the authority that signed its certificate.
    pub ca: Option<PathBuf>,
    /// For a server speaking TLS: every certificate made for it (the client's too).
    pub certs: Option<TestCertificates>,
    /// The document root: a file put there is served at [`HttpServer::file_url`].
    pub files: PathBuf,
}

/// A certificate authority made for one test, and a server certificate it signed for
/// `127.0.0.1` and `localhost`, all made with `openssl`; or ([`TestCertificates::self_signed`])
/// a server certificate that is its own authority.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    /// The authority's certificate (what a client trusts).
    pub ca: PathBuf,
    /// The server's certificate (followed by the intermediate authority's in a chain).
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// A client certificate the authority signed, and its key (what `http.sslCert` and
    /// `http.sslKey` name).
    pub client: (PathBuf, PathBuf),
}

/// How [`HttpServer::start_with_options`] sets up a server.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Speak TLS.
    pub tls: bool,
    /// With TLS: a certificate that is its own authority (`openssl req -x509`, `CA:TRUE`), as
    /// a company's self-made certificate usually is.
    pub self_signed: bool,
    /// With TLS: the server's certificate is signed by an intermediate authority the root
    /// signed, and the server sends the chain; clients trust the root.
    pub chain: bool,
    /// With TLS: the server requires a client certificate signed by its authority.
    pub client_certificate: bool,
    /// Basic authentication with this user and password.
    pub basic_auth: Option<(String, String)>,
}

impl TestCertificates {
    /// Makes a fresh authority and server certificate in `dir`.
    pub fn make(env: &TestEnv, dir: &Path) -> Self {
        Self::make_with(env, dir, false)
    }

    /// Makes a server certificate that is its own authority (`CA:TRUE`, as `openssl req -x509`
    /// makes it), and a client certificate it signed.
    pub fn self_signed(env: &TestEnv, dir: &Path) -> Self {
        let certs = Self::make(env, dir);
        let openssl = require_program("openssl", "openssl");
        let out = env
            .command(dir, &openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                "self.key",
                "-out",
                "self.pem",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestCertificates {
            ca: dir.join("self.pem"),
            cert: dir.join("self.pem"),
            key: dir.join("self.key"),
            client: certs.client,
        }
    }

    /// Makes a root authority, an intermediate one it signed, and a server certificate the
    /// intermediate signed; [`TestCertificates::cert`] holds the chain (server, intermediate)
    /// and [`TestCertificates::ca`] the root.
    pub fn chain(env: &TestEnv, dir: &Path) -> Self {
        Self::make_with(env, dir, true)
    }

    fn make_with(env: &TestEnv, dir: &Path, chain: bool) -> Self {
        let openssl = require_program("openssl", "openssl");
        std::fs::create_dir_all(dir).unwrap();
        let p = |name: &str| dir.join(name);
        let run = |args: &[&str]| {
            let out = env.command(dir, &openssl).args(args).output().unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=atom test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        run(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            p("server.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        let issuer = if chain {
            std::fs::write(
                p("inter.ext"),
                "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
            )
            .unwrap();
            run(&[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=atom test intermediate CA",
                "-keyout",
                "inter.key",
                "-out",
                "inter.csr",
            ]);
            run(&[
                "x509",
                "-req",
                "-in",
                "inter.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "inter.ext",
                "-out",
                "inter.pem",
            ]);
            "inter"
        } else {
            "ca"
        };
        let (issuer_pem, issuer_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &issuer_pem,
            "-CAkey",
            &issuer_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        if chain {
            let mut pem = std::fs::read(p("server.pem")).unwrap();
            pem.extend(std::fs::read(p("inter.pem")).unwrap());
            std::fs::write(p("server.pem"), pem).unwrap();
        }
        std::fs::write(
            p("client.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        run(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=atom test client",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "client.ext",
            "-out",
            "client.pem",
        ]);
        TestCertificates {
            ca: p("ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
            client: (p("client.pem"), p("client.key")),
        }
    }
}

impl HttpServer {
    /// Starts lighttpd serving `base` at `http://127.0.0.1:<port>/git/`.
    pub fn start(env: &TestEnv, base: &Path) -> Self {
        Self::start_with(env, base, None, &HttpOptions::default())
    }

    /// Starts lighttpd serving `base` at `https://127.0.0.1:<port>/git/` with a certificate
    /// signed by an authority made for this server ([`HttpServer::ca`]), which nothing trusts
    /// unless told to.
    pub fn start_tls(env: &TestEnv, base: &Path) -> Self {
        let options = HttpOptions {
            tls: true,
            ..HttpOptions::default()
        };
        Self::start_with_options(env, base, &options)
    }

    /// Starts lighttpd serving `base` as `options` say.
    pub fn start_with_options(env: &TestEnv, base: &Path, options: &HttpOptions) -> Self {
        let tls = options.tls.then(|| {
            let port_dir = env.path(&format!("tls-{}", free_port()));
            if options.self_signed {
                TestCertificates::self_signed(env, &port_dir)
            } else if options.chain {
                TestCertificates::chain(env, &port_dir)
            } else {
                TestCertificates::make(env, &port_dir)
            }
        });
        Self::start_with(env, base, tls, options)
    }

    fn start_with(
        env: &TestEnv,
        base: &Path,
        tls: Option<TestCertificates>,
        options: &HttpOptions,
    ) -> Self {
        let lighttpd = require_program("lighttpd", "lighttpd");
        let exec_path = env.git_ok(env.root(), &["--exec-path"]);
        let backend = Path::new(&exec_path).join("git-http-backend");
        assert!(
            backend.is_file(),
            "git http-backend is missing at {}",
            backend.display()
        );
        let dir = env.path(&format!("lighttpd-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("lighttpd.conf");
        let tls_conf = match &tls {
            Some(certs) => {
                let module = Path::new("/usr/lib/lighttpd/mod_openssl.so");
                assert!(
                    module.is_file(),
                    "lighttpd's TLS module is needed by this test: install the Debian package \
                     `lighttpd-mod-openssl`"
                );
                let client = if options.client_certificate {
                    format!(
                        "ssl.ca-file = \"{}\"\nssl.verifyclient.activate = \"enable\"\n\
                         ssl.verifyclient.enforce = \"enable\"\n",
                        certs.ca.display()
                    )
                } else {
                    String::new()
                };
                format!(
                    "server.modules += (\"mod_openssl\")\nssl.engine = \"enable\"\n\
                     ssl.pemfile = \"{}\"\nssl.privkey = \"{}\"\n{client}",
                    certs.cert.display(),
                    certs.key.display()
                )
            }
            None => String::new(),
        };
        let auth_conf = match &options.basic_auth {
            Some((user, password)) => {
                let users = dir.join("users");
                std::fs::write(&users, format!("{user}:{password}\n")).unwrap();
                format!(
                    "server.modules += (\"mod_auth\", \"mod_authn_file\")\n\
                     auth.backend = \"plain\"\nauth.backend.plain.userfile = \"{}\"\n\
                     auth.require = (\"/git/\" => (\"method\" => \"basic\", \
                     \"realm\" => \"git\", \"require\" => \"valid-user\"))\n",
                    users.display()
                )
            }
            None => String::new(),
        };
        let (child, port) = start_on_free_port("lighttpd", |port| {
            std::fs::write(
                &conf,
                format!(
                    r#"server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
{tls_conf}
{auth_conf}
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{dir}"
server.errorlog = "{dir}/error.log"
server.pid-file = "{dir}/lighttpd.pid"
server.upload-dirs = ("{dir}")
# Served files change under tests; never answer from a stale stat.
server.stat-cache-engine = "disable"
alias.url = ("/git/" => "{backend}/", "/git-t/" => "{backend}/")
$HTTP["url"] =~ "^/git/" {{
    cgi.assign = ("" => "")
    setenv.set-environment = (
        "GIT_PROJECT_ROOT" => "{base}",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "REMOTE_USER" => "atom-test",
        "PATH" => "/usr/bin:/bin",
    )
}}
$HTTP["url"] =~ "^/git-t/" {{
    cgi.assign = ("" => "")
    setenv.set-environment = (
        "GIT_PROJECT_ROOT" => "{base}",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "GIT_NAMESPACE" => "t",
        "REMOTE_USER" => "atom-test",
        "PATH" => "/usr/bin:/bin",
    )
}}
"#,
                    dir = dir.display(),
                    backend = backend.display(),
                    base = base.display(),
                ),
            )
            .unwrap();
            env.command(&dir, &lighttpd)
                .args(["-D", "-f"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("lighttpd starts")
        });
        HttpServer {
            child,
            port,
            ca: tls.as_ref().map(|certs| certs.ca.clone()),
            certs: tls,
            files: dir,
        }
    }

    /// The `http://` (or `https://`) URL of a repository under the base path.
    pub fn url(&self, rel: &str) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/git/{rel}", self.port)
    }

    /// The URL of a repository under the base path served in the ref namespace `t`
    /// (`GIT_NAMESPACE=t`, see `git help gitnamespaces`).
    pub fn namespaced_url(&self, rel: &str) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/git-t/{rel}", self.port)
    }

    /// The URL of the file `rel` of the document root ([`HttpServer::files`]).
    pub fn file_url(&self, rel: &str) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{rel}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Generates a host key and a client key in `dir` (`host_key`, `client_key`, the latter accepted
/// by `authorized_keys`) and starts OpenSSH's `sshd` on a free loopback port, configured by
/// `dir/sshd_config` (key logins only, `extra` appended), as `command(config)` runs it.
pub(crate) fn start_sshd(
    dir: &Path,
    extra: &str,
    command: impl Fn(&Path) -> Command,
) -> (Child, u16) {
    for key in ["host_key", "client_key"] {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f", key])
            .current_dir(dir)
            .status()
            .expect("run ssh-keygen");
        assert!(status.success(), "ssh-keygen {key}");
    }
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    // sshd needs its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let conf = dir.join("sshd_config");
    start_on_free_port("sshd", |port| {
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\n\
                 AuthorizedKeysFile {dir}/authorized_keys\nPidFile {dir}/sshd.pid\n\
                 StrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\n{extra}",
                dir = dir.display()
            ),
        )
        .unwrap();
        command(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts")
    })
}

/// OpenSSH's `sshd` on loopback with a generated host key, accepting a generated client key for
/// the current user; the test's global git config gets a `core.sshCommand` using that key.
/// Stopped on drop.
#[derive(Debug)]
pub struct SshServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    user: String,
    ssh_command: String,
}

impl SshServer {
    /// Generates the keys, starts `sshd -D` and configures the test's git to use the key.
    pub fn start(env: &TestEnv) -> Self {
        let sshd = require_program("sshd", "openssh-server");
        require_program("ssh", "openssh-client");
        let dir = env.path(&format!("sshd-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let (child, port) = start_sshd(&dir, "AcceptEnv GIT_PROTOCOL\n", |conf| {
            let mut sshd = env.command(&dir, &sshd);
            sshd.args(["-D", "-e", "-f"]).arg(conf);
            sshd
        });
        let user = env
            .run(&dir, "id", ["-un"])
            .success()
            .stdout
            .trim()
            .to_owned();
        let ssh_command = format!(
            "ssh -i {}/client_key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            dir.display()
        );
        let config = env.home().join(".gitconfig");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("[core]\n\tsshCommand = {ssh_command}\n"));
        std::fs::write(&config, text).unwrap();
        SshServer {
            child,
            port,
            user,
            ssh_command,
        }
    }

    /// The `ssh://` URL of the repository at the absolute path `path`.
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// The ssh command line that logs in with the generated key (also set as `core.sshCommand`).
    pub fn ssh_command(&self) -> &str {
        &self.ssh_command
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a [`HostileProxy`] answers in place of the real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostility {
    /// Nothing: every byte is passed on (the positive control).
    Honest,
    /// Each protocol v2 `fetch` is answered with the start of a pack section and then band-2
    /// progress messages every 10 ms, forever, never a byte of pack.
    EndlessProgress,
    /// Each protocol v2 `ls-refs` is answered with this many made-up atom refs
    /// (`refs/atoms/a<i>/1.0.0`), whatever the prefixes asked for.
    Refs(usize),
    /// Each protocol v2 `fetch` is answered with a pack, made from the repository at the path,
    /// holding what was wanted and everything reachable from the revision named too, whatever
    /// filter was asked for.
    ExtraObjects(PathBuf, String),
}

/// A hostile `git://` server on loopback: a proxy in front of a real `git daemon` that passes the
/// conversation through (the handshake, the commands it leaves alone) and answers the commands
/// its [`Hostility`] names itself.
#[derive(Debug)]
pub struct HostileProxy {
    /// The port it listens on.
    pub port: u16,
    mode: std::sync::Arc<std::sync::Mutex<Hostility>>,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// `payload` as one pkt-line.
fn pkt_line(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", payload.len() + 4).into_bytes();
    out.extend_from_slice(payload);
    out
}

impl HostileProxy {
    /// Starts a proxy in front of the `git daemon` listening on `daemon_port`.
    pub fn start(daemon_port: u16, mode: Hostility) -> Self {
        use std::sync::atomic::AtomicUsize;
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(mode));
        let answered = Arc::new(AtomicUsize::new(0));
        let (shared_mode, shared_answered) = (mode.clone(), answered.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (mode, answered) = (shared_mode.clone(), shared_answered.clone());
                std::thread::spawn(move || {
                    let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", daemon_port))
                    else {
                        return;
                    };
                    Self::relay(client, server, &mode, &answered);
                });
            }
        });
        HostileProxy {
            port,
            mode,
            answered,
        }
    }

    /// Passes `client`'s requests to `server` and the answers back, answering the requests the
    /// mode names itself.
    fn relay(
        client: std::net::TcpStream,
        server: std::net::TcpStream,
        mode: &std::sync::Mutex<Hostility>,
        answered: &std::sync::atomic::AtomicUsize,
    ) {
        use std::io::{Read, Write};
        let (mut from_server, mut to_client) =
            (server.try_clone().unwrap(), client.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_server, &mut to_client);
        });
        let (mut from_client, mut to_server, mut to_client) =
            (client.try_clone().unwrap(), server, client);
        let mut buf = vec![0u8; 65536];
        // The request being held, once it is one the proxy answers itself.
        let mut held: Option<Vec<u8>> = None;
        loop {
            let n = match from_client.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let has = |what: &[u8]| chunk.windows(what.len()).any(|w| w == what);
            let hostility = mode.lock().unwrap().clone();
            let ours = match hostility {
                Hostility::Honest => false,
                Hostility::EndlessProgress | Hostility::ExtraObjects(..) => has(b"command=fetch"),
                Hostility::Refs(_) => has(b"command=ls-refs"),
            };
            if held.is_none() && !ours {
                if to_server.write_all(chunk).is_err() {
                    return;
                }
                continue;
            }
            let request = held.get_or_insert_with(Vec::new);
            request.extend_from_slice(chunk);
            if !request.ends_with(b"0000") {
                continue;
            }
            let request = held.take().unwrap_or_default();
            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = match hostility {
                Hostility::Refs(n) => Self::refs(n),
                Hostility::ExtraObjects(repo, extra) => Self::pack_with(&repo, &extra, &request),
                _ => {
                    Self::endless_progress(&mut to_client, &request);
                    return;
                }
            };
            if to_client.write_all(&answer).is_err() {
                return;
            }
        }
    }

    /// An `ls-refs` answer of `n` made-up atom refs.
    fn refs(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n * 70);
        for i in 0..n {
            out.extend(pkt_line(
                format!("{:040x} refs/atoms/a{i}/1.0.0\n", i + 1).as_bytes(),
            ));
        }
        out.extend_from_slice(b"0000");
        out
    }

    /// A `fetch` answer whose pack holds the objects `request` wants and what they reach, and
    /// `extra` with everything it reaches, made by `git pack-objects` in `repo`.
    fn pack_with(repo: &Path, extra: &str, request: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let text = String::from_utf8_lossy(request);
        let mut revs: Vec<String> = text
            .split("want ")
            .skip(1)
            .filter_map(|w| w.get(..40).map(str::to_owned))
            .collect();
        revs.push(extra.to_owned());
        let mut child = Command::new("git")
            .args(["pack-objects", "--stdout", "--revs", "-q"])
            .env("GIT_DIR", repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = revs.join("\n") + "\n";
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "pack-objects in {}", repo.display());
        let mut answer = pkt_line(b"packfile\n");
        for chunk in out.stdout.chunks(65000) {
            let mut data = vec![1u8];
            data.extend_from_slice(chunk);
            answer.extend(pkt_line(&data));
        }
        answer.extend_from_slice(b"0000");
        answer
    }

    /// Answers a `fetch` with a pack section that only ever brings progress messages. A
    /// request without `done` (the client offered objects it has) is first acknowledged with
    /// `ready`, as a server does when it will send the pack.
    fn endless_progress(to_client: &mut std::net::TcpStream, request: &[u8]) {
        use std::io::Write;
        let mut start = Vec::new();
        if !request.windows(5).any(|w| w == b"done\n") {
            start.extend(pkt_line(b"acknowledgments\n"));
            start.extend(pkt_line(b"ready\n"));
            start.extend_from_slice(b"0001");
        }
        start.extend(pkt_line(b"packfile\n"));
        if to_client.write_all(&start).is_err() {
            return;
        }
        for i in 0u64.. {
            let message = format!("\u{2}Counting objects: {i}\r");
            if to_client.write_all(&pkt_line(message.as_bytes())).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Changes what the proxy answers from now on.
    pub fn set(&self, mode: Hostility) {
        *self.mode.lock().unwrap() = mode;
    }

    /// How many requests the proxy has answered itself.
    pub fn answered(&self) -> usize {
        self.answered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The `git://` URL of a repository the daemon serves.
    pub fn url(&self, rel: &str) -> String {
        format!("git://127.0.0.1:{}/{rel}", self.port)
    }
}

/// Snapshots what a user sees of `run` (exit status, stdout, stderr; see [`TestEnv::snapshot`])
/// with `env`'s redactions ([`TestEnv::insta_settings`]), named after the calling test.
#[macro_export]
macro_rules! assert_user_sees {
    ($env:expr, $run:expr $(,)?) => {{
        let env: &$crate::TestEnv = &$env;
        let seen = env.snapshot(&$run);
        env.insta_settings()
            .bind(|| $crate::insta::assert_snapshot!(seen));
    }};
}

#[doc(hidden)]
pub use insta;

/// An HTTP proxy on loopback that tunnels `CONNECT` requests (what git's libcurl sends for an
/// `https://` URL through `http.proxy`), counting the tunnels it opened. Its threads end with
/// the test process.
#[derive(Debug)]
pub struct ConnectProxy {
    /// The port it listens on.
    pub port: u16,
    tunnels: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ConnectProxy {
    /// Starts the proxy.
    pub fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = tunnels.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let count = count.clone();
                std::thread::spawn(move || Self::tunnel(client, &count));
            }
        });
        ConnectProxy { port, tunnels }
    }

    fn tunnel(client: std::net::TcpStream, count: &std::sync::atomic::AtomicUsize) {
        use std::io::Write;
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let mut request = String::new();
        if reader.read_line(&mut request).is_err() {
            return;
        }
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) if header.trim().is_empty() => break,
                Ok(_) => {}
            }
        }
        let mut client = client;
        let target = request
            .strip_prefix("CONNECT ")
            .and_then(|r| r.split_whitespace().next());
        let Some(server) = target.and_then(|t| std::net::TcpStream::connect(t).ok()) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let (mut up_from, mut up_to) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut up_from, &mut up_to);
            let _ = up_to.shutdown(std::net::Shutdown::Write);
        });
        let (mut down_from, mut down_to) = (server, client);
        let _ = std::io::copy(&mut down_from, &mut down_to);
        let _ = down_to.shutdown(std::net::Shutdown::Write);
        let _ = up.join();
    }

    /// `http.proxy`'s value for this proxy.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many tunnels it has opened.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_held_by_another_process_is_not_taken_for_the_server() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let mut bystander = Command::new("sleep").arg("30").spawn().unwrap();
        let listening = wait_until_listening(port, "sleep", &mut bystander);
        let _ = bystander.kill();
        let _ = bystander.wait();
        assert!(
            !listening,
            "the listener on {port} is this test's, not sleep's"
        );
    }

    #[test]
    fn a_server_that_exits_is_not_taken_for_listening() {
        let port = free_port();
        let mut exited = Command::new("true").spawn().unwrap();
        let _ = exited.wait();
        assert!(!wait_until_listening(port, "true", &mut exited));
    }

    #[test]
    fn a_server_started_on_a_free_port_listens_there_itself() {
        let (mut child, port) = start_on_free_port("python3", |port| {
            Command::new("python3")
                .args([
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    &port.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        let inode = listening_inode(port).expect("something listens on the port");
        let owned = owns_socket(child.id(), &inode);
        let _ = child.kill();
        let _ = child.wait();
        assert!(owned);
    }
}
