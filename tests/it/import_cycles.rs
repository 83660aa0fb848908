//! No import cycles between the source files of the workspace's crates.
//!
//! A file imports another when it names an item through a `crate::`, `super::` or `self::` path
//! (in a `use` or inline in the code) that resolves to the other file's module, or through
//! another workspace crate (`atom_lib::x::y`). A `mod x;` declaration is not an import, nor is a
//! parent naming its child as `x::y` (the child is part of the parent's own interface). Comments,
//! doc comments, string literals and the `#[cfg(test)] mod tests { ... }` at the end of a file are
//! left out. The files that import each other, directly or through others, are found as the
//! strongly connected components of that graph (Tarjan's algorithm).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Cycles tolerated while they are being removed. Empty: the workspace has none, and a new one
/// fails the test. Should one ever have to be tolerated for a merge, list the exact set of files
/// of that cycle (an entry that no longer matches a cycle fails too: delete it, never widen it).
const ALLOWED: &[&[&str]] = &[];

#[test]
fn no_import_cycle_in_the_workspace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace");
    let sources = workspace_sources(root);
    assert!(
        sources.iter().any(|s| s.path == "atom-lib/src/verify.rs"),
        "the workspace's sources were not found under {}",
        root.display()
    );
    let graph = Graph::new(&sources);
    let cycles = graph.cycles();
    let allowed: Vec<BTreeSet<String>> = ALLOWED
        .iter()
        .map(|c| c.iter().map(|f| (*f).to_owned()).collect())
        .collect();
    let new: Vec<&BTreeSet<String>> = cycles.iter().filter(|c| !allowed.contains(c)).collect();
    let stale: Vec<&BTreeSet<String>> = allowed.iter().filter(|a| !cycles.contains(a)).collect();
    let mut report = String::new();
    for cycle in &new {
        report.push_str(&format!("import cycle:\n{}", graph.describe(cycle)));
    }
    for entry in &stale {
        report.push_str(&format!(
            "ALLOWED lists a cycle that no longer exists as such; remove the entry: {entry:?}\n"
        ));
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn a_cycle_is_found_and_named() {
    let sources = [
        source("a", "src/lib.rs", "pub mod x;\npub mod y;\npub mod z;\n"),
        source("a", "src/x.rs", "use crate::y::Why;\npub struct Ex;\n"),
        source(
            "a",
            "src/y.rs",
            "pub struct Why;\nfn f() { super::z::g() }\n",
        ),
        source("a", "src/z.rs", "pub fn g() -> crate::x::Ex { todo!() }\n"),
    ];
    let graph = Graph::new(&sources);
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(
        graph.describe(&cycles[0]),
        "  a/src/x.rs -> a/src/y.rs: Why\n  a/src/y.rs -> a/src/z.rs: g\n  a/src/z.rs -> a/src/x.rs: Ex\n"
    );
}

#[test]
fn a_layered_graph_has_no_cycle() {
    let sources = [
        // The root declares and re-exports its children: not an import.
        source(
            "a",
            "src/lib.rs",
            "pub mod x;\npub mod y;\npub use x::Ex;\n",
        ),
        source(
            "a",
            "src/x.rs",
            "use crate::y::{self, Why};\npub mod inner;\n",
        ),
        source("a", "src/x/inner.rs", "use super::super::y::Why;\n"),
        // Names in comments, strings and the tests at the end are not imports.
        source(
            "a",
            "src/y.rs",
            "//! See [`crate::x`].\npub struct Why;\n/* crate::x::Ex */\n\
             const S: &str = \"crate::x::Ex // \";\nconst R: &str = r#\"crate::x\"#;\n\
             fn f<'a>(c: char) -> bool { c == '\"' }\n\
             #[cfg(test)]\nmod tests {\n    use crate::x::Ex;\n}\n",
        ),
        // Another crate of the workspace names this one's modules: an import, across crates.
        source("b", "src/lib.rs", "use a::x::Ex;\n"),
    ];
    let graph = Graph::new(&sources);
    assert_eq!(graph.cycles(), Vec::<BTreeSet<String>>::new());
    assert!(graph.edges["a/src/x.rs"].contains_key("a/src/y.rs"));
    assert!(graph.edges["a/src/x/inner.rs"].contains_key("a/src/y.rs"));
    assert!(graph.edges["b/src/lib.rs"].contains_key("a/src/x.rs"));
    assert!(!graph.edges.contains_key("a/src/y.rs"), "{:?}", graph.edges);
    assert!(
        !graph.edges.contains_key("a/src/lib.rs"),
        "{:?}",
        graph.edges
    );
}

fn source(krate: &str, path: &str, text: &str) -> Source {
    Source {
        krate: krate.to_owned(),
        path: format!("{krate}/{path}"),
        module: module_path(path.strip_prefix("src/").unwrap()),
        text: text.to_owned(),
    }
}

/// One source file of a crate.
#[derive(Debug)]
struct Source {
    /// The crate's name as code names it (`atom_lib`).
    krate: String,
    /// Relative to the workspace root, `/`-separated.
    path: String,
    /// Its module path in the crate (empty for the crate root).
    module: Vec<String>,
    text: String,
}

/// Every `.rs` file under `src/` of each member of the workspace at `root`. A binary's
/// `main.rs` next to a `lib.rs` is a crate of its own (it names the library by the crate's
/// name), so it is left out.
fn workspace_sources(root: &Path) -> Vec<Source> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("the workspace lists its members");
    let mut sources = Vec::new();
    for member in members.split('"').skip(1).step_by(2) {
        let dir = root.join(member);
        let krate = std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .lines()
            .find_map(|l| {
                let value = l.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
                Some(value.trim().trim_matches('"').replace('-', "_"))
            })
            .expect("a package name");
        let src = dir.join("src");
        let has_lib = src.join("lib.rs").exists();
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let rel = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if has_lib && rel == "main.rs" {
                continue;
            }
            sources.push(Source {
                krate: krate.clone(),
                path: format!("{member}/src/{rel}"),
                module: module_path(&rel),
                text: std::fs::read_to_string(&file).unwrap(),
            });
        }
    }
    sources
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `verify/findings.rs` -> `[verify, findings]`; `lib.rs`, `main.rs` -> `[]`; `x/mod.rs` -> `[x]`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .strip_suffix(".rs")
        .unwrap_or(rel)
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts == ["lib"] || parts == ["main"] {
        return Vec::new();
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Which file imports which, and through which names.
#[derive(Debug)]
struct Graph {
    /// importer -> imported -> the names it uses there.
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Graph {
    fn new(sources: &[Source]) -> Self {
        let files: BTreeMap<(&str, &[String]), &str> = sources
            .iter()
            .map(|s| ((s.krate.as_str(), s.module.as_slice()), s.path.as_str()))
            .collect();
        let crates: BTreeSet<&str> = sources.iter().map(|s| s.krate.as_str()).collect();
        let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for s in sources {
            for path in paths(&code(&s.text)) {
                let segs: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
                let (krate, mut base, rest): (&str, Vec<String>, &[&str]) = match segs[0] {
                    "crate" => (&s.krate, Vec::new(), &segs[1..]),
                    "self" => (&s.krate, s.module.clone(), &segs[1..]),
                    "super" => {
                        let ups = segs.iter().take_while(|p| **p == "super").count();
                        let keep = s.module.len().saturating_sub(ups);
                        (&s.krate, s.module[..keep].to_vec(), &segs[ups..])
                    }
                    other if crates.contains(other) && other != s.krate => {
                        (other, Vec::new(), &segs[1..])
                    }
                    _ => continue,
                };
                let base_len = base.len();
                base.extend(rest.iter().map(|p| (*p).to_owned()));
                // The longest prefix of the path that is a file's module.
                let found = (base_len..=base.len()).rev().find_map(|n| {
                    let target = files.get(&(krate, &base[..n]))?;
                    let name = rest.get(n - base_len).copied().unwrap_or("*");
                    Some((*target, name))
                });
                if let Some((target, name)) = found {
                    if target != s.path {
                        edges
                            .entry(s.path.clone())
                            .or_default()
                            .entry(target.to_owned())
                            .or_default()
                            .insert(name.to_owned());
                    }
                }
            }
        }
        Graph { edges }
    }

    /// The sets of files that import each other, directly or through others.
    fn cycles(&self) -> Vec<BTreeSet<String>> {
        let mut tarjan = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            found: Vec::new(),
        };
        for node in self.edges.keys() {
            if !tarjan.index.contains_key(node.as_str()) {
                tarjan.visit(node);
            }
        }
        let mut found = tarjan.found;
        found.sort();
        found
    }

    /// The imports within `cycle`, one per line: `  a.rs -> b.rs: Name, Other`.
    fn describe(&self, cycle: &BTreeSet<String>) -> String {
        let mut out = String::new();
        for from in cycle {
            for (to, names) in self.edges.get(from).into_iter().flatten() {
                if cycle.contains(to) {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    out.push_str(&format!("  {from} -> {to}: {}\n", names.join(", ")));
                }
            }
        }
        out
    }
}

/// Tarjan's strongly connected components; components of more than one file are cycles.
struct Tarjan<'g> {
    graph: &'g Graph,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    found: Vec<BTreeSet<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, v: &'g str) {
        let n = self.index.len();
        self.index.insert(v, n);
        self.low.insert(v, n);
        self.stack.push(v);
        self.on_stack.insert(v);
        for w in self.graph.edges.get(v).into_iter().flat_map(BTreeMap::keys) {
            let w = w.as_str();
            if !self.index.contains_key(w) {
                self.visit(w);
                let low = self.low[v].min(self.low[w]);
                self.low.insert(v, low);
            } else if self.on_stack.contains(w) {
                let low = self.low[v].min(self.index[w]);
                self.low.insert(v, low);
            }
        }
        if self.low[v] == self.index[v] {
            let mut component = BTreeSet::new();
            loop {
                let w = self.stack.pop().expect("v is on the stack");
                self.on_stack.remove(w);
                component.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                self.found.push(component);
            }
        }
    }
}

