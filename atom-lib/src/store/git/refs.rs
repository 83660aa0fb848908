//! Reading refs, and updating them in one transaction where every update states what it expects
//! to find.

use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::{boxed, to_gix, to_oid, BoxError, GitStore, StoreError};
use crate::refs::RefName;
use crate::store::RemoteRef;
use crate::Oid;

/// What a ref update expects to find before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The ref must not exist: it is created (published atoms are only ever created).
    Absent,
    /// The ref must point at exactly this object.
    Equal(Oid),
    /// The ref may be absent; if present, the new value must descend from it (a branch).
    FastForward,
}

/// One ref to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The ref.
    pub name: RefName,
    /// Its new value.
    pub new: Oid,
    /// What it must be before.
    pub expect: Expect,
}

impl RefUpdate {
    /// An update that creates `name` and fails if it exists.
    pub fn create(name: RefName, new: Oid) -> Self {
        RefUpdate {
            name,
            new,
            expect: Expect::Absent,
        }
    }
}

impl GitStore {
    /// The object a ref points at (not peeled), if the ref exists.
    pub fn find_ref(&self, name: &RefName) -> Result<Option<Oid>, StoreError> {
        match self.repo.try_find_reference(name.as_str()) {
            Ok(Some(r)) => Ok(r.target().try_id().map(to_oid)),
            Ok(None) => Ok(None),
            Err(e) => Err(StoreError::Ref {
                name: name.to_string(),
                what: "could not be read".into(),
                source: Some(boxed(e)),
            }),
        }
    }

    /// The ref stored under exactly the full name `name`, whatever namespace (`GIT_NAMESPACE`)
    /// the repository was opened in, not followed if it is symbolic. `name` is untyped: the
    /// server hook asks about names exactly as git hands them over, which may be names this
    /// crate would never write.
    fn find_exact(&self, name: &str) -> Result<Option<gix::refs::Reference>, StoreError> {
        let err = |what: &str, e: BoxError| StoreError::Ref {
            name: name.to_owned(),
            what: what.into(),
            source: Some(e),
        };
        let full = gix::refs::FullName::try_from(name)
            .map_err(|e| err("is not a valid ref name", boxed(e)))?;
        let mut refs = self.repo.refs.clone();
        refs.namespace = None;
        refs.try_find(full.as_ref())
            .map_err(|e| err("could not be read", boxed(e)))
    }

    /// The object the ref stored under exactly the full name `name` points at (not peeled),
    /// whatever namespace the repository was opened in; `None` when it is absent or symbolic.
    pub fn find_exact_ref(&self, name: &str) -> Result<Option<Oid>, StoreError> {
        Ok(self
            .find_exact(name)?
            .and_then(|r| r.target.try_id().map(to_oid)))
    }

