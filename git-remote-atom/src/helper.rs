//! The remote helper protocol (`gitremote-helpers(7)`): one command per line on stdin, replies on
//! stdout, each flushed at once.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use atom::format::{AtomRef, Format, ATOM_REF_PREFIX};
use atom::resolve::{self, Resolution};
use atom::store::RemoteRef;
use atom::uri::{Address, Uri};
use atom::{GitStore, Oid};

use crate::git::{self, Flags};
use crate::policy;

/// The helper's state across commands.
struct Helper {
    uri: Uri,
    address: Address,
    flags: Flags,
    dry_run: bool,
    atomic: bool,
    /// The repository git is working on, when there is one.
    git_dir: Option<PathBuf>,
    /// A scratch repository for listing when there is none; kept alive for the session.
    scratch: Option<tempfile::TempDir>,
    /// The last `list`'s result: the selected version and every accepted one.
    resolution: Option<Resolution>,
    /// The last `list for-push`'s refs: what exists on the remote.
    existing: BTreeMap<String, Oid>,
}

/// Parses `url`, applies the transport policy and serves git's commands until it is done.
pub fn run(url: &str) -> anyhow::Result<()> {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut line = String::new();
    let mut helper = match start(url) {
        Ok(helper) => helper,
        Err(e) => {
            // git reports a helper that dies before answering `capabilities` with a second,
            // vaguer line; answer it, then fail on the first real command.
            if stdin.read_line(&mut line)? > 0 && line.trim_end() == "capabilities" {
                reply("fetch\npush\noption\n\n")?;
            }
            return Err(e);
        }
    };
    loop {
        line.clear();
        if stdin.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\n', '\r']);
        tracing::debug!(command, "received");
        match command.split_once(' ').unwrap_or((command, "")) {
            ("", _) => return Ok(()),
            ("capabilities", _) => reply("fetch\npush\noption\n\n")?,
            ("list", arg) => {
                let text = helper.list(arg == "for-push")?;
                reply(&text)?;
            }
            ("option", rest) => {
                let answer = helper.option(rest);
                reply(&format!("{answer}\n"))?;
            }
            ("fetch", _) => {
                let batch = read_batch(&mut stdin, command)?;
                helper.fetch(&batch)?;
                reply("\n")?;
            }
            ("push", _) => {
                let batch = read_batch(&mut stdin, command)?;
                let text = helper.push(&batch)?;
                reply(&text)?;
            }
            (other, _) => bail!("unknown command `{}` from git", other.escape_debug()),
        }
    }
}

fn start(url: &str) -> anyhow::Result<Helper> {
    let aliases = git::aliases()?;
    let uri = Uri::parse(url, &aliases)?;
    let address = uri.address.clone().ok_or_else(|| {
        anyhow!(
            "`atom::{url}` names no repository: write `atom::<repository>::{}`",
            uri.label
        )
    })?;
    policy::check(address.scheme().protocol())?;
    let git_dir = std::env::var_os("GIT_DIR")
        .map(PathBuf::from)
        .map(|p| p.canonicalize().unwrap_or(p));
    Ok(Helper {
        uri,
        address,
        flags: Flags {
            verbosity: 1,
            progress: None,
        },
        dry_run: false,
        atomic: false,
        git_dir,
        scratch: None,
        resolution: None,
        existing: BTreeMap::new(),
    })
}

/// Writes a reply and flushes it.
fn reply(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The lines of a batch (`fetch ...` or `push ...`), starting with `first`, up to a blank line.
fn read_batch(stdin: &mut impl BufRead, first: &str) -> io::Result<Vec<String>> {
    let mut batch = vec![first.to_owned()];
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.read_line(&mut line)? == 0 {
            return Ok(batch);
        }
        let l = line.trim_end_matches(['\n', '\r']);
        if l.is_empty() {
            return Ok(batch);
        }
        batch.push(l.to_owned());
    }
}

impl Helper {
    fn say(&self, level: u32, message: &str) {
        if self.flags.verbosity >= level {
            let _ = writeln!(io::stderr().lock(), "{message}");
        }
    }

    fn url(&self) -> String {
        self.address.git_url()
    }

