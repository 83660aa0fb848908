//! Run mode and the shebang: programs from the user's store run as if it were /nix/store.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;

use atom_tests::sandbox::*;

/// A store path name (Nix base-32 hash, name `x`) that the host does not have.
const STORE_PATH: &str = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x";

/// A program in the user's store that reports how it was called.
const GREET: &str = r#"#!/bin/sh
printf 'greet:%s\n' "$0"
for a in "$@"; do printf '[%s]\n' "$a"; done
printf 'cwd:%s\n' "$PWD"
printf 'pid:%s\n' "$$"
exit "${EKA_TEST_EXIT:-0}"
"#;

fn fixture() -> Sandbox {
    assert!(
        !Path::new(STORE_PATH).exists(),
        "{STORE_PATH} exists on the host: the test could not tell the stores apart"
    );
    let sb = Sandbox::new();
    let rel = format!("nix{}/bin/greet", STORE_PATH.trim_start_matches("/nix"));
    sb.write(&rel, GREET, 0o755);
    sb.write(
        "work/script.sh",
        &format!(
            "#!/usr/bin/env eka-run\n# Options and interpreter, as nix-shell takes them:\n#! eka-run --store ../nix/store\n#! eka-run {STORE_PATH}/bin/greet --from-shebang 'two words'\n"
        ),
        0o755,
    );
    sb.write(
        "work/term.sh",
        "#!/usr/bin/env eka-run\n#! eka-run --store ../nix/store /bin/sh\nkill -TERM $$\n",
        0o755,
    );
    std::fs::create_dir_all(sb.path("links/deep")).unwrap();
    std::os::unix::fs::symlink("../../work/script.sh", sb.path("links/deep/link")).unwrap();
    sb.chown();
    sb
}

#[test]
fn a_store_program_runs_via_the_shebang_with_arguments_unchanged() {
    let sb = fixture();
    let mut cmd = sb.command("./script.sh");
    cmd.current_dir(sb.path("work"))
        .args(["a b", "it's", "\"q\"", "", "--store", "$HOME"])
        .stdout(std::process::Stdio::piped());
    let child = cmd.spawn().expect("run the script");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let work = sb.path("work").canonicalize().unwrap();
    assert_eq!(
        stdout(&out),
        format!(
            "greet:{STORE_PATH}/bin/greet\n[--from-shebang]\n[two words]\n[./script.sh]\n[a b]\n[it's]\n[\"q\"]\n[]\n[--store]\n[$HOME]\ncwd:{}\npid:{pid}\n",
            work.display()
        ),
        "the program must get the script's arguments unchanged, run in the caller's directory \
         and be the very process the caller started (eka-run execs, it does not wait)"
    );
}

#[test]
fn relative_and_symlinked_script_paths_work() {
    let sb = fixture();
    let out = output(sb.command("work/script.sh").arg("x"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).contains("[work/script.sh]\n[x]\n"),
        "{}",
        stdout(&out)
    );
    let root = sb.dir.path().canonicalize().unwrap();
    assert!(stdout(&out).contains(&format!("cwd:{}\n", root.display())));

    let out = output(sb.command("links/deep/link").arg("y"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).contains("[links/deep/link]\n[y]\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_relative_interpreter_is_relative_to_the_script_not_the_working_directory() {
    let sb = fixture();
    let interp = |who: &str| format!("#!/bin/sh\nprintf '{who}:%s\\n' \"$@\"\n");
    // The interpreter beside the script, and one in the caller's working directory (a
    // directory others might write) that must never run.
    sb.write("work/bin/interp", &interp("script-dir"), 0o755);
    sb.write("elsewhere/bin/interp", &interp("cwd"), 0o755);
    sb.write(
        "work/relative.sh",
        "#!/usr/bin/env eka-run\n#! eka-run --store ../nix/store ./bin/interp --flag\n",
        0o755,
    );
    sb.chown();
    // The control: from the script's own directory, both readings agree.
    let mut here = sb.command("./relative.sh");
    here.current_dir(sb.path("work")).arg("a");
    let out = output(&mut here);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "script-dir:--flag\nscript-dir:./relative.sh\nscript-dir:a\n"
    );
    // From another directory holding its own `./bin/interp`: still the script's.
    let script = sb.path("work/relative.sh");
    let mut there = sb.command(&script);
    there.current_dir(sb.path("elsewhere")).arg("a");
    let out = output(&mut there);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "script-dir:--flag\nscript-dir:{}\nscript-dir:a\n",
            script.display()
        )
    );
}

