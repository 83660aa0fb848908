//! The quarantine: objects fetched from a remote land in a private repository beside the real
//! one, which borrows the real repository's objects (`objects/info/alternates`, so negotiation
//! can use them and checks can see both). Nothing reaches the real repository until the caller
//! has checked what arrived and calls [`Quarantine::admit`]; dropping the quarantine throws
//! everything away.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{self, Verbosity};
use super::remote::Bound;
use super::{GitStore, Session, StoreError};
use crate::refs::Refspec;
use crate::Oid;

const QUARANTINE_PREFIX: &str = "atom-quarantine-";

/// A quarantine older than this was left by a process that was killed (a live fetch removes its
/// own when it ends), so it is removed.
const STALE_QUARANTINE: Duration = Duration::from_secs(3600);

/// Fetched objects waiting to be checked.
#[derive(Debug)]
pub struct Quarantine {
    dir: tempfile::TempDir,
    /// The real repository's object directory.
    objects: PathBuf,
    /// The real repository's bound on transfers.
    bound: Bound,
    /// Whether the real repository is a shallow clone: its refs' history is cut, so they must
    /// not be offered to a server as history this quarantine has.
    shallow: bool,
    /// The real repository's configured remotes, by name, with their URLs: a quarantine has
    /// no remotes of its own, so a name given to [`Quarantine::fetch`] is looked up here.
    remotes: Vec<(String, String)>,
}

/// What a quarantined fetch asks the server to leave out (`git fetch --filter`), and how much
/// history it takes (`--depth`). Servers that do not allow filters (`uploadpack.allowFilter`)
/// send everything; git then warns and the fetch still succeeds, only larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Everything reachable: no filter, full depth.
    Everything,
    /// The wanted commits alone (depth 1) with their root tree and the trees under it down to
    /// `depth` levels, no blob (`--depth=1 --filter=combine:blob:none+tree:<depth>`): enough to
    /// look up an entry `depth` components below the root.
    TreesToDepth(u32),
    /// The wanted commits alone (depth 1) with all their trees, no blob
    /// (`--depth=1 --filter=blob:none`).
    Trees,
    /// The wanted commits and all their ancestors, without trees or blobs (`--filter=tree:0`).
    History,
    /// The wanted commits alone (depth 1) with everything under them (`--depth=1`): a
    /// snapshot, as a pin or a git source needs it.
    Snapshot,
}

impl Filter {
    /// The filter spec and the depth a protocol v2 `fetch` command carries for this filter.
    pub(crate) fn spec(self) -> (Option<String>, Option<u32>) {
        match self {
            Filter::Everything => (None, None),
            Filter::TreesToDepth(depth) => {
                (Some(format!("combine:blob:none+tree:{depth}")), Some(1))
            }
            Filter::Trees => (Some("blob:none".into()), Some(1)),
            Filter::History => (Some("tree:0".into()), None),
            Filter::Snapshot => (None, Some(1)),
        }
    }

    fn args(self) -> Vec<String> {
        match self {
            Filter::Everything => Vec::new(),
            Filter::TreesToDepth(depth) => vec![
                "--depth=1".into(),
                format!("--filter=combine:blob:none+tree:{depth}"),
            ],
            Filter::Trees => vec!["--depth=1".into(), "--filter=blob:none".into()],
            Filter::History => vec!["--filter=tree:0".into()],
            Filter::Snapshot => vec!["--depth=1".into()],
        }
    }
}

