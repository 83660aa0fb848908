//! The closure a lock pins, as a graph: the locking atom, every atom of the lock, every pin and
//! source, and an edge for each requirement (`[requires]`, an entry's `requires`) and for each
//! pin or source an atom declares. What `git atom tree` shows; built from the lock alone, with
//! the requirement each edge states taken from the requirer's manifest when the caller has it
//! (the lock records which entry satisfies a requirement, not the requirement).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{AtomKey, Lock, LockedAtom, LockedPin, LockedSrc};
use crate::manifest::{Dep, Manifest, Name, RelPath};
use crate::uri::Requirement;
use crate::{AtomId, Label, Version};

/// The index of the locking atom in [`Graph::nodes`].
pub const ROOT: usize = 0;

/// The locking atom, its lock's entries and what requires what.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The locking atom ([`ROOT`]), then the lock's atoms, pins and sources in the lock's order.
    pub nodes: Vec<Node>,
    /// Per requirer (in node order): its atom dependencies by name, then its pins, then its
    /// sources.
    pub edges: Vec<Edge>,
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub enum Node {
    /// The locking atom.
    Root {
        /// Its label.
        label: Label,
        /// Its version.
        version: Version,
        /// Its atomic number, when its repository's root is known.
        id: Option<AtomId>,
    },
    /// An atom of the lock.
    Atom(LockedAtom),
    /// A pin of the lock.
    Pin(LockedPin),
    /// A source of the lock.
    Src(LockedSrc),
}

/// A requirement (`from.<name>`) or a pin or source (`from.<name>`, `get.<name>`) an atom has.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The requirer or declarer.
    pub from: usize,
    /// What it requires or declares.
    pub to: usize,
    /// The name the requirer uses for it.
    pub name: Name,
    /// What the requirer's manifest asks for; `None` for a pin or source, and when the
    /// requirer's manifest is not at hand.
    pub stated: Option<Stated>,
}

/// What a manifest asks of an atom dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stated {
    /// A version requirement (`version = "^1.2"`).
    Version(Requirement),
    /// Another atom of the same repository (`path = "../other"`).
    Path(RelPath),
}

impl std::fmt::Display for Stated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stated::Version(r) => write!(f, "{r}"),
            Stated::Path(p) => write!(f, "path {p}"),
        }
    }
}

impl Node {
    /// What the node is called: an atom's label, a pin's or source's name.
    pub fn name(&self) -> &str {
        match self {
            Node::Root { label, .. } => label.as_str(),
            Node::Atom(a) => a.label.as_str(),
            Node::Pin(p) => p.name.as_str(),
            Node::Src(s) => s.name.as_str(),
        }
    }

    /// An atom's version.
    pub fn version(&self) -> Option<&Version> {
        match self {
            Node::Root { version, .. } => Some(version),
            Node::Atom(a) => Some(&a.version),
            Node::Pin(_) | Node::Src(_) => None,
        }
    }
}

