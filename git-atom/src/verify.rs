//! `git atom verify`.

use std::path::Path;

use anyhow::Context;
use atom_lib::store::git::Verbosity;
use atom_lib::uri::{Aliases, Uri};
use atom_lib::verify::{self, Checked, Level, Options, Outcome, Target, Unverifiable, Verdict};
use atom_lib::GitStore;
use serde::Serialize;

use crate::{output, EXIT_USAGE};

/// Verify published atoms against their source
///
/// Checks each atom at three levels, each needing its own objects:
///
/// structure: the commit is rebuilt from its fields and must have the same id; its parents,
/// identity, timestamps, headers, format version and message are checked, and its manifest must
/// name the atom its ref names (needs the atom commit and its tree). For eka `pre1` atoms, the
/// `refs/eka/meta/<label>/<version>/{origin,manifest}` refs must match the atom too (a clone
/// of an eka atom does not hold them: they are read from its `atom::` remote).
///
/// source: the atom's tree must be the tree at the recorded path of the recorded source commit
/// (needs that commit and the trees along the path: no blob, no history).
///
/// ancestry: the source commit must descend from the repository's root by first parents (needs
/// the commits from the source to the root: no tree, no blob). Checked when the history is
/// here; `--ancestry` fetches it when it is not, and requires it.
///
/// Atoms are the repository's atom refs or, in a clone made with `git clone atom::<uri>`, the
/// atom commits its branches point at. An argument of the form <REPOSITORY>::<LABEL>[@<REQ>]
/// (an atom URI, with aliases from `atom.alias.*`) verifies the version a clone of that URI
/// would get, from the remote, without a local repository.
///
/// What is missing is fetched (from --remote, a clone's `atom::` remote, or the URI's
/// repository) into a temporary quarantine, level by level, with a filter asking for exactly
/// those objects; nothing is added to the repository.
///
/// Prints one line per atom: `ok`, `FAILED` with every finding, or `UNVERIFIABLE` with the
/// reason, followed by the levels checked.
///
/// With --locked, the atoms are those the atom.lock of the atom here pins, each checked where
/// the lock says it lives (see --locked); a missing lock, or one not current for atom.toml, is
/// one line saying to run `git atom resolve` (exit status 2).
///
/// Exit status: 0 all verified, 1 any failed, 2 could not verify (missing objects, a format this
/// tool does not read, nothing to verify, no current lock, bad arguments).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Atoms to verify: <LABEL> (every version), <LABEL>@<VERSION>, or an atom URI
    /// <REPOSITORY>::<LABEL>[@<REQUIREMENT>]
    #[arg(value_name = "ATOM")]
    atoms: Vec<String>,
    /// Fetch missing objects from this remote (a configured name or a URL)
    #[arg(long, value_name = "REMOTE", value_parser = crate::publish::parse_remote)]
    remote: Option<String>,
    /// Require the ancestry level: fetch the source's history (commits only) when it is not
    /// here; an atom whose ancestry cannot be checked is unverifiable
    #[arg(long)]
    ancestry: bool,
    /// Require a valid signature by a key git trusts (`git atom sign`; checked as
    /// `git verify-tag` does, with `gpg.ssh.allowedSignersFile` or the GnuPG keyring); also on
    /// when `atom.requireSignature` is true
    #[arg(long)]
    signed: bool,
    /// Verify every atom the atom.lock of the atom here pins (the atom whose directory holds
    /// the current directory): each fetched from its URL (or a mirror), one listing and one
    /// fetch per repository, whose ref must name the locked commit, whose root must be the
    /// locked root and whose tree must be the locked tree, then checked at every level; an atom
    /// of this repository (a path entry) must have the locked tree in the working tree
    #[arg(long, conflicts_with_all = ["atoms", "remote"])]
    locked: bool,
    /// Print the verdicts as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonVerdict {
    label: String,
    version: String,
    format: &'static str,
    commit: String,
    source: Option<String>,
    status: &'static str,
    levels: JsonLevels,
    findings: Vec<String>,
}

/// Per level: `checked` or `not checked`.
#[derive(Serialize)]
struct JsonLevels {
    structure: &'static str,
    source: &'static str,
    ancestry: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonSubatomic {
    tree: String,
    commit: String,
    path: Option<String>,
    source: Option<String>,
    status: &'static str,
    levels: JsonSubLevels,
    findings: Vec<String>,
}

#[derive(Serialize)]
struct JsonSubLevels {
    structure: &'static str,
    source: &'static str,
}

fn sub_level_state(s: &atom_lib::subatomic::Checked, level: Level) -> &'static str {
    if s.levels.contains(&level) {
        "checked"
    } else {
        "not checked"
    }
}

