#![no_main]
//! Manifests: parsing never panics, and a valid manifest's label and version are safe.
use atom_fuzz::{assert_arg_safe, assert_ref_safe};
use atom_lib::{AtomRef, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = Manifest::parse(data, "atom.toml") else {
        return;
    };
    let atom = AtomRef::new(manifest.label.clone(), manifest.version.clone());
    assert_arg_safe("label", &atom.label.to_string());
    assert_ref_safe(atom.name().as_str());
});
