//! Eval mode's private directory on the host (the evaluator's `/etc`, atom-nix and `/tmp`):
//! mode 0700 while it runs, and gone afterwards, whichever way the run ends.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::Stdio;

use atom_tests::sandbox::*;

fn fixture() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("atom/mod.nix", "{ Greeting = \"hello\"; }\n", 0o644);
    std::fs::create_dir_all(sb.path("tmp")).unwrap();
    sb.chown();
    sb
}

/// What is in the test-owned TMPDIR.
fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn eval_leaves_no_private_directory() {
    require_nix();
    let sb = fixture();
    let tmp = sb.path("tmp");
    let out = output(
        sb.eka_run()
            .env("TMPDIR", &tmp)
            .arg("eval")
            .arg(sb.path("atom"))
            .arg("greeting"),
    );
    assert_eq!(stdout(&out), "\"hello\"\n", "stderr: {}", stderr(&out));
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
    // A failed evaluation neither.
    let out = output(
        sb.eka_run()
            .env("TMPDIR", &tmp)
            .arg("eval")
            .arg(sb.path("atom"))
            .arg("missing"),
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
}

#[test]
fn a_signalled_run_forwards_the_signal_and_removes_its_private_directory() {
    let sb = fixture();
    let tmp = sb.path("tmp");
    for (signal, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let mut child = sb
            .eka_run()
            .env("TMPDIR", &tmp)
            .arg("sandbox")
            .arg(sb.path("atom"))
            .args(["--", "sh", "-c", "echo ready; exec sleep 1000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start eka-run");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n", "the sandboxed program did not start");

        // While it runs: one private directory, only for its owner.
        let dirs = leftovers(&tmp);
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        assert!(dirs[0].starts_with("eka-run."), "{dirs:?}");
        let mode = std::fs::metadata(tmp.join(&dirs[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");

        // `setpriv` execs eka-run: the child's pid is eka-run's.
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(128 + number),
            "SIG{signal} reaches the program, whose death eka-run reports as a shell does \
             (signal {:?}); stderr: {}",
            out.status.signal(),
            stderr(&out)
        );
        assert_eq!(leftovers(&tmp), Vec::<String>::new(), "after SIG{signal}");
    }
}

#[test]
fn the_built_in_atom_nix_is_what_composition_needs_and_no_tests() {
    let sb = fixture();
    let out = output(sb.eka_run().arg("sandbox").arg(sb.path("atom")).args([
        "--",
        "/usr/bin/find",
        "/eka/atom-nix",
        "-type",
        "f",
    ]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let mut files: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.strip_prefix("/eka/atom-nix/").unwrap_or(l).to_owned())
        .collect();
    files.sort();
    // The positive case: the entry point and what it imports are there.
    for needed in [
        "compose.nix",
        "core/boundary.nix",
        "core/store.nix",
        "std/mod.nix",
    ] {
        assert!(files.iter().any(|f| f == needed), "{needed}: {files:?}");
    }
    let outside: Vec<&String> = files
        .iter()
        .filter(|f| !(*f == "compose.nix" || f.starts_with("core/") || f.starts_with("std/")))
        .collect();
    assert_eq!(
        outside,
        Vec::<&String>::new(),
        "only compose.nix, core/ and std/"
    );
    assert!(
        files.len() < 60,
        "no test fixtures ({} files): {files:?}",
        files.len()
    );
}
