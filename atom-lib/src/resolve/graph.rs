//! Resolving a manifest's whole dependency graph into a lock.
//!
//! Each repository is listed once (one protocol v2 `ls-refs` of `refs/atoms/` per address),
//! every address of a repository (its URL and its mirrors) must agree on the root and on the
//! commit of every version they both have, and the chosen atoms of a repository are fetched in
//! one fetch per level of the graph, through the cache's quarantine and the structural check
//! before they are admitted. Only what resolution reads is fetched: each atom commit, its root
//! tree and the blobs of its `atom.toml` and `atom.lock`, into the per-user index
//! ([`crate::local::index`]), where a ref `refs/index/<address key>/<root>/<label>/<version>`
//! records each atom and the address it was listed at (the key: the BLAKE3 hash of the
//! address, in hex), so that an offline resolution ([`Options::offline`]) can choose among the
//! atoms seen before, without listing or fetching. Requirements on one atom (one atomic number) whose highest matches
//! are semver-compatible are unified to the highest version that satisfies them all;
//! incompatible ones (other majors) coexist, since Nix holds several versions at once.

// Resolution errors are rare, end the command, and carry their ids and URLs in full; boxing them
// would only add noise to every `?`.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::admit::{self, Contents, Wanted};
use crate::commit::{AtomCommit, AtomPath, Format};
use crate::format::Unsupported;
use crate::list::Generations;
use crate::lock::{sibling_requirement, AtomKey, Lock, LockedAtom, Origin};
use crate::manifest::{Dep, Manifest, Name, MANIFEST_FILE};
use crate::refs::{AtomRef, RefName, ROOT_REF};
use crate::store::git::{Connection, Expect, RefUpdate, Verbosity};
use crate::store::EntryKind;
use crate::uri::{Address, Requirement};
use crate::{AtomId, GitStore, Label, Oid, Root, StoreError, Version};

pub use super::input::{Local, Options, Selection, Update};

/// Something the user should know that did not stop the resolution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// One address of a repository did not answer; another did.
    #[error("mirror {url} did not answer ({error}); used {used}")]
    MirrorDown {
        /// The silent address.
        url: String,
        /// What went wrong.
        error: String,
        /// The address that answered.
        used: String,
    },
}

/// The resolved graph.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The lock for the manifest.
    pub lock: Lock,
    /// What did not stop the resolution.
    pub warnings: Vec<Warning>,
    /// Repositories listed and fetches made, for people who count connections.
    pub listings: usize,
    /// Fetches made (one per repository and level of the graph that needed new atoms).
    pub fetches: usize,
}

/// One requirement in the graph, and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// Who requires it: the manifest's atom, then each `deps.<name>` on the way.
    pub chain: Vec<String>,
    /// The requirement.
    pub requirement: Requirement,
    /// Whether the requirement may move away from a locked version (`--update`).
    pub update: bool,
}

impl fmt::Display for Demand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requires `{}`",
            self.chain.join(" -> "),
            self.requirement
        )
    }
}

