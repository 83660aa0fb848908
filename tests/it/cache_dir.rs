//! The per-user cache never lives where another local user can write (docs/trust.md, "Local
//! users"): no temporary directory when `HOME` and `XDG_CACHE_HOME` are missing, and a cache
//! directory that is not the user's own and private is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atom_tests::{Run, TestEnv};

/// A bare repository `srv/remote.git` with the published atom `foo` 0.1.0; its path.
fn published(env: &TestEnv) -> PathBuf {
    let remote = env.init_bare("srv/remote.git");
    let src = env.init("src");
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.write(&src, "README", "root\n");
    env.commit_all(&src, "root");
    env.atom(&src, "pkgs/foo", "foo", "0.1.0");
    env.commit_all(&src, "foo 0.1.0");
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    env.git(&src, ["atom", "publish"]).success();
    remote
}

/// `git atom show <remote>::foo` from an empty directory (it fetches into the cache), with
/// `vars` set (`None` removes one) and `TMPDIR` pointing to the test's `tmp`.
fn show(env: &TestEnv, remote: &Path, vars: &[(&str, Option<&Path>)]) -> Run {
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(env.path("tmp")).unwrap();
    let mut cmd = env.command(&outside, "git");
    cmd.args(["atom", "show", &format!("{}::foo", remote.display())])
        .env("TMPDIR", env.path("tmp"));
    for (key, value) in vars {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd.output().expect("run git atom show");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn without_home_or_xdg_cache_home_the_cache_is_an_error_not_the_temporary_directory() {
    let env = TestEnv::new();
    let remote = published(&env);
    // The control: with HOME, the atom is shown and the cache is made in HOME, private.
    let shown = show(&env, &remote, &[]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(shown.stdout.starts_with("foo 0.1.0\n"), "{}", shown.stdout);
    let cache = env.home().join(".cache/atom");
    assert!(cache.join("atoms.git").is_dir());
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert_eq!(entries(&env.path("tmp")), Vec::<String>::new());

    // `env -i`: neither is set; then only relative ones (ignored, as XDG says).
    let relative = Path::new("relative");
    for vars in [
        [("HOME", None), ("XDG_CACHE_HOME", None)],
        [("HOME", Some(relative)), ("XDG_CACHE_HOME", Some(relative))],
    ] {
        let refused = show(&env, &remote, &vars);
        assert_eq!(refused.code, 1, "{refused:?}");
        assert_eq!(refused.stdout, "");
        assert!(
            refused.stderr.ends_with(
                "cannot find a cache directory: set HOME or XDG_CACHE_HOME to an absolute path\n"
            ),
            "{}",
            refused.stderr
        );
        // Nothing was made in the temporary directory, nor relative to the working directory.
        assert_eq!(entries(&env.path("tmp")), Vec::<String>::new());
        assert_eq!(entries(&env.path("outside")), Vec::<String>::new());
    }
}

#[test]
fn a_cache_directory_others_can_write_is_refused_and_left_untouched() {
    let env = TestEnv::new();
    let remote = published(&env);
    let shared = env.path("shared");
    let planted = shared.join("atom");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let vars = [("XDG_CACHE_HOME", Some(shared.as_path()))];
    let refused = show(&env, &remote, &vars);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.ends_with(&format!(
            "refusing the cache directory `{}`: group or other users can write it (mode 1777); run `chmod go-w` on it\n",
            planted.display()
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(entries(&planted), Vec::<String>::new());
    // The control: the same directory made private is used.
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o700)).unwrap();
    let shown = show(&env, &remote, &vars);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(planted.join("atoms.git").is_dir());
}
