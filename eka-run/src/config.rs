//! The configuration an atom is evaluated with: `--config <json>` and `--system`.
//!
//! The JSON is normalised to canonical JSON ([`crate::canonical`], RFC 8785), so that two
//! spellings of the same configuration are one configuration, with one digest. The system is
//! kept apart from the rest: `--system`, else the configuration's own `system`, else the
//! system eka-run runs on; atom-nix gets it back as `config.system`.
//!
//! The atom's variant selection (`--with`, `--enable`, `--disable`, checked against its
//! manifest, completed with its defaults) is the configuration's reserved member
//! [`VARIANT_KEY`], an object of one member per declared option ([`Config::with_variant`]);
//! an atom that declares no options has none. Being part of the configuration, it is part of
//! its digest, and so of the evaluation's identity.

use atom_lib::variant::{self, Selection};

use crate::canonical::{self, Value};

/// The member of the configuration that holds the variant selection.
pub const VARIANT_KEY: &str = "variant";

/// A failure to read the configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--config` is not canonicalisable JSON.
    #[error("invalid --config `{text}`")]
    Json {
        /// What was given.
        text: String,
        /// Why.
        #[source]
        source: canonical::Error,
    },
    /// `--config` is JSON, but not an object.
    #[error("invalid --config `{text}`: must be a JSON object")]
    NotAnObject {
        /// What was given.
        text: String,
    },
    /// The configuration's `system` is not a string.
    #[error("invalid --config `{text}`: `system` must be a string")]
    SystemNotAString {
        /// What was given.
        text: String,
    },
    /// `--system` and the configuration's `system` disagree.
    #[error("--system `{flag}` contradicts the `system` `{config}` of --config")]
    SystemConflict {
        /// `--system`.
        flag: String,
        /// The configuration's `system`.
        config: String,
    },
    /// `--config` sets the member the variant selection is passed in.
    #[error(
        "invalid --config `{text}`: `{VARIANT_KEY}` is reserved for the atom's variants: choose \
         them with --with, --enable and --disable"
    )]
    Reserved {
        /// What was given.
        text: String,
    },
    /// `build --matrix` would set `platform` for a cross entry, and `--config` sets it.
    #[error(
        "invalid --config `{text}`: `{PLATFORM_KEY}` is set by --matrix for the cross entry \
         `{triple}`"
    )]
    PlatformTaken {
        /// What was given.
        text: String,
        /// The entry's triple.
        triple: String,
    },
    /// `--system` is not a Nix system name.
    #[error("invalid --system `{0}`: expected <cpu>-<os>, e.g. x86_64-linux")]
    System(String),
}

/// The member of the configuration that holds a cross build's platforms (`build --matrix`).
pub const PLATFORM_KEY: &str = "platform";

/// A normalised configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The canonical JSON of the configuration, without `system`.
    pub canonical: String,
    /// The system to evaluate for.
    pub system: String,
}

impl Config {
    /// Normalise `--config` `text` and `--system` `system`.
    pub fn new(text: &str, system: Option<&str>) -> Result<Self, Error> {
        let value = canonical::parse(text).map_err(|source| Error::Json {
            text: text.to_owned(),
            source,
        })?;
        let Value::Object(mut members) = value else {
            return Err(Error::NotAnObject {
                text: text.to_owned(),
            });
        };
        if members.iter().any(|(n, _)| n == VARIANT_KEY) {
            return Err(Error::Reserved {
                text: text.to_owned(),
            });
        }
        let from_config = match members.iter().position(|(n, _)| n == "system") {
            Some(i) => match members.remove(i).1 {
                Value::String(s) => Some(s),
                _ => {
                    return Err(Error::SystemNotAString {
                        text: text.to_owned(),
                    })
                }
            },
            None => None,
        };
        if let Some(flag) = system {
            if !is_system(flag) {
                return Err(Error::System(flag.to_owned()));
            }
        }
        let system = match (system, from_config) {
            (Some(flag), Some(config)) if flag != config => {
                return Err(Error::SystemConflict {
                    flag: flag.to_owned(),
                    config,
                })
            }
            (Some(flag), _) => flag.to_owned(),
            (None, Some(config)) => config,
            (None, None) => host_system(),
        };
        Ok(Config {
            canonical: Value::Object(members).to_string(),
            system,
        })
    }

