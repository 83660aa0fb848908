//! Eval mode: evaluate an atom with atom-nix through the real `nix-instantiate`, in a sandbox
//! that sees nothing but the atom.
//!
//! The evaluator runs in new user, mount, network, PID, IPC, UTS and cgroup namespaces, in a new
//! root holding only:
//!
//! | path | what | access |
//! |---|---|---|
//! | the atom's own path | the atom directory | read |
//! | `/usr`, `/bin`, `/lib*`, `/sbin` | the Nix installation and its libraries | read |
//! | `/etc` | eka-run's `nix.conf`, a one-user `passwd` and `group` | read |
//! | `/eka` | atom-nix and the entry expression | read |
//! | `/nix/store`, `/nix/var/nix` | the user's store | read, write |
//! | `/tmp` | a private directory, deleted afterwards | read, write |
//! | `/dev` | `null`, `zero`, `full`, `random`, `urandom` | read (`null`: write) |
//! | `/proc` | the sandbox's own processes | read |
//!
//! Landlock enforces the same list (and denies TCP bind/connect, abstract unix sockets and
//! signals outside). The evaluator gets a rebuilt environment ([`crate::env`]), stdin from
//! `/dev/null`, stdout and stderr through pipes eka-run copies, no other descriptor, a new
//! session and `no_new_privs`.

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

use crate::backend::{self, nix::NixEvaluator, Cached, Evaluator as _};
use crate::cache::Cache;
use crate::config::Config;
use crate::sandbox::{self, Enforcement, LandlockPolicy, Mode, Namespaces, NewRoot};
use crate::{atom_nix, closure, env, limits, store};

/// Arguments of `eka-run eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON instead of as a Nix value
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// What to evaluate, as `eval`, `build`, `run` and `plan` take it.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The atom: its directory (the one holding its top-level mod.nix), or an atom URI
    /// `<address>::<label>[@<version-requirement>]` as `git clone atom::` takes it (aliases from
    /// `git config atom.alias.*`), resolved to the highest matching version and fetched into the
    /// atom cache ($XDG_CACHE_HOME/atom/atoms.git). With an atom.toml that declares
    /// dependencies, its atom.lock must be current (`git atom resolve` makes it so): each locked
    /// atom is `from.<name>`, taken from the atom cache (fetched from the lock's URL if missing)
    #[arg(value_name = "ATOM", value_parser = closure::Spec::parse)]
    pub atom: closure::Spec,
    /// Attribute path in the atom's public API, e.g. `lib.greeting` [default: eval: all of it;
    /// build, run, plan: the API if it is a derivation, else its `default`]
    #[arg(value_name = "ATTRIBUTE-PATH")]
    pub attr: Option<String>,
    /// The atom's configuration, a JSON object passed to atom-nix as `config`; normalised to
    /// canonical JSON (RFC 8785), which is also what atom-nix gets
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub config: String,
    /// The system to evaluate for, passed as `config.system` [default: the configuration's
    /// `system`, else this machine's, e.g. x86_64-linux]
    #[arg(long, value_name = "SYSTEM")]
    pub system: Option<String>,
    /// Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and
    /// do not store it
    #[arg(long)]
    pub no_cache: bool,
    /// Show Nix's detailed trace on evaluation errors
    #[arg(long)]
    pub show_trace: bool,
}

/// Arguments of `eka-run sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// The directory the sandbox exposes read-only, as eval exposes the atom
    #[arg(value_name = "ATOM-DIR")]
    pub atom: PathBuf,
    /// The program to run in the sandbox (it must be visible inside), then its arguments
    #[arg(
        value_name = "PROGRAM",
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub command: Vec<OsString>,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// Options shared by `eval` and `sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxOptions {
    #[command(flatten)]
    pub store: store::Options,
    /// Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run
    #[arg(long, value_name = "DIR")]
    pub atom_nix: Option<PathBuf>,
    /// The nix-instantiate to run [default: the one on PATH]
    #[arg(long, value_name = "FILE")]
    pub nix_instantiate: Option<PathBuf>,
    /// Run with what the kernel offers when user namespaces or Landlock are missing, warning
    /// about what is not enforced, instead of failing
    #[arg(long)]
    pub best_effort: bool,
    /// The most memory (address space) the evaluator may use: bytes, with an optional K, M, G
    /// or T suffix (powers of 1024), or `unlimited`
    #[arg(long, value_name = "SIZE", default_value = limits::DEFAULT_MEMORY)]
    pub memory: limits::Memory,
    /// The most CPU time the evaluator may use, in seconds, or `unlimited`
    #[arg(long, value_name = "SECONDS", default_value = limits::DEFAULT_CPU_TIME)]
    pub cpu_time: limits::CpuTime,
}

