//! Publishing at the scale of a monorepo: no list as long as the atoms reaches a command line,
//! and the working tree is checked once, whatever the number of atoms.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use atom_tests::TestEnv;

/// The stack limit (KiB) the commands below run under: Linux then takes at most 128 KiB of
/// arguments and environment (a quarter of the stack, and never less than 128 KiB).
const SMALL_STACK_KIB: u32 = 512;

/// A repository of `n` atoms (`pkgs/p<i>`, each an `atom.toml` and a `mod.nix`) in one commit,
/// made with `git fast-import`, pushed to a bare `remote.git` as `origin`.
fn monorepo(env: &TestEnv, n: usize) -> (PathBuf, PathBuf) {
    let remote = env.init_bare("remote.git");
    let src = env.init("src");
    let mut stream = Vec::new();
    let mut files = Vec::new();
    for i in 0..n {
        for (name, body) in [
            (
                "atom.toml",
                format!("[atom]\nid = \"p{i}\"\nversion = \"0.1.0\"\n"),
            ),
            ("mod.nix", format!("{{ N = {i}; }}\n")),
        ] {
            let mark = files.len() + 1;
            write!(stream, "blob\nmark :{mark}\ndata {}\n{body}\n", body.len()).unwrap();
            files.push((format!("pkgs/p{i}/{name}"), mark));
        }
    }
    write!(
        stream,
        "commit refs/heads/main\nauthor T <t@example.com> 1704067200 +0000\n\
         committer T <t@example.com> 1704067200 +0000\ndata 5\natoms\n"
    )
    .unwrap();
    for (path, mark) in &files {
        writeln!(stream, "M 100644 :{mark} {path}").unwrap();
    }
    let mut child = env
        .command(&src, "git")
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success());
    env.git_ok(&src, &["reset", "-q", "--hard", "main"]);
    env.git_ok(&src, &["remote", "add", "origin", remote.to_str().unwrap()]);
    env.git_ok(&src, &["push", "-q", "origin", "main"]);
    (src, remote)
}

/// Runs `program args...` in `cwd` under a stack limit of [`SMALL_STACK_KIB`], so that the
/// system refuses to start any process given a long list on its command line.
fn run_small(
    env: &TestEnv,
    cwd: &Path,
    program: &str,
    args: &[String],
    extra_env: &[(&str, &Path)],
) -> atom_tests::Run {
    let mut cmd = env.command(cwd, "sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -s {SMALL_STACK_KIB} && exec {program} \"$@\""
        ))
        .arg("sh")
        .args(args);
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    atom_tests::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `git <subcommand>` processes a `GIT_TRACE` file shows started, with their arguments.
fn traced(trace: &Path, subcommand: &str) -> Vec<String> {
    let needle = format!("git {subcommand} ");
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("trace: built-in: ") && l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

#[test]
fn thousands_of_atoms_publish_in_one_push_under_a_small_argument_limit() {
    const N: usize = 2000;
    let env = TestEnv::new();
    let (src, remote) = monorepo(&env, N);
    let head = env.git_ok(&src, &["rev-parse", "HEAD"]);

    // The control: the refs of this publish on a command line, as a push would name them one
    // by one (a create-only lease and a refspec each), are more than the system takes here.
    let listed: Vec<String> = (0..N)
        .flat_map(|i| {
            let name = format!("refs/atoms/p{i}/0.1.0");
            [
                format!("--force-with-lease={name}:"),
                format!("{head}:{name}"),
            ]
        })
        .collect();
    let mut args = vec![
        "push".to_owned(),
        "--dry-run".to_owned(),
        "origin".to_owned(),
    ];
    args.extend(listed);
    let control = run_small(&env, &src, "git", &args, &[]);
    assert_ne!(control.code, 0, "{}", control.stderr);
    assert!(
        control.stderr.contains("Argument list too long"),
        "{}",
        control.stderr
    );
    // Without the limit, the same command line starts (the list itself is fine).
    let unlimited = env.git(&src, &args);
    assert!(
        !unlimited.stderr.contains("Argument list too long"),
        "{}",
        unlimited.stderr
    );

    // The publish, under the same limit: every atom, in one push.
    let trace = env.path("trace");
    let run = run_small(
        &env,
        &src,
        "git",
        &["atom".into(), "publish".into(), "--all".into(), "-q".into()],
        &[("GIT_TRACE", &trace)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let on_remote = env.refs(&remote, "refs/atoms/");
    assert_eq!(on_remote.len(), N + 1, "every atom and `_root`");
    assert!(on_remote
        .iter()
        .any(|r| r.starts_with("refs/atoms/p1999/0.1.0 ")));
    assert_eq!(
        env.refs(&src, "refs/atoms/"),
        on_remote,
        "the same refs here"
    );
    let pushes = traced(&trace, "push");
    assert_eq!(pushes.len(), 1, "{pushes:#?}");
    assert!(pushes[0].contains("--atomic"), "{}", pushes[0]);
    // Nothing the push staged stays behind.
    assert_eq!(env.git_ok(&src, &["for-each-ref", "refs/worktree/"]), "");
    let lines = env.git_ok(&src, &["for-each-ref", "--format=%(refname)"]);
    let own: Vec<&str> = lines
        .lines()
        .filter(|r| !r.starts_with("refs/remotes/"))
        .collect();
    assert_eq!(own.len(), N + 1 + 1, "atoms, `_root`, `main`");
    // The local refs are one rewrite of `packed-refs`, not a loose ref each, and git packs
    // and reads them as its own.
    let packed = std::fs::read_to_string(src.join(".git/packed-refs")).unwrap();
    assert_eq!(
        packed
            .lines()
            .filter(|l| l.contains(" refs/atoms/"))
            .count(),
        N + 1
    );
    assert!(!src.join(".git/refs/atoms/p0").exists());
    env.git_ok(&src, &["pack-refs", "--all"]);
    assert_eq!(env.refs(&src, "refs/atoms/"), on_remote);
}

#[test]
fn the_working_tree_is_checked_once_for_all_atoms() {
    const N: usize = 200;
    let env = TestEnv::new();
    let (src, remote) = monorepo(&env, N);
    let trace = env.path("trace");
    let publish = |trace: &Path| {
        let out = env
            .command(&src, "git")
            .args(["atom", "publish", "--all"])
            .env("GIT_TRACE", trace)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // A change inside one atom is found, and refused, by one `git status` of the whole tree
    // (no pathspec, so nothing per atom on its command line).
    env.write(&src, "pkgs/p123/mod.nix", "{ N = 0; }\n");
    env.write(&src, "pkgs/p7/new.nix", "{ }\n");
    let (code, stderr) = publish(&trace);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("pkgs/p123/mod.nix"), "{stderr}");
    assert!(stderr.contains("pkgs/p7/new.nix"), "{stderr}");
    let statuses = traced(&trace, "status");
    assert_eq!(statuses.len(), 1, "{statuses:#?}");
    assert!(!statuses[0].contains(" -- "), "{}", statuses[0]);
    assert!(env.refs(&remote, "refs/atoms/").is_empty());

    // A change outside every atom is not in the way; still one `git status`.
    env.git_ok(&src, &["checkout", "-q", "--", "pkgs"]);
    std::fs::remove_file(src.join("pkgs/p7/new.nix")).unwrap();
    env.write(&src, "notes.txt", "not an atom\n");
    let trace = env.path("trace2");
    let (code, stderr) = publish(&trace);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(traced(&trace, "status").len(), 1);
    assert_eq!(env.refs(&remote, "refs/atoms/").len(), N + 1);
}
