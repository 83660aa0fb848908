//! A protocol v2 session: one connection to a remote carrying a ref listing and any number of
//! fetches, as `git://`, ssh and local transports allow (over HTTP each command is a request,
//! sent on one kept-alive connection).
//!
//! `git fetch` opens a connection per run, and a resolution that lists a repository, fetches
//! its atoms, then the atoms their locks name, then the blobs of their manifests, would open one
//! per step. A [`Session`] keeps the conversation open instead: `ls-refs` once, then a `fetch`
//! command per step, each pack written by `git index-pack` into a quarantine, checked by the
//! caller and only then admitted.
//!
//! The conversation runs on a thread of its own, so that a remote that stops answering is given
//! up on after `atom.timeout` without a byte (no transport of the git library bounds a silent
//! server); the stuck thread ends with the process. Servers that only speak protocol v0/v1
//! give no session ([`GitStore::session`] returns `None`): callers use the `git` command line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix::bstr::ByteSlice;
use gix::protocol::transport::client::blocking_io::{ExtendedBufRead, Transport};
use gix::protocol::transport::Protocol;

use super::command::{Git, Stall};
use super::remote::{list_limits, timeouts, ListLimits, Timeouts};
use super::{boxed, Config, GitStore, StoreError};
use crate::store::RemoteRef;
use crate::Oid;

/// One open conversation with a remote. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    /// The remote, for errors.
    url: String,
    /// `None` once the session is being closed.
    requests: Option<Sender<Request>>,
    replies: Receiver<Reply>,
    /// When the worker last showed a sign of life, and last brought data.
    clock: Clock,
    timeouts: Timeouts,
    /// Set once the conversation failed: later commands fail the same way without trying.
    broken: Option<String>,
    /// Fetch commands sent, for callers that count round trips.
    fetches: usize,
    /// The worker thread, joined when the session ends.
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Inner {
    /// Ends the conversation and waits for the worker to finish, so that a process that
    /// must be single-threaded afterwards (eka-run enters its sandbox) is. A worker stuck on a
    /// silent server (the session broke on a timeout) is left to end with the process.
    fn drop(&mut self) {
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            if self.broken.is_none() || worker.is_finished() {
                let _ = worker.join();
            }
        }
    }
}

#[derive(Debug)]
enum Request {
    List(Vec<String>),
    Fetch {
        wants: Vec<Oid>,
        filter: Option<String>,
        /// How many commits of history (`deepen`), when limited.
        depth: Option<u32>,
        /// The repository the pack is written into.
        git_dir: PathBuf,
    },
}

#[derive(Debug)]
enum Reply {
    /// The handshake's outcome: whether the server speaks protocol v2.
    Ready(Result<bool, StoreError>),
    Listed(Result<Vec<RemoteRef>, StoreError>),
    /// Whether the server applied the filter.
    Fetched(Result<bool, StoreError>),
}

impl GitStore {
    /// Opens a protocol v2 session with `remote` (a configured name or a URL), with this
    /// repository's configuration (credentials, `http.*`, ssh command, `insteadOf`). `None`
    /// when the server speaks only protocol v0/v1, which allows one command per connection.
    pub fn session(&self, remote: &str) -> Result<Option<Session>, StoreError> {
        let config = self.config()?;
        if self.transfers_by_git(&config, remote) {
            return Ok(None);
        }
        match self.open_session(remote, &config) {
            Err(e) if self.leave_to_git(remote, &e) => Ok(None),
            opened => opened,
        }
    }

