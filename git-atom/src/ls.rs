//! `git atom ls`.

use anyhow::Context;
use atom_lib::list::{self, Listing, Pattern};
use atom_lib::GitStore;
use serde::Serialize;

use std::borrow::Cow;

use crate::{output, repository};

/// How many characters of an atom's id the table shows.
const ID_SHOWN: usize = 12;

/// List atoms and their versions, locally or on a remote
///
/// Without <REPOSITORY>, or with `.`, lists the local repository's atoms. With a remote name, a
/// path, a URL or an address as atom URIs write it (`gh:org/repo`, with the aliases of
/// `atom.alias.*`; see docs/uri.md), lists the remote's atoms from one protocol v2 ref listing restricted to atom refs with
/// `ref-prefix` (the server filters; no object data moves). Versions are grouped per atom in
/// semver precedence order. Atoms published by the eka tool (`refs/eka/atoms/`) are listed too,
/// with format `eka/pre1`, and numbered from eka's identity ref (`refs/ekala/init`); when it
/// and `refs/atoms/_root` name different commits, a warning says so (in `--json`, under
/// `warnings`). The eka tool's first generation, published under this suite's own layout and told
/// apart by its metadata refs (`refs/atoms/<label>/_specs/<version>` and `_srcs`), is listed as
/// `eka/1 (unsupported)`: shown, never resolved or fetched; its metadata refs are not atoms.
/// Malformed atom refs are skipped with a warning (in `--json`, under `warnings`).
///
/// Exit status: 0 listed (even if empty), 1 the repository or remote could not be read,
/// 2 bad arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remote name, path, URL or address with aliases (`gh:org/repo`); `.` for this repository
    #[arg(value_name = "REPOSITORY", value_parser = crate::publish::parse_remote)]
    repository: Option<String>,
    /// Only atoms whose label matches one of these patterns (`*` and `?` are wildcards)
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Print the listing as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonVersion {
    version: String,
    commit: String,
}

#[derive(Serialize)]
struct JsonAtom<'a> {
    label: &'a str,
    id: Option<String>,
    format: &'static str,
    supported: bool,
    versions: Vec<JsonVersion>,
}

#[derive(Serialize)]
struct JsonListing<'a> {
    root: Option<String>,
    atoms: Vec<JsonAtom<'a>>,
    warnings: Vec<String>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let patterns: Vec<Pattern> = args.patterns.iter().map(|p| Pattern::new(p)).collect();
    let mut hint = None;
    let listing: Listing = match args.repository.as_deref() {
        None | Some(".") => {
            let store = GitStore::discover(&cwd)?;
            let listing = list::local(&store, &patterns)?;
            if listing.atoms.is_empty() && patterns.is_empty() {
                hint = Some(repository::no_atoms_hint(&store));
            }
            listing
        }
        Some(given) => {
            // Like `git ls-remote <url>`, listing a URL needs no repository: talk to it from an
            // empty scratch repository, removed afterwards.
            let store = match GitStore::discover(&cwd) {
                Ok(store) => store,
                Err(_) => GitStore::scratch()?,
            };
            let target = repository::resolve(&store, given, &cwd)?;
            list::remote(&store, &target, &patterns)?
        }
    };
    for bad in &listing.malformed {
        tracing::warn!("ignoring {bad}");
    }
    // Said once per listing, on stderr; `--json` carries them too.
    if !quiet {
        for warning in &listing.warnings {
            output::warning(&warning.to_string());
        }
    }
    let mut labels: Vec<&atom_lib::Label> = listing.atoms.iter().map(|a| &a.label).collect();
    labels.dedup();
    for (a, b) in atom_lib::label::confusable_pairs(labels) {
        tracing::warn!(
            "atom labels `{a}` and `{b}` look alike: they are easily mistaken for each other"
        );
    }
    if args.json {
        let json = JsonListing {
            root: listing.root.map(|r| r.to_string()),
            atoms: listing
                .atoms
                .iter()
                .map(|a| JsonAtom {
                    label: a.label.as_str(),
                    id: a.id.map(|id| id.to_string()),
                    format: a.unsupported.map_or(a.format.name(), |u| u.name()),
                    supported: a.unsupported.is_none(),
                    versions: a
                        .versions
                        .iter()
                        .map(|v| JsonVersion {
                            version: v.version.to_string(),
                            commit: v.commit.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            warnings: listing
                .warnings
                .iter()
                .map(ToString::to_string)
                .chain(
                    listing
                        .malformed
                        .iter()
                        .map(|bad| format!("ignoring {bad}")),
                )
                .collect(),
        };
        output::json(&json)?;
        return Ok(0);
    }
    if let Some(hint) = hint {
        output::note(quiet, &hint);
    }
    if listing.atoms.is_empty() {
        return Ok(0);
    }
    // Measured, then written a row at a time from the listing: no row is made first, and a
    // row allocates nothing (50,000 atoms are a monorepo's, not a limit).
    let format_of = |a: &list::ListedAtom| -> Cow<'static, str> {
        match a.unsupported {
            Some(generation) => format!("{generation} (unsupported)").into(),
            None => a.format.name().into(),
        }
    };
    let header = ["LABEL", "ID", "FORMAT", "VERSIONS"];
    let mut widths: Vec<usize> = header.iter().map(|h| output::width(h)).collect();
    let mut bytes = 0;
    for a in &listing.atoms {
        widths[0] = widths[0].max(output::width(a.label.as_str()));
        widths[1] = widths[1].max(if a.id.is_some() { ID_SHOWN } else { 1 });
        widths[2] = widths[2].max(output::width(&format_of(a)));
        bytes += a.label.as_str().len() + a.versions.len() * 8;
    }
    let capacity = bytes + listing.atoms.len() * (widths.iter().sum::<usize>() + 8);
    let mut table = output::TableWriter::new(widths, output::terminal_width(), capacity);
    table.row(&header);
    let mut id_text = [0u8; atom_lib::id::ENCODED_LEN];
    let mut versions = String::new();
    for a in &listing.atoms {
        versions.clear();
        for v in &a.versions {
            if !versions.is_empty() {
                versions.push(' ');
            }
            use std::fmt::Write as _;
            let _ = write!(versions, "{}", v.version);
        }
        let id = match a.id {
            Some(atom_id) => &atom_id.encode_into(&mut id_text)[..ID_SHOWN],
            None => "-",
        };
        table.row(&[a.label.as_str(), id, &format_of(a), &versions]);
    }
    output::stdout(&table.finish())?;
    Ok(0)
}
