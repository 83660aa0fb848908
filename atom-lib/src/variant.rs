//! Variants: the options an atom declares in `[provide]` and `[support]`, a client's choices
//! among them, the complete selection they make with the manifest's defaults, and every
//! combination of them (the static build matrix).
//!
//! - A `[provide]` option (`cc = ["gcc", "clang"]`) is chosen with `--with cc=clang`; its
//!   default is its first candidate.
//! - A `[support]` toggle (`static = false`) is chosen with `--enable static` or `--disable
//!   static`; its default is the manifest's boolean.
//! - A `[support]` list of flags (`my-feature = ["MY_FEATURE=1"]`) is chosen the same way; it
//!   is off by default.
//!
//! ```
//! use atom_lib::manifest::Manifest;
//! use atom_lib::variant::{Choice, Variants};
//!
//! let manifest = Manifest::parse(
//!     b"[atom]\nid = \"a\"\nversion = \"1.0.0\"\n\n[support]\nstatic = false\n",
//!     "atom.toml",
//! )
//! .unwrap();
//! let variants = Variants::of(&manifest);
//! let chosen = variants.select(&[Choice::Enable("static".into())]).unwrap();
//! assert_eq!(chosen.args(), ["--enable", "static"]);
//! assert_eq!(variants.select(&[]).unwrap().args(), ["--disable", "static"]);
//! let err = variants.select(&[Choice::Enable("shared".into())]).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "`--enable shared`: the atom has no variant `shared`; choose from --enable|--disable static"
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::escape::escaped;
use crate::manifest::platform::Triple;
use crate::manifest::{Manifest, Name, Support};

/// The most variant combinations [`Variants::combinations`] lists, and the most entries
/// [`matrix`] lists.
pub const MAX_COMBINATIONS: usize = 4096;

/// One declared option and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `[provide]`: the candidate dependencies, the first the default.
    Provide(Vec<Name>),
    /// `[support]` boolean: a toggle with its default.
    Toggle(bool),
    /// `[support]` array: flags, off by default.
    Flags(Vec<String>),
}

impl Kind {
    /// How this option is chosen on the command line, e.g. `--with cc=<gcc|clang>`.
    fn usage(&self, name: &Name) -> String {
        match self {
            Kind::Provide(candidates) => {
                let list: Vec<&str> = candidates.iter().map(Name::as_str).collect();
                format!("--with {name}=<{}>", list.join("|"))
            }
            Kind::Toggle(_) | Kind::Flags(_) => format!("--enable|--disable {name}"),
        }
    }
}

/// The options an atom declares, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variants {
    /// Every option, `[provide]` and `[support]` together (a name is in only one of them).
    pub options: BTreeMap<Name, Kind>,
}

/// A choice as given on the command line, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// `--with <name>=<candidate>`.
    With {
        /// The option.
        name: String,
        /// The candidate.
        candidate: String,
    },
    /// `--enable <name>`.
    Enable(String),
    /// `--disable <name>`.
    Disable(String),
}

impl Choice {
    /// Parse the value of `--with`: `<name>=<candidate>`.
    pub fn with(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((name, candidate)) if !name.is_empty() && !candidate.is_empty() => {
                Ok(Choice::With {
                    name: name.to_owned(),
                    candidate: candidate.to_owned(),
                })
            }
            _ => Err("expected NAME=CANDIDATE, e.g. cc=clang".into()),
        }
    }

    /// The option's name.
    pub fn name(&self) -> &str {
        match self {
            Choice::With { name, .. } => name,
            Choice::Enable(name) | Choice::Disable(name) => name,
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::With { name, candidate } => {
                write!(f, "--with {}={}", escaped(name), escaped(candidate))
            }
            Choice::Enable(name) => write!(f, "--enable {}", escaped(name)),
            Choice::Disable(name) => write!(f, "--disable {}", escaped(name)),
        }
    }
}

/// The value an option has in a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A `[provide]` option's chosen candidate.
    Candidate(Name),
    /// A `[support]` option, on or off.
    Enabled(bool),
}

/// A complete selection: every declared option with its value (chosen, else the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Each option's value, and what the option is.
    pub values: BTreeMap<Name, (Value, Kind)>,
}

