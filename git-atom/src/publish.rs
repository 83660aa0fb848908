//! `git atom publish`.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use atom_lib::publish::{self, Options, Plan, Progress, Remote, Status};
use atom_lib::{AtomPath, GitStore};
use serde::Serialize;

use crate::{output, repository};

/// Publish the atoms of a committed revision, locally and to a remote
///
/// Run inside an atom's directory (the one holding `atom.toml`, or any directory below it), it
/// publishes that atom; run anywhere else, or with --all, every directory of the revision holding
/// an `atom.toml`; with <PATH>s, the atoms at those paths. Each is published as an orphan commit reusing the directory's tree, with a fixed identity and epoch
/// timestamps, referenced by `refs/atoms/<label>/<version>`. All refs are pushed in one atomic
/// push (all land or none) and then created locally in one transaction. Published atoms are
/// immutable: an existing version with different content is refused and nothing is written.
///
/// Exit status: 0 published or up to date, 1 refused or failed (nothing was written), 2 bad
/// arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Atom directories to publish (default: the atom holding the current directory, or every
    /// atom of the revision when run outside any atom's directory)
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Publish every atom of the revision, wherever this is run
    #[arg(long, conflicts_with = "paths")]
    all: bool,
    /// The committed revision to publish from
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    rev: String,
    /// Repository to publish to: a remote name, path, URL or address with aliases
    /// (`gh:org/repo`); default: the remote `git push` would use
    #[arg(long, value_name = "REMOTE", value_parser = parse_remote)]
    remote: Option<String>,
    /// Publish only in the local repository, even if a remote is configured
    #[arg(long, conflicts_with = "remote")]
    local: bool,
    /// Also push the source branch in the same atomic push, so the source commit is on the remote
    #[arg(long)]
    push_source: bool,
    /// Also sign each atom with your git signing key (as `git atom sign` does) and push the
    /// signatures in the same atomic push as the atoms
    #[arg(long)]
    sign: bool,
    /// Publish a label that looks like one already published, locally or on the remote (a case
    /// variant such as `Strings` beside `strings`, or a Unicode look-alike), which is refused
    /// otherwise
    #[arg(long)]
    allow_confusable: bool,
    /// Check everything and show what would happen; no commit or ref is written anywhere
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print the result as JSON on stdout
    #[arg(long)]
    json: bool,
}

/// Refuses remote names that git would read as options.
pub fn parse_remote(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("remote must not be empty".into());
    }
    if s.starts_with('-') {
        return Err(format!("invalid remote `{s}`: must not start with `-`"));
    }
    if s.chars().any(char::is_control) {
        return Err(format!(
            "invalid remote `{}`: control characters are not allowed",
            s.escape_debug()
        ));
    }
    Ok(s.to_owned())
}

#[derive(Serialize)]
struct JsonAtom<'a> {
    label: &'a str,
    version: String,
    id: String,
    commit: String,
    path: &'a str,
    status: &'static str,
    local: &'static str,
    remote: Option<&'static str>,
    /// With `--sign`: the signature's ref and status, per place.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<JsonSignature>,
}

#[derive(Serialize)]
struct JsonSignature {
    #[serde(rename = "ref")]
    reference: String,
    tag: Option<String>,
    status: &'static str,
    local: &'static str,
    remote: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    source: String,
    root: String,
    remote: Option<&'a str>,
    dry_run: bool,
    atoms: Vec<JsonAtom<'a>>,
    subatomics: Vec<JsonSubatomic<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonSubatomic<'a> {
    tree: String,
    path: &'a str,
    commit: String,
    status: &'static str,
    local: &'static str,
    remote: Option<&'static str>,
}

/// Turns a path given on the command line (relative to the current directory) into a path
/// relative to the repository root.
fn repo_relative(work_dir: &Path, cwd: &Path, given: &Path) -> anyhow::Result<AtomPath> {
    let joined = if given.is_absolute() {
        given.to_owned()
    } else {
        cwd.join(given)
    };
    let mut parts: Vec<String> = Vec::new();
    for component in joined.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => parts.clear(),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(
                s.to_str()
                    .with_context(|| format!("path `{}` is not valid UTF-8", given.display()))?
                    .to_owned(),
            ),
        }
    }
    let mut root: Vec<String> = Vec::new();
    for component in work_dir.components() {
        if let Component::Normal(s) = component {
            root.push(s.to_string_lossy().into_owned());
        }
    }
    if parts.len() < root.len() || parts[..root.len()] != root[..] {
        bail!("path `{}` is outside the repository", given.display());
    }
    let relative = parts[root.len()..].join("/");
    Ok(AtomPath::new(&relative)?)
}

/// One word for what happened to an atom: the first place where it was not up to date.
fn overall(a: &publish::PublishedAtom) -> Status {
    first_change(a.local, a.remote)
}

fn first_change(local: Status, remote: Option<Status>) -> Status {
    [Some(local), remote]
        .into_iter()
        .flatten()
        .find(|s| *s != Status::UpToDate)
        .unwrap_or(Status::UpToDate)
}

