//! The Nix archive (NAR) serialisation, and the SRI hashes Nix checks fixed-output paths with.
//!
//! A pin or a git source is locked with the NAR hash of its tree (what `builtins.fetchGit`,
//! `fetchTarball` and `builtins.path` check with `narHash`/`sha256`), a downloaded source with
//! the flat hash of its bytes (what `builtin:fetchurl` checks with `outputHashMode = "flat"`).
//! `docs/lock.md` section 8 specifies the format; this module writes it, from a directory on disk
//! ([`hash_path`]) or from any other walk of a tree ([`Writer`], as the resolver does over git
//! objects).
//!
//! ```
//! use atom_lib::nar::{flat_sha256, Writer};
//!
//! let mut nar = Writer::new(Vec::new()).unwrap();
//! nar.file(false, b"hi\n").unwrap();
//! let bytes = nar.finish().unwrap();
//! assert_eq!(&bytes[8..21], b"nix-archive-1");
//! assert_eq!(
//!     flat_sha256(b"hi\n").as_str(),
//!     "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q="
//! );
//! ```

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::lock::Sri;

/// How deep a tree may nest (a hostile tree must not exhaust the stack).
pub const MAX_DEPTH: usize = 256;

/// Writes one NAR: `nix-archive-1` and one node, in the order the caller walks the tree.
/// A directory's entries MUST be given sorted by their names' bytes (Nix refuses others).
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
}

fn padding(len: usize) -> usize {
    (8 - len % 8) % 8
}

impl<W: Write> Writer<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> io::Result<Self> {
        let mut w = Writer { out };
        w.str(b"nix-archive-1")?;
        Ok(w)
    }

    fn str(&mut self, s: &[u8]) -> io::Result<()> {
        self.out.write_all(&(s.len() as u64).to_le_bytes())?;
        self.out.write_all(s)?;
        self.out.write_all(&[0u8; 8][..padding(s.len())])
    }

    fn strs(&mut self, list: &[&[u8]]) -> io::Result<()> {
        list.iter().try_for_each(|s| self.str(s))
    }

    /// A regular file.
    pub fn file(&mut self, executable: bool, contents: &[u8]) -> io::Result<()> {
        self.strs(&[b"(", b"type", b"regular"])?;
        if executable {
            self.strs(&[b"executable", b""])?;
        }
        self.strs(&[b"contents", contents, b")"])
    }

    /// A regular file of `len` bytes read from `contents`, streamed (never held whole).
    pub fn file_from(
        &mut self,
        executable: bool,
        len: u64,
        contents: &mut dyn io::Read,
    ) -> io::Result<()> {
        self.strs(&[b"(", b"type", b"regular"])?;
        if executable {
            self.strs(&[b"executable", b""])?;
        }
        self.str(b"contents")?;
        self.out.write_all(&len.to_le_bytes())?;
        let copied = io::copy(&mut io::Read::take(contents, len), &mut self.out)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file changed while it was read",
            ));
        }
        self.out
            .write_all(&[0u8; 8][..padding((len % 8) as usize)])?;
        self.str(b")")
    }

    /// A symbolic link.
    pub fn symlink(&mut self, target: &[u8]) -> io::Result<()> {
        self.strs(&[b"(", b"type", b"symlink", b"target", target, b")"])
    }

    /// Opens a directory; its entries follow, then [`end_directory`](Self::end_directory).
    pub fn start_directory(&mut self) -> io::Result<()> {
        self.strs(&[b"(", b"type", b"directory"])
    }

    /// Opens the entry `name` of the open directory; its node follows, then
    /// [`end_entry`](Self::end_entry).
    pub fn start_entry(&mut self, name: &[u8]) -> io::Result<()> {
        self.strs(&[b"entry", b"(", b"name", name, b"node"])
    }

    /// Closes an entry.
    pub fn end_entry(&mut self) -> io::Result<()> {
        self.str(b")")
    }

    /// Closes a directory.
    pub fn end_directory(&mut self) -> io::Result<()> {
        self.str(b")")
    }

    /// The output, the archive complete.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// How a single file is archived: what a git blob entry's mode says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// A regular file (`100644`).
    Regular,
    /// An executable file (`100755`).
    Executable,
    /// A symbolic link (`120000`), the blob being its target.
    Symlink,
}

impl FileMode {
    /// Every mode, in the order a file is tried against a hash.
    pub const ALL: [FileMode; 3] = [FileMode::Regular, FileMode::Executable, FileMode::Symlink];
}

/// The NAR hash of one file whose contents (or, for a symbolic link, target) are `contents`,
/// archived as `mode`: what `builtins.path` of that file gives.
pub fn file_hash(mode: FileMode, contents: &[u8]) -> Sri {
    let mut nar = Writer::new(Hasher::default()).expect("hashing does not fail");
    match mode {
        FileMode::Regular => nar.file(false, contents),
        FileMode::Executable => nar.file(true, contents),
        FileMode::Symlink => nar.symlink(contents),
    }
    .expect("hashing does not fail");
    nar.finish().expect("hashing does not fail").sri()
}

