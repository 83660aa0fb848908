//! The evaluation cache: a repeated evaluation does not start Nix; a one-byte change to the
//! atom or its lock does. nix-instantiate is a wrapper that says on stderr that it started, then
//! runs the real one.

use crate::build::{Fixture, ATOM, NIX_STARTED as STARTED};
use atom_tests::sandbox::*;

fn fixture() -> Fixture {
    let f = Fixture::new(ATOM);
    f.wrap_nix();
    f.sb.chown();
    f
}

/// `eka-run <sub> --nix-instantiate <wrapper> ...`; its output, and whether Nix started.
fn eka(f: &Fixture, args: &[&str]) -> (std::process::Output, bool) {
    let (sub, rest) = args.split_first().unwrap();
    let out = output(
        f.sb.eka_run()
            .arg(sub)
            .arg("--nix-instantiate")
            .arg(f.sb.path("wrap/bin/nix-instantiate"))
            .args(rest),
    );
    assert!(out.status.success(), "{args:?}: stderr: {}", stderr(&out));
    let started = stderr(&out).contains(STARTED);
    (out, started)
}

#[test]
fn a_repeated_evaluation_comes_from_the_cache_without_starting_nix() {
    let f = fixture();
    let config = f.config();
    let eval = ["eval", "--config", &config, "--json", "atom", "greeting"];
    let (first, started) = eka(&f, &eval);
    assert!(started, "the first evaluation runs Nix");
    assert_eq!(stdout(&first), "\"world\"\n");
    let (second, started) = eka(&f, &eval);
    assert!(!started, "the second does not: {}", stderr(&second));
    assert_eq!(stdout(&second), stdout(&first));
    // Another spelling of the same configuration is the same evaluation.
    let respelled = format!("{{ \"busybox\" : \"{}\" }}", f.busybox);
    let (_, started) = eka(
        &f,
        &["eval", "--config", &respelled, "--json", "atom", "greeting"],
    );
    assert!(!started, "canonical JSON makes it the same key");
    // The Nix-value form is another result, evaluated once too.
    let (value, started) = eka(&f, &["eval", "--config", &config, "atom", "greeting"]);
    assert!(started);
    assert_eq!(stdout(&value), "\"world\"\n");
    // --no-cache evaluates.
    let (_, started) = eka(&f, &[&eval[..], &["--no-cache"]].concat());
    assert!(started, "--no-cache starts Nix");
    let entries = std::fs::read_dir(f.sb.path("home/.cache/atom/eval"))
        .unwrap()
        .count();
    assert_eq!(entries, 2, "one entry per result, no temporary file left");

    // plan and build's evaluation step.
    let plan = ["plan", "--config", &config, "--json", "atom", "hello"];
    let (first, started) = eka(&f, &plan);
    assert!(started);
    let (second, started) = eka(&f, &plan);
    assert!(!started, "{}", stderr(&second));
    assert_eq!(stdout(&second), stdout(&first));
    let (built, started) = eka(&f, &["build", "--config", &config, "atom", "hello"]);
    assert!(
        !started,
        "build evaluates from the cache: {}",
        stderr(&built)
    );
    assert!(
        stdout(&built).ends_with("-hello-1.0\n"),
        "{}",
        stdout(&built)
    );
}

#[test]
fn a_one_byte_change_to_the_atom_or_its_lock_is_a_new_evaluation() {
    let f = fixture();
    let config = f.config();
    let eval = ["eval", "--config", &config, "--json", "atom", "greeting"];
    let plan = ["plan", "--config", &config, "--json", "atom", "hello"];
    let (_, started) = eka(&f, &eval);
    assert!(started);
    let (before, started) = eka(&f, &plan);
    assert!(started);
    let before: serde_json::Value = serde_json::from_str(&stdout(&before)).unwrap();
    assert!(!eka(&f, &eval).1 && !eka(&f, &plan).1, "both cached");

    // One byte of a local file: "world" -> "World".
    let mod_nix = f.sb.path("atom/mod.nix");
    let text = std::fs::read_to_string(&mod_nix).unwrap();
    std::fs::write(&mod_nix, text.replace("\"world\";", "\"World\";")).unwrap();
    let (changed, started) = eka(&f, &eval);
    assert!(started, "a changed file is a new evaluation");
    assert_eq!(stdout(&changed), "\"World\"\n");
    let (after, started) = eka(&f, &plan);
    assert!(started);
    let after: serde_json::Value = serde_json::from_str(&stdout(&after)).unwrap();
    assert_ne!(after["atom"], before["atom"]);
    assert_ne!(after["identity"], before["identity"]);
    assert_eq!(after["lock"], before["lock"]);

    // A lock file appears, then changes by one byte.
    f.sb.write("atom/atom.lock", "version = 1\n", 0o644);
    f.sb.chown();
    let (locked, started) = eka(&f, &plan);
    assert!(started, "a new lock is a new evaluation");
    let locked: serde_json::Value = serde_json::from_str(&stdout(&locked)).unwrap();
    assert_eq!(
        locked["lock"],
        blake3::hash(b"version = 1\n").to_hex().to_string()
    );
    assert!(!eka(&f, &plan).1, "and cached");
    f.sb.write("atom/atom.lock", "version = 2\n", 0o644);
    let (relocked, started) = eka(&f, &plan);
    assert!(started, "a changed lock is a new evaluation");
    let relocked: serde_json::Value = serde_json::from_str(&stdout(&relocked)).unwrap();
    assert_ne!(relocked["lock"], locked["lock"]);
    assert_ne!(relocked["identity"], locked["identity"]);
    // The derivation is the same: the lock changes the identity, not what this atom builds.
    assert_eq!(relocked["drvPath"], after["drvPath"]);
}