#[test]
fn exit_codes_and_signals_pass_through() {
    let sb = fixture();
    let out = output(sb.command("work/script.sh").env("EKA_TEST_EXIT", "7"));
    assert_eq!(out.status.code(), Some(7), "stderr: {}", stderr(&out));

    let out = output(&mut sb.command("work/term.sh"));
    assert_eq!(out.status.signal(), Some(15), "stderr: {}", stderr(&out));
    let out = output(
        sb.command("sh")
            .args(["-c", "work/term.sh; echo \"status=$?\""]),
    );
    assert_eq!(stdout(&out), "status=143\n", "stderr: {}", stderr(&out));
}

/// Run mode covers a host's `/nix` where it is; a host without one has nothing to mount on, and
/// gets a new root holding the host's entries and `/nix`. Such a host is made with bubblewrap (a
/// root of `/usr`, `/etc`, `/dev`, `/proc` and the test's directory), where the same program runs
/// as it does on this host.
#[test]
fn a_host_without_nix_gets_the_store_in_a_new_root() {
    let bwrap = atom_tests::require_program("bwrap", "bubblewrap");
    let sb = fixture();
    let store = sb.path("nix/store");
    let greet = format!("{STORE_PATH}/bin/greet");
    let list = "ls -a /nix; ls /nix/store; test -w /nix/store && echo writable";
    let here = output(
        sb.eka_run()
            .arg("--store")
            .arg(&store)
            .args(["--", "sh", "-c", list]),
    );
    assert!(here.status.success(), "stderr: {}", stderr(&here));
    let expected = ".\n..\netc\nstore\nvar\n0123456789abcdfghijklmnpqrsvwxyz-x\nwritable\n";
    assert_eq!(stdout(&here), expected);

    let eka_run = atom_tests::sandbox::eka_run();
    let dir = sb.path("");
    let mut cmd = sb.command(&bwrap);
    cmd.args(["--unshare-pid", "--ro-bind", "/usr", "/usr"]);
    for link in ["bin", "lib", "lib64", "sbin"] {
        if let Ok(target) = std::fs::read_link(Path::new("/").join(link)) {
            cmd.arg("--symlink").arg(target).arg(format!("/{link}"));
        }
    }
    cmd.args(["--ro-bind", "/etc", "/etc", "--dev", "/dev", "--proc", "/proc"])
        .arg("--bind")
        .args([&dir, &dir])
        .arg("--ro-bind")
        .args([eka_run, eka_run])
        .args(["--", "sh", "-c"])
        .arg(format!(
            "test -e /nix && exit 3; \"$0\" --store \"$1\" -- sh -c '{list}' && \"$0\" --store \"$1\" -- {greet} x"
        ))
        .arg(eka_run)
        .arg(&store);
    let there = output(&mut cmd);
    assert!(there.status.success(), "stderr: {}", stderr(&there));
    let greeted = format!("greet:{greet}\n[x]\n");
    let printed = stdout(&there);
    let (listed, rest) = printed.split_at(expected.len());
    assert_eq!(listed, expected);
    assert!(rest.starts_with(&greeted), "{rest}");
}

