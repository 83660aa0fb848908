//! Creating many refs at once: one rewrite of the `packed-refs` file instead of a loose ref
//! (a directory, a lock file and a file) per ref.
//!
//! A publish of 10,000 atoms creates 10,000 local refs once its push has succeeded. As loose
//! refs that is some 40,000 file system operations, about as long as the push itself; as
//! packed refs it is one file written and renamed into place, which is also how `git clone`
//! writes the refs it starts with. The file is git's own format (`git pack-refs`): a header
//! naming its traits, then one `<oid> <name>` line per ref sorted by name, each annotated tag
//! followed by a `^<peeled>` line.
//!
//! Only creations take this path, and only when there are many of them
//! ([`PACKED_CREATIONS`]): a small batch is cheaper as loose refs than as a rewrite of a large
//! `packed-refs`. Under the `packed-refs.lock` (taken as git takes it, and waited for as long
//! as `core.packedRefsTimeout` says), every name is checked to be absent both loose and packed
//! and to collide with no ref as a directory or as a file; one that does fails the whole
//! batch, and nothing is written. A concurrent writer that creates the same name loose between
//! the check and the rename would shadow the packed value; publishing creates its local refs
//! only after the remote accepted them in one atomic push, so such a writer can only be
//! another door writing the value the remote has.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::refs::{Expect, RefUpdate};
use super::{GitStore, StoreError};

/// The smallest number of creations written as one `packed-refs` rewrite rather than as loose
/// refs.
pub const PACKED_CREATIONS: usize = 64;

/// The traits of a new `packed-refs` file: every annotated tag carries its peeled value, and
/// the lines are sorted by name.
const TRAITS: [&str; 3] = ["peeled", "fully-peeled", "sorted"];

impl GitStore {
    /// Whether `updates` are written as one `packed-refs` rewrite: all creations, many of
    /// them, in a repository whose refs are files, outside any namespace, and whose
    /// configuration asks for no reflog of them (`core.logAllRefUpdates=always`).
    pub(super) fn packs_creations(&self, updates: &[RefUpdate]) -> Result<bool, StoreError> {
        if updates.len() < PACKED_CREATIONS
            || updates.iter().any(|u| u.expect != Expect::Absent)
            || self.repo.refs.namespace.is_some()
        {
            return Ok(false);
        }
        let config = self.config()?;
        let files = config
            .string("extensions.refStorage")
            .is_none_or(|s| s.eq_ignore_ascii_case("files"));
        let logs_all = config
            .string("core.logAllRefUpdates")
            .is_some_and(|s| s.eq_ignore_ascii_case("always"));
        Ok(files && !logs_all)
    }

    /// Creates every ref of `updates` (all [`Expect::Absent`]) in one rewrite of
    /// `packed-refs`: all of them or, when one exists or collides with an existing ref, none.
    /// `false` (nothing written) when the existing `packed-refs` is not one this writer reads.
    pub(super) fn create_packed(&self, updates: &[RefUpdate]) -> Result<bool, StoreError> {
        let common = self.repo.common_dir().to_path_buf();
        let path = common.join("packed-refs");
        let lock = Lock::take(&path.with_extension("lock"), self.packed_refs_timeout())?;
        let first = updates
            .first()
            .map(|u| u.name.to_string())
            .unwrap_or_default();
        let fail = |name: &str, what: String| StoreError::Ref {
            name: name.to_owned(),
            what,
            source: None,
        };
        let lock_path = lock.path.clone();
        let io = |what: &str, e: std::io::Error| StoreError::Ref {
            name: first.clone(),
            what: format!(
                "could not be created: {what} `{}`: {e}",
                lock_path.display()
            ),
            source: None,
        };
        let existing = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("cannot read the packed refs beside", e)),
        };
        let traits = traits(&existing);
        // A file this writer does not read is left to git's own way of writing refs (a loose
        // ref each), which never rewrites it.
        let Ok(mut entries) = parse(&existing) else {
            return Ok(false);
        };
        for update in updates {
            let name = update.name.as_str();
            let taken = if entries.contains_key(name.as_bytes()) {
                Some("already exists")
            } else {
                loose_conflict(&common, name)
            };
            if let Some(why) = taken {
                return Err(fail(name, format!("{why}, no ref was written")));
            }
            let mut lines = format!("{} {name}\n", update.new).into_bytes();
            if let Some(peeled) = self.peel_tag(update.new) {
                lines.extend_from_slice(format!("^{peeled}\n").as_bytes());
            }
            entries.insert(name.as_bytes().to_vec(), lines);
        }
        if let Some((dir, under)) = directory_conflict(&entries) {
            return Err(fail(
                &under,
                format!("conflicts with the ref `{dir}`, no ref was written"),
            ));
        }
        let mut text = format!("# pack-refs with: {} \n", traits.join(" ")).into_bytes();
        for lines in entries.values() {
            text.extend_from_slice(lines);
        }
        lock.commit(&text, &path)
            .map_err(|e| io("cannot write the packed refs in", e))?;
        Ok(true)
    }

    /// `core.packedRefsTimeout`: how long to wait for another writer's `packed-refs.lock`, in
    /// milliseconds (git's default 1,000; negative waits for ever).
    fn packed_refs_timeout(&self) -> Option<Duration> {
        let ms = self
            .config()
            .ok()
            .and_then(|c| c.string("core.packedRefsTimeout"))
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(1000);
        u64::try_from(ms).ok().map(Duration::from_millis)
    }
}