impl SandboxOptions {
    /// The nix-instantiate to run, and where it really is (after symlinks).
    pub(crate) fn nix(&self) -> Result<(PathBuf, PathBuf), Error> {
        let nix = match &self.nix_instantiate {
            Some(path) => std::path::absolute(path).map_err(|_| Error::NoNix)?,
            None => find_on_path("nix-instantiate").ok_or(Error::NoNix)?,
        };
        let real = nix.canonicalize().map_err(|_| Error::NoNix)?;
        Ok((nix, real))
    }
}

/// A failure of eval mode.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The atom directory is not usable.
    #[error("cannot use `{path}` as the atom directory")]
    Atom {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// nix-instantiate was not found.
    #[error("cannot find `nix-instantiate` on PATH: install Nix (e.g. Debian's nix-bin) or pass --nix-instantiate")]
    NoNix,
    /// nix-instantiate lives in the host's `/nix/store`, which the sandbox replaces.
    #[error("`{path}` lives in the host's /nix/store, which the sandbox replaces by the user's store: install Nix outside /nix/store (e.g. Debian's nix-bin) or into the user's store")]
    NixInHostStore {
        /// Where nix-instantiate is.
        path: PathBuf,
    },
    /// The store could not be set up.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The store has no state directory and none can be created.
    #[error("cannot evaluate with the store `{store}`: its state directory `{state}` does not exist and cannot be created (pass --state <dir>, or a store you can write)")]
    NoState {
        /// The store directory.
        store: PathBuf,
        /// Where the state directory was looked for.
        state: PathBuf,
    },
    /// atom-nix could not be provided.
    #[error(transparent)]
    AtomNix(#[from] atom_nix::Error),
    /// The sandbox could not be set up.
    #[error(transparent)]
    Sandbox(#[from] sandbox::Error),
    /// The private directory could not be prepared.
    #[error("cannot prepare the private directory `{path}`")]
    Private {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A resource limit could not be set.
    #[error(transparent)]
    Limits(limits::SetError),
    /// The sandboxed process reported a failure before it could run the evaluator.
    #[error("cannot start the evaluator in the sandbox: {0}")]
    Child(String),
}

/// Where the sandbox's private pieces are, as seen by the evaluator.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) etc: PathBuf,
    pub(crate) eka: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) atom_nix: PathBuf,
}

/// The files of `/proc` the evaluator may read: what the Boehm GC and Nix read at start-up.
const PROC_FILES: &[&str] = &["/proc/stat", "/proc/meminfo", "/proc/cpuinfo"];

/// The files of its own `/proc/<pid>` the evaluator may read (the C library and the Boehm GC
/// read `maps` to find the main thread's stack; Nix opens `ns/mnt`).
const PROC_SELF_FILES: &[&str] = &["maps", "stat", "statm", "status", "limits", "fd", "ns"];

/// System directories holding the Nix installation and the libraries it links to.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Everything the sandbox needs, prepared on the host.
#[derive(Debug)]
pub(crate) struct Jail {
    /// Holds `etc/`, `eka/` and `tmp/`; deleted on drop.
    private: tempfile::TempDir,
    layout: store::Layout,
    /// The store's state directory (evaluation writes the store).
    state: store::State,
    /// The atom directory, bound read-only at its own path; `None` when the atom is exported
    /// into the private directory (`eka/atom/`).
    pub(crate) atom: Option<PathBuf>,
    /// An atom-nix directory given with --atom-nix, bound at /eka/atom-nix.
    pub(crate) atom_nix: Option<PathBuf>,
    /// Host directories bound read-only below [`DEPS_BASE`] (a path relative to it for each):
    /// the shared exports of the locked atoms (see [`Jail::uses_shared_exports`]).
    deps: Vec<(PathBuf, PathBuf)>,
    pub(crate) nix: PathBuf,
    /// A Nix installation prefix outside the system directories, if any.
    nix_prefix: Option<PathBuf>,
    best_effort: bool,
    limits: limits::Limits,
}

/// The entry expression: the atom's public API. The configuration always carries `system`.
pub(crate) const ENTRY_NIX: &str =
    "# Written by eka-run: evaluate the atom at `atomRoot` with the atom-nix at `atomNix`,
# passing the configuration `configJSON` (canonical JSON, `system` included) and, as `from`
# and `get`, what its lock holds: `<ekaDir>/deps.json` is
#   { atoms = { <id@version> = { root = <dir under depsBase>; requires = { <name> = <id@version>; };
#               pins = { <name> = <pin>; }; srcs = { <name> = <src>; }; }; };
#     pinned = { <pin> = { root = <dir under ekaDir, or under depsBase if shared>; entry = <file>;
#                          hash = <SRI>; shared = true or absent; }; };
#     sources = { <src> = { name; hash; url or root; }; };
#     requires, pins, srcs (the atom's own, as in `atoms`); }
# Each locked atom is composed once (lazily, when first used), with its own locked
# dependencies and pins as its `from`, its sources as its `get`, and only `system` as its
# configuration. A pin is its `entry` imported from its tree, copied to the store at its locked
# NAR hash (as `fetchGit` would give it). A source is, for a URL, a fixed-output derivation the
# builder fetches (`builtin:fetchurl`, flat hash): touching it fetches nothing; for a git or
# path source, its tree copied to the store at its locked NAR hash.
{ atomRoot, atomNix, configJSON, ekaDir, depsBase ? ekaDir }:
let
  B = builtins;
  compose = import (/. + atomNix + \"/compose.nix\");
  config = B.fromJSON configJSON;
  deps = B.fromJSON (B.readFile (/. + ekaDir + \"/deps.json\"));
  tree = name: s: B.path {
    path = /. + ((if s.shared or false then depsBase else ekaDir) + \"/\" + s.root);
    inherit name;
    sha256 = s.hash;
  };
  pinned = B.mapAttrs (id: p: import (tree \"source\" p + \"/\" + p.entry)) deps.pinned;
  sources = B.mapAttrs
    (id: s: if s ? url then
      B.derivation {
        inherit (s) name url;
        system = \"builtin\";
        builder = \"builtin:fetchurl\";
        outputHashMode = \"flat\";
        outputHashAlgo = \"sha256\";
        outputHash = s.hash;
        preferLocalBuild = true;
      }
    else tree s.name s)
    deps.sources;
  composed = B.mapAttrs
    (key: a: compose (/. + (depsBase + \"/\" + a.root)) { from = fromOf a; get = getOf a; config = { inherit (config) system; }; })
    deps.atoms;
  fromOf = a: B.mapAttrs (name: id: pinned.${id}) a.pins // B.mapAttrs (name: key: composed.${key}) a.requires;
  getOf = a: B.mapAttrs (name: id: sources.${id}) a.srcs;
in
compose (/. + atomRoot) { from = fromOf deps; get = getOf deps; inherit config; }
";

/// Where the evaluator sees the locked atoms' shared exports, each bound read-only at
/// `<DEPS_BASE>/<its root in the graph>` (`deps/<atomic number>/<version>/<label>`), on the
/// sandbox root's own tmpfs: no mount point is created on the host.
pub(crate) const DEPS_BASE: &str = "/eka-deps";

/// The file in the private directory's `eka/` that holds the dependency graph the entry
/// expression composes (see [`crate::closure::Materialised::graph`]).
pub(crate) const DEPS_JSON: &str = "deps.json";

/// The derivation expression: what `build`, `run` and `plan` need of the derivation at the
/// attribute path `attrJSON` (a JSON list of names): evaluating `drvPath` writes the
/// derivation to the store.
pub(crate) const DRV_NIX: &str = "# Written by eka-run: the derivation at the attribute path `attrJSON` of the atom's API.
{ atomRoot, atomNix, configJSON, ekaDir, depsBase ? ekaDir, attrJSON }:
let
  B = builtins;
  api = import ./eval.nix { inherit atomRoot atomNix configJSON ekaDir depsBase; };
  path = B.fromJSON attrJSON;
  show = p: B.concatStringsSep \".\" p;
  step = acc: name:
    if B.isAttrs acc.value && acc.value ? ${name}
    then { value = acc.value.${name}; at = acc.at ++ [ name ]; }
    else throw \"eka-run: the atom has no attribute `${show (acc.at ++ [ name ])}`\";
  selected = (B.foldl' step { value = api; at = [ ]; } path).value;
  isDrv = v: B.isAttrs v && (v.type or null) == \"derivation\";
  value =
    if path != [ ] || isDrv selected then selected
    else if selected ? default then selected.default
    else throw \"eka-run: the atom is not a derivation and has no `default`: name an attribute path\";
  what = if path == [ ] then \"the atom's `default`\" else \"`${show path}`\";
  outputs = value.outputs or [ \"out\" ];
in
if !(isDrv value) then throw \"eka-run: ${what} is not a derivation (it is ${B.typeOf value})\"
else {
  drvPath = value.drvPath;
  # Not `outPath`: Nix prints an attribute set with an `outPath` as that string.
  defaultOutput = value.outPath;
  outputs = B.listToAttrs (map (o: { name = o; value = value.${o}.outPath; }) outputs);
  mainProgram = (value.meta or { }).mainProgram or null;
  pname = value.pname or null;
  name = value.name;
}
";

impl Jail {
    /// Prepare the sandbox for the atom directory `atom` (`None`: the caller exports the atom
    /// into [`Jail::exports`]).
    pub(crate) fn prepare(atom: Option<&Path>, opts: &SandboxOptions) -> Result<Self, Error> {
        let atom = atom
            .map(|atom| {
                let dir = atom.canonicalize().map_err(|source| Error::Atom {
                    path: atom.to_owned(),
                    source,
                })?;
                if dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(Error::Atom {
                        path: dir,
                        source: io::Error::from(io::ErrorKind::NotADirectory),
                    })
                }
            })
            .transpose()?;
        let layout = opts.store.resolve(|k| std::env::var_os(k))?;
        let state = layout.state.clone().ok_or_else(|| Error::NoState {
            store: layout.store.clone(),
            state: layout.state_wanted.clone(),
        })?;
        let (nix, real) = opts.nix()?;
        let nix_prefix = if SYSTEM_DIRS.iter().any(|d| real.starts_with(d)) {
            None
        } else if real.starts_with(store::STORE_DIR) {
            return Err(Error::NixInHostStore { path: real });
        } else {
            real.parent().and_then(Path::parent).map(Path::to_owned)
        };
        let atom_nix = match &opts.atom_nix {
            Some(dir) => {
                let dir = dir
                    .canonicalize()
                    .map_err(|_| atom_nix::Error::NoEntry { dir: dir.clone() })?;
                atom_nix::check_dir(&dir)?;
                Some(dir)
            }
            // The built-in atom-nix, written once beside the caches and bound like a given one
            // (unless --best-effort may leave the evaluator without a mount namespace, whose
            // Landlock rules then name it where it is); else written per evaluation.
            None => crate::cache::Cache::from_env(|k| std::env::var_os(k))
                .ok()
                .and_then(|c| c.dir().parent().map(Path::to_owned))
                .and_then(|atom| atom_nix::shared(&atom)),
        };
        // From before the private directory exists: SIGINT, SIGTERM and SIGHUP reach the
        // evaluator through the sandbox's init, and this process stays to remove the directory.
        sandbox::catch_signals()?;
        // Mode 0700: the directory holds the evaluation's /tmp.
        let private = tempfile::Builder::new()
            .prefix("eka-run.")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|source| Error::Private {
                path: std::env::temp_dir(),
                source,
            })?;
        let jail = Jail {
            private,
            layout,
            state,
            atom,
            atom_nix,
            deps: Vec::new(),
            nix,
            nix_prefix,
            best_effort: opts.best_effort,
            limits: limits::Limits {
                memory: opts.memory,
                cpu_time: opts.cpu_time,
            },
        };
        jail.write_files()?;
        Ok(jail)
    }

    /// Whether the locked atoms are bound from their shared exports
    /// ([`crate::closure::Exports::Shared`], kept across evaluations) rather than copied into the
    /// private directory: always, unless `--best-effort` may run without a mount namespace
    /// (which binding needs).
    pub(crate) fn uses_shared_exports(&self) -> bool {
        !self.best_effort
    }

    /// Bind each `(host directory, path relative to DEPS_BASE)` read-only into the sandbox.
    pub(crate) fn bind_deps(&mut self, deps: Vec<(PathBuf, PathBuf)>) {
        self.deps = deps;
    }

    fn host(&self, rel: &str) -> PathBuf {
        self.private.path().join(rel)
    }

    /// Where, on the host, files written for the evaluator go: the private directory's `eka/`,
    /// which the evaluator sees read-only as [`View::eka`].
    pub(crate) fn exports(&self) -> PathBuf {
        self.host("eka")
    }

    fn write_files(&self) -> Result<(), Error> {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        let files = [
            (
                "etc/passwd",
                format!("eka:x:{uid}:{gid}:eka-run:/tmp/home:/bin/sh\n"),
            ),
            ("etc/group", format!("eka:x:{gid}:\n")),
            ("eka/eval.nix", ENTRY_NIX.to_owned()),
            ("eka/drv.nix", DRV_NIX.to_owned()),
        ];
        for dir in ["etc/nix", "eka/atom-nix", "tmp/home"] {
            let path = self.host(dir);
            std::fs::create_dir_all(&path).map_err(|source| Error::Private { path, source })?;
        }
        for (rel, contents) in files {
            let path = self.host(rel);
            std::fs::write(&path, contents).map_err(|source| Error::Private { path, source })?;
        }
        if self.atom_nix.is_none() {
            atom_nix::materialise(&self.host("eka/atom-nix"))?;
        }
        Ok(())
    }

    /// Run `program` with `args` in the sandbox: its exit code (128 + signal if killed) and,
    /// when `capture` is set, its stdout (otherwise copied to ours as it comes).
    ///
    /// eka-run's own process stays where it is (the host's namespaces): a child enters the
    /// namespaces and starts the sandbox's init, so eka-run can go on after the evaluation
    /// (build, run) and removes the private directory from the host's view.
    pub(crate) fn spawn(
        &self,
        program: &Path,
        args: impl FnOnce(&View) -> Vec<OsString>,
        capture: bool,
    ) -> Result<Spawned, Error> {
        if sandbox::landlock_abi() == 0 {
            if !self.best_effort {
                return Err(sandbox::landlock_unavailable().into());
            }
            tracing::warn!("landlock is not available: filesystem and TCP restrictions are not enforced by landlock");
        }
        let (out_r, out_w) = sandbox::pipe()?;
        let (err_r, err_w) = sandbox::pipe()?;
        let (status_r, status_w) = sandbox::pipe()?;
        match sandbox::fork()? {
            sandbox::Fork::Child => {
                drop((out_r, err_r, status_r));
                let pipes = Pipes {
                    stdout: out_w,
                    stderr: err_w,
                    status: status_w,
                };
                self.outer(pipes, program, args)
            }
            sandbox::Fork::Parent(pid) => {
                drop((out_w, err_w, status_w));
                sandbox::forward_signals_to(pid);
                let pumped = pump(status_r, out_r, err_r, capture);
                let code = sandbox::wait(pid);
                sandbox::stop_forwarding();
                let code = code?;
                if !pumped.report.is_empty() {
                    return Err(Error::Child(pumped.report));
                }
                let cpu = sandbox::children_cpu_time();
                if let Some(exceeded) = self.limits.exceeded(code, cpu, pumped.out_of_memory) {
                    // Quietly lost when stderr is closed, like the child's own output.
                    let _ = writeln!(std::io::stderr(), "eka-run: {exceeded}");
                }
                Ok(Spawned {
                    code,
                    stdout: pumped.stdout,
                })
            }
        }
    }

    /// In the first child: enter the namespaces, write the Nix configuration that depends on
    /// them, and start the sandbox's init (PID 1 of the new PID namespace); exit with its
    /// status. Without namespaces (best effort) this process is the init.
    fn outer(&self, pipes: Pipes, program: &Path, args: impl FnOnce(&View) -> Vec<OsString>) -> ! {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).ok();
        let fail = |pipes: Pipes, err: Error| -> ! {
            let mut status = std::fs::File::from(pipes.status);
            let _ = write!(status, "{:#}", anyhow::Error::from(err));
            sandbox::exit_now(125)
        };
        let namespaced = match sandbox::enter_user_namespace(Namespaces {
            network: true,
            isolated: true,
        }) {
            Ok(()) => true,
            Err(e @ sandbox::Error::UserNamespaces { .. }) if self.best_effort => {
                tracing::warn!(
                    "{:#}; not enforced: the private root, network isolation, PID/IPC isolation (landlock alone restricts files, TCP and signals)",
                    anyhow::Error::from(e)
                );
                false
            }
            Err(e) => fail(pipes, e.into()),
        };
        let view = if namespaced {
            View {
                etc: "/etc".into(),
                eka: "/eka".into(),
                tmp: "/tmp".into(),
                atom_nix: "/eka/atom-nix".into(),
            }
        } else {
            View {
                etc: self.host("etc"),
                eka: self.host("eka"),
                tmp: self.host("tmp"),
                atom_nix: self
                    .atom_nix
                    .clone()
                    .unwrap_or_else(|| self.host("eka/atom-nix")),
            }
        };
        let store_url = if namespaced {
            "local".to_owned()
        } else {
            format!(
                "local?real={}&state={}&log={}",
                self.layout.store.display(),
                self.state.dir.display(),
                self.state.log.display()
            )
        };
        let conf = self.host("etc/nix/nix.conf");
        if let Err(source) = std::fs::write(&conf, env::nix_conf(&store_url)) {
            fail(pipes, Error::Private { path: conf, source })
        }
        let nix_bin = self
            .nix
            .parent()
            .unwrap_or(Path::new("/usr/bin"))
            .to_owned();
        let environment = env::evaluator(
            std::env::vars_os(),
            env::Paths {
                tmp: &view.tmp,
                nix_conf_dir: &view.etc.join("nix"),
                nix_bin: &nix_bin,
            },
        );
        let args = args(&view);
        if !namespaced {
            self.init(namespaced, &view, pipes, program, &args, environment)
        }
        match sandbox::fork() {
            Ok(sandbox::Fork::Child) => {
                self.init(namespaced, &view, pipes, program, &args, environment)
            }
            Ok(sandbox::Fork::Parent(pid)) => {
                drop(pipes);
                sandbox::forward_signals_to(pid);
                let code = sandbox::wait(pid).unwrap_or(125);
                sandbox::exit_now(code.into())
            }
            Err(e) => fail(pipes, e.into()),
        }
    }

    /// In the forked child, the sandbox's init (PID 1 when namespaced): finish the sandbox,
    /// start the evaluator as its only child, pass SIGINT, SIGTERM and SIGHUP on to it (a PID
    /// namespace's init gets only the signals it handles), and exit with its status.
    fn init(
        &self,
        namespaced: bool,
        view: &View,
        pipes: Pipes,
        program: &Path,
        args: &[OsString],
        environment: Vec<(OsString, OsString)>,
    ) -> ! {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).ok();
        let started = self.enter(namespaced, view).and_then(|policy| {
            sandbox::new_session()?;
            match sandbox::fork()? {
                sandbox::Fork::Child => {
                    Err(self.evaluator(&policy, &pipes, program, args, environment))
                }
                sandbox::Fork::Parent(pid) => Ok(pid),
            }
        });
        match started {
            Ok(pid) => {
                drop(pipes);
                sandbox::forward_signals_to(pid);
                let code = sandbox::wait(pid).unwrap_or(125);
                sandbox::exit_now(code.into())
            }
            Err(err) => {
                let mut status = std::fs::File::from(pipes.status);
                let _ = write!(status, "{:#}", anyhow::Error::from(err));
                sandbox::exit_now(125)
            }
        }
    }

    /// Build the sandbox's root (when namespaced) and say what Landlock must allow in it.
    fn enter(&self, namespaced: bool, view: &View) -> Result<LandlockPolicy, Error> {
        let mut read: Vec<PathBuf> = vec![view.etc.clone(), view.eka.clone()];
        read.extend(self.atom.clone());
        let mut write: Vec<PathBuf> = vec![view.tmp.clone()];
        if namespaced {
            // A mount namespace of the init's own: `pivot_root` moves every process of the
            // namespace it runs in, and eka-run's must keep the host's view to clean up.
            sandbox::new_mount_namespace()?;
            let mut root = NewRoot::new();
            for dir in SYSTEM_DIRS.iter().map(Path::new).filter(|d| d.exists()) {
                root = root.mirror(dir, Mode::ReadOnly);
            }
            root = root
                .bind(self.host("etc"), "/etc", Mode::ReadOnly)
                .bind(self.host("eka"), "/eka", Mode::ReadOnly)
                .bind(self.host("tmp"), "/tmp", Mode::ReadWrite);
            // After /tmp: a Nix installed under /tmp stays visible.
            if let Some(prefix) = &self.nix_prefix {
                root = root.bind(prefix, prefix, Mode::ReadOnly);
                read.push(prefix.clone());
            }
            root = root
                .bind(&self.layout.store, store::STORE_DIR, Mode::ReadWrite)
                .bind(&self.state.dir, store::STATE_DIR, Mode::ReadWrite)
                .bind(&self.state.log, store::LOG_DIR, Mode::ReadWrite)
                .proc()
                .minimal_dev();
            if let Some(atom) = self
                .atom
                .as_ref()
                .filter(|a| !a.starts_with(store::STORE_DIR))
            {
                root = root.bind(atom, atom, Mode::ReadOnly);
            }
            if let Some(dir) = &self.atom_nix {
                root = root.bind(dir, "/eka/atom-nix", Mode::ReadOnly);
            }
            for (host, rel) in &self.deps {
                root = root.bind(host, Path::new(DEPS_BASE).join(rel), Mode::ReadOnly);
            }
            if !self.deps.is_empty() {
                read.push(DEPS_BASE.into());
            }
            root.enter(&view.tmp)?;
            if let Err(e) = sandbox::forbid_nested_user_namespaces() {
                // The seccomp filter denies them all the same.
                tracing::debug!("{:#}", anyhow::Error::from(e));
            }
            read.extend(SYSTEM_DIRS.iter().map(PathBuf::from));
            read.extend(PROC_FILES.iter().map(PathBuf::from));
            read.extend(
                ["/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"].map(PathBuf::from),
            );
            write.extend(
                [
                    store::STORE_DIR,
                    store::STATE_DIR,
                    store::LOG_DIR,
                    "/dev/null",
                ]
                .map(PathBuf::from),
            );
        } else {
            read.extend(SYSTEM_DIRS.iter().map(PathBuf::from));
            if let Some(prefix) = &self.nix_prefix {
                read.push(prefix.clone());
            }
            if let Some(dir) = &self.atom_nix {
                read.push(dir.clone());
            }
            read.extend(PROC_FILES.iter().map(PathBuf::from));
            read.extend(["/dev/zero", "/dev/urandom"].map(PathBuf::from));
            write.extend([
                self.layout.store.clone(),
                self.state.dir.clone(),
                "/dev/null".into(),
            ]);
            std::env::set_current_dir(&view.tmp).ok();
        }
        Ok(LandlockPolicy { read, write })
    }

    /// In the init's child: restrict this process and exec the evaluator. Returns only on
    /// failure.
    fn evaluator(
        &self,
        policy: &LandlockPolicy,
        pipes: &Pipes,
        program: &Path,
        args: &[OsString],
        environment: Vec<(OsString, OsString)>,
    ) -> Error {
        let result = (|| -> Result<Error, Error> {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .ok();
            let null = std::fs::File::open("/dev/null").map_err(|source| Error::Private {
                path: "/dev/null".into(),
                source,
            })?;
            sandbox::redirect_stdio(&null, &pipes.stdout, &pipes.stderr)?;
            drop(null);
            sandbox::close_inherited_fds_on_exec()?;
            sandbox::no_new_privs()?;
            // `/proc/self` resolves now, to this process's own directory: the evaluator (this
            // very process after exec) reads these files of its own, not its neighbours', and
            // not its mount table (`mountinfo`, `mounts`), which names host paths.
            let mut policy = policy.clone();
            policy.read.extend(
                PROC_SELF_FILES
                    .iter()
                    .map(|f| Path::new("/proc/self").join(f)),
            );
            match sandbox::landlock_restrict(&policy, !self.best_effort)? {
                Enforcement::Full => {}
                Enforcement::Partial => tracing::info!(
                    "landlock ABI {} lacks some rules (TCP or scopes); the namespaces cover them",
                    sandbox::landlock_abi()
                ),
                Enforcement::None => tracing::warn!("not enforced: landlock"),
            }
            self.limits.apply().map_err(Error::Limits)?;
            sandbox::deny_syscalls()?;
            let mut cmd = std::process::Command::new(program);
            cmd.args(args).env_clear().envs(environment);
            let source = cmd.exec();
            Ok(Error::Child(format!(
                "cannot run `{}`: {source}",
                program.display()
            )))
        })();
        match result {
            Ok(e) | Err(e) => e,
        }
    }
}

/// The write ends of the pipes the evaluator's stdout, stderr and set-up failures go through.
#[derive(Debug)]
struct Pipes {
    stdout: OwnedFd,
    stderr: OwnedFd,
    status: OwnedFd,
}

/// What [`Jail::spawn`] returns.
#[derive(Debug)]
pub(crate) struct Spawned {
    /// The exit code.
    pub(crate) code: u8,
    /// The captured stdout (empty unless captured).
    pub(crate) stdout: Vec<u8>,
}

/// What [`pump`] saw.
#[derive(Debug, Default)]
struct Pumped {
    /// The child's stdout, when captured.
    stdout: Vec<u8>,
    /// What the sandbox reported on its status pipe (empty: the program started).
    report: String,
    /// Whether the program said on stderr that it ran out of memory.
    out_of_memory: bool,
}

/// Copy the child's stdout and stderr to ours until both close (a closed stdout of ours, e.g. a
/// broken pipe, silently discards the rest) or, with `capture`, keep its stdout; and collect
/// what it reports on `status`.
fn pump(status: OwnedFd, out: OwnedFd, err: OwnedFd, capture: bool) -> Pumped {
    let mut captured = Vec::new();
    use rustix::event::{poll, PollFd, PollFlags};
    let mut report = Vec::new();
    let mut open = [Some(status), Some(out), Some(err)];
    let mut stdout_ok = true;
    let mut stderr_ok = true;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out_of_memory = false;
    // The end of stderr so far, so that a message split across reads is still recognised.
    let mut stderr_tail: Vec<u8> = Vec::new();
    while open.iter().any(Option::is_some) {
        let mut fds: Vec<(usize, PollFd<'_>)> = open
            .iter()
            .enumerate()
            .filter_map(|(i, fd)| fd.as_ref().map(|fd| (i, PollFd::new(fd, PollFlags::IN))))
            .collect();
        let mut pollfds: Vec<PollFd<'_>> = fds.iter().map(|(_, p)| p.clone()).collect();
        match poll(&mut pollfds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        let ready: Vec<usize> = fds
            .drain(..)
            .zip(&pollfds)
            .filter(|(_, p)| !p.revents().is_empty())
            .map(|((i, _), _)| i)
            .collect();
        drop(pollfds);
        for i in ready {
            let Some(fd) = &open[i] else { continue };
            let n = match rustix::io::read(fd, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                Err(_) => 0,
            };
            if n == 0 {
                open[i] = None;
                continue;
            }
            let data = &buf[..n];
            match i {
                0 => report.extend_from_slice(data),
                1 if capture => captured.extend_from_slice(data),
                1 if stdout_ok => {
                    let mut o = io::stdout().lock();
                    stdout_ok = o.write_all(data).and_then(|()| o.flush()).is_ok();
                }
                2 => {
                    stderr_tail.extend_from_slice(data);
                    out_of_memory |= limits::says_out_of_memory(&stderr_tail);
                    let keep = stderr_tail.len().saturating_sub(16);
                    stderr_tail.drain(..keep);
                    if stderr_ok {
                        let mut e = io::stderr().lock();
                        stderr_ok = e.write_all(data).and_then(|()| e.flush()).is_ok();
                    }
                }
                _ => {}
            }
        }
    }
    Pumped {
        stdout: captured,
        report: String::from_utf8_lossy(&report).into_owned(),
        out_of_memory,
    }
}

pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Target {
    /// The request this names: the configuration normalised, the atom opened (a URI resolved
    /// and fetched) with its lock checked, the identity read from it.
    pub fn request(&self) -> anyhow::Result<backend::Request> {
        let config = Config::new(&self.config, self.system.as_deref())?;
        let atom = closure::Subject::open(&self.atom)?;
        Ok(backend::Request::new(atom, self.attr.as_deref(), config))
    }

    /// The Nix evaluator in `sandbox`, behind the evaluation cache unless `--no-cache` (or
    /// there is no cache directory).
    pub fn evaluator(&self, sandbox: &SandboxOptions) -> Cached<NixEvaluator> {
        let cache = if self.no_cache {
            None
        } else {
            match Cache::from_env(|k| std::env::var_os(k)) {
                Ok(cache) => Some(cache),
                Err(e) => {
                    tracing::warn!("{:#}; evaluating without the cache", anyhow::Error::from(e));
                    None
                }
            }
        };
        Cached::new(
            NixEvaluator {
                sandbox: sandbox.clone(),
                show_trace: self.show_trace,
            },
            cache,
        )
    }
}

/// `eka-run eval`: evaluate the atom and print the value.
pub fn eval(args: &Args) -> anyhow::Result<u8> {
    let request = args.target.request()?;
    let format = if args.json {
        backend::Format::Json
    } else {
        backend::Format::Nix
    };
    let value = args
        .target
        .evaluator(&args.sandbox)
        .evaluate(&request, format)?;
    let mut out = io::stdout().lock();
    // Every value ends with a newline (`nix-instantiate --json` writes none).
    let newline: &[u8] = if value.ends_with(b"\n") { b"" } else { b"\n" };
    // A closed stdout (`| head`) is not an error.
    let _ = out
        .write_all(&value)
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush());
    Ok(0)
}

/// `eka-run sandbox`: run a program in the evaluation sandbox; its exit code.
pub fn exec(args: &ExecArgs) -> Result<u8, Error> {
    let jail = Jail::prepare(Some(&args.atom), &args.sandbox)?;
    let (program, rest) = args.command.split_first().expect("clap requires a program");
    Ok(jail
        .spawn(Path::new(program), |_| rest.to_vec(), false)?
        .code)
}
