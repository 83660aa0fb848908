#![no_main]
//! Tarball unpacking: any bytes (plain or gzip-compressed) never panic, never write outside the
//! directory given, stop at the limits, and what unpacks is confined (no link leads out).
use std::sync::atomic::{AtomicU64, Ordering};

use atom_lib::unpack::{unpack, Limits};
use libfuzzer_sys::fuzz_target;

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!(
        "atom-fuzz-unpack-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let into = base.join("into");
    std::fs::create_dir_all(&into).unwrap();
    let limits = Limits {
        bytes: 1 << 20,
        entries: 1_000,
    };
    if let Ok(top) = unpack(&mut &data[..], &into, &limits) {
        assert!(top.starts_with(&into), "{top:?}");
        atom_lib::confine::check(&top)
            .unwrap_or_else(|e| panic!("an unpacked tree is not confined: {e}"));
    }
    // Nothing beside `into`.
    let beside: Vec<_> = std::fs::read_dir(&base).unwrap().collect();
    assert_eq!(beside.len(), 1);
    std::fs::remove_dir_all(&base).unwrap();
});
