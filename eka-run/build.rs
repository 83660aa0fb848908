//! Embed what composition needs of the workspace's `atom-nix/` into eka-run (its entry point
//! `compose.nix`, `core/` and `std/`; not its tests, fixtures or README), so that an installed
//! `eka-run` needs neither an installed atom-nix nor the source tree: the files are written into
//! the sandbox's private directory at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What of `atom-nix/` composition reads: `compose.nix` imports `core/` and `std/`, nothing else.
const BUNDLE: &[&str] = &["compose.nix", "core", "std"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../atom-nix");
    let mut files = Vec::new();
    for part in BUNDLE {
        let path = root.join(part);
        println!("cargo::rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&root, &path, &mut files);
        } else if let Ok(abs) = path.canonicalize() {
            files.push(((*part).to_owned(), abs));
        }
    }
    files.sort();
    let mut out =
        String::from("/// The files of `atom-nix/` at build time: (relative path, contents).\n");
    out.push_str("pub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        println!("cargo::rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    // What the evaluation cache keys on for the embedded copy: every path and its contents.
    let mut hasher = blake3::Hasher::new();
    for (rel, abs) in &files {
        let contents = std::fs::read(abs).expect("read an atom-nix file");
        hasher.update(&(rel.len() as u64).to_le_bytes());
        hasher.update(rel.as_bytes());
        hasher.update(&(contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    writeln!(
        out,
        "/// BLAKE3 of `FILES` (paths and contents).\npub(crate) const DIGEST: &str = {:?};",
        hasher.finalize().to_hex().to_string()
    )
    .expect("writing to a String");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("atom_nix_files.rs");
    std::fs::write(dest, out).expect("write atom_nix_files.rs");
}

/// Regular files below `dir`, skipping hidden entries, with paths relative to `root`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else if kind.is_file() {
            if let (Ok(rel), Ok(abs)) = (path.strip_prefix(root), path.canonicalize()) {
                if let Some(rel) = rel.to_str() {
                    files.push((rel.to_owned(), abs));
                }
            }
        }
    }
}