/// The traits the rewrite of `existing` has: those of a new file when there is none, else the
/// file's own (whether its tags carry their peeled values is its writer's word, kept) and
/// `sorted`, since the rewrite is.
fn traits(existing: &[u8]) -> Vec<String> {
    if existing.is_empty() {
        return TRAITS.iter().map(|t| (*t).to_owned()).collect();
    }
    let header = existing
        .split(|&b| b == b'\n')
        .next()
        .and_then(|line| line.strip_prefix(b"# pack-refs with:"))
        .unwrap_or_default();
    let mut traits: Vec<String> = String::from_utf8_lossy(header)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !traits.iter().any(|t| t == "sorted") {
        traits.push("sorted".into());
    }
    traits
}

/// The entries of a `packed-refs` file by name, each with its lines (the ref's, and its
/// `^<peeled>` line if any), as written. A malformed line is an error with its number.
fn parse(bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, usize> {
    let mut entries: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut last: Option<Vec<u8>> = None;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.starts_with(b"#") || body.is_empty() {
            continue;
        }
        if let Some(peeled) = body.strip_prefix(b"^") {
            if !is_hex_oid(peeled) {
                return Err(i + 1);
            }
            let owner = last
                .as_ref()
                .and_then(|n| entries.get_mut(n))
                .ok_or(i + 1)?;
            owner.extend_from_slice(body);
            owner.push(b'\n');
            continue;
        }
        let space = body.iter().position(|&b| b == b' ').ok_or(i + 1)?;
        let (oid, name) = (&body[..space], &body[space + 1..]);
        if !is_hex_oid(oid) || name.is_empty() || name.contains(&b' ') {
            return Err(i + 1);
        }
        let mut lines = body.to_vec();
        lines.push(b'\n');
        entries.insert(name.to_vec(), lines);
        last = Some(name.to_vec());
    }
    Ok(entries)
}

/// Whether `hex` is an object id as git writes it (SHA-1 or SHA-256, in hexadecimal).
fn is_hex_oid(hex: &[u8]) -> bool {
    matches!(hex.len(), 40 | 64) && hex.iter().all(u8::is_ascii_hexdigit)
}

/// Why `name` cannot be created beside the loose refs: it exists, refs are stored under it,
/// or a ref is where one of its directories would be; `None` when it can.
fn loose_conflict(common: &Path, name: &str) -> Option<&'static str> {
    match std::fs::symlink_metadata(common.join(name)) {
        Ok(meta) if meta.is_dir() => Some("conflicts with the refs under it"),
        Ok(_) => Some("already exists"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Some("conflicts with an existing ref above it")
        }
        Err(_) => Some("cannot be checked against the loose refs"),
    }
}

