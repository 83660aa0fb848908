#![no_main]
//! Atom commits: splitting commit bytes never panics; a path, label or version read from them
//! that validates is safe; and an atom commit built from valid fields re-splits to them.
use atom_lib::commit::{RawCommit, HEADER_PATH, HEADER_SOURCE};
use atom_lib::{AtomCommit, AtomPath, Format, Label, Oid, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = RawCommit::parse(data) else {
        return;
    };
    let path = raw.one(HEADER_PATH).and_then(|p| AtomPath::new(p).ok());
    // A path may start with `-` (a directory may be called so); it only ever reaches git after
    // `--` as a `:(top,literal)` pathspec. It never holds a control character.
    if let Some(path) = &path {
        assert!(
            !path.as_str().chars().any(char::is_control),
            "path `{}` holds a control character",
            path.as_str().escape_debug()
        );
    }
    let message = String::from_utf8_lossy(&raw.message).into_owned();
    let Some((label, version)) = message
        .trim_end()
        .strip_prefix("atom: ")
        .and_then(|m| m.split_once('@'))
    else {
        return;
    };
    let (Ok(label), Ok(version)) = (Label::new(label), Version::new(version)) else {
        return;
    };
    let oid = |name| raw.one(name).and_then(|v| v.parse::<Oid>().ok());
    let (Some(tree), Some(source)) = (oid("tree"), oid(HEADER_SOURCE)) else {
        return;
    };
    let commit = AtomCommit {
        format: Format::Atom1,
        tree,
        source,
        path,
        label,
        version,
    };
    let bytes = commit.to_bytes();
    let again = RawCommit::parse(&bytes).expect("a written atom commit splits");
    assert_eq!(again.one("tree"), Some(tree.to_string().as_str()));
    assert_eq!(again.one(HEADER_SOURCE), Some(source.to_string().as_str()));
    assert_eq!(
        again.message,
        format!("atom: {}@{}\n", commit.label, commit.version).into_bytes()
    );
});