impl GitStore {
    /// A new, empty quarantine next to this repository, seeing this repository's objects.
    pub fn quarantine(&self) -> Result<Quarantine, StoreError> {
        let git_dir = self.git_dir();
        let objects = self.repo.common_dir().join("objects");
        let bound = self.bound()?;
        remove_stale_quarantines(git_dir);
        let dir = tempfile::Builder::new()
            .prefix(QUARANTINE_PREFIX)
            .tempdir_in(git_dir)
            .map_err(|source| StoreError::Scratch { source })?;
        super::init_bare(dir.path())?;
        let info = dir.path().join("objects/info");
        fs::create_dir_all(&info)
            .and_then(|()| fs::write(info.join("alternates"), format!("{}\n", objects.display())))
            .map_err(|source| StoreError::Scratch { source })?;
        let remotes = self
            .remote_names()
            .into_iter()
            .filter_map(|name| Some((name.clone(), self.configured_remote_url(&name)?)))
            .collect();
        Ok(Quarantine {
            remotes,
            shallow: self.repo.is_shallow().unwrap_or(false),
            dir,
            objects,
            bound,
        })
    }

    /// Fetches `wants` (ref names, refspecs or object ids) from `url` into a new quarantine
    /// next to this repository, objects only (no ref, no `FETCH_HEAD`, no tags), leaving out
    /// what `filter` says: a scratch view for a check to read, removed when dropped. Nothing
    /// in it is admitted; admission goes through [`crate::admit`]. A relative `url` is
    /// relative to this process's current directory. No wants, no fetch: an empty view.
    pub fn fetch_scratch(
        &self,
        url: &str,
        wants: &[Refspec],
        filter: Filter,
        verbosity: Verbosity,
    ) -> Result<Quarantine, StoreError> {
        let quarantine = self.quarantine()?;
        if !wants.is_empty() {
            quarantine.fetch(url, wants, filter, verbosity)?;
        }
        Ok(quarantine)
    }
}

impl Quarantine {
    /// Fetches `wants` (ref names, refspecs or object ids; protocol v2 servers give any commit
    /// reachable from their refs by id) from `url` into the quarantine, objects only, leaving
    /// out what `filter` says.
    pub fn fetch(
        &self,
        url: &str,
        wants: &[Refspec],
        filter: Filter,
        verbosity: Verbosity,
    ) -> Result<(), StoreError> {
        // A configured remote's name means its URL, as in the real repository.
        let target = self
            .remotes
            .iter()
            .find(|(name, _)| name == url)
            .map_or(url, |(_, u)| u.as_str());
        let filter_args = filter.args();
        let target = if filter_args.iter().any(|a| a.starts_with("--filter")) {
            super::remote::filterable_url(target)
        } else {
            target.to_owned()
        };
        let mut git = command::Git::new("fetch", self.dir.path());
        if self.shallow {
            // git offers the refs of the repository it borrows objects from as history it has
            // ("have"); a shallow clone's refs lack their ancestors, which the server would then
            // leave out. Offer none.
            git = git.config("core.alternateRefsCommand", "true");
        }
        let out = self
            .bound
            .apply(git, url)
            .config("gc.auto", "0")
            .config("maintenance.auto", "false")
            .config("fetch.unpackLimit", "1")
            .config("transfer.unpackLimit", "1")
            .args([
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "--no-auto-gc",
            ])
            .args(filter_args)
            .verbosity(verbosity)
            .args(["--stdin", "--"])
            .arg(target)
            .stdin_lines(wants.iter().map(ToString::to_string))
            .output()?;
        if !out.status.success() {
            return Err(StoreError::Remote {
                remote: url.to_owned(),
                what: format!("cannot fetch: {}", command::first_error_line(&out.stderr)),
                source: None,
            });
        }
        if let Some(spec) = filter.spec().0 {
            if String::from_utf8_lossy(&out.stderr).contains("filtering not recognized by server") {
                unfiltered(url, &spec, pack_bytes(self.dir.path()));
            }
        }
        Ok(())
    }

    /// Fetches the objects `wants` (any objects the remote has: commits, trees, blobs) with
    /// everything under them, as one `fetch` command of an open session.
    pub fn fetch_with(&self, session: &Session, wants: &[Oid]) -> Result<(), StoreError> {
        self.fetch_filtered_with(session, wants, Filter::Everything)
    }