    fn prefix(&self) -> String {
        format!("{ATOM_REF_PREFIX}{}/", self.uri.label)
    }

    /// One ref listing of `refs/atoms/<label>/` on the real remote.
    fn remote_refs(&mut self) -> anyhow::Result<Vec<RemoteRef>> {
        let store = match (&self.git_dir, &self.scratch) {
            (Some(dir), _) => GitStore::open(dir)?,
            (None, Some(scratch)) => GitStore::open(scratch.path())?,
            (None, None) => {
                let scratch = git::scratch_repository()?;
                let store = GitStore::open(scratch.path())?;
                self.scratch = Some(scratch);
                store
            }
        };
        let prefix = self.prefix();
        let refs = store
            .list_remote(&self.url(), &[&prefix])
            .with_context(|| format!("cannot list atoms at {}", self.address.redacted()))?;
        tracing::debug!(count = refs.len(), "listed");
        Ok(refs)
    }

    fn list(&mut self, for_push: bool) -> anyhow::Result<String> {
        let refs = self.remote_refs()?;
        let mut text = String::new();
        if for_push {
            self.existing = refs.iter().map(|r| (r.name.clone(), r.oid)).collect();
            for r in &refs {
                text.push_str(&format!("{} {}\n", r.oid, r.name));
            }
            text.push('\n');
            return Ok(text);
        }
        let resolution = resolve::resolve(
            &refs,
            &self.uri.label,
            self.uri.requirement.as_ref(),
            &self.address.redacted(),
        )?;
        let label = &self.uri.label;
        let wanted = self
            .uri
            .requirement
            .as_ref()
            .map_or_else(|| "released".to_owned(), |r| format!("matching `{r}`"));
        self.say(
            2,
            &format!(
                "atom: selected {label}@{} ({}), the highest of {} {wanted} at {}",
                resolution.selected.version,
                resolution.selected.commit.short(12),
                resolution.matching.len(),
                self.address.redacted()
            ),
        );
        for v in &resolution.matching {
            text.push_str(&format!(
                "{} {}{label}/{}\n",
                v.commit, ATOM_REF_PREFIX, v.version
            ));
        }
        text.push_str(&format!(
            "{} refs/heads/{label}\n@refs/heads/{label} HEAD\n\n",
            resolution.selected.commit
        ));
        self.resolution = Some(resolution);
        Ok(text)
    }

    fn option(&mut self, rest: &str) -> &'static str {
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let boolean = match value {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        match (name, boolean) {
            ("verbosity", _) => match value.parse() {
                Ok(v) => {
                    self.flags.verbosity = v;
                    "ok"
                }
                Err(_) => "error invalid verbosity",
            },
            ("progress", Some(b)) => {
                self.flags.progress = Some(b);
                "ok"
            }
            ("dry-run", Some(b)) => {
                self.dry_run = b;
                "ok"
            }
            ("atomic", Some(b)) => {
                self.atomic = b;
                "ok"
            }
            // Nothing to do: a clone and a fetch are the same to this helper.
            ("cloning", Some(_)) => "ok",
            _ => "unsupported",
        }
    }

    /// The atom ref a name from git's `fetch` command stands for.
    fn atom_for(&self, name: &str) -> anyhow::Result<(AtomRef, Oid)> {
        let resolution = self
            .resolution
            .as_ref()
            .ok_or_else(|| anyhow!("git asked to fetch `{name}` before listing"))?;
        let label = &self.uri.label;
        if name == "HEAD" || name == format!("refs/heads/{label}") {
            return Ok((resolution.selected_ref(), resolution.selected.commit));
        }
        if let Ok(Some(atom)) = AtomRef::parse(name) {
            if atom.format == Format::Atom1 && &atom.label == label {
                if let Some(v) = resolution
                    .matching
                    .iter()
                    .find(|v| v.version == atom.version)
                {
                    return Ok((atom, v.commit));
                }
            }
        }
        bail!(
            "`{}` is not offered by this atom remote",
            name.escape_debug()
        )
    }