/// `(status, findings)` in words.
fn verdict_words(v: &Verdict, hint: bool) -> (&'static str, Vec<String>) {
    match v {
        Verdict::Verified => ("verified", Vec::new()),
        Verdict::Failed(f) => ("failed", f.iter().map(ToString::to_string).collect()),
        Verdict::Unverifiable(why) => ("unverifiable", vec![unverifiable(why, hint)]),
    }
}

fn level_state(c: &Checked, level: Level) -> &'static str {
    if c.checked(level) {
        "checked"
    } else {
        "not checked"
    }
}

/// Why an atom could not be verified, with what to do about it.
fn unverifiable(why: &Unverifiable, hint: bool) -> String {
    match why {
        Unverifiable::Missing { .. } if hint => format!("{why} (try --remote)"),
        other => other.to_string(),
    }
}

/// `(structure, source; not checked: ancestry)`.
fn levels_text(c: &Checked, signed: bool) -> String {
    let mut levels = Level::ALL.to_vec();
    if signed {
        levels.push(Level::Signature);
    }
    let (checked, not): (Vec<Level>, Vec<Level>) = levels.iter().partition(|l| c.checked(**l));
    let names = |ls: &[Level]| ls.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ");
    match (checked.is_empty(), not.is_empty()) {
        (_, true) => format!("({})", names(&checked)),
        (true, false) => format!("(not checked: {})", names(&not)),
        (false, false) => format!("({}; not checked: {})", names(&checked), names(&not)),
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let (uris, targets): (Vec<String>, Vec<String>) =
        args.atoms.iter().cloned().partition(|a| a.contains("::"));
    let targets: Vec<Target> = match targets
        .iter()
        .map(|t| t.parse::<Target>())
        .collect::<Result<_, _>>()
    {
        Ok(t) => t,
        Err(e) => return Ok(usage(anyhow::Error::new(e))),
    };
    let local = GitStore::discover(&cwd);
    let verbosity = Verbosity {
        level: 0,
        progress: Some(output::progress_enabled(quiet)),
    };
    let mut outcome = Outcome::default();
    let require = |store: &GitStore| {
        store
            .config()
            .ok()
            .and_then(|c| c.bool("atom.requiresignature"))
            .unwrap_or(false)
    };
    let signed = args.signed
        || match &local {
            Ok(repo) => require(repo),
            Err(_) => GitStore::scratch().is_ok_and(|s| require(&s)),
        };
    if args.locked {
        let options = Options {
            ancestry: args.ancestry,
            signed,
            verbosity,
            ..Options::default()
        };
        return verify_locked(local.as_ref().ok(), &options, args.json, quiet);
    }
    // --remote names a repository as everywhere else: a remote, a path, a URL or an address
    // with aliases; a mistyped remote name is said before anything else happens.
    let remote = match (&args.remote, &local) {
        (Some(r), Ok(repo)) => match crate::repository::resolve(repo, r, &cwd) {
            Ok(resolved) => Some(resolved),
            Err(e) => return Ok(usage(e)),
        },
        (r, _) => r.clone(),
    };
    // Missing objects can be fetched with --remote, unless it was given already.
    let hint = args.remote.is_none() && uris.is_empty();
    if !uris.is_empty() {
        let options = Options {
            ancestry: args.ancestry,
            signed,
            verbosity,
            ..Options::default()
        };
        match verify_uris(local.as_ref().ok(), &uris, &options)? {
            Ok(atoms) => outcome.atoms.extend(atoms),
            Err(code) => return Ok(code),
        }
    }
    if !targets.is_empty() || uris.is_empty() {
        let store = match local {
            Ok(s) => s,
            Err(e) => return Ok(usage(e.into())),
        };
        let options = Options {
            targets,
            remote,
            ancestry: args.ancestry,
            signed,
            verbosity,
        };
        match verify::verify(&store, &options) {
            Ok(o) => {
                outcome.atoms.extend(o.atoms);
                outcome.subatomics.extend(o.subatomics);
            }
            Err(e) => return Ok(refused_here(e, quiet)),
        }
    }
    print(&outcome, args.json, hint, quiet, signed)?;
    if uris.is_empty() {
        signature_hint(&outcome, &cwd, quiet);
    }
    Ok(outcome.exit_code())
}

/// `--locked`: every atom the lock of the atom here pins. A lock that is missing or not current
/// for the manifest is one line saying to resolve.
fn verify_locked(
    local: Option<&GitStore>,
    options: &Options,
    json: bool,
    quiet: bool,
) -> anyhow::Result<u8> {
    let ctx = crate::deps::context()?;
    let atom = match crate::deps::open_atom(&ctx, None) {
        Ok(atom) => atom,
        Err(e) => return Ok(usage(e)),
    };
    let shown = atom.lock_path().display().to_string();
    let Some(lock) = &atom.lock else {
        return Ok(usage(anyhow::anyhow!(
            "{shown} does not exist: run `git atom resolve` to lock the atom's dependencies"
        )));
    };
    let atom_dir = atom.repo_path.clone().unwrap_or_default();
    if let Some(stale) = lock.check(&atom.manifest, &atom_dir).first() {
        return Ok(usage(anyhow::anyhow!(
            "{shown} is not current ({stale}): run `git atom resolve` to bring it in line with atom.toml"
        )));
    }
    let scratch = match GitStore::scratch() {
        Ok(s) => s,
        Err(e) => return Ok(usage(e.into())),
    };
    let outcome = verify::verify_lock(&scratch, local, lock, options);
    print(&outcome, json, false, quiet, options.signed)?;
    Ok(outcome.exit_code())
}

/// Says `e` and gives the exit status for bad arguments.
fn usage(e: anyhow::Error) -> u8 {
    output::error(&e);
    EXIT_USAGE
}

/// Verifies the atoms the URIs `uris` name where they are published, with the aliases of the
/// local repository's configuration (else the user's). `Ok(Err(code))` when one cannot be
/// verified (said already).
fn verify_uris(
    local: Option<&GitStore>,
    uris: &[String],
    options: &Options,
) -> anyhow::Result<Result<Vec<Checked>, u8>> {
    let store = match GitStore::scratch() {
        Ok(s) => s,
        Err(e) => return Ok(Err(usage(e.into()))),
    };
    let config = match local {
        Some(repo) => repo.config(),
        None => store.config(),
    }?;
    let aliases = Aliases::from_config(&config)?;
    let mut atoms = Vec::new();
    for text in uris {
        let uri = match Uri::parse(text, &aliases) {
            Ok(u) => u,
            Err(e) => return Ok(Err(usage(e.into()))),
        };
        match verify::verify_uri(&store, &uri, options) {
            Ok(o) => atoms.extend(o.atoms),
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("cannot verify `{text}`"));
                return Ok(Err(usage(e)));
            }
        }
    }
    Ok(Ok(atoms))
}

