//! `git atom resolve`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use atom_lib::local::LocalAtom;
use atom_lib::manifest::Name;
use atom_lib::resolve::graph::{Selection, Update};

use crate::{deps, output};

/// Bring the atom's lock in line with its manifest
///
/// Resolves every dependency of the atom (the one whose directory holds the current directory,
/// or --atom) into `atom.lock`: the whole closure, each atom's commit and tree, its repository
/// root and where it was found. Each address of a repository (its URL and every mirror) is
/// reached over one connection, a protocol v2 session carrying its one ls-refs and every fetch
/// from it; of the chosen atoms only what resolution reads is fetched (the atom commit, its
/// root tree, its `atom.toml` and `atom.lock`), into the per-user atom index (`$XDG_CACHE_HOME/atom/index.git`), each checked before it is admitted. Only what must
/// change changes: a locked version that still matches its requirement stays. Compatible
/// requirements on one atom are unified to one version; other majors coexist. Mirrors of a
/// repository come from the manifest's `mirrors` and `git config atom.<url>.mirror`; one that
/// does not answer is a warning, two that disagree are an error. With `atom.requireSignature`
/// true, an atom is locked only with a signature by a trusted key that is not revoked
/// (`gpg.ssh.allowedSignersFile`, `refs/atoms/_revoked/*`, `gpg.ssh.revocationKeyring`).
///
/// With --offline nothing is listed or fetched: the candidates are the atoms earlier
/// resolutions fetched into the index (for the dependency's URL or any of its mirrors), and a
/// requirement none of them satisfies is an error naming the dependency.
///
/// Exit status: 0 the lock is current (written if it changed), 1 resolution failed or (with
/// --locked) the lock is not current, 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The atom directory (default: the atom whose directory holds the current directory)
    #[arg(long, value_name = "DIR")]
    atom: Option<PathBuf>,
    /// Change nothing; fail if the lock is not current (for CI; needs no network)
    #[arg(long, conflicts_with_all = ["update", "offline"])]
    locked: bool,
    /// Use no network: resolve from the atoms earlier resolutions fetched into the atom index
    #[arg(long)]
    offline: bool,
    /// Move dependencies to their newest matching versions, and resolve pins and sources again
    /// (refs, downloads): all, or only the NAMEs given. A NAME is any of the lock: a
    /// dependency, pin or source of the atom (a dependency moves with what it alone brings), or
    /// a transitive atom by its label or the name its dependent requires it by (it alone moves,
    /// as far as every requirement on it allows), or a dependency's pin or source; everything
    /// else keeps its locked version
    #[arg(long, value_name = "NAME", num_args = 0.., value_parser = parse_name)]
    update: Option<Vec<Name>>,
}

