//! The command line parses as documented.

use eka_run::cli::Command;

#[test]
fn the_clap_definition_is_consistent() {
    eka_run::cli::command().debug_assert();
}

#[test]
fn run_mode_takes_everything_after_the_program() {
    let cli =
        eka_run::cli::parse(["eka-run", "--store", "/s", "prog", "--help", "-v", "a b"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(
        cli.run.store.store.as_deref(),
        Some(std::path::Path::new("/s"))
    );
    assert_eq!(cli.run.command, ["prog", "--help", "-v", "a b"]);
    assert_eq!(cli.verbose, 0);
}

#[test]
fn double_dash_runs_a_program_named_like_a_subcommand() {
    let cli = eka_run::cli::parse(["eka-run", "--", "eval", "x"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(cli.run.command, ["eval", "x"]);
}

#[test]
fn eval_takes_an_atom_and_an_attribute_path() {
    let cli = eka_run::cli::parse(["eka-run", "eval", "--json", "./atom", "lib.greeting"]).unwrap();
    let Some(Command::Eval(args)) = cli.command else {
        panic!("expected eval");
    };
    assert_eq!(
        args.target.atom,
        eka_run::closure::Spec::Dir("./atom".into())
    );
    assert_eq!(args.target.attr.as_deref(), Some("lib.greeting"));
    assert!(args.json);
    // An atom URI, as `git clone atom::` takes it.
    let cli = eka_run::cli::parse(["eka-run", "plan", "gh:o/r::foo@^1", "lib"]).unwrap();
    let Some(Command::Plan(args)) = cli.command else {
        panic!("expected plan");
    };
    assert_eq!(
        args.target.atom,
        eka_run::closure::Spec::Uri("gh:o/r::foo@^1".into())
    );
}

#[test]
fn sandbox_takes_a_program_after_double_dash() {
    let cli =
        eka_run::cli::parse(["eka-run", "sandbox", "./atom", "--", "perl", "-e", "1"]).unwrap();
    let Some(Command::Sandbox(args)) = cli.command else {
        panic!("expected sandbox");
    };
    assert_eq!(args.command, ["perl", "-e", "1"]);
}

fn parse(args: &[&str]) -> Result<eka_run::cli::Cli, clap::Error> {
    eka_run::cli::parse(args)
}

#[test]
fn a_subcommands_options_work_before_it_too() {
    let after = parse(&[
        "eka-run",
        "eval",
        "--no-cache",
        "-v",
        "--store",
        "/s",
        "./atom",
        "x",
    ])
    .unwrap();
    let before = parse(&[
        "eka-run",
        "--no-cache",
        "-v",
        "--store",
        "/s",
        "eval",
        "./atom",
        "x",
    ])
    .unwrap();
    for cli in [after, before] {
        assert_eq!(cli.verbose, 1);
        let Some(Command::Eval(args)) = cli.command else {
            panic!("expected eval: {cli:?}");
        };
        assert!(args.target.no_cache);
        assert_eq!(args.target.attr.as_deref(), Some("x"));
        assert_eq!(
            args.sandbox.store.store.as_deref(),
            Some(std::path::Path::new("/s"))
        );
    }
    // Both positions at once, and `--opt=value`.
    let cli = parse(&[
        "eka-run",
        "--config={\"a\":1}",
        "-q",
        "build",
        "--out-link",
        "r",
        "./atom",
    ])
    .unwrap();
    assert!(cli.quiet);
    let Some(Command::Build(args)) = cli.command else {
        panic!("expected build");
    };
    assert_eq!(args.target.config, "{\"a\":1}");
    assert_eq!(args.out_link.as_deref(), Some(std::path::Path::new("r")));
}

#[test]
fn before_a_program_nothing_moves() {
    // An option's value is never a subcommand: `--store eval` is the store `eval`.
    let cli = parse(&["eka-run", "--store", "eval", "prog", "eval"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(
        cli.run.store.store.as_deref(),
        Some(std::path::Path::new("eval"))
    );
    assert_eq!(cli.run.command, ["prog", "eval"]);
    // After `--`, a program named like a subcommand.
    let cli = parse(&["eka-run", "-v", "--", "eval", "x"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(cli.run.command, ["eval", "x"]);
    // An option of the subcommands is not one of run mode's.
    let err = parse(&["eka-run", "--no-cache", "prog"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
    // Nor of a subcommand that does not have it.
    let err = parse(&["eka-run", "--json", "sandbox", "./atom", "--", "true"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
}

#[test]
fn a_bad_config_is_said_once_and_a_closed_stderr_is_a_quiet_exit() {
    use atom_tests::sandbox::{eka_run, output, stderr, Sandbox};
    let s = Sandbox::new();
    s.write("atom/mod.nix", "{ X = 1; }\n", 0o644);
    let run = |stderr_closed: bool| {
        let mut cmd = std::process::Command::new(eka_run());
        cmd.args(["eval", "--config", "{bad", "atom", "x"])
            .current_dir(s.path(""));
        if stderr_closed {
            // The reading end is gone before eka-run writes: its write fails with EPIPE.
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            cmd.stderr(writer);
        }
        output(&mut cmd)
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr(&out),
        "eka-run: invalid --config `{bad`: key must be a string at line 1 column 2\n"
    );
    let out = run(true);
    assert_eq!(out.status.code(), Some(125), "not a panic (101)");
}

#[test]
fn without_arguments_the_help_lists_the_subcommands_and_a_near_miss_names_one() {
    use atom_tests::sandbox::{eka_run, output, stderr, Sandbox};
    let s = Sandbox::new();
    let out = output(std::process::Command::new(eka_run()).current_dir(s.path("")));
    assert_eq!(out.status.code(), Some(125));
    let help = stderr(&out);
    for sub in ["eval", "build", "run", "plan", "sandbox"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(sub)),
            "{sub} is not listed:\n{help}"
        );
    }
    // `evl` is no program: eka-run says which subcommand it looks like.
    let out = output(
        std::process::Command::new(eka_run())
            .args(["evl", "./atom"])
            .current_dir(s.path("")),
    );
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr(&out),
        "eka-run: cannot run `evl` (no such program; did you mean the subcommand `eka-run \
         eval`?): No such file or directory (os error 2)\n"
    );
    // A program that is found runs, whatever its name looks like.
    let out = output(
        std::process::Command::new(eka_run())
            .args(["true"])
            .current_dir(s.path("")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
