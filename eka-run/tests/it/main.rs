//! eka-run's integration tests: one binary, every module declared here.

mod build;
mod cache;
mod cli;
mod escape;
mod man;
mod private_dir;
mod run_mode;
mod substitute;
mod support;

/// Every `*.rs` file here is declared above: a test file nobody declares would never run.
#[test]
fn every_test_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let mut forgotten: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let module = name.strip_suffix(".rs")?.to_owned();
            (module != "main" && !main.lines().any(|l| l.trim() == format!("mod {module};")))
                .then_some(name)
        })
        .collect();
    forgotten.sort();
    assert!(
        forgotten.is_empty(),
        "not declared in main.rs: {forgotten:?}"
    );
}