    /// [`GitStore::session`] through the git library.
    fn open_session(&self, remote: &str, config: &Config) -> Result<Option<Session>, StoreError> {
        let timeouts = timeouts(config)?;
        let limits = list_limits(config)?;
        let repo = self.repo_for_transfers(remote, timeouts.idle)?;
        let location = self
            .relative_remote_url(remote)
            .unwrap_or_else(|| remote.to_owned());
        let (requests, inbox) = mpsc::channel();
        let (outbox, replies) = mpsc::channel();
        let clock = Clock::new();
        let worker = Worker {
            clock: clock.clone(),
            limits,
        };
        let worker = std::thread::Builder::new()
            .name("atom-session".to_owned())
            .spawn(move || worker.serve(&repo, &location, &inbox, &outbox))
            .map_err(|e| StoreError::Remote {
                remote: remote.to_owned(),
                what: "cannot start a session".to_owned(),
                source: Some(boxed(e)),
            })?;
        let session = Session {
            inner: Arc::new(Mutex::new(Inner {
                url: remote.to_owned(),
                requests: Some(requests),
                replies,
                clock,
                timeouts,
                broken: None,
                fetches: 0,
                worker: Some(worker),
            })),
        };
        let v2 = match session.lock().wait()? {
            Reply::Ready(ready) => ready?,
            other => unreachable!("the worker answers the handshake first, not {other:?}"),
        };
        Ok(v2.then_some(session))
    }
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remote's refs under `prefixes`, with one `ls-refs` carrying a `ref-prefix` per
    /// prefix, sorted by name.
    pub fn list(&self, prefixes: &[&str]) -> Result<Vec<RemoteRef>, StoreError> {
        let mut inner = self.lock();
        inner.send(Request::List(
            prefixes.iter().map(|p| (*p).to_owned()).collect(),
        ))?;
        match inner.wait()? {
            Reply::Listed(listed) => inner.keep(listed),
            other => unreachable!("a listing is answered by a listing, not {other:?}"),
        }
    }

    /// Fetches `wants` (object ids reachable from the remote's refs) into the repository at
    /// `git_dir`, leaving out what `filter` says when the server allows filters, and with
    /// `depth` commits of history when given (`deepen`; the commits' parents are then not
    /// sent). Returns whether the filter was applied (a server that does not allow filters
    /// sends everything).
    pub fn fetch(
        &self,
        wants: &[Oid],
        filter: Option<&str>,
        depth: Option<u32>,
        git_dir: &Path,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        inner.send(Request::Fetch {
            wants: wants.to_vec(),
            filter: filter.map(str::to_owned),
            depth,
            git_dir: git_dir.to_owned(),
        })?;
        inner.fetches += 1;
        match inner.wait()? {
            Reply::Fetched(fetched) => inner.keep(fetched),
            other => unreachable!("a fetch is answered by a fetch, not {other:?}"),
        }
    }

    /// How many fetch commands this session sent.
    pub fn fetches(&self) -> usize {
        self.lock().fetches
    }
}

impl Inner {
    fn error(&self, what: String) -> StoreError {
        StoreError::Remote {
            remote: self.url.clone(),
            what,
            source: None,
        }
    }

    fn send(&self, request: Request) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.error(why.clone()));
        }
        // The idle clock starts with the request: time the caller spent between commands is
        // not the server's silence.
        self.clock.touch();
        self.requests
            .as_ref()
            .ok_or_else(|| self.error("the session ended".to_owned()))?
            .send(request)
            .map_err(|_| self.error("the session ended".to_owned()))
    }

    /// The worker's next reply, given up on once it has shown no sign of life for
    /// `atom.timeout`, or only the server's progress messages for `atom.progressTimeout`.
    fn wait(&mut self) -> Result<Reply, StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.error(why.clone()));
        }
        loop {
            let (idle, without_data) = self.clock.idle();
            let idle_left = self.timeouts.idle.checked_sub(idle);
            let progress_left = self.timeouts.progress.checked_sub(without_data);
            let left = match (idle_left, progress_left) {
                (Some(a), Some(b)) => a.min(b),
                (None, _) => {
                    let why = format!(
                        "no answer within {} s (the limit is `atom.timeout`, in seconds)",
                        self.timeouts.idle.as_secs()
                    );
                    self.broken = Some(why.clone());
                    return Err(self.error(why));
                }
                (_, None) => {
                    let why = Stall::OnlyProgress.describe(self.timeouts);
                    self.broken = Some(why.clone());
                    return Err(self.error(why));
                }
            };
            match self.replies.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(reply) => return Ok(reply),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    let why = "the session ended".to_owned();
                    self.broken = Some(why.clone());
                    return Err(self.error(why));
                }
            }
        }
    }

    /// Passes `result` on; a failure breaks the session, whose connection is in an unknown
    /// state.
    fn keep<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            self.broken = Some(format!(
                "an earlier command failed: {}",
                super::first_error_line(crate::error_chain(e).as_bytes())
            ));
        }
        result
    }
}

