//! Unpacking a tarball that came from outside (a pin's), under the rule of [`crate::confine`]
//! and within bounds.
//!
//! The archive is read entry by entry and nothing is written that the rule refuses: names are
//! relative, without `..` or `.git`; only directories, regular files, symbolic links and hard
//! links to earlier files are accepted (a hard link becomes a copy, as a NAR holds no links);
//! nothing is created through a link or over an earlier entry; modes are normalised (`0755`
//! directories and executables, `0644` other files: nothing writable by others, no owner,
//! no set-id bit). The entries, and the bytes written, are counted against [`Limits`] as they
//! are written, so a small archive that expands without end stops at the limit. When the
//! archive is complete, [`crate::confine::check`] follows every link it made: the tree must be
//! confined. Errors never quote the archive's bytes (header fields, file contents): they name
//! the entry (escaped) and the kind of problem.
//!
//! ```
//! let mut archive = tar::Builder::new(Vec::new());
//! let mut header = tar::Header::new_gnu();
//! header.set_size(3);
//! header.set_mode(0o777);
//! archive.append_data(&mut header, "pkg/default.nix", &b"{ }"[..]).unwrap();
//! let bytes = archive.into_inner().unwrap();
//!
//! let dir = tempfile::tempdir().unwrap();
//! let limits = atom_lib::unpack::Limits::default();
//! let top = atom_lib::unpack::unpack(&mut &bytes[..], dir.path(), &limits).unwrap();
//! assert_eq!(top, dir.path().join("pkg"));
//! let mode = std::os::unix::fs::PermissionsExt::mode(
//!     &std::fs::metadata(top.join("default.nix")).unwrap().permissions(),
//! );
//! assert_eq!(mode & 0o7777, 0o755);
//! ```

use std::io::{self, Read, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::confine::{self, Breach};

/// How much an archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the files written (`atom.maxUnpackedSize`).
    pub bytes: u64,
    /// Entries of the archive (`atom.maxEntries`).
    pub entries: u64,
}

/// 1 GiB unpacked, a million entries: room for Nixpkgs (about 50,000 files, 400 MB), not for a
/// bomb. The settings raise them.
impl Default for Limits {
    fn default() -> Self {
        Limits {
            bytes: 1 << 30,
            entries: 1_000_000,
        }
    }
}

/// Why an archive cannot be unpacked. Nothing of the archive's bytes is in a message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a tar archive (plain or gzip-compressed), or a header that cannot be parsed.
    #[error("not a tar archive (plain or gzip-compressed), or a damaged one (entry {entry})")]
    NotTar {
        /// The entry (counted from 1) whose header could not be read.
        entry: u64,
    },
    /// An entry's name is absolute, holds `..`, or names nothing.
    #[error("entry {entry} has an absolute name, a `..` component, or no name")]
    Name {
        /// The entry, counted from 1.
        entry: u64,
    },
    /// An entry breaks [`crate::confine`]'s rule.
    #[error("`{}` {}", shown(path), breach.describe())]
    Breach {
        /// The entry's path.
        path: PathBuf,
        /// What is wrong.
        breach: Breach,
    },
    /// An entry of a kind a tree cannot hold, or that lands on or through another entry.
    #[error("`{}` {reason}", shown(path))]
    Entry {
        /// The entry's path.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The archive unpacks to more bytes than allowed.
    #[error("unpacks to more than {limit} bytes (the limit is `atom.maxUnpackedSize`)")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The archive holds more entries than allowed.
    #[error("holds more than {limit} entries (the limit is `atom.maxEntries`)")]
    TooMany {
        /// The limit.
        limit: u64,
    },
    /// The archive does not hold exactly one top-level entry.
    #[error("has {count} top-level entries; it must have exactly one (as Nix's `fetchTarball` requires)")]
    TopLevel {
        /// How many it has.
        count: usize,
    },
    /// The unpacked tree cannot be written.
    #[error("cannot write `{}`", shown(path))]
    Write {
        /// The path, in the archive.
        path: PathBuf,
        /// The cause (the file system's; nothing of the archive).
        #[source]
        source: io::Error,
    },
}

fn shown(path: &Path) -> String {
    crate::escape::escaped(&path.to_string_lossy()).to_string()
}

