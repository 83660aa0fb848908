//! The command line: `eka-run [--store <dir>] [--] <program> [args...]`, `eka-run eval`,
//! `build`, `run`, `plan` and `sandbox`.

use std::ffi::OsString;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::exit::FAILURE;
use crate::{backend, cmd, run};

/// Run programs against a user-owned /nix/store, evaluate atoms in a sandbox that sees nothing
/// but the atom, and build and run their derivations in that store.
///
/// Without a subcommand, eka-run runs PROGRAM in a user and mount namespace where the store
/// directory appears at /nix/store and its state directory at /nix/var/nix; the rest of the
/// filesystem is the host's, the host's own /nix is hidden. eka-run replaces itself with the
/// program: exit status and signals pass through. As a script interpreter
/// (`#!/usr/bin/env eka-run`), the script's `#! eka-run [options] <interpreter> [args...]`
/// lines name the interpreter to run it with, or `#! eka-run run <atom> [attr] [options]` an
/// atom (a directory relative to the script, or a URI) whose main program, built as `eka-run
/// run` builds it, runs the script.
///
/// Nix inside works as a single-user install on that store, as root and as anyone else:
/// eka-run points NIX_CONF_DIR at a nix.conf of its own (build-users-group empty, Nix's build
/// sandbox on, no substituters) that ends by including the caller's $NIX_CONF_DIR/nix.conf;
/// the user's nix.conf files and NIX_CONFIG override it too. A store the user cannot write
/// runs its programs all the same.
///
/// `eka-run eval`, `build`, `run` and `plan` evaluate an atom (never the same evaluation twice:
/// repeated ones come from $XDG_CACHE_HOME/atom/eval) and build its derivations in the user's
/// store. A program named like a subcommand runs after `--`: `eka-run -- run`. A subcommand's
/// options may also come before it: `eka-run --no-cache eval ./atom` is `eka-run eval --no-cache
/// ./atom`.
///
/// Exit status: the program's own; 125 when eka-run itself fails, 126 when the program cannot
/// be executed, 127 when it is not found.
#[derive(Debug, Parser)]
#[command(
    name = "eka-run",
    version,
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    subcommand_negates_reqs = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: run::Args,
    /// More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// eka-run's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate an atom with atom-nix in a sandbox that sees nothing but the atom
    ///
    /// Runs `nix-instantiate --eval --strict` on the atom's public API (or ATTRIBUTE-PATH of
    /// it) in new user, mount, network, PID and IPC namespaces with Landlock rules. Before the
    /// sandbox starts, on the host: an atom URI is resolved and fetched into the atom cache (an
    /// atom of the eka tool, format eka/pre1, too, when it has no atom.lock), the atom's
    /// atom.lock is checked against its atom.toml (missing or stale: run `git atom
    /// resolve`), and every locked dependency is exported from the atom cache (fetched from the
    /// lock's URL when the cache lacks it) into the sandbox's private directory, to be the
    /// atom's `from.<name>`. Every atom fetched is checked before it enters the cache
    /// (structure, source, the locked tree), every lock entry against what it names, and with
    /// `atom.requireSignature` true in the user's git configuration each atom used, cached or
    /// not, must carry a signature by a trusted key that is not revoked (exit 125 otherwise,
    /// naming the atom). The evaluator reads only the atom, its locked dependencies, the
    /// store and the Nix installation, writes only a private temporary
    /// directory and the store, has no network, a rebuilt environment (never the caller's
    /// NIX_CONFIG, NIX_PATH or LD_*), Nix settings owned by eka-run, no inherited descriptors,
    /// its own session and no_new_privs. Exit status: nix-instantiate's; 125 when the sandbox
    /// cannot be set up.
    Eval(cmd::eval::Args),
    /// Build an atom's derivation in the user's store and print its output paths
    ///
    /// Evaluates ATTRIBUTE-PATH of the atom (default: the API if it is a derivation, else its
    /// `default`) in the evaluation sandbox to a derivation, then realises it with `nix-store
    /// --realise` in run mode: the user's store at /nix/store, unprivileged, eka-run's Nix
    /// configuration (no substituters unless the user configured some), Nix's build sandbox.
    /// Prints the output paths, one a line, by output name. A repeated evaluation comes from
    /// the evaluation cache. Exit status: 0 built; nix-instantiate's or nix-store's when they
    /// fail; 125 when eka-run itself fails.
    ///
    /// With --matrix, every entry of the atom's static build matrix that this machine or Nix's
    /// `builders` can build, the others skipped with the reason (see --matrix). Exit status: 0
    /// every entry built or skipped; 1 an entry failed; 125 when eka-run itself fails.
    Build(cmd::build::Args),
    /// Build an atom's derivation, then run its main program
    ///
    /// Builds as `eka-run build` does, then executes the output's bin/<main program> in run
    /// mode (the user's store at /nix/store) with ARGS, replacing eka-run. The main program is
    /// chosen as `nix run` chooses it: meta.mainProgram, else pname, else the name without its
    /// version. Exit status: the program's; nix-instantiate's or nix-store's when they fail;
    /// 125 when eka-run itself fails, 126 when the program cannot be executed, 127 when it is
    /// not found.
    Run(cmd::run::Args),
    /// Say what `build` would build, without building
    ///
    /// Prints the parts of the evaluation's identity (atom: the content digest of the atom
    /// directory as it is on disk, or the atom commit of an atom URI; lock: BLAKE3 of atom.lock,
    /// which pins every dependency's commit, or 64 zeros without one; config: BLAKE3 of the
    /// canonical JSON of --config without `system`, with the variant selection as `variant`
    /// when the atom declares options; system; attribute), the identity (BLAKE3 of
    /// the canonical JSON of those five), and the derivation with its outputs. Evaluates (or
    /// reads the evaluation cache), which writes the derivation to the store; builds nothing.
    Plan(cmd::plan::Args),
    /// Run a program in the evaluation sandbox instead of nix-instantiate
    ///
    /// For inspecting what an evaluator can reach: PROGRAM runs exactly as `eka-run eval` runs
    /// nix-instantiate, with ATOM-DIR as the atom. PROGRAM must be visible inside (e.g. under
    /// /usr or in the atom).
    Sandbox(cmd::sandbox::Args),
}