/// What happened to an atom's signature, in the words of the table.
fn signature_word(s: &publish::Signature) -> &'static str {
    match first_change(s.local, s.remote) {
        Status::Published => "signed",
        Status::WouldPublish => "would-sign",
        Status::UpToDate => "up-to-date",
    }
}

/// The directory holding `atom.toml` that `dir` is in (`dir` itself or a parent), below the top
/// of the working tree `top`; `None` at the top or outside any atom.
fn enclosing_atom(top: &Path, dir: &Path) -> Option<PathBuf> {
    let mut current = dir.to_owned();
    while current.starts_with(top) && current != top {
        if current.join(atom_lib::manifest::MANIFEST_FILE).is_file() {
            return Some(current);
        }
        current.pop();
    }
    None
}

/// The library's error in the user's words: what to do next, with the flags of this command.
fn explain(e: publish::Error) -> anyhow::Error {
    use publish::{Error, Problem};
    match e {
        Error::Refused { problems } => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| match p {
                    Problem::SourceNotOnRemote { remote, branch, .. } => format!(
                        "{p}: push it first (`git push {remote} {branch}`) or pass --push-source"
                    ),
                    other => other.to_string(),
                })
                .collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        }
        Error::NoSourceBranch { rev } => {
            anyhow::anyhow!(
                "--push-source needs a branch, but {rev} is not on one (HEAD is detached)"
            )
        }
        other => other.into(),
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store = GitStore::discover(&cwd)?;
    let paths = selected_paths(&store, &cwd, &args, quiet)?;
    let options = Options {
        rev: args.rev.clone(),
        paths,
        remote: match &args.remote {
            Some(name) => Remote::Named(repository::resolve(&store, name, &cwd)?),
            None if args.local => Remote::Local,
            None => Remote::Default,
        },
        push_source: args.push_source,
        verbosity: output::transfer_verbosity(quiet),
        sign: args.sign,
        allow_confusable: args.allow_confusable,
    };
    let show_progress = output::progress_enabled(quiet);
    let mut progress = |p: Progress| {
        if !show_progress {
            return;
        }
        match p {
            Progress::Reading(done, total) if total >= 20 => {
                let end = if done == total { "\n" } else { "" };
                let _ = write!(std::io::stderr(), "\rpreparing atoms: {done}/{total}{end}");
            }
            Progress::Reading(..) => {}
            // git shows its own transfer progress below this line.
            Progress::Pushing => {
                let _ = writeln!(std::io::stderr(), "pushing to the remote...");
            }
        }
    };
    let plan = publish::plan(&store, &options, &mut progress).map_err(explain)?;
    let outcome = if args.dry_run {
        plan
    } else {
        publish::apply(&store, plan, &mut progress).map_err(explain)?
    };
    let warnings: Vec<String> = outcome.warnings.iter().map(ToString::to_string).collect();
    for w in &warnings {
        output::warning(w);
    }
    if args.json {
        print_json(&outcome, &warnings, args.dry_run)?;
    } else if !quiet {
        print_tables(&outcome, args.sign)?;
    }
    summarise(&outcome, &args, quiet);
    Ok(0)
}

/// The atoms to publish: the paths given (relative to the current directory, or, in a bare
/// repository, to the root of the revision's tree), else, without --all, the atom whose
/// directory holds the current directory; empty for every atom.
fn selected_paths(
    store: &GitStore,
    cwd: &Path,
    args: &Args,
    quiet: bool,
) -> anyhow::Result<Vec<AtomPath>> {
    let cwd = cwd.to_path_buf();
    let mut paths = Vec::new();
    if !args.paths.is_empty() {
        match store.work_dir() {
            Some(work_dir) => {
                let work_dir = work_dir
                    .canonicalize()
                    .context("cannot resolve the working tree")?;
                let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.clone());
                for given in &args.paths {
                    paths.push(repo_relative(&work_dir, &cwd, given)?);
                }
            }
            // A bare repository has no current directory inside it: paths are relative to the
            // root of the revision's tree.
            None => {
                for given in &args.paths {
                    let given = given.to_str().with_context(|| {
                        format!("path `{}` is not valid UTF-8", given.display())
                    })?;
                    paths.push(AtomPath::new(given.trim_end_matches('/'))?);
                }
            }
        }
    }
    if paths.is_empty() && !args.all {
        if let Some(work_dir) = store.work_dir() {
            let work_dir = work_dir
                .canonicalize()
                .context("cannot resolve the working tree")?;
            let here = cwd.canonicalize().unwrap_or_else(|_| cwd.clone());
            if let Some(dir) = enclosing_atom(&work_dir, &here) {
                let path = repo_relative(&work_dir, &here, &dir)?;
                output::note(
                    quiet,
                    &format!(
                        "publishing the atom in `{path}`, which holds the current directory \
                         (--all publishes every atom)"
                    ),
                );
                paths.push(path);
            }
        }
    }
    Ok(paths)
}