    fn fetch(&mut self, batch: &[String]) -> anyhow::Result<()> {
        let git_dir = self
            .git_dir
            .clone()
            .ok_or_else(|| anyhow!("git did not say which repository to fetch into (GIT_DIR)"))?;
        let mut wanted: Vec<(AtomRef, Oid)> = Vec::new();
        for line in batch {
            let mut fields = line.split(' ');
            let (Some("fetch"), Some(_oid), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                bail!("malformed fetch command `{}`", line.escape_debug());
            };
            let atom = self.atom_for(name)?;
            if !wanted.contains(&atom) {
                wanted.push(atom);
            }
        }
        let url = self.url();
        let names: Vec<String> = wanted.iter().map(|(a, _)| a.name()).collect();
        for (atom, commit) in &wanted {
            self.say(2, &format!("atom: fetching {atom} ({})", commit.short(12)));
        }
        let quarantine =
            git::fetch_quarantined(&git_dir, &url, &names, self.flags).map_err(|e| {
                anyhow!("{e:#}").context(format!("cannot fetch atom `{}`", self.uri.label))
            })?;
        {
            let store = GitStore::open(quarantine.path())?;
            for (atom, commit) in &wanted {
                let findings = resolve::check_structure(&store, atom, *commit);
                if !findings.is_empty() {
                    bail!(
                        "refusing atom {atom} ({}) from {}: {}",
                        commit.short(12),
                        self.address.redacted(),
                        findings.join("; ")
                    );
                }
            }
        }
        quarantine.admit()?;
        Ok(())
    }

    fn push(&mut self, batch: &[String]) -> anyhow::Result<String> {
        let store = match &self.git_dir {
            Some(dir) => GitStore::open(dir)?,
            None => bail!("git did not say which repository to push from (GIT_DIR)"),
        };
        let label = self.uri.label.clone();
        let mut results: Vec<(String, Result<(), String>)> = Vec::new();
        let mut updates: Vec<(Oid, String)> = Vec::new();
        for line in batch {
            let spec = line.strip_prefix("push ").unwrap_or(line);
            let spec = spec.strip_prefix('+').unwrap_or(spec);
            let Some((src, dst)) = spec.split_once(':') else {
                bail!("malformed push command `{}`", line.escape_debug());
            };
            let verdict = self.check_push(&store, &label, src, dst);
            match verdict {
                Ok(oid) => updates.push((oid, dst.to_owned())),
                Err(why) => results.push((dst.to_owned(), Err(why))),
            }
        }
        if self.atomic && !results.is_empty() {
            for (_, name) in updates.drain(..) {
                results.push((name, Err("atomic push failed".to_owned())));
            }
        }
        if !updates.is_empty() {
            results.extend(git::push(
                &self.url(),
                &updates,
                self.atomic,
                self.dry_run,
                self.flags,
            )?);
        }
        let mut text = String::new();
        for (name, result) in &results {
            match result {
                Ok(()) => text.push_str(&format!("ok {name}\n")),
                Err(why) => text.push_str(&format!("error {name} {why}\n")),
            }
        }
        text.push('\n');
        Ok(text)
    }

    /// Whether `src` may be pushed to `dst`: `dst` is a new `refs/atoms/<label>/<version>` and
    /// `src` a valid atom commit for it.
    fn check_push(
        &self,
        store: &GitStore,
        label: &atom::Label,
        src: &str,
        dst: &str,
    ) -> Result<Oid, String> {
        let atom = match AtomRef::parse(dst) {
            Ok(Some(atom)) if atom.format == Format::Atom1 && &atom.label == label => atom,
            _ => {
                return Err(format!(
                    "not an atom ref of `{label}` (push to refs/atoms/{label}/<version>)"
                ))
            }
        };
        if self.existing.contains_key(dst) {
            return Err(if src.is_empty() {
                "already exists (published atoms are never deleted)".to_owned()
            } else {
                "already exists".to_owned()
            });
        }
        if src.is_empty() {
            return Err("does not exist".to_owned());
        }
        let oid = store.resolve_commit(src).map_err(|e| e.to_string())?;
        let findings = resolve::check_structure(store, &atom, oid);
        if findings.is_empty() {
            Ok(oid)
        } else {
            Err(format!("not a valid atom commit: {}", findings.join("; ")))
        }
    }
}