impl Graph {
    /// The graph of `lock`, locked for `manifest` (whose atomic number is `id`, when known).
    /// `requirer` gives the manifest of an entry that requires other atoms, for the
    /// requirements its edges state; `None` leaves them unknown.
    pub fn new(
        manifest: &Manifest,
        id: Option<AtomId>,
        lock: &Lock,
        mut requirer: impl FnMut(&LockedAtom) -> Option<Manifest>,
    ) -> Self {
        let mut nodes = vec![Node::Root {
            label: manifest.label.clone(),
            version: manifest.version.clone(),
            id,
        }];
        let mut index: BTreeMap<AtomKey, usize> = BTreeMap::new();
        for atom in &lock.atoms {
            index.insert(atom.key(), nodes.len());
            nodes.push(Node::Atom(atom.clone()));
        }
        let first_pin = nodes.len();
        nodes.extend(lock.pins.iter().cloned().map(Node::Pin));
        nodes.extend(lock.srcs.iter().cloned().map(Node::Src));
        let owner_of = |owner: &Option<AtomKey>| match owner {
            None => Some(ROOT),
            Some(key) => index.get(key).copied(),
        };
        let stated = |m: Option<&Manifest>, name: &Name| {
            m.and_then(|m| m.deps.get(name)).map(|dep| match dep {
                Dep::Atom(a) => Stated::Version(a.version.clone()),
                Dep::Path(p) => Stated::Path(p.clone()),
            })
        };
        let mut edges = Vec::new();
        for from in 0..first_pin {
            let (requires, own) = match &nodes[from] {
                Node::Root { .. } => (&lock.requires, Some(manifest.clone())),
                Node::Atom(a) if !a.requires.is_empty() => (&a.requires, requirer(a)),
                Node::Atom(a) => (&a.requires, None),
                Node::Pin(_) | Node::Src(_) => unreachable!("pins and sources come after atoms"),
            };
            for (name, key) in requires {
                if let Some(&to) = index.get(key) {
                    edges.push(Edge {
                        from,
                        to,
                        name: name.clone(),
                        stated: stated(own.as_ref(), name),
                    });
                }
            }
            for (to, node) in nodes.iter().enumerate().skip(first_pin) {
                let (owner, name) = match node {
                    Node::Pin(p) => (&p.owner, &p.name),
                    Node::Src(s) => (&s.owner, &s.name),
                    Node::Root { .. } | Node::Atom(_) => continue,
                };
                if owner_of(owner) == Some(from) {
                    edges.push(Edge {
                        from,
                        to,
                        name: name.clone(),
                        stated: None,
                    });
                }
            }
        }
        Graph { nodes, edges }
    }

