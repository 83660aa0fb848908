//! Editing a manifest in place: what `git atom add` and `git atom remove` write.
//!
//! The document keeps everything it does not touch byte for byte: comments, blank lines, key
//! order and quoting. A replaced entry keeps its place and the comment above its header; a new
//! entry goes after the last entry of its section.

use std::fmt;

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::{parse_toml, Dep, Manifest, ManifestError, Name, Pin, Src, SrcVersion};

/// An `atom.toml` open for editing.
#[derive(Debug, Clone)]
pub struct ManifestDocument {
    doc: DocumentMut,
    path: String,
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The name is already used by the other `from.<name>` section.
    #[error("`{name}` is already declared in `[{section}.{name}]`; `deps` and `pins` share the `from` scope")]
    NameTaken {
        /// The name.
        name: Name,
        /// The section holding it (`deps` or `pins`).
        section: &'static str,
    },
    /// The section exists but is not a table (`deps = 3`).
    #[error("`{section}` is not a table")]
    NotATable {
        /// The section.
        section: &'static str,
    },
}

impl ManifestDocument {
    /// Opens a manifest for editing; it must be valid ([`Manifest::parse`]).
    pub fn parse(text: &str, path: &str) -> Result<Self, ManifestError> {
        Manifest::parse(text.as_bytes(), path)?;
        let doc = parse_toml(text, path)?.into_mut();
        Ok(ManifestDocument {
            doc,
            path: path.to_owned(),
        })
    }

    /// The manifest as the document now reads (edits can make it invalid, for example by
    /// removing a dependency that `[provide]` names).
    pub fn manifest(&self) -> Result<Manifest, ManifestError> {
        Manifest::parse(self.to_string().as_bytes(), &self.path)
    }

    /// Adds `[deps.<name>]`, or replaces it in place.
    pub fn set_dep(&mut self, name: &Name, dep: &Dep) -> Result<(), EditError> {
        self.refuse_other("deps", "pins", name)?;
        let mut fields: Vec<(&str, Value)> = Vec::new();
        match dep {
            Dep::Atom(atom) => {
                fields.push(("url", atom.url.to_string().into()));
                fields.push(("version", atom.version.to_string().into()));
                if let Some(label) = &atom.label {
                    fields.push(("label", label.as_str().into()));
                }
                if !atom.mirrors.is_empty() {
                    let mirrors: Array = atom.mirrors.iter().map(|m| m.to_string()).collect();
                    fields.push(("mirrors", mirrors.into()));
                }
            }
            Dep::Path(path) => fields.push(("path", path.as_str().into())),
        }
        self.set("deps", name, fields)
    }

    /// Removes `[deps.<name>]`; whether it was there.
    pub fn remove_dep(&mut self, name: &Name) -> bool {
        self.remove("deps", name)
    }

    /// Adds `[pins.<name>]`, or replaces it in place.
    pub fn set_pin(&mut self, name: &Name, pin: &Pin) -> Result<(), EditError> {
        self.refuse_other("pins", "deps", name)?;
        let mut fields: Vec<(&str, Value)> = Vec::new();
        match pin {
            Pin::Git { git, reference, .. } => {
                fields.push(("git", git.to_string().into()));
                fields.push(("ref", reference.as_str().into()));
            }
            Pin::Tarball { url, .. } => fields.push(("url", url.as_str().into())),
        }
        if let Some(entry) = pin.entry() {
            fields.push(("entry", entry.as_str().into()));
        }
        self.set("pins", name, fields)
    }

    /// Removes `[pins.<name>]`; whether it was there.
    pub fn remove_pin(&mut self, name: &Name) -> bool {
        self.remove("pins", name)
    }