    /// The configuration with the variant selection as its member [`VARIANT_KEY`]: per declared
    /// option, a `[provide]` option's chosen candidate (the name of the dependency, a string), a
    /// `[support]` toggle's boolean, a `[support]` list's flags when it is on and `[]` when it
    /// is off. An empty selection (the atom declares no options) adds nothing.
    pub fn with_variant(mut self, selection: &Selection) -> Self {
        if selection.values.is_empty() {
            return self;
        }
        let members = selection.values.iter().map(|(name, (value, kind))| {
            let value = match (value, kind) {
                (variant::Value::Candidate(c), _) => Value::String(c.to_string()),
                (variant::Value::Enabled(true), variant::Kind::Flags(flags)) => {
                    Value::Array(flags.iter().cloned().map(Value::String).collect())
                }
                (variant::Value::Enabled(false), variant::Kind::Flags(_)) => {
                    Value::Array(Vec::new())
                }
                (variant::Value::Enabled(on), _) => Value::Bool(*on),
            };
            (name.to_string(), value)
        });
        let mut variant: Vec<(String, Value)> = members.collect();
        variant.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        let Ok(Value::Object(mut members)) = canonical::parse(&self.canonical) else {
            unreachable!("`canonical` is a canonical JSON object");
        };
        members.push((VARIANT_KEY.into(), Value::Object(variant)));
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        self.canonical = Value::Object(members).to_string();
        self
    }

    /// The configuration of a cross build (`build --matrix`, an entry whose host is not its
    /// build system or whose target is not its host): the member [`PLATFORM_KEY`] is
    /// `{"build", "host", "target"}`, the triple's systems (`system` stays the build system,
    /// where the derivation's builder runs). An error when `--config` has that member already.
    pub fn with_platform(mut self, triple: [&str; 3]) -> Result<Self, Error> {
        let Ok(Value::Object(mut members)) = canonical::parse(&self.canonical) else {
            unreachable!("`canonical` is a canonical JSON object");
        };
        if members.iter().any(|(n, _)| n == PLATFORM_KEY) {
            return Err(Error::PlatformTaken {
                text: self.canonical.clone(),
                triple: triple.join(":"),
            });
        }
        let platform = ["build", "host", "target"]
            .into_iter()
            .zip(triple)
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        members.push((PLATFORM_KEY.into(), Value::Object(platform)));
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        self.canonical = Value::Object(members).to_string();
        Ok(self)
    }

    /// The canonical JSON atom-nix gets as `config`: the configuration with `system`.
    pub fn for_evaluation(&self) -> String {
        let Ok(Value::Object(mut members)) = canonical::parse(&self.canonical) else {
            unreachable!("`canonical` is a canonical JSON object");
        };
        members.push(("system".into(), Value::String(self.system.clone())));
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        Value::Object(members).to_string()
    }

    /// The configuration's digest: BLAKE3 of its canonical JSON (without `system`), hex.
    pub fn digest(&self) -> String {
        blake3::hash(self.canonical.as_bytes()).to_hex().to_string()
    }
}

