//! Atom URIs: how a person names one atom, at a version, in a repository somewhere.
//!
//! ```text
//! [scheme://][[user[:pass]@][alias:][url-fragment::]label[@version-requirement]
//! ```
//!
//! The part before the last `::` is the repository's **address**; it is optional (no address
//! means a local repository). After it comes the atom's [`Label`], then optionally `@` and a
//! version [`Requirement`] (Cargo's semver requirements; a bare `1.2` means `^1.2`).
//!
//! An address is expanded once, when it is parsed, into a full git URL:
//!
//! - an [alias](Aliases) at its start is replaced by its value (aliases may build on each other;
//!   a cycle is an error);
//! - `file://`, `git://`, `http://`, `https://` and `ssh://` URLs are taken as written;
//! - a path starting with `/`, `./` or `../`, or whose first component has no `.`, is a local path;
//! - `host:path` and `user@host:path` are ssh in git's scp-like syntax;
//! - `user@host/path` is `ssh://user@host/path`; any other `host/path` is `https://host/path`.
//!
//! The expanded URL is what [`Address`] displays, so anything that stores a URL (a manifest, a
//! lock file) writes the full URL and never an alias.
//!
//! Every part is validated before it can reach a ref name, a path or a process argument: control
//! characters, a leading `-` (option injection, as in `ssh://-oProxyCommand=...`), and `..`
//! components in a network URL's path are refused.
//!
//! ```
//! use atom_lib::uri::{Aliases, Uri};
//!
//! let uri = Uri::parse("gh:ekala-project/atom::nix-lock@^0.1", &Aliases::default()).unwrap();
//! assert_eq!(uri.address.unwrap().to_string(), "https://github.com/ekala-project/atom");
//! assert_eq!(uri.label.as_str(), "nix-lock");
//! assert_eq!(uri.requirement.unwrap().to_string(), "^0.1");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::{Label, LabelError, Version};

/// The aliases every user has, unless their git config overrides them.
pub const BUILTIN_ALIASES: &[(&str, &str)] = &[
    ("gh", "github.com"),
    ("gl", "gitlab.com"),
    ("bb", "bitbucket.org"),
    ("cb", "codeberg.org"),
    ("sh", "sr.ht"),
];

/// The git config section holding user aliases: `atom.alias.<name> = <value>`.
pub const ALIAS_CONFIG_PREFIX: &str = "atom.alias.";

/// How many alias expansions one address may take before it is considered runaway.
const MAX_EXPANSIONS: usize = 32;

/// A parsed atom URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Where the repository is; `None` for the local repository.
    pub address: Option<Address>,
    /// The atom's label.
    pub label: Label,
    /// Which versions are acceptable; `None` means the highest released version.
    pub requirement: Option<Requirement>,
}

/// Why a string is not an atom URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The label part is not a valid label.
    #[error("invalid atom URI `{uri}`")]
    Label {
        /// The URI as given.
        uri: String,
        /// Why the label is invalid.
        #[source]
        source: LabelError,
    },
    /// The version requirement does not parse.
    #[error("invalid version requirement `{requirement}` in atom URI `{uri}`: {reason}")]
    Requirement {
        /// The URI as given.
        uri: String,
        /// The requirement as given.
        requirement: String,
        /// The semver parser's complaint.
        reason: String,
    },
    /// The address is not acceptable.
    #[error("invalid address `{address}` in atom URI `{uri}`: {reason}")]
    Address {
        /// The URI as given.
        uri: String,
        /// The address, after whatever expansion happened.
        address: String,
        /// What is wrong.
        reason: String,
    },
    /// Aliases refer to each other in a loop.
    #[error("alias cycle in atom URI `{uri}`: {}", cycle.join(" -> "))]
    AliasCycle {
        /// The URI as given.
        uri: String,
        /// The aliases in the order they were expanded, ending with the repeated one.
        cycle: Vec<String>,
    },
}