    /// Adds `[srcs.<name>]`, or replaces it in place.
    pub fn set_src(&mut self, name: &Name, src: &Src) -> Result<(), EditError> {
        let mut fields: Vec<(&str, Value)> = Vec::new();
        match src {
            Src::Url { url, version } => {
                fields.push(("url", url.as_str().into()));
                match version {
                    Some(SrcVersion::AtomVersion) => {
                        fields.push(("version", "${atom.version}".into()))
                    }
                    Some(SrcVersion::Literal(v)) => fields.push(("version", v.as_str().into())),
                    None => {}
                }
            }
            Src::Git { git, reference } => {
                fields.push(("git", git.to_string().into()));
                fields.push(("ref", reference.as_str().into()));
            }
            Src::Path(path) => fields.push(("path", path.as_str().into())),
        }
        self.set("srcs", name, fields)
    }

    /// Removes `[srcs.<name>]`; whether it was there.
    pub fn remove_src(&mut self, name: &Name) -> bool {
        self.remove("srcs", name)
    }

    fn refuse_other(
        &self,
        _section: &'static str,
        other: &'static str,
        name: &Name,
    ) -> Result<(), EditError> {
        let taken = self
            .doc
            .get(other)
            .and_then(Item::as_table_like)
            .is_some_and(|t| t.contains_key(name.as_str()));
        if taken {
            return Err(EditError::NameTaken {
                name: name.clone(),
                section: other,
            });
        }
        Ok(())
    }

    fn set(
        &mut self,
        section: &'static str,
        name: &Name,
        fields: Vec<(&str, Value)>,
    ) -> Result<(), EditError> {
        // The position after every table so far, for a new section or entry.
        let next_position = self.last_position() + 1;
        let root = self.doc.as_table_mut();
        if !root.contains_key(section) {
            let mut table = Table::new();
            table.set_implicit(true);
            table.set_position(next_position);
            root.insert(section, Item::Table(table));
        }
        let entries = root
            .get_mut(section)
            .and_then(Item::as_table_like_mut)
            .ok_or(EditError::NotATable { section })?;
        // A new entry goes right after the last one of its section.
        let after_siblings = entries
            .iter()
            .filter_map(|(_, item)| item.as_table().and_then(Table::position))
            .max()
            .map_or(next_position, |p| p + 1);
        match entries.get_mut(name.as_str()) {
            Some(Item::Table(table)) => {
                table.clear();
                for (key, value) in fields {
                    table.insert(key, Item::Value(value));
                }
            }
            Some(Item::Value(Value::InlineTable(inline))) => {
                inline.clear();
                for (key, value) in fields {
                    inline.insert(key, value);
                }
                inline.fmt();
            }
            _ => {
                let mut table = Table::new();
                for (key, value) in fields {
                    table.insert(key, Item::Value(value));
                }
                table.set_position(after_siblings);
                // Later tables move down one place to make room.
                shift_positions(self.doc.as_table_mut(), after_siblings);
                let entries = self
                    .doc
                    .as_table_mut()
                    .get_mut(section)
                    .and_then(Item::as_table_like_mut)
                    .ok_or(EditError::NotATable { section })?;
                entries.insert(name.as_str(), Item::Table(table));
            }
        }
        Ok(())
    }

    fn remove(&mut self, section: &str, name: &Name) -> bool {
        let Some(entries) = self
            .doc
            .as_table_mut()
            .get_mut(section)
            .and_then(Item::as_table_like_mut)
        else {
            return false;
        };
        let removed = entries.remove(name.as_str()).is_some();
        let empty = entries.is_empty();
        if removed && empty {
            // Leave no empty `[deps]` header behind when it was only implied.
            let implicit = self
                .doc
                .get(section)
                .and_then(Item::as_table)
                .is_some_and(Table::is_implicit);
            if implicit {
                self.doc.as_table_mut().remove(section);
            }
        }
        removed
    }

