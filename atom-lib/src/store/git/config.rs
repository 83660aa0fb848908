//! git configuration as git itself sees it: system, global, repository, `include`s and the `-c`
//! settings git passes to the programs it runs (`GIT_CONFIG_PARAMETERS`). Read with one
//! `git config --list` per snapshot, so every reader agrees with git.

use super::{command, GitStore, StoreError};

/// A snapshot of every configuration entry, in the order git reports them (later wins).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `(key, value)`; the section and variable names of the key are lowercase, the subsection
    /// as written.
    entries: Vec<(String, String)>,
    /// The entries given on git's command line (`git -c key=value`), which git passes to the
    /// programs it runs; normalised like `entries`.
    command_line: Vec<(String, String)>,
}

/// Lowercases the section and variable name of `key`, keeping the subsection as it is.
fn normalise(key: &str) -> String {
    match (key.find('.'), key.rfind('.')) {
        (Some(first), Some(last)) if first != last => format!(
            "{}{}{}",
            key[..first].to_ascii_lowercase(),
            &key[first..last],
            key[last..].to_ascii_lowercase()
        ),
        _ => key.to_ascii_lowercase(),
    }
}

impl Config {
    /// A snapshot made of these entries (for tests and callers that have them already).
    pub fn from_entries<I, K, V>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        Config {
            entries: entries
                .into_iter()
                .map(|(k, v)| (normalise(k.as_ref()), v.into()))
                .collect(),
            command_line: Vec::new(),
        }
    }

    /// The entries given on git's command line (`git -c key=value`), in order.
    pub fn command_line(&self) -> impl Iterator<Item = (&str, &str)> {
        self.command_line
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The last value of `key`, as `git config --get` gives it.
    pub fn string(&self, key: &str) -> Option<String> {
        let key = normalise(key);
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        let key = normalise(key);
        self.entries
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The boolean value of `key` as git reads booleans; `None` when unset or not a boolean.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.string(key)?.to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        }
    }

    /// Every `(key, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `(rest of the key, value)` for every key starting with `prefix` (compared without case),
    /// in order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.entries.iter().filter_map(move |(k, v)| {
            k.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| (&k[prefix.len()..], v.as_str()))
        })
    }
}

impl GitStore {
    /// A snapshot of the configuration git sees in this repository, read once per store:
    /// configuration is the user's, not changed under a running command except by the command
    /// itself ([`GitStore::set_local_config`], which drops the snapshot).
    pub fn config(&self) -> Result<Config, StoreError> {
        if let Some(config) = self.config.borrow().as_ref() {
            return Ok(config.clone());
        }
        let config = self.read_config()?;
        *self.config.borrow_mut() = Some(config.clone());
        Ok(config)
    }

    fn read_config(&self) -> Result<Config, StoreError> {
        let out = self
            .git("config")
            .args(["-z", "--list", "--show-scope"])
            .output()?;
        // Exit status 1 with no output: there is no configuration at all.
        if !out.status.success() && !out.stdout.is_empty() {
            return Err(command::failure("config", &out));
        }
        let mut config = Config::default();
        for (scope, key, value) in command::parse_config_scoped_z(&out.stdout) {
            let entry = (
                normalise(&key),
                String::from_utf8_lossy(&value).into_owned(),
            );
            if scope == "command" {
                config.command_line.push(entry.clone());
            }
            config.entries.push(entry);
        }
        Ok(config)
    }

    /// Sets `key` to `value` in this repository's own configuration (`git config --local`).
    pub fn set_local_config(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let out = self
            .git("config")
            .args(["--local", "--", key, value])
            .output();
        self.config.borrow_mut().take();
        let out = out?;
        if !out.status.success() {
            return Err(command::failure("config", &out));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_like_git() {
        let config = Config::from_entries([
            ("Branch.Main.pushRemote", "a"),
            ("remote.pushdefault", "b"),
            ("branch.main.pushremote", "c"),
            ("atom.alias.gh", "github.com"),
            ("atom.alias.GL", "gitlab.com"),
        ]);
        assert_eq!(
            config.string("branch.Main.PushRemote").as_deref(),
            Some("a")
        );
        assert_eq!(
            config.string("branch.main.pushRemote").as_deref(),
            Some("c")
        );
        assert_eq!(config.string("REMOTE.pushDefault").as_deref(), Some("b"));
        assert_eq!(config.string("nothing.here"), None);
        let aliases: Vec<(&str, &str)> = config.with_prefix("atom.alias.").collect();
        assert_eq!(aliases, [("gh", "github.com"), ("gl", "gitlab.com")]);
    }

    /// The snapshot is read once per store; the store's own write drops it, so the next read
    /// sees the value it wrote.
    #[test]
    fn a_store_reads_its_configuration_once_and_again_after_its_own_write() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("r.git");
        let init = std::process::Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(init.success());
        let store = GitStore::open(&repo).unwrap();
        assert_eq!(store.config().unwrap().string("atom.timeout"), None);
        store.set_local_config("atom.timeout", "7").unwrap();
        assert_eq!(
            store.config().unwrap().string("atom.timeout").as_deref(),
            Some("7")
        );
        // Written behind its back, the value is not seen by this store (a snapshot), and is by
        // the next one.
        std::fs::write(
            repo.join("config"),
            std::fs::read_to_string(repo.join("config")).unwrap() + "[atom]\n\ttimeout = 9\n",
        )
        .unwrap();
        assert_eq!(
            store.config().unwrap().string("atom.timeout").as_deref(),
            Some("7")
        );
        let again = GitStore::open(&repo).unwrap();
        assert_eq!(
            again.config().unwrap().string("atom.timeout").as_deref(),
            Some("9")
        );
    }

    #[test]
    fn booleans() {
        let config = Config::from_entries([
            ("a.b", "yes"),
            ("a.c", "off"),
            ("a.d", "maybe"),
            ("a.e", ""),
        ]);
        assert_eq!(
            ["a.b", "a.c", "a.d", "a.e", "a.f"].map(|k| config.bool(k)),
            [Some(true), Some(false), None, Some(true), None]
        );
    }
}