    /// Fetches `wants`, leaving out what `filter` says, as one `fetch` command of an open
    /// session.
    pub fn fetch_filtered_with(
        &self,
        session: &Session,
        wants: &[Oid],
        filter: Filter,
    ) -> Result<(), StoreError> {
        let (spec, depth) = filter.spec();
        session
            .fetch(wants, spec.as_deref(), depth, self.dir.path())
            .map(drop)
    }

    /// The quarantine repository, to check what arrived: it sees the fetched objects and,
    /// through its alternates, the real repository's.
    pub fn store(&self) -> Result<GitStore, StoreError> {
        GitStore::open(self.dir.path())
    }

    /// Moves the quarantined objects into the real repository: packs (the `.idx` last, so a
    /// reader never sees an index without its pack) and loose objects.
    pub fn admit(self) -> Result<(), StoreError> {
        admit_objects(&self.dir.path().join("objects"), &self.objects)
    }
}

/// Moves the objects of the object directory `from` into `to`: packs (the `.idx` last, so a
/// reader never sees an index without its pack) and loose objects.
fn admit_objects(from: &Path, to: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Admit {
        path: to.to_owned(),
        source,
    };
    let pack_from = from.join("pack");
    let pack_to = to.join("pack");
    fs::create_dir_all(&pack_to).map_err(err)?;
    let mut packs: Vec<PathBuf> = fs::read_dir(&pack_from)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let rank = |p: &PathBuf| match p.extension().and_then(|e| e.to_str()) {
        Some("pack") => 0,
        Some("idx") => 2,
        _ => 1,
    };
    packs.sort_by_key(rank);
    for path in packs {
        let Some(name) = path.file_name() else {
            continue;
        };
        let name_text = name.to_string_lossy();
        if name_text.ends_with(".keep") {
            continue;
        }
        let target = pack_to.join(name);
        if !target.exists() {
            move_file(&path, &target).map_err(err)?;
        }
    }
    for entry in fs::read_dir(from).map_err(err)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() != 2 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let target_dir = to.join(&*name);
        fs::create_dir_all(&target_dir).map_err(err)?;
        for object in fs::read_dir(entry.path()).map_err(err)?.flatten() {
            let target = target_dir.join(object.file_name());
            if !target.exists() {
                move_file(&object.path(), &target).map_err(err)?;
            }
        }
    }
    Ok(())
}

fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if fs::rename(from, to).is_err() {
        // Another file system: copy to a temporary name, then rename into place.
        let tmp = to.with_extension("atom-tmp");
        fs::copy(from, &tmp).and_then(|_| fs::rename(&tmp, to))?;
    }
    Ok(())
}

