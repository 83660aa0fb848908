//! `git atom tree`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;
use atom_lib::escape::escaped;
use atom_lib::lock::graph::{Edge, Graph, Node, ROOT};
use atom_lib::lock::{Lock, LockedAtom, Origin, PinSource, SrcSource};
use atom_lib::manifest::{Manifest, MANIFEST_FILE};
use atom_lib::uri::Uri;
use atom_lib::{local, GitStore, Root};
use serde::Serialize;

use crate::{deps, output, show};

/// Show the dependency closure an atom's lock pins, as a tree
///
/// Reads the lock alone (no network, no Nix): the atom, then each atom it requires with its
/// version and where it comes from (a repository's URL, or `path <dir>` for another atom of the
/// same repository), each one's own requirements below it, and pins (`pin <name>`) and sources
/// (`src <name>`) as leaves. An atom reached a second time is marked `(*)` and its
/// dependencies are not repeated, as `cargo tree` does. Lines fit the terminal (or `COLUMNS`).
///
/// With no ATOM, the atom whose directory holds the current directory; with a directory, that
/// atom; with an atom URI (`<repository>::<label>[@<requirement>]`), the highest matching
/// published version, of which only the manifest and lock are fetched, as `git atom show`
/// does.
///
/// --invert NAME shows every path from the atom to NAME upside down, each requirer with the
/// requirement it states (`requires ^1.1`), read from its `atom.toml` in the atom index that
/// `git atom resolve` fills (or the repository); a requirer not found there shows none, and a
/// note on stderr names it (`git atom resolve --locked` fetches it). This tells which
/// requirement holds a version back (then `git atom resolve --update NAME`).
/// --duplicates does the same for every atom locked in more than one major version.
///
/// --format dot writes Graphviz DOT: `git atom tree --format dot | dot -Tsvg > deps.svg`.
///
/// Exit status: 0 shown, 1 the atom or its lock could not be read or NAME names nothing in the
/// closure, 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An atom directory or an atom URI
    #[arg(value_name = "ATOM")]
    atom: Option<String>,
    /// Show N levels of dependencies at most (0: the atom alone; with --invert, N levels of
    /// requirers)
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Every path from the atom to NAME, with the requirement each requirer states: NAME is an
    /// atom's label, the name a requirer gives it, or a pin or source
    #[arg(short, long, value_name = "NAME", conflicts_with = "duplicates")]
    invert: Option<String>,
    /// The atoms locked in more than one major version, each with every path to it (as
    /// `cargo tree -d`)
    #[arg(short, long)]
    duplicates: bool,
    /// `text`: a tree; `dot`: a Graphviz graph (pins and sources shaped apart, edges labelled
    /// with their requirements)
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    format: Format,
    /// Print as JSON on stdout: the graph as nodes and edges
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A tree, one line per atom, pin or source
    Text,
    /// Graphviz DOT
    Dot,
}

/// The atom whose closure is shown.
struct Opened {
    manifest: Manifest,
    lock: Lock,
    /// Where the atom is, for its line: `path <dir>` or the repository's URL.
    origin: String,
    root: Option<atom_lib::Oid>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let ctx = deps::context()?;
    let opened = open(&ctx, args.atom.as_deref())?;
    // The requirements an entry states are in its own manifest: in the atom index when a
    // resolution fetched it, in this repository for a sibling or an atom fetched here.
    let index = local::index().ok();
    let stores: Vec<&GitStore> = ctx.store.iter().chain(index.as_ref()).collect();
    let work_dir = ctx.store.as_ref().and_then(|s| s.work_dir());
    let id = opened.root.map(|r| Root(r).atom_id(&opened.manifest.label));
    let graph = Graph::new(&opened.manifest, id, &opened.lock, |atom| {
        own_manifest(&stores, work_dir, atom)
    });
    let targets = match (&args.invert, args.duplicates) {
        (Some(name), _) => {
            let found = graph.find(name);
            if found.is_empty() {
                let hint = atom_lib::manifest::suggest(name, graph.names())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                bail!(
                    "`{}` is no atom, dependency, pin or source of the closure of {} {}: {hint}(see `git atom tree`)",
                    escaped(name),
                    opened.manifest.label,
                    opened.manifest.version
                );
            }
            Some(found)
        }
        (None, true) => Some(graph.duplicates().concat()),
        (None, false) => None,
    };
    let view = View {
        graph: &graph,
        origin: &opened.origin,
        depth: args.depth,
    };
    // What is shown with requirements: the inverted trees, the JSON and DOT graphs.
    if args.json || args.format == Format::Dot || targets.is_some() {
        let unknown = view.unknown_requirements(targets.as_deref());
        if !unknown.is_empty() {
            output::note(
                quiet,
                &format!(
                    "not shown: what {} require (their atom.toml is not in the atom index; `git atom resolve --locked` in an atom that locks them fetches it)",
                    unknown.join(", ")
                ),
            );
        }
    }
    if args.json {
        output::json(&view.json(targets.as_deref()))?;
        return Ok(0);
    }
    let text = match (args.format, &targets) {
        (Format::Dot, _) => view.dot(targets.as_deref()),
        (Format::Text, None) => view.tree(output::terminal_width()),
        (Format::Text, Some(targets)) => view.inverted(targets, output::terminal_width()),
    };
    output::stdout(&text)?;
    Ok(0)
}