impl Selection {
    /// The command-line choices that select exactly this, every option spelled out, in name
    /// order: `--with cc=gcc --disable static`.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (name, (value, _)) in &self.values {
            match value {
                Value::Candidate(c) => args.extend(["--with".into(), format!("{name}={c}")]),
                Value::Enabled(true) => args.extend(["--enable".into(), name.to_string()]),
                Value::Enabled(false) => args.extend(["--disable".into(), name.to_string()]),
            }
        }
        args
    }
}

/// A selection serialises as an object with one member per option: a `[provide]` option's
/// candidate (a string), a `[support]` option's `true` or `false`.
impl serde::Serialize for Selection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(untagged)]
        enum Json<'a> {
            Candidate(&'a str),
            Enabled(bool),
        }
        serializer.collect_map(self.values.iter().map(|(name, (value, _))| {
            let value = match value {
                Value::Candidate(c) => Json::Candidate(c.as_str()),
                Value::Enabled(on) => Json::Enabled(*on),
            };
            (name.as_str(), value)
        }))
    }
}

/// A choice that does not fit the atom's declared options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The atom declares no options at all.
    #[error("`{choice}`: the atom declares no variants (no `[provide]` or `[support]`)")]
    NoVariants {
        /// The choice.
        choice: Choice,
    },
    /// No option of that name.
    #[error("`{choice}`: the atom has no variant `{}`; choose from {valid}", escaped(.choice.name()))]
    Unknown {
        /// The choice.
        choice: Choice,
        /// Every option, as it is chosen.
        valid: String,
    },
    /// A candidate the option does not list.
    #[error("`{choice}`: `{}` is not a candidate for `{name}`; choose {valid}", escaped(.candidate))]
    Candidate {
        /// The choice.
        choice: Choice,
        /// The option.
        name: Name,
        /// The candidate given.
        candidate: String,
        /// How the option is chosen.
        valid: String,
    },
    /// `--with` for a `[support]` option, or `--enable`/`--disable` for a `[provide]` one.
    #[error("`{choice}`: `{name}` is a [{section}] variant; choose {valid}")]
    Kind {
        /// The choice.
        choice: Choice,
        /// The option.
        name: Name,
        /// `provide` or `support`.
        section: &'static str,
        /// How the option is chosen.
        valid: String,
    },
    /// Two choices for one option that disagree.
    #[error("`{choice}` contradicts `{earlier}`")]
    Contradiction {
        /// The later choice.
        choice: Choice,
        /// The earlier one.
        earlier: Choice,
    },
    /// More combinations than [`MAX_COMBINATIONS`].
    #[error("the atom declares more than {MAX_COMBINATIONS} variant combinations")]
    TooMany,
    /// A matrix of more than [`MAX_COMBINATIONS`] entries.
    #[error(
        "the atom's matrix has {triples} platform triples times {combinations} variant \
         combinations, more than {MAX_COMBINATIONS} entries"
    )]
    MatrixTooLarge {
        /// How many triples `[platform]` lists.
        triples: usize,
        /// How many variant combinations there are.
        combinations: usize,
    },
}

/// One entry of an atom's static build matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The `build:host:target` triple, or `None` when the atom declares no `[platform]`: the
    /// system the job runs on.
    pub triple: Option<Triple>,
    /// The variant.
    pub selection: Selection,
}