/// Says why verifying in this repository could not start, with a hint where one helps; the
/// exit status for bad arguments.
fn refused_here(e: verify::Error, quiet: bool) -> u8 {
    match e {
        verify::Error::NoSuchAtom { target } => usage(anyhow::anyhow!(
            "no atom `{target}` in this repository (see `git atom ls`)"
        )),
        verify::Error::NothingToVerify => {
            let code = usage(anyhow::anyhow!(
                "nothing to verify: this repository has no atom refs and no branch at an atom commit"
            ));
            output::note(
                quiet,
                "hint: fetch the atoms first: git fetch <remote> 'refs/atoms/*:refs/atoms/*'\n\
                 hint: or verify an atom where it is published: git atom verify <repository>::<label>",
            );
            code
        }
        e => usage(e.into()),
    }
}

/// When an atom here failed for want of a signature: where signatures live, and the command
/// that brings them into this repository.
fn signature_hint(outcome: &Outcome, cwd: &Path, quiet: bool) {
    let unsigned = outcome.atoms.iter().any(|c| match &c.verdict {
        Verdict::Failed(findings) => findings.iter().any(|f| {
            matches!(
                f,
                verify::Finding::Signature(atom_lib::sign::SignatureFinding::Unsigned { .. })
            )
        }),
        _ => false,
    });
    if !unsigned {
        return;
    }
    let repository = GitStore::discover(cwd)
        .ok()
        .and_then(|store| atom_clone_repository(&store))
        .unwrap_or_else(|| "<repository>".to_owned());
    output::note(
        quiet,
        &format!(
            "hint: signatures live beside the atoms, under `refs/atoms/_sig/`; a clone made \
             without `atom.requireSignature` holds none: `git atom fetch {repository}` brings \
             them (and the repository's revocations)"
        ),
    );
}

fn print(
    outcome: &Outcome,
    json: bool,
    hint: bool,
    quiet: bool,
    signed: bool,
) -> anyhow::Result<()> {
    if json {
        output::json(&json_document(outcome, hint, signed))?;
    } else {
        output::stdout(&text_report(outcome, hint, signed))?;
    }
    summarise(outcome, quiet);
    Ok(())
}

