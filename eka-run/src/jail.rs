//! The evaluation jail: the sandbox `nix-instantiate` (or what `eka-run sandbox` runs in its
//! place) runs in, sees nothing but the atom.
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
//! signals outside). The evaluator gets a rebuilt environment ([`Sealed`]), stdin from
//! `/dev/null`, stdout and stderr through pipes eka-run copies, no other descriptor, a new
//! session and `no_new_privs`.

mod pump;

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use self::pump::pump;
use crate::nix::command::{self, Program, Sealed, StoreAt};
use crate::nix::{env, expr};
use crate::sandbox::{self, Enforcement, LandlockPolicy, Mode, Namespaces, NewRoot};
use crate::{atom_nix, exit, limits, store};

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
            None => Program::Instantiate.find_on_path().ok_or(Error::NoNix)?,
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

/// Where the evaluator sees the locked atoms' shared exports, each bound read-only at
/// `<DEPS_BASE>/<its root in the graph>` (`deps/<atomic number>/<version>/<label>`), on the
/// sandbox root's own tmpfs: no mount point is created on the host.
pub(crate) const DEPS_BASE: &str = "/eka-deps";

/// The file in the private directory's `eka/` that holds the dependency graph the entry
/// expression composes (see [`crate::closure::Materialised::graph`]).
pub(crate) const DEPS_JSON: &str = "deps.json";

/// Where the private directory is made: `TMPDIR` when the user set it; else in memory, in the
/// user's runtime directory (`XDG_RUNTIME_DIR`, a tmpfs of their own) or `/dev/shm`; else the
/// system's temporary directory. An evaluation writes a few small files there and removes
/// them; on a disk file system that creation and removal made the evaluator wait (an
/// uncached evaluation took 54-62 ms in `/tmp`, 34-39 ms in `/dev/shm`, for the same 23 ms of
/// CPU, on a loaded machine). Builds do not use it.
fn private_parent(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let usable = |d: &Path| d.is_absolute() && d.is_dir();
    if let Some(dir) = env("TMPDIR")
        .map(PathBuf::from)
        .filter(|d| !d.as_os_str().is_empty())
    {
        return dir;
    }
    env("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| usable(d))
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|d| usable(d)))
        .unwrap_or_else(std::env::temp_dir)
}

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
        let parent = private_parent(|k| std::env::var_os(k));
        let private = tempfile::Builder::new()
            .prefix("eka-run.")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(|source| Error::Private {
                path: parent,
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
                "etc/passwd".to_owned(),
                format!("eka:x:{uid}:{gid}:eka-run:/tmp/home:/bin/sh\n"),
            ),
            ("etc/group".to_owned(), format!("eka:x:{gid}:\n")),
            (
                format!("eka/{}", expr::ENTRY_FILE),
                expr::ENTRY_NIX.to_owned(),
            ),
            (format!("eka/{}", expr::DRV_FILE), expr::DRV_NIX.to_owned()),
        ];
        for dir in ["etc/nix", "eka/atom-nix", "tmp/home"] {
            let path = self.host(dir);
            std::fs::create_dir_all(&path).map_err(|source| Error::Private { path, source })?;
        }
        for (rel, contents) in files {
            let path = self.host(&rel);
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
                    error: pumped.error,
                })
            }
        }
    }

    /// Where the evaluator sees the private pieces: in the sandbox's own root when
    /// `namespaced`, else where they are on the host.
    fn view(&self, namespaced: bool) -> View {
        if namespaced {
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
            sandbox::exit_now(exit::FAILURE.into())
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
        let view = self.view(namespaced);
        let store = if namespaced {
            StoreAt::Mounted
        } else {
            StoreAt::Host {
                store: &self.layout.store,
                state: &self.state.dir,
                log: &self.state.log,
            }
        };
        let conf = self.host("etc/nix/nix.conf");
        if let Err(source) = std::fs::write(&conf, command::evaluator_conf(store)) {
            fail(pipes, Error::Private { path: conf, source })
        }
        let nix_bin = self
            .nix
            .parent()
            .unwrap_or(Path::new("/usr/bin"))
            .to_owned();
        let program = Sealed::new(
            program,
            args(&view),
            env::Paths {
                tmp: &view.tmp,
                nix_conf_dir: &view.etc.join("nix"),
                nix_bin: &nix_bin,
            },
        );
        if !namespaced {
            self.init(namespaced, &view, pipes, &program)
        }
        match sandbox::fork() {
            Ok(sandbox::Fork::Child) => self.init(namespaced, &view, pipes, &program),
            Ok(sandbox::Fork::Parent(pid)) => {
                drop(pipes);
                sandbox::forward_signals_to(pid);
                let code = sandbox::wait(pid).unwrap_or(exit::FAILURE);
                sandbox::exit_now(code.into())
            }
            Err(e) => fail(pipes, e.into()),
        }
    }

    /// In the forked child, the sandbox's init (PID 1 when namespaced): finish the sandbox,
    /// start the evaluator as its only child, pass SIGINT, SIGTERM and SIGHUP on to it (a PID
    /// namespace's init gets only the signals it handles), and exit with its status.
    fn init(&self, namespaced: bool, view: &View, pipes: Pipes, program: &Sealed) -> ! {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)).ok();
        let started = self.enter(namespaced, view).and_then(|policy| {
            sandbox::new_session()?;
            match sandbox::fork()? {
                sandbox::Fork::Child => Err(self.evaluator(&policy, &pipes, program)),
                sandbox::Fork::Parent(pid) => Ok(pid),
            }
        });
        match started {
            Ok(pid) => {
                drop(pipes);
                sandbox::forward_signals_to(pid);
                let code = sandbox::wait(pid).unwrap_or(exit::FAILURE);
                sandbox::exit_now(code.into())
            }
            Err(err) => {
                let mut status = std::fs::File::from(pipes.status);
                let _ = write!(status, "{:#}", anyhow::Error::from(err));
                sandbox::exit_now(exit::FAILURE.into())
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
    fn evaluator(&self, policy: &LandlockPolicy, pipes: &Pipes, program: &Sealed) -> Error {
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
            let source = program.exec();
            Ok(Error::Child(format!(
                "cannot run `{}`: {source}",
                program.program().display()
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
    /// The first line of its stderr that starts with `error:`.
    pub(crate) error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment of exactly `vars`.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.into())
        }
    }

    #[test]
    fn the_private_directory_is_in_memory_unless_tmpdir_says_otherwise() {
        // TMPDIR, when set, wins: the user (or a test) chose where temporary files go.
        assert_eq!(
            private_parent(env(&[("TMPDIR", "/var/tmp"), ("XDG_RUNTIME_DIR", "/run")])),
            PathBuf::from("/var/tmp")
        );
        // Else the user's runtime directory, when it is an absolute directory.
        let runtime = tempfile::tempdir().unwrap();
        let dir = runtime.path().to_str().unwrap();
        assert_eq!(
            private_parent(env(&[("XDG_RUNTIME_DIR", dir)])),
            runtime.path()
        );
        // A relative or missing one is passed over for /dev/shm, else the system's.
        let fallback = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        assert_eq!(private_parent(env(&[("XDG_RUNTIME_DIR", "run")])), fallback);
        assert_eq!(private_parent(env(&[("TMPDIR", "")])), fallback);
    }
}