    /// The full name the symbolic ref stored under exactly `name` points to (one level, not
    /// followed further), whatever namespace the repository was opened in; `None` when `name`
    /// is absent or a direct ref.
    pub fn symbolic_target(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.find_exact(name)?.and_then(|r| match r.target {
            gix::refs::Target::Symbolic(target) => {
                Some(target.as_bstr().to_str_lossy().into_owned())
            }
            gix::refs::Target::Object(_) => None,
        }))
    }

    /// Every direct ref whose name starts with `prefix`, sorted by name. A ref pointing at an
    /// annotated tag carries the object the tag points to in `peeled`, as a remote listing
    /// does, so a tag never stands where a commit is expected.
    ///
    /// The loose refs and the records of `packed-refs` are read separately and merged (a loose
    /// ref stands for a packed one of the same name), both in name order: each packed record
    /// is decoded once, and what it records as the peeled object answers for its ref (when
    /// the file says it records every peeled tag, `fully-peeled`, which git and this crate
    /// write) instead of reading the object. A listing of 50,000 atoms is mostly that.
    pub fn refs_with_prefix(&self, prefix: &str) -> Result<Vec<RemoteRef>, StoreError> {
        let err = |e: BoxError| StoreError::Ref {
            name: format!("{prefix}*"),
            what: "could not be listed".into(),
            source: Some(e),
        };
        let relative: &gix::path::RelativePath = prefix.try_into().map_err(|e| err(boxed(e)))?;
        // Loose refs, in name order (a directory walk lists `a/` before `a-b/`).
        let mut loose = Vec::new();
        for r in self
            .repo
            .refs
            .loose_iter_prefixed(relative)
            .map_err(|e| err(boxed(e)))?
        {
            let r = r.map_err(|e| err(boxed(e)))?;
            if let gix::refs::Target::Object(id) = r.target {
                loose.push((r.name, to_oid(id)));
            }
        }
        loose.sort_by(|a, b| a.0.as_bstr().cmp(b.0.as_bstr()));
        let mut loose = loose.into_iter().peekable();

        // Packed records, in the namespace the repository was opened in, if any.
        let namespace = self
            .repo
            .refs
            .namespace
            .as_ref()
            .map_or(&b""[..], |n| n.as_bstr().as_bytes());
        let packed = self
            .repo
            .refs
            .cached_packed_buffer()
            .map_err(|e| err(boxed(e)))?;
        // Packed records, read here from the library's buffer (sorted, header skipped): the
        // library's decoding, which checks each digit and name through a parser, was a sixth
        // of listing 50,000 atoms, and its search steps over a malformed record, leaving the
        // refs around it out of a listing without a word.
        let packed_prefix = [namespace, prefix.as_bytes()].concat();
        let hex_len = self.repo.object_hash().len_in_hex();
        let malformed = |at: &[u8]| {
            let line = at.lines().next().unwrap_or_default();
            err(format!(
                "{} has a malformed record: {:?}",
                self.repo.refs.packed_refs_path().display(),
                line.as_bstr()
            )
            .into())
        };
        let mut records: &[u8] = match &packed {
            Some(buffer) => {
                let bytes: &[u8] = (**buffer).as_ref();
                let start = PackedRecord::search(bytes, &packed_prefix, hex_len)
                    .map_err(|at| malformed(&bytes[at..]))?;
                &bytes[start..]
            }
            None => &[],
        };
        let fully_peeled = packed.is_some() && self.packed_refs_fully_peeled();

        let mut out = Vec::new();
        // A ref named `name` (a name git accepts but this crate does not, a C1 control
        // character for one, is nothing this crate reads) pointing at `oid`, peeled as
        // `recorded` says when it says.
        let mut push = |name: &[u8], oid: Oid, recorded: Option<Option<Oid>>| {
            let Ok(name) = std::str::from_utf8(name) else {
                return;
            };
            let Ok(name) = RefName::new(name) else {
                return;
            };
            let peeled = recorded.unwrap_or_else(|| self.peel_tag(oid));
            out.push(RemoteRef { name, oid, peeled });
        };
        while !records.is_empty() {
            let Some(record) = PackedRecord::read(records, hex_len) else {
                return Err(malformed(records));
            };
            if !record.name.starts_with(&packed_prefix) {
                break;
            }
            records = record.rest;
            let name = &record.name[namespace.len()..];
            while let Some((loose_name, oid)) = loose.next_if(|(n, _)| n.as_bstr() < name) {
                push(loose_name.as_bstr(), oid, None);
            }
            let recorded = fully_peeled.then_some(record.peeled);
            match loose.next_if(|(n, _)| n.as_bstr() == name) {
                // Peeling is a property of the object: the record answers for a loose ref
                // with the same target too.
                Some((_, oid)) if oid == record.target => push(name, oid, recorded),
                Some((_, oid)) => push(name, oid, None),
                None => push(name, record.target, recorded),
            }
        }
        for (name, oid) in loose {
            push(name.as_bstr(), oid, None);
        }
        Ok(out)
    }

    /// Whether this repository's `packed-refs` says it records what every tag it holds peels
    /// to (`fully-peeled` among the traits of its first line).
    fn packed_refs_fully_peeled(&self) -> bool {
        use std::io::Read as _;
        let mut head = [0u8; 256];
        let read = std::fs::File::open(self.repo.refs.packed_refs_path())
            .and_then(|mut f| f.read(&mut head));
        match read {
            Ok(n) => head[..n]
                .lines()
                .next()
                .and_then(|line| line.strip_prefix(b"# pack-refs with: "))
                .is_some_and(|traits| traits.split_str(" ").any(|t| t == b"fully-peeled")),
            Err(_) => false,
        }
    }

    /// Applies `updates` in one transaction: either every ref is written or none is. An update
    /// whose expectation does not hold fails the whole transaction, so concurrent writers
    /// cannot both win. Many creations at once are one rewrite of `packed-refs` instead of a
    /// loose ref each (see [`packed`](super::packed)).
    pub fn update_refs(&self, updates: &[RefUpdate], message: &str) -> Result<(), StoreError> {
        if self.packs_creations(updates)? && self.create_packed(updates)? {
            return Ok(());
        }
        let mut edits = Vec::with_capacity(updates.len());
        for update in updates {
            let name = update.name.as_str();
            let full = gix::refs::FullName::try_from(name).map_err(|e| StoreError::Ref {
                name: name.to_owned(),
                what: "is not a valid ref name".into(),
                source: Some(boxed(e)),
            })?;
            let expected = match update.expect {
                Expect::Absent => PreviousValue::MustNotExist,
                Expect::Equal(oid) => {
                    PreviousValue::MustExistAndMatch(gix::refs::Target::Object(to_gix(oid)))
                }
                Expect::FastForward => match self.find_ref(&update.name)? {
                    None => PreviousValue::MustNotExist,
                    Some(old) if self.is_ancestor(old, update.new)? => {
                        PreviousValue::MustExistAndMatch(gix::refs::Target::Object(to_gix(old)))
                    }
                    Some(old) => {
                        return Err(StoreError::Ref {
                            name: name.to_owned(),
                            what: format!("{} does not descend from {old}", update.new),
                            source: None,
                        })
                    }
                },
            };
            edits.push(RefEdit {
                change: Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: message.into(),
                    },
                    expected,
                    new: gix::refs::Target::Object(to_gix(update.new)),
                },
                name: full,
                deref: false,
            });
        }
        self.repo
            .edit_references(edits)
            .map_err(|e| StoreError::Ref {
                name: updates
                    .first()
                    .map(|u| u.name.to_string())
                    .unwrap_or_default(),
                what: "transaction failed, no ref was written".into(),
                source: Some(boxed(e)),
            })?;
        Ok(())
    }
}

