//! Run mode and the shebang: programs from the user's store run as if it were /nix/store.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;

use crate::support::*;

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

#[test]
fn nix_itself_uses_the_user_store() {
    require_nix();
    let sb = fixture();
    sb.write("work/f.txt", "added\n", 0o644);
    sb.chown();
    let script = r#"
        set -e
        p=$(nix-store --add work/f.txt)
        cat "$p"
        nix-build --no-out-link -E 'derivation { name = "d"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo built > $out" ]; }' 2>/dev/null | xargs cat
    "#;
    let out = output(sb.eka_run().args(["sh", "-c", script]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "added\nbuilt\n");
    let store = sb.path("home/.local/share/eka-run/nix/store");
    let names: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-f.txt")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("-d")), "{names:?}");
}
