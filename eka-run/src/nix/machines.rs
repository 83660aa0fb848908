//! Which systems Nix can build for, as `nix-store --realise` in run mode sees its settings:
//! this machine's `system` and `extra-platforms` (when `max-jobs` is not 0), and the systems of
//! each machine in Nix's own `builders` setting, read the way Nix reads it (Nix 2.8's
//! `parseMachines` / `getMachines`):
//!
//! - the value is split into lines at newlines and `;`; `#` starts a comment; blank lines are
//!   ignored;
//! - a line `@<file>` is replaced by the lines of that file (a file that does not exist adds
//!   none, as in Nix; files included from files are followed too, at most [`MAX_DEPTH`] deep);
//! - a line is whitespace-separated fields: the store URI, then the systems (comma-separated;
//!   absent or `-`: this machine's `system`), then fields eka-run does not read (key, jobs,
//!   speed, features, host key).

use std::path::Path;

/// How deep `@file` includes are followed.
pub const MAX_DEPTH: usize = 8;

/// The most bytes of a machines file read.
pub const MAX_FILE: u64 = 1 << 20;

/// One machine of the `builders` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Its store URI, e.g. `ssh://builder@host` or `ssh-ng://host`.
    pub uri: String,
    /// The systems it builds for.
    pub systems: Vec<String>,
}

/// What Nix can build, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// This machine's `system`.
    pub system: String,
    /// Its `extra-platforms`.
    pub extra_platforms: Vec<String>,
    /// Whether it builds at all (`max-jobs` is not 0).
    pub builds_locally: bool,
    /// The machines of `builders`.
    pub builders: Vec<Machine>,
}

/// Where a derivation for one system gets built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// On this machine.
    Local,
    /// On these builders (Nix picks one).
    Builders(Vec<String>),
}

/// Why Nix's settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `nix show-config --json` printed something else than expected.
    #[error("cannot read Nix's settings: `nix show-config --json` has no {what}")]
    Settings {
        /// What is missing.
        what: &'static str,
    },
    /// Not JSON.
    #[error("cannot read Nix's settings: `nix show-config --json` printed no JSON")]
    Json(#[source] serde_json::Error),
}

impl Capabilities {
    /// From the output of `nix show-config --json`; `@file` lines are read from the
    /// filesystem.
    pub fn from_show_config(json: &[u8]) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_slice(json).map_err(Error::Json)?;
        let setting = |name: &str| value.get(name).and_then(|s| s.get("value"));
        let system = setting("system")
            .and_then(|v| v.as_str())
            .ok_or(Error::Settings { what: "`system`" })?
            .to_owned();
        let extra_platforms = setting("extra-platforms")
            .and_then(|v| v.as_array())
            .ok_or(Error::Settings {
                what: "`extra-platforms`",
            })?
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
        let builds_locally = setting("max-jobs").and_then(serde_json::Value::as_u64) != Some(0);
        let builders = setting("builders")
            .and_then(|v| v.as_str())
            .ok_or(Error::Settings { what: "`builders`" })?;
        let builders = parse_builders(builders, &system, &|p| read_bounded(p));
        Ok(Capabilities {
            system,
            extra_platforms,
            builds_locally,
            builders,
        })
    }

    /// Where a derivation for `system` is built, or `None` when nothing here can build it.
    pub fn place(&self, system: &str) -> Option<Where> {
        let local = self.system == system || self.extra_platforms.iter().any(|p| p == system);
        if local && self.builds_locally {
            return Some(Where::Local);
        }
        let remote: Vec<String> = self
            .builders
            .iter()
            .filter(|m| m.systems.iter().any(|s| s == system))
            .map(|m| m.uri.clone())
            .collect();
        (!remote.is_empty()).then_some(Where::Builders(remote))
    }

    /// Why nothing here builds for `system`: ``aarch64-linux: no builder for this system (this
    /// machine: x86_64-linux; configured builders: none)``.
    pub fn no_builder(&self, system: &str) -> String {
        let mut machine = self.system.clone();
        if !self.extra_platforms.is_empty() {
            machine.push_str(&format!(" and {}", self.extra_platforms.join(", ")));
        }
        if !self.builds_locally {
            machine.push_str(", max-jobs 0");
        }
        let builders = if self.builders.is_empty() {
            "none".to_owned()
        } else {
            let each: Vec<String> = self
                .builders
                .iter()
                .map(|m| format!("{} ({})", m.uri, m.systems.join(", ")))
                .collect();
            each.join(", ")
        };
        format!(
            "{system}: no builder for this system (this machine: {machine}; configured builders: \
             {builders})"
        )
    }
}

