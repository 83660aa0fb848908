//! The format specification's test vectors (`docs/format.md`) hold, with git as the oracle.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use atom_lib::subatomic::SubatomicCommit;
use atom_lib::{AtomCommit, AtomPath, Format, Root};

fn spec() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/format.md"))
        .unwrap()
}

/// The fenced blocks of the spec whose info string is `tag`.
fn blocks(text: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split_inclusive('\n') {
        match &mut current {
            None if line.trim_end() == format!("```{tag}") => current = Some(String::new()),
            Some(block) if line.trim_end() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => block.push_str(line),
            None => {}
        }
    }
    out
}

fn git_hash(bytes: &[u8]) -> String {
    let env = atom_tests::TestEnv::new();
    let mut child = env
        .command(env.root(), "git")
        .args(["hash-object", "-t", "commit", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn commit_vectors() {
    let text = spec();
    let vectors = blocks(&text, "vector");
    let bytes = blocks(&text, "commit-bytes");
    assert!(vectors.len() >= 2, "the spec has commit vectors");
    assert_eq!(
        vectors.len(),
        bytes.len(),
        "every vector is followed by its bytes"
    );
    let mut subatomics = 0;
    for (vector, expected_bytes) in vectors.iter().zip(&bytes) {
        let field = |key: &str| {
            vector
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("vector lacks {key}: {vector}"))
                .to_owned()
        };
        let path = || match field("path").as_str() {
            "-" => None,
            p => Some(AtomPath::new(p).unwrap()),
        };
        let format = match field("format").as_str() {
            "atom/1" => Format::Atom1,
            "eka/pre1" => Format::EkaPre1,
            "subatomic/1" => {
                let sub = SubatomicCommit {
                    tree: field("tree").parse().unwrap(),
                    source: field("source").parse().unwrap(),
                    path: path().unwrap(),
                };
                let built = sub.to_bytes();
                let shown = expected_bytes
                    .strip_suffix("<END>\n")
                    .expect("bytes end with <END>");
                assert_eq!(String::from_utf8(built.clone()).unwrap(), shown);
                assert_eq!(
                    git_hash(&built),
                    field("commit"),
                    "git computes the documented id"
                );
                subatomics += 1;
                continue;
            }
            other => panic!("unknown format {other}"),
        };
        let commit = AtomCommit {
            format,
            tree: field("tree").parse().unwrap(),
            source: field("source").parse().unwrap(),
            path: path(),
            label: field("label").parse().unwrap(),
            version: field("version").parse().unwrap(),
        };
        let built = commit.to_bytes();
        // The spec shows the bytes with a visible end marker, since pre1 has no final newline.
        let shown = expected_bytes
            .strip_suffix("<END>\n")
            .expect("bytes end with <END>");
        assert_eq!(String::from_utf8(built.clone()).unwrap(), shown);
        assert_eq!(
            git_hash(&built),
            field("commit"),
            "git computes the documented id"
        );
        if let Ok(root) = vector
            .lines()
            .find_map(|l| l.strip_prefix("root: "))
            .ok_or(())
        {
            let id = Root(root.parse().unwrap()).atom_id(&commit.label);
            assert_eq!(id.to_string(), field("id"));
        }
    }
    assert!(subatomics >= 2, "the spec has subatomic vectors");
}

#[test]
fn atomic_number_vectors() {
    let text = spec();
    let table = blocks(&text, "id-vectors");
    assert_eq!(table.len(), 1);
    let mut n = 0;
    for line in table[0].lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [root, label, id] = parts[..] else {
            panic!("bad vector line {line}")
        };
        assert_eq!(
            Root(root.parse().unwrap())
                .atom_id(&label.parse().unwrap())
                .to_string(),
            id,
            "{line}"
        );
        n += 1;
    }
    assert!(n >= 3);
}
