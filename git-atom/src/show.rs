//! `git atom show`.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use atom_lib::admit;
use atom_lib::commit::Format;
use atom_lib::list::Listing;
use atom_lib::lock::Lock;
use atom_lib::manifest::{Dep, Manifest, Pin, Src, Support, MANIFEST_FILE};
use atom_lib::store::git::Verbosity;
use atom_lib::uri::Uri;
use atom_lib::variant;
use atom_lib::{local, AtomRef, Root};
use serde::Serialize;

use crate::{deps, output};

/// Show everything static about an atom, without Nix
///
/// With no argument, the atom whose directory holds the current directory; with a directory,
/// that atom; with an atom URI (`<repository>::<label>[@<requirement>]`, aliases expanded), the
/// highest matching published version, fetched into the per-user cache after its structure and
/// source are checked (and, with `atom.requireSignature` true, a signature by a trusted key
/// that is not revoked). Shows its identity, meta data, dependencies (with the versions locked in
/// `atom.lock`), pins and sources (with the commit, hash or tree they are locked to), the
/// expanded platform triples, variations and formats. An eka atom (`refs/eka/atoms/`, format
/// `eka/pre1`) is shown with its format, numbered from `refs/ekala/init`, and checked against
/// eka's metadata refs before it is admitted; of its `[package]` manifest, only `label` and
/// `version` are read.
///
/// With --matrix, the static build matrix instead (see --matrix).
///
/// Exit status: 0 shown, 1 the atom could not be read, 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An atom directory or an atom URI
    #[arg(value_name = "ATOM")]
    atom: Option<String>,
    /// Print as JSON on stdout
    #[arg(long)]
    json: bool,
    /// Show the atom's static build matrix instead: every `build:host:target` triple of
    /// `[platform]` times every combination of its `[provide]` and `[support]` variants, one
    /// line each (the triple, then the `eka-run` options that select the variant; `any` when the
    /// atom declares no `[platform]`); with --json, `{"include": [...]}`, which a CI system
    /// takes as its job matrix (GitHub Actions: `strategy.matrix`)
    #[arg(long)]
    matrix: bool,
}

/// `show --matrix --json`.
#[derive(Serialize)]
struct JsonMatrix<'a> {
    include: Vec<atom_lib::variant::EntryJson<'a>>,
}

#[derive(Serialize)]
struct JsonDep {
    name: String,
    kind: &'static str,
    source: String,
    requirement: Option<String>,
    locked: Option<String>,
}

#[derive(Serialize)]
struct JsonShow {
    label: String,
    version: String,
    format: &'static str,
    id: Option<String>,
    r#type: &'static str,
    description: Option<String>,
    license: Option<String>,
    maintainers: Vec<String>,
    homepage: Option<String>,
    deps: Vec<JsonDep>,
    platforms: Vec<String>,
    support: Vec<String>,
    formats: Vec<String>,
    lock: Option<&'static str>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let ctx = deps::context()?;
    let is_dir = args
        .atom
        .as_deref()
        .is_none_or(|a| PathBuf::from(a).join(MANIFEST_FILE).is_file());
    let (manifest, lock, root, lock_state, format) = if is_dir {
        let (manifest, lock, root, state) = local_atom(&ctx, args.atom.as_deref())?;
        (manifest, lock, root, state, Format::Atom1)
    } else {
        let text = args.atom.clone().unwrap_or_default();
        let (manifest, lock, root, format) = remote(&ctx, &text)?;
        (manifest, lock, Some(root), None, format)
    };
    if args.matrix {
        return show_matrix(&manifest, args.json);
    }
    let id = root.map(|r| Root(r).atom_id(&manifest.label).to_string());
    let show = JsonShow {
        label: manifest.label.to_string(),
        version: manifest.version.to_string(),
        format: format.name(),
        id,
        r#type: manifest.kind.as_str(),
        description: manifest.meta.description.clone(),
        license: manifest.meta.license.as_ref().map(ToString::to_string),
        maintainers: manifest.meta.maintainers.clone(),
        homepage: manifest.meta.homepage.clone(),
        deps: dependency_rows(&manifest, lock.as_ref()),
        platforms: manifest
            .platform
            .supported
            .iter()
            .map(ToString::to_string)
            .collect(),
        support: manifest
            .support
            .iter()
            .map(|(name, s)| match s {
                Support::Toggle(default) => format!("{name} (default {default})"),
                Support::Flags(flags) => format!("{name} = [{}]", flags.join(", ")),
            })
            .collect(),
        formats: manifest.dist.formats.clone(),
        lock: lock_state,
    };
    if args.json {
        output::json(&show)?;
        return Ok(0);
    }
    output::stdout(&render(&show))?;
    Ok(0)
}

