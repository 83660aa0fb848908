#![no_main]
//! Locks: parsing never panics, and a valid lock written out parses back equal to its canonical
//! self (entries sorted, as `to_toml` writes them), which writes the same bytes again.
use atom_lib::Lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lock) = Lock::parse(data, "atom.lock") else {
        return;
    };
    let written = lock.to_toml();
    let again = Lock::parse(written.as_bytes(), "atom.lock")
        .unwrap_or_else(|e| panic!("a written lock does not parse: {e}\n{written}"));
    let mut canonical = lock;
    canonical.sort();
    assert_eq!(again, canonical);
    assert_eq!(again.to_toml(), written);
});