impl Uri {
    /// Parses `input`, expanding aliases from `aliases`.
    pub fn parse(input: &str, aliases: &Aliases) -> Result<Self, UriError> {
        let shown = || input.escape_debug().to_string();
        if input.chars().any(char::is_control) {
            return Err(UriError::Address {
                uri: shown(),
                address: shown(),
                reason: "control characters are not allowed".into(),
            });
        }
        let (address, target) = match input.rsplit_once("::") {
            Some((address, target)) => (Some(address), target),
            None => (None, input),
        };
        let (label, requirement) = match target.split_once('@') {
            Some((label, req)) => (label, Some(req)),
            None => (target, None),
        };
        let label = Label::new(label).map_err(|source| UriError::Label {
            uri: shown(),
            source,
        })?;
        let requirement = requirement
            .map(|req| {
                Requirement::new(req).map_err(|reason| UriError::Requirement {
                    uri: shown(),
                    requirement: req.to_owned(),
                    reason,
                })
            })
            .transpose()?;
        let address = address
            .map(|a| Address::parse_inner(a, aliases, input))
            .transpose()?;
        Ok(Uri {
            address,
            label,
            requirement,
        })
    }
}

impl FromStr for Uri {
    type Err = UriError;
    /// Parses with the built-in aliases only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s, &Aliases::default())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(address) = &self.address {
            write!(f, "{address}::")?;
        }
        write!(f, "{}", self.label)?;
        if let Some(req) = &self.requirement {
            write!(f, "@{req}")?;
        }
        Ok(())
    }
}

/// A version requirement, as Cargo writes them: `^1.2`, `~1.2`, `>=1.1, <2`, `=1.2.3`, `*`.
/// A bare version (`1.2`) means caret (`^1.2`).
///
/// Prereleases match only when the requirement asks for one explicitly, with the same
/// `major.minor.patch` (`>=1.0.0-rc.1` matches `1.0.0-rc.2` but not `1.1.0-rc.1`), as in Cargo.
///
/// ```
/// use atom_lib::uri::Requirement;
/// let req: Requirement = "1.2".parse().unwrap();
/// assert_eq!(req.to_string(), "^1.2");
/// assert!(req.matches(&"1.9.0".parse().unwrap()));
/// assert!(!req.matches(&"2.0.0".parse().unwrap()));
/// assert!(!req.matches(&"1.3.0-rc.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement(semver::VersionReq);

impl Requirement {
    /// Parses a requirement; the error is the parser's complaint.
    pub fn new(input: &str) -> Result<Self, String> {
        if input.trim().is_empty() {
            return Err("must not be empty (leave out the `@` for the highest version)".into());
        }
        semver::VersionReq::parse(input)
            .map(Requirement)
            .map_err(|e| e.to_string())
    }

    /// Whether `version` satisfies the requirement.
    pub fn matches(&self, version: &Version) -> bool {
        self.0.matches(version.semver())
    }

    /// The highest of `versions` that `requirement` accepts; with no requirement, the highest
    /// released (non-prerelease) version.
    pub fn select<'a>(
        requirement: Option<&Requirement>,
        versions: impl IntoIterator<Item = &'a Version>,
    ) -> Option<&'a Version> {
        versions
            .into_iter()
            .filter(|v| Requirement::accepts(requirement, v))
            .max()
    }

    /// Whether `version` is acceptable under an optional requirement (`None`: any release).
    pub fn accepts(requirement: Option<&Requirement>, version: &Version) -> bool {
        match requirement {
            Some(req) => req.matches(version),
            None => !version.is_prerelease(),
        }
    }
}

impl FromStr for Requirement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Requirement::new(s)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The transport an address uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// A local repository (`file://` or a plain path).
    File,
    /// `git://`.
    Git,
    /// `http://`.
    Http,
    /// `https://`.
    Https,
    /// `ssh://` or scp-like `host:path`.
    Ssh,
}

