//! The evaluator and the builder, as traits: what `eval`, `build`, `run` and `plan` ask of a
//! backend, so another one (snix) fits without touching them.
//!
//! - An [`Evaluator`] turns a [`Request`] (an atom, an attribute path, a configuration) into a
//!   value ([`Evaluator::evaluate`]) or a [`Derivation`] in the store
//!   ([`Evaluator::derivation`]).
//! - A [`Builder`] realises a derivation in the user's store.
//! - [`Cached`] wraps any evaluator with the evaluation cache ([`crate::cache`]).
//!
//! [`nix`] is the first backend: `nix-instantiate` in eka-run's evaluation sandbox and
//! `nix-store --realise` in run mode.

pub mod nix;

use std::collections::BTreeMap;
use std::path::Path;

use crate::cache::{self, Cache};
use crate::closure::{self, Subject};
use crate::config::Config;
use crate::identity::{self, Identity};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct Request {
    /// The atom, its lock checked.
    pub atom: Subject,
    /// The attribute path, as given (`None`: the whole API, or for a derivation its `default`).
    pub attribute: Option<String>,
    /// The configuration.
    pub config: Config,
    /// The evaluation's identity.
    pub identity: Identity,
}

impl Request {
    /// A request for the atom `atom` (opened and checked), with its identity.
    pub fn new(atom: Subject, attribute: Option<&str>, config: Config) -> Self {
        let identity = Identity::new(
            atom.atom_part.clone(),
            atom.lock_part.clone(),
            &config,
            attribute,
        );
        Request {
            atom,
            attribute: attribute.map(str::to_owned),
            config,
            identity,
        }
    }

    /// The attribute path's names: `a."b.c".d` is `a`, `b.c`, `d`.
    pub fn attribute_names(&self) -> Result<Vec<String>, Error> {
        match &self.attribute {
            None => Ok(Vec::new()),
            Some(path) => attribute_names(path),
        }
    }
}

/// How [`Evaluator::evaluate`] prints the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// As a Nix value.
    Nix,
    /// As JSON.
    Json,
}

/// A derivation an evaluation wrote to the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Derivation {
    /// The `.drv` file.
    pub drv_path: String,
    /// The default output's path.
    #[serde(rename = "defaultOutput")]
    pub out_path: String,
    /// Every output's path, by output name.
    pub outputs: BTreeMap<String, String>,
    /// `meta.mainProgram`, if set.
    pub main_program: Option<String>,
    /// `pname`, if set.
    pub pname: Option<String>,
    /// `name`.
    pub name: String,
}

impl Derivation {
    /// The program `run` executes, as `nix run` chooses it: `meta.mainProgram`, else `pname`,
    /// else the name without its version.
    pub fn main_program(&self) -> String {
        self.main_program
            .clone()
            .or_else(|| self.pname.clone())
            .unwrap_or_else(|| name_without_version(&self.name).to_owned())
    }
}

/// A derivation name without its version, as Nix splits it (`DrvName`): up to the first `-`
/// that is followed by something other than a letter. `hello-2.12` is `hello`, `foo-bar-1` is
/// `foo-bar`.
pub fn name_without_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b'-' && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_alphabetic()))
        .map_or(name, |i| &name[..i])
}

