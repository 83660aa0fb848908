//! End-to-end tests: the real `git` running our binaries, against real repositories and real
//! servers on loopback. One test binary declaring every module.

mod admission;
mod cache_dir;
mod completions;
mod confinement;
mod deps;
mod eka_remote;
mod eval_deps;
mod fetch_update;
mod format;
mod from_nix;
mod hook;
mod hostile;
mod hostile_remote;
mod import_cycles;
mod lock_proof;
mod ls;
mod man;
mod matrix;
mod naming;
mod output;
mod pin_bounds;
mod pins;
mod plan_record;
mod publish;
mod publish_context;
mod remote_helper;
mod remote_nix;
mod remote_tls;
mod remote_transport;
mod remote_uri;
mod scale;
mod shallow;
mod siblings;
mod sign;
mod signed_admission;
mod stress;
mod subatomic;
mod tree;
mod variant;
mod verify;
mod verify_locked;
mod verify_remote;

#[test]
fn every_test_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("it");
    atom_tests::assert_no_forgotten_test_files(&dir);
}

#[test]
fn a_forgotten_test_file_is_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.rs"), "mod one;\npub mod two;\n").unwrap();
    for name in ["one.rs", "two.rs", "three.rs"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    let caught =
        std::panic::catch_unwind(|| atom_tests::assert_no_forgotten_test_files(dir.path()));
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(message.ends_with(r#"never run: ["three.rs"]"#), "{message}");
    std::fs::remove_file(dir.path().join("three.rs")).unwrap();
    atom_tests::assert_no_forgotten_test_files(dir.path());
}