/// One record of `packed-refs`: `<hex> <name>` on a line, and `^<hex>` on the next when the
/// ref is a tag, what it peels to.
struct PackedRecord<'a> {
    target: Oid,
    name: &'a [u8],
    peeled: Option<Oid>,
    /// The records after this one.
    rest: &'a [u8],
}

impl<'a> PackedRecord<'a> {
    /// Where in `bytes` (sorted records) the first record whose name is not below `prefix`
    /// starts, by binary search; `Err` with where a malformed record it met starts.
    fn search(bytes: &[u8], prefix: &[u8], hex_len: usize) -> Result<usize, usize> {
        let (mut low, mut high) = (0, bytes.len());
        while low < high {
            let mid = low + (high - low) / 2;
            // The record the byte at `mid` is part of (a peel line belongs to the line above).
            let line_start = |at: usize| bytes[..at].rfind_byte(b'\n').map_or(0, |n| n + 1);
            let mut start = line_start(mid);
            if bytes.get(start) == Some(&b'^') && start > 0 {
                start = line_start(start - 1);
            }
            let record = PackedRecord::read(&bytes[start..], hex_len).ok_or(start)?;
            if record.name < prefix {
                low = bytes.len() - record.rest.len();
            } else {
                high = start;
            }
        }
        Ok(low)
    }