/// The `--json` document: `{"atoms": [...], "subatomics": [...]}` (docs/json.md).
fn json_document(outcome: &Outcome, hint: bool, signed: bool) -> serde_json::Value {
    let atoms: Vec<JsonVerdict> = outcome
        .atoms
        .iter()
        .map(|c| {
            let (status, findings) = match &c.verdict {
                Verdict::Verified => ("verified", Vec::new()),
                Verdict::Failed(f) => ("failed", f.iter().map(ToString::to_string).collect()),
                Verdict::Unverifiable(why) => ("unverifiable", vec![unverifiable(why, hint)]),
            };
            JsonVerdict {
                label: c.atom.label.to_string(),
                version: c.atom.version.to_string(),
                format: c.atom.format.name(),
                commit: c.commit.to_string(),
                source: c.source.map(|s| s.to_string()),
                status,
                levels: JsonLevels {
                    structure: level_state(c, Level::Structure),
                    source: level_state(c, Level::Source),
                    ancestry: level_state(c, Level::Ancestry),
                    signature: signed.then(|| level_state(c, Level::Signature)),
                },
                findings,
            }
        })
        .collect();
    let subs: Vec<JsonSubatomic> = outcome
        .subatomics
        .iter()
        .map(|s| {
            let (status, findings) = verdict_words(&s.verdict, hint);
            JsonSubatomic {
                tree: s.tree.to_string(),
                commit: s.commit.to_string(),
                path: s.path.as_ref().map(ToString::to_string),
                source: s.source.map(|o| o.to_string()),
                status,
                levels: JsonSubLevels {
                    structure: sub_level_state(s, Level::Structure),
                    source: sub_level_state(s, Level::Source),
                },
                findings,
            }
        })
        .collect();
    serde_json::json!({ "atoms": atoms, "subatomics": subs })
}

/// One line per atom and subatomic: its verdict, what failed and the levels checked.
fn text_report(outcome: &Outcome, hint: bool, signed: bool) -> String {
    let mut text = String::new();
    for c in &outcome.atoms {
        let name = match c.atom.format {
            atom_lib::Format::Atom1 => c.atom.to_string(),
            other => format!("{} ({other})", c.atom),
        };
        let levels = levels_text(c, signed);
        match &c.verdict {
            Verdict::Verified => text.push_str(&format!("ok            {name} {levels}\n")),
            Verdict::Failed(findings) => {
                let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
                text.push_str(&format!(
                    "FAILED        {name}: {} {levels}\n",
                    shown.join("; ")
                ))
            }
            Verdict::Unverifiable(why) => text.push_str(&format!(
                "UNVERIFIABLE  {name}: {} {levels}\n",
                unverifiable(why, hint)
            )),
        }
    }
    for s in &outcome.subatomics {
        let name = match &s.path {
            Some(path) => format!("subatomic {} ({path})", s.tree.short(12)),
            None => format!("subatomic {}", s.tree.short(12)),
        };
        let checked: Vec<&str> = s.levels.iter().map(|l| l.name()).collect();
        let levels = if checked.len() == 2 {
            format!("({})", checked.join(", "))
        } else if checked.is_empty() {
            "(not checked: structure, source)".to_owned()
        } else {
            format!("({}; not checked: source)", checked.join(", "))
        };
        let (status, findings) = verdict_words(&s.verdict, hint);
        match status {
            "verified" => text.push_str(&format!("ok            {name} {levels}\n")),
            "failed" => text.push_str(&format!(
                "FAILED        {name}: {} {levels}\n",
                findings.join("; ")
            )),
            _ => text.push_str(&format!(
                "UNVERIFIABLE  {name}: {} {levels}\n",
                findings.join("; ")
            )),
        }
    }
    text
}

/// The counts on stderr, and a note when ancestry was not checked.
fn summarise(outcome: &Outcome, quiet: bool) {
    let verdicts = || {
        outcome
            .atoms
            .iter()
            .map(|c| &c.verdict)
            .chain(outcome.subatomics.iter().map(|s| &s.verdict))
    };
    let failed = verdicts()
        .filter(|v| matches!(v, Verdict::Failed(_)))
        .count();
    let unverifiable = verdicts()
        .filter(|v| matches!(v, Verdict::Unverifiable(_)))
        .count();
    let no_ancestry = outcome
        .atoms
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Verified) && !c.checked(Level::Ancestry))
        .count();
    output::note(
        quiet,
        &format!(
            "{} verified, {failed} failed, {unverifiable} could not be verified",
            outcome.atoms.len() + outcome.subatomics.len() - failed - unverifiable
        ),
    );
    if no_ancestry > 0 {
        output::note(
            quiet,
            &format!(
                "ancestry not checked for {no_ancestry} atom(s): the source history is not here \
                 (--ancestry fetches it, commits only)"
            ),
        );
    }
}

/// The repository an `atom::` remote of `store` names (a clone made with `git clone
/// atom::<uri>`), as a git URL.
fn atom_clone_repository(store: &GitStore) -> Option<String> {
    let config = store.config().ok()?;
    let aliases = Aliases::from_config(&config).unwrap_or_default();
    store.remote_names().into_iter().find_map(|name| {
        let url = config.string(&format!("remote.{name}.url"))?;
        let uri = Uri::parse(url.strip_prefix("atom::")?, &aliases).ok()?;
        uri.address.map(|a| a.git_url())
    })
}
