//! Making the atom and its locked closure ready in the sandbox's directory: atoms exported,
//! pins placed, sources described, and the graph the Nix driver composes them with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use atom_lib::admit;
use atom_lib::lock::{
    AtomKey, LockedAtom, LockedPin, LockedSrc, Origin as LockOrigin, PathObject, PinSource,
    SrcSource, LOCK_FILE,
};
use atom_lib::nar;
use atom_lib::resolve::pins::{self, Entry};
use atom_lib::store::git::export::{copy_tree, write_file};
use atom_lib::{GitStore, Lock, Oid};

use super::error::Error;
use super::fetch::{fetch_missing, git_tree};
use super::subject::{cache, Origin, Subject};
use super::tarball::shared_tarball;

/// What [`Subject::materialise`] wrote, relative to the directory it wrote into.
#[derive(Debug, Clone, Default)]
pub struct Materialised {
    /// The atom's export (a URI atom), else `None`: the directory is used where it is.
    pub atom: Option<PathBuf>,
    /// Every locked atom's export, by key (`<atomic number>@<version>`), with its requirements.
    atoms: BTreeMap<String, Node>,
    /// The atom's own requirements: `from.<name>` to a key, its pins and its sources.
    top: Scopes,
    /// Every pin of the closure, by an index of its own (`p<n>`).
    pins: BTreeMap<String, serde_json::Value>,
    /// Every source of the closure, by an index of its own (`s<n>`).
    srcs: BTreeMap<String, serde_json::Value>,
    /// With [`Exports::Shared`]: each locked atom's shared export on the host and where it must
    /// appear (bound read-only), relative to the directory written into. Empty with
    /// [`Exports::Copy`], which writes the atoms there.
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Bytes of the objects written, for people who measure.
    pub bytes: u64,
}

/// What one atom sees: `from.<name>` (atoms by key, pins by index) and `get.<name>`.
#[derive(Debug, Clone, Default)]
struct Scopes {
    requires: BTreeMap<String, String>,
    pins: BTreeMap<String, String>,
    srcs: BTreeMap<String, String>,
}

/// One exported atom.
#[derive(Debug, Clone, Default)]
struct Node {
    root: PathBuf,
    scopes: Scopes,
}

impl Scopes {
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("requires".into(), serde_json::json!(self.requires));
        m.insert("pins".into(), serde_json::json!(self.pins));
        m.insert("srcs".into(), serde_json::json!(self.srcs));
        m
    }
}

impl Materialised {
    /// The dependency graph as the Nix driver takes it: JSON
    /// `{"atoms": {<key>: {"root": <dir>, "requires": {<name>: <key>}, "pins": {<name>: <pin>},
    /// "srcs": {<name>: <src>}}}, "pins": {<pin>: {"root", "entry", "hash"}}, "srcs": {<src>:
    /// {"name", "hash", and "url" or "root"}}, "requires", "pins", "srcs"}` (the last three the
    /// atom's own), with each directory relative to the directory written into.
    pub fn graph(&self) -> String {
        let atoms: serde_json::Map<String, serde_json::Value> = self
            .atoms
            .iter()
            .map(|(key, node)| {
                let mut m = node.scopes.json();
                m.insert("root".into(), node.root.to_string_lossy().into());
                (key.clone(), serde_json::Value::Object(m))
            })
            .collect();
        let mut m = self.top.json();
        m.insert("atoms".into(), serde_json::Value::Object(atoms));
        m.insert("pinned".into(), serde_json::json!(self.pins));
        m.insert("sources".into(), serde_json::json!(self.srcs));
        serde_json::Value::Object(m).to_string()
    }

    /// The scopes of the atom `owner` (`None`: the atom evaluated).
    fn scopes(&mut self, owner: Option<&AtomKey>) -> &mut Scopes {
        match owner {
            None => &mut self.top,
            Some(key) => &mut self.atoms.entry(key.to_string()).or_default().scopes,
        }
    }

    /// How many locked atoms were exported.
    pub fn atom_count(&self) -> usize {
        self.atoms.len()
    }
}

/// How [`Subject::materialise`] provides the locked atoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exports {
    /// Copy every locked atom into the directory written into (read like any other file there:
    /// what an evaluator without a mount namespace of its own needs).
    Copy,
    /// Export each locked atom's tree once into the shared exports beside the atom cache,
    /// `$XDG_CACHE_HOME/atom/exports/<tree id>`, kept for later evaluations (a tree id names its
    /// content, so an export never changes), and list it in [`Materialised::binds`] for the
    /// sandbox to bind read-only: nothing is written per evaluation.
    Shared,
}