/// `show --matrix`: the static build matrix, one line per entry or one JSON document.
fn show_matrix(manifest: &Manifest, json: bool) -> anyhow::Result<u8> {
    let entries = variant::matrix(manifest)?;
    if !json {
        let lines: String = entries.iter().map(|e| e.label() + "\n").collect();
        output::stdout(&lines)?;
        return Ok(0);
    }
    let include = entries.iter().map(atom_lib::variant::Entry::json).collect();
    output::json(&JsonMatrix { include })?;
    Ok(0)
}

/// An atom as `show` reads it: manifest, lock, the root it is numbered from (if known) and,
/// for an atom directory, the lock's state.
type Opened = (
    Manifest,
    Option<Lock>,
    Option<atom_lib::Oid>,
    Option<&'static str>,
);

/// The atom in a directory (`dir`, else the one whose directory holds the current directory):
/// its manifest, its lock, the root it is numbered from and the lock's state.
fn local_atom(ctx: &deps::Session, dir: Option<&str>) -> anyhow::Result<Opened> {
    let local = deps::open_atom(ctx, dir.map(std::path::Path::new))?;
    let root = repository_root(ctx);
    let state = match &local.lock {
        None => "missing",
        Some(l) if l.is_current(&local.manifest, local.repo_path.as_deref().unwrap_or("")) => {
            "current"
        }
        Some(_) => "stale",
    };
    Ok((local.manifest, local.lock, root, Some(state)))
}

/// The root a local atom is numbered from: the repository's recorded identity (in a clone made
/// with `git clone atom::<uri>`, the publisher's, which the helper records under `atom.root`),
/// else the root of `HEAD`.
pub(crate) fn repository_root(ctx: &deps::Session) -> Option<atom_lib::Oid> {
    ctx.store.as_ref().and_then(|s| {
        atom_lib::list::recorded_root(s)
            .ok()
            .flatten()
            .or_else(|| s.head_commit().and_then(|h| s.first_parent_root(h).ok()))
    })
}

/// One row per dependency, pin and source, with what the lock records for it.
fn dependency_rows(manifest: &Manifest, lock: Option<&Lock>) -> Vec<JsonDep> {
    let locked = |name: &atom_lib::manifest::Name| {
        lock.and_then(|l| l.requires.get(name))
            .map(|k| k.version.to_string())
    };
    let pinned = lock
        .map(atom_lib::resolve::pins::locked_values)
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (name, dep) in &manifest.deps {
        let (source, requirement) = match dep {
            Dep::Atom(a) => (
                format!(
                    "{}::{}",
                    a.url,
                    a.label_for(name).map(|l| l.to_string()).unwrap_or_default()
                ),
                Some(a.version.to_string()),
            ),
            Dep::Path(p) => (format!("path {p}"), None),
        };
        rows.push(JsonDep {
            name: name.to_string(),
            kind: "atom",
            source,
            requirement,
            locked: locked(name),
        });
    }
    for (name, pin) in &manifest.pins {
        let source = match pin {
            Pin::Git { git, reference, .. } => format!("{git} {reference}"),
            Pin::Tarball { url, .. } => url.to_string(),
        };
        rows.push(JsonDep {
            name: name.to_string(),
            kind: "pin",
            source,
            requirement: None,
            locked: pinned.get(&("pin", name.clone())).cloned(),
        });
    }
    for (name, src) in &manifest.srcs {
        let source = match src {
            Src::Url { url, .. } => src
                .url_for(&manifest.version)
                .unwrap_or_else(|| url.as_str().to_owned()),
            Src::Git { git, reference } => format!("{git} {reference}"),
            Src::Path(p) => format!("path {p}"),
        };
        rows.push(JsonDep {
            name: name.to_string(),
            kind: "src",
            source,
            requirement: None,
            locked: pinned.get(&("src", name.clone())).cloned(),
        });
    }
    rows
}

