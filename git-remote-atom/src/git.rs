//! The `git` command line, where it is the right tool: config look-ups (the user's whole config,
//! `-c` included), and fetching and pushing over the real transport, which honours the user's
//! credentials, ssh config, `insteadOf` and transport policy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context};
use atom::uri::Aliases;
use atom::Oid;

/// Environment variables that tie a `git` process to the repository git is working on; they are
/// removed when a child must work on another repository (the quarantine).
const LOCAL_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_INDEX_FILE",
    "GIT_GRAFT_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_SHALLOW_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_PREFIX",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_QUARANTINE_PATH",
];

/// How chatty the child `git` processes may be.
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    /// git's verbosity: 0 quiet, 1 normal, 2 and more verbose.
    pub verbosity: u32,
    /// Whether to show progress; `None` lets git decide (a terminal or not).
    pub progress: Option<bool>,
}

impl Flags {
    fn apply(&self, cmd: &mut Command) {
        match self.verbosity {
            0 => {
                cmd.arg("--quiet");
            }
            1 => {}
            _ => {
                cmd.arg("--verbose");
            }
        }
        match self.progress {
            Some(true) => {
                cmd.arg("--progress");
            }
            Some(false) => {
                cmd.arg("--no-progress");
            }
            None => {}
        }
    }
}