/// A failure of a backend.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The evaluation sandbox could not be set up.
    #[error(transparent)]
    Sandbox(#[from] crate::jail::Error),
    /// The store could not be set up.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The atom could not be read.
    #[error(transparent)]
    Atom(#[from] identity::Error),
    /// The atom or its dependencies could not be made ready.
    #[error(transparent)]
    Closure(Box<closure::Error>),
    /// A backend program failed; it said why on stderr. eka-run exits with its status.
    #[error("`{program}` failed with exit status {status}")]
    Failed {
        /// The program.
        program: String,
        /// Its exit status.
        status: u8,
        /// The first line of its stderr that starts with `error:`, if any.
        error: Option<String>,
    },
    /// A backend program printed something unexpected.
    #[error("cannot read the output of `{program}`: {problem}")]
    Output {
        /// The program.
        program: String,
        /// What is wrong.
        problem: String,
    },
    /// The attribute path does not parse.
    #[error("invalid attribute path `{path}`: {problem}")]
    AttributePath {
        /// The path.
        path: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A program could not be found.
    #[error("cannot find `{0}` on PATH: install Nix (e.g. Debian's nix-bin)")]
    NotFound(String),
    /// Running the builder in the user's store failed before it started.
    #[error("cannot start `{program}` in the user's store: {report}")]
    Start {
        /// The program.
        program: String,
        /// What the child reported.
        report: String,
    },
    /// An I/O failure of eka-run's own.
    #[error("cannot {what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl From<closure::Error> for Error {
    fn from(e: closure::Error) -> Self {
        Error::Closure(Box::new(e))
    }
}

impl Error {
    /// The exit status eka-run ends with: a backend program's own, else 125.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Failed { status, .. } => *status,
            _ => crate::exit::FAILURE,
        }
    }
}

/// An evaluator of atoms.
pub trait Evaluator {
    /// What, besides the request, its results depend on (the backend, its version, the module
    /// system it evaluates with): part of every cache key, so that a new one never reuses an
    /// old one's results.
    fn fingerprint(&self) -> Result<String, Error>;

    /// The value at the request's attribute path (the whole API without one), printed.
    fn evaluate(&self, request: &Request, format: Format) -> Result<Vec<u8>, Error>;

    /// The derivation at the request's attribute path, written to the store.
    fn derivation(&self, request: &Request) -> Result<Derivation, Error>;

    /// Whether a derivation from an earlier evaluation is still in the store (a cached
    /// evaluation is only reused when it is).
    fn has(&self, derivation: &Derivation) -> bool;
}

/// A builder: realises derivations in the user's store.
pub trait Builder {
    /// Realise `derivation`; the paths of its outputs. With `out_link`, also a symlink there
    /// to the default output, registered as a garbage collector root.
    fn realise(
        &self,
        derivation: &Derivation,
        out_link: Option<&Path>,
    ) -> Result<Vec<String>, Error>;
}

/// An evaluator that answers repeated requests from the evaluation cache, without starting the
/// one it wraps.
#[derive(Debug)]
pub struct Cached<E> {
    inner: E,
    cache: Option<Cache>,
}

impl<E: Evaluator> Cached<E> {
    /// `inner`, with `cache` (`None`: every request evaluates).
    pub fn new(inner: E, cache: Option<Cache>) -> Self {
        Cached { inner, cache }
    }

    fn key(&self, request: &Request, what: &str) -> Result<String, Error> {
        self.key_of(&request.identity, what)
    }

    fn key_of(&self, identity: &Identity, what: &str) -> Result<String, Error> {
        Ok(cache::key(&[
            "eka-run evaluation 1",
            &identity.digest(),
            &self.inner.fingerprint()?,
            what,
        ]))
    }

    /// Whether the cache holds the derivation of the evaluation `identity`, its `.drv` still
    /// in the store (what [`Evaluator::derivation`] would answer without evaluating).
    pub fn has_derivation(&self, identity: &Identity) -> bool {
        let (Some(cache), Ok(key)) = (&self.cache, self.key_of(identity, "derivation")) else {
            return false;
        };
        cache
            .get(&key)
            .and_then(|bytes| serde_json::from_slice::<Derivation>(&bytes).ok())
            .is_some_and(|d| self.inner.has(&d))
    }

    fn store(&self, key: &str, value: &[u8]) {
        if let Some(cache) = &self.cache {
            if let Err(e) = cache.put(key, value) {
                tracing::warn!("{:#}", anyhow::Error::from(e));
            }
        }
    }
}

impl<E: Evaluator> Evaluator for Cached<E> {
    fn fingerprint(&self) -> Result<String, Error> {
        self.inner.fingerprint()
    }