/// The outcome as one JSON document.
fn print_json(outcome: &Plan, warnings: &[String], dry_run: bool) -> anyhow::Result<()> {
    let json = JsonOutcome {
        source: outcome.source.to_string(),
        root: outcome.root.to_string(),
        remote: outcome.remote.as_deref(),
        dry_run,
        atoms: outcome
            .atoms
            .iter()
            .map(|a| JsonAtom {
                label: a.label.as_str(),
                version: a.version.to_string(),
                id: a.id.to_string(),
                commit: a.commit.to_string(),
                path: a.path.as_str(),
                status: overall(a).name(),
                local: a.local.name(),
                remote: a.remote.map(Status::name),
                signature: a.signature.as_ref().map(|s| JsonSignature {
                    reference: s.reference.to_string(),
                    tag: s.tag.map(|t| t.to_string()),
                    status: signature_word(s),
                    local: s.local.name(),
                    remote: s.remote.map(Status::name),
                }),
            })
            .collect(),
        subatomics: outcome
            .subatomics
            .iter()
            .map(|s| JsonSubatomic {
                tree: s.tree.to_string(),
                path: s.path.as_str(),
                commit: s.commit.to_string(),
                status: first_change(s.local, s.remote).name(),
                local: s.local.name(),
                remote: s.remote.map(Status::name),
            })
            .collect(),
        warnings,
    };
    output::json(&json)?;
    Ok(())
}

/// The atoms (and subatomics) with their status, as tables.
fn print_tables(outcome: &Plan, sign: bool) -> anyhow::Result<()> {
    let mut header = vec![
        "LABEL".into(),
        "VERSION".into(),
        "ID".into(),
        "STATUS".into(),
    ];
    if sign {
        header.push("SIGNATURE".into());
    }
    let mut rows = vec![header];
    for a in &outcome.atoms {
        let mut row = vec![
            a.label.to_string(),
            a.version.to_string(),
            a.id.short(12),
            overall(a).name().into(),
        ];
        if let Some(s) = &a.signature {
            row.push(signature_word(s).into());
        }
        rows.push(row);
    }
    output::stdout(&output::table(&rows))?;
    if !outcome.subatomics.is_empty() {
        let mut rows = vec![vec!["SUBATOMIC".into(), "PATH".into(), "STATUS".into()]];
        for s in &outcome.subatomics {
            rows.push(vec![
                s.tree.short(12),
                s.path.to_string(),
                first_change(s.local, s.remote).name().into(),
            ]);
        }
        output::stdout(&format!("\n{}", output::table(&rows)))?;
    }
    Ok(())
}

/// The closing notes: how many atoms were (or would be) published and signed, and where.
fn summarise(outcome: &Plan, args: &Args, quiet: bool) {
    let new = outcome
        .atoms
        .iter()
        .filter(|a| a.local != Status::UpToDate || a.remote.is_some_and(|r| r != Status::UpToDate))
        .count();
    let source = outcome.source.short(12);
    let verb = if args.dry_run {
        "would publish"
    } else {
        "published"
    };
    let summary = match (&outcome.remote, args.local) {
        (Some(remote), _) => format!("{verb} {new} of {} atoms from {source} to `{remote}`", outcome.atoms.len()),
        (None, true) => format!("{verb} {new} of {} atoms from {source} locally", outcome.atoms.len()),
        (None, false) => format!(
            "{verb} {new} of {} atoms from {source} locally: no remote is configured (add one, or pass --remote)",
            outcome.atoms.len()
        ),
    };
    output::note(quiet, &summary);
    if args.sign {
        let signed = outcome
            .atoms
            .iter()
            .filter_map(|a| a.signature.as_ref())
            .filter(|s| first_change(s.local, s.remote) != Status::UpToDate)
            .count();
        let verb = if args.dry_run { "would sign" } else { "signed" };
        output::note(
            quiet,
            &format!("{verb} {signed} of {} atoms", outcome.atoms.len()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_repository() {
        let root = Path::new("/r");
        let rel = |cwd: &str, p: &str| {
            repo_relative(root, Path::new(cwd), Path::new(p)).map(|p| p.to_string())
        };
        assert_eq!(rel("/r", "pkgs/foo/").unwrap(), "pkgs/foo");
        assert_eq!(rel("/r/pkgs", "foo").unwrap(), "pkgs/foo");
        assert_eq!(rel("/r/pkgs/foo", ".").unwrap(), "pkgs/foo");
        assert_eq!(rel("/r/pkgs", "../lib/./x").unwrap(), "lib/x");
        assert_eq!(rel("/elsewhere", "/r/a").unwrap(), "a");
        assert!(rel("/r", "..").is_err());
        assert!(rel("/r", ".").is_err());
        assert!(rel("/r2", "a").is_err());
    }

    #[test]
    fn remotes_that_look_like_options_are_refused() {
        assert!(parse_remote("--upload-pack=evil").is_err());
        assert!(parse_remote("origin").is_ok());
        assert!(parse_remote("").is_err());
    }
}
