#![no_main]
//! Versions: a valid version displays as a string that parses back equal and makes a valid ref.
use atom_fuzz::{assert_arg_safe, assert_ref_safe};
use atom_lib::{AtomRef, Label, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(version) = Version::new(text) else {
        return;
    };
    let shown = version.to_string();
    assert_eq!(Version::new(&shown).as_ref(), Ok(&version));
    assert_arg_safe("version", &shown);
    let atom = AtomRef::new(Label::new("fuzz").unwrap(), version);
    assert_ref_safe(atom.name().as_str());
    assert_eq!(
        AtomRef::parse(atom.name().as_str()).ok().flatten().as_ref(),
        Some(&atom)
    );
});
