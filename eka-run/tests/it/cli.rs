//! The command line parses as documented.

use clap::Parser as _;
use eka_run::cli::{Cli, Command};

#[test]
fn the_clap_definition_is_consistent() {
    eka_run::cli::command().debug_assert();
}

#[test]
fn run_mode_takes_everything_after_the_program() {
    let cli =
        Cli::try_parse_from(["eka-run", "--store", "/s", "prog", "--help", "-v", "a b"]).unwrap();
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
    let cli = Cli::try_parse_from(["eka-run", "--", "eval", "x"]).unwrap();
    assert!(cli.command.is_none());
    assert_eq!(cli.run.command, ["eval", "x"]);
}

#[test]
fn eval_takes_an_atom_and_an_attribute_path() {
    let cli = Cli::try_parse_from(["eka-run", "eval", "--json", "./atom", "lib.greeting"]).unwrap();
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
    let cli = Cli::try_parse_from(["eka-run", "plan", "gh:o/r::foo@^1", "lib"]).unwrap();
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
        Cli::try_parse_from(["eka-run", "sandbox", "./atom", "--", "perl", "-e", "1"]).unwrap();
    let Some(Command::Sandbox(args)) = cli.command else {
        panic!("expected sandbox");
    };
    assert_eq!(args.command, ["perl", "-e", "1"]);
}