/// Unpacks the tar archive `archive` (plain or gzip-compressed) into `into` (an existing, empty
/// directory) and returns its single top-level entry, what Nix's `fetchTarball` gives. On an
/// error, what was written stays in `into` for the caller to remove with it.
pub fn unpack(archive: &mut dyn Read, into: &Path, limits: &Limits) -> Result<PathBuf, Error> {
    let mut head = [0u8; 2];
    let n = read_up_to(archive, &mut head).map_err(|_| Error::NotTar { entry: 1 })?;
    let chained = (&head[..n]).chain(archive);
    let reader: Box<dyn Read + '_> = if head[..n] == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(chained))
    } else {
        Box::new(chained)
    };
    let mut tar = tar::Archive::new(reader);
    let mut budget = Budget {
        limits: *limits,
        bytes: 0,
        entries: 0,
    };
    let entries = tar.entries().map_err(|_| Error::NotTar { entry: 1 })?;
    for entry in entries {
        budget.entry()?;
        let entry = entry.map_err(|_| Error::NotTar {
            entry: budget.entries,
        })?;
        write_entry(entry, into, &mut budget)?;
    }
    let tops: Vec<PathBuf> = std::fs::read_dir(into)
        .and_then(|d| d.map(|e| e.map(|e| e.path())).collect())
        .map_err(|source| Error::Write {
            path: PathBuf::from("."),
            source,
        })?;
    let [top] = tops.as_slice() else {
        return Err(Error::TopLevel { count: tops.len() });
    };
    let name = top.strip_prefix(into).unwrap_or(top);
    let inside = |path: PathBuf| {
        if path.as_os_str().is_empty() {
            name.to_owned()
        } else {
            name.join(path)
        }
    };
    confine::check(top).map_err(|e| match e {
        confine::Error::Breach { path, breach } => Error::Breach {
            path: inside(path),
            breach,
        },
        confine::Error::Read { path, source } => Error::Write {
            path: inside(path),
            source,
        },
    })?;
    Ok(top.clone())
}

fn read_up_to(from: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match from.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What has been unpacked so far, against the limits.
struct Budget {
    limits: Limits,
    bytes: u64,
    entries: u64,
}

impl Budget {
    fn entry(&mut self) -> Result<(), Error> {
        self.entries += 1;
        if self.entries > self.limits.entries {
            return Err(Error::TooMany {
                limit: self.limits.entries,
            });
        }
        Ok(())
    }

    fn left(&self) -> u64 {
        self.limits.bytes.saturating_sub(self.bytes)
    }

    fn spend(&mut self, bytes: u64) -> Result<(), Error> {
        self.bytes += bytes;
        if self.bytes > self.limits.bytes {
            return Err(Error::TooLarge {
                limit: self.limits.bytes,
            });
        }
        Ok(())
    }
}

/// The entry's path, checked: relative components only, each a name the rule allows.
fn entry_path(raw: &[u8], entry: u64) -> Result<PathBuf, Error> {
    if raw.starts_with(b"/") {
        return Err(Error::Name { entry });
    }
    let mut path = PathBuf::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(Error::Name { entry }),
            name if name.contains(&0) => return Err(Error::Name { entry }),
            name => {
                let name = std::ffi::OsStr::from_bytes(name);
                path.push(name);
                confine::entry_name(name.as_bytes()).map_err(|breach| Error::Breach {
                    path: path.clone(),
                    breach,
                })?;
            }
        }
    }
    if path.as_os_str().is_empty() {
        return Err(Error::Name { entry });
    }
    if path.components().count() > confine::MAX_DEPTH {
        return Err(Error::Breach {
            path,
            breach: Breach::TooDeep,
        });
    }
    Ok(path)
}

