#![no_main]
//! Ref names: whatever `RefName` and `AtomRef` accept is a ref name git accepts, and an atom
//! ref's name parses back to itself.
use atom_fuzz::assert_ref_safe;
use atom_lib::{AtomRef, RefName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = RefName::new(text) {
        assert_ref_safe(name.as_str());
    }
    if let Ok(Some(atom)) = AtomRef::parse(text) {
        assert_ref_safe(atom.name().as_str());
        assert_eq!(
            AtomRef::parse(atom.name().as_str()).ok().flatten().as_ref(),
            Some(&atom)
        );
    }
});
