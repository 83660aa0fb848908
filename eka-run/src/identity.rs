//! What identifies an evaluation: the atom's content, its lock, its configuration, the system and
//! the attribute, each a part of its own, and one BLAKE3 digest over them.
//!
//! - **atom**: the content digest of the atom directory as it is on disk, uncommitted changes
//!   included ([`atom_digest`]); for an atom named by URI, its atom commit (40 hex digits), which
//!   names its tree and everything in it.
//! - **lock**: BLAKE3 of `atom.lock`, or [`NO_LOCK`] when the atom has none. The lock records
//!   the commit and tree of every dependency, so this part covers what `from` holds.
//! - **config**: BLAKE3 of the canonical JSON of the configuration ([`crate::config`]), the
//!   variant selection (defaults included) as its member `variant` when the atom declares
//!   options.
//! - **system**: the system name, e.g. `x86_64-linux`.
//! - **attribute**: the attribute path as given, or `null` for the whole API.
//!
//! The identity is BLAKE3 of the canonical JSON (RFC 8785) of the object of those five members,
//! so anyone can recompute it from `eka-run plan --json`.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::canonical::Value;
use crate::config::Config;

/// The lock part of an atom without `atom.lock`.
pub const NO_LOCK: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The lock file's name in an atom directory.
pub const LOCK_FILE: &str = "atom.lock";

/// A failure to read the atom.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory of the atom could not be read.
    #[error("cannot read `{path}` of the atom")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The parts of an evaluation's identity, and the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The atom directory's content digest.
    pub atom: String,
    /// The lock's digest, or [`NO_LOCK`].
    pub lock: String,
    /// The configuration's digest.
    pub config: String,
    /// The system.
    pub system: String,
    /// The attribute path, `None` for the whole API.
    pub attribute: Option<String>,
}

impl Identity {
    /// Read the atom at `dir` and put the parts together.
    pub fn of(dir: &Path, config: &Config, attribute: Option<&str>) -> Result<Self, Error> {
        Ok(Identity::new(
            atom_digest(dir)?,
            lock_digest(dir)?,
            config,
            attribute,
        ))
    }

    /// The parts, with the atom and lock parts already known.
    pub fn new(atom: String, lock: String, config: &Config, attribute: Option<&str>) -> Self {
        Identity {
            atom,
            lock,
            config: config.digest(),
            system: config.system.clone(),
            attribute: attribute.map(str::to_owned),
        }
    }

    /// The parts as a canonical JSON object (members in canonical order).
    pub fn parts(&self) -> Value {
        let s = |v: &str| Value::String(v.to_owned());
        Value::Object(vec![
            ("atom".into(), s(&self.atom)),
            (
                "attribute".into(),
                self.attribute.as_deref().map_or(Value::Null, s),
            ),
            ("config".into(), s(&self.config)),
            ("lock".into(), s(&self.lock)),
            ("system".into(), s(&self.system)),
        ])
    }