/// Whether `s` looks like a Nix system name (`x86_64-linux`, `aarch64-darwin`).
fn is_system(s: &str) -> bool {
    s.split_once('-').is_some_and(|(cpu, os)| {
        !cpu.is_empty()
            && !os.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// The Nix system name of the machine eka-run runs on, as Nix names it.
pub fn host_system() -> String {
    let cpu = match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7l",
        "powerpc64" if cfg!(target_endian = "little") => "powerpc64le",
        arch => arch,
    };
    format!("{cpu}-{}", std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_configuration_are_one_configuration() {
        let a = Config::new(r#"{ "b": 1.0, "a": [true] }"#, Some("x86_64-linux")).unwrap();
        let b = Config::new(r#"{"a":[true],"b":1}"#, Some("x86_64-linux")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.canonical, r#"{"a":[true],"b":1}"#);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(
            a.digest(),
            blake3::hash(br#"{"a":[true],"b":1}"#).to_hex().to_string()
        );
        let c = Config::new(r#"{"a":[true],"b":2}"#, Some("x86_64-linux")).unwrap();
        assert_ne!(a.digest(), c.digest());
        assert_eq!(
            a.for_evaluation(),
            r#"{"a":[true],"b":1,"system":"x86_64-linux"}"#
        );
    }

    #[test]
    fn the_system_comes_from_the_flag_the_config_or_the_host() {
        let flag = Config::new("{}", Some("aarch64-linux")).unwrap();
        assert_eq!(flag.system, "aarch64-linux");
        let config = Config::new(r#"{"system":"aarch64-linux"}"#, None).unwrap();
        assert_eq!(
            config, flag,
            "the system is a part of its own, not in the digest"
        );
        let both = Config::new(r#"{"system":"aarch64-linux"}"#, Some("aarch64-linux")).unwrap();
        assert_eq!(both, flag);
        let host = Config::new("{}", None).unwrap();
        assert_eq!(host.system, host_system());
        assert!(host_system().ends_with("-linux"), "{}", host_system());
    }

    #[test]
    fn the_variant_selection_is_a_member_of_the_configuration() {
        use atom_lib::manifest::Manifest;
        use atom_lib::variant::{Choice, Variants};
        let m = Manifest::parse(
            b"[atom]\nid = \"a\"\nversion = \"1.0.0\"\n[deps.gcc]\npath = \"../gcc\"\n\
              [deps.clang]\npath = \"../clang\"\n[provide]\ncc = [\"gcc\", \"clang\"]\n\
              [support]\nstatic = false\nfeature = [\"F=1\", \"G\"]\n",
            "atom.toml",
        )
        .unwrap();
        let v = Variants::of(&m);
        let config = || Config::new(r#"{"z":1,"a":2}"#, Some("x86_64-linux")).unwrap();
        let defaults = config().with_variant(&v.select(&[]).unwrap());
        assert_eq!(
            defaults.canonical,
            r#"{"a":2,"variant":{"cc":"gcc","feature":[],"static":false},"z":1}"#
        );
        let chosen = config().with_variant(
            &v.select(&[
                Choice::with("cc=clang").unwrap(),
                Choice::Enable("feature".into()),
                Choice::Enable("static".into()),
            ])
            .unwrap(),
        );
        assert_eq!(
            chosen.for_evaluation(),
            r#"{"a":2,"system":"x86_64-linux","variant":{"cc":"clang","feature":["F=1","G"],"static":true},"z":1}"#
        );
        assert_ne!(chosen.digest(), defaults.digest());
        let none = config().with_variant(&Variants::default().select(&[]).unwrap());
        assert_eq!(none, config(), "no options: the configuration as given");
    }

    #[test]
    fn a_cross_builds_platforms_are_a_member_of_the_configuration() {
        let c = Config::new(r#"{"a":1}"#, Some("x86_64-linux")).unwrap();
        let cross = c
            .with_platform(["x86_64-linux", "aarch64-linux", "aarch64-linux"])
            .unwrap();
        assert_eq!(
            cross.for_evaluation(),
            r#"{"a":1,"platform":{"build":"x86_64-linux","host":"aarch64-linux","target":"aarch64-linux"},"system":"x86_64-linux"}"#
        );
        let taken = Config::new(r#"{"platform":1}"#, None)
            .unwrap()
            .with_platform(["a-b", "c-d", "c-d"])
            .unwrap_err();
        assert_eq!(
            taken.to_string(),
            "invalid --config `{\"platform\":1}`: `platform` is set by --matrix for the cross \
             entry `a-b:c-d:c-d`"
        );
    }

    #[test]
    fn bad_configurations_name_the_input() {
        let err = |c: &str, s: Option<&str>| {
            format!("{:#}", anyhow::Error::from(Config::new(c, s).unwrap_err()))
        };
        assert_eq!(
            err("[1]", None),
            "invalid --config `[1]`: must be a JSON object"
        );
        assert!(
            err("{", None).starts_with("invalid --config `{`: EOF"),
            "{}",
            err("{", None)
        );
        assert_eq!(
            err(r#"{"system":1}"#, None),
            "invalid --config `{\"system\":1}`: `system` must be a string"
        );
        assert_eq!(
            err(r#"{"system":"x86_64-linux"}"#, Some("aarch64-linux")),
            "--system `aarch64-linux` contradicts the `system` `x86_64-linux` of --config"
        );
        assert_eq!(
            err("{}", Some("linux")),
            "invalid --system `linux`: expected <cpu>-<os>, e.g. x86_64-linux"
        );
        assert_eq!(
            err(r#"{"variant":{}}"#, None),
            "invalid --config `{\"variant\":{}}`: `variant` is reserved for the atom's variants: \
             choose them with --with, --enable and --disable"
        );
        assert!(Config::new("{}", Some("x86_64-linux")).is_ok());
    }
}
