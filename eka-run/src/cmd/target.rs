//! What `eval`, `build`, `run` and `plan` evaluate: an atom, an attribute path of it, a
//! configuration, and how (the evaluation cache, Nix's trace).

use std::path::PathBuf;

use atom_lib::variant::Choice;

use super::planned::{self, Found};

use crate::backend::nix::NixEvaluator;
use crate::backend::{Cached, Request};
use crate::cache::Cache;
use crate::closure;
use crate::config::Config;
use crate::identity::Identity;
use crate::jail::SandboxOptions;

/// What to evaluate, as `eval`, `build`, `run` and `plan` take it.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The atom: its directory (the one holding its top-level mod.nix), or an atom URI
    /// `<address>::<label>[@<version-requirement>]` as `git clone atom::` takes it (aliases from
    /// `git config atom.alias.*`), resolved to the highest matching version and fetched into the
    /// atom cache ($XDG_CACHE_HOME/atom/atoms.git). With an atom.toml that declares
    /// dependencies, its atom.lock must be current (`git atom resolve` makes it so): each locked
    /// atom is `from.<name>`, taken from the atom cache (fetched from the lock's URL if missing)
    #[arg(value_name = "ATOM", value_parser = closure::Spec::parse)]
    pub atom: closure::Spec,
    /// Attribute path in the atom's public API, e.g. `lib.greeting` [default: eval: all of it;
    /// build, run, plan: the API if it is a derivation, else its `default`]
    #[arg(value_name = "ATTRIBUTE-PATH")]
    pub attr: Option<String>,
    /// The atom's configuration, a JSON object passed to atom-nix as `config`; normalised to
    /// canonical JSON (RFC 8785), which is also what atom-nix gets
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub config: String,
    /// Choose CANDIDATE for the atom's `[provide]` option NAME (e.g. `--with cc=clang`); atom-nix
    /// sees it as `config.variant.NAME`, the name of the chosen dependency [default: the
    /// option's first candidate]; repeatable
    #[arg(long = "with", value_name = "NAME=CANDIDATE", value_parser = Choice::with)]
    pub with: Vec<Choice>,
    /// Turn on the atom's `[support]` option NAME: `config.variant.NAME` is `true` for a toggle,
    /// the list of flags for a list [default: the toggle's default in atom.toml; a list is
    /// off]; repeatable
    #[arg(long, value_name = "NAME")]
    pub enable: Vec<String>,
    /// Turn off the atom's `[support]` option NAME: `config.variant.NAME` is `false` for a
    /// toggle, `[]` for a list; repeatable
    #[arg(long, value_name = "NAME")]
    pub disable: Vec<String>,
    /// The system to evaluate for, passed as `config.system` [default: the configuration's
    /// `system`, else this machine's, e.g. x86_64-linux]
    #[arg(long, value_name = "SYSTEM")]
    pub system: Option<String>,
    /// Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and
    /// do not store it; build, run and plan: also look for no plan record
    #[arg(long)]
    pub no_cache: bool,
    /// Show Nix's detailed trace on evaluation errors
    #[arg(long)]
    pub show_trace: bool,
}

impl Target {
    /// The request this names: the configuration normalised, the atom opened (a URI resolved
    /// and fetched) with its variant choices and its lock checked, the selection put into the
    /// configuration, the identity read from it.
    pub fn request(&self) -> anyhow::Result<Request> {
        let config = Config::new(&self.config, self.system.as_deref())?;
        let atom = closure::Subject::open(&self.atom, &self.choices())?;
        let config = config.with_variant(&atom.selection);
        Ok(Request::new(atom, self.attr.as_deref(), config))
    }

    /// For `build`, `run` and `plan`: the atom opened as far as its identity needs and, unless
    /// `--no-cache` or the evaluation cache has the derivation, the plan record of the identity
    /// from the binary caches of Nix's settings (read with `nix`, on a thread of their own while
    /// the atom is opened). For a URI with records to look for, only the atom's manifest and
    /// lock are fetched until [`Opened::request`] needs more.
    pub fn open(&self, sandbox: &SandboxOptions, nix: Option<PathBuf>) -> anyhow::Result<Opened> {
        let config = Config::new(&self.config, self.system.as_deref())?;
        // For a URI, Nix's settings are read while the remote is listed; a directory's identity
        // is known at once, so they are read only when the evaluation cache misses.
        let uri = matches!(self.atom, closure::Spec::Uri(_));
        let mut pending = (!self.no_cache && uri).then(|| planned::Pending::start(nix.clone()));
        let mut settings = None;
        let mut peeked = closure::Subject::peek(&self.atom, &self.choices(), || {
            settings = pending.take().and_then(planned::Pending::usable);
            settings.is_some()
        })?;
        let config = config.with_variant(&peeked.subject().selection);
        let subject = peeked.subject();
        let identity = Identity::new(
            subject.atom_part.clone(),
            subject.lock_part.clone(),
            &config,
            self.attr.as_deref(),
        );
        let record = if self.no_cache {
            None
        } else if self.evaluator(sandbox).has_derivation(&identity) {
            tracing::info!("no plan record is looked for: the evaluation cache has the derivation");
            None
        } else {
            let settings = match pending {
                Some(pending) => pending.usable(),
                None if uri => settings,
                None => planned::Pending::start(nix).usable(),
            };
            settings.and_then(|settings| planned::find(&settings, &identity))
        };
        if record.is_some() {
            // Substituting enters the user's store from a single-threaded process.
            peeked.release();
        }
        Ok(Opened {
            peeked,
            config,
            attr: self.attr.clone(),
            identity,
            record,
        })
    }

    /// The variant choices: `--with`, then `--enable`, then `--disable`.
    pub fn choices(&self) -> Vec<Choice> {
        let enable = self.enable.iter().cloned().map(Choice::Enable);
        let disable = self.disable.iter().cloned().map(Choice::Disable);
        self.with
            .iter()
            .cloned()
            .chain(enable)
            .chain(disable)
            .collect()
    }

    /// The Nix evaluator in `sandbox`, behind the evaluation cache unless `--no-cache` (or
    /// there is no cache directory).
    pub fn evaluator(&self, sandbox: &SandboxOptions) -> Cached<NixEvaluator> {
        let cache = if self.no_cache {
            None
        } else {
            match Cache::from_env(|k| std::env::var_os(k)) {
                Ok(cache) => Some(cache),
                Err(e) => {
                    tracing::warn!("{:#}; evaluating without the cache", anyhow::Error::from(e));
                    None
                }
            }
        };
        Cached::new(
            NixEvaluator {
                sandbox: sandbox.clone(),
                show_trace: self.show_trace,
            },
            cache,
        )
    }
}

/// An atom opened as far as its identity needs ([`Target::open`]), and its plan record if one
/// was found.
#[derive(Debug)]
pub struct Opened {
    peeked: closure::Peeked,
    config: Config,
    attr: Option<String>,
    /// The evaluation's identity.
    pub identity: Identity,
    /// The plan record found for it.
    pub record: Option<Found>,
}

impl Opened {
    /// The request to evaluate: the atom opened completely.
    pub fn request(self) -> anyhow::Result<Request> {
        let atom = self.peeked.open()?;
        Ok(Request::new(atom, self.attr.as_deref(), self.config))
    }
}