fn git() -> Command {
    let mut cmd = Command::new("git");
    cmd.stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<Output> {
    tracing::debug!(?cmd, "running");
    cmd.output()
        .with_context(|| format!("cannot run `git {what}` (is git on PATH?)"))
}

pub use atom::store::git::first_error_line;

/// The value of a config key, as `git config --get` sees it (repository, global, `-c`).
pub fn config_get(key: &str) -> Option<String> {
    let mut cmd = git();
    cmd.args(["config", "--get", "--", key]);
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// The built-in aliases, overridden and extended by `atom.alias.<name>` in git config.
pub fn aliases() -> anyhow::Result<Aliases> {
    let mut cmd = git();
    cmd.args(["config", "-z", "--get-regexp", r"^atom\.alias\."]);
    let out = run(cmd, "config")?;
    let mut aliases = Aliases::default();
    // Exit status 1: no such keys.
    if out.status.success() {
        aliases
            .extend_from_git_config(&out.stdout)
            .context("in git config `atom.alias.*`")?;
    } else if out.status.code() != Some(1) {
        bail!("git config: {}", first_error_line(&out.stderr));
    }
    Ok(aliases)
}

/// An empty bare repository in a temporary directory, for a ref listing outside any repository.
pub fn scratch_repository() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("git-remote-atom-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    init_bare(dir.path())?;
    Ok(dir)
}

fn init_bare(path: &Path) -> anyhow::Result<()> {
    let mut cmd = git();
    for var in LOCAL_ENV {
        cmd.env_remove(var);
    }
    cmd.args(["init", "--quiet", "--bare"]).arg(path);
    let out = run(cmd, "init")?;
    if !out.status.success() {
        bail!("git init: {}", first_error_line(&out.stderr));
    }
    Ok(())
}

/// Objects fetched into a temporary repository beside the real one, which borrows the real
/// repository's objects (`objects/info/alternates`, so negotiation can use them). Nothing lands
/// in the real repository until [`Quarantine::admit`]; dropping it throws everything away.
#[derive(Debug)]
pub struct Quarantine {
    dir: tempfile::TempDir,
    objects: PathBuf,
}

impl Quarantine {
    /// The quarantine repository (bare).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the quarantined objects into the real repository: packs (the `.idx` last, so a
    /// reader never sees an index without its pack) and loose objects.
    pub fn admit(self) -> anyhow::Result<()> {
        let from = self.dir.path().join("objects");
        let pack_from = from.join("pack");
        let pack_to = self.objects.join("pack");
        fs::create_dir_all(&pack_to)?;
        let mut packs: Vec<PathBuf> = fs::read_dir(&pack_from)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        let rank = |p: &PathBuf| match p.extension().and_then(|e| e.to_str()) {
            Some("pack") => 0,
            Some("idx") => 2,
            _ => 1,
        };
        packs.sort_by_key(rank);
        for path in packs {
            let Some(name) = path.file_name() else {
                continue;
            };
            if name.to_string_lossy().ends_with(".keep") {
                continue;
            }
            let target = pack_to.join(name);
            if !target.exists() {
                move_file(&path, &target)?;
            }
        }
        for entry in fs::read_dir(&from)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
            let target_dir = self.objects.join(&*name);
            fs::create_dir_all(&target_dir)?;
            for object in fs::read_dir(entry.path())?.flatten() {
                let target = target_dir.join(object.file_name());
                if !target.exists() {
                    move_file(&object.path(), &target)?;
                }
            }
        }
        Ok(())
    }
}

fn move_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if fs::rename(from, to).is_err() {
        // Another file system: copy to a temporary name, then rename into place.
        let tmp = to.with_extension("atom-tmp");
        fs::copy(from, &tmp)
            .and_then(|_| fs::rename(&tmp, to))
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

const QUARANTINE_PREFIX: &str = "atom-quarantine-";

/// A quarantine older than this was left by a helper that was killed (a live fetch removes its
/// own when it ends), so it is removed.
const STALE_QUARANTINE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes quarantines that killed helpers left behind. They hold no ref and only objects that
/// were never admitted, so removing them loses nothing; failures are ignored (another helper may
/// be removing the same directory).
fn remove_stale_quarantines(git_dir: &Path) {
    let Ok(entries) = fs::read_dir(git_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(QUARANTINE_PREFIX) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|age| age > STALE_QUARANTINE) {
            tracing::debug!(dir = %entry.path().display(), "removing a stale quarantine");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Fetches `refs` (ref names on the remote) from `url` into a new quarantine next to `git_dir`,
/// with objects only: no ref, no `FETCH_HEAD`, no tags.
pub fn fetch_quarantined(
    git_dir: &Path,
    url: &str,
    refs: &[String],
    flags: Flags,
) -> anyhow::Result<Quarantine> {
    let objects = git_dir.join("objects");
    remove_stale_quarantines(git_dir);
    let dir = tempfile::Builder::new()
        .prefix(QUARANTINE_PREFIX)
        .tempdir_in(git_dir)
        .with_context(|| format!("cannot create a quarantine in {}", git_dir.display()))?;
    init_bare(dir.path())?;
    fs::write(
        dir.path().join("objects/info/alternates"),
        format!("{}\n", objects.display()),
    )
    .context("cannot set up the quarantine")?;
    let mut cmd = git();
    for var in LOCAL_ENV {
        cmd.env_remove(var);
    }
    cmd.env("GIT_DIR", dir.path()).args([
        "-c",
        "gc.auto=0",
        "-c",
        "maintenance.auto=false",
        "-c",
        "fetch.unpackLimit=1",
        "-c",
        "transfer.unpackLimit=1",
        "fetch",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--no-auto-gc",
    ]);
    flags.apply(&mut cmd);
    cmd.arg("--").arg(url).args(refs);
    // Progress goes straight to the user; otherwise stderr is kept for one clear error line.
    let live = flags.progress == Some(true) || flags.verbosity > 1;
    if live {
        cmd.stderr(Stdio::inherit());
    }
    let out = run(cmd, "fetch")?;
    if !out.status.success() {
        bail!("cannot fetch from {url}: {}", first_error_line(&out.stderr));
    }
    Ok(Quarantine { dir, objects })
}

/// The result of pushing one ref.
pub type RefResult = (String, Result<(), String>);

/// Pushes `updates` (object, destination ref) to `url` from the repository in `GIT_DIR`, each
/// ref created only if it does not exist yet (`--force-with-lease=<ref>:`).
pub fn push(
    url: &str,
    updates: &[(Oid, String)],
    atomic: bool,
    dry_run: bool,
    flags: Flags,
) -> anyhow::Result<Vec<RefResult>> {
    let mut cmd = git();
    cmd.args(["push", "--porcelain", "--no-verify", "--no-follow-tags"]);
    if atomic {
        cmd.arg("--atomic");
    }
    if dry_run {
        cmd.arg("--dry-run");
    }
    flags.apply(&mut cmd);
    for (_, name) in updates {
        cmd.arg(format!("--force-with-lease={name}:"));
    }
    cmd.arg("--").arg(url);
    for (oid, name) in updates {
        cmd.arg(format!("{oid}:{name}"));
    }
    let out = run(cmd, "push")?;
    let mut results = Vec::new();
    for line in atom::store::git::parse_push_porcelain(&out.stdout) {
        let summary = line.summary.as_str();
        let result = match line.flag {
            '*' | ' ' | '+' | '=' => Ok(()),
            _ if summary.contains("stale info") || summary.contains("already exists") => {
                Err("already exists".to_owned())
            }
            _ => Err(summary
                .trim_start_matches("[rejected] ")
                .trim_start_matches("[remote rejected] ")
                .trim_matches(|c| c == '(' || c == ')')
                .to_owned()),
        };
        results.push((line.to, result));
    }
    if results.is_empty() && !out.status.success() {
        bail!("cannot push to {url}: {}", first_error_line(&out.stderr));
    }
    Ok(results)
}