impl Scheme {
    /// git's name for the protocol, as `protocol.<name>.allow` and `GIT_ALLOW_PROTOCOL` use it.
    pub fn protocol(self) -> &'static str {
        match self {
            Scheme::File => "file",
            Scheme::Git => "git",
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ssh => "ssh",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "file" => Scheme::File,
            "git" => Scheme::Git,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "ssh" => Scheme::Ssh,
            _ => return None,
        })
    }
}

/// How an address is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// `scheme://[user[:pass]@]host[:port]/path`.
    Url,
    /// `[user@]host:path`.
    Scp,
    /// A local path.
    Path,
}

/// A fully expanded, validated repository address: what git is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    scheme: Scheme,
    form: Form,
    user: Option<String>,
    password: Option<String>,
    /// Host name, or an IPv6 literal in brackets; empty for paths and `file://`.
    host: String,
    port: Option<u16>,
    path: String,
}

impl Address {
    /// Parses and expands an address (the part of a URI before `::`).
    pub fn parse(input: &str, aliases: &Aliases) -> Result<Self, UriError> {
        Self::parse_inner(input, aliases, input)
    }

    fn parse_inner(input: &str, aliases: &Aliases, uri: &str) -> Result<Self, UriError> {
        let fail = |address: &str, reason: &str| UriError::Address {
            uri: uri.escape_debug().to_string(),
            address: address.escape_debug().to_string(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(fail(
                input,
                "must not be empty (leave out the `::` for the local repository)",
            ));
        }
        if input.chars().any(char::is_control) {
            return Err(fail(input, "control characters are not allowed"));
        }
        if let Some((scheme, rest)) = split_scheme(input) {
            return parse_url(scheme, rest).map_err(|r| {
                fail(
                    input,
                    &alias_after_scheme(scheme, rest, aliases).unwrap_or(r),
                )
            });
        }
        // `user[:pass]@` before the first `/` applies to whatever the rest expands to.
        let first_slash = input.find('/').unwrap_or(input.len());
        let (userinfo, rest) = match input[..first_slash].rfind('@') {
            Some(at) => (Some(&input[..at]), &input[at + 1..]),
            None => (None, input),
        };
        let expanded = aliases.expand(rest, uri)?;
        let (user, password) = match userinfo {
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                check_user(user).map_err(|r| fail(input, &r))?;
                (Some(user.to_owned()), password.map(str::to_owned))
            }
            None => (None, None),
        };
        if let Some((scheme, rest)) = split_scheme(&expanded) {
            let mut address = parse_url(scheme, rest).map_err(|r| fail(&expanded, &r))?;
            if user.is_some() {
                if address.user.is_some() {
                    return Err(fail(&expanded, "a user is given twice"));
                }
                if address.form != Form::Url || address.scheme == Scheme::File {
                    return Err(fail(&expanded, "a local path has no user"));
                }
                address.user = user;
                address.password = password;
            }
            return Ok(address);
        }
        classify(&expanded, user, password).map_err(|r| fail(&expanded, &r))
    }

    /// The transport.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether this is a local repository (a path or `file://`).
    pub fn is_local(&self) -> bool {
        self.scheme == Scheme::File
    }

    /// The host name (IPv6 literals in brackets); empty for local repositories.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if one is written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path on the host (or the local path).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The URL to give git: the expanded address, exactly as it displays.
    pub fn git_url(&self) -> String {
        self.to_string()
    }

    /// The address for messages: the password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut shown = self.clone();
        if shown.password.is_some() {
            shown.password = Some("***".into());
        }
        shown.to_string()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let userinfo = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if let Some(user) = &self.user {
                f.write_str(user)?;
                if let Some(password) = &self.password {
                    write!(f, ":{password}")?;
                }
                f.write_str("@")?;
            }
            Ok(())
        };
        match self.form {
            Form::Path => f.write_str(&self.path),
            Form::Scp => {
                userinfo(f)?;
                write!(f, "{}:{}", self.host, self.path)
            }
            Form::Url => {
                write!(f, "{}://", self.scheme.protocol())?;
                userinfo(f)?;
                f.write_str(&self.host)?;
                if let Some(port) = self.port {
                    write!(f, ":{port}")?;
                }
                f.write_str(&self.path)
            }
        }
    }
}