fn write_entry(
    mut entry: tar::Entry<'_, impl Read>,
    into: &Path,
    budget: &mut Budget,
) -> Result<(), Error> {
    let index = budget.entries;
    let kind = entry.header().entry_type();
    if kind.is_pax_global_extensions() {
        // Metadata of the archive (GitHub's name the commit there), not an entry.
        return Ok(());
    }
    let rel = entry_path(&entry.path_bytes(), index)?;
    let refuse = |reason| Error::Entry {
        path: rel.clone(),
        reason,
    };
    let write = |source| Error::Write {
        path: rel.clone(),
        source,
    };
    let path = into.join(&rel);
    make_parents(into, &rel)?;
    use tar::EntryType as T;
    match kind {
        T::Directory => match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(refuse("appears twice in the archive")),
            Err(_) => make_dir(&path).map_err(write),
        },
        T::Regular | T::Continuous => {
            let size = entry.size();
            if size > budget.left() {
                return Err(Error::TooLarge {
                    limit: budget.limits.bytes,
                });
            }
            let executable = entry.header().mode().unwrap_or(0) & 0o100 != 0;
            let mut file = create_file(&path, executable).map_err(|e| existing(e, &rel))?;
            // The header's size bounds what the entry yields; counted again as it is written.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return Err(Error::NotTar { entry: index }),
                };
                budget.spend(n as u64)?;
                file.write_all(&buf[..n]).map_err(write)?;
            }
            file.flush().map_err(write)
        }
        T::Symlink => {
            let target = entry
                .link_name_bytes()
                .filter(|t| !t.is_empty() && !t.contains(&0))
                .ok_or_else(|| refuse("is a symbolic link without a target"))?;
            if target.starts_with(b"/") {
                return Err(Error::Breach {
                    path: rel,
                    breach: Breach::LinkLeaves,
                });
            }
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &path)
                .map_err(|e| existing(e, &rel))
        }
        T::Link => {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| refuse("is a hard link without a target"))?;
            let target = into.join(entry_path(&target, index)?);
            let meta = std::fs::symlink_metadata(&target)
                .map_err(|_| refuse("is a hard link to an entry that is not a file before it"))?;
            if !meta.is_file() {
                return Err(refuse(
                    "is a hard link to an entry that is not a file before it",
                ));
            }
            budget.spend(meta.len())?;
            let executable = meta.permissions().mode() & 0o100 != 0;
            let mut to = create_file(&path, executable).map_err(|e| existing(e, &rel))?;
            let mut from = std::fs::File::open(&target).map_err(write)?;
            io::copy(&mut from, &mut to).map_err(write)?;
            Ok(())
        }
        T::Char | T::Block | T::Fifo => Err(Error::Breach {
            path: rel,
            breach: Breach::Special,
        }),
        _ => Err(refuse(
            "is an entry of a kind a tree cannot hold (sparse, or unknown)",
        )),
    }
}

/// An entry that exists already: the archive names it twice, or names it through a link.
fn existing(e: io::Error, rel: &Path) -> Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        Error::Entry {
            path: rel.to_owned(),
            reason: "appears twice in the archive",
        }
    } else {
        Error::Write {
            path: rel.to_owned(),
            source: e,
        }
    }
}

/// Creates the directories above `rel` that are missing; refuses to go through anything that
/// is not a directory the archive made (a link, a file).
fn make_parents(into: &Path, rel: &Path) -> Result<(), Error> {
    let mut at = PathBuf::new();
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    for part in parent.components() {
        at.push(part);
        let path = into.join(&at);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::Entry {
                    path: rel.to_owned(),
                    reason: "lies below an entry that is not a directory (a link or a file)",
                })
            }
            Err(_) => make_dir(&path).map_err(|source| Error::Write {
                path: at.clone(),
                source,
            })?,
        }
    }
    Ok(())
}

fn make_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