    /// The identity: BLAKE3 of the canonical JSON of [`Identity::parts`], hex.
    pub fn digest(&self) -> String {
        blake3::hash(self.parts().to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

/// BLAKE3 of the atom's `atom.lock`, hex, or [`NO_LOCK`].
pub fn lock_digest(dir: &Path) -> Result<String, Error> {
    let path = dir.join(LOCK_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(blake3::hash(&bytes).to_hex().to_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(NO_LOCK.to_owned()),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// The content digest of the directory `dir`: BLAKE3, hex, over every entry below it, sorted by
/// relative path (bytes, `/`-separated), each as
///
/// ```text
/// <mode> SP <relative path> NUL <length, 8 bytes little-endian> <contents>
/// ```
///
/// with git's modes: `40000` directory (no contents), `100644` file, `100755` executable file,
/// `120000` symlink (contents: its target; never followed), `0` anything else (no contents).
/// Entries whose names start with `.` are left out, with everything below them: atom-nix never
/// reads them (they are not members, submodules or module files), and a `.git` would make the
/// digest as slow as the repository is large.
pub fn atom_digest(dir: &Path) -> Result<String, Error> {
    let mut entries = Vec::new();
    walk(dir, Path::new(""), &mut entries)?;
    entries.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    let mut hasher = blake3::Hasher::new();
    for (rel, kind) in &entries {
        let path = dir.join(rel);
        let read = |source| Error::Read {
            path: path.clone(),
            source,
        };
        let (mode, contents): (&str, Option<Vec<u8>>) = match kind {
            Kind::Dir => ("40000", None),
            Kind::File { executable } => (
                if *executable { "100755" } else { "100644" },
                Some(std::fs::read(&path).map_err(read)?),
            ),
            Kind::Symlink => (
                "120000",
                Some(
                    std::fs::read_link(&path)
                        .map_err(read)?
                        .into_os_string()
                        .into_encoded_bytes(),
                ),
            ),
            Kind::Other => ("0", None),
        };
        hasher.update(mode.as_bytes());
        hasher.update(b" ");
        hasher.update(rel.as_os_str().as_encoded_bytes());
        hasher.update(b"\0");
        let contents = contents.unwrap_or_default();
        hasher.update(&(contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Dir,
    File { executable: bool },
    Symlink,
    Other,
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, Kind)>) -> Result<(), Error> {
    let dir = root.join(rel);
    let read = |source| Error::Read {
        path: dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let child = rel.join(&name);
        let meta = std::fs::symlink_metadata(entry.path()).map_err(|source| Error::Read {
            path: entry.path(),
            source,
        })?;
        let kind = if meta.is_dir() {
            Kind::Dir
        } else if meta.is_file() {
            Kind::File {
                executable: meta.permissions().mode() & 0o111 != 0,
            }
        } else if meta.file_type().is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        if let Kind::Dir = kind {
            walk(root, &child, out)?;
        }
        out.push((child, kind));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/data")).unwrap();
        std::fs::write(dir.path().join("mod.nix"), "{ A = 1; }").unwrap();
        std::fs::write(dir.path().join("sub/mod.nix"), "{ }").unwrap();
        std::fs::write(dir.path().join("sub/data/x.txt"), "x").unwrap();
        dir
    }

    #[test]
    fn the_digest_follows_content_paths_and_modes_only() {
        let a = atom();
        let d = atom_digest(a.path()).unwrap();
        assert_eq!(d.len(), 64);
        // Another directory with the same tree, written in another order: the same digest.
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(b.path().join("sub/data")).unwrap();
        std::fs::write(b.path().join("sub/data/x.txt"), "x").unwrap();
        std::fs::write(b.path().join("sub/mod.nix"), "{ }").unwrap();
        std::fs::write(b.path().join("mod.nix"), "{ A = 1; }").unwrap();
        assert_eq!(atom_digest(b.path()).unwrap(), d);
        // Dot-entries are left out.
        std::fs::create_dir_all(b.path().join(".git")).unwrap();
        std::fs::write(b.path().join(".git/HEAD"), "ref").unwrap();
        std::fs::write(b.path().join("sub/.hidden.nix"), "x").unwrap();
        assert_eq!(atom_digest(b.path()).unwrap(), d);

        let changed = |f: &dyn Fn(&Path)| {
            let c = atom();
            f(c.path());
            let got = atom_digest(c.path()).unwrap();
            assert_ne!(got, d);
            got
        };
        // One byte of a file, an executable bit, a rename, an empty directory, a symlink.
        changed(&|p| std::fs::write(p.join("sub/data/x.txt"), "y").unwrap());
        changed(&|p| {
            std::fs::set_permissions(p.join("mod.nix"), std::fs::Permissions::from_mode(0o755))
                .unwrap()
        });
        changed(&|p| std::fs::rename(p.join("sub/data/x.txt"), p.join("sub/data/y.txt")).unwrap());
        changed(&|p| std::fs::create_dir(p.join("empty")).unwrap());
        let link = changed(&|p| std::os::unix::fs::symlink("mod.nix", p.join("l.nix")).unwrap());
        let other = changed(&|p| std::os::unix::fs::symlink("sub", p.join("l.nix")).unwrap());
        assert_ne!(link, other, "a symlink's target is part of the digest");
        // A mode that git does not record (group write) changes nothing.
        let c = atom();
        std::fs::set_permissions(
            c.path().join("mod.nix"),
            std::fs::Permissions::from_mode(0o664),
        )
        .unwrap();
        assert_eq!(atom_digest(c.path()).unwrap(), d);
    }

    #[test]
    fn the_lock_part_is_the_lock_files_digest_or_no_lock() {
        let a = atom();
        assert_eq!(lock_digest(a.path()).unwrap(), NO_LOCK);
        std::fs::write(a.path().join(LOCK_FILE), "lock").unwrap();
        assert_eq!(
            lock_digest(a.path()).unwrap(),
            blake3::hash(b"lock").to_hex().to_string()
        );
    }

    #[test]
    fn the_identity_is_the_digest_of_the_canonical_parts() {
        let a = atom();
        let config = Config::new(r#"{"x":1}"#, Some("x86_64-linux")).unwrap();
        let id = Identity::of(a.path(), &config, Some("lib.x")).unwrap();
        let json = format!(
            r#"{{"atom":"{}","attribute":"lib.x","config":"{}","lock":"{NO_LOCK}","system":"x86_64-linux"}}"#,
            id.atom, id.config
        );
        assert_eq!(id.parts().to_string(), json);
        assert_eq!(
            id.digest(),
            blake3::hash(json.as_bytes()).to_hex().to_string()
        );
        let whole = Identity::of(a.path(), &config, None).unwrap();
        assert!(whole.parts().to_string().contains(r#""attribute":null"#));
        assert_ne!(whole.digest(), id.digest());
        let other = Config::new(r#"{"x":1}"#, Some("aarch64-linux")).unwrap();
        assert_ne!(
            Identity::of(a.path(), &other, Some("lib.x"))
                .unwrap()
                .digest(),
            id.digest()
        );
    }

    /// The test vectors of docs/eka-run.md (*Configuration and identity*).
    #[test]
    fn the_documented_vectors_hold() {
        use atom_lib::manifest::Manifest;
        use atom_lib::variant::{Choice, Variants};
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/eka-run.md"),
        )
        .unwrap();
        let block = doc
            .split("```identity-vector\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap();
        let manifest = Manifest::parse(
            b"[atom]\nid = \"a\"\nversion = \"1.0.0\"\n[deps.gcc]\npath = \"../gcc\"\n\
              [deps.clang]\npath = \"../clang\"\n[provide]\ncc = [\"gcc\", \"clang\"]\n\
              [support]\nfeature = [\"F=1\"]\nstatic = false\n",
            "atom.toml",
        )
        .unwrap();
        let chosen = Variants::of(&manifest)
            .select(&[
                Choice::with("cc=clang").unwrap(),
                Choice::Enable("static".into()),
            ])
            .unwrap();
        let vectors: Vec<&str> = block.split("\n\n").collect();
        assert_eq!(vectors.len(), 2);
        for (vector, selection) in vectors
            .iter()
            .zip([atom_lib::variant::Selection::default(), chosen])
        {
            let field = |name: &str| {
                vector
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(str::trim))
                    .unwrap()
            };
            let config = Config::new(field("config"), Some("x86_64-linux"))
                .unwrap()
                .with_variant(&selection);
            let variant = match crate::canonical::parse(&config.canonical).unwrap() {
                Value::Object(m) => m
                    .into_iter()
                    .find(|(n, _)| n == "variant")
                    .map_or("{}".to_owned(), |(_, v)| v.to_string()),
                _ => unreachable!(),
            };
            assert_eq!(variant, field("variant"));
            let id = Identity::new("1".repeat(40), NO_LOCK.to_owned(), &config, Some("hello"));
            assert_eq!(
                (id.config.as_str(), id.digest().as_str()),
                (field("part"), field("identity")),
                "{vector}"
            );
        }
    }
}
