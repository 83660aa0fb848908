//! `eka-run build --matrix`: build every entry of the atom's static build matrix
//! ([`atom_lib::variant::matrix`], the list `git atom show --matrix` prints) that this machine or
//! Nix's `builders` can build, and say why each of the others is skipped.
//!
//! Decide, then act: the atom is opened once, Nix's settings are read once
//! ([`Capabilities`]), and each entry is placed (built here, on a builder, or skipped) before
//! anything is evaluated; then each entry to build is evaluated and realised in turn.

use std::collections::BTreeMap;
use std::io::Write as _;

use atom_lib::variant::{self, Entry};
use serde::Serialize;

use super::{realise_request, Args, Destination, Realised};
use crate::backend;
use crate::closure::Subject;
use crate::config::Config;
use crate::nix::command::{self, Program};
use crate::nix::machines::{Capabilities, Where};

/// The exit status of `build --matrix` when an entry failed to build.
pub const SOME_FAILED: u8 = 1;

/// One entry and what becomes of it.
#[derive(Debug)]
struct Job {
    entry: Entry,
    /// The system the derivation is for: the triple's build system, or this machine's.
    system: String,
    /// Why it is skipped, when it is.
    skip: Option<String>,
}

/// What became of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Built: its outputs by name.
    Built(BTreeMap<String, String>),
    /// Not built, and why.
    Skipped(String),
    /// Its evaluation or build failed: the first error line.
    Failed(String),
}

/// One entry of `build --matrix --json`.
#[derive(Serialize)]
struct JsonEntry<'a> {
    #[serde(flatten)]
    entry: variant::EntryJson<'a>,
    system: &'a str,
    status: &'static str,
    outputs: Option<&'a BTreeMap<String, String>>,
    reason: Option<&'a str>,
}

/// `build --matrix --json`.
#[derive(Serialize)]
struct JsonReport<'a> {
    include: Vec<JsonEntry<'a>>,
    built: usize,
    skipped: usize,
    failed: usize,
}

/// Nix's settings as the build will read them.
fn capabilities() -> anyhow::Result<Capabilities> {
    let nix = Program::Nix
        .find_on_path()
        .ok_or_else(|| backend::Error::NotFound(Program::Nix.name().into()))?;
    let json = command::show_config(&nix).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Capabilities::from_show_config(&json)?)
}

/// Place every entry of `entries`: skipped (and why) or to be built.
fn plan(entries: Vec<Entry>, caps: &Capabilities) -> Vec<Job> {
    entries
        .into_iter()
        .map(|entry| {
            let system = entry
                .triple
                .map_or_else(|| caps.system.clone(), |t| t.build.as_str().to_owned());
            let skip = match caps.place(&system) {
                Some(Where::Local) => None,
                Some(Where::Builders(uris)) => {
                    tracing::info!(%system, builders = uris.join(", "), "on a remote builder");
                    None
                }
                None => Some(caps.no_builder(&system)),
            };
            Job {
                entry,
                system,
                skip,
            }
        })
        .collect()
}

/// Evaluate and realise one entry. `Err` only when eka-run itself cannot go on (the
/// configuration does not fit, the sandbox cannot be set up); a failed evaluation or build is
/// [`Outcome::Failed`].
fn build_one(
    args: &Args,
    subject: &Subject,
    job: &Job,
    destination: Option<&Destination>,
) -> anyhow::Result<Outcome> {
    let target = &args.target;
    let mut config = Config::new(&target.config, Some(&job.system))?;
    if let Some(t) = job
        .entry
        .triple
        .filter(|t| t.host != t.build || t.target != t.host)
    {
        config = config.with_platform([t.build.as_str(), t.host.as_str(), t.target.as_str()])?;
    }
    let config = config.with_variant(&job.entry.selection);
    let atom = Subject {
        selection: job.entry.selection.clone(),
        ..subject.clone()
    };
    let request = backend::Request::new(atom, target.attr.as_deref(), config);
    match realise_request(&request, args) {
        Ok((derivation, outputs)) => {
            if let Some(destination) = destination {
                let builder = args.builder.builder(&args.sandbox, false);
                let realised = Realised {
                    identity: request.identity.clone(),
                    derivation,
                    outputs,
                };
                destination.publish(&builder, &realised)?;
                return Ok(Outcome::Built(realised.derivation.outputs));
            }
            Ok(Outcome::Built(derivation.outputs))
        }
        Err(backend::Error::Failed {
            program,
            status,
            error,
        }) => Ok(Outcome::Failed(error.unwrap_or_else(|| {
            format!("`{program}` failed with exit status {status}")
        }))),
        Err(e) => Err(e.into()),
    }
}