/// `scheme://rest` with a syntactically valid scheme name, split.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = input.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

fn parse_url(scheme_name: &str, rest: &str) -> Result<Address, String> {
    let scheme = Scheme::from_name(scheme_name).ok_or_else(|| {
        format!("unsupported scheme `{scheme_name}` (file, git, http, https and ssh are)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if path.contains(['?', '#']) {
        return Err("queries and fragments are not allowed".into());
    }
    let mut address = Address {
        scheme,
        form: Form::Url,
        user: None,
        password: None,
        host: String::new(),
        port: None,
        path: path.to_owned(),
    };
    if scheme == Scheme::File {
        if !(authority.is_empty() || authority.eq_ignore_ascii_case("localhost")) {
            return Err("a file URL cannot name a host".into());
        }
        if path.is_empty() {
            return Err("a file URL needs a path".into());
        }
        address.host = authority.to_owned();
        check_path(path, false)?;
        return Ok(address);
    }
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if let Some(info) = userinfo {
        let (user, password) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        check_user(user)?;
        if password.is_some() && scheme == Scheme::Ssh {
            return Err("ssh URLs cannot carry a password".into());
        }
        address.user = Some(user.to_owned());
        address.password = password.map(str::to_owned);
    }
    let (host, port) = split_host_port(hostport)?;
    check_host(host)?;
    address.host = host.to_owned();
    address.port = port;
    check_path(path, true)?;
    if path.is_empty() || path == "/" {
        return Err("the URL names no repository".into());
    }
    Ok(address)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport
            .find(']')
            .ok_or("an IPv6 literal needs its closing `]`")?;
        match &hostport[end + 1..] {
            "" => (&hostport[..=end], None),
            p => (
                &hostport[..=end],
                Some(p.strip_prefix(':').ok_or("junk after the IPv6 literal")?),
            ),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("invalid port `{p}`"))?,
        ),
        Some(p) => return Err(format!("invalid port `{p}`")),
    };
    Ok((host, port))
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name is empty".into());
    }
    if user.starts_with('-') {
        return Err(format!("the user name `{user}` starts with `-`"));
    }
    if user.contains(['/', '@', ' ', ':']) {
        return Err(format!("invalid user name `{user}`"));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.starts_with('-') {
        return Err(format!("the host `{host}` starts with `-`"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%'))
        {
            return Err(format!("invalid IPv6 literal `{host}`"));
        }
        return Ok(());
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || "/\\@:[]?#%'\"`$;&|<>(){}*!".contains(c))
    {
        return Err(format!("invalid host `{host}`"));
    }
    Ok(())
}

/// Checks a path; `network` forbids `..` components (paths a server resolves).
fn check_path(path: &str, network: bool) -> Result<(), String> {
    if path.starts_with('-') {
        return Err(format!("the path `{path}` starts with `-`"));
    }
    if network && path.split('/').any(|c| c == "..") {
        return Err("`..` is not allowed in a remote path".into());
    }
    Ok(())
}

/// Classifies an expanded, scheme-less address.
fn classify(s: &str, user: Option<String>, password: Option<String>) -> Result<Address, String> {
    let local = |path: &str| -> Result<Address, String> {
        if user.is_some() {
            return Err("a local path has no user".into());
        }
        check_path(path, false)?;
        Ok(Address {
            scheme: Scheme::File,
            form: Form::Path,
            user: None,
            password: None,
            host: String::new(),
            port: None,
            path: path.to_owned(),
        })
    };
    if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s == "." || s == ".." {
        return local(s);
    }
    if s.starts_with('-') {
        return Err(format!("`{s}` starts with `-`"));
    }
    if is_helper_syntax(s) {
        return Err(
            "`<transport>::` addresses run other remote helpers and are not allowed".into(),
        );
    }
    let first_slash = s.find('/').unwrap_or(s.len());
    // scp-like `host:path` (or `[v6]:path`): a `:` before the first `/`.
    let colon = if s.starts_with('[') {
        s.find(']')
            .map(|end| end + 1)
            .filter(|after| s[*after..].starts_with(':'))
    } else {
        s[..first_slash].find(':')
    };
    if let Some(colon) = colon {
        let (host, path) = (&s[..colon], &s[colon + 1..]);
        if password.is_some() {
            return Err("ssh addresses cannot carry a password".into());
        }
        check_host(host)?;
        if path.is_empty() {
            return Err("the address names no repository".into());
        }
        check_path(path, true)?;
        return Ok(Address {
            scheme: Scheme::Ssh,
            form: Form::Scp,
            user,
            password: None,
            host: host.to_owned(),
            port: None,
            path: path.to_owned(),
        });
    }
    let host = &s[..first_slash];
    let hostish =
        host.contains('.') || host.eq_ignore_ascii_case("localhost") || host.starts_with('[');
    if !hostish {
        return local(s);
    }
    let scheme = if user.is_some() && password.is_none() {
        Scheme::Ssh
    } else {
        Scheme::Https
    };
    let mut address = parse_url(scheme.protocol(), s)?;
    address.user = user;
    address.password = password;
    Ok(address)
}

/// Why an alias cannot be defined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid alias `{name}`: {reason}")]
pub struct AliasError {
    /// The name as given (escaped).
    pub name: String,
    /// What is wrong with its name or value.
    pub reason: String,
}

/// URL shorteners: `gh:owner/repo` is `github.com/owner/repo`.
///
/// An alias at the start of an address, alone or followed by `:`, is replaced by its value; what
/// follows the `:` is appended after a `/`. Values may themselves start with an alias, so
/// `work = "gh:my-org"` and `cool = "work:project"` make `cool` mean
/// `https://github.com/my-org/project`. Names are ASCII and case-insensitive, like git config
/// keys. [`Aliases::default`] holds [`BUILTIN_ALIASES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aliases(BTreeMap<String, String>);

impl Default for Aliases {
    fn default() -> Self {
        let mut aliases = Aliases::empty();
        for (name, value) in BUILTIN_ALIASES {
            aliases.0.insert((*name).to_owned(), (*value).to_owned());
        }
        aliases
    }
}

impl Aliases {
    /// No aliases at all.
    pub fn empty() -> Self {
        Aliases(BTreeMap::new())
    }

    /// Defines (or redefines) `name`.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), AliasError> {
        let fail = |reason: String| AliasError {
            name: crate::escape::escaped(name).to_string(),
            reason,
        };
        if !is_alias_name(name) {
            return Err(fail(
                "its name must be a letter followed by letters, digits or `-`".to_owned(),
            ));
        }
        // The value becomes part of a URL given to git: held to the rules of a URI's address.
        let shown = || crate::escape::escaped(value.trim()).to_string();
        let value_problem = if value.trim().is_empty() {
            Some("is empty")
        } else if value.chars().any(char::is_control) {
            Some("holds control characters")
        } else if value.chars().any(crate::label::is_invisible) {
            Some("holds invisible characters")
        } else if value.trim().starts_with('-') {
            Some("starts with `-`")
        } else {
            None
        };
        if let Some(problem) = value_problem {
            return Err(fail(format!(
                "its value `{}` {problem}; fix `{ALIAS_CONFIG_PREFIX}{name}` in your git config",
                shown()
            )));
        }
        self.0
            .insert(name.to_ascii_lowercase(), value.trim().to_owned());
        Ok(())
    }

    /// The built-in aliases, overridden and extended by `atom.alias.<name>` in git config.
    pub fn from_config(config: &crate::store::git::Config) -> Result<Self, AliasError> {
        let mut aliases = Aliases::default();
        for (name, value) in config.with_prefix(ALIAS_CONFIG_PREFIX) {
            aliases.insert(name, value)?;
        }
        Ok(aliases)
    }

    /// The value of `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// Every alias, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Expands aliases at the start of `address` until none is left.
    fn expand(&self, address: &str, uri: &str) -> Result<String, UriError> {
        let mut current = address.to_owned();
        let mut seen: Vec<String> = Vec::new();
        let mut names = BTreeSet::new();
        loop {
            if split_scheme(&current).is_some() {
                return Ok(current);
            }
            let (name, rest) = match current.split_once(':') {
                Some((n, r)) => (n, Some(r)),
                None => (current.as_str(), None),
            };
            let Some(value) = self.get(name).filter(|_| is_alias_name(name)) else {
                return Ok(current);
            };
            let key = name.to_ascii_lowercase();
            seen.push(key.clone());
            if !names.insert(key) || seen.len() > MAX_EXPANSIONS {
                return Err(UriError::AliasCycle {
                    uri: uri.escape_debug().to_string(),
                    cycle: seen,
                });
            }
            current = match rest {
                None | Some("") => value.to_owned(),
                Some(rest) if value.ends_with(['/', ':']) => format!("{value}{rest}"),
                Some(rest) => format!("{value}/{rest}"),
            };
        }
    }
}

/// Why a URL that failed to parse failed, when it is an alias written after a scheme
/// (`https://gh:org/repo`): aliases expand only at the start of an address.
fn alias_after_scheme(scheme: &str, rest: &str, aliases: &Aliases) -> Option<String> {
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (name, port) = hostport.split_once(':')?;
    let is_port = !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
    (!is_port && is_alias_name(name) && aliases.get(name).is_some()).then(|| {
        format!("aliases do not expand after a scheme: write `{rest}` without `{scheme}://`")
    })
}

/// Whether git would read `s` as `<helper>::<address>` and run `git-remote-<helper>`.
fn is_helper_syntax(s: &str) -> bool {
    let end = s
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_alphabetic() || (*i > 0 && (c.is_ascii_digit() || "+.-".contains(*c))))
        })
        .map_or(s.len(), |(i, _)| i);
    end > 0 && s[end..].starts_with("::")
}