impl Subject {
    /// Export the atom (for a URI) and every locked dependency from the atom cache into `into`
    /// (which the sandbox sees read-only) or, with [`Exports::Shared`], the dependencies into
    /// the shared exports to be bound there, fetching what the cache lacks from the lock's URLs.
    /// The repository a sibling (a path entry of the lock) is exported from: the working
    /// repository of a directory atom, where `git atom resolve` wrote its tree.
    fn sibling_home(&self, shown: &str, path: &str) -> Result<GitStore, Error> {
        self.dir()
            .and_then(|d| GitStore::discover(d).ok())
            .ok_or_else(|| Error::SiblingOutsideRepository {
                atom: shown.to_owned(),
                path: path.to_owned(),
            })
    }

    pub fn materialise(&self, into: &Path, how: Exports) -> Result<Materialised, Error> {
        let deps = self.dependencies();
        let mut out = Materialised::default();
        let pinned = self
            .lock
            .as_ref()
            .is_some_and(|l| !l.pins.is_empty() || !l.srcs.is_empty());
        if deps.is_empty() && !pinned && self.dir().is_some() {
            return Ok(out);
        }
        let cache = cache()?;
        fetch_missing(&cache, &deps)?;
        if let Some(lock) = self.lock.as_ref().filter(|l| !l.atoms.is_empty()) {
            let policy = super::subject::policy(&cache)?;
            let options = atom_lib::proof::Options {
                lock: LOCK_FILE,
                contents: admit::Contents::Whole,
                offline: false,
                signatures: Some(&policy),
            };
            atom_lib::proof::prove(&cache, lock, &options)
                .map_err(|e| Error::Proof(Box::new(e)))?;
        }
        if let Origin::Cache { atom, tree, .. } = &self.origin {
            let rel = PathBuf::from("atom").join(atom.label.as_str());
            let shown = format!("{}@{}", atom.label, atom.version);
            out.bytes += export(&cache, *tree, &into.join(&rel), &shown)?;
            out.atom = Some(rel);
        }
        let mut home = None;
        for locked in deps {
            let shown = format!("{}@{}", locked.label, locked.version);
            let repo = match &locked.origin {
                LockOrigin::Path { path } => {
                    let repo = match &mut home {
                        Some(repo) => repo,
                        None => home.insert(self.sibling_home(&shown, path)?),
                    };
                    if !repo.has_object(locked.tree) {
                        return Err(Error::PathObjectMissing {
                            what: format!("{shown} (path `{path}`)"),
                            object: format!("tree {}", locked.tree),
                        });
                    }
                    &*repo
                }
                LockOrigin::Url { .. } => {
                    check_locked_tree(&cache, locked, &shown)?;
                    &cache
                }
            };
            // `deps/<atomic number>/<version>/<label>`: unique, and the directory's name (what
            // atom-nix names its store copies after) is the label.
            let rel = PathBuf::from("deps")
                .join(locked.id.to_string())
                .join(locked.version.to_string())
                .join(locked.label.as_str());
            match how {
                Exports::Copy => {
                    out.bytes += export(repo, locked.tree, &into.join(&rel), &shown)?;
                }
                Exports::Shared => {
                    let dir = cache.git_dir().parent().unwrap_or(cache.git_dir());
                    // `exports`, not the `trees` of versions that did not check links.
                    let shared = repo
                        .export_shared(locked.tree, &dir.join("exports"))
                        .map_err(|e| Error::exported(&shown, e))?;
                    out.binds.push((shared, rel.clone()));
                }
            }
            let requires = locked
                .requires
                .iter()
                .map(|(name, key)| (name.to_string(), key.to_string()))
                .collect();
            out.atoms.insert(
                locked.key().to_string(),
                Node {
                    root: rel,
                    scopes: Scopes {
                        requires,
                        ..Scopes::default()
                    },
                },
            );
        }
        if let Some(lock) = &self.lock {
            out.top.requires = lock
                .requires
                .iter()
                .map(|(name, key)| (name.to_string(), key.to_string()))
                .collect();
            for (i, pin) in lock.pins.iter().enumerate() {
                let id = format!("p{i}");
                let value = self.materialise_pin(&cache, pin, &id, into, how, &mut out)?;
                out.pins.insert(id.clone(), value);
                out.scopes(pin.owner.as_ref())
                    .pins
                    .insert(pin.name.to_string(), id);
            }
            self.fetch_path_sources(&cache, lock)?;
            for (i, src) in lock.srcs.iter().enumerate() {
                let id = format!("s{i}");
                let value = self.materialise_src(&cache, lock, src, &id, into, &mut out.bytes)?;
                out.srcs.insert(id.clone(), value);
                out.scopes(src.owner.as_ref())
                    .srcs
                    .insert(src.name.to_string(), id);
            }
        }
        Ok(out)
    }