impl Entry {
    /// The entry as one line of words: the triple (`any` without one), then the `eka-run`
    /// options that select the variant: `x86_64-linux:aarch64-linux:aarch64-linux --with
    /// cc=clang --disable static`.
    pub fn label(&self) -> String {
        let triple = self
            .triple
            .map_or_else(|| "any".to_owned(), |t| t.to_string());
        std::iter::once(triple)
            .chain(self.selection.args())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An entry as the matrix documents give it (`git atom show --matrix --json`, `eka-run build
/// --matrix --json`; docs/json.md): the triple and its three systems (`null` without a
/// triple), the variant, and the `eka-run` options that select it.
#[derive(Debug, serde::Serialize)]
pub struct EntryJson<'a> {
    /// The triple, `build:host:target`.
    pub triple: Option<String>,
    /// The build system.
    pub build: Option<&'static str>,
    /// The host system.
    pub host: Option<&'static str>,
    /// The target system.
    pub target: Option<&'static str>,
    /// The variant.
    pub variant: &'a Selection,
    /// The options that select it.
    pub args: Vec<String>,
}

impl Entry {
    /// The entry as the matrix documents give it.
    pub fn json(&self) -> EntryJson<'_> {
        EntryJson {
            triple: self.triple.map(|t| t.to_string()),
            build: self.triple.map(|t| t.build.as_str()),
            host: self.triple.map(|t| t.host.as_str()),
            target: self.triple.map(|t| t.target.as_str()),
            variant: &self.selection,
            args: self.selection.args(),
        }
    }
}

/// The atom's static build matrix, from its manifest alone: every triple of
/// `[platform].supported`, in order, times every variant combination
/// ([`Variants::combinations`]), the triple varying slowest. No `[platform]`: the combinations
/// alone, each with no triple. No variants: one entry per triple, the empty selection. Neither:
/// one entry. At most [`MAX_COMBINATIONS`] entries.
pub fn matrix(manifest: &Manifest) -> Result<Vec<Entry>, Error> {
    let combinations = Variants::of(manifest).combinations()?;
    let triples: Vec<Option<Triple>> = if manifest.platform.supported.is_empty() {
        vec![None]
    } else {
        manifest
            .platform
            .supported
            .iter()
            .copied()
            .map(Some)
            .collect()
    };
    if triples.len().saturating_mul(combinations.len()) > MAX_COMBINATIONS {
        return Err(Error::MatrixTooLarge {
            triples: triples.len(),
            combinations: combinations.len(),
        });
    }
    Ok(triples
        .into_iter()
        .flat_map(|triple| {
            combinations.iter().map(move |selection| Entry {
                triple,
                selection: selection.clone(),
            })
        })
        .collect())
}

impl Variants {
    /// The options `manifest` declares.
    pub fn of(manifest: &Manifest) -> Self {
        let provide = manifest
            .provide
            .iter()
            .map(|(n, c)| (n.clone(), Kind::Provide(c.clone())));
        let support = manifest.support.iter().map(|(n, s)| {
            let kind = match s {
                Support::Toggle(default) => Kind::Toggle(*default),
                Support::Flags(flags) => Kind::Flags(flags.clone()),
            };
            (n.clone(), kind)
        });
        Variants {
            options: provide.chain(support).collect(),
        }
    }

    /// Whether the atom declares no option.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }

    /// Every option as it is chosen: `--with cc=<gcc|clang>, --enable|--disable static`.
    fn usage(&self) -> String {
        let all: Vec<String> = self.options.iter().map(|(n, k)| k.usage(n)).collect();
        all.join(", ")
    }

    /// The defaults: each `[provide]` option's first candidate, each toggle's default, flags off.
    pub fn defaults(&self) -> Selection {
        let values = self.options.iter().map(|(name, kind)| {
            let value = match kind {
                Kind::Provide(candidates) => Value::Candidate(candidates[0].clone()),
                Kind::Toggle(default) => Value::Enabled(*default),
                Kind::Flags(_) => Value::Enabled(false),
            };
            (name.clone(), (value, kind.clone()))
        });
        Selection {
            values: values.collect(),
        }
    }

    /// Check `choices` against the declared options and complete them with the defaults. The
    /// same choice twice is one choice; two different ones for an option are an error.
    pub fn select(&self, choices: &[Choice]) -> Result<Selection, Error> {
        let mut selection = self.defaults();
        let mut made: BTreeMap<Name, &Choice> = BTreeMap::new();
        for choice in choices {
            let (name, kind) = self.option(choice)?;
            let value = match (choice, kind) {
                (Choice::With { candidate, .. }, Kind::Provide(candidates)) => {
                    let found = candidates.iter().find(|c| c.as_str() == candidate);
                    let Some(found) = found else {
                        return Err(Error::Candidate {
                            choice: choice.clone(),
                            name: name.clone(),
                            candidate: candidate.clone(),
                            valid: kind.usage(name),
                        });
                    };
                    Value::Candidate(found.clone())
                }
                (Choice::Enable(_), Kind::Toggle(_) | Kind::Flags(_)) => Value::Enabled(true),
                (Choice::Disable(_), Kind::Toggle(_) | Kind::Flags(_)) => Value::Enabled(false),
                (_, kind) => {
                    return Err(Error::Kind {
                        choice: choice.clone(),
                        name: name.clone(),
                        section: match kind {
                            Kind::Provide(_) => "provide",
                            Kind::Toggle(_) | Kind::Flags(_) => "support",
                        },
                        valid: kind.usage(name),
                    })
                }
            };
            if let Some(earlier) = made.get(name) {
                if *earlier != choice {
                    return Err(Error::Contradiction {
                        choice: choice.clone(),
                        earlier: (*earlier).clone(),
                    });
                }
            }
            made.insert(name.clone(), choice);
            selection.values.insert(name.clone(), (value, kind.clone()));
        }
        Ok(selection)
    }

