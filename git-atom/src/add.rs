//! `git atom add` and `git atom remove`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use atom_lib::lock::{AtomKey, Lock};
use atom_lib::manifest::{AtomDep, Dep, Name};
use atom_lib::refs::ATOM_REF_PREFIX;
use atom_lib::resolve::graph::Update;
use atom_lib::uri::{Address, Aliases, Requirement, Scheme, Uri};

use crate::resolve::parse_name;
use crate::{deps, output};

/// Add atom dependencies to the atom's manifest and lock them
///
/// Each <URI> is the atom URI `git clone atom::` takes (`[<repository>::]<label>[@<requirement>]`,
/// aliases from `git config atom.alias.<name>` expanded). The dependency is written as
/// `[deps.<name>]` with the fully expanded repository URL (never an alias) and the requirement
/// (none given: `^<highest released version>`), then the whole graph is resolved into
/// `atom.lock`. The manifest and the lock are written only if resolution succeeds.
///
/// Exit status: 0 added, 1 failed (nothing written), 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Atom URIs: <REPOSITORY>::<LABEL>[@<REQUIREMENT>]
    #[arg(value_name = "URI", required = true)]
    uris: Vec<String>,
    /// The dependency's name (`from.<NAME>`; default: the label); only with one URI
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    name: Option<Name>,
    /// The atom directory to edit (default: the atom whose directory holds the current directory)
    #[arg(long, value_name = "DIR")]
    atom: Option<PathBuf>,
}

/// Remove dependencies from the atom's manifest and lock
///
/// Removes `[deps.<NAME>]` for each NAME and drops from `atom.lock` every atom nothing else
/// requires. Needs no network.
///
/// Exit status: 0 removed, 1 failed (nothing written), 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Dependency names
    #[arg(value_name = "NAME", required = true, value_parser = parse_name)]
    names: Vec<Name>,
    /// The atom directory to edit (default: the atom whose directory holds the current directory)
    #[arg(long, value_name = "DIR")]
    atom: Option<PathBuf>,
}

pub fn add(args: AddArgs, quiet: bool) -> anyhow::Result<u8> {
    if args.name.is_some() && args.uris.len() > 1 {
        bail!(
            "--name names one dependency, but {} URIs were given",
            args.uris.len()
        );
    }
    let ctx = deps::context()?;
    let local = deps::open_atom(&ctx, args.atom.as_deref())?;
    let mut doc = local.document()?;
    let scratch;
    let lister = match &ctx.store {
        Some(s) => s,
        None => {
            scratch = atom_lib::GitStore::scratch()?;
            &scratch
        }
    };
    let mut added = Vec::new();
    for text in &args.uris {
        let uri = Uri::parse(text, &ctx.aliases)?;
        let address = uri.address.clone().ok_or_else(|| {
            anyhow!(
                "`{text}` names no repository: write `<repository>::{}`",
                uri.label
            )
        })?;
        let address = as_url(address, &ctx.aliases)?;
        let name = match &args.name {
            Some(n) => n.clone(),
            None => Name::new(uri.label.as_str()).map_err(|e| {
                anyhow!(
                    "the label `{}` cannot be a dependency name ({e}): pass --name",
                    uri.label
                )
            })?,
        };
        let requirement = match &uri.requirement {
            Some(r) => r.clone(),
            None => {
                let prefix = format!("{ATOM_REF_PREFIX}{}/", uri.label);
                let refs = lister
                    .list_remote(&address.git_url(), &[&prefix])
                    .with_context(|| format!("cannot list atoms at {}", address.redacted()))?;
                let resolution =
                    atom_lib::resolve::resolve(&refs, &uri.label, None, &address.redacted())?;
                Requirement::new(&format!("^{}", resolution.selected.version))
                    .map_err(|e| anyhow!("{e}"))?
            }
        };
        let label = (uri.label.as_str() != name.as_str()).then(|| uri.label.clone());
        doc.set_dep(
            &name,
            &Dep::Atom(AtomDep {
                url: address,
                version: requirement.clone(),
                label,
                mirrors: Vec::new(),
            }),
        )?;
        added.push(format!("added deps.{name} ({}@{requirement})", uri.label));
    }
    let manifest = doc.manifest()?;
    let text = doc.to_string();
    let lock = deps::resolve(&ctx, &local, &manifest, Update::Nothing)?;
    local.write(Some(&text), &lock)?;
    for line in added
        .iter()
        .chain(&deps::changes(local.lock.as_ref(), &lock))
    {
        output::note(quiet, line);
    }
    Ok(0)
}

/// The address as a manifest records it: a local path becomes a `file://` URL of the absolute
/// path, so the manifest means the same from any directory.
fn as_url(address: Address, aliases: &Aliases) -> anyhow::Result<Address> {
    if address.scheme() != Scheme::File || address.git_url().starts_with("file://") {
        return Ok(address);
    }
    let path = std::path::Path::new(address.path());
    let absolute = std::env::current_dir()?.join(path);
    let absolute = absolute
        .canonicalize()
        .with_context(|| format!("repository `{}` does not exist", address.path()))?;
    Ok(Address::parse(
        &format!("file://{}", absolute.display()),
        aliases,
    )?)
}

pub fn remove(args: RemoveArgs, quiet: bool) -> anyhow::Result<u8> {
    let ctx = deps::context()?;
    let local = deps::open_atom(&ctx, args.atom.as_deref())?;
    let mut doc = local.document()?;
    for name in &args.names {
        if !doc.remove_dep(name) {
            bail!(
                "`{name}` is not a dependency of {} (see `git atom show`)",
                local.manifest_path().display()
            );
        }
    }
    // The edited manifest must still be valid (`[provide]` may name a removed dependency).
    doc.manifest()?;
    let text = doc.to_string();
    let removed: BTreeSet<&Name> = args.names.iter().collect();
    let lock = match &local.lock {
        Some(old) => prune(old, &removed),
        None => Lock::default(),
    };
    local.write(Some(&text), &lock)?;
    for name in &args.names {
        output::note(quiet, &format!("removed deps.{name}"));
    }
    for line in deps::changes(local.lock.as_ref(), &lock) {
        output::note(quiet, &line);
    }
    Ok(0)
}

/// The lock without the removed direct dependencies and every atom only they reached.
fn prune(old: &Lock, removed: &BTreeSet<&Name>) -> Lock {
    let mut lock = old.clone();
    lock.requires.retain(|name, _| !removed.contains(name));
    let mut reached: BTreeSet<AtomKey> = BTreeSet::new();
    let mut todo: Vec<AtomKey> = lock.requires.values().cloned().collect();
    while let Some(key) = todo.pop() {
        if reached.insert(key.clone()) {
            if let Some(atom) = old.atom(&key) {
                todo.extend(atom.requires.values().cloned());
            }
        }
    }
    lock.atoms.retain(|a| reached.contains(&a.key()));
    lock
}
