//! git's transport policy (`GIT_ALLOW_PROTOCOL`, `protocol.<name>.allow`, `protocol.allow`),
//! applied to the transport underneath an `atom::` URL before the helper connects to it.
//!
//! git applies the policy to the `atom` helper itself; the helper's own ref listing connects
//! without git, so it must apply the same rules to `file`, `git`, `http(s)` or `ssh` itself.
//! (The `git fetch` and `git push` it runs check again.)

use atom_lib::store::git::Config;

/// Whether `protocol` may be used, by git's rules, with the environment look-up passed in.
pub fn allowed(protocol: &str, config: &Config, env: impl Fn(&str) -> Option<String>) -> bool {
    let config = |key: &str| config.string(key);
    if let Some(list) = env("GIT_ALLOW_PROTOCOL") {
        return list.split(':').any(|p| p == protocol);
    }
    let setting = config(&format!("protocol.{protocol}.allow"))
        .or_else(|| config("protocol.allow"))
        .unwrap_or_else(|| {
            match protocol {
                "http" | "https" | "git" | "ssh" => "always",
                "ext" => "never",
                _ => "user",
            }
            .to_owned()
        });
    match setting.as_str() {
        "always" => true,
        "user" => env("GIT_PROTOCOL_FROM_USER")
            .is_none_or(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(protocol: &str, config: &[(&str, &str)], env: &[(&str, &str)]) -> bool {
        let lookup = |pairs: &[(&str, &str)], key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = Config::from_entries(config.iter().copied());
        allowed(protocol, &config, |k| lookup(env, k))
    }

    #[test]
    fn follows_git() {
        assert!(decide("https", &[], &[]));
        assert!(decide("file", &[], &[]));
        assert!(!decide("file", &[], &[("GIT_PROTOCOL_FROM_USER", "0")]));
        assert!(!decide("ext", &[], &[]));
        assert!(!decide("ssh", &[("protocol.ssh.allow", "never")], &[]));
        assert!(!decide("git", &[("protocol.allow", "never")], &[]));
        assert!(decide(
            "git",
            &[
                ("protocol.allow", "never"),
                ("protocol.git.allow", "always")
            ],
            &[]
        ));
        assert!(!decide("ssh", &[], &[("GIT_ALLOW_PROTOCOL", "file:https")]));
        assert!(decide(
            "https",
            &[],
            &[("GIT_ALLOW_PROTOCOL", "file:https")]
        ));
    }
}