    /// Export a pin: a git pin's tree from the cache (fetched first if missing), a tarball pin
    /// downloaded and unpacked here (its hash checked against the lock's). Its graph entry.
    fn materialise_pin(
        &self,
        cache: &GitStore,
        pin: &LockedPin,
        id: &str,
        into: &Path,
        how: Exports,
        out: &mut Materialised,
    ) -> Result<serde_json::Value, Error> {
        let mut bound = false;
        let what = Entry::pin(&pin.name, pin.owner.as_ref());
        let rel = PathBuf::from("pins").join(id);
        let (root, hash) = match &pin.source {
            PinSource::Git { git, rev, hash, .. } => {
                let tree = git_tree(cache, git, *rev, &what)?;
                out.bytes += export(cache, tree, &into.join(&rel), &what.to_string())?;
                let hash = match hash {
                    Some(h) => h.to_string(),
                    None => pins::tree_hash(cache, tree)
                        .map_err(|source| Error::Store {
                            what: what.to_string(),
                            source,
                        })?
                        .to_string(),
                };
                (rel, hash)
            }
            PinSource::Tarball { url, hash } => {
                // Unpacked once into the cache, under its locked hash; bound read-only or
                // copied, as the atoms are.
                let base = cache.git_dir().parent().unwrap_or(cache.git_dir());
                // `unpacked`, not the `tarballs` of versions that did not check links.
                let shared = shared_tarball(cache, url, hash, &base.join("unpacked"), &what)?;
                match how {
                    Exports::Shared => {
                        // Bound under the dependencies' base, beside the atoms.
                        let rel =
                            PathBuf::from("pins").join(shared.file_name().unwrap_or_default());
                        out.binds.push((shared, rel.clone()));
                        bound = true;
                        (rel, hash.to_string())
                    }
                    Exports::Copy => {
                        out.bytes += copy_tree(&shared, &into.join(&rel))
                            .map_err(|e| Error::exported(&what.to_string(), e))?;
                        (rel, hash.to_string())
                    }
                }
            }
        };
        let entry = pin
            .entry
            .as_ref()
            .map_or_else(|| "default.nix".to_owned(), ToString::to_string);
        let mut value = serde_json::json!({
            "root": root.to_string_lossy(),
            "entry": entry,
            "hash": hash,
        });
        if bound {
            value["shared"] = serde_json::Value::Bool(true);
        }
        Ok(value)
    }

    /// Describe a source: a URL for the builder to fetch, or a tree exported here (a git
    /// source's from the cache, a path source's from the atom's own repository). Its graph entry.
    fn materialise_src(
        &self,
        cache: &GitStore,
        lock: &Lock,
        src: &LockedSrc,
        id: &str,
        into: &Path,
        bytes: &mut u64,
    ) -> Result<serde_json::Value, Error> {
        let what = Entry::src(&src.name, src.owner.as_ref());
        let rel = PathBuf::from("srcs").join(id);
        match &src.source {
            SrcSource::Url { url, hash } => Ok(serde_json::json!({
                "url": url.to_string(),
                "hash": hash.to_string(),
                "name": store_name(url.as_str()),
            })),
            SrcSource::Git { git, rev, hash, .. } => {
                let tree = git_tree(cache, git, *rev, &what)?;
                *bytes += export(cache, tree, &into.join(&rel), &what.to_string())?;
                Ok(serde_json::json!({
                    "root": rel.to_string_lossy(),
                    "hash": hash.to_string(),
                    "name": "source",
                }))
            }
            SrcSource::Path { path, object, hash } => {
                // A local atom's from its repository; a fetched atom's from the cache, where
                // `fetch_path_sources` put it.
                let local;
                let repo = match self.home_of(lock, src) {
                    Some(_) => cache,
                    None => {
                        local = self
                            .dir()
                            .and_then(|d| GitStore::discover(d).ok())
                            .ok_or_else(|| Error::FetchedPathSource {
                                lock: LOCK_FILE.to_owned(),
                                name: src.name.to_string(),
                                of: String::new(),
                            })?;
                        &local
                    }
                };
                let missing = |object: String| Error::PathObjectMissing {
                    what: what.to_string(),
                    object,
                };
                let root = match object {
                    PathObject::Tree(tree) => {
                        if !repo.has_object(*tree) {
                            return Err(missing(format!("tree {tree}")));
                        }
                        *bytes += export(repo, *tree, &into.join(&rel), &what.to_string())?;
                        rel
                    }
                    PathObject::Blob(blob) => {
                        if !repo.has_object(*blob) {
                            return Err(missing(format!("blob {blob}")));
                        }
                        let dir = into.join(&rel);
                        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
                            path: dir.clone(),
                            source,
                        })?;
                        let data = repo.read_blob(*blob).map_err(|source| Error::Store {
                            what: what.to_string(),
                            source,
                        })?;
                        // The lock holds the blob and the NAR hash, which says how the file
                        // is archived: a file, an executable or a symbolic link.
                        let mode = nar::FileMode::ALL
                            .into_iter()
                            .find(|m| nar::file_hash(*m, &data) == *hash)
                            .ok_or_else(|| Error::PathSourceHash {
                                what: what.clone(),
                                blob: *blob,
                                hash: hash.to_string(),
                            })?;
                        let file = dir.join("file");
                        write_file(&file, mode, &data).map_err(|source| Error::Write {
                            path: file.clone(),
                            source,
                        })?;
                        *bytes += data.len() as u64;
                        rel.join("file")
                    }
                };
                Ok(serde_json::json!({
                    "root": root.to_string_lossy(),
                    "hash": hash.to_string(),
                    "name": store_name(path),
                }))
            }
        }
    }
}