/// What `show` prints without --json: the fields, then a table of the dependencies.
fn render(show: &JsonShow) -> String {
    let mut text = format!("{} {}\n", show.label, show.version);
    // What a manifest says is escaped: a description must not drive the terminal or forge a line.
    let mut field = |k: &str, v: &str| {
        text.push_str(&format!("{k:<12} {}\n", atom_lib::escape::escaped(v)));
    };
    if show.format != Format::Atom1.name() {
        field("format", show.format);
    }
    field("type", show.r#type);
    if let Some(id) = &show.id {
        field("id", id);
    }
    for (k, v) in [
        ("description", &show.description),
        ("license", &show.license),
        ("homepage", &show.homepage),
    ] {
        if let Some(v) = v {
            field(k, v);
        }
    }
    if !show.maintainers.is_empty() {
        field("maintainers", &show.maintainers.join(", "));
    }
    if !show.platforms.is_empty() {
        field("platforms", &show.platforms.join(" "));
    }
    if !show.support.is_empty() {
        field("support", &show.support.join("; "));
    }
    if !show.formats.is_empty() {
        field("formats", &show.formats.join(" "));
    }
    if let Some(state) = show.lock {
        field("lock", state);
    }
    if !show.deps.is_empty() {
        text.push('\n');
        let mut rows = vec![vec![
            "NAME".to_owned(),
            "KIND".to_owned(),
            "SOURCE".to_owned(),
            "REQUIRES".to_owned(),
            "LOCKED".to_owned(),
        ]];
        for d in &show.deps {
            rows.push(vec![
                d.name.clone(),
                d.kind.to_owned(),
                atom_lib::escape::escaped(&d.source).to_string(),
                d.requirement.clone().unwrap_or_else(|| "-".into()),
                d.locked.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        text.push_str(&output::table(&rows));
    }
    text
}

/// The manifest and lock of a published atom named by a URI, fetched into the cache (`tree`
/// reads a remote atom through it too).
pub(crate) fn remote(
    ctx: &deps::Session,
    text: &str,
) -> anyhow::Result<(Manifest, Option<Lock>, atom_lib::Oid, Format)> {
    let uri = Uri::parse(text, &ctx.aliases)?;
    let address = uri.address.clone().ok_or_else(|| {
        anyhow!("`{text}` is neither an atom directory nor an atom URI with a repository")
    })?;
    // The resolver's index holds atoms' manifests and locks only (never the atoms' cache,
    // whose atoms are whole).
    let cache = local::index().context("cannot open the atom index")?;
    // Both formats, eka's metadata refs (its atoms are checked against them) and both
    // identity refs.
    let prefixes = atom_lib::verify::label_prefixes(&uri.label);
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    // One connection carries the listing and the fetches (a protocol v2 session); a server
    // that speaks only v0/v1 gets a connection per step.
    let cannot_list = || format!("cannot list atoms at {}", address.redacted());
    let connection = cache
        .connect(&address.git_url())
        .with_context(cannot_list)?;
    let refs = connection
        .list(&cache, &prefixes)
        .with_context(cannot_list)?;
    let resolution = atom_lib::resolve::resolve(
        &refs,
        &uri.label,
        uri.requirement.as_ref(),
        &address.redacted(),
    )?;
    let atom: AtomRef = resolution.selected_ref();
    let commit = resolution.selected.commit;
    // Each format is numbered from its own identity ref (docs/format.md, section 5).
    let root = Listing::from_refs(&refs, &[], None)
        .root_of(atom.format)
        .map(|root| root.0)
        .ok_or_else(|| {
            anyhow!(
                "{} has no {}, so {atom} has no atomic number",
                address.redacted(),
                match atom.format {
                    Format::Atom1 => atom_lib::refs::ROOT_REF,
                    Format::EkaPre1 => atom_lib::refs::EKA_ROOT_REF,
                }
            )
        })?;
    // Only the atom commit, its tree and the manifest's and lock's blobs move (on servers that
    // allow filters), checked before they are admitted into the cache.
    let wanted = [admit::Wanted::listed(atom.clone(), commit)];
    let policy = atom_lib::sign::Policy::from_settings(&ctx.config);
    let request = admit::Request {
        wanted: &wanted,
        contents: admit::Contents::Manifests,
        listed: &refs,
        verbosity: Verbosity::default(),
        signatures: Some(&policy),
    };
    admit::admit(&cache, &connection, &address.redacted(), &request)?;
    let store = &cache;
    let (tree, _) = store.commit_tree_and_parents(commit)?;
    let blob = |name: &str| store.top_blob(tree, name);
    let manifest_bytes =
        blob(MANIFEST_FILE)?.ok_or_else(|| anyhow!("{atom} has no {MANIFEST_FILE}"))?;
    let shown = format!("{}:{MANIFEST_FILE}", atom.name());
    let manifest = match atom.format {
        Format::Atom1 => Manifest::parse(&manifest_bytes, &shown)?,
        Format::EkaPre1 => Manifest::parse_eka(&manifest_bytes, &shown)?,
    };
    let lock = match blob(atom_lib::lock::LOCK_FILE)? {
        Some(bytes) => Some(Lock::parse(&bytes, &format!("{}:atom.lock", atom.name()))?),
        None => None,
    };
    Ok((manifest, lock, root, atom.format))
}
