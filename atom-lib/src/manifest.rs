//! The atom manifest, `atom.toml`, specified normatively in `docs/manifest.md`.
//!
//! [`Manifest::parse`] reads the whole manifest into typed values and refuses anything the
//! specification does not allow, naming the file, line, column and key. [`Identity`] reads only
//! `[atom] id` and `version`, leniently, as readers of published atoms must (`docs/format.md`).
//! [`ManifestDocument`] edits a manifest in place, keeping its comments and layout.
//!
//! ```
//! use atom_lib::manifest::{Dep, Manifest};
//!
//! let text = r#"
//! [atom]
//! id = "mine"
//! version = "0.1.0"
//!
//! [deps.std]
//! url = "https://github.com/ekala-project/atom"
//! version = "1.2"
//! "#;
//! let manifest = Manifest::parse(text.as_bytes(), "atom.toml").unwrap();
//! let Dep::Atom(std) = &manifest.deps[&"std".parse().unwrap()] else { panic!() };
//! assert_eq!(std.version.to_string(), "^1.2");
//!
//! let typo = "[atom]\nid = \"mine\"\nverison = \"0.1.0\"\n";
//! assert_eq!(
//!     Manifest::parse(typo.as_bytes(), "atom.toml").unwrap_err().to_string(),
//!     "atom.toml:3:1: unknown key `atom.verison`; did you mean `version`?",
//! );
//! ```

mod document;
mod identity;
pub mod license;
pub mod platform;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use toml_edit::{Item, TableLike};

pub use document::{EditError, ManifestDocument};
pub use identity::{Identity, Schema};

use crate::uri::{Address, Aliases, Requirement};
use crate::{Label, LabelError, Version, VersionError};
use license::{License, LicenseError};
use platform::{PlatformError, Triple};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "atom.toml";

/// A whole, validated `atom.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `[atom] id`, normalised.
    pub label: Label,
    /// `[atom] version`.
    pub version: Version,
    /// `[atom] type`; `nix:package` when absent.
    pub kind: AtomType,
    /// `[atom.meta]`.
    pub meta: Meta,
    /// `[deps.<name>]`: eval-time atom dependencies, seen as `from.<name>`.
    pub deps: BTreeMap<Name, Dep>,
    /// `[pins.<name>]`: eval-time legacy Nix libraries, seen as `from.<name>`.
    pub pins: BTreeMap<Name, Pin>,
    /// `[srcs.<name>]`: build-time sources, seen as `get.<name>`.
    pub srcs: BTreeMap<Name, Src>,
    /// `[platform]`.
    pub platform: Platform,
    /// `[provide]`: abstract packages, each a list of candidate dependencies (the first is the
    /// default).
    pub provide: BTreeMap<Name, Vec<Name>>,
    /// `[support]`: dependency-free variations.
    pub support: BTreeMap<Name, Support>,
    /// `[dist]`.
    pub dist: Dist,
}

/// `[atom] type`: what kind of atom this is, which decides its configuration schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AtomType {
    /// `nix:package`: a package (the default).
    #[default]
    NixPackage,
    /// `nix:config`: a configuration (for example NixOS modules).
    NixConfig,
    /// `nix:deployment`: a deployment.
    NixDeployment,
}

impl AtomType {
    /// Every type, as written.
    pub const ALL: &'static [&'static str] = &["nix:package", "nix:config", "nix:deployment"];

    /// The type as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            AtomType::NixPackage => "nix:package",
            AtomType::NixConfig => "nix:config",
            AtomType::NixDeployment => "nix:deployment",
        }
    }
}

impl FromStr for AtomType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "nix:package" => AtomType::NixPackage,
            "nix:config" => AtomType::NixConfig,
            "nix:deployment" => AtomType::NixDeployment,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for AtomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[atom.meta]`: facts for people and indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// One line saying what the atom is.
    pub description: Option<String>,
    /// The license, an SPDX expression.
    pub license: Option<License>,
    /// Who looks after it, as `name <email>` strings.
    pub maintainers: Vec<String>,
    /// Its web page (an `http` or `https` URL).
    pub homepage: Option<String>,
}

/// A dependency or option name: a valid Nix attribute name, since it is seen as `from.<name>`,
/// `get.<name>` or an option.
///
/// An ASCII letter or `_`, then letters, digits, `_`, `'` or `-`; not a Nix keyword.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Nix's keywords, which cannot be written as a bare attribute name.
const NIX_KEYWORDS: &[&str] = &[
    "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with",
];

/// Why a string is not a [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, or a bad first character.
    #[error("invalid name `{name}`: must start with an ASCII letter or `_`")]
    Start {
        /// The name.
        name: String,
    },
    /// A character that Nix does not allow in a bare attribute name.
    #[error("invalid name `{name}`: {found:?} is not allowed (ASCII letters, digits, `_`, `'` and `-` only)")]
    Char {
        /// The name.
        name: String,
        /// The character.
        found: char,
    },
    /// A Nix keyword.
    #[error("invalid name `{name}`: a Nix keyword")]
    Keyword {
        /// The name.
        name: String,
    },
}

