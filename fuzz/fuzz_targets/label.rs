#![no_main]
//! Labels: a valid label displays as itself, parses back equal, and makes a valid ref name.
use atom_fuzz::{assert_arg_safe, assert_ref_safe};
use atom_lib::{AtomRef, Label, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(label) = Label::new(text) else { return };
    let shown = label.to_string();
    assert_eq!(Label::new(&shown).as_ref(), Ok(&label));
    assert_arg_safe("label", &shown);
    let atom = AtomRef::new(label.clone(), Version::new("1.0.0").unwrap());
    assert_ref_safe(atom.name().as_str());
    assert_eq!(
        AtomRef::parse(atom.name().as_str()).ok().flatten().as_ref(),
        Some(&atom)
    );
});