    fn evaluate(&self, request: &Request, format: Format) -> Result<Vec<u8>, Error> {
        let Some(cache) = &self.cache else {
            return self.inner.evaluate(request, format);
        };
        let what = match format {
            Format::Nix => "value nix",
            Format::Json => "value json",
        };
        let key = self.key(request, what)?;
        if let Some(value) = cache.get(&key) {
            tracing::info!(key, "evaluation cache hit");
            return Ok(value);
        }
        tracing::info!(key, "evaluation cache miss");
        let value = self.inner.evaluate(request, format)?;
        self.store(&key, &value);
        Ok(value)
    }

    fn derivation(&self, request: &Request) -> Result<Derivation, Error> {
        let Some(cache) = &self.cache else {
            return self.inner.derivation(request);
        };
        let key = self.key(request, "derivation")?;
        let hit = cache
            .get(&key)
            .and_then(|bytes| serde_json::from_slice::<Derivation>(&bytes).ok())
            .filter(|d| self.inner.has(d));
        if let Some(derivation) = hit {
            tracing::info!(key, "evaluation cache hit");
            return Ok(derivation);
        }
        tracing::info!(key, "evaluation cache miss");
        let derivation = self.inner.derivation(request)?;
        let json = serde_json::to_vec(&derivation).expect("a derivation serialises");
        self.store(&key, &json);
        Ok(derivation)
    }

    fn has(&self, derivation: &Derivation) -> bool {
        self.inner.has(derivation)
    }
}

/// The names of the attribute path `path`: separated by `.`, a name in double quotes may hold
/// dots (`a."b.c"`), as in Nix.
pub fn attribute_names(path: &str) -> Result<Vec<String>, Error> {
    let bad = |problem| Error::AttributePath {
        path: path.to_owned(),
        problem,
    };
    let mut names = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        let mut name = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => name.push(c),
                    None => return Err(bad("unterminated quote")),
                }
            }
            if !matches!(chars.peek(), None | Some('.')) {
                return Err(bad("a quoted name must be followed by `.` or the end"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '"' {
                    return Err(bad("a quote inside a name"));
                }
                name.push(c);
                chars.next();
            }
            if name.is_empty() {
                return Err(bad("an empty name"));
            }
        }
        names.push(name);
        match chars.next() {
            None => return Ok(names),
            Some(_dot) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_paths_split_as_in_nix() {
        assert_eq!(attribute_names("a").unwrap(), ["a"]);
        assert_eq!(
            attribute_names("lib.greeting").unwrap(),
            ["lib", "greeting"]
        );
        assert_eq!(attribute_names(r#"a."b.c".d"#).unwrap(), ["a", "b.c", "d"]);
        assert_eq!(attribute_names(r#""""#).unwrap(), [""]);
        for bad in ["", "a..b", "a.", ".a", r#"a."b"#, r#"a"b""#, r#""a"b"#] {
            let err = attribute_names(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid attribute path `{bad}`: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn the_main_program_is_chosen_as_nix_run_chooses_it() {
        let d = |main: Option<&str>, pname: Option<&str>, name: &str| Derivation {
            drv_path: String::new(),
            out_path: String::new(),
            outputs: BTreeMap::new(),
            main_program: main.map(Into::into),
            pname: pname.map(Into::into),
            name: name.into(),
        };
        assert_eq!(d(Some("hi"), Some("p"), "n-1").main_program(), "hi");
        assert_eq!(d(None, Some("p"), "n-1").main_program(), "p");
        assert_eq!(d(None, None, "hello-2.12").main_program(), "hello");
        assert_eq!(d(None, None, "foo-bar-1.0").main_program(), "foo-bar");
        assert_eq!(d(None, None, "hello").main_program(), "hello");
        assert_eq!(name_without_version("a-"), "a-");
        assert_eq!(name_without_version("a-1-b"), "a");
    }
}