    /// The declared option `choice` names.
    fn option(&self, choice: &Choice) -> Result<(&Name, &Kind), Error> {
        if self.is_empty() {
            return Err(Error::NoVariants {
                choice: choice.clone(),
            });
        }
        self.options
            .iter()
            .find(|(n, _)| n.as_str() == choice.name())
            .ok_or_else(|| Error::Unknown {
                choice: choice.clone(),
                valid: self.usage(),
            })
    }

    /// Every combination of the options' values: the product over the options in name order,
    /// the first varying slowest; each option's values default first (a `[provide]` option's
    /// candidates in declared order; a toggle's default, then the other; flags off, then on).
    /// No options: one combination, the empty selection.
    pub fn combinations(&self) -> Result<Vec<Selection>, Error> {
        let mut all = vec![Selection::default()];
        for (name, kind) in &self.options {
            let values: Vec<Value> = match kind {
                Kind::Provide(candidates) => {
                    candidates.iter().cloned().map(Value::Candidate).collect()
                }
                Kind::Toggle(default) => vec![Value::Enabled(*default), Value::Enabled(!default)],
                Kind::Flags(_) => vec![Value::Enabled(false), Value::Enabled(true)],
            };
            if all.len().saturating_mul(values.len()) > MAX_COMBINATIONS {
                return Err(Error::TooMany);
            }
            all = all
                .into_iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut s = s.clone();
                        s.values.insert(name.clone(), (v.clone(), kind.clone()));
                        s
                    })
                })
                .collect();
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_labelled_by_its_triple_and_the_options_that_select_it() {
        let selection = variants()
            .select(&[Choice::with("cc=clang").unwrap()])
            .unwrap();
        let native = Entry {
            triple: None,
            selection,
        };
        assert_eq!(
            native.label(),
            "any --with cc=clang --disable feature --enable lto --disable static"
        );
        assert_eq!(Entry::default().label(), "any");
    }

    fn variants() -> Variants {
        let m = Manifest::parse(
            b"[atom]\nid = \"a\"\nversion = \"1.0.0\"\n\n\
              [deps.gcc]\npath = \"../gcc\"\n[deps.clang]\npath = \"../clang\"\n\n\
              [provide]\ncc = [\"gcc\", \"clang\"]\n\n\
              [support]\nstatic = false\nlto = true\nfeature = [\"F=1\"]\n",
            "atom.toml",
        )
        .unwrap();
        Variants::of(&m)
    }

    fn with(n: &str, c: &str) -> Choice {
        Choice::With {
            name: n.into(),
            candidate: c.into(),
        }
    }

    #[test]
    fn defaults_come_from_the_manifest() {
        assert_eq!(
            variants().select(&[]).unwrap().args(),
            [
                "--with",
                "cc=gcc",
                "--disable",
                "feature",
                "--enable",
                "lto",
                "--disable",
                "static"
            ]
        );
        let explicit = variants()
            .select(&[with("cc", "gcc"), Choice::Disable("static".into())])
            .unwrap();
        assert_eq!(explicit, variants().defaults());
        let chosen = variants()
            .select(&[
                with("cc", "clang"),
                Choice::Enable("feature".into()),
                Choice::Disable("lto".into()),
                Choice::Disable("lto".into()),
            ])
            .unwrap();
        assert_eq!(
            chosen.args().join(" "),
            "--with cc=clang --enable feature --disable lto --disable static"
        );
    }

    #[test]
    fn bad_choices_name_the_input_and_the_valid_ones() {
        let err = |c: &[Choice]| variants().select(c).unwrap_err().to_string();
        let all = "--with cc=<gcc|clang>, --enable|--disable feature, --enable|--disable lto, --enable|--disable static";
        assert_eq!(
            err(&[with("ld", "mold")]),
            format!("`--with ld=mold`: the atom has no variant `ld`; choose from {all}")
        );
        assert_eq!(
            err(&[with("cc", "icc")]),
            "`--with cc=icc`: `icc` is not a candidate for `cc`; choose --with cc=<gcc|clang>"
        );
        assert_eq!(
            err(&[Choice::Enable("cc".into())]),
            "`--enable cc`: `cc` is a [provide] variant; choose --with cc=<gcc|clang>"
        );
        assert_eq!(
            err(&[with("static", "true")]),
            "`--with static=true`: `static` is a [support] variant; choose --enable|--disable static"
        );
        assert_eq!(
            err(&[Choice::Enable("lto".into()), Choice::Disable("lto".into())]),
            "`--disable lto` contradicts `--enable lto`"
        );
        assert_eq!(
            Variants::default()
                .select(&[Choice::Enable("x\u{1b}".into())])
                .unwrap_err()
                .to_string(),
            "`--enable x\\u{1b}`: the atom declares no variants (no `[provide]` or `[support]`)"
        );
        assert_eq!(
            Choice::with("cc"),
            Err("expected NAME=CANDIDATE, e.g. cc=clang".into())
        );
        assert_eq!(Choice::with("cc=clang"), Ok(with("cc", "clang")));
    }

    #[test]
    fn combinations_are_the_product_defaults_first() {
        let all = variants().combinations().unwrap();
        assert_eq!(all.len(), 2 * 2 * 2 * 2);
        assert_eq!(all[0], variants().defaults());
        let lines: Vec<String> = all.iter().map(|s| s.args().join(" ")).collect();
        assert_eq!(
            lines[1],
            "--with cc=gcc --disable feature --enable lto --enable static"
        );
        assert_eq!(
            lines[15],
            "--with cc=clang --enable feature --disable lto --enable static"
        );
        let unique: std::collections::BTreeSet<&String> = lines.iter().collect();
        assert_eq!(unique.len(), 16);
        assert_eq!(
            Variants::default().combinations().unwrap(),
            [Selection::default()]
        );
    }

    #[test]
    fn the_matrix_is_triples_times_combinations() {
        let m = |extra: &str| {
            Manifest::parse(
                format!("[atom]\nid = \"a\"\nversion = \"1.0.0\"\n{extra}").as_bytes(),
                "atom.toml",
            )
            .unwrap()
        };
        let platform = "[platform]\nsupported = [\"x86_64-linux:{<,aarch64-linux}\"]\n";
        let both = matrix(&m(&format!("{platform}[support]\nstatic = true\n"))).unwrap();
        let shown: Vec<String> = both
            .iter()
            .map(|e| format!("{} {}", e.triple.unwrap(), e.selection.args().join(" ")))
            .collect();
        assert_eq!(
            shown,
            [
                "x86_64-linux:x86_64-linux:x86_64-linux --enable static",
                "x86_64-linux:x86_64-linux:x86_64-linux --disable static",
                "x86_64-linux:aarch64-linux:aarch64-linux --enable static",
                "x86_64-linux:aarch64-linux:aarch64-linux --disable static",
            ]
        );
        let no_variants = matrix(&m(platform)).unwrap();
        assert_eq!(no_variants.len(), 2);
        assert!(no_variants.iter().all(|e| e.selection.values.is_empty()));
        let no_platform = matrix(&m("[support]\nstatic = true\n")).unwrap();
        assert_eq!(no_platform.len(), 2);
        assert!(no_platform.iter().all(|e| e.triple.is_none()));
        assert_eq!(
            matrix(&m("")).unwrap(),
            [Entry {
                triple: None,
                selection: Selection::default()
            }]
        );
        let mut big = String::from("[support]\n");
        for i in 0..10 {
            big.push_str(&format!("t{i} = false\n"));
        }
        let wide = "[platform]\nsupported = [\"{x86_64-linux,aarch64-linux,riscv64-linux,x86_64-darwin,aarch64-darwin}\"]\n";
        assert_eq!(
            matrix(&m(&format!("{wide}{big}"))).unwrap_err().to_string(),
            "the atom's matrix has 5 platform triples times 1024 variant combinations, more than 4096 entries"
        );
    }

    #[test]
    fn too_many_combinations_are_refused() {
        let mut text = String::from("[atom]\nid = \"a\"\nversion = \"1.0.0\"\n[support]\n");
        for i in 0..13 {
            text.push_str(&format!("t{i} = false\n"));
        }
        let v = Variants::of(&Manifest::parse(text.as_bytes(), "atom.toml").unwrap());
        assert_eq!(v.combinations().unwrap_err(), Error::TooMany);
        assert!(v.select(&[]).is_ok());
    }
}