/// Removes quarantines that killed processes left behind. They hold no ref and only objects
/// that were never admitted, so removing them loses nothing; failures are ignored (another
/// process may be removing the same directory).
fn remove_stale_quarantines(git_dir: &Path) {
    let Ok(entries) = fs::read_dir(git_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(QUARANTINE_PREFIX) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|age| age > STALE_QUARANTINE) {
            tracing::debug!(dir = %entry.path().display(), "removing a stale quarantine");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Atom commits fetched without their contents (a partial fetch): each commit and its root tree,
/// plus the blobs asked for afterwards. Removed on drop unless admitted.
#[derive(Debug)]
pub struct Sparse {
    dir: tempfile::TempDir,
    via: Via,
    /// The borrowed repository's object directory.
    objects: PathBuf,
    /// What was asked for: the commits, then the blobs. Only what they reach is admitted.
    wanted: std::cell::RefCell<Wanted>,
}

/// The objects a sparse fetch asked for.
#[derive(Debug, Default)]
struct Wanted {
    commits: Vec<Oid>,
    blobs: Vec<Oid>,
}

/// How a sparse fetch reaches its remote.
#[derive(Debug)]
enum Via {
    /// A `git fetch` per step, bounded by the repository's settings.
    Cli { url: String, bound: Bound },
    /// Commands on an open protocol v2 session.
    Session(Session),
}

/// A fetch larger than this that a server did not filter is reported as a warning (smaller
/// ones at `-v`).
const LARGE_UNFILTERED: u64 = 1 << 20;

/// Reports that `url` did not apply the filter `spec` asked for (its `uploadpack.allowFilter`
/// is off, as in `git daemon`'s default), so that a fetch brought everything under what was
/// wanted (`bytes` of pack when known): at `-v`, or as a warning when that is large.
pub(super) fn unfiltered(url: &str, spec: &str, bytes: Option<u64>) {
    let size = bytes.map_or(String::new(), |b| format!(" ({} KiB)", b.div_ceil(1024)));
    let message = format!(
        "`{url}` does not filter (its `uploadpack.allowFilter` is off): the fetch brought \
         everything under what was asked for{size}, where `--filter={spec}` needed less"
    );
    if bytes.is_some_and(|b| b > LARGE_UNFILTERED) {
        tracing::warn!("{message}");
    } else {
        tracing::info!("{message}");
    }
}

/// The size of the packs in the repository at `git_dir` (what fetches into it brought).
fn pack_bytes(git_dir: &Path) -> Option<u64> {
    let packs = fs::read_dir(git_dir.join("objects/pack")).ok()?;
    Some(
        packs
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum(),
    )
}

/// What a sparse fetch leaves out: every blob and every tree below the root tree.
const SPARSE_FILTER: &str = "combine:blob:none+tree:1";

impl GitStore {
    /// Fetches `refs` (ref names or commit ids) from `url` with their root trees and nothing
    /// else (`--filter=combine:blob:none+tree:1`) into a throwaway repository that borrows this
    /// repository's objects, on servers that allow filters (`uploadpack.allowFilter`); others
    /// send everything, which is still correct. `commits` are the commits `refs` stand for
    /// (what the checks read). Blobs are fetched by id afterwards with
    /// [`Sparse::fetch_blobs`]; [`Sparse::admit`] moves what arrived into this repository.
    pub fn fetch_sparse(
        &self,
        url: &str,
        refs: &[Refspec],
        commits: &[Oid],
    ) -> Result<Sparse, StoreError> {
        let via = Via::Cli {
            url: url.to_owned(),
            bound: self.bound()?,
        };
        let sparse = self.sparse(via)?;
        sparse.fetch(&[&format!("--filter={SPARSE_FILTER}")], refs)?;
        // The names are fetched without a destination (no ref is written): what they stand
        // for are the commits the caller listed, which the checks then read.
        sparse.wanted.borrow_mut().commits = commits.to_vec();
        Ok(sparse)
    }

    /// [`GitStore::fetch_sparse`] over an open session: the commits `wants` with their root
    /// trees, as one `fetch` command of `session`.
    pub fn fetch_sparse_with(
        &self,
        session: &Session,
        wants: &[Oid],
    ) -> Result<Sparse, StoreError> {
        let sparse = self.sparse(Via::Session(session.clone()))?;
        session.fetch(wants, Some(SPARSE_FILTER), None, sparse.dir.path())?;
        sparse.wanted.borrow_mut().commits = wants.to_vec();
        Ok(sparse)
    }

    /// An empty throwaway repository borrowing this one's objects. Fetched by the `git` command
    /// line, it is a partial clone of the remote, so that git expects the missing blobs.
    fn sparse(&self, via: Via) -> Result<Sparse, StoreError> {
        let objects = self.repo.common_dir().join("objects");
        let dir = tempfile::Builder::new()
            .prefix(QUARANTINE_PREFIX)
            .tempdir_in(self.git_dir())
            .map_err(|source| StoreError::Scratch { source })?;
        super::init_bare(dir.path())?;
        let info = dir.path().join("objects/info");
        // The borrowed repository's refs are not offered to the server as objects we have
        // (`core.alternateRefsCommand` prints none): they name commits whose contents were
        // never fetched, and the wants are exact anyway.
        let mut config =
            "[core]\n\trepositoryformatversion = 1\n\talternateRefsCommand = true\n".to_owned();
        if let Via::Cli { url, .. } = &via {
            let url = super::remote::filterable_url(url);
            config.push_str(&format!(
                "[extensions]\n\tpartialClone = origin\n\
                 [remote \"origin\"]\n\turl = {url}\n\tpromisor = true\n\tpartialclonefilter = {SPARSE_FILTER}\n"
            ));
        }
        fs::create_dir_all(&info)
            .and_then(|()| fs::write(info.join("alternates"), format!("{}\n", objects.display())))
            .and_then(|()| {
                use std::io::Write as _;
                fs::OpenOptions::new()
                    .append(true)
                    .open(dir.path().join("config"))?
                    .write_all(config.as_bytes())
            })
            .map_err(|source| StoreError::Scratch { source })?;
        Ok(Sparse {
            dir,
            via,
            objects,
            wanted: Default::default(),
        })
    }
}

impl Sparse {
    /// `git fetch` of `what` from the remote (a sparse fetch by the command line).
    fn fetch(&self, options: &[&str], what: &[Refspec]) -> Result<(), StoreError> {
        let Via::Cli { url, bound } = &self.via else {
            unreachable!("only a command-line sparse fetch runs git fetch");
        };
        let git = command::Git::new("fetch", self.dir.path());
        let out = bound
            .apply(git, url)
            .config("gc.auto", "0")
            .config("maintenance.auto", "false")
            .config("fetch.unpackLimit", "1")
            .args([
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "--no-auto-gc",
            ])
            .args(options)
            .args(["--stdin", "--", "origin"])
            .stdin_lines(what.iter().map(ToString::to_string))
            .output()?;
        if !out.status.success() {
            return Err(StoreError::Remote {
                remote: url.clone(),
                what: format!("cannot fetch: {}", command::first_error_line(&out.stderr)),
                source: None,
            });
        }
        let spec = options.iter().find_map(|o| o.strip_prefix("--filter="));
        if let Some(spec) = spec {
            if String::from_utf8_lossy(&out.stderr).contains("filtering not recognized by server") {
                unfiltered(url, spec, pack_bytes(self.dir.path()));
            }
        }
        Ok(())
    }

    /// Fetches these blobs by id, in one fetch, unless they are here already.
    pub fn fetch_blobs(&self, blobs: &[crate::Oid]) -> Result<(), StoreError> {
        self.wanted.borrow_mut().blobs.extend_from_slice(blobs);
        let store = self.store()?;
        let missing: Vec<crate::Oid> = blobs
            .iter()
            .filter(|b| !store.has_object(**b))
            .copied()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        match &self.via {
            Via::Cli { .. } => {
                let missing: Vec<Refspec> = missing.into_iter().map(Refspec::Object).collect();
                self.fetch(&[], &missing)
            }
            Via::Session(session) => session
                .fetch(&missing, None, None, self.dir.path())
                .map(drop),
        }
    }

    /// The throwaway repository, to read what arrived.
    pub fn store(&self) -> Result<GitStore, StoreError> {
        GitStore::open(self.dir.path())
    }

    /// Moves what the wanted commits and blobs reach of what arrived into the borrowed
    /// repository (the caller has checked it), as one pack. Whatever else the server sent (its
    /// source history, unrelated objects) is dropped with the rest of the throwaway
    /// repository: a server chooses what it sends, not what is kept.
    pub fn admit(self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let arrived = self.dir.path().join("objects");
        let own: HashSet<Oid> = own_objects(&arrived)
            .ok_or_else(|| StoreError::Admit {
                path: arrived.clone(),
                source: std::io::Error::other("cannot read the index of a fetched pack"),
            })?
            .into_iter()
            .collect();
        let store = self.store()?;
        let wanted = self.wanted.borrow();
        let keep = closure(&store, &own, &wanted.commits, &wanted.blobs)?;
        if keep.len() == own.len() {
            // Everything that arrived is wanted (what an honest server sends): moved as it is.
            tracing::debug!(objects = keep.len(), checked_in = ?started.elapsed(), "admitting all that arrived");
            return admit_objects(&arrived, &self.objects);
        }
        tracing::debug!(
            unwanted = own.len() - keep.len(),
            "dropping objects nobody asked for"
        );
        if keep.is_empty() {
            return Ok(());
        }
        let pack_dir = self.objects.join("pack");
        fs::create_dir_all(&pack_dir).map_err(|source| StoreError::Admit {
            path: pack_dir.clone(),
            source,
        })?;
        let list: String = keep.iter().map(|oid| format!("{oid}\n")).collect();
        // pack-objects writes the pack, then its index, each under a temporary name renamed
        // into place: a reader never sees an index without its pack.
        let out = command::Git::new("pack-objects", self.dir.path())
            .arg("-q")
            .arg(pack_dir.join("pack"))
            .pipe_in(&mut list.as_bytes())?;
        if !out.status.success() {
            return Err(command::failure("pack-objects", &out));
        }
        tracing::debug!(objects = keep.len(), elapsed = ?started.elapsed(), "admitted the wanted closure");
        Ok(())
    }
}

/// The objects the object directory `dir` holds itself (its packs' indexes list them; loose
/// objects are named by their paths); `None` when an index cannot be read.
fn own_objects(dir: &Path) -> Option<Vec<Oid>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir.join("pack")).ok()?.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("idx") {
            continue;
        }
        // A version 2 index: `\xfftOc`, the version, 256 cumulative counts (the last is the
        // number of objects), then the sorted object ids.
        let index = fs::read(&path).ok()?;
        if index.get(..8)? != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        let last = index.get(8 + 255 * 4..8 + 256 * 4)?;
        let count = u32::from_be_bytes([last[0], last[1], last[2], last[3]]) as usize;
        let ids = index.get(8 + 256 * 4..8 + 256 * 4 + count * 20)?;
        for id in ids.chunks(20) {
            out.push(super::to_oid(gix::oid::try_from_bytes(id).ok()?));
        }
    }
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.len() == 2 && name.chars().all(|c| c.is_ascii_hexdigit()) {
            for object in fs::read_dir(entry.path()).ok()?.flatten() {
                let rest = object.file_name();
                out.push(format!("{name}{}", rest.to_string_lossy()).parse().ok()?);
            }
        }
    }
    Some(out)
}