#[test]
fn nested_user_namespaces_work_inside() {
    let sb = fixture();
    let store = sb.path("nix/store");
    let out = output(sb.eka_run().arg("--store").arg(&store).args([
        "--",
        "unshare",
        "-Ur",
        "sh",
        "-c",
        "id -u; ls /nix/store",
    ]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "0\n0123456789abcdfghijklmnpqrsvwxyz-x\n");
}

#[test]
fn the_default_store_is_created_in_the_xdg_data_dir() {
    let sb = fixture();
    let out = output(sb.eka_run().args([
        "sh",
        "-c",
        "touch /nix/store/made-inside && ls -d /nix/var/nix",
    ]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(sb
        .path("home/.local/share/eka-run/nix/store/made-inside")
        .exists());
    assert!(sb.path("home/.local/share/eka-run/nix/var/nix").is_dir());
    let xdg = sb.path("xdg");
    let out = output(
        sb.eka_run()
            .env("XDG_DATA_HOME", &xdg)
            .args(["touch", "/nix/store/xdg"]),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(xdg.join("eka-run/nix/store/xdg").exists());
}

#[test]
fn eka_run_failures_are_125_126_127() {
    let sb = fixture();
    let out = output(sb.eka_run().arg("/nonexistent/program"));
    assert_eq!(out.status.code(), Some(127), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/program"));
    let out = output(sb.eka_run().arg(sb.path("nix/store")));
    assert_eq!(out.status.code(), Some(126), "stderr: {}", stderr(&out));
    let out = output(sb.eka_run().arg("--no-such-option"));
    assert_eq!(out.status.code(), Some(125), "stderr: {}", stderr(&out));
    sb.write(
        "work/broken.sh",
        "#!/usr/bin/env eka-run\n#! eka-run 'unterminated\n",
        0o755,
    );
    sb.chown();
    let out = output(&mut sb.command("work/broken.sh"));
    assert_eq!(out.status.code(), Some(125), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("unterminated"), "{}", stderr(&out));
}

/// Inside run mode, Nix adds a file to the user store and builds a derivation whose builder is
/// a static busybox copied into that store, so Nix can build it in its own sandbox. The builder
/// reports whether it sees the host's `/usr` (it must not: the sandbox is on).
const NIX_SCRIPT: &str = r#"
set -e
cat "$(nix-store --add f.txt)"
bb=$(nix-store --add busybox)
out=$(nix-build --no-out-link -E "derivation {
  name = \"d\"; system = builtins.currentSystem;
  builder = \"\${builtins.storePath \"$bb\"}/bin/busybox\";
  args = [ \"sh\" \"-c\" \"if test -e /usr; then echo unsandboxed; else echo sandboxed; fi > \$out\" ];
}")
cat "$out"
"#;

fn nix_fixture() -> Sandbox {
    require_nix();
    let busybox = require_static_busybox();
    let sb = fixture();
    sb.write("f.txt", "added\n", 0o644);
    std::fs::create_dir_all(sb.path("busybox/bin")).unwrap();
    std::fs::copy(&busybox, sb.path("busybox/bin/busybox")).unwrap();
    sb.chown();
    sb
}

fn assert_nix_builds_in_the_user_store(sb: &Sandbox, out: &std::process::Output, who: &str) {
    assert!(out.status.success(), "{who}: stderr: {}", stderr(out));
    assert_eq!(
        stdout(out),
        "added\nsandboxed\n",
        "{who}: stderr: {}",
        stderr(out)
    );
    assert!(
        !stderr(out).contains("cache.nixos.org"),
        "{who}: no substituter unless configured: {}",
        stderr(out)
    );
    let store = sb.path("home/.local/share/eka-run/nix/store");
    let names: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-f.txt")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("-d")), "{names:?}");
}

#[test]
fn nix_builds_in_its_sandbox_in_the_user_store_as_a_user() {
    let sb = nix_fixture();
    let out = output(sb.eka_run().args(["sh", "-c", NIX_SCRIPT]));
    assert_nix_builds_in_the_user_store(&sb, &out, "as a user");
}

#[test]
fn nix_builds_in_its_sandbox_in_the_user_store_as_root() {
    if !is_root() {
        eprintln!(
            "note: not root: the root half of this test runs when the tests run as root (CI)"
        );
        return;
    }
    let sb = nix_fixture();
    let out = output(
        sb.command_as_caller(eka_run())
            .args(["sh", "-c", NIX_SCRIPT]),
    );
    assert_nix_builds_in_the_user_store(&sb, &out, "as root");
}

/// Nix's settings inside, as `nix show-config` prints them.
fn nix_settings(cmd: &mut std::process::Command) -> String {
    let out = output(cmd.args([
        "nix",
        "--extra-experimental-features",
        "nix-command",
        "show-config",
    ]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn eka_runs_nix_settings_apply_and_the_users_override_them() {
    require_nix();
    let sb = fixture();
    let settings = nix_settings(&mut sb.eka_run());
    for line in [
        "build-users-group = \n",
        "sandbox = true\n",
        "substituters = \n",
    ] {
        assert!(settings.contains(line), "missing `{line}` in:\n{settings}");
    }
    // Outside, with the same (empty) configuration, Nix's defaults differ: eka-run's own
    // settings are what the lines above show.
    let outside = nix_settings(&mut sb.command("env"));
    assert!(
        outside.contains("substituters = https://cache.nixos.org/\n"),
        "{outside}"
    );
    if is_root() {
        let outside = nix_settings(&mut sb.command_as_caller("env"));
        assert!(
            outside.contains("build-users-group = nixbld\n"),
            "{outside}"
        );
        let inside = nix_settings(&mut sb.command_as_caller(eka_run()));
        assert!(inside.contains("build-users-group = \n"), "{inside}");
    }

    // The caller's NIX_CONF_DIR, user configuration and NIX_CONFIG, in that order, win.
    sb.write(
        "nix-conf/nix.conf",
        "substituters = file:///from-nix-conf-dir\nbuild-users-group = from-nix-conf-dir\n",
        0o644,
    );
    sb.write(
        "nix-conf/user.conf",
        "substituters = file:///from-user-conf\n",
        0o644,
    );
    sb.chown();
    let settings = nix_settings(&mut sb.eka_run());
    assert!(
        settings.contains("build-users-group = from-nix-conf-dir\n")
            && settings.contains("substituters = file:///from-user-conf\n"),
        "{settings}"
    );
    let settings = nix_settings(
        sb.eka_run()
            .env("NIX_CONFIG", "substituters = file:///from-env"),
    );
    assert!(
        settings.contains("substituters = file:///from-env\n"),
        "{settings}"
    );
}

#[test]
fn a_program_runs_from_a_store_the_user_cannot_write() {
    let sb = fixture();
    // A copy of the fixture's store, then read-only (and, as root, someone else's: root's).
    let rel = format!("ro/nix{}/bin/greet", STORE_PATH.trim_start_matches("/nix"));
    sb.write(&rel, GREET, 0o755);
    sb.chown();
    let ro = sb.path("ro");
    let status = std::process::Command::new("chmod")
        .args(["-R", "a-w"])
        .arg(&ro)
        .status()
        .unwrap();
    assert!(status.success());
    if is_root() {
        let status = std::process::Command::new("chown")
            .args(["-R", "0:0"])
            .arg(&ro)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let store = ro.join("nix/store");
    // The same program runs from a writable store (the fixture's) ...
    let out = output(
        sb.eka_run()
            .arg("--store")
            .arg(sb.path("nix/store"))
            .arg(format!("{STORE_PATH}/bin/greet")),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    // ... and from the read-only one, whose state directory cannot be created.
    let out = output(
        sb.eka_run()
            .arg("--store")
            .arg(&store)
            .arg(format!("{STORE_PATH}/bin/greet"))
            .arg("ro"),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("greet:{STORE_PATH}/bin/greet\n[ro]\n")));
    assert!(!ro.join("nix/var").exists());
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&ro)
        .status();
}