/// Why no lock could be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No address of a repository answered.
    #[error("no address of {url} answered: {}", .errors.join("; "))]
    Unreachable {
        /// The repository's address as written.
        url: String,
        /// Each address's failure.
        errors: Vec<String>,
    },
    /// Two addresses of one repository disagree: one of them is lying.
    #[error("{first} and {second} disagree on {what}: {first_id} vs {second_id} (atom commits are reproducible, so one of them was tampered with)")]
    Tampering {
        /// One address.
        first: String,
        /// The other.
        second: String,
        /// The root, or `label@version`.
        what: String,
        /// What the first says.
        first_id: Oid,
        /// What the second says.
        second_id: Oid,
    },
    /// A repository does not advertise its identity.
    #[error("{url} has no {ROOT_REF}, so its atoms have no atomic numbers (publish to it with `git atom publish`)")]
    NoRoot {
        /// The repository.
        url: String,
    },
    /// The repository has no such atom.
    #[error("no atom `{label}` at {url} (needed by {})", .chain.join(" -> "))]
    NoSuchAtom {
        /// The atom.
        label: Label,
        /// The repository.
        url: String,
        /// Who needs it.
        chain: Vec<String>,
    },
    /// The repository has the atom only in a generation of the eka tool this suite does not
    /// read.
    #[error("`{label}` at {url} is published only in {} ({}), which atom does not read: republish it with `git atom publish` (needed by {})", .generation.describe(), list(.versions), .chain.join(" -> "))]
    UnsupportedFormat {
        /// The atom.
        label: Label,
        /// The repository.
        url: String,
        /// Its generation.
        generation: Unsupported,
        /// Its versions there.
        versions: Vec<Version>,
        /// Who needs it.
        chain: Vec<String>,
    },
    /// No version matches a requirement.
    #[error("no version of `{label}` at {url} matches `{requirement}` (needed by {}; available: {})", .chain.join(" -> "), list(.available))]
    NoMatch {
        /// The atom.
        label: Label,
        /// The repository.
        url: String,
        /// The requirement.
        requirement: Requirement,
        /// Who needs it.
        chain: Vec<String>,
        /// Every published version.
        available: Vec<Version>,
    },
    /// Offline, the index has no version that matches a requirement.
    #[error("no version of `{label}` from {url} matching `{requirement}` is cached (needed by {}; cached: {}): run without --offline", .chain.join(" -> "), if .cached.is_empty() { "none".to_owned() } else { list(.cached) })]
    NotCached {
        /// The atom.
        label: Label,
        /// The repository.
        url: String,
        /// The requirement.
        requirement: Requirement,
        /// Who needs it.
        chain: Vec<String>,
        /// The versions the index has.
        cached: Vec<Version>,
    },
    /// Compatible requirements on one atom that no single version satisfies.
    #[error("no version of `{label}` satisfies every requirement on it:\n{}", lines(.demands))]
    Unsatisfiable {
        /// The atom.
        label: Label,
        /// Each requirement and its chain.
        demands: Vec<Demand>,
    },
    /// A dependency kind this version cannot resolve yet.
    #[error("{what} is not resolved by this version of atom yet")]
    Unsupported {
        /// What, e.g. ``deps.x` (a path dependency of a remote atom)`.
        what: String,
    },
    /// A fetched atom failed admission, or could not be fetched.
    #[error(transparent)]
    Admit(Box<crate::admit::Error>),
    /// A fetched atom's manifest is invalid.
    #[error("the manifest of {atom} from {url} is invalid: {message}")]
    Manifest {
        /// The atom.
        atom: String,
        /// Where it came from.
        url: String,
        /// The problem.
        message: String,
    },
    /// An eka atom with dependencies: its lock is the eka tool's, which this suite does not read.
    #[error("{atom} at {url} is an eka atom (format eka/pre1) with an `atom.lock` in the eka tool's own format, whose dependencies atom does not resolve: only eka atoms without dependencies can be dependencies; depend on a version without them, or ask its publisher to publish it with `git atom publish`")]
    EkaLocked {
        /// The atom.
        atom: String,
        /// Where it came from.
        url: String,
    },
    /// A path dependency leaves the repository.
    #[error("`deps.{name}` = `{path}` leaves the repository")]
    PathOutside {
        /// The dependency.
        name: Name,
        /// The path as written.
        path: String,
    },
    /// A fetched atom's path dependency (a sibling in its repository) that its lock does not
    /// name, so its label and version are unknown.
    #[error(
        "`deps.{name}` of {chain} is a path dependency (a sibling atom of its repository) that \
         its `atom.lock` does not lock: it was published without a current lock; its publisher \
         must run `git atom resolve` and publish a new version"
    )]
    SiblingNotLocked {
        /// The dependency.
        name: Name,
        /// The chain of dependencies to the atom that declares it.
        chain: String,
    },
    /// Atoms that depend on themselves through their dependencies.
    #[error("the dependencies form a cycle: {}; an atom cannot depend on itself", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Path dependencies are published from `HEAD`, and there is none.
    #[error("the repository has no commit yet: path dependencies are published from a commit, make one first")]
    NoCommit,
    /// The graph did not settle (a bug, or a pathological graph).
    #[error("the dependency graph did not settle after {0} rounds of unification")]
    NoFixpoint(usize),
    /// A pin or a source could not be locked.
    #[error(transparent)]
    Pins(#[from] super::pins::Error),
    /// The cache failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the index records the atoms it holds: `<prefix><address key>/<root>/<label>/<version>`.
const INDEX_PREFIX: &str = "refs/index/";
/// What follows the root in an index ref of an eka atom: `<root>/_eka/<label>/<version>`.
const EKA_INDEX_MARKER: &str = "_eka/";

/// How a dependency that leads back to the atom being resolved (the top) is recognised.
enum Top {
    /// By its atomic number and version (it is in a repository with a history).
    Key(AtomKey),
    /// By nothing: it is in a repository without a commit, so nothing fetched is it.
    Unnumbered,
    /// By its label and version: it is not in a local repository.
    Shown,
}

/// `chain` and then `label@version` of the atom `key`. An atom already on the chain is a cycle:
/// one of `keys`, or the top (see [`Top`]). Atoms of two repositories may share a label and a
/// version: they are two atoms.
fn extend_chain(
    chain: &[String],
    keys: &[AtomKey],
    top: &Top,
    label: &Label,
    key: &AtomKey,
) -> Result<Vec<String>, Error> {
    let this = format!("{label}@{}", key.version);
    let mut out = chain.to_vec();
    let again = keys.contains(key)
        || match top {
            Top::Key(top) => top == key,
            Top::Unnumbered => false,
            Top::Shown => chain.first() == Some(&this),
        };
    out.push(this);
    if again {
        return Err(Error::Cycle(out));
    }
    Ok(out)
}

/// An address as a ref component: the BLAKE3 hash of the address (password hidden), in hex.
fn address_key(address: &Address) -> String {
    blake3::hash(address.redacted().as_bytes())
        .to_hex()
        .to_string()
}

fn list(versions: &[Version]) -> String {
    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
    shown.join(", ")
}

fn lines(demands: &[Demand]) -> String {
    let shown: Vec<String> = demands.iter().map(|d| format!("  {d}")).collect();
    shown.join("\n")
}

/// The versions that are semver-compatible share a class ([`Version::compatibility`]).
fn class(v: &Version) -> (u64, u64, u64) {
    v.compatibility()
}

type Class = (AtomId, (u64, u64, u64));

/// The requirements of one round, per class of compatible versions of one atom.
type Demands = BTreeMap<Class, (Label, Vec<Demand>)>;

/// One repository, as its answering addresses list it.
#[derive(Debug)]
struct Repository {
    /// `refs/atoms/_root`: what this suite's atoms are numbered from.
    root: Option<Oid>,
    /// `refs/ekala/init`: what the eka tool's atoms are numbered from.
    eka_root: Option<Oid>,
    /// `label -> version -> the atom listed`; where both formats have a version, this suite's
    /// (docs/format.md, "Refs").
    atoms: BTreeMap<Label, BTreeMap<Version, Listed>>,
    /// The addresses, the written one first.
    addresses: Vec<Address>,
}

/// One listed atom version of a repository.
#[derive(Debug, Clone, Copy)]
struct Listed {
    commit: Oid,
    /// The index of an address that has it.
    at: usize,
    format: Format,
}

impl Repository {
    /// The root the atoms of `format` are numbered from: each format's own identity ref, else
    /// the other's, as a listing numbers them ([`crate::list::roots`]).
    fn root_of(&self, format: Format) -> Option<Oid> {
        let (atom1, eka, _) = crate::list::roots(self.root, self.eka_root, None);
        match format {
            Format::Atom1 => atom1,
            Format::EkaPre1 => eka,
        }
        .map(|r| r.0)
    }
}

struct Node {
    label: Label,
    root: Oid,
    commit: Oid,
    tree: Oid,
    format: Format,
    origin: Origin,
    requires: BTreeMap<Name, AtomKey>,
}

struct Request {
    name: Name,
    owner: Option<AtomKey>,
    label: Label,
    url: Address,
    mirrors: Vec<Address>,
    requirement: Requirement,
    chain: Vec<String>,
    /// The atoms on the chain below the top, its owner last: what a cycle is found by.
    keys: Vec<AtomKey>,
    /// Whether its locked version may move.
    update: bool,
}

/// A path dependency: another atom of the local repository, by its directory.
struct PathRequest {
    name: Name,
    owner: Option<AtomKey>,
    /// The directory, relative to the repository's root.
    dir: String,
    chain: Vec<String>,
    /// The atoms on the chain below the top, its owner last.
    keys: Vec<AtomKey>,
    update: bool,
}

/// Where an atom whose dependencies are requested lives: what its path dependencies mean.
#[derive(Clone, Copy)]
enum Home<'a> {
    /// Nowhere path dependencies can be read (no local repository).
    None,
    /// A directory of the local repository, relative to its root: siblings are read from the
    /// working tree.
    Local(&'a str),
    /// A repository it was fetched from: a sibling is the atom its lock names there, published
    /// in the same repository.
    Fetched {
        url: &'a Address,
        mirrors: &'a [Address],
        lock: Option<&'a Lock>,
    },
}

/// A request and the atom version chosen for it: its key, its commit and the repository (by
/// its key in the resolver's repositories) it comes from.
struct Picked<R = Request> {
    request: R,
    key: AtomKey,
    commit: Oid,
    format: Format,
    root: Oid,
    repo: String,
}

/// The graph one round builds: the atoms, and what the top atom requires.
#[derive(Default)]
struct Graph {
    nodes: BTreeMap<AtomKey, Node>,
    top_requires: BTreeMap<Name, AtomKey>,
}

impl Graph {
    /// Records that `owner` (the top atom when `None`) requires `key` as `name`.
    fn link(&mut self, owner: Option<&AtomKey>, name: &Name, key: &AtomKey) {
        match owner {
            None => {
                self.top_requires.insert(name.clone(), key.clone());
            }
            Some(owner) => {
                if let Some(node) = self.nodes.get_mut(owner) {
                    node.requires.insert(name.clone(), key.clone());
                }
            }
        }
    }

    /// The lock the graph is, sorted.
    fn into_lock(self) -> Lock {
        let atoms = self
            .nodes
            .into_iter()
            .map(|(key, node)| LockedAtom {
                label: node.label,
                version: key.version,
                id: key.id,
                root: node.root,
                commit: node.commit,
                tree: node.tree,
                format: node.format,
                origin: node.origin,
                requires: node.requires,
            })
            .collect();
        let mut lock = Lock {
            requires: self.top_requires,
            atoms,
            pins: Vec::new(),
            srcs: Vec::new(),
        };
        lock.sort();
        lock
    }
}

/// The resolver's state across rounds: listings and fetched atoms are kept.
struct Resolver<'a> {
    cache: &'a GitStore,
    local: Option<Local<'a>>,
    options: &'a Options,
    existing: Option<&'a Lock>,
    repositories: BTreeMap<String, Repository>,
    /// Per repository key, its atoms published only in a generation this suite does not read,
    /// with their versions: named when such an atom is asked for.
    unsupported: BTreeMap<String, BTreeMap<Label, (Unsupported, Vec<Version>)>>,
    manifests: BTreeMap<Oid, (Oid, Manifest)>,
    /// The locks of fetched atoms, by atom commit: they name the siblings their path
    /// dependencies are.
    locks: BTreeMap<Oid, Lock>,
    /// Atoms the locks of fetched atoms (and the existing lock) name, not yet prefetched.
    hints: Vec<Hint>,
    /// Versions those locks chose, per atom: preferred where they match.
    hinted: BTreeMap<AtomId, BTreeSet<Version>>,
    warnings: Vec<Warning>,
    fetches: usize,
    /// One protocol v2 session per address, kept for the whole resolution; `None` for a
    /// server that speaks only v0/v1 (the `git` command line then fetches).
    connections: std::cell::RefCell<BTreeMap<String, Connection>>,
}