/// A machines file, at most [`MAX_FILE`] bytes; `None` when it cannot be read.
fn read_bounded(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_FILE).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The machines of a `builders` value, `@file` lines read with `read` (relative to nothing:
/// Nix takes the path as it is).
pub fn parse_builders(
    value: &str,
    system: &str,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<Machine> {
    let mut machines = Vec::new();
    collect(value, system, read, 0, &mut machines);
    machines
}

fn collect(
    value: &str,
    system: &str,
    read: &dyn Fn(&Path) -> Option<String>,
    depth: usize,
    machines: &mut Vec<Machine>,
) {
    for line in value.split(['\n', ';']) {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(file) = line.strip_prefix('@') {
            if depth < MAX_DEPTH {
                if let Some(text) = read(Path::new(file.trim())) {
                    collect(&text, system, read, depth + 1, machines);
                }
            }
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(uri) = fields.next() else { continue };
        let systems = match fields.next() {
            None | Some("-") => vec![system.to_owned()],
            Some(list) => list.split(',').map(str::to_owned).collect(),
        };
        machines.push(Machine {
            uri: uri.to_owned(),
            systems,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(path: &Path) -> Option<String> {
        match path.to_str()? {
            "/etc/nix/machines" => Some("ssh://a x86_64-linux,aarch64-linux\n@/more\n".into()),
            "/more" => Some("# a comment\nssh-ng://b - /key 4\n".into()),
            "/loop" => Some("@/loop\nssh://c riscv64-linux".into()),
            _ => None,
        }
    }

    #[test]
    fn builders_are_read_as_nix_reads_them() {
        let machines = parse_builders(
            "ssh://x aarch64-linux; @/etc/nix/machines\n@/missing\n\nssh://y",
            "x86_64-linux",
            &files,
        );
        let got: Vec<(&str, Vec<&str>)> = machines
            .iter()
            .map(|m| {
                (
                    m.uri.as_str(),
                    m.systems.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ssh://x", vec!["aarch64-linux"]),
                ("ssh://a", vec!["x86_64-linux", "aarch64-linux"]),
                ("ssh-ng://b", vec!["x86_64-linux"]),
                ("ssh://y", vec!["x86_64-linux"]),
            ]
        );
        // An include of itself stops after MAX_DEPTH levels.
        let looped = parse_builders("@/loop", "x86_64-linux", &files);
        assert_eq!(looped.len(), MAX_DEPTH);
    }

    #[test]
    fn a_system_is_built_here_on_a_builder_or_nowhere() {
        let json = br#"{"system":{"value":"x86_64-linux"},"extra-platforms":{"value":[]},
            "max-jobs":{"value":1},"builders":{"value":"ssh://b aarch64-linux"}}"#;
        let caps = Capabilities::from_show_config(json).unwrap();
        assert_eq!(caps.place("x86_64-linux"), Some(Where::Local));
        assert_eq!(
            caps.place("aarch64-linux"),
            Some(Where::Builders(vec!["ssh://b".into()]))
        );
        assert_eq!(caps.place("riscv64-linux"), None);
        assert_eq!(
            caps.no_builder("riscv64-linux"),
            "riscv64-linux: no builder for this system (this machine: x86_64-linux; configured \
             builders: ssh://b (aarch64-linux))"
        );
        let none = Capabilities {
            builders: Vec::new(),
            builds_locally: false,
            ..caps
        };
        assert_eq!(none.place("x86_64-linux"), None);
        assert_eq!(
            none.no_builder("aarch64-linux"),
            "aarch64-linux: no builder for this system (this machine: x86_64-linux, max-jobs 0; \
             configured builders: none)"
        );
    }
}