    /// The edges from `node`, in order.
    pub fn children(&self, node: usize) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.from == node)
    }

    /// The edges to `node`, in order.
    pub fn parents(&self, node: usize) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.to == node)
    }

    /// The nodes `name` names: atoms with that label or required by that name, pins and sources
    /// of that name; in node order.
    pub fn find(&self, name: &str) -> Vec<usize> {
        let mut found: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].name() == name)
            .collect();
        found.extend(
            self.edges
                .iter()
                .filter(|e| e.name.as_str() == name)
                .map(|e| e.to),
        );
        found.into_iter().collect()
    }

    /// Every name [`Graph::find`] knows, for suggestions.
    pub fn names(&self) -> BTreeSet<&str> {
        let nodes = self.nodes.iter().map(Node::name);
        nodes
            .chain(self.edges.iter().map(|e| e.name.as_str()))
            .collect()
    }

    /// The atoms locked in more than one compatibility class (major version, or minor for
    /// 0.x: [`Version::compatibility`]): per atom (by atomic number, in label order), its
    /// nodes from the lowest version to the highest.
    pub fn duplicates(&self) -> Vec<Vec<usize>> {
        let mut by_atom: BTreeMap<(&str, AtomId), Vec<usize>> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if let Node::Atom(a) = node {
                by_atom.entry((a.label.as_str(), a.id)).or_default().push(n);
            }
        }
        by_atom
            .into_values()
            .filter(|nodes| {
                let classes: BTreeSet<_> = nodes
                    .iter()
                    .filter_map(|&n| self.nodes[n].version())
                    .map(Version::compatibility)
                    .collect();
                classes.len() > 1
            })
            .map(|mut nodes| {
                nodes.sort_by(|&a, &b| self.nodes[a].version().cmp(&self.nodes[b].version()));
                nodes
            })
            .collect()
    }

    /// Each node's distance from the locking atom (the fewest edges), `None` when it is not
    /// reached.
    pub fn distances(&self) -> Vec<Option<usize>> {
        let mut distance = vec![None; self.nodes.len()];
        distance[ROOT] = Some(0);
        let mut queue = VecDeque::from([ROOT]);
        while let Some(n) = queue.pop_front() {
            let next = distance[n].map(|d| d + 1);
            for e in self.children(n) {
                if distance[e.to].is_none() {
                    distance[e.to] = next;
                    queue.push_back(e.to);
                }
            }
        }
        distance
    }

    /// `targets` and every node with a path to one of them.
    pub fn ancestors(&self, targets: &[usize]) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = targets.iter().copied().collect();
        let mut queue: VecDeque<usize> = targets.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            for e in self.parents(n) {
                if seen.insert(e.from) {
                    queue.push_back(e.from);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::Origin;
    use crate::Root;

    fn atom(label: &str, version: &str, requires: &[(&str, &LockedAtom)]) -> LockedAtom {
        let oid = |c: &str| c.repeat(40).parse().unwrap();
        LockedAtom {
            label: label.parse().unwrap(),
            version: version.parse().unwrap(),
            id: Root(oid("1")).atom_id(&label.parse().unwrap()),
            root: oid("1"),
            commit: oid("2"),
            tree: oid("3"),
            format: crate::Format::Atom1,
            origin: Origin::Path { path: label.into() },
            requires: requires
                .iter()
                .map(|(n, a)| (Name::new(n).unwrap(), a.key()))
                .collect(),
        }
    }

    /// app -> mid -> base 1.2.0, app -> mid2 (as `two`) -> base 1.2.0, app -> base 2.0.0.
    fn diamond() -> Graph {
        let base1 = atom("base", "1.2.0", &[]);
        let base2 = atom("base", "2.0.0", &[]);
        let mid = atom("mid", "1.0.0", &[("base", &base1)]);
        let mid2 = atom("mid2", "1.0.0", &[("base", &base1)]);
        let manifest = Manifest::parse(
            b"[atom]\nid = \"app\"\nversion = \"0.1.0\"\n\n[deps.base]\nurl = \"https://x.test/r\"\nversion = \"2\"\n",
            "atom.toml",
        )
        .unwrap();
        let lock = Lock {
            requires: [
                (Name::new("mid").unwrap(), mid.key()),
                (Name::new("two").unwrap(), mid2.key()),
                (Name::new("base").unwrap(), base2.key()),
            ]
            .into(),
            atoms: vec![base1, base2, mid.clone(), mid2],
            pins: vec![],
            srcs: vec![],
        };
        let mid_manifest = Manifest::parse(
            b"[atom]\nid = \"mid\"\nversion = \"1.0.0\"\n\n[deps.base]\nurl = \"https://x.test/r\"\nversion = \"1.1\"\n",
            "atom.toml",
        )
        .unwrap();
        Graph::new(&manifest, None, &lock, |a| {
            (a.label == mid.label).then(|| mid_manifest.clone())
        })
    }

    #[test]
    fn edges_state_what_the_requirer_asks() {
        let g = diamond();
        let root: Vec<(&str, usize, Option<String>)> = g
            .children(ROOT)
            .map(|e| {
                (
                    e.name.as_str(),
                    e.to,
                    e.stated.as_ref().map(|s| s.to_string()),
                )
            })
            .collect();
        assert_eq!(
            root,
            [
                ("base", 2, Some("^2".to_owned())),
                ("mid", 3, None),
                ("two", 4, None)
            ]
        );
        let mid: Vec<Option<String>> = g
            .children(3)
            .map(|e| e.stated.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(mid, [Some("^1.1".to_owned())]);
        // mid2's manifest is not at hand: its requirement is unknown, the edge still there.
        assert_eq!(g.children(4).map(|e| e.to).collect::<Vec<_>>(), [1]);
        assert!(g.children(4).all(|e| e.stated.is_none()));
    }

    #[test]
    fn names_duplicates_distances_and_ancestors() {
        let g = diamond();
        assert_eq!(g.find("base"), [1, 2]);
        assert_eq!(g.find("two"), [4]);
        assert!(g.find("nothing").is_empty());
        assert!(g.names().contains("two") && g.names().contains("mid2"));
        assert_eq!(g.duplicates(), [vec![1, 2]]);
        assert_eq!(g.distances(), [Some(0), Some(2), Some(1), Some(1), Some(1)]);
        assert_eq!(g.ancestors(&[1]), BTreeSet::from([0, 1, 3, 4]));
    }
}