fn is_alias_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn aliases() -> Aliases {
        let mut a = Aliases::default();
        a.insert("work", "gh:my-org").unwrap();
        a.insert("cool", "work:project").unwrap();
        a
    }

    fn addr(s: &str) -> String {
        Address::parse(s, &aliases())
            .map(|a| a.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn forms() {
        for (input, want) in [
            ("gh:owner/repo", "https://github.com/owner/repo"),
            ("GH:owner/repo", "https://github.com/owner/repo"),
            ("cool", "https://github.com/my-org/project"),
            ("work:other", "https://github.com/my-org/other"),
            ("git@gh:owner/repo", "ssh://git@github.com/owner/repo"),
            ("example.org/repo", "https://example.org/repo"),
            ("alice@example.org/repo", "ssh://alice@example.org/repo"),
            (
                "alice:pw@example.org/repo",
                "https://alice:pw@example.org/repo",
            ),
            (
                "git@example.org:org/repo.git",
                "git@example.org:org/repo.git",
            ),
            ("host:repo", "host:repo"),
            ("[::1]:repo", "[::1]:repo"),
            ("/srv/git/repo", "/srv/git/repo"),
            ("../repo", "../repo"),
            ("repo", "repo"),
            ("file:///srv/repo", "file:///srv/repo"),
            (
                "ssh://git@[::1]:2222/srv/repo",
                "ssh://git@[::1]:2222/srv/repo",
            ),
            (
                "http://127.0.0.1:8080/repo.git",
                "http://127.0.0.1:8080/repo.git",
            ),
            ("git://localhost/repo", "git://localhost/repo"),
        ] {
            assert_eq!(addr(input), want, "{input}");
        }
    }

    #[test]
    fn refusals() {
        for bad in [
            "ssh://-oProxyCommand=touch%20x/repo",
            "ssh://-oProxyCommand=x@host/repo",
            "-oProxyCommand=x:repo",
            "-upload-pack=x",
            "ext::sh -c touch% x",
            "ext://sh",
            "git://host/../etc/passwd",
            "https://host/a/../../b",
            "host:../x",
            "a\nb",
            "",
            "ssh://host:99999/x",
            "ssh://user:pw@host/x",
            "https://[::1/x",
            "file://host/x",
            "user@/local/path",
        ] {
            assert!(
                addr(bad).starts_with("error"),
                "{bad:?} was accepted: {}",
                addr(bad)
            );
        }
    }

    #[test]
    fn cycles_are_errors() {
        let mut a = Aliases::default();
        a.insert("a", "b:x").unwrap();
        a.insert("b", "a:y").unwrap();
        a.insert("self", "self").unwrap();
        let e = Uri::parse("a::foo", &a).unwrap_err();
        assert_eq!(
            e.to_string(),
            "alias cycle in atom URI `a::foo`: a -> b -> a"
        );
        assert!(matches!(
            Uri::parse("self::foo", &a),
            Err(UriError::AliasCycle { .. })
        ));
    }

    #[test]
    fn uris() {
        let u = Uri::parse("gh:o/r::foo@1.2", &aliases()).unwrap();
        assert_eq!(u.to_string(), "https://github.com/o/r::foo@^1.2");
        let u = Uri::parse("http://[::1]:8080/r::foo", &aliases()).unwrap();
        assert_eq!(u.address.as_ref().unwrap().port(), Some(8080));
        assert_eq!(u.address.as_ref().unwrap().host(), "[::1]");
        let u = Uri::parse("foo@>=1.1, <2", &aliases()).unwrap();
        assert_eq!(u.address, None);
        assert_eq!(u.to_string(), "foo@>=1.1, <2");
        assert!(Uri::parse("x::9lives", &aliases()).is_err());
        assert!(Uri::parse("x::foo@", &aliases()).is_err());
        assert!(Uri::parse("x::foo@nope", &aliases()).is_err());
    }

    #[test]
    fn selection() {
        let vs: Vec<Version> = [
            "0.1.2",
            "0.1.10",
            "1.0.0",
            "1.1.0-rc.1",
            "1.0.1",
            "2.0.0-alpha",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let pick = |req: Option<&str>| {
            let req = req.map(|r| r.parse::<Requirement>().unwrap());
            Requirement::select(req.as_ref(), &vs).map(ToString::to_string)
        };
        assert_eq!(pick(None).as_deref(), Some("1.0.1"));
        assert_eq!(pick(Some("0.1")).as_deref(), Some("0.1.10"));
        assert_eq!(pick(Some("=1.1.0-rc.1")).as_deref(), Some("1.1.0-rc.1"));
        assert_eq!(pick(Some(">=1.1.0-rc.1")).as_deref(), Some("1.1.0-rc.1"));
        assert_eq!(pick(Some("^3")), None);
    }

    #[test]
    fn alias_values_are_validated_like_addresses() {
        let config = |value: &str| {
            crate::store::git::Config::from_entries([("atom.alias.evil", value.to_owned())])
        };
        for (value, problem) in [
            ("github.com/\u{1b}[31m", "holds control characters"),
            ("github.com/x\nfetch", "holds control characters"),
            ("git\u{200d}hub.com", "holds invisible characters"),
            ("--upload-pack=touch x", "starts with `-`"),
            ("  ", "is empty"),
        ] {
            let err = Aliases::from_config(&config(value)).unwrap_err();
            assert_eq!(err.name, "evil");
            assert!(err.reason.contains(problem), "{value:?}: {err}");
            assert!(
                !err.to_string().contains(['\u{1b}', '\n', '\u{200d}']),
                "{err}"
            );
        }
        let ok = Aliases::from_config(&config("https://example.org/my-org")).unwrap();
        assert_eq!(ok.get("evil"), Some("https://example.org/my-org"));
    }

    #[test]
    fn git_config_aliases() {
        let config = crate::store::git::Config::from_entries([
            ("atom.alias.work", "gh:my-org"),
            ("atom.alias.gh", "example.org"),
            ("other.key", "x"),
        ]);
        let mut a = Aliases::from_config(&config).unwrap();
        assert_eq!(a.get("gh"), Some("example.org"));
        assert_eq!(a.get("WORK"), Some("gh:my-org"));
        assert!(a.insert("9x", "y").is_err());
    }

    fn uri_strategy() -> impl Strategy<Value = String> {
        let address = prop_oneof![
            Just(String::new()),
            "(gh|gl|bb|cb|sh|work|cool):[a-z0-9-]{1,8}(/[a-z0-9._-]{1,8}){0,2}::",
            // scp-like `host:path`; a path starting with `//` would make `host://` a scheme.
            "(git@)?[a-z]{1,8}\\.(org|com):[a-z0-9][a-z0-9/]{0,11}::",
            "(https?|git|ssh)://([a-z]{1,5}@)?([a-z]{1,8}(\\.[a-z]{2,3})?|\\[::1\\]|127\\.0\\.0\\.1)(:[1-9][0-9]{0,3})?/[a-z0-9._/-]{1,16}::",
            "file:///[a-z0-9/._ -]{1,16}::",
            "(\\.{1,2}/|/)?[a-z0-9_][a-z0-9/_-]{0,15}::",
        ];
        let label = "[a-zA-Zα-ω][a-zA-Z0-9_-]{0,10}";
        let req = prop_oneof![
            Just(String::new()),
            "@(\\^|~|=|>=|<)?[1-9]?[0-9](\\.[1-9]?[0-9]){0,2}",
            "@>=[0-9]\\.[0-9], <[1-9][0-9]?",
            Just("@*".to_owned()),
            "@=[0-9]\\.[0-9]\\.[0-9]-(rc|alpha)\\.[0-9]",
        ];
        (address, label, req).prop_map(|(a, l, r)| format!("{a}{l}{r}"))
    }

    proptest! {
        #[test]
        fn display_round_trips(s in uri_strategy()) {
            let aliases = aliases();
            if let Ok(uri) = Uri::parse(&s, &aliases) {
                let shown = uri.to_string();
                let again = Uri::parse(&shown, &aliases);
                prop_assert_eq!(again.as_ref(), Ok(&uri), "{} -> {}", s, shown);
                // Displaying again is stable: the expanded form is a fixed point.
                prop_assert_eq!(again.unwrap().to_string(), shown);
            }
        }

        #[test]
        fn generated_uris_mostly_parse(s in uri_strategy()) {
            // Every generated form is valid except paths with `..` on a network URL.
            let parsed = Uri::parse(&s, &aliases());
            prop_assert!(parsed.is_ok() || s.contains(".."), "{}: {:?}", s, parsed);
        }

        #[test]
        fn never_panics(s in "\\PC{0,64}") {
            let _ = Uri::parse(&s, &aliases());
        }

        #[test]
        fn never_panics_on_uri_like_noise(s in "[a-z:/@.\\[\\]^~=<>,* -]{0,40}") {
            if let Ok(uri) = Uri::parse(&s, &aliases()) {
                let shown = uri.to_string();
                prop_assert_eq!(Uri::parse(&shown, &aliases()), Ok(uri));
            }
        }

        #[test]
        fn accepted_addresses_are_argument_safe(s in "\\PC{0,40}") {
            if let Ok(address) = Address::parse(&s, &aliases()) {
                let url = address.git_url();
                prop_assert!(!url.starts_with('-'));
                prop_assert!(!url.chars().any(char::is_control));
                prop_assert!(!address.host().starts_with('-'));
            }
        }
    }
}
