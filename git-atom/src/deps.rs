//! What `add`, `remove`, `resolve` and `show` share: finding the atom to work on, the user's
//! aliases and mirrors, resolving into a lock, and telling the user what changed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use atom_lib::local::{self, LocalAtom};
use atom_lib::lock::{Lock, Origin};
use atom_lib::manifest::Manifest;
use atom_lib::resolve::graph::{self, Options, Update};
use atom_lib::store::git::Config;
use atom_lib::uri::Aliases;
use atom_lib::GitStore;

use crate::output;

/// The repository around the current directory (if any) and its configuration (the user's
/// global one outside a repository).
pub struct Session {
    pub store: Option<GitStore>,
    pub config: Config,
    pub aliases: Aliases,
}

pub fn context() -> anyhow::Result<Session> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let store = GitStore::discover(&cwd).ok();
    let config = match &store {
        Some(s) => s.config()?,
        None => GitStore::scratch()?.config()?,
    };
    let aliases = Aliases::from_config(&config).context("in git config `atom.alias.*`")?;
    Ok(Session {
        store,
        config,
        aliases,
    })
}

/// The atom `--atom` names, or the one whose directory holds the current directory.
pub fn open_atom(ctx: &Session, atom: Option<&Path>) -> anyhow::Result<LocalAtom> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let top = ctx
        .store
        .as_ref()
        .and_then(|s| s.work_dir())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_owned()));
    let local = match atom {
        Some(dir) => {
            let dir: PathBuf = cwd.join(dir);
            let dir = dir.canonicalize().unwrap_or(dir);
            LocalAtom::at(&dir, top.as_deref())?
        }
        None => {
            let cwd = cwd.canonicalize().unwrap_or(cwd);
            LocalAtom::find(&cwd, top.as_deref())?
        }
    };
    Ok(local)
}

/// Resolves `manifest` against the atom's current lock; `offline`, from the atom index alone.
pub fn resolve(
    ctx: &Session,
    local: &LocalAtom,
    manifest: &Manifest,
    update: Update,
    offline: bool,
) -> anyhow::Result<Lock> {
    let cache = local::index().context("cannot open the atom cache")?;
    let options = Options {
        update,
        mirrors: local::mirrors(&ctx.config, &ctx.aliases),
        offline,
        signatures: Some(atom_lib::sign::Policy::from_settings(&ctx.config)),
    };
    let here = match (&ctx.store, &local.repo_path) {
        (Some(store), Some(atom_dir)) => Some(graph::Local { store, atom_dir }),
        _ => None,
    };
    let outcome = graph::resolve(&cache, here, manifest, local.lock.as_ref(), &options)?;
    for w in &outcome.warnings {
        output::warning(&w.to_string());
    }
    tracing::info!(
        listings = outcome.listings,
        fetches = outcome.fetches,
        "resolved"
    );
    Ok(outcome.lock)
}

/// Resolves after a change that needs nothing from remotes (a path dependency added): from the
/// index alone first, kept when every atom it locks from a remote is locked already, exactly;
/// otherwise (the rest of the lock is not current, or the index lacks something) online.
pub fn resolve_local_change(
    ctx: &Session,
    local: &LocalAtom,
    manifest: &Manifest,
) -> anyhow::Result<Lock> {
    if let Some(existing) = &local.lock {
        let cache = local::index().context("cannot open the atom cache")?;
        let options = Options {
            update: Update::Nothing,
            mirrors: local::mirrors(&ctx.config, &ctx.aliases),
            offline: true,
            signatures: Some(atom_lib::sign::Policy::from_settings(&ctx.config)),
        };
        let here = match (&ctx.store, &local.repo_path) {
            (Some(store), Some(atom_dir)) => Some(graph::Local { store, atom_dir }),
            _ => None,
        };
        match graph::resolve(&cache, here, manifest, Some(existing), &options) {
            Ok(outcome)
                if outcome
                    .lock
                    .atoms
                    .iter()
                    .filter(|a| matches!(a.origin, Origin::Url { .. }))
                    .all(|a| existing.atoms.contains(a)) =>
            {
                tracing::info!("resolved from the index: nothing locked from a remote moved");
                return Ok(outcome.lock);
            }
            Ok(_) => tracing::info!("the index alone would move remote atoms: resolving online"),
            Err(e) => tracing::info!("the index alone cannot resolve ({e}): resolving online"),
        }
    }
    resolve(ctx, local, manifest, Update::Nothing, false)
}

/// One line per atom that appears, moves or goes, for people.
pub fn changes(old: Option<&Lock>, new: &Lock) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let empty = Lock::default();
    let old = old.unwrap_or(&empty);
    let mut by_atom: BTreeMap<(String, String), (BTreeSet<_>, BTreeSet<_>)> = BTreeMap::new();
    for (lock, side) in [(old, 0), (new, 1)] {
        for atom in &lock.atoms {
            let entry = by_atom
                .entry((atom.label.to_string(), atom.id.to_string()))
                .or_default();
            let set = if side == 0 {
                &mut entry.0
            } else {
                &mut entry.1
            };
            set.insert(atom.version.clone());
        }
    }
    let mut lines = Vec::new();
    for ((label, _), (before, after)) in by_atom {
        let added: Vec<_> = after.difference(&before).collect();
        let removed: Vec<_> = before.difference(&after).collect();
        if let ([a], [r]) = (added.as_slice(), removed.as_slice()) {
            lines.push(format!("updated {label} {r} -> {a}"));
            continue;
        }
        lines.extend(added.iter().map(|v| format!("locked {label} {v}")));
        lines.extend(removed.iter().map(|v| format!("removed {label} {v}")));
    }
    lines
}
