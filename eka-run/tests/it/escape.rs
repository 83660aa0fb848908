//! Escape attempts against eval mode. Each first shows the same action succeeds outside the
//! sandbox, as the same unprivileged user, then that it is denied inside.
//!
//! Attacks Nix can express run through the real `nix-instantiate` (`eka-run eval`); the ones it
//! cannot (a compromised evaluator) run as a Perl probe under the very same sandbox
//! (`eka-run sandbox`).

use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use atom_tests::sandbox::*;

const COMPOSE: &str =
    "atomRoot: { from ? {}, get ? {}, config ? {} }: import (atomRoot + \"/mod.nix\")\n";

/// A probe for what a compromised evaluator could try. Prints `probe: started`, then either
/// `probe: allowed ...` (exit 0) or `probe: denied: <reason>` (exit 3).
const PROBE: &str = r#"
use strict; use warnings; use Socket;
$| = 1;
print "probe: started\n";
sub allowed { print "probe: allowed @_\n"; exit 0 }
sub denied { print "probe: denied: @_\n"; exit 3 }
my $what = shift @ARGV;
if ($what eq "read") {
    open(my $f, "<", $ARGV[0]) or denied($!); my $l = <$f>; defined $l or denied("empty"); allowed($l);
} elsif ($what eq "write") {
    open(my $f, ">", $ARGV[0]) or denied($!); print $f "x" or denied($!); close($f) or denied($!); allowed();
} elsif ($what eq "tcp") {
    socket(my $s, PF_INET, SOCK_STREAM, 0) or denied($!);
    connect($s, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or denied($!); allowed();
} elsif ($what eq "udp") {
    socket(my $s, PF_INET, SOCK_DGRAM, 0) or denied($!);
    defined(send($s, "ping", 0, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1")))) or denied($!); allowed();
} elsif ($what eq "unix") {
    (my $path = $ARGV[0]) =~ s/^@/\0/;   # @name: the abstract socket `name`
    socket(my $s, PF_UNIX, SOCK_STREAM, 0) or denied($!);
    connect($s, pack_sockaddr_un($path)) or denied($!); allowed();
} elsif ($what eq "userns") {
    my $unshare = `uname -m` =~ /aarch64/ ? 97 : 272;
    syscall($unshare, 0x10000000) == 0 or denied($!);   # unshare(CLONE_NEWUSER)
    allowed();
} elsif ($what eq "fd") {
    open(my $f, "<&=", 3) or denied($!); my $l = <$f>; defined $l or denied("nothing to read"); allowed($l);
} elsif ($what eq "env") {
    defined $ENV{EKA_TEST_SECRET} ? allowed($ENV{EKA_TEST_SECRET}) : denied("unset");
} elsif ($what eq "tiocsti") {
    for my $fd (0, 1, 2) {
        open(my $h, "+<&=", $fd) or next;
        my $c = "x"; ioctl($h, 0x5412, $c) and allowed("on fd $fd");
    }
    open(my $t, "+<", "/dev/tty") or denied("no terminal: $!");
    my $c = "x"; ioctl($t, 0x5412, $c) and allowed("on /dev/tty");
    denied($!);
} elsif ($what eq "signal" || $what eq "ptrace") {
    $ARGV[0] += 0;   # a number, not a string (syscall would pass a pointer)
}
if ($what eq "signal") {
    kill(0, $ARGV[0]) or denied($!); kill("TERM", $ARGV[0]) or denied($!); allowed();
} elsif ($what eq "ptrace") {
    syscall(101, 16, $ARGV[0], 0, 0) == 0 or denied($!);   # PTRACE_ATTACH
    waitpid($ARGV[0], 0x40000000);                       # __WALL: wait for the stop
    syscall(101, 17, $ARGV[0], 0, 0);                    # PTRACE_DETACH
    allowed();
}
die "unknown probe $what";
"#;

struct Fixture {
    sb: Sandbox,
    atom: PathBuf,
}

fn fixture(mod_nix: &str) -> Fixture {
    atom_tests::require_program("perl", "perl-base");
    let sb = Sandbox::new();
    sb.write("atom-nix/compose.nix", COMPOSE, 0o644);
    sb.write("atom/mod.nix", mod_nix, 0o644);
    sb.write("atom/probe.pl", PROBE, 0o644);
    sb.write("secret.txt", "s3cret-file\n", 0o644);
    std::fs::create_dir_all(sb.path("shared")).unwrap();
    std::fs::set_permissions(sb.path("shared"), std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.chown();
    let atom = sb.path("atom");
    Fixture { sb, atom }
}

impl Fixture {
    /// `nix-instantiate --eval` of `attr` of the atom's mod.nix, outside any sandbox.
    fn nix_outside(&self, attr: &str) -> Command {
        let nix = require_nix();
        let mut cmd = self.sb.command(nix);
        cmd.args(["--eval", "--strict", "--store", "dummy://"])
            .arg(self.atom.join("mod.nix"))
            .args(["-A", attr]);
        cmd
    }

    /// `eka-run eval` of `attr`.
    fn nix_inside(&self, attr: &str) -> Command {
        require_nix();
        let mut cmd = self.sb.eka_run();
        cmd.arg("eval")
            .arg("--atom-nix")
            .arg(self.sb.path("atom-nix"))
            .arg(&self.atom)
            .arg(attr);
        cmd
    }

    fn probe_outside(&self, args: &[&str]) -> Command {
        let mut cmd = self.sb.command("perl");
        cmd.arg(self.atom.join("probe.pl")).args(args);
        cmd
    }

    fn probe_inside(&self, args: &[&str]) -> Command {
        let mut cmd = self.sb.eka_run();
        cmd.arg("sandbox")
            .arg(&self.atom)
            .arg("--")
            .arg("perl")
            .arg(self.atom.join("probe.pl"))
            .args(args);
        cmd
    }
}

fn assert_allowed(out: &Output, what: &str) {
    assert!(
        out.status.success() && stdout(out).contains("probe: allowed"),
        "outside the sandbox, {what} should succeed (else this test proves nothing)\nstatus: {}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

fn assert_denied(out: &Output, what: &str) {
    let so = stdout(out);
    assert!(
        so.contains("probe: started")
            && so.contains("probe: denied")
            && out.status.code() == Some(3),
        "inside the sandbox, {what} should be denied\nstatus: {}\nstdout: {so}\nstderr: {}",
        out.status,
        stderr(out)
    );
}

#[test]
fn eval_mode_evaluates_the_atom() {
    let f = fixture("{ greeting = \"hello\"; n = 1 + 2; nested.list = [ 1 \"a\" ]; }\n");
    let out = output(&mut f.nix_inside("greeting"));
    assert_eq!(stdout(&out), "\"hello\"\n", "stderr: {}", stderr(&out));
    assert!(out.status.success());
    let out = output(f.nix_inside("nested").arg("--json"));
    assert_eq!(
        stdout(&out),
        "{\"list\":[1,\"a\"]}\n",
        "stderr: {}",
        stderr(&out)
    );
    let out = output(
        f.sb.eka_run()
            .args(["eval", "--atom-nix"])
            .arg(f.sb.path("atom-nix"))
            .arg(&f.atom),
    );
    assert_eq!(
        stdout(&out),
        "{ greeting = \"hello\"; n = 3; nested = { list = [ 1 \"a\" ]; }; }\n"
    );
    // Evaluation errors are nix-instantiate's (exit 1), not eka-run's (125).
    let out = output(&mut f.nix_inside("missing"));
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
}

#[test]
fn reading_a_secret_file_outside_the_atom_is_denied() {
    let f = fixture("");
    let secret = f.sb.path("secret.txt");
    std::fs::write(
        f.atom.join("mod.nix"),
        format!("{{ probe = builtins.readFile {}; }}\n", secret.display()),
    )
    .unwrap();
    let out = output(&mut f.nix_outside("probe"));
    assert!(
        stdout(&out).contains("s3cret-file"),
        "outside: {}",
        stderr(&out)
    );
    let out = output(&mut f.nix_inside("probe"));
    assert!(!stdout(&out).contains("s3cret-file") && !stderr(&out).contains("s3cret-file"));
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("secret.txt"), "{}", stderr(&out));

    let s = secret.to_str().unwrap();
    assert_allowed(
        &output(&mut f.probe_outside(&["read", s])),
        "reading the secret",
    );
    assert_denied(
        &output(&mut f.probe_inside(&["read", s])),
        "reading the secret",
    );
}

#[test]
fn readfile_of_an_absolute_host_path_is_denied() {
    let f = fixture("{ probe = builtins.readFile /etc/hosts; }\n");
    let out = output(&mut f.nix_outside("probe"));
    assert!(
        stdout(&out).contains("localhost"),
        "outside: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = output(&mut f.nix_inside("probe"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {} stderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains("localhost"));
}

#[test]
fn writing_outside_the_private_directory_is_denied() {
    let f = fixture("{}");
    for target in [f.sb.path("shared/outside.txt"), f.atom.join("written.txt")] {
        let t = target.to_str().unwrap();
        let out = output(&mut f.probe_inside(&["write", t]));
        assert_denied(&out, &format!("writing {t}"));
        assert!(!target.exists());
    }
    let t = f.sb.path("shared/outside.txt");
    assert_allowed(
        &output(&mut f.probe_outside(&["write", t.to_str().unwrap()])),
        "writing",
    );
    assert!(t.exists());
    // The private directory is writable (so the denial above is about the target).
    assert_allowed(
        &output(&mut f.probe_inside(&["write", "/tmp/private.txt"])),
        "writing /tmp",
    );
}

#[test]
fn tcp_to_a_loopback_listener_is_denied() {
    let f = fixture("{}");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    assert_allowed(
        &output(&mut f.probe_outside(&["tcp", &port])),
        "TCP connect",
    );
    assert_denied(&output(&mut f.probe_inside(&["tcp", &port])), "TCP connect");
}

#[test]
fn udp_to_a_loopback_listener_is_denied() {
    let f = fixture("{}");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let mut buf = [0u8; 16];

    assert_allowed(&output(&mut f.probe_outside(&["udp", &port])), "UDP send");
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("the datagram sent outside arrives");
    assert_eq!(&buf[..n], b"ping");

    let out = output(&mut f.probe_inside(&["udp", &port]));
    assert!(stdout(&out).contains("probe: started"), "{}", stderr(&out));
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        socket.recv_from(&mut buf).is_err(),
        "a datagram from inside the sandbox arrived"
    );
    assert_denied(&out, "UDP send");
}

#[test]
fn connecting_to_a_unix_socket_in_a_shared_directory_is_denied() {
    let f = fixture("{}");
    let path = f.sb.path("shared/daemon.sock");
    let _listener = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let p = path.to_str().unwrap();
    assert_allowed(&output(&mut f.probe_outside(&["unix", p])), "unix connect");
    assert_denied(&output(&mut f.probe_inside(&["unix", p])), "unix connect");
}

#[test]
fn reading_a_host_file_through_an_inherited_descriptor_is_denied() {
    let f = fixture("{}");
    let secret = f.sb.path("secret.txt");
    // A shell opens the secret as descriptor 3, then execs the command, which inherits it.
    let with_fd3 = |inner: Command| {
        let mut cmd = f.sb.command("sh");
        cmd.arg("-c")
            .arg("exec 3<\"$0\"; exec \"$@\"")
            .arg(&secret)
            .arg(inner.get_program())
            .args(inner.get_args());
        cmd
    };
    let mut perl = Command::new("perl");
    perl.arg(f.atom.join("probe.pl")).arg("fd");
    let outside = output(&mut with_fd3(perl));
    assert_allowed(&outside, "reading fd 3");
    assert!(stdout(&outside).contains("s3cret-file"));
    let mut inside = Command::new(eka_run());
    inside
        .arg("sandbox")
        .arg(&f.atom)
        .arg("--")
        .arg("perl")
        .arg(f.atom.join("probe.pl"))
        .arg("fd");
    let out = output(&mut with_fd3(inside));
    assert!(!stdout(&out).contains("s3cret-file"), "{}", stdout(&out));
    assert_denied(&out, "reading fd 3");
}

#[test]
fn a_secret_in_an_inherited_environment_variable_is_not_visible() {
    let f = fixture("{ probe = builtins.getEnv \"EKA_TEST_SECRET\"; }\n");
    let out = output(f.nix_outside("probe").env("EKA_TEST_SECRET", "s3cret-env"));
    assert_eq!(
        stdout(&out),
        "\"s3cret-env\"\n",
        "outside: {}",
        stderr(&out)
    );
    let out = output(f.nix_inside("probe").env("EKA_TEST_SECRET", "s3cret-env"));
    assert_eq!(stdout(&out), "\"\"\n", "stderr: {}", stderr(&out));

    let out = output(
        f.probe_outside(&["env"])
            .env("EKA_TEST_SECRET", "s3cret-env"),
    );
    assert_allowed(&out, "reading the variable");
    let out = output(
        f.probe_inside(&["env"])
            .env("EKA_TEST_SECRET", "s3cret-env"),
    );
    assert_denied(&out, "reading the variable");
}

#[test]
fn tiocsti_on_the_callers_terminal_is_denied() {
    let f = fixture("{}");
    atom_tests::require_program("script", "bsdutils");
    // `script` gives the command a pseudo-terminal as its controlling terminal.
    let in_pty = |command: String| {
        let mut cmd = f.sb.command("script");
        cmd.args(["-q", "-e", "-c", &command, "/dev/null"]);
        cmd
    };
    let probe = f.atom.join("probe.pl");
    let out = output(&mut in_pty(format!("perl {} tiocsti", probe.display())));
    assert_allowed(&out, "TIOCSTI on the controlling terminal");
    let out = output(&mut in_pty(format!(
        "{} sandbox {} -- perl {} tiocsti",
        eka_run().display(),
        f.atom.display(),
        probe.display()
    )));
    assert_denied(&out, "TIOCSTI");
}

#[test]
fn signals_and_ptrace_to_processes_outside_are_denied() {
    let f = fixture("{}");
    let spawn_victim = || {
        f.sb.command("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep")
    };
    let mut outside_victim = spawn_victim();
    let mut inside_victim = spawn_victim();
    let traced_outside = spawn_victim();
    // Each victim is `sleep` as the unprivileged user (past `setpriv`'s exec) before anyone
    // probes it: a probe of a process still owned by root would be denied for another reason.
    for victim in [&outside_victim, &inside_victim, &traced_outside] {
        wait_for_exec(victim, "sleep");
    }
    let pid = |c: &std::process::Child| c.id().to_string();

    assert_allowed(
        &output(&mut f.probe_outside(&["ptrace", &pid(&traced_outside)])),
        "ptrace attach",
    );
    assert_denied(
        &output(&mut f.probe_inside(&["ptrace", &pid(&inside_victim)])),
        "ptrace attach",
    );

    assert_allowed(
        &output(&mut f.probe_outside(&["signal", &pid(&outside_victim)])),
        "kill",
    );
    assert!(
        outside_victim.wait().unwrap().code().is_none(),
        "the victim outside was killed"
    );
    assert_denied(
        &output(&mut f.probe_inside(&["signal", &pid(&inside_victim)])),
        "kill",
    );
    assert!(
        inside_victim.try_wait().unwrap().is_none(),
        "the victim of the sandbox still runs"
    );
    for mut c in [inside_victim, traced_outside] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn nix_config_cannot_enable_unsafe_native_code() {
    let f = fixture("{ probe = builtins ? exec; }\n");
    let unsafe_conf = "allow-unsafe-native-code-during-evaluation = true";
    let out = output(f.nix_outside("probe").env("NIX_CONFIG", unsafe_conf));
    assert_eq!(stdout(&out), "true\n", "outside: {}", stderr(&out));
    let out = output(f.nix_inside("probe").env("NIX_CONFIG", unsafe_conf));
    assert_eq!(stdout(&out), "false\n", "stderr: {}", stderr(&out));
}

#[test]
fn import_nixpkgs_through_nix_path_is_denied() {
    let f = fixture("{ probe = import <nixpkgs>; }\n");
    f.sb.write("fake-nixpkgs/default.nix", "\"fake-nixpkgs\"\n", 0o644);
    let nix_path = format!("nixpkgs={}", f.sb.path("fake-nixpkgs").display());
    let out = output(f.nix_outside("probe").env("NIX_PATH", &nix_path));
    assert_eq!(
        stdout(&out),
        "\"fake-nixpkgs\"\n",
        "outside: {}",
        stderr(&out)
    );
    let out = output(f.nix_inside("probe").env("NIX_PATH", &nix_path));
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout(&out));
    assert!(stderr(&out).contains("nixpkgs"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("fake-nixpkgs"));
}

#[test]
fn the_sandbox_reports_its_own_failures_with_125() {
    let f = fixture("{}");
    let out = output(f.sb.eka_run().args(["eval", "/nonexistent/atom"]));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("/nonexistent/atom"),
        "{}",
        stderr(&out)
    );
    let out = output(
        f.sb.eka_run()
            .arg("sandbox")
            .arg(&f.atom)
            .args(["--", "/nonexistent/prog"]),
    );
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/prog"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_uses_the_built_in_atom_nix_and_passes_config() {
    let f = fixture("{ Greeting = \"hello from \" + config.system; Answer = 42; }\n");
    let out = output(f.sb.eka_run().arg("eval").arg(&f.atom).arg("greeting"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let system = stdout(&out);
    assert!(
        system.starts_with("\"hello from ") && system.contains("-linux"),
        "{system}"
    );
    let out = output(
        f.sb.eka_run()
            .args([
                "eval",
                "--json",
                "--config",
                r#"{"system":"riscv64-linux"}"#,
            ])
            .arg(&f.atom),
    );
    assert_eq!(
        stdout(&out),
        "{\"answer\":42,\"greeting\":\"hello from riscv64-linux\"}\n",
        "stderr: {}",
        stderr(&out)
    );
}

/// `program args...` as the unprivileged user, inside a user namespace whose
/// `user.max_user_namespaces` is 0: eka-run cannot create its own there, as on a kernel or
/// under a policy that forbids them. It runs as that namespace's uid 0 without capabilities
/// (an empty bounding set), so it cannot mount without a user namespace of its own either.
fn without_userns(f: &Fixture, args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = f.sb.command("unshare");
    cmd.args([
        "-Ur",
        "sh",
        "-c",
        "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --bounding-set=-all \"$@\"",
        "sh",
    ])
    .arg(eka_run())
    .args(args);
    output(&mut cmd)
}

#[test]
fn missing_user_namespaces_fail_clearly_unless_best_effort() {
    let f = fixture("");
    let secret = f.sb.path("secret.txt");
    std::fs::write(
        f.atom.join("mod.nix"),
        format!(
            "{{ greeting = \"hello\"; secret = builtins.readFile {}; }}\n",
            secret.display()
        ),
    )
    .unwrap();
    let an = f.sb.path("atom-nix");
    let eval = |extra: &[&str], attr: &str| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["eval".as_ref(), "--atom-nix".as_ref(), an.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.extend([f.atom.as_os_str(), attr.as_ref()]);
        without_userns(&f, &args)
    };
    let out = eval(&[], "greeting");
    assert_eq!(out.status.code(), Some(125), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("user namespaces are not available")
            && stderr(&out).contains("max_user_namespaces"),
        "the message must say what is missing and how to enable it: {}",
        stderr(&out)
    );
    let out = without_userns(&f, &["true".as_ref()]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "run mode needs user namespaces: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("user namespaces are not available"),
        "{}",
        stderr(&out)
    );

    // --best-effort evaluates with Landlock alone, and says what is not enforced.
    let out = eval(&["--best-effort"], "greeting");
    assert_eq!(stdout(&out), "\"hello\"\n", "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("not enforced"), "{}", stderr(&out));
    let out = eval(&["--best-effort"], "secret");
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(!stdout(&out).contains("s3cret"));
    assert!(
        stderr(&out).contains("Permission denied"),
        "landlock denies it: {}",
        stderr(&out)
    );
}

#[test]
fn a_unix_socket_inside_the_atom_does_not_reach_its_listener() {
    let f = fixture("{}");
    let path = f.atom.join("daemon.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let p = path.to_str().unwrap();
    assert_allowed(&output(&mut f.probe_outside(&["unix", p])), "unix connect");
    listener
        .accept()
        .expect("the connection from outside is queued");
    assert_denied(&output(&mut f.probe_inside(&["unix", p])), "unix connect");
    // connect(2) returns once the connection is queued: none is.
    assert_eq!(
        listener.accept().map(drop).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn an_abstract_unix_socket_on_the_host_is_unreachable() {
    use std::os::linux::net::SocketAddrExt as _;
    let f = fixture("{}");
    let name = format!("eka-run-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let at = format!("@{name}");
    assert_allowed(
        &output(&mut f.probe_outside(&["unix", &at])),
        "abstract connect",
    );
    listener
        .accept()
        .expect("the connection from outside is queued");
    assert_denied(
        &output(&mut f.probe_inside(&["unix", &at])),
        "abstract connect",
    );
    assert_eq!(
        listener.accept().map(drop).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn nested_user_namespaces_cannot_be_created_inside() {
    let f = fixture("{}");
    assert_allowed(
        &output(&mut f.probe_outside(&["userns"])),
        "unshare(CLONE_NEWUSER)",
    );
    assert_denied(
        &output(&mut f.probe_inside(&["userns"])),
        "unshare(CLONE_NEWUSER)",
    );
}

#[test]
fn the_mount_table_which_names_host_paths_is_hidden() {
    let f = fixture("{}");
    for file in [
        "/proc/self/mountinfo",
        "/proc/self/mounts",
        "/proc/1/cmdline",
    ] {
        let outside = if file == "/proc/1/cmdline" {
            "/proc/self/cmdline"
        } else {
            file
        };
        assert_allowed(
            &output(&mut f.probe_outside(&["read", outside])),
            &format!("reading {outside}"),
        );
        assert_denied(
            &output(&mut f.probe_inside(&["read", file])),
            &format!("reading {file}"),
        );
    }
    // The evaluator's own files that Nix needs stay readable.
    assert_allowed(
        &output(&mut f.probe_inside(&["read", "/proc/self/maps"])),
        "reading /proc/self/maps",
    );
}

const HUNGRY: &str = "{
  big = builtins.length (builtins.genList (x: x) 200000000);
  small = builtins.length (builtins.genList (x: x) 1000);
  slow = let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 40;
  quick = let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 15;
}
";

#[test]
fn an_evaluation_stops_at_the_memory_limit() {
    let f = fixture(HUNGRY);
    let out = output(f.nix_inside("small").args(["--memory", "256M"]));
    assert_eq!(stdout(&out), "1000\n", "stderr: {}", stderr(&out));
    let out = output(f.nix_inside("big").args(["--memory", "256M"]));
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).ends_with(
            "eka-run: the evaluation exceeded the memory limit of 256 MiB; raise it with --memory\n"
        ),
        "{}",
        stderr(&out)
    );
    let out = output(f.nix_inside("small").args(["--memory", "lots"]));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("invalid memory limit `lots`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_evaluation_stops_at_the_cpu_time_limit() {
    let f = fixture(HUNGRY);
    let out = output(f.nix_inside("quick").args(["--cpu-time", "1"]));
    assert_eq!(stdout(&out), "610\n", "stderr: {}", stderr(&out));
    let out = output(f.nix_inside("slow").args(["--cpu-time", "1"]));
    assert!(
        matches!(out.status.code(), Some(c) if c > 128),
        "killed by the kernel: {:?}; stderr: {}",
        out.status,
        stderr(&out)
    );
    assert!(
        stderr(&out).ends_with(
            "eka-run: the evaluation exceeded the CPU time limit of 1 s; raise it with --cpu-time\n"
        ),
        "status {:?}, stderr: {}",
        out.status,
        stderr(&out)
    );
}