/// A ref that is also a directory of other refs (`refs/a` beside `refs/a/b`), which git cannot
/// store: `(the ref, a ref under it)`. In name order, such a pair need not be adjacent
/// (`refs/a`, `refs/a-b`, `refs/a/b`), so each name is compared with the next one under it.
fn directory_conflict(entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Option<(String, String)> {
    for name in entries.keys() {
        let mut dir = name.clone();
        dir.push(b'/');
        if let Some((under, _)) = entries.range(dir.clone()..).next() {
            if under.starts_with(&dir) {
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                return Some((text(name), text(under)));
            }
        }
    }
    None
}

/// git's lock on a file: `<file>.lock`, created exclusively, written, then renamed over the
/// file; removed if dropped before that.
struct Lock {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Lock {
    /// Takes the lock, waiting up to `timeout` (`None`: for ever) for another holder.
    fn take(path: &Path, timeout: Option<Duration>) -> Result<Self, StoreError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(file) => {
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        file: Some(file),
                    })
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && timeout.is_none_or(|t| start.elapsed() < t) =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => {
                    let what = if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!(
                            "`{}` exists: another git process is writing refs, or one was \
                             stopped and its lock file might need manual deletion",
                            path.display()
                        )
                    } else {
                        format!("`{}` cannot be created: {e}", path.display())
                    };
                    return Err(StoreError::Ref {
                        name: "packed-refs".into(),
                        what,
                        source: None,
                    });
                }
            }
        }
    }

    /// Writes `bytes` to the lock file and renames it over `target`.
    fn commit(mut self, bytes: &[u8], target: &Path) -> std::io::Result<()> {
        let mut file = self.file.take().expect("an open lock");
        file.write_all(bytes)?;
        file.flush()?;
        drop(file);
        std::fs::rename(&self.path, target)?;
        // Renamed: nothing is left to remove.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::RefName;
    use crate::Oid;

    /// `git` in `dir` with no configuration but the repository's, output as text.
    fn git(dir: &Path, args: &[&str], stdin: &str) -> String {
        use std::io::Write as _;
        let mut child = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A bare repository with a packed branch, a packed annotated tag and a loose ref, and
    /// `n` commits no ref names yet.
    fn repository(n: usize) -> (tempfile::TempDir, GitStore, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "--bare", "."], "");
        let store = GitStore::open(dir.path()).unwrap();
        let tree = git(
            dir.path(),
            &["hash-object", "-w", "-t", "tree", "--stdin"],
            "",
        );
        let commits: Vec<Oid> = (0..n)
            .map(|i| {
                let text = format!(
                    "tree {}\nauthor a <a@x> 0 +0000\ncommitter a <a@x> 0 +0000\n\nc{i}\n",
                    tree.trim()
                );
                store.write_commit_raw(text.as_bytes()).unwrap()
            })
            .collect();
        git(
            dir.path(),
            &["update-ref", "refs/heads/main", &commits[0].to_string()],
            "",
        );
        let tag = tag(dir.path(), commits[0], "v1");
        git(
            dir.path(),
            &["update-ref", "refs/tags/v1", &tag.to_string()],
            "",
        );
        git(dir.path(), &["pack-refs", "--all"], "");
        git(
            dir.path(),
            &["update-ref", "refs/loose/x", &commits[1].to_string()],
            "",
        );
        (dir, store, commits)
    }

    fn tag(dir: &Path, target: Oid, name: &str) -> Oid {
        let text =
            format!("object {target}\ntype commit\ntag {name}\ntagger a <a@x> 0 +0000\n\n{name}\n");
        git(dir, &["mktag"], &text).trim().parse().unwrap()
    }

    fn creations(commits: &[Oid]) -> Vec<RefUpdate> {
        commits
            .iter()
            .enumerate()
            .map(|(i, c)| {
                RefUpdate::create(RefName::new(&format!("refs/atoms/p{i}/0.1.0")).unwrap(), *c)
            })
            .collect()
    }

    /// A listing takes what a packed ref peels to from a `fully-peeled` `packed-refs`, as git
    /// does, without reading the object; from the object otherwise, and for a loose ref whose
    /// target is not the packed one. Shown with a record that lies about the peel.
    #[test]
    fn a_listing_peels_packed_refs_from_their_records() {
        let (dir, store, commits) = repository(3);
        let tag = store
            .find_ref(&RefName::new("refs/tags/v1").unwrap())
            .unwrap()
            .unwrap();
        let file = dir.path().join("packed-refs");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# pack-refs with: peeled fully-peeled sorted"),
            "{text}"
        );
        let lie = text.replace(&format!("^{}", commits[0]), &format!("^{}", commits[2]));
        assert_ne!(lie, text);
        let listed = |store: &GitStore| store.refs_with_prefix("refs/tags/").unwrap();
        let reopen = || GitStore::open(dir.path()).unwrap();
        // The record is what is read (git's own listing says the same).
        std::fs::write(&file, &lie).unwrap();
        let refs = listed(&reopen());
        assert_eq!((refs[0].oid, refs[0].peeled), (tag, Some(commits[2])));
        let git_says = git(dir.path(), &["ls-remote", ".", "refs/tags/v1^{}"], "");
        assert!(git_says.starts_with(&commits[2].to_string()), "{git_says}");
        // Without `fully-peeled`, the object is read.
        std::fs::write(&file, lie.replace(" fully-peeled", "")).unwrap();
        let refs = listed(&reopen());
        assert_eq!((refs[0].oid, refs[0].peeled), (tag, Some(commits[0])));
        // A loose ref over the packed one, naming another tag: its own object is read.
        std::fs::write(&file, &lie).unwrap();
        let other = super::tests::tag(dir.path(), commits[1], "v1");
        git(
            dir.path(),
            &["update-ref", "refs/tags/v1", &other.to_string()],
            "",
        );
        let refs = listed(&reopen());
        assert_eq!((refs[0].oid, refs[0].peeled), (other, Some(commits[1])));
        // Refs that are not tags peel to nothing, packed or loose.
        let heads = reopen().refs_with_prefix("refs/").unwrap();
        for r in heads
            .iter()
            .filter(|r| !r.name.as_str().starts_with("refs/tags/"))
        {
            assert_eq!(r.peeled, None, "{}", r.name.as_str());
        }
    }

    /// Loose and packed refs are listed merged in name order, a loose ref standing for the
    /// packed one of its name, exactly as `git for-each-ref` lists them; in a namespace
    /// (`GIT_NAMESPACE`), its refs under their names within it.
    #[test]
    fn a_listing_merges_loose_and_packed_refs_as_git_lists_them() {
        let (dir, store, commits) = repository(4);
        let d = dir.path();
        // Names whose order differs between a directory walk (`a` before `a-b`) and byte
        // order (`a-b/` before `a/`).
        for (name, c) in [("a/1", 0), ("a-b/1", 1), ("a.b/1", 2), ("a/2", 3)] {
            git(
                d,
                &[
                    "update-ref",
                    &format!("refs/atoms/{name}"),
                    &commits[c].to_string(),
                ],
                "",
            );
        }
        git(d, &["pack-refs", "--all"], "");
        // Loose: one over a packed ref with another target, one of the same target, new ones
        // sorting before, between and after the packed ones.
        for (name, c) in [
            ("a/1", 2),
            ("a/2", 3),
            ("a-a/1", 0),
            ("a0/1", 1),
            ("a/15", 1),
            ("z/1", 0),
        ] {
            git(
                d,
                &[
                    "update-ref",
                    &format!("refs/atoms/{name}"),
                    &commits[c].to_string(),
                ],
                "",
            );
        }
        let ours = |store: &GitStore| -> String {
            store
                .refs_with_prefix("refs/atoms/")
                .unwrap()
                .iter()
                .map(|r| format!("{} {}\n", r.oid, r.name))
                .collect()
        };
        let gits = git(
            d,
            &[
                "for-each-ref",
                "--format=%(objectname) %(refname)",
                "refs/atoms/",
            ],
            "",
        );
        assert_eq!(gits.lines().count(), 8, "{gits}");
        assert_eq!(ours(&store), gits);
        assert_eq!(ours(&GitStore::open(d).unwrap()), gits);

        // The same refs in a namespace, packed and loose, beside others outside it.
        let (ns_dir, _, ns_commits) = repository(2);
        let n = ns_dir.path();
        for (name, c) in [
            ("refs/namespaces/x/refs/atoms/p/1", 0),
            ("refs/atoms/q/1", 1),
        ] {
            git(n, &["update-ref", name, &ns_commits[c].to_string()], "");
        }
        git(n, &["pack-refs", "--all"], "");
        git(
            n,
            &[
                "update-ref",
                "refs/namespaces/x/refs/atoms/p/2",
                &ns_commits[1].to_string(),
            ],
            "",
        );
        let store = {
            let mut repo = gix::open(n).unwrap();
            repo.refs.namespace = Some(gix::refs::namespace::expand("x").unwrap());
            GitStore::new(repo)
        };
        let names: Vec<String> = store
            .refs_with_prefix("refs/atoms/")
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.oid, r.name))
            .collect();
        assert_eq!(
            names,
            [
                format!("{} refs/atoms/p/1", ns_commits[0]),
                format!("{} refs/atoms/p/2", ns_commits[1]),
            ]
        );
    }

    /// A malformed record among those listed is an error naming the file, not a shorter list.
    #[test]
    fn a_malformed_packed_record_fails_the_listing() {
        let (dir, _, commits) = repository(3);
        let d = dir.path();
        for (i, commit) in commits.iter().enumerate() {
            git(
                d,
                &[
                    "update-ref",
                    &format!("refs/atoms/p{i}/1.0.0"),
                    &commit.to_string(),
                ],
                "",
            );
        }
        git(d, &["pack-refs", "--all"], "");
        let file = d.join("packed-refs");
        let text = std::fs::read_to_string(&file).unwrap();
        let bad = text.replace(
            &format!("{} refs/atoms/p1/", commits[1]),
            &format!("{}refs/atoms/p1/", &commits[1].to_string()[..39]),
        );
        assert_ne!(bad, text);
        std::fs::write(&file, bad).unwrap();
        let err = GitStore::open(d)
            .unwrap()
            .refs_with_prefix("refs/atoms/")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refs/atoms/*") && err.contains("could not be listed"),
            "{err}"
        );
        let source = format!(
            "{:?}",
            std::error::Error::source(
                &GitStore::open(d)
                    .unwrap()
                    .refs_with_prefix("refs/atoms/")
                    .unwrap_err()
            )
        );
        assert!(
            source.contains("packed-refs") && source.contains("malformed"),
            "{source}"
        );
    }

    #[test]
    fn many_creations_are_one_packed_refs_rewrite_git_reads() {
        let (dir, store, commits) = repository(PACKED_CREATIONS + 1);
        let mut updates = creations(&commits[1..]);
        let signed = tag(dir.path(), commits[2], "sig");
        updates.push(RefUpdate::create(
            RefName::new("refs/atoms/_sig/p1").unwrap(),
            signed,
        ));
        assert!(store.packs_creations(&updates).unwrap());
        store.update_refs(&updates, "test").unwrap();

        // No loose ref was written, and git reads every one, tags peeled.
        assert!(!dir.path().join("refs/atoms").exists());
        let listed = git(
            dir.path(),
            &["for-each-ref", "--format=%(objectname) %(refname)"],
            "",
        );
        for u in &updates {
            assert!(
                listed.contains(&format!("{} {}\n", u.new, u.name)),
                "{}",
                u.name
            );
        }
        assert!(listed.contains("refs/heads/main") && listed.contains("refs/tags/v1"));
        assert!(listed.contains(&format!("{} refs/loose/x", commits[1])));
        let peeled = git(dir.path(), &["show-ref", "-d", "refs/atoms/_sig/p1"], "");
        assert!(
            peeled.contains(&format!("{} refs/atoms/_sig/p1^{{}}", commits[2])),
            "{peeled}"
        );
        let packed = std::fs::read_to_string(dir.path().join("packed-refs")).unwrap();
        assert!(packed.starts_with("# pack-refs with: peeled fully-peeled sorted \n"));
        let names: Vec<&str> = packed
            .lines()
            .filter(|l| !l.starts_with(['#', '^']))
            .map(|l| l.split_once(' ').unwrap().1)
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(!dir.path().join("packed-refs.lock").exists());
        git(dir.path(), &["pack-refs", "--all"], "");
    }

    #[test]
    fn an_existing_name_fails_the_batch_and_writes_nothing() {
        let (dir, store, commits) = repository(PACKED_CREATIONS + 2);
        let before = std::fs::read(dir.path().join("packed-refs")).unwrap();
        let mut loose = creations(&commits[..PACKED_CREATIONS]);
        loose.push(RefUpdate::create(
            RefName::new("refs/loose/x").unwrap(),
            commits[0],
        ));
        let err = store.update_refs(&loose, "test").unwrap_err().to_string();
        assert!(
            err.contains("refs/loose/x") && err.contains("already exists"),
            "{err}"
        );

        let mut packed = creations(&commits[..PACKED_CREATIONS]);
        packed.push(RefUpdate::create(
            RefName::new("refs/tags/v1").unwrap(),
            commits[0],
        ));
        let err = store.update_refs(&packed, "test").unwrap_err().to_string();
        assert!(
            err.contains("refs/tags/v1") && err.contains("already exists"),
            "{err}"
        );

        // A ref where a directory of the new ones would be, loose and packed.
        let mut under = creations(&commits[..PACKED_CREATIONS]);
        under.push(RefUpdate::create(
            RefName::new("refs/loose/x/y").unwrap(),
            commits[0],
        ));
        let err = store.update_refs(&under, "test").unwrap_err().to_string();
        assert!(
            err.contains("refs/loose/x/y") && err.contains("an existing ref above it"),
            "{err}"
        );
        let mut above = creations(&commits[..PACKED_CREATIONS]);
        above.push(RefUpdate::create(
            RefName::new("refs/loose").unwrap(),
            commits[0],
        ));
        let err = store.update_refs(&above, "test").unwrap_err().to_string();
        assert!(err.contains("conflicts with the refs under it"), "{err}");
        let mut over = creations(&commits[..PACKED_CREATIONS]);
        over.push(RefUpdate::create(
            RefName::new("refs/atoms/p0").unwrap(),
            commits[0],
        ));
        let err = store.update_refs(&over, "test").unwrap_err().to_string();
        assert!(
            err.contains("conflicts with the ref `refs/atoms/p0`"),
            "{err}"
        );

        assert_eq!(
            std::fs::read(dir.path().join("packed-refs")).unwrap(),
            before
        );
        assert!(!dir.path().join("packed-refs.lock").exists());
        assert!(!dir.path().join("refs/atoms").exists());
    }

    #[test]
    fn a_held_lock_is_named_and_nothing_is_written() {
        let (dir, store, commits) = repository(PACKED_CREATIONS);
        git(dir.path(), &["config", "core.packedRefsTimeout", "0"], "");
        drop(store);
        let store = GitStore::open(dir.path()).unwrap();
        let lock = dir.path().join("packed-refs.lock");
        std::fs::write(&lock, "").unwrap();
        let err = store
            .update_refs(&creations(&commits), "test")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("packed-refs.lock") && err.contains("might need manual deletion"),
            "{err}"
        );
        assert!(lock.exists(), "another holder's lock is not removed");
        std::fs::remove_file(&lock).unwrap();
        store.update_refs(&creations(&commits), "test").unwrap();
        assert_eq!(
            git(dir.path(), &["for-each-ref", "refs/atoms/"], "")
                .lines()
                .count(),
            PACKED_CREATIONS
        );
    }

    #[test]
    fn a_packed_refs_file_it_does_not_read_is_left_to_loose_refs() {
        let (dir, store, commits) = repository(PACKED_CREATIONS);
        let path = dir.path().join("packed-refs");
        let mut odd = std::fs::read(&path).unwrap();
        odd.extend_from_slice(b"a line of another writer\n");
        std::fs::write(&path, &odd).unwrap();
        assert!(!store.create_packed(&creations(&commits)).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), odd, "not rewritten");
        assert!(!dir.path().join("packed-refs.lock").exists());
        // The transaction of the git library writes them instead.
        let updates = creations(&commits);
        store.update_refs(&updates, "test").unwrap();
        for u in &updates {
            assert_eq!(store.find_ref(&u.name).unwrap(), Some(u.new));
        }
    }

    #[test]
    fn few_creations_or_other_updates_stay_loose() {
        let (_dir, store, commits) = repository(PACKED_CREATIONS);
        assert!(!store.packs_creations(&creations(&commits[1..])).unwrap());
        let mut mixed = creations(&commits);
        mixed[0].expect = Expect::Equal(commits[0]);
        assert!(!store.packs_creations(&mixed).unwrap());
    }

    #[test]
    fn parses_git_packed_refs_with_peeled_tags() {
        let text = b"# pack-refs with: peeled fully-peeled sorted \n\
            1111111111111111111111111111111111111111 refs/heads/main\n\
            2222222222222222222222222222222222222222 refs/tags/v1\n\
            ^3333333333333333333333333333333333333333\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[&b"refs/tags/v1".to_vec()],
            b"2222222222222222222222222222222222222222 refs/tags/v1\n\
              ^3333333333333333333333333333333333333333\n"
                .to_vec()
        );
        assert_eq!(parse(b"nonsense\n"), Err(1));
        assert_eq!(parse(b"^1111\n"), Err(1));
        assert_eq!(parse(b"a line of another writer\n"), Err(1));
        assert_eq!(
            parse(b"1111111111111111111111111111111111111111 refs/a\n^12\n"),
            Err(2)
        );
    }

    #[test]
    fn a_ref_that_is_also_a_directory_is_found() {
        let names = ["refs/a", "refs/a-b", "refs/a/b", "refs/c"];
        let entries = names
            .iter()
            .map(|n| (n.as_bytes().to_vec(), Vec::new()))
            .collect();
        assert_eq!(
            directory_conflict(&entries),
            Some(("refs/a".into(), "refs/a/b".into()))
        );
        let fine = ["refs/a-b", "refs/a/b", "refs/ab"]
            .iter()
            .map(|n| (n.as_bytes().to_vec(), Vec::new()))
            .collect();
        assert_eq!(directory_conflict(&fine), None);
    }
}
