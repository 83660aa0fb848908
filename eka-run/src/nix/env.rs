//! The evaluator's environment and Nix settings, which eka-run owns.
//!
//! The evaluator's environment is rebuilt from scratch: eka-run's own variables, plus a short
//! allow-list of locale variables from the caller. Everything else, `NIX_CONFIG`, `NIX_PATH`,
//! `NIX_REMOTE`, `LD_*` and any secret included, is dropped. Nix reads its settings only from a
//! `nix.conf` eka-run writes ([`nix_conf`]).

use std::ffi::OsString;
use std::path::Path;

/// The caller's variables the evaluator may see (they only change how text is printed).
pub const ALLOWED: &[&str] = &[
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_COLLATE",
    "TZ",
    "NO_COLOR",
];

/// Where, inside the sandbox, the evaluator's private directories are.
#[derive(Debug, Clone, Copy)]
pub struct Paths<'a> {
    /// The private, writable temporary directory.
    pub tmp: &'a Path,
    /// The directory holding eka-run's `nix.conf`.
    pub nix_conf_dir: &'a Path,
    /// The directory holding the Nix programs.
    pub nix_bin: &'a Path,
}

/// The evaluator's complete environment.
pub fn evaluator(
    caller: impl IntoIterator<Item = (OsString, OsString)>,
    paths: Paths<'_>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = caller
        .into_iter()
        .filter(|(k, _)| k.to_str().is_some_and(|k| ALLOWED.contains(&k)))
        .collect();
    let home = paths.tmp.join("home");
    let mut path = OsString::from(paths.nix_bin);
    path.push(":/usr/bin:/bin");
    let ours: [(&str, OsString); 12] = [
        ("PATH", path),
        // Nix wants a user name; the sandbox's /etc/passwd calls the user `eka`.
        ("USER", "eka".into()),
        ("LOGNAME", "eka".into()),
        ("HOME", home.clone().into()),
        ("TMPDIR", paths.tmp.into()),
        ("NIX_CONF_DIR", paths.nix_conf_dir.into()),
        (
            "NIX_USER_CONF_FILES",
            paths.nix_conf_dir.join("nix.conf").into(),
        ),
        ("XDG_CONFIG_HOME", home.join(".config").into()),
        ("XDG_CONFIG_DIRS", paths.nix_conf_dir.join("xdg").into()),
        ("XDG_CACHE_HOME", home.join(".cache").into()),
        ("XDG_DATA_HOME", home.join(".local/share").into()),
        ("XDG_STATE_HOME", home.join(".local/state").into()),
    ];
    env.extend(ours.into_iter().map(|(k, v)| (k.into(), v)));
    env
}

/// eka-run's `nix.conf`: evaluation only, no unsafe native code, no search path, no network
/// fetchers, no builds. `store` is the Nix store URL to use.
pub fn nix_conf(store: &str) -> String {
    format!(
        "# Written by eka-run for one evaluation: the caller's NIX_CONFIG, nix.conf files and\n\
         # NIX_PATH are not read.\n\
         store = {store}\n\
         allow-unsafe-native-code-during-evaluation = false\n\
         nix-path =\n\
         substituters =\n\
         trusted-substituters =\n\
         allowed-uris =\n\
         plugin-files =\n\
         experimental-features =\n\
         build-users-group =\n\
         sandbox = false\n\
         max-jobs = 0\n\
         builders =\n\
         connect-timeout = 1\n\
         download-attempts = 1\n\
         tarball-ttl = 0\n\
         show-trace = false\n"
    )
}

/// Where run mode's `nix.conf` appears inside the namespace: on the new root's own tmpfs, so
/// it exists nowhere on the host. Run mode points `NIX_CONF_DIR` here.
pub const RUN_NIX_CONF_DIR: &str = "/nix/etc/nix";

/// Run mode's `nix.conf`: what makes Nix inside work as a single-user install on the user's
/// store, for root and for anyone else. `include` is the caller's own `NIX_CONF_DIR`, whose
/// `nix.conf` is read after these settings and so overrides them (as the user's
/// `nix.conf` files and `NIX_CONFIG` do, which Nix reads after this file anyway).
pub fn run_nix_conf(include: Option<&Path>) -> String {
    let mut conf = String::from(
        "# Written by eka-run: Nix in this namespace is a single-user install on your store.\n\
         # Override any of it in $NIX_CONF_DIR/nix.conf (included below when you set\n\
         # NIX_CONF_DIR), in ~/.config/nix/nix.conf (or NIX_USER_CONF_FILES), or in NIX_CONFIG.\n\
         # The host's /etc/nix/nix.conf describes the host's store and is not read.\n\
         #\n\
         # No nixbld group exists here: builds run as you (as root too).\n\
         build-users-group =\n\
         # Nix's build sandbox works unprivileged: it nests its own user namespace in eka-run's.\n\
         sandbox = true\n\
         # Your store is not the host's: no binary cache unless you configure one.\n\
         substituters =\n",
    );
    if let Some(dir) = include.filter(|d| *d != Path::new(RUN_NIX_CONF_DIR)) {
        conf.push_str(&format!("!include {}\n", dir.join("nix.conf").display()));
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_everything_but_the_allow_list() {
        let caller = [
            (
                "NIX_CONFIG",
                "allow-unsafe-native-code-during-evaluation = true",
            ),
            ("NIX_PATH", "nixpkgs=/host/nixpkgs"),
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("SECRET", "hunter2"),
            ("LANG", "C.UTF-8"),
            ("PATH", "/host/bin"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = evaluator(
            caller,
            Paths {
                tmp: Path::new("/tmp"),
                nix_conf_dir: Path::new("/etc/nix"),
                nix_bin: Path::new("/usr/bin"),
            },
        );
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        for gone in ["NIX_CONFIG", "NIX_PATH", "LD_PRELOAD", "SECRET"] {
            assert_eq!(get(gone), None, "{gone} must not reach the evaluator");
        }
        assert_eq!(get("LANG"), Some("C.UTF-8".into()));
        assert_eq!(get("PATH"), Some("/usr/bin:/usr/bin:/bin".into()));
        assert_eq!(get("NIX_CONF_DIR"), Some("/etc/nix".into()));
        assert_eq!(get("HOME"), Some("/tmp/home".into()));
    }

    #[test]
    fn run_mode_nix_conf_includes_the_callers_last() {
        let conf = run_nix_conf(Some(Path::new("/home/u/nix")));
        assert!(conf.contains("\nbuild-users-group =\n"));
        assert!(conf.contains("\nsubstituters =\n"));
        assert!(
            conf.ends_with("\n!include /home/u/nix/nix.conf\n"),
            "{conf}"
        );
        assert!(!run_nix_conf(None).contains("!include"));
        // A nested eka-run does not include its own file.
        assert!(!run_nix_conf(Some(Path::new(RUN_NIX_CONF_DIR))).contains("!include"));
    }

    #[test]
    fn nix_conf_disables_unsafe_settings() {
        let conf = nix_conf("local");
        assert!(conf.contains("allow-unsafe-native-code-during-evaluation = false\n"));
        assert!(conf.contains("\nnix-path =\n"));
        assert!(conf.contains("\nstore = local\n"));
    }
}
