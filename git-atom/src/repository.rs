//! Naming a repository on the command line, the same way for every subcommand: `.` (this
//! repository), a configured remote's name, or an address as atom URIs write it (a path, a URL,
//! `gh:org/repo`, `srv:mono.git` with aliases from `atom.alias.*`; see docs/uri.md).

use std::path::Path;

use anyhow::bail;
use atom_lib::uri::{Address, Aliases};
use atom_lib::GitStore;

/// What a command should talk to: the name of a configured remote, or the expanded URL of an
/// address (a relative local path made absolute, so it means what it meant to the user wherever
/// git runs).
pub fn resolve(store: &GitStore, given: &str, cwd: &Path) -> anyhow::Result<String> {
    if store.is_configured_remote(given) {
        return Ok(given.to_owned());
    }
    // An existing directory is a path, as git reads it, whatever it looks like as an address
    // (`migr.git` has no `/` and would parse as a host).
    let path = cwd.join(given);
    if !given.contains("://") && !given.contains("::") && path.is_dir() {
        return Ok(path.to_string_lossy().into_owned());
    }
    let aliases = Aliases::from_config(&store.config()?)
        .map_err(|e| anyhow::anyhow!("in git config `atom.alias.*`: {e}"))?;
    let address = Address::parse(given, &aliases)?;
    let url = address.git_url();
    if !address.is_local() || url.contains("://") {
        return Ok(url);
    }
    let path = cwd.join(&url);
    // A bare word that is neither a remote nor a directory is most likely a mistyped remote.
    if url == given && !given.contains(['/', '\\']) && !given.starts_with('.') && !path.exists() {
        if store.is_scratch() {
            bail!(
                "no repository at `{given}`, and outside a git repository there are no remotes: \
                 give a path or a URL, or run this inside the repository whose remote it is"
            );
        }
        let remotes = store.remote_names();
        if remotes.is_empty() {
            bail!(
                "no remote `{given}` and no repository at that path: this repository has no \
                 remotes (add one with `git remote add <name> <url>`, or give a path or a URL)"
            );
        }
        let shown: Vec<String> = remotes.iter().map(|r| format!("`{r}`")).collect();
        bail!(
            "no remote `{given}` and no repository at that path: the configured remotes are {}",
            shown.join(", ")
        );
    }
    Ok(path.to_string_lossy().into_owned())
}

/// What to say when this repository has no atoms: where they might be, and how to get them.
pub fn no_atoms_hint(store: &GitStore) -> String {
    match store.default_push_remote().ok().flatten() {
        Some(remote) => format!(
            "no atoms in this repository: `git atom ls {remote}` lists the remote's atoms, \
             `git atom fetch {remote}` fetches them"
        ),
        None => "no atoms in this repository: publish some with `git atom publish`, or list a \
                 remote's with `git atom ls <remote>`"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_paths_become_absolute() {
        let dir = tempfile_dir();
        let store = atom_lib::GitStore::scratch().unwrap();
        let got = super::resolve(&store, "../r.git", &dir).unwrap();
        assert_eq!(got, dir.join("../r.git").to_string_lossy());
        let err = super::resolve(&store, "orgin", &dir).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no repository at `orgin`, and outside a git repository"),
            "{err}"
        );
    }

    fn tempfile_dir() -> std::path::PathBuf {
        std::env::temp_dir()
    }
}