/// A new file (never an existing one: `O_EXCL` refuses a link too), `0755` or `0644`.
fn create_file(path: &Path, executable: bool) -> io::Result<std::fs::File> {
    let mode = if executable { 0o755 } else { 0o644 };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    // The umask may have taken bits off; the mode is the rule's, whatever it is.
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    enum E<'a> {
        File(&'a str, &'a [u8], u32),
        Dir(&'a str),
        Link(&'a str, &'a str),
        Hard(&'a str, &'a str),
        Fifo(&'a str),
    }

    fn archive(entries: &[E<'_>]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in entries {
            let mut h = tar::Header::new_gnu();
            match e {
                E::File(p, data, mode) => {
                    h.set_size(data.len() as u64);
                    h.set_mode(*mode);
                    b.append_data(&mut h, p, *data).unwrap();
                }
                E::Dir(p) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o777);
                    h.set_size(0);
                    b.append_data(&mut h, p, &[][..]).unwrap();
                }
                E::Link(p, t) | E::Hard(p, t) => {
                    h.set_entry_type(if matches!(e, E::Link(..)) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    h.set_size(0);
                    b.append_link(&mut h, p, t).unwrap();
                }
                E::Fifo(p) => {
                    h.set_entry_type(tar::EntryType::Fifo);
                    h.set_size(0);
                    b.append_data(&mut h, p, &[][..]).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    fn run(bytes: &[u8], limits: Limits) -> (tempfile::TempDir, Result<PathBuf, String>) {
        let dir = tempfile::tempdir().unwrap();
        let out = unpack(&mut &bytes[..], dir.path(), &limits).map_err(|e| e.to_string());
        (dir, out)
    }

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_tree_unpacks_with_normal_modes_and_inner_links() {
        let bytes = archive(&[
            E::Dir("top"),
            E::File("top/bin/tool", b"#!/bin/sh\n", 0o4777),
            E::File("top/a.nix", b"{ }", 0o666),
            E::Link("top/tool", "bin/tool"),
            E::Hard("top/copy", "top/a.nix"),
        ]);
        let (_d, top) = run(&bytes, Limits::default());
        let top = top.unwrap();
        assert_eq!(mode(&top), 0o755);
        assert_eq!(mode(&top.join("bin")), 0o755);
        assert_eq!(mode(&top.join("bin/tool")), 0o755);
        assert_eq!(mode(&top.join("a.nix")), 0o644);
        assert_eq!(std::fs::read(top.join("copy")).unwrap(), b"{ }");
        assert_eq!(
            std::fs::read_link(top.join("tool")).unwrap(),
            Path::new("bin/tool")
        );
    }

    #[test]
    fn links_out_of_the_tree_are_refused_at_the_top_and_inside() {
        for (entries, message) in [
            (
                vec![E::Link("top", "/oldroot/etc")],
                "`top` is a symbolic link that leads out of its tree",
            ),
            (
                vec![E::Link("top", "../../../../etc")],
                "`top` is a symbolic link, which a dependency's tree cannot be",
            ),
            (
                vec![E::Dir("top"), E::Link("top/x", "../../etc")],
                "`top/x` is a symbolic link that leads out of its tree",
            ),
            (
                vec![
                    E::Dir("top"),
                    E::Link("top/d", "."),
                    E::Link("top/x", "d/.."),
                ],
                "`top/x` is a symbolic link that leads out of its tree",
            ),
            (
                vec![
                    E::Dir("top"),
                    E::Link("top/l", "sub"),
                    E::File("top/l/f", b"x", 0o644),
                ],
                "`top/l/f` lies below an entry that is not a directory (a link or a file)",
            ),
        ] {
            let (_d, out) = run(&archive(&entries), Limits::default());
            assert_eq!(out, Err(message.to_owned()));
        }
    }

    #[test]
    fn names_kinds_and_duplicates_are_checked() {
        let bytes = |p: &str| {
            // `tar::Builder` refuses `..` and absolute names; write the header by hand.
            let mut h = tar::Header::new_old();
            h.as_old_mut().name[..p.len()].copy_from_slice(p.as_bytes());
            h.set_size(0);
            h.set_mode(0o644);
            h.set_cksum();
            let mut v = h.as_bytes().to_vec();
            v.extend([0u8; 1024]);
            v
        };
        for name in ["/etc/x", "top/../../x", "."] {
            let (_d, out) = run(&bytes(name), Limits::default());
            assert_eq!(
                out,
                Err("entry 1 has an absolute name, a `..` component, or no name".to_owned()),
                "{name}"
            );
        }
        let (_d, out) = run(&bytes("top/.git/config"), Limits::default());
        assert_eq!(
            out,
            Err("`top/.git` is named `.git`, which an exported tree cannot hold".to_owned())
        );
        let (_d, out) = run(
            &archive(&[E::Dir("top"), E::Fifo("top/p")]),
            Limits::default(),
        );
        assert_eq!(
            out,
            Err("`top/p` is a device, FIFO or socket, which a tree cannot hold".to_owned())
        );
        let twice = archive(&[E::File("top", b"a", 0o644), E::File("top", b"b", 0o644)]);
        let (_d, out) = run(&twice, Limits::default());
        assert_eq!(out, Err("`top` appears twice in the archive".to_owned()));
        let (_d, out) = run(
            &archive(&[E::File("a", b"", 0o644), E::File("b", b"", 0o644)]),
            Limits::default(),
        );
        assert_eq!(
            out,
            Err("has 2 top-level entries; it must have exactly one (as Nix's `fetchTarball` requires)".to_owned())
        );
    }

    #[test]
    fn limits_stop_a_bomb_while_it_is_written() {
        let big = vec![0u8; 10_000];
        let bytes = archive(&[
            E::Dir("top"),
            E::File("top/a", &big, 0o644),
            E::File("top/b", &big, 0o644),
        ]);
        let (d, out) = run(
            &bytes,
            Limits {
                bytes: 15_000,
                entries: 100,
            },
        );
        assert_eq!(
            out,
            Err(
                "unpacks to more than 15000 bytes (the limit is `atom.maxUnpackedSize`)".to_owned()
            )
        );
        assert!(
            !d.path().join("top/b").exists(),
            "refused before it is written"
        );
        let (_d, out) = run(
            &bytes,
            Limits {
                bytes: 1 << 20,
                entries: 2,
            },
        );
        assert_eq!(
            out,
            Err("holds more than 2 entries (the limit is `atom.maxEntries`)".to_owned())
        );
    }

    #[test]
    fn errors_never_quote_the_archive() {
        // /proc/self/environ-like content: text with a secret, not a tar archive.
        let secret = b"TOKEN=hunter2-very-secret\0PATH=/bin\0".repeat(20);
        let (_d, out) = run(&secret, Limits::default());
        let message = out.unwrap_err();
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(
            message,
            "not a tar archive (plain or gzip-compressed), or a damaged one (entry 1)"
        );
    }
}