impl Name {
    /// Validates a name.
    pub fn new(input: &str) -> Result<Self, NameError> {
        let name = || input.escape_debug().to_string();
        let mut chars = input.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return Err(NameError::Start { name: name() }),
        }
        if let Some(found) =
            chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-')))
        {
            return Err(NameError::Char {
                name: name(),
                found,
            });
        }
        if NIX_KEYWORDS.contains(&input) {
            return Err(NameError::Keyword { name: name() });
        }
        Ok(Name(input.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::new(s)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[deps.<name>]`: an atom this atom's Nix code uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep {
    /// An atom of another (or the same) repository, found by URL.
    Atom(AtomDep),
    /// Another atom of the same repository, by its directory relative to this atom's.
    Path(RelPath),
}

/// An atom dependency found by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomDep {
    /// The repository, fully expanded (never an alias).
    pub url: Address,
    /// Which versions will do (a bare `1.2` means `^1.2`).
    pub version: Requirement,
    /// The atom's label, when it differs from the dependency's name.
    pub label: Option<Label>,
    /// Other addresses of the same repository, tried when `url` does not answer.
    pub mirrors: Vec<Address>,
}

impl AtomDep {
    /// The label to look up: `label`, or else the dependency's name.
    pub fn label_for(&self, name: &Name) -> Result<Label, LabelError> {
        match &self.label {
            Some(label) => Ok(label.clone()),
            None => Label::new(name.as_str()),
        }
    }
}

/// `[pins.<name>]`: a legacy Nix library (not an atom), imported through its entry file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// A git repository at a ref.
    Git {
        /// The repository, fully expanded.
        git: Address,
        /// The branch, tag or commit to follow.
        reference: GitRef,
        /// The file to import, relative to the repository's root.
        entry: Option<RelPath>,
    },
    /// A tarball.
    Tarball {
        /// Where to download it.
        url: Url,
        /// The file to import, relative to the unpacked tarball's root.
        entry: Option<RelPath>,
    },
}

impl Pin {
    /// The file to import, if one is named.
    pub fn entry(&self) -> Option<&RelPath> {
        match self {
            Pin::Git { entry, .. } | Pin::Tarball { entry, .. } => entry.as_ref(),
        }
    }
}

/// `[srcs.<name>]`: a build-time source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Src {
    /// A file or tarball to download; its URL may interpolate its version.
    Url {
        /// The URL, with `${version}`, `${major}`, `${minor}` and `${patch}` placeholders.
        url: UrlTemplate,
        /// The version interpolated into `url`.
        version: Option<SrcVersion>,
    },
    /// A git repository at a ref.
    Git {
        /// The repository, fully expanded.
        git: Address,
        /// The branch, tag or commit to follow.
        reference: GitRef,
    },
    /// A directory (a subatomic, locked by its tree id) or a single file of the same repository.
    Path(RelPath),
}

/// The version of a URL source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrcVersion {
    /// `"${atom.version}"`: the atom's own version.
    AtomVersion,
    /// A version as upstream writes it (`1.2.3`, `2024.01`, `3.1-rc2`).
    Literal(String),
}

impl SrcVersion {
    /// The version string, with `${atom.version}` replaced by `atom`.
    pub fn resolve(&self, atom: &Version) -> String {
        match self {
            SrcVersion::AtomVersion => atom.to_string(),
            SrcVersion::Literal(v) => v.clone(),
        }
    }
}

/// A URL with `${...}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(String);

/// The placeholders a [`UrlTemplate`] may use.
pub const URL_PLACEHOLDERS: &[&str] = &["version", "major", "minor", "patch"];

impl UrlTemplate {
    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholders used, in order of appearance (`version`, `major`, ...).
    pub fn placeholders(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.push(&rest[start + 2..start + len]);
            rest = &rest[start + len + 1..];
        }
        out
    }

    /// The URL for `version`: `${version}` is the whole version; `${major}`, `${minor}` and
    /// `${patch}` its first three `.`-separated components (before any `-` or `+`). `None` when
    /// the version lacks a component the template uses.
    pub fn interpolate(&self, version: &str) -> Option<String> {
        let core = version.split(['-', '+']).next().unwrap_or(version);
        let parts: Vec<&str> = core.split('.').collect();
        let mut out = self.0.clone();
        for (placeholder, value) in [
            ("version", Some(version)),
            ("major", parts.first().copied()),
            ("minor", parts.get(1).copied()),
            ("patch", parts.get(2).copied()),
        ] {
            let token = format!("${{{placeholder}}}");
            if out.contains(&token) {
                out = out.replace(&token, value.filter(|v| !v.is_empty())?);
            }
        }
        Some(out)
    }
}

impl Src {
    /// The URL to download for a URL source, with its version interpolated; `atom` stands in
    /// for `${atom.version}`.
    pub fn url_for(&self, atom: &Version) -> Option<String> {
        match self {
            Src::Url { url, version } => match version {
                Some(v) => url.interpolate(&v.resolve(atom)),
                None => Some(url.0.clone()),
            },
            _ => None,
        }
    }
}

/// An `http`, `https` or `file` URL (a tarball).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url(String);

impl Url {
    /// Checks the scheme and refuses whitespace and control characters.
    pub fn new(input: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err("must be an `https://`, `http://` or `file://` URL".into());
        };
        if !matches!(scheme, "https" | "http" | "file") {
            return Err(format!(
                "unsupported scheme `{scheme}` (use `https`, `http` or `file`)"
            ));
        }
        if rest.is_empty() {
            return Err("has no host or path".into());
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain whitespace or control characters".into());
        }
        Ok(Url(input.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A git ref to follow: a branch, a tag, a full ref name or a commit id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

impl GitRef {
    /// Applies git's ref-name rules that matter here (no `..`, no whitespace, control
    /// characters, `~^:?*[\`, no leading `-` or `/`, no trailing `/`, `.` or `.lock`).
    pub fn new(input: &str) -> Result<Self, String> {
        if input.is_empty() {
            return Err("must not be empty".into());
        }
        if input.starts_with('-') || input.starts_with('/') {
            return Err("must not start with `-` or `/`".into());
        }
        if input.ends_with('/') || input.ends_with('.') || input.ends_with(".lock") {
            return Err("must not end with `/`, `.` or `.lock`".into());
        }
        if input.contains("..") || input.contains("//") || input.contains("@{") {
            return Err("must not contain `..`, `//` or `@{`".into());
        }
        if let Some(c) = input
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(*c))
        {
            return Err(format!("{c:?} is not allowed in a git ref"));
        }
        Ok(GitRef(input.to_owned()))
    }

    /// The ref as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A relative path with `/` separators (`../other`, `pkgs/top-level/impure.nix`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Refuses absolute paths, empty or `.` components, backslashes and control characters.
    pub fn new(input: &str) -> Result<Self, String> {
        if input.is_empty() {
            return Err("must not be empty".into());
        }
        if input.starts_with('/') {
            return Err("must be relative".into());
        }
        if input.contains('\\') || input.chars().any(char::is_control) {
            return Err("must not contain `\\` or control characters".into());
        }
        if input
            .trim_end_matches('/')
            .split('/')
            .any(|c| c.is_empty() || c == ".")
        {
            return Err("must not have empty or `.` components".into());
        }
        Ok(RelPath(input.trim_end_matches('/').to_owned()))
    }

    /// The path as written (without a trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the path has a `..` component.
    pub fn goes_up(&self) -> bool {
        self.0.split('/').any(|c| c == "..")
    }

    /// The path relative to the repository's root, for an atom at `base` (itself relative to
    /// the root, `""` for the root). `None` when the path leaves the repository.
    ///
    /// ```
    /// use atom_lib::manifest::RelPath;
    /// let p = RelPath::new("../../my/source").unwrap();
    /// assert_eq!(p.resolve("pkgs/foo").as_deref(), Some("my/source"));
    /// assert_eq!(p.resolve("foo"), None);
    /// ```
    pub fn resolve(&self, base: &str) -> Option<String> {
        let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
        for c in self.0.split('/') {
            if c == ".." {
                parts.pop()?;
            } else {
                parts.push(c);
            }
        }
        Some(parts.join("/"))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[platform]`: the systems the atom supports, builds and caches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    /// `supported`, as written.
    pub patterns: Vec<String>,
    /// `supported`, expanded (see [`platform::expand`]), in order.
    pub supported: Vec<Triple>,
}

/// A `[support]` entry: a variation that needs no extra dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// A boolean toggle, with its default.
    Toggle(bool),
    /// Flags injected into the build when requested; off by default.
    Flags(Vec<String>),
}

/// `[dist]`: distribution formats the atom can be shipped as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dist {
    /// `formats`, such as `oci` or `deb`.
    pub formats: Vec<String>,
}

/// Why a manifest could not be read. `path` is the manifest's path as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The file is not UTF-8.
    #[error("{}: not valid UTF-8", crate::escape::escaped(path))]
    Encoding {
        /// The manifest's path.
        path: String,
    },
    /// The file is not valid TOML.
    #[error(
        "{}:{line}:{column}: invalid TOML: {}",
        crate::escape::escaped(path),
        crate::escape::escaped(message)
    )]
    Syntax {
        /// The manifest's path.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A key is unknown, missing, of the wrong type or has a bad value.
    #[error("{}:{line}:{column}: {problem}", crate::escape::escaped(path))]
    Invalid {
        /// The manifest's path.
        path: String,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong.
        problem: Box<Problem>,
    },
    /// [`Identity`]: `[atom]` or one of its keys is missing or has the wrong type.
    #[error("{}: {}", crate::escape::escaped(path), crate::escape::escaped(what))]
    Schema {
        /// The manifest's path.
        path: String,
        /// What is wrong.
        what: String,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// What is wrong at one place of a manifest. `key` is the full dotted key (`deps.std.url`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A key the schema does not have.
    #[error("unknown key `{key}`{}", did_you_mean(suggestion))]
    UnknownKey {
        /// The key.
        key: String,
        /// The nearest known key of the same table, if one is close.
        suggestion: Option<String>,
    },
    /// A required key is absent.
    #[error("missing key `{key}`")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key.
        key: String,
        /// What it must be (`a string`).
        expected: &'static str,
        /// What it is (`integer`).
        found: &'static str,
    },
    /// A value the schema does not allow.
    #[error("`{key}`: invalid value `{value}`: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A value that is not one of a fixed set.
    #[error("`{key}`: unknown value `{value}`{}", did_you_mean(suggestion))]
    UnknownValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The nearest allowed value, if one is close.
        suggestion: Option<String>,
    },
    /// Keys that cannot be used together.
    #[error("`{key}`: `{first}` and `{second}` cannot be used together")]
    Conflict {
        /// The table.
        key: String,
        /// One key.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A table that lacks the keys that say what kind of entry it is.
    #[error("`{key}` needs {expected}")]
    Incomplete {
        /// The table or key.
        key: String,
        /// What it needs, in words (``either `url` and `version`, or `path` ``).
        expected: &'static str,
    },
    /// A name used twice where names must be unique.
    #[error("`{key}`: `{name}` is already declared as `{first}`")]
    Duplicate {
        /// Where the second use is.
        key: String,
        /// The name.
        name: String,
        /// Where the first is.
        first: String,
    },
    /// A name that must be a declared dependency but is not.
    #[error("`{key}`: `{name}` is not a declared dependency (no `[deps.{name}]`)")]
    Undeclared {
        /// Where it is used.
        key: String,
        /// The name.
        name: String,
    },
    /// A bad dependency, source or option name.
    #[error("`{key}`: {error}")]
    Name {
        /// The key.
        key: String,
        /// Why the name is invalid.
        error: NameError,
    },
    /// A bad label.
    #[error("`{key}`: {error}")]
    Label {
        /// The key.
        key: String,
        /// Why the label is invalid.
        error: LabelError,
    },
    /// A bad version.
    #[error("`{key}`: {error}")]
    Version {
        /// The key.
        key: String,
        /// Why the version is invalid.
        error: VersionError,
    },
    /// A bad platform pattern.
    #[error("`{key}`: {error}")]
    Platform {
        /// The key.
        key: String,
        /// Why the pattern is invalid.
        error: PlatformError,
    },
    /// A bad license expression.
    #[error("`{key}`: {error}")]
    License {
        /// The key.
        key: String,
        /// Why the expression is invalid.
        error: LicenseError,
    },
}

/// The nearest of `candidates` to `input`, if it is close enough to be a likely typo: one that
/// differs only in case, one that `input` is a prefix of, or one within a small edit distance.
pub fn suggest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    if let Some(c) = candidates
        .clone()
        .into_iter()
        .find(|c| c.eq_ignore_ascii_case(input))
    {
        return Some(c.to_owned());
    }
    if input.len() >= 3 {
        if let Some(c) = candidates
            .clone()
            .into_iter()
            .filter(|c| {
                c.to_ascii_lowercase()
                    .starts_with(&input.to_ascii_lowercase())
            })
            .min_by_key(|c| c.len())
        {
            return Some(c.to_owned());
        }
    }
    // A long shared beginning (`dependencies` for `deps`).
    let common = |c: &str| {
        c.chars()
            .zip(input.chars())
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .count()
    };
    if let Some(c) = candidates
        .clone()
        .into_iter()
        .filter(|c| common(c) >= 3)
        .max_by_key(|c| common(c))
    {
        return Some(c.to_owned());
    }
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(input, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_owned())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of adjacent characters each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses `text` as TOML for editing or reading, mapping syntax errors.
pub(crate) fn parse_toml(
    text: &str,
    path: &str,
) -> Result<toml_edit::ImDocument<String>, ManifestError> {
    toml_edit::ImDocument::parse(text.to_owned()).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
        ManifestError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: one_line(e.message()),
        }
    })
}

/// The parser's message may span lines ("invalid table header\nexpected ..."): one line, so a
/// message never looks like two diagnostics.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Where errors point: the text and the file's name.
struct Ctx<'a> {
    text: &'a str,
    path: &'a str,
}

type Span = Option<Range<usize>>;

impl Ctx<'_> {
    fn err(&self, span: &Span, problem: Problem) -> ManifestError {
        let (line, column) = span
            .as_ref()
            .map_or((1, 1), |s| line_column(self.text, s.start));
        ManifestError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            problem: Box::new(problem),
        }
    }
}

/// A table being read: its dotted name, its entries, and where it starts.
struct Table<'a> {
    key: String,
    table: &'a dyn TableLike,
    span: Span,
}

/// A value being read: its dotted key, the item, and where it is.
struct Field<'a> {
    key: String,
    item: &'a Item,
    span: Span,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl<'a> Table<'a> {
    /// Refuses keys outside `known`, suggesting the nearest.
    fn only(&self, ctx: &Ctx<'_>, known: &[&str]) -> Result<(), ManifestError> {
        for (key, _) in self.table.iter() {
            if !known.contains(&key) {
                let span = self.table.key(key).and_then(|k| k.span());
                return Err(ctx.err(
                    &span,
                    Problem::UnknownKey {
                        key: join(&self.key, key),
                        suggestion: suggest(key, known.iter().copied()),
                    },
                ));
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Field<'a>> {
        let (k, item) = self.table.get_key_value(key)?;
        Some(Field {
            key: join(&self.key, key),
            item,
            span: item.span().or_else(|| k.span()),
        })
    }

    fn require(&self, ctx: &Ctx<'_>, key: &str) -> Result<Field<'a>, ManifestError> {
        self.get(key).ok_or_else(|| {
            ctx.err(
                &self.span,
                Problem::MissingKey {
                    key: join(&self.key, key),
                },
            )
        })
    }

    fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// The entries, with names checked as [`Name`]s.
    fn named(&self, ctx: &Ctx<'_>) -> Result<Vec<(Name, Field<'a>)>, ManifestError> {
        let mut out = Vec::new();
        for (key, _) in self.table.iter() {
            let field = self.get(key).expect("the key was just listed");
            let name = Name::new(key).map_err(|error| {
                let span = self.table.key(key).and_then(|k| k.span());
                ctx.err(
                    &span.or_else(|| field.span.clone()),
                    Problem::Name {
                        key: field.key.clone(),
                        error,
                    },
                )
            })?;
            out.push((name, field));
        }
        Ok(out)
    }
}

impl<'a> Field<'a> {
    /// This entry's name is already taken by `first`.
    fn duplicate(&self, ctx: &Ctx<'_>, name: &Name, first: String) -> ManifestError {
        ctx.err(
            &self.span,
            Problem::Duplicate {
                key: self.key.clone(),
                name: name.to_string(),
                first,
            },
        )
    }

    fn wrong(&self, ctx: &Ctx<'_>, expected: &'static str) -> ManifestError {
        ctx.err(
            &self.span,
            Problem::WrongType {
                key: self.key.clone(),
                expected,
                found: self.item.type_name(),
            },
        )
    }

    fn table(&self, ctx: &Ctx<'_>) -> Result<Table<'a>, ManifestError> {
        let table = self
            .item
            .as_table_like()
            .ok_or_else(|| self.wrong(ctx, "a table"))?;
        Ok(Table {
            key: self.key.clone(),
            table,
            span: self.span.clone(),
        })
    }

    fn str(&self, ctx: &Ctx<'_>) -> Result<&'a str, ManifestError> {
        self.item
            .as_str()
            .ok_or_else(|| self.wrong(ctx, "a string"))
    }

    fn strings(&self, ctx: &Ctx<'_>) -> Result<Vec<Text<'a>>, ManifestError> {
        let array = self
            .item
            .as_array()
            .ok_or_else(|| self.wrong(ctx, "an array of strings"))?;
        array
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let key = format!("{}[{i}]", self.key);
                match value.as_str() {
                    Some(text) => Ok(Text {
                        key,
                        text,
                        span: value.span(),
                    }),
                    None => Err(ctx.err(
                        &value.span(),
                        Problem::WrongType {
                            key,
                            expected: "a string",
                            found: value.type_name(),
                        },
                    )),
                }
            })
            .collect()
    }

    /// The value as a string, with its key and place.
    fn text(&self, ctx: &Ctx<'_>) -> Result<Text<'a>, ManifestError> {
        Ok(Text {
            key: self.key.clone(),
            text: self.str(ctx)?,
            span: self.span.clone(),
        })
    }
}

/// A string value being read.
struct Text<'a> {
    key: String,
    text: &'a str,
    span: Span,
}

impl Text<'_> {
    fn bad(&self, ctx: &Ctx<'_>, reason: impl Into<String>) -> ManifestError {
        ctx.err(
            &self.span,
            Problem::BadValue {
                key: self.key.clone(),
                value: self.text.escape_debug().to_string(),
                reason: reason.into(),
            },
        )
    }

    fn err(&self, ctx: &Ctx<'_>, problem: Problem) -> ManifestError {
        ctx.err(&self.span, problem)
    }
}

/// The keys of each table, in the order [`ManifestDocument`] writes them.
const TOP_KEYS: &[&str] = &[
    "atom", "deps", "pins", "srcs", "platform", "provide", "support", "dist",
];
const ATOM_KEYS: &[&str] = &["id", "version", "type", "meta"];
const META_KEYS: &[&str] = &["description", "license", "maintainers", "homepage"];
const DEP_KEYS: &[&str] = &["url", "version", "label", "mirrors", "path"];
const PIN_KEYS: &[&str] = &["git", "ref", "url", "entry"];
const SRC_KEYS: &[&str] = &["url", "version", "git", "ref", "path"];

impl Manifest {
    /// Parses and validates a whole manifest; `path` names the file in error messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Self, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::Encoding {
            path: path.to_owned(),
        })?;
        let doc = parse_toml(text, path)?;
        let ctx = Ctx { text, path };
        read(&ctx, doc.as_table())
    }

    /// Reads only the identity (`[atom] id` and `version`, or eka's `[package] label` and
    /// `version`), ignoring everything else, as a reader of published atoms must.
    pub fn parse_schema(
        bytes: &[u8],
        path: &str,
        schema: Schema,
    ) -> Result<Identity, ManifestError> {
        Identity::parse_schema(bytes, path, schema)
    }

    /// The manifest of an eka `pre1` atom (`docs/format.md`, section 9): its `[package] label`
    /// and `version`, and nothing else. The eka tool's other tables are its own, not this
    /// format's: read as none (no dependencies, pins or sources), never as ours.
    pub fn parse_eka(bytes: &[u8], path: &str) -> Result<Self, ManifestError> {
        let Identity { label, version } = Identity::parse_schema(bytes, path, Schema::EkaPackage)?;
        Ok(Manifest {
            label,
            version,
            kind: AtomType::default(),
            meta: Meta::default(),
            deps: BTreeMap::new(),
            pins: BTreeMap::new(),
            srcs: BTreeMap::new(),
            platform: Platform::default(),
            provide: BTreeMap::new(),
            support: BTreeMap::new(),
            dist: Dist::default(),
        })
    }

    /// The label and version.
    pub fn identity(&self) -> Identity {
        Identity {
            label: self.label.clone(),
            version: self.version.clone(),
        }
    }

    /// The names seen as `from.<name>`: dependencies and pins.
    pub fn from_names(&self) -> impl Iterator<Item = &Name> {
        self.deps.keys().chain(self.pins.keys())
    }
}

fn read(ctx: &Ctx<'_>, root: &toml_edit::Table) -> Result<Manifest, ManifestError> {
    let top = Table {
        key: String::new(),
        table: root,
        span: None,
    };
    top.only(ctx, TOP_KEYS)?;
    let atom = top
        .get("atom")
        .ok_or_else(|| ctx.err(&None, Problem::MissingKey { key: "atom".into() }))?
        .table(ctx)?;
    let (label, version, kind, meta) = read_atom(ctx, &atom)?;

    let section = |name: &str| -> Result<Vec<(Name, Field<'_>)>, ManifestError> {
        match top.get(name) {
            None => Ok(Vec::new()),
            Some(field) => field.table(ctx)?.named(ctx),
        }
    };
    let mut deps = BTreeMap::new();
    for (name, field) in section("deps")? {
        let dep = read_dep(ctx, &field.table(ctx)?)?;
        deps.insert(name, dep);
    }
    let mut pins = BTreeMap::new();
    for (name, field) in section("pins")? {
        if deps.contains_key(&name) {
            return Err(field.duplicate(ctx, &name, format!("deps.{name}")));
        }
        let pin = read_pin(ctx, &field.table(ctx)?)?;
        pins.insert(name, pin);
    }
    let mut srcs = BTreeMap::new();
    for (name, field) in section("srcs")? {
        let src = read_src(ctx, &field.table(ctx)?)?;
        srcs.insert(name, src);
    }
    let platform = match top.get("platform") {
        None => Platform::default(),
        Some(field) => read_platform(ctx, &field.table(ctx)?)?,
    };
    let mut provide = BTreeMap::new();
    for (name, field) in section("provide")? {
        provide.insert(name, read_provide(ctx, &field, &deps)?);
    }
    let mut support = BTreeMap::new();
    for (name, field) in section("support")? {
        if provide.contains_key(&name) {
            return Err(field.duplicate(ctx, &name, format!("provide.{name}")));
        }
        support.insert(name, read_support(ctx, &field)?);
    }
    let dist = match top.get("dist") {
        None => Dist::default(),
        Some(field) => read_dist(ctx, &field.table(ctx)?)?,
    };

    Ok(Manifest {
        label,
        version,
        kind,
        meta,
        deps,
        pins,
        srcs,
        platform,
        provide,
        support,
        dist,
    })
}

/// `[atom]`: the identity, the kind and the metadata.
fn read_atom(
    ctx: &Ctx<'_>,
    atom: &Table<'_>,
) -> Result<(Label, Version, AtomType, Meta), ManifestError> {
    atom.only(ctx, ATOM_KEYS)?;
    let id = atom.require(ctx, "id")?.text(ctx)?;
    let label = Label::new(id.text).map_err(|error| {
        id.err(
            ctx,
            Problem::Label {
                key: id.key.clone(),
                error,
            },
        )
    })?;
    let version = atom.require(ctx, "version")?.text(ctx)?;
    let version = Version::new(version.text).map_err(|error| {
        version.err(
            ctx,
            Problem::Version {
                key: version.key.clone(),
                error,
            },
        )
    })?;
    let kind = match atom.get("type") {
        None => AtomType::default(),
        Some(field) => {
            let t = field.text(ctx)?;
            t.text.parse().map_err(|()| {
                t.err(
                    ctx,
                    Problem::UnknownValue {
                        key: t.key.clone(),
                        value: t.text.escape_debug().to_string(),
                        suggestion: suggest(t.text, AtomType::ALL.iter().copied()),
                    },
                )
            })?
        }
    };
    let meta = match atom.get("meta") {
        None => Meta::default(),
        Some(field) => read_meta(ctx, &field.table(ctx)?)?,
    };
    Ok((label, version, kind, meta))
}

/// `[platform]`: the supported triples, each pattern expanded and no triple named twice.
fn read_platform(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Platform, ManifestError> {
    table.only(ctx, &["supported"])?;
    let mut platform = Platform::default();
    let mut seen = BTreeSet::new();
    let Some(supported) = table.get("supported") else {
        return Ok(platform);
    };
    for pattern in supported.strings(ctx)? {
        let triples = platform::expand(pattern.text).and_then(|triples| {
            for triple in &triples {
                if !seen.insert(*triple) {
                    return Err(PlatformError::Duplicate {
                        pattern: pattern.text.escape_debug().to_string(),
                        triple: *triple,
                    });
                }
            }
            Ok(triples)
        });
        let triples = triples.map_err(|error| {
            pattern.err(
                ctx,
                Problem::Platform {
                    key: pattern.key.clone(),
                    error,
                },
            )
        })?;
        platform.patterns.push(pattern.text.to_owned());
        platform.supported.extend(triples);
    }
    Ok(platform)
}

/// One `[provide]` entry: a non-empty list of declared dependencies, none named twice.
fn read_provide(
    ctx: &Ctx<'_>,
    field: &Field<'_>,
    deps: &BTreeMap<Name, Dep>,
) -> Result<Vec<Name>, ManifestError> {
    let list = field.strings(ctx)?;
    if list.is_empty() {
        return Err(ctx.err(
            &field.span,
            Problem::Incomplete {
                key: field.key.clone(),
                expected: "at least one candidate dependency",
            },
        ));
    }
    let mut candidates: Vec<Name> = Vec::new();
    for candidate in list {
        let dep = Name::new(candidate.text).map_err(|error| {
            candidate.err(
                ctx,
                Problem::Name {
                    key: candidate.key.clone(),
                    error,
                },
            )
        })?;
        if !deps.contains_key(&dep) {
            return Err(candidate.err(
                ctx,
                Problem::Undeclared {
                    key: candidate.key.clone(),
                    name: dep.to_string(),
                },
            ));
        }
        if let Some(i) = candidates.iter().position(|c| *c == dep) {
            return Err(candidate.err(
                ctx,
                Problem::Duplicate {
                    key: candidate.key.clone(),
                    name: dep.to_string(),
                    first: format!("{}[{i}]", field.key),
                },
            ));
        }
        candidates.push(dep);
    }
    Ok(candidates)
}

/// One `[support]` entry: a toggle or a list of flags.
fn read_support(ctx: &Ctx<'_>, field: &Field<'_>) -> Result<Support, ManifestError> {
    if let Some(b) = field.item.as_bool() {
        Ok(Support::Toggle(b))
    } else if field.item.is_array() {
        Ok(Support::Flags(
            field
                .strings(ctx)?
                .into_iter()
                .map(|t| t.text.to_owned())
                .collect(),
        ))
    } else {
        Err(field.wrong(ctx, "a boolean or an array of strings"))
    }
}

/// `[dist]`: the distribution formats, lowercase names listed once each.
fn read_dist(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Dist, ManifestError> {
    table.only(ctx, &["formats"])?;
    let mut dist = Dist::default();
    let Some(formats) = table.get("formats") else {
        return Ok(dist);
    };
    for format in formats.strings(ctx)? {
        let ok = format.text.starts_with(|c: char| c.is_ascii_lowercase())
            && format
                .text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(format.bad(
                ctx,
                "a format is a lowercase name (letters, digits and `-`)",
            ));
        }
        if dist.formats.iter().any(|f| f == format.text) {
            return Err(format.bad(ctx, "listed twice"));
        }
        dist.formats.push(format.text.to_owned());
    }
    Ok(dist)
}

fn read_meta(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Meta, ManifestError> {
    table.only(ctx, META_KEYS)?;
    let mut meta = Meta::default();
    if let Some(field) = table.get("description") {
        meta.description = Some(field.str(ctx)?.to_owned());
    }
    if let Some(field) = table.get("license") {
        let t = field.text(ctx)?;
        meta.license = Some(t.text.parse().map_err(|error| {
            t.err(
                ctx,
                Problem::License {
                    key: t.key.clone(),
                    error,
                },
            )
        })?);
    }
    if let Some(field) = table.get("maintainers") {
        for m in field.strings(ctx)? {
            if m.text.trim().is_empty() || m.text.chars().any(char::is_control) {
                return Err(m.bad(ctx, "must be a name, optionally followed by `<email>`"));
            }
            meta.maintainers.push(m.text.to_owned());
        }
    }
    if let Some(field) = table.get("homepage") {
        let t = field.text(ctx)?;
        let ok = matches!(t.text.split_once("://"), Some(("https" | "http", rest)) if !rest.is_empty())
            && !t.text.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(t.bad(ctx, "must be an `https://` or `http://` URL"));
        }
        meta.homepage = Some(t.text.to_owned());
    }
    Ok(meta)
}

/// A repository address as a manifest must write it: fully expanded, never an alias, never a
/// bare local path.
fn read_address(ctx: &Ctx<'_>, t: &Text<'_>) -> Result<Address, ManifestError> {
    let plain = Address::parse(t.text, &Aliases::empty()).map_err(|e| {
        let reason = match e {
            crate::uri::UriError::Address { reason, .. } => reason,
            other => other.to_string(),
        };
        t.bad(ctx, reason)
    })?;
    if let Ok(aliased) = Address::parse(t.text, &Aliases::default()) {
        if aliased != plain {
            return Err(t.bad(
                ctx,
                format!("an alias is not allowed here; write the full URL `{aliased}`"),
            ));
        }
    }
    if plain.is_local() && !t.text.starts_with("file://") {
        return Err(t.bad(
            ctx,
            "a local path is not a URL; write `file://` and an absolute path, or use `path` for an atom of this repository",
        ));
    }
    let expanded = plain.to_string();
    if expanded != t.text {
        return Err(t.bad(ctx, format!("not fully expanded; write `{expanded}`")));
    }
    Ok(plain)
}

fn read_path(ctx: &Ctx<'_>, t: &Text<'_>) -> Result<RelPath, ManifestError> {
    RelPath::new(t.text).map_err(|reason| t.bad(ctx, reason))
}

fn read_ref(ctx: &Ctx<'_>, t: &Text<'_>) -> Result<GitRef, ManifestError> {
    GitRef::new(t.text).map_err(|reason| t.bad(ctx, reason))
}

fn read_entry(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Option<RelPath>, ManifestError> {
    let Some(field) = table.get("entry") else {
        return Ok(None);
    };
    let t = field.text(ctx)?;
    let entry = read_path(ctx, &t)?;
    if entry.goes_up() {
        return Err(t.bad(ctx, "must stay inside the fetched tree (no `..`)"));
    }
    Ok(Some(entry))
}

/// Refuses `second` when `first` is present.
fn exclusive(
    ctx: &Ctx<'_>,
    table: &Table<'_>,
    first: &'static str,
    second: &'static str,
) -> Result<(), ManifestError> {
    if table.has(first) {
        if let Some(field) = table.get(second) {
            return Err(ctx.err(
                &field.span,
                Problem::Conflict {
                    key: table.key.clone(),
                    first,
                    second,
                },
            ));
        }
    }
    Ok(())
}

fn read_dep(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Dep, ManifestError> {
    table.only(ctx, DEP_KEYS)?;
    if let Some(path) = table.get("path") {
        for other in ["url", "version", "label", "mirrors"] {
            exclusive(ctx, table, "path", other)?;
        }
        return Ok(Dep::Path(read_path(ctx, &path.text(ctx)?)?));
    }
    if !table.has("url") {
        return Err(ctx.err(
            &table.span,
            Problem::Incomplete {
                key: table.key.clone(),
                expected: "either `url` and `version`, or `path`",
            },
        ));
    }
    let url = read_address(ctx, &table.require(ctx, "url")?.text(ctx)?)?;
    let v = table.require(ctx, "version")?.text(ctx)?;
    let version = Requirement::new(v.text).map_err(|reason| v.bad(ctx, reason))?;
    let label = match table.get("label") {
        None => None,
        Some(field) => {
            let t = field.text(ctx)?;
            Some(Label::new(t.text).map_err(|error| {
                t.err(
                    ctx,
                    Problem::Label {
                        key: t.key.clone(),
                        error,
                    },
                )
            })?)
        }
    };
    let mut mirrors: Vec<Address> = Vec::new();
    if let Some(field) = table.get("mirrors") {
        for m in field.strings(ctx)? {
            let address = read_address(ctx, &m)?;
            if address == url || mirrors.contains(&address) {
                return Err(m.bad(ctx, "listed twice"));
            }
            mirrors.push(address);
        }
    }
    Ok(Dep::Atom(AtomDep {
        url,
        version,
        label,
        mirrors,
    }))
}

fn read_pin(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Pin, ManifestError> {
    table.only(ctx, PIN_KEYS)?;
    exclusive(ctx, table, "git", "url")?;
    if let Some(git) = table.get("git") {
        let git = read_address(ctx, &git.text(ctx)?)?;
        let reference = read_ref(ctx, &table.require(ctx, "ref")?.text(ctx)?)?;
        return Ok(Pin::Git {
            git,
            reference,
            entry: read_entry(ctx, table)?,
        });
    }
    if let Some(url) = table.get("url") {
        exclusive(ctx, table, "url", "ref")?;
        let t = url.text(ctx)?;
        let url = Url::new(t.text).map_err(|reason| t.bad(ctx, reason))?;
        return Ok(Pin::Tarball {
            url,
            entry: read_entry(ctx, table)?,
        });
    }
    Err(ctx.err(
        &table.span,
        Problem::Incomplete {
            key: table.key.clone(),
            expected: "either `git` and `ref`, or `url`",
        },
    ))
}

fn read_src(ctx: &Ctx<'_>, table: &Table<'_>) -> Result<Src, ManifestError> {
    table.only(ctx, SRC_KEYS)?;
    exclusive(ctx, table, "url", "git")?;
    exclusive(ctx, table, "url", "path")?;
    exclusive(ctx, table, "git", "path")?;
    if let Some(path) = table.get("path") {
        exclusive(ctx, table, "path", "ref")?;
        exclusive(ctx, table, "path", "version")?;
        return Ok(Src::Path(read_path(ctx, &path.text(ctx)?)?));
    }
    if let Some(git) = table.get("git") {
        exclusive(ctx, table, "git", "version")?;
        let git = read_address(ctx, &git.text(ctx)?)?;
        let reference = read_ref(ctx, &table.require(ctx, "ref")?.text(ctx)?)?;
        return Ok(Src::Git { git, reference });
    }
    let Some(url) = table.get("url") else {
        return Err(ctx.err(
            &table.span,
            Problem::Incomplete {
                key: table.key.clone(),
                expected: "one of `url`, `git` and `ref`, or `path`",
            },
        ));
    };
    exclusive(ctx, table, "url", "ref")?;
    let t = url.text(ctx)?;
    Url::new(t.text).map_err(|reason| t.bad(ctx, reason))?;
    let template = UrlTemplate(t.text.to_owned());
    for placeholder in template.placeholders() {
        if !URL_PLACEHOLDERS.contains(&placeholder) {
            return Err(t.bad(
                ctx,
                format!(
                    "unknown placeholder `${{{placeholder}}}` (use `${{version}}`, `${{major}}`, `${{minor}}` or `${{patch}}`)"
                ),
            ));
        }
    }
    let version = match table.get("version") {
        None => None,
        Some(field) => {
            let v = field.text(ctx)?;
            if v.text == "${atom.version}" {
                Some(SrcVersion::AtomVersion)
            } else if v.text.is_empty()
                || v.text.contains("${")
                || v.text
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '/')
            {
                return Err(v.bad(
                    ctx,
                    "must be a version such as `1.2.3`, or `${atom.version}`",
                ));
            } else {
                Some(SrcVersion::Literal(v.text.to_owned()))
            }
        }
    };
    match &version {
        None if !template.placeholders().is_empty() => {
            return Err(ctx.err(
                &table.span,
                Problem::MissingKey {
                    key: format!("{}.version", table.key),
                },
            ))
        }
        Some(SrcVersion::Literal(v)) if template.interpolate(v).is_none() => {
            let field = table.get("version").expect("the version was read");
            return Err(field
                .text(ctx)?
                .bad(ctx, "has fewer components than the URL's placeholders need"));
        }
        _ => {}
    }
    Ok(Src::Url {
        url: template,
        version,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text.as_bytes(), "atom.toml")
    }

    /// The fenced blocks of a document, with their info strings, in order.
    pub(crate) fn fenced_blocks(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in text.split_inclusive('\n') {
            match &mut current {
                None => {
                    if let Some(info) = line.trim_end().strip_prefix("```") {
                        current = Some((info.to_owned(), String::new()));
                    }
                }
                Some((_, body)) if line.trim_end() == "```" => {
                    let _ = body;
                    out.push(current.take().expect("in a block"));
                }
                Some((_, body)) => body.push_str(line),
            }
        }
        out
    }

    #[test]
    fn spec_examples() {
        let spec = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/manifest.md"),
        )
        .unwrap();
        let blocks = fenced_blocks(&spec);
        let (mut valid, mut invalid) = (0, 0);
        let mut failures = Vec::new();
        for (i, (info, body)) in blocks.iter().enumerate() {
            if info != "toml" {
                continue;
            }
            let expected = blocks
                .get(i + 1)
                .filter(|(info, _)| info == "error")
                .map(|(_, e)| e.trim_end());
            match (parse(body), expected) {
                (Ok(_), None) => valid += 1,
                (Err(e), Some(expected)) if e.to_string() == expected => invalid += 1,
                (got, expected) => failures.push(format!(
                    "example:\n{body}expected: {expected:?}\ngot: {:?}\n",
                    got.map(|_| "ok").map_err(|e| e.to_string())
                )),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(
            valid >= 8 && invalid >= 20,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn the_seed_sketch_in_full() {
        let spec = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/manifest.md"),
        )
        .unwrap();
        let full = fenced_blocks(&spec)
            .into_iter()
            .find(|(info, body)| info == "toml" && body.starts_with("# Package identity"))
            .unwrap()
            .1;
        let m = parse(&full).unwrap();
        assert_eq!(m.label.as_str(), "mine");
        assert_eq!(m.kind, AtomType::NixPackage);
        assert_eq!(m.meta.license.as_ref().unwrap().to_string(), "MIT");
        assert_eq!(m.meta.maintainers.len(), 2);
        assert_eq!(m.platform.supported.len(), 9);
        assert_eq!(m.deps.len(), 9);
        let local = &m.deps[&"local".parse().unwrap()];
        assert_eq!(
            *local,
            Dep::Path(RelPath::new("../../path/to/other/atom").unwrap())
        );
        let Pin::Git {
            git,
            reference,
            entry,
        } = &m.pins[&"pkgs".parse().unwrap()]
        else {
            panic!("a git pin")
        };
        assert_eq!(git.to_string(), "https://github.com/NixOS/nixpkgs");
        assert_eq!(reference.as_str(), "nixos-25.05");
        assert_eq!(
            entry.as_ref().unwrap().as_str(),
            "pkgs/top-level/impure.nix"
        );
        let src = &m.srcs[&"src".parse().unwrap()];
        assert_eq!(
            src.url_for(&m.version).unwrap(),
            "https://example.com/v0/0.1.0/pkg.src.tar.xz"
        );
        assert_eq!(
            m.srcs[&"cargo".parse().unwrap()],
            Src::Path(RelPath::new("../Cargo.lock").unwrap())
        );
        let cc: Vec<&str> = m.provide[&"cc".parse().unwrap()]
            .iter()
            .map(Name::as_str)
            .collect();
        assert_eq!(cc, ["gcc", "clang"]);
        assert_eq!(
            m.support[&"static".parse().unwrap()],
            Support::Toggle(false)
        );
        assert_eq!(
            m.support[&"my-feature-flag".parse().unwrap()],
            Support::Flags(vec!["MY_FEATURE=1".into()])
        );
        assert_eq!(m.dist.formats, ["deb", "oci"]);
        assert_eq!(m.from_names().count(), 10);
        // The identity reader agrees.
        let id = Manifest::parse_schema(full.as_bytes(), "atom.toml", Schema::Atom).unwrap();
        assert_eq!(id, m.identity());
    }

    #[test]
    fn minimal_manifest_has_defaults() {
        let m = parse("[atom]\nid = \"a\"\nversion = \"1.0.0\"\n").unwrap();
        assert_eq!(m.kind, AtomType::NixPackage);
        assert_eq!(m.meta, Meta::default());
        assert!(m.deps.is_empty() && m.pins.is_empty() && m.srcs.is_empty());
        assert!(m.platform.supported.is_empty());
    }

    #[test]
    fn inline_tables_and_dotted_keys_work_too() {
        let m = parse(
            "[atom]\nid = \"a\"\nversion = \"1.0.0\"\nmeta.license = \"ISC\"\n[deps]\nx = { path = \"../x\" }\n",
        )
        .unwrap();
        assert_eq!(m.deps.len(), 1);
        assert!(m.meta.license.is_some());
    }

    #[test]
    fn more_errors() {
        let base = "[atom]\nid = \"a\"\nversion = \"1.0.0\"\n";
        let err = |extra: &str| parse(&format!("{base}{extra}")).unwrap_err().to_string();
        assert_eq!(
            err("[deps.x]\nurl = \"./relative\"\nversion = \"1\"\n"),
            "atom.toml:5:7: `deps.x.url`: invalid value `./relative`: a local path is not a URL; write `file://` and an absolute path, or use `path` for an atom of this repository"
        );
        assert_eq!(
            err("[deps.x]\nurl = \"https://a.org/x\"\nversion = \"1\"\nmirrors = [\"https://a.org/x\"]\n"),
            "atom.toml:7:12: `deps.x.mirrors[0]`: invalid value `https://a.org/x`: listed twice"
        );
        assert_eq!(
            err("[deps.x]\npath = \"/abs\"\n"),
            "atom.toml:5:8: `deps.x.path`: invalid value `/abs`: must be relative"
        );
        assert_eq!(
            err("[deps.if]\npath = \"../x\"\n"),
            "atom.toml:4:7: `deps.if`: invalid name `if`: a Nix keyword"
        );
        assert_eq!(
            err("[pins.p]\nurl = \"ftp://x.org/a.tgz\"\n"),
            "atom.toml:5:7: `pins.p.url`: invalid value `ftp://x.org/a.tgz`: unsupported scheme `ftp` (use `https`, `http` or `file`)"
        );
        assert_eq!(
            err("[pins.p]\ngit = \"https://x.org/p\"\nref = \"a..b\"\n"),
            "atom.toml:6:7: `pins.p.ref`: invalid value `a..b`: must not contain `..`, `//` or `@{`"
        );
        assert_eq!(
            err("[pins.p]\ngit = \"https://x.org/p\"\nurl = \"https://x.org/p.tgz\"\n"),
            "atom.toml:6:7: `pins.p`: `git` and `url` cannot be used together"
        );
        assert_eq!(
            err("[srcs.s]\nref = \"v1\"\n"),
            "atom.toml:4:1: `srcs.s` needs one of `url`, `git` and `ref`, or `path`"
        );
        assert_eq!(
            err("[provide]\ncc = []\n"),
            "atom.toml:5:6: `provide.cc` needs at least one candidate dependency"
        );
        assert_eq!(
            err("[deps.g]\npath = \"../g\"\n[provide]\ncc = [\"g\", \"g\"]\n"),
            "atom.toml:7:12: `provide.cc[1]`: `g` is already declared as `provide.cc[0]`"
        );
        assert_eq!(
            err("[deps.g]\npath = \"../g\"\n[provide]\ng = [\"g\"]\n[support]\ng = true\n"),
            "atom.toml:9:5: `support.g`: `g` is already declared as `provide.g`"
        );
        assert_eq!(
            err("[dist]\nformats = [\"OCI\"]\n"),
            "atom.toml:5:12: `dist.formats[0]`: invalid value `OCI`: a format is a lowercase name (letters, digits and `-`)"
        );
        assert_eq!(
            err("[atom.meta]\nhomepage = \"example.org\"\n"),
            "atom.toml:5:12: `atom.meta.homepage`: invalid value `example.org`: must be an `https://` or `http://` URL"
        );
        assert_eq!(
            err("[atom.meta]\nmaintainers = \"alice\"\n"),
            "atom.toml:5:15: `atom.meta.maintainers` must be an array of strings, found string"
        );
        assert_eq!(
            err("[atom.meta]\nmaintainers = [1]\n"),
            "atom.toml:5:16: `atom.meta.maintainers[0]` must be a string, found integer"
        );
        assert_eq!(
            parse(&format!("deps = 3\n{base}")).unwrap_err().to_string(),
            "atom.toml:1:8: `deps` must be a table, found integer"
        );
        assert_eq!(
            parse("id = \"a\"\n").unwrap_err().to_string(),
            "atom.toml:1:1: unknown key `id`"
        );
        assert_eq!(
            parse("[deps.a]\npath = \"../a\"\n")
                .unwrap_err()
                .to_string(),
            "atom.toml:1:1: missing key `atom`"
        );
    }

    #[test]
    fn names() {
        for ok in ["a", "_a", "my-lib", "x'", "A9_b-c"] {
            Name::new(ok).unwrap();
        }
        for bad in ["", "9a", "-a", "'a", "a.b", "a b", "é", "let", "or"] {
            assert!(Name::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_templates() {
        let t = UrlTemplate("https://x/v${major}.${minor}/${version}-${patch}".into());
        assert_eq!(t.placeholders(), ["major", "minor", "version", "patch"]);
        assert_eq!(
            t.interpolate("1.2.3-rc.1").unwrap(),
            "https://x/v1.2/1.2.3-rc.1-3"
        );
        assert_eq!(t.interpolate("1.2"), None);
        assert_eq!(
            UrlTemplate("https://x".into()).interpolate("1"),
            Some("https://x".into())
        );
    }

    #[test]
    fn suggestions() {
        let keys = ["url", "version", "label", "mirrors", "path"];
        assert_eq!(suggest("verison", keys).as_deref(), Some("version"));
        assert_eq!(suggest("URL", keys).as_deref(), Some("url"));
        assert_eq!(suggest("mirror", keys).as_deref(), Some("mirrors"));
        assert_eq!(suggest("zzzzzz", keys), None);
    }
}