/// The objects of `own` (what arrived in `store`, a throwaway repository borrowing another's
/// objects) that `commits` and `blobs` reach through objects of `own`: what the other
/// repository has already, or what did not arrive (a partial fetch leaves blobs and deeper
/// trees out), is not followed.
fn closure(
    store: &GitStore,
    own: &HashSet<Oid>,
    commits: &[Oid],
    blobs: &[Oid],
) -> Result<Vec<Oid>, StoreError> {
    use crate::store::EntryKind;
    #[derive(Clone, Copy)]
    enum Kind {
        Commit,
        Tree,
        Blob,
    }
    let mut todo: Vec<(Oid, Kind)> = commits.iter().map(|c| (*c, Kind::Commit)).collect();
    todo.extend(blobs.iter().map(|b| (*b, Kind::Blob)));
    let mut seen = HashSet::new();
    let mut keep = Vec::new();
    while let Some((oid, kind)) = todo.pop() {
        if !own.contains(&oid) || !seen.insert(oid) {
            continue;
        }
        keep.push(oid);
        match kind {
            Kind::Commit => {
                let (tree, parents) = store.commit_tree_and_parents(oid)?;
                todo.push((tree, Kind::Tree));
                todo.extend(parents.into_iter().map(|p| (p, Kind::Commit)));
            }
            Kind::Tree => {
                for entry in store.tree_entries(oid)? {
                    match entry.kind {
                        EntryKind::Tree => todo.push((entry.oid, Kind::Tree)),
                        EntryKind::Blob | EntryKind::Link => todo.push((entry.oid, Kind::Blob)),
                        EntryKind::Submodule => {}
                    }
                }
            }
            Kind::Blob => {}
        }
    }
    Ok(keep)
}
