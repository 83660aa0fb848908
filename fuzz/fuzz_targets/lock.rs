#![no_main]
//! Locks: parsing never panics, and a valid lock written out parses back equal.
use atom_lib::Lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lock) = Lock::parse(data, "atom.lock") else {
        return;
    };
    let written = lock.to_toml();
    let again = Lock::parse(written.as_bytes(), "atom.lock")
        .unwrap_or_else(|e| panic!("a written lock does not parse: {e}\n{written}"));
    assert_eq!(again, lock);
});