/// When a session last showed a sign of life, and last brought data (anything but the
/// server's progress messages), shared by the caller and the worker.
#[derive(Debug, Clone)]
struct Clock {
    start: Instant,
    /// Milliseconds since `start` at the last sign of life.
    last: Arc<AtomicU64>,
    /// Milliseconds since `start` at the last data.
    data: Arc<AtomicU64>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
            data: Arc::new(AtomicU64::new(0)),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records data (or a request, or an answer) now.
    fn touch(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        self.data.store(now, Ordering::Relaxed);
    }

    /// Records a progress message now: life, not data.
    fn progress(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// How long since the last sign of life, and since the last data.
    fn idle(&self) -> (Duration, Duration) {
        let since = |at: &AtomicU64| {
            self.start
                .elapsed()
                .saturating_sub(Duration::from_millis(at.load(Ordering::Relaxed)))
        };
        (since(&self.last), since(&self.data))
    }
}

/// The thread holding the connection.
struct Worker {
    clock: Clock,
    /// How much a listing may bring.
    limits: ListLimits,
}

impl Worker {
    fn alive(&self) {
        self.clock.touch();
    }

    fn serve(
        &self,
        repo: &gix::Repository,
        url: &str,
        inbox: &Receiver<Request>,
        outbox: &Sender<Reply>,
    ) {
        let err = |what: &str, e: Option<super::BoxError>| StoreError::Remote {
            remote: url.to_owned(),
            what: what.to_owned(),
            source: e,
        };
        let remote = match repo.find_fetch_remote(Some(url.as_bytes().as_bstr())) {
            Ok(remote) => remote,
            Err(e) => {
                let e = err("not a configured remote or a valid URL", Some(boxed(e)));
                let _ = outbox.send(Reply::Ready(Err(e)));
                return;
            }
        };
        let connected = super::listing::connect(repo, &remote, url);
        self.alive();
        let (mut connection, handshake) = match connected {
            Ok(c) => c,
            Err(e) => {
                let _ = outbox.send(Reply::Ready(Err(e)));
                return;
            }
        };
        let v2 = handshake.server_protocol_version == Protocol::V2;
        if outbox.send(Reply::Ready(Ok(v2))).is_err() || !v2 {
            return;
        }
        let agent: gix::protocol::command::Feature =
            ("agent", Some(format!("atom/{}", env!("CARGO_PKG_VERSION"))));
        let transport = connection.transport_mut();
        while let Ok(request) = inbox.recv() {
            let reply = match request {
                Request::List(prefixes) => Reply::Listed(super::listing::list(
                    &mut *transport,
                    &handshake,
                    &prefixes,
                    self.limits,
                    url,
                )),
                Request::Fetch {
                    wants,
                    filter,
                    depth,
                    git_dir,
                } => Reply::Fetched(self.fetch(
                    &mut *transport,
                    &handshake,
                    &agent,
                    (&wants, filter.as_deref(), depth),
                    &git_dir,
                    url,
                )),
            };
            self.alive();
            if outbox.send(reply).is_err() {
                break;
            }
        }
        let _ = gix::protocol::indicate_end_of_interaction(&mut *transport, false);
    }