/// The atom `atom` names (a directory, a URI, or the one around the current directory) with
/// its lock; an atom with dependencies and no lock is an error saying how to make one.
fn open(ctx: &deps::Session, atom: Option<&str>) -> anyhow::Result<Opened> {
    let is_dir = atom.is_none_or(|a| PathBuf::from(a).join(MANIFEST_FILE).is_file());
    if is_dir {
        let local = deps::open_atom(ctx, atom.map(Path::new))?;
        let lock_path = local.lock_path();
        let origin = match &local.repo_path {
            Some(p) if !p.is_empty() => format!("path {p}"),
            _ => local.dir.display().to_string(),
        };
        let lock = match local.lock {
            Some(lock) => {
                if !lock.is_current(&local.manifest, local.repo_path.as_deref().unwrap_or("")) {
                    output::warning(&format!(
                        "{} is not current for its atom.toml: showing what it pins; run `git atom resolve` to lock what the manifest asks for",
                        lock_path.display()
                    ));
                }
                lock
            }
            None if needs_lock(&local.manifest) => bail!(
                "{} does not exist: run `git atom resolve` in {} to lock the dependencies of {}",
                lock_path.display(),
                local.dir.display(),
                local.manifest.label
            ),
            None => Lock::default(),
        };
        return Ok(Opened {
            manifest: local.manifest,
            lock,
            origin,
            root: show::repository_root(ctx),
        });
    }
    let text = atom.unwrap_or_default();
    let (manifest, lock, root, _) = show::remote(ctx, text)?;
    let address = Uri::parse(text, &ctx.aliases)?
        .address
        .map(|a| a.redacted())
        .unwrap_or_default();
    let lock = match lock {
        Some(lock) => lock,
        None if needs_lock(&manifest) => bail!(
            "{} {} at {address} has dependencies and no atom.lock: its publisher must run `git atom resolve` and publish a new version",
            manifest.label,
            manifest.version
        ),
        None => Lock::default(),
    };
    Ok(Opened {
        manifest,
        lock,
        origin: address,
        root: Some(root),
    })
}

/// Whether an atom has anything a lock records.
fn needs_lock(manifest: &Manifest) -> bool {
    !(manifest.deps.is_empty() && manifest.pins.is_empty() && manifest.srcs.is_empty())
}

/// The manifest of a locked atom, from the first store holding its tree, else (a sibling) from
/// the working tree.
fn own_manifest(
    stores: &[&GitStore],
    work_dir: Option<&Path>,
    atom: &LockedAtom,
) -> Option<Manifest> {
    for store in stores {
        if let Ok(Some(manifest)) = atom_lib::proof::own_manifest(store, atom) {
            return Some(manifest);
        }
    }
    let (Origin::Path { path }, Some(top)) = (&atom.origin, work_dir) else {
        return None;
    };
    let file = top.join(path).join(MANIFEST_FILE);
    let bytes = std::fs::read(&file).ok()?;
    Manifest::parse(&bytes, &file.display().to_string()).ok()
}

/// A graph and how to show it.
struct View<'a> {
    graph: &'a Graph,
    /// Where the locking atom is.
    origin: &'a str,
    depth: Option<usize>,
}