/// The tree a fetched locked atom's commit has must be the tree the lock records.
fn check_locked_tree(cache: &GitStore, locked: &LockedAtom, shown: &str) -> Result<(), Error> {
    let (tree, _) = cache
        .commit_tree_and_parents(locked.commit)
        .map_err(|source| Error::Store {
            what: shown.to_owned(),
            source,
        })?;
    if tree != locked.tree {
        return Err(Error::TreeMismatch {
            atom: shown.to_owned(),
            commit: locked.commit,
            found: tree,
            locked: locked.tree,
        });
    }
    Ok(())
}

/// Export `tree` of `repo` into the new directory `dir` (see
/// [`GitStore::export_tree`]); `what` names it in errors. Returns the bytes written.
fn export(repo: &GitStore, tree: Oid, dir: &Path, what: &str) -> Result<u64, Error> {
    repo.export_tree(tree, dir)
        .map_err(|e| Error::exported(what, e))
}

/// A store path name for a source at `location` (a URL or a path): its last component when Nix
/// accepts it as a name, else `source`.
fn store_name(location: &str) -> String {
    let last = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let last = last.split(['?', '#']).next().unwrap_or_default();
    let valid = !last.is_empty()
        && !last.starts_with('.')
        && last.len() <= 200
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._?=".contains(c));
    if valid {
        last.to_owned()
    } else {
        "source".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_names_every_export_relative_to_the_exports() {
        let mut m = Materialised::default();
        m.atoms.insert(
            "k1@1.0.0".into(),
            Node {
                root: PathBuf::from("deps/k1/1.0.0/base"),
                scopes: Scopes {
                    requires: BTreeMap::from([("util".into(), "k2@0.1.0".into())]),
                    ..Scopes::default()
                },
            },
        );
        m.top.requires.insert("base".into(), "k1@1.0.0".into());
        m.top.pins.insert("lib".into(), "p0".into());
        m.top.srcs.insert("src".into(), "s0".into());
        m.pins.insert(
            "p0".into(),
            serde_json::json!({"root": "pins/p0", "entry": "default.nix", "hash": "sha256-x"}),
        );
        m.srcs.insert(
            "s0".into(),
            serde_json::json!({"url": "http://h/a.tar", "hash": "sha256-y", "name": "a.tar"}),
        );
        let graph: serde_json::Value = serde_json::from_str(&m.graph()).unwrap();
        assert_eq!(
            graph,
            serde_json::json!({
                "atoms": {"k1@1.0.0": {"root": "deps/k1/1.0.0/base", "requires": {"util": "k2@0.1.0"}, "pins": {}, "srcs": {}}},
                "requires": {"base": "k1@1.0.0"},
                "pins": {"lib": "p0"},
                "srcs": {"src": "s0"},
                "pinned": {"p0": {"root": "pins/p0", "entry": "default.nix", "hash": "sha256-x"}},
                "sources": {"s0": {"url": "http://h/a.tar", "hash": "sha256-y", "name": "a.tar"}},
            })
        );
    }

    #[test]
    fn store_names_are_the_last_component_when_nix_takes_it() {
        assert_eq!(store_name("https://h/x/pkg-1.2.tar.gz"), "pkg-1.2.tar.gz");
        assert_eq!(store_name("https://h/x/get?v=1"), "get");
        assert_eq!(store_name("data/f"), "f");
        assert_eq!(store_name("https://h/x/.hidden"), "source");
        assert_eq!(store_name("https://h/x/a%20b"), "source");
    }
}