/// The clap definition (for the man page).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parse the command line (the program's name first), with a subcommand's options allowed before
/// the subcommand too (see `options_after_subcommand`).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let cmd = command();
    let args = args.into_iter().map(Into::into).collect();
    Cli::try_parse_from(options_after_subcommand(args, &cmd))
}

/// `eka-run [options] <subcommand> [rest]` as `eka-run <subcommand> [options] [rest]`, so that
/// every option of a subcommand works before it as well as after it (`eka-run -v --no-cache eval
/// ./atom`). Only options come before the subcommand's name: the first word that is not an
/// option (or an option's value) decides. A subcommand's name there moves to the front; anything
/// else is run mode's program and nothing moves, and neither does anything after `--` (`eka-run
/// --store s -- eval` runs a program named `eval`). Whether an option takes a value (so that its
/// value is not taken for a subcommand: `--store eval`) is read from the clap definitions of
/// eka-run and of every subcommand.
fn options_after_subcommand(args: Vec<OsString>, cmd: &clap::Command) -> Vec<OsString> {
    let takes_value = |word: &str| -> bool {
        let all = std::iter::once(cmd).chain(cmd.get_subcommands());
        let args: Vec<&clap::Arg> = all.flat_map(clap::Command::get_arguments).collect();
        if let Some(long) = word.strip_prefix("--") {
            !long.contains('=')
                && args
                    .iter()
                    .any(|a| a.get_long() == Some(long) && a.get_action().takes_values())
        } else {
            // A cluster of short options (`-vq`): the last one may take the next word.
            let last = word.chars().last();
            word.len() == 2
                && args
                    .iter()
                    .any(|a| a.get_short() == last && a.get_action().takes_values())
        }
    };
    let mut i = 1;
    while let Some(word) = args.get(i).and_then(|w| w.to_str()) {
        if word == "--" || !word.starts_with('-') || word == "-" {
            break;
        }
        i += if takes_value(word) { 2 } else { 1 };
    }
    let is_subcommand = args
        .get(i)
        .and_then(|w| w.to_str())
        .is_some_and(|w| cmd.find_subcommand(w).is_some());
    if i <= 1 || i >= args.len() || !is_subcommand {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    out.push(args[0].clone());
    out.push(args[i].clone());
    out.extend_from_slice(&args[1..i]);
    out.extend_from_slice(&args[i + 1..]);
    out
}

/// Parse `args` and do what they say. Returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<u8> {
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() { FAILURE } else { 0 });
        }
    };
    init_logging(cli.verbose, cli.quiet);
    let result = match cli.command {
        None => {
            let invocation = run::invocation(cli.run, std::env::var_os("PATH").as_deref())?;
            match &invocation.atom {
                Some(script) => run_atom_script(script, invocation.clone()),
                None => match run::run(invocation) {
                    Ok(never) => match never {},
                    Err(mut e) => {
                        if let run::Error::Exec {
                            program,
                            source,
                            hint,
                        } = &mut e
                        {
                            *hint = subcommand_hint(program, source);
                        }
                        Err(e.into())
                    }
                },
            }
        }
        Some(Command::Eval(args)) => cmd::eval::run(&args),
        Some(Command::Build(args)) => cmd::build::run(&args),
        Some(Command::Run(args)) => cmd::run::run(&args),
        Some(Command::Plan(args)) => cmd::plan::run(&args),
        Some(Command::Sandbox(args)) => Ok(cmd::sandbox::run(&args)?),
    };
    match result {
        // nix-instantiate or nix-store said why on stderr: their status is the answer.
        Err(e) => match e.downcast_ref::<backend::Error>() {
            Some(backend::Error::Failed { status, .. }) => Ok(*status),
            _ => Err(e),
        },
        ok => ok,
    }
}

