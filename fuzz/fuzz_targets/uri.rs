#![no_main]
//! Atom URIs (with the built-in aliases): a valid URI displays as a string that parses back
//! equal, and the git URL it gives is safe as an argument.
use atom_fuzz::assert_arg_safe;
use atom_lib::uri::{Aliases, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let aliases = Aliases::default();
    let Ok(uri) = Uri::parse(text, &aliases) else {
        return;
    };
    let shown = uri.to_string();
    assert_eq!(Uri::parse(&shown, &aliases).as_ref(), Ok(&uri), "{shown}");
    if let Some(address) = &uri.address {
        assert_arg_safe("git URL", &address.git_url());
        assert_arg_safe("redacted URL", &address.redacted());
    }
    assert_arg_safe("label", &uri.label.to_string());
});