/// A SHA-256 digest as Nix writes it in SRI form.
pub fn sri_sha256(digest: &[u8]) -> Sri {
    Sri::new(&format!("sha256-{}", data_encoding::BASE64.encode(digest)))
        .expect("a SHA-256 digest is a valid SRI hash")
}

/// The flat hash of `bytes`: what a fixed-output derivation with `outputHashMode = "flat"`
/// (`builtin:fetchurl`) checks.
pub fn flat_sha256(bytes: &[u8]) -> Sri {
    sri_sha256(&Sha256::digest(bytes))
}

/// A NAR being hashed as it is written.
#[derive(Debug, Default)]
pub struct Hasher(Sha256);

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Hasher {
    /// The SRI hash of what was written.
    pub fn sri(self) -> Sri {
        sri_sha256(&self.0.finalize())
    }
}

/// Why a path could not be archived.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path cannot be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path is neither a file, a directory nor a symbolic link.
    #[error("`{path}` is not a file, a directory or a symbolic link, which a NAR cannot hold")]
    Special {
        /// The path.
        path: PathBuf,
    },
    /// The tree nests deeper than [`MAX_DEPTH`].
    #[error("`{path}` nests deeper than {MAX_DEPTH} directories")]
    TooDeep {
        /// The path.
        path: PathBuf,
    },
}

/// The NAR hash of `path` (a file, a symbolic link, not followed, or a directory), as
/// `nix hash path` and `nix-store --dump | sha256sum` give it. A file is executable when its
/// owner may execute it, as Nix reads it.
pub fn hash_path(path: &Path) -> Result<Sri, Error> {
    let mut nar = Writer::new(Hasher::default()).expect("hashing does not fail");
    dump(&mut nar, path, 0)?;
    Ok(nar.finish().expect("hashing does not fail").sri())
}

fn dump<W: Write>(nar: &mut Writer<W>, path: &Path, depth: usize) -> Result<(), Error> {
    let read = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(read)?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(path).map_err(read)?;
        nar.symlink(target.as_os_str().as_bytes()).map_err(read)
    } else if kind.is_file() {
        let mut file = std::fs::File::open(path).map_err(read)?;
        nar.file_from(
            meta.permissions().mode() & 0o100 != 0,
            meta.len(),
            &mut file,
        )
        .map_err(read)
    } else if kind.is_dir() {
        if depth >= MAX_DEPTH {
            return Err(Error::TooDeep {
                path: path.to_owned(),
            });
        }
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
            .and_then(|d| d.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(read)?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        nar.start_directory().map_err(read)?;
        for name in names {
            nar.start_entry(name.as_bytes()).map_err(read)?;
            dump(nar, &path.join(&name), depth + 1)?;
            nar.end_entry().map_err(read)?;
        }
        nar.end_directory().map_err(read)
    } else {
        Err(Error::Special {
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of `docs/lock.md` section 8: a directory with an executable, a plain file,
    /// a symbolic link and a subdirectory holding an empty file.
    pub(crate) fn vector(dir: &Path) {
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("hello.sh"), "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(dir.join("hello.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(dir.join("README"), "atom\n").unwrap();
        std::fs::set_permissions(dir.join("README"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        std::fs::write(dir.join("sub/empty"), "").unwrap();
        std::os::unix::fs::symlink("sub/empty", dir.join("link")).unwrap();
    }

    #[test]
    fn the_documented_vector() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        vector(&root);
        // Cross-checked with `nix-store --dump tree | sha256sum` and `nix hash path tree`
        // (Nix 2.8, Debian's nix-bin).
        assert_eq!(
            hash_path(&root).unwrap().as_str(),
            "sha256-s6kPtD0fFs2Z8C+uKmxlwzejXwueByjlYUDMQolTWxY="
        );
        // A single file.
        assert_eq!(
            hash_path(&root.join("README")).unwrap().as_str(),
            "sha256-y/KfYatX+zqlxrGWdnNS6OOAVb34d85E34K3k61LFSU="
        );
    }

    #[test]
    fn bytes_of_a_small_archive() {
        let mut nar = Writer::new(Vec::new()).unwrap();
        nar.symlink(b"a").unwrap();
        let bytes = nar.finish().unwrap();
        let mut want = Vec::new();
        for s in [
            &b"nix-archive-1"[..],
            b"(",
            b"type",
            b"symlink",
            b"target",
            b"a",
            b")",
        ] {
            want.extend((s.len() as u64).to_le_bytes());
            want.extend(s);
            want.extend(std::iter::repeat_n(0, padding(s.len())));
        }
        assert_eq!(bytes, want);
        assert_eq!(bytes.len() % 8, 0);
    }
}
