//! eka-run's sandbox fixtures: an unprivileged user, a sealed environment, the checks that say
//! loudly what the machine lacks. eka-run's own integration tests use them; so can the
//! end-to-end tests.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The uid and gid tests drop to when they run as root (CI does): `nobody`.
pub const NOBODY: u32 = 65534;

/// The eka-run binary under test (built fresh, see [`crate::bin_dir`]), at a path the
/// unprivileged user can execute: when the build directory is not reachable for others (a
/// checkout under `/root`, say), a hard link (or copy) in the temporary directory. That one file
/// is left behind.
pub fn eka_run() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = crate::bin_dir().join("eka-run");
        let reachable = built
            .ancestors()
            .skip(1)
            .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
        if !is_root() || reachable {
            return built;
        }
        let dir = tempfile::Builder::new()
            .prefix("eka-run-test-bin.")
            .tempdir()
            .expect("create a directory for the test binary")
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("eka-run");
        if std::fs::hard_link(&built, &bin).is_err() {
            std::fs::copy(&built, &bin).expect("copy eka-run where nobody can run it");
        }
        bin
    })
}

/// Whether the tests run as root (CI does).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// A temporary directory the unprivileged user owns, with a home, a store and a `bin` holding
/// eka-run (so scripts can say `#!/usr/bin/env eka-run`).
#[derive(Debug)]
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox directory (failing loudly when user namespaces are unavailable).
    pub fn new() -> Self {
        require_userns();
        let dir = tempfile::Builder::new()
            .prefix("eka-run-test.")
            .tempdir()
            .expect("create a temporary directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = Sandbox { dir };
        std::fs::create_dir_all(s.path("home")).unwrap();
        // Nix's configuration is the test's, never the host's (see `command`).
        s.write(
            "nix-conf/nix.conf",
            "# The test's own Nix configuration (NIX_CONF_DIR): empty.\n",
            0o644,
        );
        s.write(
            "nix-conf/user.conf",
            "# The test's own user configuration (NIX_USER_CONF_FILES): empty.\n",
            0o644,
        );
        std::fs::create_dir_all(s.path("bin")).unwrap();
        std::os::unix::fs::symlink(eka_run(), s.path("bin/eka-run")).unwrap();
        s
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write `contents` to `rel` (creating directories), with `mode`.
    pub fn write(&self, rel: &str, contents: &str, mode: u32) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Hand everything written so far to the unprivileged user.
    pub fn chown(&self) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", &format!("{NOBODY}:{NOBODY}")])
                .arg(self.dir.path())
                .status()
                .expect("run chown");
            assert!(status.success());
        }
    }

    /// `program args...` as the unprivileged user, in a sealed environment: only `PATH` (with
    /// our `bin` first), `HOME`, `LC_ALL`, `TZ`, and a test-owned `NIX_CONF_DIR` and
    /// `NIX_USER_CONF_FILES` (so no Nix call reads the host's configuration).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.command_as(program, is_root())
    }

    /// `program args...` as the user running the tests (root in CI), in the same sealed
    /// environment as [`Sandbox::command`].
    pub fn command_as_caller(&self, program: impl AsRef<OsStr>) -> Command {
        self.command_as(program, false)
    }

    fn command_as(&self, program: impl AsRef<OsStr>, drop: bool) -> Command {
        let mut cmd = if drop {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ]);
            c.arg(program);
            c
        } else {
            Command::new(program)
        };
        let mut path = self.path("bin").into_os_string();
        path.push(":/usr/local/bin:/usr/bin:/bin");
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("NIX_CONF_DIR", self.path("nix-conf"))
            .env("NIX_USER_CONF_FILES", self.path("nix-conf/user.conf"))
            .current_dir(self.dir.path());
        cmd
    }

    /// `eka-run args...` as the unprivileged user.
    pub fn eka_run(&self) -> Command {
        self.command(eka_run())
    }
}