    fn last_position(&self) -> usize {
        fn walk(table: &Table, max: &mut usize) {
            if let Some(p) = table.position() {
                *max = (*max).max(p);
            }
            for (_, item) in table.iter() {
                match item {
                    Item::Table(t) => walk(t, max),
                    Item::ArrayOfTables(a) => {
                        for t in a.iter() {
                            walk(t, max);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut max = 0;
        walk(self.doc.as_table(), &mut max);
        max
    }
}

/// Moves every table at `from` or later one place down.
fn shift_positions(table: &mut Table, from: usize) {
    if let Some(p) = table.position() {
        if p >= from {
            table.set_position(p + 1);
        }
    }
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(t) => shift_positions(t, from),
            Item::ArrayOfTables(a) => {
                for t in a.iter_mut() {
                    shift_positions(t, from);
                }
            }
            _ => {}
        }
    }
}

impl fmt::Display for ManifestDocument {
    /// The document's text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.doc.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{AtomDep, RelPath};

    const TEXT: &str = r#"# My atom.
[atom]
id = "mine"   # the label
version = "0.1.0"

# The std library.
[deps.std]
url = "https://github.com/ekala-project/atom"
version = "^1"

[pins.pkgs]  # nixpkgs
git = "https://github.com/NixOS/nixpkgs"
ref = "nixos-25.05"

[platform]
supported = ["x86_64-linux"]
"#;

    fn name(s: &str) -> Name {
        s.parse().unwrap()
    }

    fn atom_dep(url: &str, version: &str) -> Dep {
        Dep::Atom(AtomDep {
            url: crate::uri::Address::parse(url, &crate::uri::Aliases::empty()).unwrap(),
            version: version.parse().unwrap(),
            label: None,
            mirrors: vec![],
        })
    }

    #[test]
    fn untouched_document_is_identical() {
        let doc = ManifestDocument::parse(TEXT, "atom.toml").unwrap();
        assert_eq!(doc.to_string(), TEXT);
    }

    #[test]
    fn add_goes_after_the_last_dep_and_keeps_comments() {
        let mut doc = ManifestDocument::parse(TEXT, "atom.toml").unwrap();
        doc.set_dep(&name("lib"), &atom_dep("https://example.org/lib", "2.1"))
            .unwrap();
        let expected = TEXT.replace(
            "version = \"^1\"\n",
            "version = \"^1\"\n\n[deps.lib]\nurl = \"https://example.org/lib\"\nversion = \"^2.1\"\n",
        );
        assert_eq!(doc.to_string(), expected);
        assert!(doc.manifest().unwrap().deps.contains_key(&name("lib")));
    }

    #[test]
    fn replace_keeps_place_and_comment() {
        let mut doc = ManifestDocument::parse(TEXT, "atom.toml").unwrap();
        doc.set_dep(&name("std"), &Dep::Path(RelPath::new("../std").unwrap()))
            .unwrap();
        let expected = TEXT.replace(
            "url = \"https://github.com/ekala-project/atom\"\nversion = \"^1\"\n",
            "path = \"../std\"\n",
        );
        assert_eq!(doc.to_string(), expected);
    }

    #[test]
    fn remove_and_add_to_an_empty_manifest() {
        let mut doc =
            ManifestDocument::parse("[atom]\nid = \"a\"\nversion = \"1.0.0\"\n", "atom.toml")
                .unwrap();
        assert!(!doc.remove_dep(&name("std")));
        doc.set_dep(&name("std"), &atom_dep("https://example.org/std", "1"))
            .unwrap();
        assert_eq!(
            doc.to_string(),
            "[atom]\nid = \"a\"\nversion = \"1.0.0\"\n\n[deps.std]\nurl = \"https://example.org/std\"\nversion = \"^1\"\n"
        );
        assert!(doc.remove_dep(&name("std")));
        assert_eq!(doc.to_string(), "[atom]\nid = \"a\"\nversion = \"1.0.0\"\n");
    }

    #[test]
    fn from_names_are_shared() {
        let mut doc = ManifestDocument::parse(TEXT, "atom.toml").unwrap();
        assert_eq!(
            doc.set_dep(&name("pkgs"), &atom_dep("https://example.org/p", "1"))
                .unwrap_err()
                .to_string(),
            "`pkgs` is already declared in `[pins.pkgs]`; `deps` and `pins` share the `from` scope"
        );
        assert!(doc.remove_pin(&name("pkgs")));
        doc.set_dep(&name("pkgs"), &atom_dep("https://example.org/p", "1"))
            .unwrap();
        doc.manifest().unwrap();
    }
}