/// An atom some lock names: likely needed, so fetched ahead with the rest of its repository's.
#[derive(Debug, Clone)]
struct Hint {
    url: Address,
    mirrors: Vec<Address>,
    label: Label,
    version: Version,
    commit: Oid,
}

impl Hint {
    fn from_lock(lock: &Lock) -> Vec<Hint> {
        lock.atoms
            .iter()
            .filter_map(|a| match &a.origin {
                Origin::Url { url, mirrors } => Some(Hint {
                    url: url.clone(),
                    mirrors: mirrors.clone(),
                    label: a.label.clone(),
                    version: a.version.clone(),
                    commit: a.commit,
                }),
                Origin::Path { .. } => None,
            })
            .collect()
    }
}

/// Resolves `manifest`'s dependencies into a lock, fetching what it needs into `cache`; path
/// dependencies are read from `local`'s working tree. A version locked in `existing` that still
/// matches stays, unless `options.update` lets it move.
pub fn resolve(
    cache: &GitStore,
    local: Option<Local<'_>>,
    manifest: &Manifest,
    existing: Option<&Lock>,
    options: &Options,
) -> Result<Outcome, Error> {
    let mut resolver = Resolver {
        cache,
        local,
        options,
        existing,
        repositories: BTreeMap::new(),
        unsupported: BTreeMap::new(),
        manifests: BTreeMap::new(),
        locks: BTreeMap::new(),
        hints: existing.map(Hint::from_lock).unwrap_or_default(),
        hinted: BTreeMap::new(),
        warnings: Vec::new(),
        fetches: 0,
        connections: Default::default(),
    };
    let mut choices: BTreeMap<Class, Version> = BTreeMap::new();
    const ROUNDS: usize = 16;
    for _ in 0..ROUNDS {
        let (lock, demands) = resolver.round(manifest, &choices)?;
        let unified = resolver.unify(&demands)?;
        if unified == choices {
            let mut lock = lock;
            super::pins::lock(cache, local, manifest, &mut lock, existing, &options.update)?;
            return Ok(Outcome {
                lock,
                warnings: resolver.warnings,
                listings: resolver.repositories.len(),
                fetches: resolver.fetches,
            });
        }
        choices = unified;
    }
    Err(Error::NoFixpoint(ROUNDS))
}