/// Waits until `child` runs `program` (its `/proc/<pid>/comm`), i.e. has passed the `exec` of
/// any wrapper such as `setpriv`; panics if it exits first or takes more than 20 s.
pub fn wait_for_exec(child: &std::process::Child, program: &str) {
    let comm = PathBuf::from(format!("/proc/{}/comm", child.id()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match std::fs::read_to_string(&comm) {
            Ok(name) if name.trim_end() == program => return,
            Ok(_) => {}
            Err(e) => panic!(
                "process {} is gone before running {program}: {e}",
                child.id()
            ),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {} did not exec {program} within 20 s",
            child.id()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Run and capture, with a readable failure if the command cannot start.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fail loudly when this machine cannot create user namespaces as an unprivileged user.
pub fn require_userns() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
                "unshare",
            ]);
            c
        } else {
            Command::new("unshare")
        };
        let out = cmd
            .args(["-Urm", "true"])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(stderr(&out))
        }
    });
    if let Err(e) = check {
        panic!(
            "MISSING: this machine does not let an unprivileged user create user namespaces \
             (`unshare -Urm true` failed: {e}); eka-run's tests need them: enable \
             kernel.unprivileged_userns_clone / user.max_user_namespaces, or lift the \
             AppArmor/seccomp restriction"
        );
    }
}

/// Fail loudly when Nix is not installed: eka-run's eval tests run the real Nix evaluator.
pub fn require_nix() -> PathBuf {
    crate::require_program("nix-instantiate", "nix-bin")
}

/// A statically linked busybox (Debian `busybox-static`), to copy into a store as a builder
/// that needs nothing else from the store. Fails loudly when it is missing or dynamic.
pub fn require_static_busybox() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    let elf = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("MISSING: {} ({e}): the Nix build tests need a static busybox (Debian package `busybox-static`)", path.display())
    });
    assert!(
        !has_interpreter(&elf),
        "MISSING: {} is dynamically linked: the Nix build tests need a static busybox (Debian package `busybox-static`, not `busybox`)",
        path.display()
    );
    path
}

/// Whether a 64-bit little-endian ELF file has a `PT_INTERP` program header (is dynamic).
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert!(
        elf.starts_with(b"\x7fELF\x02\x01"),
        "not a 64-bit little-endian ELF file"
    );
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// OpenSSH's `sshd` on loopback, for Nix's remote builders (`builders = ssh://...`): it runs as
/// the user running the tests and logs in that user (root in CI, while the client is the
/// unprivileged user), with a key pair of its own. Its files are in a directory of its own,
/// owned by that user; the client's copy of the key is in the sandbox.
#[derive(Debug)]
pub struct Sshd {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    /// The user it logs in.
    pub user: String,
    /// Its directory.
    pub dir: tempfile::TempDir,
    /// The client's private key (in the sandbox, readable by the client only).
    pub key: PathBuf,
}

impl Sshd {
    /// Generate the keys and start `sshd -D`; the client key goes to `sb`'s `ssh/client_key`.
    pub fn start(sb: &Sandbox) -> Self {
        let sshd = crate::require_program("sshd", "openssh-server");
        crate::require_program("ssh", "openssh-client");
        let dir = tempfile::Builder::new()
            .prefix("eka-run-sshd.")
            .tempdir()
            .expect("create a directory for sshd");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (child, port) = crate::start_sshd(dir.path(), "", |conf| {
            let mut sshd = Command::new(&sshd);
            sshd.args(["-D", "-e", "-f"]).arg(conf);
            sshd
        });
        let key = sb.path("ssh/client_key");
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::copy(dir.path().join("client_key"), &key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let id = Command::new("id").arg("-un").output().expect("run id");
        let user = String::from_utf8(id.stdout).unwrap().trim().to_owned();
        Sshd {
            child,
            port,
            user,
            dir,
            key,
        }
    }

    /// `NIX_SSHOPTS` for Nix's ssh: the port, batch mode, no host key checks (loopback, a key
    /// made for the test), no agent.
    pub fn nix_sshopts(&self) -> String {
        format!(
            "-p {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            self.port
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