/// `git atom tree --json`.
#[derive(Serialize)]
struct JsonTree {
    root: String,
    targets: Option<Vec<String>>,
    nodes: Vec<JsonNode>,
    edges: Vec<JsonEdge>,
}

#[derive(Serialize)]
struct JsonNode {
    key: String,
    kind: &'static str,
    label: Option<String>,
    name: Option<String>,
    version: Option<String>,
    id: Option<String>,
    source: String,
    commit: Option<String>,
    tree: Option<String>,
    /// An atom's format (`atom/1`, or `eka/pre1` for the eka tool's); `null` for a pin or source.
    format: Option<&'static str>,
    locked: Option<String>,
}

#[derive(Serialize)]
struct JsonEdge {
    from: String,
    to: String,
    name: String,
    requirement: Option<String>,
}

impl View<'_> {
    /// Where a node comes from, for people.
    fn source(&self, node: usize) -> String {
        let short = |rev: &atom_lib::Oid| rev.to_string().chars().take(12).collect::<String>();
        let text = match &self.graph.nodes[node] {
            Node::Root { .. } => self.origin.to_owned(),
            Node::Atom(a) => match &a.origin {
                Origin::Url { url, .. } => url.redacted(),
                Origin::Path { path } => format!("path {path}"),
            },
            Node::Pin(p) => match &p.source {
                PinSource::Git {
                    git,
                    reference,
                    rev,
                    ..
                } => format!("{} {reference} @ {}", git.redacted(), short(rev)),
                PinSource::Tarball { url, .. } => url.to_string(),
            },
            Node::Src(s) => match &s.source {
                SrcSource::Url { url, .. } => url.to_string(),
                SrcSource::Git {
                    git,
                    reference,
                    rev,
                    ..
                } => format!("{} {reference} @ {}", git.redacted(), short(rev)),
                SrcSource::Path { path, .. } => format!("path {path}"),
            },
        };
        escaped(&text).to_string()
    }

    /// A node's line: `<label> <version> (<source>)`, `pin <name> (<source>)`.
    fn line(&self, node: usize) -> String {
        let n = &self.graph.nodes[node];
        let source = self.source(node);
        match n {
            Node::Root { label, version, .. } => format!("{label} {version} ({source})"),
            Node::Atom(a) => format!("{} {} ({source})", a.label, a.version),
            Node::Pin(p) => format!("pin {} ({source})", p.name),
            Node::Src(s) => format!("src {} ({source})", s.name),
        }
    }

    /// The key a node has in the JSON document.
    fn key(&self, node: usize) -> String {
        let owner = |owner: &Option<atom_lib::lock::AtomKey>| match owner {
            Some(k) => k.to_string(),
            None => self.key(ROOT),
        };
        match &self.graph.nodes[node] {
            Node::Root { label, version, id } => match id {
                Some(id) => format!("{id}@{version}"),
                None => format!("{label}@{version}"),
            },
            Node::Atom(a) => a.key().to_string(),
            Node::Pin(p) => format!("pin:{}:{}", owner(&p.owner), p.name),
            Node::Src(s) => format!("src:{}:{}", owner(&s.owner), s.name),
        }
    }

    /// Which nodes the JSON and DOT forms hold: within --depth, and on a path to a target.
    fn kept(&self, targets: Option<&[usize]>) -> Vec<bool> {
        let distances = self.graph.distances();
        let on_path = targets.map(|t| self.graph.ancestors(t));
        (0..self.graph.nodes.len())
            .map(|n| {
                let near = match (distances[n], self.depth) {
                    (None, _) => false,
                    (Some(d), Some(max)) => d <= max,
                    (Some(_), None) => true,
                };
                near && on_path.as_ref().is_none_or(|p| p.contains(&n))
            })
            .collect()
    }

    /// The requirers among the kept nodes whose requirements are unknown (their manifest was
    /// not found), as `<label> <version>`.
    fn unknown_requirements(&self, targets: Option<&[usize]>) -> Vec<String> {
        let kept = self.kept(targets);
        let requirers: BTreeSet<usize> = self
            .kept_edges(&kept)
            .filter(|e| e.stated.is_none() && matches!(self.graph.nodes[e.to], Node::Atom(_)))
            .map(|e| e.from)
            .collect();
        requirers
            .into_iter()
            .filter_map(|n| {
                let node = &self.graph.nodes[n];
                Some(format!("{} {}", node.name(), node.version()?))
            })
            .collect()
    }

    /// The edges between kept nodes.
    fn kept_edges<'g>(&'g self, kept: &'g [bool]) -> impl Iterator<Item = &'g Edge> {
        self.graph
            .edges
            .iter()
            .filter(move |e| kept[e.from] && kept[e.to])
    }

    fn json(&self, targets: Option<&[usize]>) -> JsonTree {
        let kept = self.kept(targets);
        let nodes = (0..self.graph.nodes.len())
            .filter(|&n| kept[n])
            .map(|n| {
                let node = &self.graph.nodes[n];
                let mut j = JsonNode {
                    key: self.key(n),
                    kind: "atom",
                    label: None,
                    name: None,
                    version: node.version().map(ToString::to_string),
                    id: None,
                    source: self.source(n),
                    commit: None,
                    tree: None,
                    format: None,
                    locked: None,
                };
                match node {
                    Node::Root { label, id, .. } => {
                        j.label = Some(label.to_string());
                        j.id = id.map(|i| i.to_string());
                        j.format = Some(atom_lib::Format::Atom1.name());
                    }
                    Node::Atom(a) => {
                        j.label = Some(a.label.to_string());
                        j.id = Some(a.id.to_string());
                        j.commit = Some(a.commit.to_string());
                        j.tree = Some(a.tree.to_string());
                        j.format = Some(a.format.name());
                    }
                    Node::Pin(p) => {
                        j.kind = "pin";
                        j.name = Some(p.name.to_string());
                        j.locked = Some(atom_lib::resolve::pins::locked_pin(p));
                    }
                    Node::Src(s) => {
                        j.kind = "src";
                        j.name = Some(s.name.to_string());
                        j.locked = Some(atom_lib::resolve::pins::locked_src(s));
                    }
                }
                j
            })
            .collect();
        let edges = self
            .kept_edges(&kept)
            .map(|e| JsonEdge {
                from: self.key(e.from),
                to: self.key(e.to),
                name: e.name.to_string(),
                requirement: e.stated.as_ref().map(ToString::to_string),
            })
            .collect();
        JsonTree {
            root: self.key(ROOT),
            targets: targets.map(|t| t.iter().map(|&n| self.key(n)).collect()),
            nodes,
            edges,
        }
    }

    /// The tree below the locking atom, each atom in full once.
    fn tree(&self, width: Option<usize>) -> String {
        let mut out = String::new();
        push_line(&mut out, "", "", &self.line(ROOT), width);
        let mut shown = BTreeSet::from([ROOT]);
        self.below(ROOT, "", 1, &mut shown, &mut out, width);
        out
    }

    fn below(
        &self,
        node: usize,
        prefix: &str,
        level: usize,
        shown: &mut BTreeSet<usize>,
        out: &mut String,
        width: Option<usize>,
    ) {
        if self.depth.is_some_and(|max| level > max) {
            return;
        }
        let children: Vec<&Edge> = self.graph.children(node).collect();
        for (i, edge) in children.iter().enumerate() {
            let last = i + 1 == children.len();
            let (branch, rest) = branches(last);
            let again = shown.contains(&edge.to);
            let mut text = self.line(edge.to);
            if edge.name.as_str() != self.graph.nodes[edge.to].name() {
                text.push_str(&format!(" as {}", edge.name));
            }
            if again {
                text.push_str(" (*)");
            }
            let inner = format!("{prefix}{rest}");
            push_line(out, &format!("{prefix}{branch}"), &inner, &text, width);
            if !again {
                shown.insert(edge.to);
                self.below(edge.to, &inner, level + 1, shown, out, width);
            }
        }
    }

    /// For each target, every path to it from the locking atom, upside down: the target, then
    /// its requirers, each with what it requires, down to the locking atom.
    fn inverted(&self, targets: &[usize], width: Option<usize>) -> String {
        let mut out = String::new();
        for (i, &target) in targets.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            push_line(&mut out, "", "", &self.line(target), width);
            self.above(target, "", 1, &mut vec![target], &mut out, width);
        }
        out
    }

    fn above(
        &self,
        node: usize,
        prefix: &str,
        level: usize,
        path: &mut Vec<usize>,
        out: &mut String,
        width: Option<usize>,
    ) {
        if self.depth.is_some_and(|max| level > max) {
            return;
        }
        let parents: Vec<&Edge> = self.graph.parents(node).collect();
        for (i, edge) in parents.iter().enumerate() {
            let last = i + 1 == parents.len();
            let (branch, rest) = branches(last);
            let mut text = self.line(edge.from);
            if let Some(stated) = &edge.stated {
                text.push_str(&format!(" requires {}", escaped(&stated.to_string())));
            }
            if edge.name.as_str() != self.graph.nodes[node].name() {
                text.push_str(&format!(" as {}", edge.name));
            }
            // A cycle (atoms requiring each other) ends where it closes.
            let cycle = path.contains(&edge.from);
            if cycle {
                text.push_str(" (*)");
            }
            let inner = format!("{prefix}{rest}");
            push_line(out, &format!("{prefix}{branch}"), &inner, &text, width);
            if !cycle {
                path.push(edge.from);
                self.above(edge.from, &inner, level + 1, path, out, width);
                path.pop();
            }
        }
    }

    /// Graphviz DOT of the kept nodes and edges: atoms as boxes (the locking atom bold), pins
    /// as components, sources as notes; each edge labelled with its name and requirement.
    fn dot(&self, targets: Option<&[usize]>) -> String {
        let kept = self.kept(targets);
        let mut out = String::from(
            "digraph atoms {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\"];\n",
        );
        for (n, node) in self
            .graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(n, _)| kept[*n])
        {
            let source = self.source(n);
            let (label, attributes) = match node {
                Node::Root { label, version, .. } => (
                    format!("{label}\n{version}\n{source}"),
                    "shape=box, style=bold",
                ),
                Node::Atom(a) => (format!("{}\n{}\n{source}", a.label, a.version), "shape=box"),
                Node::Pin(p) => (format!("pin {}\n{source}", p.name), "shape=component"),
                Node::Src(s) => (format!("src {}\n{source}", s.name), "shape=note"),
            };
            out.push_str(&format!(
                "  n{n} [label={}, {attributes}];\n",
                dot_string(&label)
            ));
        }
        for e in self.kept_edges(&kept) {
            let label = match &e.stated {
                Some(stated) => format!("{} {stated}", e.name),
                None => e.name.to_string(),
            };
            out.push_str(&format!(
                "  n{} -> n{} [label={}];\n",
                e.from,
                e.to,
                dot_string(&label)
            ));
        }
        out.push_str("}\n");
        out
    }
}

