//! Reading and writing objects, and walking history.

use super::{boxed, object_error, to_gix, to_oid, BoxError, GitStore, StoreError};
use crate::store::{EntryKind, TreeEntry};
use crate::Oid;

impl GitStore {
    /// The commit a revision names (tags are peeled).
    pub fn resolve_commit(&self, rev: &str) -> Result<Oid, StoreError> {
        let err = |e: BoxError| StoreError::Revision {
            rev: rev.to_owned(),
            source: e,
        };
        let id = self.repo.rev_parse_single(rev).map_err(|e| {
            let unborn = self.repo.head_id().is_err()
                && (matches!(rev, "HEAD" | "@")
                    || self.head_branch().as_deref() == Some(&format!("refs/heads/{rev}")));
            if unborn {
                StoreError::NoCommit {
                    rev: rev.to_owned(),
                }
            } else {
                err(boxed(e))
            }
        })?;
        let commit = id
            .object()
            .map_err(|e| err(boxed(e)))?
            .peel_to_commit()
            .map_err(|e| err(boxed(e)))?;
        Ok(to_oid(commit.id))
    }

    /// Whether the object database has `oid`.
    pub fn has_object(&self, oid: Oid) -> bool {
        self.repo.has_object(to_gix(oid))
    }

    /// Whether `oid` is a commit without parents (missing or another object: `false`).
    pub(crate) fn is_root_commit(&self, oid: Oid) -> bool {
        self.repo
            .find_object(to_gix(oid))
            .ok()
            .and_then(|o| o.try_into_commit().ok())
            .and_then(|c| c.parent_ids().next().map(|_| false).or(Some(true)))
            .unwrap_or(false)
    }

    /// The raw bytes of a commit object, or `None` if it is missing.
    pub fn read_commit_raw(&self, oid: Oid) -> Result<Option<Vec<u8>>, StoreError> {
        match self.try_find(oid)? {
            Some(obj) if obj.kind == gix::object::Kind::Commit => Ok(Some(obj.data.clone())),
            Some(obj) => Err(StoreError::Object {
                oid: oid.to_string(),
                what: format!("is a {}, not a commit", obj.kind),
                source: None,
            }),
            None => Ok(None),
        }
    }

    /// The tree and parents of a commit.
    pub fn commit_tree_and_parents(&self, oid: Oid) -> Result<(Oid, Vec<Oid>), StoreError> {
        let commit = self
            .find(oid)?
            .try_into_commit()
            .map_err(object_error(oid, "is not a commit"))?;
        let decoded = commit
            .decode()
            .map_err(object_error(oid, "is not a valid commit"))?;
        let tree = to_oid(decoded.tree());
        let parents = decoded.parents().map(to_oid).collect();
        Ok((tree, parents))
    }