/// For a program not found whose name is close to a subcommand's (`eka-run evl`): the
/// subcommand it may have meant, and how to run a program of that name.
fn subcommand_hint(program: &std::ffi::OsStr, error: &std::io::Error) -> String {
    let name = program.to_str().filter(|n| !n.contains('/'));
    let (Some(name), std::io::ErrorKind::NotFound) = (name, error.kind()) else {
        return String::new();
    };
    let command = command();
    let names: Vec<&str> = command
        .get_subcommands()
        .map(clap::Command::get_name)
        .collect();
    match atom_lib::manifest::suggest(name, names.iter().copied()) {
        Some(sub) => format!(" (no such program; did you mean the subcommand `eka-run {sub}`?)"),
        None => String::new(),
    }
}

/// A script whose `#! eka-run run <atom> [attr] [options]` line names an atom: `eka-run run`
/// with those arguments, the script and its arguments, the script's store options applying.
fn run_atom_script(script: &std::path::Path, invocation: run::Invocation) -> anyhow::Result<u8> {
    let words = ["eka-run".into(), "run".into()]
        .into_iter()
        .chain(invocation.command);
    let refused = |message: String| run::Error::Directives {
        script: script.to_owned(),
        message,
    };
    let cli = Cli::try_parse_from(words)
        .map_err(|e| refused(e.render().to_string().trim().to_owned()))?;
    let Some(Command::Run(mut args)) = cli.command else {
        return Err(refused("`run` takes an atom and an attribute path".into()).into());
    };
    let store = &mut args.sandbox.store;
    store.store = store.store.take().or(invocation.store.store);
    store.state = store.state.take().or(invocation.store.state);
    cmd::run::run(&args)
}

/// The exit code for an error returned by [`run()`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(e) = err.downcast_ref::<run::Error>() {
        return e.exit_code();
    }
    err.downcast_ref::<backend::Error>()
        .map_or(FAILURE, backend::Error::exit_code)
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("EKA_RUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