/// The connector of a child and the prefix below it.
fn branches(last: bool) -> (&'static str, &'static str) {
    if last {
        ("└── ", "    ")
    } else {
        ("├── ", "│   ")
    }
}

/// Appends `text` after `first`, wrapped between words to `width` (by display width, as the
/// tables do), continuation lines after `rest`.
fn push_line(out: &mut String, first: &str, rest: &str, text: &str, width: Option<usize>) {
    let lines = match width {
        // Continuation lines take two more columns.
        Some(w) => output::wrap(text, w.saturating_sub(output::width(first) + 2).max(20)),
        None => vec![text.to_owned()],
    };
    for (i, line) in lines.iter().enumerate() {
        out.push_str(if i == 0 { first } else { rest });
        if i > 0 {
            // Continuation lines are indented under the line's text.
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
}

/// A DOT quoted string: `"` and `\` escaped, line breaks as `\n`.
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_labels_wrap_by_display_width() {
        let mut out = String::new();
        let text = "ひらがな 1.0.0 (git://example.org/r.git)";
        push_line(&mut out, "│   ├── ", "│   │   ", text, Some(40));
        for line in out.lines() {
            assert!(output::width(line) <= 40, "{out}");
        }
        assert_eq!(
            out,
            "│   ├── ひらがな 1.0.0\n│   │     (git://example.org/r.git)\n"
        );
        let mut one = String::new();
        push_line(&mut one, "└── ", "    ", text, None);
        assert_eq!(one, format!("└── {text}\n"));
    }

    #[test]
    fn dot_strings_are_quoted() {
        assert_eq!(dot_string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