    /// One `fetch` command with `done` (no negotiation: the wants are exact and the receiving
    /// repository has none of them), its pack piped into `git index-pack`.
    fn fetch<T: Transport>(
        &self,
        transport: &mut T,
        handshake: &gix::protocol::Handshake,
        agent: &gix::protocol::command::Feature,
        (wants, filter, depth): (&[Oid], Option<&str>, Option<u32>),
        git_dir: &Path,
        url: &str,
    ) -> Result<bool, StoreError> {
        let err = |what: &str, e: Option<super::BoxError>| StoreError::Remote {
            remote: url.to_owned(),
            what: what.to_owned(),
            source: e,
        };
        let command = gix::protocol::Command::Fetch;
        let mut features = command.default_features(Protocol::V2, &handshake.capabilities);
        features.push(agent.clone());
        let mut arguments = gix::protocol::fetch::Arguments::new(Protocol::V2, features, false);
        let filtered = match filter {
            Some(spec) if arguments.can_use_filter() => {
                arguments.filter(spec);
                true
            }
            _ => false,
        };
        if let Some(depth) = depth {
            if !arguments.can_use_deepen() {
                return Err(err("the server does not allow shallow fetches", None));
            }
            arguments.deepen(usize::try_from(depth).unwrap_or(usize::MAX));
        }
        for want in wants {
            arguments.want(super::to_gix(*want));
        }
        let mut reader = arguments
            .send(transport, true)
            .map_err(|e| err("could not send the fetch command", Some(boxed(e))))?;
        let response = gix::protocol::fetch::Response::from_line_reader(
            Protocol::V2,
            &mut reader,
            true,
            false,
        )
        .map_err(|e| err("could not read the server's answer", Some(boxed(e))))?;
        if !response.has_pack() {
            return Err(err("the server sent no pack", None));
        }
        // Band 2 (the server's progress) is a sign of life, not data: the pack itself is read
        // below.
        let clock = self.clock.clone();
        reader.set_progress_handler(Some(Box::new(move |_, _| {
            clock.progress();
            std::ops::ControlFlow::Continue(())
        })));
        // As `git fetch` does, `GIT_TRACE_PACKFILE=<absolute path>` records the pack received.
        let trace = std::env::var_os("GIT_TRACE_PACKFILE")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .and_then(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .ok()
            });
        let mut pack = Alive {
            inner: &mut reader,
            worker: self,
            trace,
            bytes: 0,
        };
        let out = Git::new("index-pack", git_dir)
            .args(["--stdin", "--fix-thin"])
            .pipe_in(&mut pack)?;
        if !out.status.success() {
            return Err(err(
                &format!(
                    "cannot store the pack: {}",
                    super::first_error_line(&out.stderr)
                ),
                None,
            ));
        }
        // Whatever index-pack left unread (nothing, for a well-formed pack) up to the flush.
        std::io::copy(&mut pack, &mut std::io::sink())
            .map_err(|e| err("could not read the server's answer", Some(boxed(e))))?;
        if let (Some(spec), false) = (filter, filtered) {
            super::quarantine::unfiltered(url, spec, Some(pack.bytes));
        }
        Ok(filtered)
    }
}

/// A reader that tells the worker's watchdog about every byte, and copies them to the trace
/// file when there is one.
struct Alive<'a, R> {
    inner: &'a mut R,
    worker: &'a Worker,
    trace: Option<std::fs::File>,
    /// The bytes read so far.
    bytes: u64,
}

impl<R: Read> Read for Alive<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += u64::try_from(n).unwrap_or(u64::MAX);
        self.worker.alive();
        if let Some(trace) = &mut self.trace {
            use std::io::Write as _;
            let _ = trace.write_all(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    /// `git <args>` in `dir`, with no system or user configuration.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@invalid"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// A session outlives pauses longer than `atom.timeout` between its commands: only the
    /// server's silence after a request counts.
    #[test]
    fn the_idle_clock_starts_with_each_request() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "--bare", "served.git"]);
        git(root, &["init", "-q", "work"]);
        let work = root.join("work");
        git(&work, &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(&work, &["push", "-q", "../served.git", "main"]);
        let head: Oid = git(&work, &["rev-parse", "HEAD"]).parse().unwrap();
        git(root, &["init", "-q", "--bare", "client.git"]);
        git(&root.join("client.git"), &["config", "atom.timeout", "1"]);
        let store = GitStore::open(&root.join("client.git")).unwrap();
        let url = format!("file://{}", root.join("served.git").display());
        let session = store
            .session(&url)
            .unwrap()
            .expect("git speaks protocol v2");
        std::thread::sleep(Duration::from_millis(2200));
        let listed = session.list(&["refs/heads/"]).unwrap();
        let names: Vec<(&str, Oid)> = listed.iter().map(|r| (r.name.as_str(), r.oid)).collect();
        assert_eq!(names, [("refs/heads/main", head)]);
        std::thread::sleep(Duration::from_millis(2200));
        let quarantine = store.quarantine().unwrap();
        quarantine.fetch_with(&session, &[head]).unwrap();
        assert!(quarantine.store().unwrap().has_object(head));
        assert!(
            !store.has_object(head),
            "nothing is admitted before admit()"
        );
        assert_eq!(session.fetches(), 1);
    }
}
