//! The examples table of `docs/uri.md` is a test: every row is parsed with the aliases the
//! document defines, and the expanded address, label and requirement (or the error) must match.

use std::error::Error as _;

use atom_lib::uri::{Aliases, Uri};

fn unquote(cell: &str) -> &str {
    cell.trim().trim_start_matches('`').trim_end_matches('`')
}

#[test]
fn docs_examples_table() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/uri.md")).unwrap();
    let mut aliases = Aliases::default();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("git config --global atom.alias.") {
            let (name, value) = rest.split_once(' ').unwrap();
            aliases.insert(name, value).unwrap();
        }
    }
    assert!(
        aliases.get("cool").is_some(),
        "the document defines its aliases"
    );
    let examples = doc
        .split("## Examples")
        .nth(1)
        .expect("an Examples section");
    let mut checked = 0;
    for line in examples.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
        let (input, address, label, requirement) = (
            unquote(cells[0]),
            cells[1].trim(),
            unquote(cells[2]),
            unquote(cells[3]),
        );
        let parsed = Uri::parse(input, &aliases);
        if let Some(expected) = address.strip_prefix("error:") {
            let err = parsed.expect_err(input);
            let mut message = err.to_string();
            let mut source = err.source();
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            let expected = expected.trim().replace('`', "");
            assert!(
                message.replace('`', "").contains(&expected),
                "{input}: `{message}` does not say `{expected}`"
            );
        } else {
            let uri = parsed.unwrap_or_else(|e| panic!("{input}: {e}"));
            let shown = uri
                .address
                .as_ref()
                .map_or_else(|| "(local repository)".to_owned(), |a| format!("`{a}`"));
            assert_eq!(shown, address, "{input}");
            assert_eq!(uri.label.as_str(), label, "{input}");
            let req = uri
                .requirement
                .as_ref()
                .map_or_else(|| "(highest release)".to_owned(), ToString::to_string);
            assert_eq!(req, requirement, "{input}");
            // What is displayed parses back to the same URI.
            assert_eq!(
                Uri::parse(&uri.to_string(), &aliases),
                Ok(uri.clone()),
                "{input}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} examples found");
}

#[test]
fn man_page_explains_url_forms_and_aliases() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../man/git-remote-atom.1"
    ))
    .unwrap();
    for section in [
        ".SH ATOM URIS",
        ".SH ALIASES",
        ".SS Version requirements",
        ".SS Addresses",
        ".SH SECURITY",
    ] {
        assert!(page.contains(section), "git-remote-atom.1 lacks {section}");
    }
    for (name, value) in atom_lib::uri::BUILTIN_ALIASES {
        assert!(
            page.contains(&format!("\\fB{name}\\fR {value}")),
            "git-remote-atom.1 does not list alias {name}"
        );
    }
    for scheme in [
        "file://",
        "git://",
        "http://",
        "https://",
        "ssh://",
        "atom.alias.",
    ] {
        assert!(
            page.contains(scheme),
            "git-remote-atom.1 does not mention {scheme}"
        );
    }
}
