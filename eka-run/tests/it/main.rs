//! eka-run's integration tests: one binary, every module declared here. The fixtures (a
//! sandbox directory, an unprivileged user, a sealed environment) are the end-to-end suite's
//! harness, `atom_tests::sandbox`.

mod build;
mod cache;
mod cli;
mod escape;
mod man;
mod matrix;
mod private_dir;
mod run_mode;
mod substitute;
mod variant;

/// Every `*.rs` file here is declared above: a test file nobody declares would never run.
#[test]
fn every_test_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    atom_tests::assert_no_forgotten_test_files(&dir);
}
