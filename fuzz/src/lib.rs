//! Invariants shared by the fuzz targets.

/// Panics unless `s` is safe to become a process argument, a ref name component or a path:
/// no control character, no leading `-`.
pub fn assert_arg_safe(what: &str, s: &str) {
    assert!(
        !s.chars().any(char::is_control),
        "{what} `{}` holds a control character",
        s.escape_debug()
    );
    assert!(!s.starts_with('-'), "{what} `{s}` starts with `-`");
}

/// Panics unless `name` is a ref name git accepts (`git check-ref-format` rules).
pub fn assert_ref_safe(name: &str) {
    assert_arg_safe("ref name", name);
    assert!(name.starts_with("refs/"), "`{name}` is outside refs/");
    for component in name.split('/') {
        assert!(!component.is_empty(), "`{name}` has an empty component");
        assert!(
            !component.starts_with('.'),
            "`{name}`: component starts with `.`"
        );
        assert!(
            !component.ends_with(".lock"),
            "`{name}`: component ends with `.lock`"
        );
    }
    for bad in ["..", "@{", "\\", " ", "~", "^", ":", "?", "*", "["] {
        assert!(!name.contains(bad), "`{name}` contains `{bad}`");
    }
    assert!(
        !name.ends_with('.') && !name.ends_with('/'),
        "`{name}` ends badly"
    );
    assert!(name != "@", "`@` is not a ref");
}