/// Whether the configuration `text` (valid: checked by [`Config::new`]) sets `system`.
fn sets_system(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("system").cloned())
        .is_some()
}

/// The line of one entry, as `git atom show --matrix` prints it, and what became of it.
fn line(entry: &Entry, outcome: &Outcome) -> String {
    let label = entry.label();
    match outcome {
        Outcome::Built(outputs) => {
            let paths: Vec<&str> = outputs.values().map(String::as_str).collect();
            format!("built {label}: {}\n", paths.join(" "))
        }
        Outcome::Skipped(why) => format!("skipped {label}: {why}\n"),
        Outcome::Failed(why) => format!("failed {label}: {why}\n"),
    }
}

/// `eka-run build --matrix`, each entry built also written to `destination` (`--to`).
pub(super) fn run(args: &Args, destination: Option<&Destination>) -> anyhow::Result<u8> {
    let subject = Subject::open(&args.target.atom, &[])?;
    let entries = match &subject.manifest {
        Some(manifest) => variant::matrix(manifest)?,
        None => vec![Entry::default()],
    };
    // `--config` is checked before anything is built (each entry adds its system).
    Config::new(&args.target.config, None)?;
    if sets_system(&args.target.config) {
        anyhow::bail!(
            "--config `{}` sets `system`, which --matrix takes from each entry's triple: leave \
             `system` out of --config",
            args.target.config
        );
    }
    let caps = capabilities()?;
    let jobs = plan(entries, &caps);
    let mut out = std::io::stdout().lock();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let outcome = match &job.skip {
            Some(why) => Outcome::Skipped(why.clone()),
            None => build_one(args, &subject, job, destination)?,
        };
        if !args.json {
            // A closed stdout does not stop the builds.
            let _ = out
                .write_all(line(&job.entry, &outcome).as_bytes())
                .and_then(|()| out.flush());
        }
        outcomes.push(outcome);
    }
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let built = count(|o| matches!(o, Outcome::Built(_)));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    let text = if args.json {
        let include = jobs
            .iter()
            .zip(&outcomes)
            .map(|(job, outcome)| json_entry(job, outcome))
            .collect();
        let report = JsonReport {
            include,
            built,
            skipped,
            failed,
        };
        serde_json::to_string(&report).expect("the report serialises") + "\n"
    } else {
        format!(
            "{} entries: {built} built, {skipped} skipped, {failed} failed\n",
            jobs.len()
        )
    };
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(if failed > 0 { SOME_FAILED } else { 0 })
}

fn json_entry<'a>(job: &'a Job, outcome: &'a Outcome) -> JsonEntry<'a> {
    let (status, outputs, reason) = match outcome {
        Outcome::Built(outputs) => ("built", Some(outputs), None),
        Outcome::Skipped(why) => ("skipped", None, Some(why.as_str())),
        Outcome::Failed(why) => ("failed", None, Some(why.as_str())),
    };
    JsonEntry {
        entry: job.entry.json(),
        system: &job.system,
        status,
        outputs,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_that_names_its_system_is_found() {
        assert!(sets_system(r#"{"system":"x86_64-linux"}"#));
        assert!(sets_system(r#"{"a":1,"system":"aarch64-linux"}"#));
        assert!(!sets_system(r#"{"a":{"system":"x86_64-linux"}}"#));
        assert!(!sets_system("{}"));
    }
}