/// What `--update <name>...` names. A name of the manifest (`deps.<name>`, `pins.<name>`,
/// `srcs.<name>`) is the atom's own; any other is looked up in the existing lock: every atom
/// entry with that label or required by that name (`requires = { <name> = ... }`), and every
/// pin and source of a dependency with that name. A name found nowhere is refused, with the
/// nearest name of the manifest and lock when one is close.
fn selection(local: &LocalAtom, names: &[Name]) -> anyhow::Result<Selection> {
    let mut selection = Selection::default();
    let lock = local.lock.as_ref();
    for name in names {
        let manifest = &local.manifest;
        if manifest.deps.contains_key(name)
            || manifest.pins.contains_key(name)
            || manifest.srcs.contains_key(name)
        {
            selection.direct.insert(name.clone());
            continue;
        }
        let mut found = false;
        for atom in lock.map(|l| l.atoms.as_slice()).unwrap_or_default() {
            if atom.label.as_str() == name.as_str() {
                selection.atoms.insert(atom.id);
                found = true;
            }
            for (required_as, key) in &atom.requires {
                if required_as == name {
                    selection.atoms.insert(key.id);
                    found = true;
                }
            }
        }
        let owned = lock.into_iter().flat_map(|l| {
            let pins = l.pins.iter().map(|p| (p.owner.as_ref(), &p.name));
            pins.chain(l.srcs.iter().map(|s| (s.owner.as_ref(), &s.name)))
        });
        for (owner, entry) in owned {
            if let (Some(owner), true) = (owner, entry == name) {
                selection.owned.insert((owner.clone(), name.clone()));
                found = true;
            }
        }
        if !found {
            let known = known_names(local);
            let hint = atom_lib::manifest::suggest(name.as_str(), known.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            bail!(
                "`{name}` is not a dependency, pin or source of this atom nor an atom, pin or source of its atom.lock: {hint}(see `git atom show`)"
            );
        }
    }
    Ok(selection)
}

/// Every name `--update` takes for this atom: the manifest's, and the lock's labels, `requires`
/// names, pins and sources.
fn known_names(local: &LocalAtom) -> Vec<String> {
    let m = &local.manifest;
    let mut known: Vec<String> = m
        .deps
        .keys()
        .chain(m.pins.keys())
        .chain(m.srcs.keys())
        .map(ToString::to_string)
        .collect();
    if let Some(lock) = &local.lock {
        for atom in &lock.atoms {
            known.push(atom.label.to_string());
            known.extend(atom.requires.keys().map(ToString::to_string));
        }
        known.extend(lock.pins.iter().map(|p| p.name.to_string()));
        known.extend(lock.srcs.iter().map(|s| s.name.to_string()));
    }
    known.sort();
    known.dedup();
    known
}

pub fn parse_name(s: &str) -> Result<Name, String> {
    Name::new(s).map_err(|e| e.to_string())
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let ctx = deps::context()?;
    let local = deps::open_atom(&ctx, args.atom.as_deref())?;
    let atom_dir = local.repo_path.clone().unwrap_or_default();
    if args.locked {
        let nothing_to_lock = local.manifest.deps.is_empty()
            && local.manifest.pins.is_empty()
            && local.manifest.srcs.is_empty();
        let stale = match &local.lock {
            None if nothing_to_lock => Vec::new(),
            None => vec![format!("{} does not exist", local.lock_path().display())],
            Some(lock) => {
                let mut stale = lock.check(&local.manifest, &atom_dir);
                // A path source's content is local: its drift is found without network.
                if let Some(store) = &ctx.store {
                    for drift in atom_lib::resolve::pins::path_drift(store, lock)? {
                        if !stale.contains(&drift) {
                            stale.push(drift);
                        }
                    }
                }
                let stale: Vec<String> = stale.iter().map(ToString::to_string).collect();
                // A current lock must also prove itself: every fetched entry is what it names.
                if stale.is_empty() && !lock.atoms.is_empty() {
                    let index = atom_lib::local::index().context("cannot open the atom index")?;
                    let shown = local.lock_path().display().to_string();
                    let policy = atom_lib::sign::Policy::from_settings(&ctx.config);
                    let options = atom_lib::proof::Options {
                        lock: &shown,
                        contents: atom_lib::admit::Contents::Manifests,
                        offline: args.offline,
                        signatures: Some(&policy),
                    };
                    if let Err(e) = atom_lib::proof::prove(&index, lock, &options) {
                        output::error(&anyhow::Error::new(e));
                        return Ok(1);
                    }
                }
                stale
            }
        };
        if stale.is_empty() {
            output::note(quiet, "atom.lock is current");
            return Ok(0);
        }
        for line in &stale {
            output::error(&anyhow::anyhow!("atom.lock is not current: {line}"));
        }
        output::note(
            quiet,
            "run `git atom resolve` to bring the lock in line with the manifest",
        );
        return Ok(1);
    }
    let update = match args.update {
        None => Update::Nothing,
        Some(names) if names.is_empty() => Update::All,
        Some(names) => Update::Names(selection(&local, &names)?),
    };
    let lock = deps::resolve(&ctx, &local, &local.manifest, update, args.offline)?;
    if local.lock.as_ref() == Some(&lock) {
        output::note(quiet, "atom.lock is up to date");
        return Ok(0);
    }
    local.write(None, &lock)?;
    for line in deps::changes(local.lock.as_ref(), &lock) {
        output::note(quiet, &line);
    }
    output::note(
        quiet,
        &format!(
            "wrote {} ({} atoms)",
            local.lock_path().display(),
            lock.atoms.len()
        ),
    );
    Ok(0)
}