/// The code of a file without comments, without the contents of string and character literals,
/// and without the `#[cfg(test)] mod ... { ... }` that ends it.
fn code(text: &str) -> String {
    let cs: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < cs.len() {
                if cs[i] == '/' && cs.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if cs[i] == '*' && cs.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !in_word(&cs[..i]) {
            // A raw string: r"...", r#"..."#.
            let hashes = cs[i + 1..].iter().take_while(|c| **c == '#').count();
            if cs.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < cs.len() {
                if cs[i] == '"'
                    && cs[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < cs.len() && cs[i] != '"' {
                i += if cs[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{1F600}'.
            i += 2;
            while i < cs.len() && cs[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && cs.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    // The tests at the end of a file may import anything of the crate.
    let mut end = out.len();
    let mut search = 0;
    while let Some(at) = out[search..].find("#[cfg(test)]") {
        let at = search + at;
        let after = out[at + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") && after.split('{').next().is_some_and(|h| !h.contains(';')) {
            end = at;
            break;
        }
        search = at + 1;
    }
    out.truncate(end);
    out
}

/// Every path the code names: each `use` expanded (`use a::{b, c::{d, e}}` -> `a::b`, `a::c::d`,
/// `a::c::e`), and each inline path of two segments or more.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = String::new();
    let mut remaining = code;
    while let Some(at) = find_use(remaining) {
        rest.push_str(&remaining[..at]);
        let body_start = at + "use".len();
        let Some(len) = remaining[body_start..].find(';') else {
            break;
        };
        expand("", &remaining[body_start..body_start + len], &mut out);
        remaining = &remaining[body_start + len + 1..];
    }
    rest.push_str(remaining);
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = (chars[i].is_alphabetic() || chars[i] == '_')
            && !(i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
            && !(i > 1 && chars[i - 1] == ':' && chars[i - 2] == ':');
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut path = String::new();
        loop {
            let s = j;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            path.extend(&chars[s..j]);
            if chars.get(j) == Some(&':')
                && chars.get(j + 1) == Some(&':')
                && chars
                    .get(j + 2)
                    .is_some_and(|c| c.is_alphabetic() || *c == '_')
            {
                path.push_str("::");
                j += 2;
            } else {
                break;
            }
        }
        if path.contains("::") {
            out.push(path);
        }
        i = j.max(i + 1);
    }
    out
}

/// Whether the text before a character ends in a word (a byte string's `b` aside), so that an
/// `r` there is no raw string's start.
fn in_word(before: &[char]) -> bool {
    let word = |c: &char| c.is_alphanumeric() || *c == '_';
    match before {
        [.., p, 'b'] => word(p),
        [.., p] => word(p),
        [] => false,
    }
}

/// Where the next `use` item starts: the keyword as a whole word.
fn find_use(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = code[from..].find("use") {
        let at = from + at;
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let before = code[..at].chars().last().is_some_and(word);
        let after = code[at + 3..]
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace());
        if !before && !after {
            return Some(at);
        }
        from = at + 3;
    }
    None
}

/// Expands the use tree `tree` under `prefix` into full paths; `self` in a group names the
/// group's module, and a rename (`as`) does not change what is imported.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
        let full = format!("{prefix}{path}");
        let full = full.strip_suffix("::self").unwrap_or(&full).to_owned();
        let full = full.strip_prefix("::").unwrap_or(&full).to_owned();
        if !full.is_empty() {
            out.push(full);
        }
        return;
    };
    let head: String = tree[..open]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let close = tree.rfind('}').unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{head}"), &inner[start..k], out);
                start = k + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand(&format!("{prefix}{head}"), &inner[start..], out);
    }
}
