//! `git atom add` and `git atom remove`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use atom_lib::lock::{AtomKey, Lock};
use atom_lib::manifest::{AtomDep, Dep, Name, RelPath, MANIFEST_FILE};
use atom_lib::refs::{ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX};
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
/// `atom.lock`. The manifest and the lock are written only if resolution succeeds: every atom
/// fetched is checked first (structure, source and, with `atom.requireSignature` true, a
/// signature by a trusted key that is not revoked).
///
/// The eka tool's atoms (`refs/eka/atoms/`) can be dependencies too, where the repository has
/// no atom of this suite's format at the same version: they are locked with
/// `format = "eka/pre1"` and checked against eka's metadata refs. One with an `atom.lock` of its
/// own (the eka tool's, whose dependencies atom does not read) is refused.
///
/// With --path <DIR> instead of URIs, the dependency is another atom of the same repository, by
/// its directory (relative to the current directory): it must be inside the repository, hold an
/// `atom.toml`, and not be the atom edited. It is written as `[deps.<name>] path = "<DIR>"`
/// relative to the atom's directory, and locked as the working tree has it.
///
/// Exit status: 0 added, 1 failed (nothing written), 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Atom URIs: <REPOSITORY>::<LABEL>[@<REQUIREMENT>]
    #[arg(
        value_name = "URI",
        required_unless_present = "path",
        conflicts_with = "path"
    )]
    uris: Vec<String>,
    /// Add the atom in DIR, another atom of this repository, as a path dependency
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// The dependency's name (`from.<NAME>`; default: the label); only with one URI or --path
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    name: Option<Name>,
    /// The atom directory to edit (default: the atom whose directory holds the current directory)
    #[arg(long, value_name = "DIR")]
    atom: Option<PathBuf>,
    /// Replace a dependency the manifest already declares under the same name (without it,
    /// adding a name that is taken fails and nothing is written)
    #[arg(long)]
    replace: bool,
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
    let mut taken: BTreeSet<Name> = local.manifest.deps.keys().cloned().collect();
    let mut claim = |name: &Name| -> anyhow::Result<()> {
        if !taken.insert(name.clone()) && !args.replace {
            bail!(
                "`deps.{name}` is already declared in {}: pass --replace to replace it, or --name to add it under another name",
                MANIFEST_FILE
            );
        }
        Ok(())
    };
    if let Some(dir) = &args.path {
        let (name, path) = path_dep(&ctx, &local, dir, args.name.as_ref())?;
        claim(&name)?;
        doc.set_dep(&name, &Dep::Path(path.clone()))?;
        let manifest = doc.manifest()?;
        let text = doc.to_string();
        // Nothing of a remote changes: the index answers unless the rest of the lock is stale.
        let lock = deps::resolve_local_change(&ctx, &local, &manifest)?;
        local.write(Some(&text), &lock)?;
        output::note(quiet, &format!("added deps.{name} (path {path})"));
        for line in deps::changes(local.lock.as_ref(), &lock) {
            output::note(quiet, &line);
        }
        return Ok(0);
    }
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
        claim(&name)?;
        let requirement = match &uri.requirement {
            Some(r) => r.clone(),
            None => {
                // Both formats: the eka tool's atoms can be dependencies too.
                let prefixes = [ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX]
                    .map(|base| format!("{base}{}/", uri.label));
                let refs = lister
                    .list_remote(&address.git_url(), &prefixes.each_ref().map(String::as_str))
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
    let lock = deps::resolve(&ctx, &local, &manifest, Update::Nothing, false)?;
    local.write(Some(&text), &lock)?;
    for line in added
        .iter()
        .chain(&deps::changes(local.lock.as_ref(), &lock))
    {
        output::note(quiet, line);
    }
    Ok(0)
}

/// The name and the path (relative to `local`'s directory) of the path dependency on the atom
/// in `dir` (relative to the current directory), after checking that it is another atom of the
/// same repository.
fn path_dep(
    ctx: &deps::Session,
    local: &atom_lib::local::LocalAtom,
    dir: &std::path::Path,
    name: Option<&Name>,
) -> anyhow::Result<(Name, RelPath)> {
    let shown = dir.display();
    let top = match (&ctx.store, &local.repo_path) {
        (Some(store), Some(_)) => store
            .work_dir()
            .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_owned())),
        _ => None,
    }
    .ok_or_else(|| {
        anyhow!(
            "{} is not in a git repository with a working tree: --path adds another atom of the same repository",
            local.dir.display()
        )
    })?;
    let target = std::env::current_dir()?
        .join(dir)
        .canonicalize()
        .with_context(|| format!("`{shown}` does not exist"))?;
    let Ok(inside) = target.strip_prefix(&top) else {
        bail!(
            "`{shown}` is outside the repository {}: a path dependency is another atom of the same repository (add an atom of another repository by its URI)",
            top.display()
        );
    };
    if !target.join(MANIFEST_FILE).is_file() {
        bail!("`{shown}` is not an atom: it has no {MANIFEST_FILE}");
    }
    if target
        == local
            .dir
            .canonicalize()
            .unwrap_or_else(|_| local.dir.clone())
    {
        bail!("`{shown}` is the atom being edited: an atom cannot depend on itself");
    }
    let theirs = atom_lib::local::LocalAtom::at(&target, Some(&top))?;
    let name = match name {
        Some(n) => n.clone(),
        None => Name::new(theirs.manifest.label.as_str()).map_err(|e| {
            anyhow!(
                "the label `{}` of `{shown}` cannot be a dependency name ({e}): pass --name",
                theirs.manifest.label
            )
        })?,
    };
    // From the atom's directory to the target's, both relative to the repository's root.
    let from: Vec<&str> = local
        .repo_path
        .as_deref()
        .unwrap_or_default()
        .split('/')
        .filter(|c| !c.is_empty())
        .collect();
    let to: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let common = from
        .iter()
        .zip(&to)
        .take_while(|(a, b)| **a == b.as_str())
        .count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(to[common..].iter().map(String::as_str));
    let path = RelPath::new(&parts.join("/"))
        .map_err(|e| anyhow!("`{shown}` cannot be written as a path dependency: {e}"))?;
    Ok((name, path))
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