impl Resolver<'_> {
    /// One pass over the graph, level by level, picking for each requirement the unified
    /// choice of its class, else its locked version, else the highest match.
    fn round(
        &mut self,
        manifest: &Manifest,
        choices: &BTreeMap<Class, Version>,
    ) -> Result<(Lock, Demands), Error> {
        let top = format!("{}@{}", manifest.label, manifest.version);
        let atom_dir = self.local.map(|l| l.atom_dir.to_owned());
        let home = atom_dir.as_deref().map_or(Home::None, Home::Local);
        let top_atom = self.top(manifest);
        let (mut level, mut paths) = self.requests(manifest, None, home, (&[top], &[]), true)?;
        let mut graph = Graph::default();
        let mut demands: Demands = BTreeMap::new();
        while !level.is_empty() || !paths.is_empty() {
            let mut next: Vec<Request> = Vec::new();
            let mut next_paths: Vec<PathRequest> = Vec::new();
            for request in std::mem::take(&mut paths) {
                let (key, node, manifest) = self.path_atom(&request)?;
                graph.link(request.owner.as_ref(), &request.name, &key);
                let chain =
                    extend_chain(&request.chain, &request.keys, &top_atom, &node.label, &key)?;
                if graph.nodes.contains_key(&key) {
                    continue;
                }
                let keys = [request.keys.as_slice(), std::slice::from_ref(&key)].concat();
                let (more, more_paths) = self.requests(
                    &manifest,
                    Some(&key),
                    Home::Local(&request.dir),
                    (&chain, &keys),
                    request.update,
                )?;
                next.extend(more);
                next_paths.extend(more_paths);
                graph.nodes.insert(key, node);
            }
            let mut picked: Vec<Picked> = Vec::new();
            for request in level {
                let pick = self.pick(&request, choices, &mut demands)?;
                graph.link(request.owner.as_ref(), &request.name, &pick.key);
                picked.push(Picked {
                    request,
                    key: pick.key,
                    commit: pick.commit,
                    format: pick.format,
                    root: pick.root,
                    repo: pick.repo,
                });
            }
            // Fetch what is new, one fetch per repository.
            let mut wanted: BTreeMap<String, Vec<(AtomRef, Oid)>> = BTreeMap::new();
            for p in &picked {
                if graph.nodes.contains_key(&p.key) || self.manifests.contains_key(&p.commit) {
                    continue;
                }
                let atom = AtomRef {
                    format: p.format,
                    label: p.request.label.clone(),
                    version: p.key.version.clone(),
                };
                let list = wanted.entry(p.repo.clone()).or_default();
                if !list.iter().any(|(a, _)| a == &atom) {
                    list.push((atom, p.commit));
                }
            }
            for (repo, atoms) in wanted {
                self.fetch(&repo, &atoms)?;
            }
            self.prefetch()?;
            for Picked {
                request,
                key,
                commit,
                format,
                root,
                repo: _,
            } in picked
            {
                let chain = extend_chain(
                    &request.chain,
                    &request.keys,
                    &top_atom,
                    &request.label,
                    &key,
                )?;
                if graph.nodes.contains_key(&key) {
                    continue;
                }
                let keys = [request.keys.as_slice(), std::slice::from_ref(&key)].concat();
                let (tree, dep_manifest) = self.manifests[&commit].clone();
                let home = Home::Fetched {
                    url: &request.url,
                    mirrors: &request.mirrors,
                    lock: self.locks.get(&commit),
                };
                let (more, more_paths) = self.requests(
                    &dep_manifest,
                    Some(&key),
                    home,
                    (&chain, &keys),
                    request.update,
                )?;
                next.extend(more);
                next_paths.extend(more_paths);
                graph.nodes.insert(
                    key,
                    Node {
                        label: request.label,
                        root,
                        commit,
                        tree,
                        format,
                        origin: Origin::Url {
                            url: request.url,
                            mirrors: request.mirrors,
                        },
                        requires: BTreeMap::new(),
                    },
                );
            }
            level = next;
            paths = next_paths;
        }
        Ok((graph.into_lock(), demands))
    }

    /// The version `request` gets: the one an earlier round chose for its class, else the
    /// locked one, else one the graph's locks chose, else the highest matching; recorded as a
    /// demand on its class. Fails when its repository, atom or a matching version is missing.
    fn pick(
        &mut self,
        request: &Request,
        choices: &BTreeMap<Class, Version>,
        demands: &mut Demands,
    ) -> Result<Picked<()>, Error> {
        let not_cached = |cached: Vec<Version>| Error::NotCached {
            label: request.label.clone(),
            url: request.url.redacted(),
            requirement: request.requirement.clone(),
            chain: request.chain.clone(),
            cached,
        };
        let repo = match self.repository_key(&request.url, &request.mirrors) {
            Err(Error::NoRoot { .. }) if self.options.offline => {
                return Err(not_cached(Vec::new()))
            }
            Err(e @ Error::NoRoot { .. }) => return Err(self.unsupported_or(request, e)),
            other => other?,
        };
        let repository = &self.repositories[&repo];
        let versions = match repository.atoms.get(&request.label) {
            Some(versions) => versions,
            None if self.options.offline => return Err(not_cached(Vec::new())),
            None => {
                let missing = Error::NoSuchAtom {
                    label: request.label.clone(),
                    url: request.url.redacted(),
                    chain: request.chain.clone(),
                };
                return Err(self.unsupported_or(request, missing));
            }
        };
        let highest = match versions
            .keys()
            .filter(|v| request.requirement.matches(v))
            .max()
        {
            Some(highest) => highest,
            None if self.options.offline => {
                return Err(not_cached(versions.keys().cloned().collect()))
            }
            None => {
                return Err(Error::NoMatch {
                    label: request.label.clone(),
                    url: request.url.redacted(),
                    requirement: request.requirement.clone(),
                    chain: request.chain.clone(),
                    available: versions.keys().cloned().collect(),
                })
            }
        };
        let numbered = |format: Format| {
            repository
                .root_of(format)
                .map(|root| (root, Root(root).atom_id(&request.label)))
                .ok_or_else(|| Error::NoRoot {
                    url: request.url.redacted(),
                })
        };
        let (_, id) = numbered(versions[highest].format)?;
        let class_key = (id, class(highest));
        // Named by `--update` itself (a transitive atom), or brought by what was.
        let moves = request.update || self.options.update.moves_atom(id);
        let locked = self
            .locked_version(id, request, moves)
            .filter(|v| request.requirement.matches(v) && versions.contains_key(v));
        // What the locks of the graph's atoms chose, where it matches: the version their
        // authors tested, and already fetched with the rest of its repository's.
        let hinted = self.hinted.get(&id).and_then(|vs| {
            vs.iter()
                .rev()
                .find(|v| request.requirement.matches(v) && versions.contains_key(*v))
                .filter(|_| !moves)
        });
        let version = choices
            .get(&class_key)
            .filter(|v| request.requirement.matches(v))
            .or(locked.as_ref())
            .or(hinted)
            .unwrap_or(highest)
            .clone();
        demands
            .entry(class_key)
            .or_insert_with(|| (request.label.clone(), Vec::new()))
            .1
            .push(Demand {
                chain: request.chain.clone(),
                requirement: request.requirement.clone(),
                update: moves,
            });
        let listed = versions[&version];
        // The same atom in both formats with disagreeing roots: numbered as its format is.
        let (root, id) = numbered(listed.format)?;
        Ok(Picked {
            request: (),
            key: AtomKey { id, version },
            commit: listed.commit,
            format: listed.format,
            root,
            repo,
        })
    }

    /// The requests for `manifest`'s dependencies: by URL, and by path when the atom's
    /// directory in the local repository (`dir`) is known.
    fn requests(
        &self,
        manifest: &Manifest,
        owner: Option<&AtomKey>,
        home: Home<'_>,
        (chain, keys): (&[String], &[AtomKey]),
        update_parent: bool,
    ) -> Result<(Vec<Request>, Vec<PathRequest>), Error> {
        let mut out = Vec::new();
        let mut paths = Vec::new();
        for (name, dep) in &manifest.deps {
            let update = match (&self.options.update, owner) {
                (Update::All, _) => true,
                (Update::Names(selection), None) => selection.direct.contains(name),
                (_, Some(_)) => update_parent,
                (Update::Nothing, None) => false,
            };
            let mut c = chain.to_vec();
            c.push(format!("deps.{name}"));
            let dep = match dep {
                Dep::Atom(dep) => dep,
                Dep::Path(path) => match home {
                    Home::Local(dir) if self.local.is_some() => {
                        let target = path.resolve(dir).ok_or_else(|| Error::PathOutside {
                            name: name.clone(),
                            path: path.to_string(),
                        })?;
                        paths.push(PathRequest {
                            name: name.clone(),
                            owner: owner.cloned(),
                            dir: target,
                            chain: c,
                            keys: keys.to_vec(),
                            update,
                        });
                        continue;
                    }
                    Home::Fetched { url, mirrors, lock } => {
                        let sibling = lock
                            .and_then(|l| l.requires.get(name).and_then(|k| l.atom(k)))
                            .filter(|a| matches!(a.origin, Origin::Path { .. }))
                            .ok_or_else(|| Error::SiblingNotLocked {
                                name: name.clone(),
                                chain: chain.join(" -> "),
                            })?;
                        out.push(Request {
                            name: name.clone(),
                            owner: owner.cloned(),
                            label: sibling.label.clone(),
                            url: url.clone(),
                            mirrors: mirrors.to_vec(),
                            requirement: sibling_requirement(&sibling.version),
                            chain: c,
                            keys: keys.to_vec(),
                            update,
                        });
                        continue;
                    }
                    Home::Local(_) | Home::None => {
                        return Err(Error::Unsupported {
                            what: format!(
                                "`deps.{name}` of {} (a path dependency outside a repository)",
                                chain.join(" -> ")
                            ),
                        });
                    }
                },
            };
            let label = dep.label_for(name).map_err(|e| Error::Manifest {
                atom: chain.join(" -> "),
                url: dep.url.redacted(),
                message: e.to_string(),
            })?;
            let mut mirrors = dep.mirrors.clone();
            if let Some(extra) = self.options.mirrors.get(&dep.url.to_string()) {
                for m in extra {
                    if !mirrors.contains(m) {
                        mirrors.push(m.clone());
                    }
                }
            }
            out.push(Request {
                name: name.clone(),
                owner: owner.cloned(),
                label,
                url: dep.url.clone(),
                mirrors,
                requirement: dep.version.clone(),
                chain: c,
                keys: keys.to_vec(),
                update,
            });
        }
        Ok((out, paths))
    }

    /// How the atom being resolved is recognised on a chain: by its atomic number when it is in
    /// a repository with a history (its root).
    fn top(&self, manifest: &Manifest) -> Top {
        let Some(local) = self.local else {
            return Top::Shown;
        };
        let Some(head) = local.store.head_commit() else {
            return Top::Unnumbered;
        };
        match crate::list::history_root(local.store, head) {
            Ok(root) => Top::Key(AtomKey {
                id: Root(root).atom_id(&manifest.label),
                version: manifest.version.clone(),
            }),
            Err(_) => Top::Shown,
        }
    }

    /// The atom of the local repository a path request names, as its working tree has it
    /// (uncommitted changes included, as they will be committed): its tree, and the
    /// reproducible atom commit publishing that tree from `HEAD` would write.
    fn path_atom(&self, request: &PathRequest) -> Result<(AtomKey, Node, Manifest), Error> {
        let local = self
            .local
            .expect("path requests exist only with a local repository");
        let store = local.store;
        let head = store.head_commit().ok_or(Error::NoCommit)?;
        let (head_tree, _) = store.commit_tree_and_parents(head)?;
        let path = AtomPath::new(&request.dir).map_err(|e| Error::Manifest {
            atom: request.chain.join(" -> "),
            url: request.dir.clone(),
            message: e.to_string(),
        })?;
        let tree = match store.working_tree_of(&request.dir)? {
            Some(tree) => tree,
            None => {
                crate::scan::atom_at(store, head_tree, &path, "HEAD")
                    .map_err(|e| Error::Manifest {
                        atom: request.chain.join(" -> "),
                        url: request.dir.clone(),
                        message: e.to_string(),
                    })?
                    .tree
            }
        };
        let entry = store
            .tree_entries(tree)?
            .into_iter()
            .find(|e| e.name == MANIFEST_FILE.as_bytes() && e.kind == EntryKind::Blob)
            .ok_or_else(|| Error::Manifest {
                atom: request.chain.join(" -> "),
                url: request.dir.clone(),
                message: "it has no `atom.toml`".into(),
            })?;
        let bytes = store.read_blob(entry.oid)?;
        let manifest = Manifest::parse(&bytes, &format!("{}/{MANIFEST_FILE}", request.dir))
            .map_err(|e| Error::Manifest {
                atom: request.chain.join(" -> "),
                url: request.dir.clone(),
                message: e.to_string(),
            })?;
        let root = crate::list::history_root(store, head)?;
        let commit = store.hash_commit(
            &AtomCommit {
                format: Format::Atom1,
                tree,
                source: head,
                path: Some(path),
                label: manifest.label.clone(),
                version: manifest.version.clone(),
            }
            .to_bytes(),
        );
        let key = AtomKey {
            id: Root(root).atom_id(&manifest.label),
            version: manifest.version.clone(),
        };
        let node = Node {
            label: manifest.label.clone(),
            root,
            commit,
            tree,
            format: Format::Atom1,
            origin: Origin::Path {
                path: request.dir.clone(),
            },
            requires: BTreeMap::new(),
        };
        Ok((key, node, manifest))
    }

    /// The version the existing lock has for this atom, unless the request may move.
    fn locked_version(&self, id: AtomId, request: &Request, moves: bool) -> Option<Version> {
        if moves {
            return None;
        }
        let lock = self.existing?;
        lock.atoms
            .iter()
            .filter(|a| a.id == id && request.requirement.matches(&a.version))
            .map(|a| a.version.clone())
            .max()
    }

    /// `otherwise`, unless the request's repository has the atom only in a generation this suite
    /// does not read: that is the error then, since "no atom" would be false.
    fn unsupported_or(&self, request: &Request, otherwise: Error) -> Error {
        let key = request.url.to_string();
        match self
            .unsupported
            .get(&key)
            .and_then(|atoms| atoms.get(&request.label))
        {
            Some((generation, versions)) => Error::UnsupportedFormat {
                label: request.label.clone(),
                url: request.url.redacted(),
                generation: *generation,
                versions: versions.clone(),
                chain: request.chain.clone(),
            },
            None => otherwise,
        }
    }

    /// Lists the request's repository at every address (once per repository), checking that
    /// they agree; returns the key of its entry in `self.repositories`.
    fn repository_key(&mut self, url: &Address, mirrors: &[Address]) -> Result<String, Error> {
        let key = url.to_string();
        if self.repositories.contains_key(&key) {
            return Ok(key);
        }
        let mut addresses = vec![url.clone()];
        for m in mirrors {
            if !addresses.contains(m) {
                addresses.push(m.clone());
            }
        }
        let mut answers: Vec<(usize, Vec<crate::store::RemoteRef>)> = Vec::new();
        let mut failures: Vec<(usize, String)> = Vec::new();
        for (i, address) in addresses.iter().enumerate() {
            if self.options.offline {
                answers.push((i, self.cached_listing(address)?));
                continue;
            }
            let _span = tracing::info_span!("list", url = %address.redacted()).entered();
            match self.list(address) {
                Ok(refs) => answers.push((i, refs)),
                Err(e) => failures.push((
                    i,
                    crate::store::git::first_error_line(crate::error_chain(&e).as_bytes()),
                )),
            }
        }
        let Some((first, _)) = answers.first() else {
            return Err(Error::Unreachable {
                url: url.redacted(),
                errors: failures
                    .iter()
                    .map(|(i, e)| format!("{}: {e}", addresses[*i].redacted()))
                    .collect(),
            });
        };
        let used = addresses[*first].redacted();
        for (i, error) in &failures {
            self.warnings.push(Warning::MirrorDown {
                url: addresses[*i].redacted(),
                error: error.clone(),
                used: used.clone(),
            });
        }
        // Per format: its root, and `label -> version -> (commit, address)`.
        let mut roots: BTreeMap<Format, (Oid, usize)> = BTreeMap::new();
        let mut listed: BTreeMap<(Format, Label), BTreeMap<Version, (Oid, usize)>> =
            BTreeMap::new();
        let mut unsupported: BTreeMap<Label, (Unsupported, Vec<Version>)> = BTreeMap::new();
        for (i, refs) in &answers {
            let generations = Generations::from_refs(refs);
            for r in refs {
                let root_of = [Format::Atom1, Format::EkaPre1]
                    .into_iter()
                    .find(|f| r.name == f.root_ref());
                if let Some(format) = root_of {
                    match roots.get(&format) {
                        Some((theirs, j)) if *theirs != r.target() => {
                            return Err(Error::Tampering {
                                first: addresses[*j].redacted(),
                                second: addresses[*i].redacted(),
                                what: format!("the repository root ({})", format.root_ref()),
                                first_id: *theirs,
                                second_id: r.target(),
                            })
                        }
                        Some(_) => {}
                        None => {
                            roots.insert(format, (r.target(), *i));
                        }
                    }
                    continue;
                }
                let Ok(Some(atom)) = AtomRef::parse(r.name.as_str()) else {
                    continue;
                };
                if let Some(generation) = generations.unsupported(&atom) {
                    let (_, versions) = unsupported
                        .entry(atom.label)
                        .or_insert((generation, Vec::new()));
                    if !versions.contains(&atom.version) {
                        versions.push(atom.version);
                    }
                    continue;
                }
                let versions = listed.entry((atom.format, atom.label.clone())).or_default();
                match versions.get(&atom.version) {
                    Some((theirs, j)) if *theirs != r.target() => {
                        return Err(Error::Tampering {
                            first: addresses[*j].redacted(),
                            second: addresses[*i].redacted(),
                            what: match atom.format {
                                Format::Atom1 => atom.to_string(),
                                other => format!("{atom} ({other})"),
                            },
                            first_id: *theirs,
                            second_id: r.target(),
                        })
                    }
                    Some(_) => {}
                    None => {
                        versions.insert(atom.version, (r.target(), *i));
                    }
                }
            }
        }
        // Both formats merged per version, this suite's first (`Format` sorts it first), so an
        // eka version is a candidate only where no format-1 atom has the same version.
        let mut atoms: BTreeMap<Label, BTreeMap<Version, Listed>> = BTreeMap::new();
        for ((format, label), versions) in listed {
            let merged = atoms.entry(label).or_default();
            for (version, (commit, at)) in versions {
                merged
                    .entry(version)
                    .or_insert(Listed { commit, at, format });
            }
        }
        for (_, versions) in unsupported.values_mut() {
            versions.sort();
        }
        self.unsupported.insert(key.clone(), unsupported);
        let root = roots.get(&Format::Atom1).map(|(root, _)| *root);
        let eka_root = roots.get(&Format::EkaPre1).map(|(root, _)| *root);
        if root.is_none() && eka_root.is_none() {
            return Err(Error::NoRoot {
                url: url.redacted(),
            });
        }
        self.repositories.insert(
            key.clone(),
            Repository {
                root,
                eka_root,
                atoms,
                addresses,
            },
        );
        Ok(key)
    }

    /// The connection to `address`, opened on first use and kept for the resolution.
    fn connection(&self, address: &Address) -> Result<Connection, StoreError> {
        let url = address.git_url();
        if let Some(connection) = self.connections.borrow().get(&url) {
            return Ok(connection.clone());
        }
        let connection = self.cache.connect(&url)?;
        self.connections
            .borrow_mut()
            .insert(url, connection.clone());
        Ok(connection)
    }

    /// The atom refs and the root refs of `address`, in both formats: one `ls-refs` on its
    /// connection.
    fn list(&self, address: &Address) -> Result<Vec<crate::store::RemoteRef>, StoreError> {
        self.connection(address)?.list(
            self.cache,
            &[
                crate::refs::ATOM_REF_PREFIX,
                crate::refs::EKA_ATOM_REF_PREFIX,
                crate::refs::EKA_ROOT_REF,
            ],
        )
    }

    /// Admits `atoms` of one repository (their manifests and locks), one admission per address
    /// that listed them, then reads their manifests.
    fn fetch(&mut self, repo: &str, atoms: &[(AtomRef, Oid)]) -> Result<(), Error> {
        let repository = &self.repositories[repo];
        let missing: Vec<&(AtomRef, Oid)> = atoms
            .iter()
            .filter(|(_, commit)| !self.cache.has_object(*commit))
            .collect();
        if !missing.is_empty() {
            // From the address that listed them (each atom's own), grouped.
            if self.options.offline {
                // Offline candidates come from the index's refs, whose objects it holds.
                let (_, commit) = missing[0];
                return Err(Error::Store(StoreError::Missing { oid: *commit }));
            }
            let mut by_address: BTreeMap<usize, Vec<Wanted>> = BTreeMap::new();
            for (atom, commit) in missing {
                let at = repository.atoms[&atom.label][&atom.version].at;
                by_address
                    .entry(at)
                    .or_default()
                    .push(Wanted::listed(atom.clone(), *commit));
            }
            for (at, wanted) in by_address {
                let address = &repository.addresses[at];
                let connection = self.connection(address)?;
                let request = admit::Request {
                    wanted: &wanted,
                    contents: Contents::Manifests,
                    listed: &[],
                    verbosity: Verbosity::default(),
                    signatures: self.options.signatures.as_ref(),
                };
                let admitted = admit::admit(self.cache, &connection, &address.redacted(), &request)
                    .map_err(|e| Error::Admit(Box::new(e)))?;
                self.fetches += admitted.fetches;
            }
        }
        self.record(repo, atoms)?;
        for (atom, commit) in atoms {
            if self.manifests.contains_key(commit) {
                continue;
            }
            let url = repository.addresses[0].redacted();
            let (tree, _) = self.cache.commit_tree_and_parents(*commit)?;
            let entry = self
                .cache
                .tree_entries(tree)?
                .into_iter()
                .find(|e| e.name == MANIFEST_FILE.as_bytes() && e.kind == EntryKind::Blob)
                .ok_or_else(|| Error::Manifest {
                    atom: atom.to_string(),
                    url: url.clone(),
                    message: "it has no `atom.toml`".into(),
                })?;
            let bytes = self.cache.read_blob(entry.oid)?;
            let path = format!("{}:{MANIFEST_FILE}", atom.name());
            let lock =
                self.cache.tree_entries(tree)?.into_iter().find(|e| {
                    e.name == crate::lock::LOCK_FILE.as_bytes() && e.kind == EntryKind::Blob
                });
            let manifest = match atom.format {
                Format::Atom1 => Manifest::parse(&bytes, &path),
                // Only its `[package]` identity: it has no dependencies this suite reads, and
                // one with a lock has dependencies it does not.
                Format::EkaPre1 if lock.is_some() => {
                    return Err(Error::EkaLocked {
                        atom: atom.to_string(),
                        url,
                    })
                }
                Format::EkaPre1 => Manifest::parse_eka(&bytes, &path),
            }
            .map_err(|e| Error::Manifest {
                atom: atom.to_string(),
                url,
                message: e.to_string(),
            })?;
            if let Some(lock) = lock {
                let bytes = self.cache.read_blob(lock.oid)?;
                // A dependency's lock is advice: an unreadable one only loses the prefetch.
                match Lock::parse(&bytes, &format!("{}:atom.lock", atom.name())) {
                    Ok(lock) => {
                        self.hints.extend(Hint::from_lock(&lock));
                        self.locks.insert(*commit, lock);
                    }
                    Err(e) => tracing::warn!("ignoring the lock of {atom}: {e}"),
                }
            }
            self.manifests.insert(*commit, (tree, manifest));
        }
        Ok(())
    }

    /// What the index recorded for `address`, shaped as its listing: the root and the atoms
    /// earlier resolutions fetched from it. Several roots (the address now serves another
    /// repository) keep the first, by name.
    fn cached_listing(&self, address: &Address) -> Result<Vec<crate::store::RemoteRef>, Error> {
        let prefix = format!("{INDEX_PREFIX}{}/", address_key(address));
        let mut out = Vec::new();
        // The first root of each format, by name.
        let mut roots: BTreeMap<Format, String> = BTreeMap::new();
        for r in self.cache.refs_with_prefix(&prefix)? {
            let Some(rest) = r.name.as_str().strip_prefix(&prefix) else {
                continue;
            };
            let Some((this_root, atom)) = rest.split_once('/') else {
                continue;
            };
            let Ok(root_oid) = this_root.parse::<Oid>() else {
                continue;
            };
            let (format, atom) = match atom.strip_prefix(EKA_INDEX_MARKER) {
                Some(atom) => (Format::EkaPre1, atom),
                None => (Format::Atom1, atom),
            };
            match roots.get(&format) {
                Some(first) if first != this_root => continue,
                Some(_) => {}
                None => {
                    roots.insert(format, this_root.to_owned());
                    let Ok(name) = RefName::new(format.root_ref()) else {
                        continue;
                    };
                    out.push(crate::store::RemoteRef {
                        name,
                        oid: root_oid,
                        peeled: None,
                    });
                }
            }
            let Ok(name) = RefName::new(&format!("{}{atom}", format.ref_prefix())) else {
                continue;
            };
            out.push(crate::store::RemoteRef {
                name,
                oid: r.oid,
                peeled: None,
            });
        }
        Ok(out)
    }

    /// Records `atoms` of the repository `repo` (all in the index now) under the address that
    /// listed each and under the repository's written address, for offline resolutions.
    fn record(&self, repo: &str, atoms: &[(AtomRef, Oid)]) -> Result<(), Error> {
        if self.options.offline {
            return Ok(());
        }
        let repository = &self.repositories[repo];
        let mut wanted: Vec<(crate::refs::RefName, Oid)> = Vec::new();
        for (atom, commit) in atoms {
            let listed = repository.atoms[&atom.label][&atom.version];
            let at = listed.at;
            let mut keys = vec![address_key(&repository.addresses[0])];
            if at != 0 {
                keys.push(address_key(&repository.addresses[at]));
            }
            let Some(root) = repository.root_of(listed.format) else {
                continue;
            };
            // An eka atom under `_eka/` (no label starts with `_`), so that an offline
            // resolution knows its format.
            let marker = match listed.format {
                Format::Atom1 => "",
                Format::EkaPre1 => EKA_INDEX_MARKER,
            };
            for key in keys {
                let text = format!(
                    "{INDEX_PREFIX}{key}/{root}/{marker}{}/{}",
                    atom.label, atom.version
                );
                if let Ok(name) = crate::refs::RefName::new(&text) {
                    wanted.push((name, *commit));
                }
            }
        }
        // Other resolutions may record the same refs at the same moment: a transaction that
        // meets their change is read again and retried; refs already right are left alone.
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let mut updates = Vec::new();
            for (name, commit) in &wanted {
                let expect = match self.cache.find_ref(name)? {
                    Some(old) if old == *commit => continue,
                    Some(old) => Expect::Equal(old),
                    None => Expect::Absent,
                };
                updates.push(RefUpdate {
                    name: name.clone(),
                    new: *commit,
                    expect,
                });
            }
            if updates.is_empty() {
                return Ok(());
            }
            match self.cache.update_refs(&updates, "atom resolve") {
                Ok(()) => return Ok(()),
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!("recording in the index met another resolution: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(20 * attempt as u64));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Fetches every atom the locks seen so far name and the cache lacks, one fetch per
    /// repository, so the levels below need no fetch of their own when their choices agree
    /// with those locks. A hint whose commit is not what the repository lists is dropped.
    fn prefetch(&mut self) -> Result<(), Error> {
        let hints = std::mem::take(&mut self.hints);
        let mut wanted: BTreeMap<String, Vec<(AtomRef, Oid)>> = BTreeMap::new();
        for hint in hints {
            let id = {
                let key = match self.repository_key(&hint.url, &hint.mirrors) {
                    Ok(key) => key,
                    Err(e) => {
                        tracing::debug!("not prefetching {}@{}: {e}", hint.label, hint.version);
                        continue;
                    }
                };
                let repo = &self.repositories[&key];
                let Some(listed) = repo
                    .atoms
                    .get(&hint.label)
                    .and_then(|v| v.get(&hint.version))
                    .filter(|l| l.commit == hint.commit)
                    .copied()
                else {
                    continue;
                };
                let Some(root) = repo.root_of(listed.format) else {
                    continue;
                };
                if !self.manifests.contains_key(&hint.commit) {
                    let list = wanted.entry(key).or_default();
                    let atom = AtomRef {
                        format: listed.format,
                        label: hint.label.clone(),
                        version: hint.version.clone(),
                    };
                    if !list.iter().any(|(a, _)| a == &atom) {
                        list.push((atom, hint.commit));
                    }
                }
                Root(root).atom_id(&hint.label)
            };
            self.hinted.entry(id).or_default().insert(hint.version);
        }
        for (repo, atoms) in wanted {
            self.fetch(&repo, &atoms)?;
        }
        if !self.hints.is_empty() {
            // The prefetched atoms' own locks: their closures are inside the first ones', so
            // this adds nothing new to fetch in a well-locked graph.
            self.prefetch()?;
        }
        Ok(())
    }

    /// For each class of compatible requirements on one atom, the highest version that
    /// satisfies all of them (the locked one if it does and may stay).
    fn unify(&self, demands: &Demands) -> Result<BTreeMap<Class, Version>, Error> {
        let mut choices = BTreeMap::new();
        for ((id, class_key), (label, list)) in demands {
            let versions: Vec<&Version> = self
                .repositories
                .values()
                .flat_map(|r| {
                    let numbered = move |l: &Listed| {
                        r.root_of(l.format)
                            .is_some_and(|root| Root(root).atom_id(label) == *id)
                    };
                    r.atoms
                        .get(label)
                        .into_iter()
                        .flat_map(move |v| v.iter().filter(move |(_, l)| numbered(l)))
                        .map(|(v, _)| v)
                })
                .filter(|v| class(v) == *class_key)
                .filter(|v| list.iter().all(|d| d.requirement.matches(v)))
                .collect();
            let Some(best) = versions.iter().max() else {
                return Err(Error::Unsatisfiable {
                    label: label.clone(),
                    demands: list.clone(),
                });
            };
            let stays = self.existing.and_then(|lock| {
                lock.atoms
                    .iter()
                    .filter(|a| a.id == *id && versions.contains(&&a.version))
                    .map(|a| a.version.clone())
                    .max()
            });
            let update = list.iter().any(|d| d.update);
            let chosen = match stays {
                Some(v) if !update => v,
                _ => (*best).clone(),
            };
            choices.insert((*id, *class_key), chosen);
        }
        Ok(choices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_classes_follow_caret() {
        let c = |v: &str| class(&v.parse().unwrap());
        assert_eq!(c("1.2.3"), c("1.9.0"));
        assert_ne!(c("1.2.3"), c("2.0.0"));
        assert_eq!(c("0.3.1"), c("0.3.9"));
        assert_ne!(c("0.3.1"), c("0.4.0"));
        assert_ne!(c("0.0.1"), c("0.0.2"));
    }
}