    /// The record at the start of `bytes`, whose ids have `hex_len` digits; `None` when it is
    /// malformed.
    fn read(bytes: &'a [u8], hex_len: usize) -> Option<Self> {
        let line_of = |bytes: &'a [u8]| match bytes.find_byte(b'\n') {
            Some(end) => (&bytes[..end], &bytes[end + 1..]),
            None => (bytes, &[][..]),
        };
        let (line, mut rest) = line_of(bytes);
        if line.get(hex_len) != Some(&b' ') || line.len() == hex_len + 1 {
            return None;
        }
        let target = Oid::from_hex(&line[..hex_len])?;
        let name = &line[hex_len + 1..];
        let mut peeled = None;
        if let Some(next) = rest.strip_prefix(b"^") {
            let (line, after) = line_of(next);
            peeled = Some(Oid::from_hex(line)?);
            rest = after;
        }
        Some(PackedRecord {
            target,
            name,
            peeled,
            rest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search finds where a linear scan finds the first record at or above any prefix,
    /// with and without peel lines, and names a malformed record it meets.
    #[test]
    fn the_search_finds_what_a_scan_finds() {
        let a = "a".repeat(40);
        let names: Vec<String> = (0..37)
            .map(|i| format!("refs/atoms/p{i:03}/1.0.0"))
            .collect();
        let mut text = String::new();
        let mut starts = Vec::new();
        for (i, name) in names.iter().enumerate() {
            starts.push(text.len());
            text.push_str(&format!("{a} {name}\n"));
            if i % 3 == 0 {
                text.push_str(&format!("^{a}\n"));
            }
        }
        let bytes = text.as_bytes();
        let mut prefixes: Vec<String> = names.clone();
        prefixes.extend(names.iter().map(|n| format!("{n}x")));
        prefixes
            .extend(["refs/", "refs/atoms/p0", "refs/atoms/p02", "refs/b", "z"].map(String::from));
        for prefix in &prefixes {
            let scan = names
                .iter()
                .position(|n| n.as_str() >= prefix.as_str())
                .map_or(bytes.len(), |i| starts[i]);
            assert_eq!(
                PackedRecord::search(bytes, prefix.as_bytes(), 40),
                Ok(scan),
                "{prefix}"
            );
        }
        assert_eq!(PackedRecord::search(b"", b"refs/", 40), Ok(0));
        let broken = text.replacen(&format!("{a} refs/atoms/p018"), "xx refs/atoms/p018", 1);
        let at = PackedRecord::search(broken.as_bytes(), b"refs/atoms/p018", 40).unwrap_err();
        assert!(
            broken[at..].starts_with("xx refs/atoms/p018"),
            "{}",
            &broken[at..]
        );
    }

    #[test]
    fn packed_records_are_read_exactly() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let text = format!("{a} refs/tags/t\n^{b}\n{b} refs/tags/u\n{a} refs/x");
        let first = PackedRecord::read(text.as_bytes(), 40).unwrap();
        assert_eq!(first.target, a.parse().unwrap());
        assert_eq!(first.name, b"refs/tags/t");
        assert_eq!(first.peeled, Some(b.parse().unwrap()));
        let second = PackedRecord::read(first.rest, 40).unwrap();
        assert_eq!((second.name, second.peeled), (&b"refs/tags/u"[..], None));
        // The last line may end without a newline.
        let third = PackedRecord::read(second.rest, 40).unwrap();
        assert_eq!((third.name, third.rest), (&b"refs/x"[..], &b""[..]));
        // SHA-256 ids.
        let long = "c".repeat(64);
        let record = PackedRecord::read(format!("{long} refs/y\n").as_bytes(), 64)
            .map(|r| r.target.as_bytes().len());
        assert_eq!(record, Some(32));
        for bad in [
            format!("{} refs/x\n", &a[..39]),
            format!("{a}refs/x\n"),
            format!("{a} \n"),
            format!("{a} refs/x\n^{}\n", &b[..39]),
            format!("{} refs/x\n", "g".repeat(40)),
            format!("{long} refs/x\n"),
        ] {
            assert!(PackedRecord::read(bad.as_bytes(), 40).is_none(), "{bad:?}");
        }
    }
}
