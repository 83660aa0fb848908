#![no_main]
//! Requirements: a valid requirement displays as a string that parses back equal.
use atom_fuzz::assert_arg_safe;
use atom_lib::uri::Requirement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(req) = Requirement::new(text) else {
        return;
    };
    let shown = req.to_string();
    assert_eq!(Requirement::new(&shown).as_ref(), Ok(&req));
    assert_arg_safe("requirement", &shown);
});