    fn try_find(&self, oid: Oid) -> Result<Option<gix::Object<'_>>, StoreError> {
        self.repo
            .try_find_object(to_gix(oid))
            .map_err(object_error(oid, "could not be read"))
    }

    fn find(&self, oid: Oid) -> Result<gix::Object<'_>, StoreError> {
        self.try_find(oid)?.ok_or(StoreError::Missing { oid })
    }

    /// The contents of the blob named `name` at the top of the tree `tree`, if it has one (a
    /// tree or link of that name is not a blob): how an atom's `atom.toml` and `atom.lock` are
    /// read from its tree.
    pub fn top_blob(&self, tree: Oid, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree_entries(tree)?
            .iter()
            .find(|e| e.name == name.as_bytes() && e.kind == crate::store::EntryKind::Blob)
            .map(|e| self.read_blob(e.oid))
            .transpose()
    }

    /// The entries of a tree.
    pub fn tree_entries(&self, oid: Oid) -> Result<Vec<TreeEntry>, StoreError> {
        let tree = self
            .find(oid)?
            .try_into_tree()
            .map_err(object_error(oid, "is not a tree"))?;
        let decoded = tree
            .decode()
            .map_err(object_error(oid, "is not a valid tree"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_vec(),
                kind: if e.mode.is_tree() {
                    EntryKind::Tree
                } else if e.mode.is_link() {
                    EntryKind::Link
                } else if e.mode.is_commit() {
                    EntryKind::Submodule
                } else {
                    EntryKind::Blob
                },
                oid: to_oid(e.oid),
                executable: e.mode.is_executable(),
            })
            .collect())
    }

    /// The entry `name` of the tree `oid`, if there is one. A large tree is indexed the first
    /// time and kept a while, so looking up each of its entries in turn stays linear.
    pub fn tree_entry(&self, oid: Oid, name: &[u8]) -> Result<Option<TreeEntry>, StoreError> {
        if let Some(index) = self.trees.get(oid) {
            return Ok(index.get(name).cloned());
        }
        let entries = self.tree_entries(oid)?;
        if entries.len() < TreeIndex::LARGE {
            return Ok(entries.into_iter().find(|e| e.name == name));
        }
        let index: std::collections::HashMap<Vec<u8>, TreeEntry> =
            entries.into_iter().map(|e| (e.name.clone(), e)).collect();
        let found = index.get(name).cloned();
        self.trees.insert(oid, index);
        Ok(found)
    }

    /// The contents of a blob.
    pub fn read_blob(&self, oid: Oid) -> Result<Vec<u8>, StoreError> {
        let obj = self.find(oid)?;
        if obj.kind != gix::object::Kind::Blob {
            return Err(StoreError::Object {
                oid: oid.to_string(),
                what: format!("is a {}, not a blob", obj.kind),
                source: None,
            });
        }
        Ok(obj.data.clone())
    }

    /// The object an annotated tag points to, following tags of tags; `None` if `oid` is not a
    /// tag (or cannot be read).
    pub(crate) fn peel_tag(&self, oid: Oid) -> Option<Oid> {
        // The header says the kind without inflating the object: most refs name commits.
        let header = self.repo.try_find_header(to_gix(oid)).ok()??;
        if header.kind() != gix::object::Kind::Tag {
            return None;
        }
        let mut current = self.try_find(oid).ok()??;
        if current.kind != gix::object::Kind::Tag {
            return None;
        }
        for _ in 0..64 {
            let target = current.to_tag_ref_iter().target_id().ok()?;
            let next = self.repo.try_find_object(target).ok()??;
            if next.kind != gix::object::Kind::Tag {
                return Some(to_oid(target));
            }
            current = next;
        }
        None
    }

    /// The id a commit with these bytes has, without writing it.
    pub fn hash_commit(&self, bytes: &[u8]) -> Oid {
        let id = gix::objs::compute_hash(self.repo.object_hash(), gix::object::Kind::Commit, bytes)
            .expect("hashing in memory does not fail");
        to_oid(id)
    }

    /// Writes a commit object from its exact bytes.
    pub fn write_commit_raw(&self, bytes: &[u8]) -> Result<Oid, StoreError> {
        use gix::objs::Write as _;
        self.repo
            .objects
            .write_buf(gix::object::Kind::Commit, bytes)
            .map(to_oid)
            .map_err(|e| StoreError::Object {
                oid: self.hash_commit(bytes).to_string(),
                what: "could not be written".into(),
                source: Some(boxed(e)),
            })
    }

    /// Writes the commit objects `commits` (raw bytes), those this repository lacks: a few as
    /// loose objects, many as one pack (`git index-pack`), which costs one file where loose
    /// objects cost one each.
    pub fn write_commits(&self, commits: &[Vec<u8>]) -> Result<(), StoreError> {
        let missing: Vec<&Vec<u8>> = commits
            .iter()
            // A new commit always misses, and a miss that lists the pack directory again (the
            // default) costs more than the write it saves: at worst a commit is written twice.
            .filter(|c| {
                !self
                    .repo
                    .objects
                    .exists_without_refresh(&to_gix(self.hash_commit(c)))
            })
            .collect();
        if missing.len() < PACK_FROM {
            for bytes in missing {
                self.write_commit_raw(bytes)?;
            }
            return Ok(());
        }
        let pack = commit_pack(self.repo.object_hash(), &missing)
            .map_err(|source| StoreError::Scratch { source })?;
        self.git("index-pack")
            .args(["--stdin", "--fsck-objects"])
            .stdin_bytes(pack)
            .run()?;
        Ok(())
    }

    /// The root reached by following first parents from `commit`.
    pub fn first_parent_root(&self, commit: Oid) -> Result<Oid, StoreError> {
        self.first_parent_root_until(commit, |_| false)
            .map(|(root, _)| root)
    }

    /// Follows first parents from `commit` until a parentless commit, or until `stop(commit)`
    /// holds; returns where the walk ended and whether `stop` ended it. Where the repository has
    /// a commit graph (`git commit-graph write`, written by `git gc` and `git maintenance`), the
    /// walk reads parents from it, a few array lookups per commit, instead of decoding each
    /// commit object; commits newer than the graph are read from the object database.
    pub fn first_parent_root_until(
        &self,
        commit: Oid,
        mut stop: impl FnMut(Oid) -> bool,
    ) -> Result<(Oid, bool), StoreError> {
        let mut graph = self.repo.commit_graph_if_enabled().ok().flatten();
        let mut current = commit;
        loop {
            if stop(current) {
                return Ok((current, true));
            }
            if let Some(g) = &graph {
                if let Some(pos) = g.lookup(to_gix(current)) {
                    let mut at = g.commit_at(pos);
                    loop {
                        match at.parent1() {
                            Ok(Some(parent)) => {
                                at = g.commit_at(parent);
                                let id = to_oid(at.id());
                                if stop(id) {
                                    return Ok((id, true));
                                }
                            }
                            Ok(None) => return Ok((to_oid(at.id()), false)),
                            Err(_) => break,
                        }
                    }
                    // A damaged graph: continue from where it failed with the objects.
                    current = to_oid(at.id());
                    graph = None;
                    continue;
                }
            }
            let (_, parents) = self.commit_tree_and_parents(current)?;
            match parents.first() {
                Some(p) if !self.has_object(*p) && self.is_shallow_boundary(current) => {
                    return Err(StoreError::Shallow { commit: current })
                }
                Some(p) => current = *p,
                None => return Ok((current, false)),
            }
        }
    }

    /// Whether `commit` is where a shallow clone's history stops (listed in `shallow`).
    pub fn is_shallow_boundary(&self, commit: Oid) -> bool {
        self.repo
            .shallow_commits()
            .ok()
            .flatten()
            .is_some_and(|boundary| boundary.iter().any(|c| to_oid(*c) == commit))
    }

    /// Whether the repository has a usable commit graph.
    pub fn has_commit_graph(&self) -> bool {
        matches!(self.repo.commit_graph_if_enabled(), Ok(Some(_)))
    }

    /// Walks the history reachable from `starts` until `visit(commit, is_root)` returns `true`;
    /// returns whether it did.
    fn walk_history(
        &self,
        starts: &[Oid],
        mut visit: impl FnMut(Oid, bool) -> bool,
    ) -> Result<bool, StoreError> {
        let what = "history could not be walked";
        let first = starts.first().map(Oid::to_string).unwrap_or_default();
        let walk = self
            .repo
            .rev_walk(starts.iter().map(|s| to_gix(*s)))
            .all()
            .map_err(object_error(&first, what))?;
        for info in walk {
            let info = info.map_err(object_error(&first, what))?;
            if visit(to_oid(info.id), info.parent_ids.is_empty()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every parentless commit reachable from `commit`, in no particular order.
    pub fn roots(&self, commit: Oid) -> Result<Vec<Oid>, StoreError> {
        let mut roots = Vec::new();
        self.walk_history(&[commit], |id, is_root| {
            if is_root {
                roots.push(id);
            }
            false
        })?;
        Ok(roots)
    }

    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool, StoreError> {
        self.reachable_from_any(ancestor, &[descendant])
    }

    /// Whether `commit` is reachable from any of `tips` that exist locally.
    pub fn reachable_from_any(&self, commit: Oid, tips: &[Oid]) -> Result<bool, StoreError> {
        let starts: Vec<Oid> = tips
            .iter()
            .copied()
            .filter(|t| self.has_object(*t))
            .collect();
        if starts.contains(&commit) {
            return Ok(true);
        }
        if starts.is_empty() {
            return Ok(false);
        }
        self.walk_history(&starts, |id, _| id == commit)
    }
}

/// The large trees [`GitStore::tree_entry`] has indexed, a few at a time.
#[derive(Debug, Default)]
pub(super) struct TreeIndex {
    trees: std::cell::RefCell<Vec<(Oid, std::rc::Rc<TreeByName>)>>,
}

type TreeByName = std::collections::HashMap<Vec<u8>, TreeEntry>;

impl TreeIndex {
    /// Trees with fewer entries are read each time: indexing them would not pay.
    const LARGE: usize = 256;
    /// How many are kept; the oldest goes first.
    const KEPT: usize = 8;

    fn get(&self, oid: Oid) -> Option<std::rc::Rc<TreeByName>> {
        self.trees
            .borrow()
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, t)| t.clone())
    }

    fn insert(&self, oid: Oid, index: TreeByName) {
        let mut trees = self.trees.borrow_mut();
        if trees.len() == Self::KEPT {
            trees.remove(0);
        }
        trees.push((oid, std::rc::Rc::new(index)));
    }
}

/// From how many new commits [`GitStore::write_commits`] writes a pack.
const PACK_FROM: usize = 64;

/// A pack (version 2) of `commits`, each deflated whole, with its trailing checksum.
fn commit_pack(hash: gix::hash::Kind, commits: &[&Vec<u8>]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut pack = Vec::new();
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    let count = u32::try_from(commits.len()).map_err(std::io::Error::other)?;
    pack.extend_from_slice(&count.to_be_bytes());
    for bytes in commits {
        // The entry header: type 1 (commit) and the size, 4 bits then 7 at a time.
        let mut size = bytes.len();
        let mut first = (1u8 << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(first | 0x80);
            first = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(first);
        let mut z = flate2::write::ZlibEncoder::new(&mut pack, flate2::Compression::fast());
        z.write_all(bytes)?;
        z.finish()?;
    }
    let mut hasher = gix::hash::hasher(hash);
    hasher.update(&pack);
    let sum = hasher.try_finalize().map_err(std::io::Error::other)?;
    pack.extend_from_slice(sum.as_bytes());
    Ok(pack)
}
