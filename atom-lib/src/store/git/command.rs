//! The one place that builds a `git` process: its environment, its arguments, and the parsing of
//! its output into typed results and typed errors. Callers never see a [`Command`].

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use super::settings::Timeouts;
use super::{SpawnFailure, StoreError};

/// Environment variables that tie a `git` process to the repository its parent works on. They
/// are removed from every child, which is told its repository explicitly (`GIT_DIR`), so a
/// helper run by git inside a repository can safely work on another one (a quarantine).
const LOCAL_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_INDEX_FILE",
    "GIT_GRAFT_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_SHALLOW_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_PREFIX",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_QUARANTINE_PATH",
];

/// How chatty a transfer (`fetch`, `push`) may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbosity {
    /// git's verbosity: 0 quiet, 1 normal, 2 and more verbose.
    pub level: u32,
    /// Whether to show progress; `None` lets git decide (a terminal or not).
    pub progress: Option<bool>,
}

impl Default for Verbosity {
    fn default() -> Self {
        Verbosity {
            level: 0,
            progress: Some(false),
        }
    }
}

impl Verbosity {
    /// Whether git's own diagnostics should reach the user's terminal as they happen.
    pub(crate) fn live(&self) -> bool {
        self.progress == Some(true) || self.level > 1
    }
}

/// A `git` invocation being built: `git [-c key=value]... <subcommand> [args]...`.
#[derive(Debug)]
pub(crate) struct Git {
    cmd: Command,
    subcommand: &'static str,
    config: Vec<String>,
    args: Vec<OsString>,
    live_stderr: bool,
    watchdog: Option<Watchdog>,
    /// What the child reads on its standard input (`None`: nothing, `/dev/null`).
    input: Option<Vec<u8>>,
}

/// The error for a process that could not be started or waited for.
pub(crate) fn spawn_error(command: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |source| StoreError::Spawn {
        command,
        why: SpawnFailure::of(&source),
        source,
    }
}

/// A transfer is ended when its `git` shows no sign of life for `timeouts.idle`, or only the
/// remote's progress messages for `timeouts.progress`.
#[derive(Debug, Clone)]
struct Watchdog {
    /// The remote, for the error.
    remote: String,
    timeouts: Timeouts,
}

/// What a chunk of git's output says about the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// Work done here: data arriving (`Receiving objects`), objects written, a hook speaking.
    Data,
    /// Something was said, perhaps only by the remote.
    Life,
}

/// Tells the remote's progress messages (`remote: ...` lines, which git prefixes to every line
/// of the remote's sideband band 2 whatever the remote sends) from git's own output in a stream
/// of stderr chunks. Lines end with `\n` or `\r` (progress rewrites its line).
#[derive(Debug, Default)]
struct StderrLines {
    /// The start of the current line, up to the length of the prefix.
    start: Vec<u8>,
}

const REMOTE_PREFIX: &[u8] = b"remote:";

impl StderrLines {
    /// [`Sign::Data`] when `chunk` ends a line of git's own, else [`Sign::Life`].
    fn sign(&mut self, chunk: &[u8]) -> Sign {
        let mut sign = Sign::Life;
        for &b in chunk {
            if b == b'\n' || b == b'\r' {
                if !self.start.is_empty() && !self.start.starts_with(REMOTE_PREFIX) {
                    sign = Sign::Data;
                }
                self.start.clear();
            } else if self.start.len() < REMOTE_PREFIX.len() {
                self.start.push(b);
            }
        }
        sign
    }
}

impl Git {
    /// `git <subcommand>` working on the repository at `git_dir`, with a clean environment and
    /// no standard input. It runs in this process's directory, so relative URLs given by the
    /// user mean what they meant to the user.
    pub(crate) fn new(subcommand: &'static str, git_dir: &Path) -> Self {
        let mut cmd = Command::new("git");
        for var in LOCAL_ENV {
            cmd.env_remove(var);
        }
        cmd.env("GIT_DIR", git_dir).stdin(Stdio::null());
        Git {
            cmd,
            subcommand,
            config: Vec::new(),
            args: Vec::new(),
            live_stderr: false,
            watchdog: None,
            input: None,
        }
    }

    /// Ends the transfer with `remote` when git shows no sign of life for `timeouts.idle`: no
    /// byte on its stdout or stderr, where it is told to report progress (`--progress`)
    /// whatever the user sees. git has no such bound for `git://` and ssh, and over HTTP only
    /// once a connection stands (`http.lowSpeedTime`); a server that accepts and then stays
    /// silent would hold the transfer forever. The remote's progress messages (`remote:`
    /// lines) are life but not data: with nothing else for `timeouts.progress`, the transfer
    /// is ended too, or a server sending progress forever would hold it.
    pub(crate) fn watchdog(mut self, remote: &str, timeouts: Timeouts) -> Self {
        self.watchdog = Some(Watchdog {
            remote: remote.to_owned(),
            timeouts,
        });
        self
    }

    /// Works in `work_dir` as the working tree and current directory, as git does when it runs
    /// inside a repository (a configured remote's relative URL is relative to it).
    pub(crate) fn work_tree(mut self, work_dir: &Path) -> Self {
        self.cmd
            .current_dir(work_dir)
            .env("GIT_WORK_TREE", work_dir);
        self
    }

    /// Runs in `dir`.
    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Adds `-c key=value` for this invocation.
    pub(crate) fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push(format!("{key}={value}"));
        self
    }

    /// Appends arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Appends one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Sets an environment variable for the child.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Applies a transfer's verbosity: `--quiet`/`--verbose`, `--progress`/`--no-progress`,
    /// and lets stderr through to the user when it is wanted live.
    pub(crate) fn verbosity(mut self, v: Verbosity) -> Self {
        match v.level {
            0 => self.args.push("--quiet".into()),
            1 => {}
            _ => self.args.push("--verbose".into()),
        }
        match v.progress {
            Some(true) => self.args.push("--progress".into()),
            Some(false) => self.args.push("--no-progress".into()),
            None => {}
        }
        self.live_stderr = v.live();
        self
    }

    /// Gives the child `lines` on its standard input, one a line: how a list as long as the
    /// number of atoms or refs reaches git (`--stdin`), never on the command line, whose size
    /// the system bounds.
    pub(crate) fn stdin_lines<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut input = self.input.take().unwrap_or_default();
        for line in lines {
            input.extend_from_slice(line.as_ref());
            input.push(b'\n');
        }
        self.input = Some(input);
        self
    }

    /// Gives the child `bytes` on its standard input.
    pub(crate) fn stdin_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.input = Some(bytes);
        self
    }

    /// Runs the command to completion; its stdout and (unless live) stderr are captured.
    pub(crate) fn output(mut self) -> Result<Output, StoreError> {
        for c in &self.config {
            self.cmd.arg("-c").arg(c);
        }
        let watchdog = self.watchdog.take();
        self.cmd.arg(self.subcommand);
        if watchdog.is_some() {
            // Progress is the sign of life the watchdog looks for: always asked for (from the
            // commands that report any; `ls-remote` has only its answer), and passed on to the
            // user only when they see git's diagnostics live.
            let args = self
                .args
                .iter()
                .filter(|a| *a != "--progress" && *a != "--no-progress");
            if self.subcommand != "ls-remote" {
                self.cmd.arg("--progress");
            }
            self.cmd.args(args);
        } else {
            self.cmd.args(&self.args);
        }
        let live_stderr = self.live_stderr && watchdog.is_none();
        self.cmd
            .stdin(if self.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(if live_stderr {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        tracing::debug!(cmd = ?self.cmd, watchdog = ?watchdog.as_ref().map(|w| w.timeouts), "running git");
        let spawn = spawn_error(self.subcommand);
        let mut child = self.cmd.spawn().map_err(&spawn)?;
        // The input is written on a thread while git's output is read, so neither side waits on
        // a full pipe.
        let writer = match (self.input.take(), child.stdin.take()) {
            (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || {
                let written = stdin.write_all(&input);
                drop(stdin);
                written
            })),
            _ => None,
        };
        let out = match &watchdog {
            Some(watchdog) => supervise(child, self.subcommand, watchdog, self.live_stderr)?,
            None => child.wait_with_output().map_err(&spawn)?,
        };
        // git stopping early (a bad pack, a refused push) closes the pipe: its own error says
        // more.
        if let Some(Ok(Err(e))) = writer.map(std::thread::JoinHandle::join) {
            if out.status.success() {
                return Err(spawn(e));
            }
        }
        Ok(out)
    }

    /// Runs the command with `input` as its standard input, to completion; stdout and stderr
    /// are captured.
    pub(crate) fn pipe_in(mut self, input: &mut dyn Read) -> Result<Output, StoreError> {
        for c in &self.config {
            self.cmd.arg("-c").arg(c);
        }
        self.cmd
            .arg(self.subcommand)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        tracing::debug!(cmd = ?self.cmd, "running git with input");
        let spawn = spawn_error(self.subcommand);
        let mut child = self.cmd.spawn().map_err(&spawn)?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // git's output is read on threads while the input is written, so neither side waits on
        // a full pipe.
        let drain = |stream: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                if let Some(mut stream) = stream {
                    let _ = stream.read_to_end(&mut kept);
                }
                kept
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let copied = std::io::copy(input, &mut stdin);
        drop(stdin);
        let status = child.wait().map_err(&spawn)?;
        let out = Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        // git stopping early (a bad pack) closes the pipe: its own error says more.
        if let Err(e) = copied {
            if out.status.success() {
                return Err(spawn(e));
            }
        }
        Ok(out)
    }

    /// Runs the command and requires success; returns its stdout.
    pub(crate) fn run(self) -> Result<Vec<u8>, StoreError> {
        let subcommand = self.subcommand;
        let out = self.output()?;
        if !out.status.success() {
            return Err(failure(subcommand, &out));
        }
        Ok(out.stdout)
    }
}

/// Reads `child`'s stdout and stderr (passing stderr on when `live`) and kills it when neither
/// gives a byte for `watchdog.timeouts.idle`, or nothing but the remote's progress messages for
/// `watchdog.timeouts.progress`.
fn supervise(
    mut child: Child,
    subcommand: &'static str,
    watchdog: &Watchdog,
    live: bool,
) -> Result<Output, StoreError> {
    let (tx, rx) = mpsc::channel::<Sign>();
    let reader =
        |stream: Option<Box<dyn Read + Send>>, live: bool, mut lines: Option<StderrLines>| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let Some(mut stream) = stream else {
                    return kept;
                };
                let mut buf = [0u8; 8192];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            kept.extend_from_slice(&buf[..n]);
                            if live {
                                let _ = std::io::stderr().write_all(&buf[..n]);
                            }
                            let sign = lines.as_mut().map_or(Sign::Data, |l| l.sign(&buf[..n]));
                            let _ = tx.send(sign);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                kept
            })
        };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        false,
        None,
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        live,
        Some(StderrLines::default()),
    );
    drop(tx);
    let stalled = watch(&rx, watchdog.timeouts);
    if let Some(stall) = stalled {
        tracing::debug!(remote = %watchdog.remote, ?stall, "no progress, killing git");
        let _ = child.kill();
    }
    let status = child.wait().map_err(spawn_error(subcommand))?;
    if let Some(stall) = stalled {
        // git's own children (index-pack, ssh, a remote helper) may hold the pipes a moment
        // longer; they end once git is gone, and what they would say is not needed.
        return Err(StoreError::Remote {
            remote: watchdog.remote.clone(),
            what: stall.describe(watchdog.timeouts),
            source: None,
        });
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Why a transfer was given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stall {
    /// No sign of life for `atom.timeout`.
    Silent,
    /// Only the remote's progress messages for `atom.progressTimeout`.
    OnlyProgress,
}

impl Stall {
    /// The error's text.
    pub(crate) fn describe(self, timeouts: Timeouts) -> String {
        match self {
            Stall::Silent => format!(
                "no progress for {} s, gave up (the limit is `atom.timeout`, in seconds)",
                timeouts.idle.as_secs()
            ),
            Stall::OnlyProgress => format!(
                "progress messages but no data for {} s, gave up (the limit is \
                 `atom.progressTimeout`, in seconds)",
                timeouts.progress.as_secs()
            ),
        }
    }
}

/// Follows the signs of life on `rx` until every sender is gone (`None`) or the transfer
/// stalls.
fn watch(rx: &mpsc::Receiver<Sign>, timeouts: Timeouts) -> Option<Stall> {
    let (mut life, mut data) = (std::time::Instant::now(), std::time::Instant::now());
    loop {
        let idle_left = timeouts.idle.checked_sub(life.elapsed());
        let progress_left = timeouts.progress.checked_sub(data.elapsed());
        let left = match (idle_left, progress_left) {
            (None, _) => return Some(Stall::Silent),
            (_, None) => return Some(Stall::OnlyProgress),
            (Some(a), Some(b)) => a.min(b),
        };
        match rx.recv_timeout(left) {
            Ok(sign) => {
                life = std::time::Instant::now();
                if sign == Sign::Data {
                    data = life;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The error for a git process that exited unsuccessfully.
pub(crate) fn failure(command: &'static str, out: &Output) -> StoreError {
    StoreError::Git {
        command,
        message: first_error_line(&out.stderr),
    }
}

/// One ref's line of `git push --porcelain` output: `<flag>\t<from>:<to>\t<summary>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushLine {
    /// `*` new, ` ` fast-forward, `+` forced, `=` up to date, `-` deleted, `!` rejected.
    pub flag: char,
    /// The destination ref.
    pub to: String,
    /// The summary, trimmed (empty if absent).
    pub summary: String,
}

/// The ref lines of `git push --porcelain` output; other lines are skipped.
pub(crate) fn parse_push_porcelain(stdout: &[u8]) -> Vec<PushLine> {
    let stdout = String::from_utf8_lossy(stdout);
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (flag, spec, summary) = (fields.next()?, fields.next()?, fields.next());
            let flag = flag.chars().next().filter(|_| flag.chars().count() == 1)?;
            let (_, to) = spec.split_once(':')?;
            Some(PushLine {
                flag,
                to: to.to_owned(),
                summary: summary.unwrap_or_default().trim().to_owned(),
            })
        })
        .collect()
}

/// The paths of `git status --porcelain=v1 -z` output.
pub(crate) fn parse_status_z(stdout: &[u8]) -> Vec<String> {
    let mut paths = Vec::new();
    let mut records = stdout.split(|b| *b == 0);
    while let Some(rec) = records.next() {
        if rec.len() < 4 {
            continue;
        }
        paths.push(String::from_utf8_lossy(&rec[3..]).into_owned());
        // Renames and copies carry the original path as a second record.
        if matches!(rec[0], b'R' | b'C') {
            records.next();
        }
    }
    paths
}

/// The `(key, value)` pairs of `git config -z --get-regexp` output.
pub(crate) fn parse_config_z(stdout: &[u8]) -> Vec<(String, Vec<u8>)> {
    stdout
        .split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .map(|record| match record.iter().position(|b| *b == b'\n') {
            Some(i) => (
                String::from_utf8_lossy(&record[..i]).into_owned(),
                record[i + 1..].to_vec(),
            ),
            // A key without `=` in the config file: a boolean `true` with no value.
            None => (String::from_utf8_lossy(record).into_owned(), Vec::new()),
        })
        .collect()
}

/// The `(scope, key, value)` triples of `git config -z --list --show-scope` output.
pub(crate) fn parse_config_scoped_z(stdout: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let mut records = stdout.split(|b| *b == 0).filter(|r| !r.is_empty());
    let mut out = Vec::new();
    while let (Some(scope), Some(entry)) = (records.next(), records.next()) {
        let scope = String::from_utf8_lossy(scope).into_owned();
        for (key, value) in parse_config_z(entry) {
            out.push((scope.clone(), key, value));
        }
    }
    out
}

/// The line of a git process's stderr that says what went wrong: the first `fatal:` or `error:`
/// line without its prefix, else the last line.
pub fn first_error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or(lines.last())
        .map(|l| {
            l.trim_start_matches("fatal: ")
                .trim_start_matches("error: ")
                .to_owned()
        })
        .unwrap_or_else(|| "no diagnostics".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_porcelain_lines() {
        let out = b"To /tmp/remote.git\n\
            *\tabc:refs/atoms/foo/1.0.0\t[new reference]\n\
            =\tdef:refs/atoms/_root\t[up to date]\n\
            !\t123:refs/heads/main\t[rejected] (stale info)\n\
            Done\n";
        let lines = parse_push_porcelain(out);
        let shown: Vec<(char, &str, &str)> = lines
            .iter()
            .map(|l| (l.flag, l.to.as_str(), l.summary.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ('*', "refs/atoms/foo/1.0.0", "[new reference]"),
                ('=', "refs/atoms/_root", "[up to date]"),
                ('!', "refs/heads/main", "[rejected] (stale info)"),
            ]
        );
    }

    #[test]
    fn status_records() {
        let out = b" M a/b\0?? a/new file\0R  a/to\0a/from\0";
        assert_eq!(parse_status_z(out), ["a/b", "a/new file", "a/to"]);
    }

    #[test]
    fn config_records() {
        let out = b"atom.alias.gh\ngithub.com\0atom.flag\0";
        assert_eq!(
            parse_config_z(out),
            [
                ("atom.alias.gh".to_owned(), b"github.com".to_vec()),
                ("atom.flag".to_owned(), Vec::new())
            ]
        );
    }

    #[test]
    fn scoped_config_records() {
        let out = b"global\0user.name\nMe\0command\0http.extraheader\nX: y\0command\0a.flag\0";
        assert_eq!(
            parse_config_scoped_z(out),
            [
                ("global".to_owned(), "user.name".to_owned(), b"Me".to_vec()),
                (
                    "command".to_owned(),
                    "http.extraheader".to_owned(),
                    b"X: y".to_vec()
                ),
                ("command".to_owned(), "a.flag".to_owned(), Vec::new()),
            ]
        );
    }

    #[test]
    fn remote_progress_is_life_but_not_data() {
        let mut lines = StderrLines::default();
        assert_eq!(lines.sign(b"remote: Counting objects: 1\r"), Sign::Life);
        assert_eq!(lines.sign(b"remote: Coun"), Sign::Life);
        // The rest of a remote line, however it is cut, is still the remote's.
        assert_eq!(lines.sign(b"ting objects: 2\rremote: x\n"), Sign::Life);
        assert_eq!(lines.sign(b"Receiving objects:  50% (1/2)\r"), Sign::Data);
        assert_eq!(lines.sign(b"\n\n"), Sign::Life);
        assert_eq!(lines.sign(b"rem"), Sign::Life);
        assert_eq!(lines.sign(b"ote\n"), Sign::Data);
    }

    #[test]
    fn a_process_that_cannot_start_says_why() {
        let error = |errno| {
            let source = std::io::Error::from_raw_os_error(errno);
            spawn_error("push")(source).to_string()
        };
        // E2BIG: the arguments, not git, are the problem.
        assert_eq!(error(7), "cannot run `git push`: too many arguments");
        // ENOENT: git is not there.
        assert_eq!(error(2), "cannot run `git push` (is git on PATH?)");
        // Anything else: the cause, chained, says it.
        assert_eq!(error(13), "cannot run `git push`");
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            first_error_line(b"hint: x\nfatal: no such remote\n"),
            "no such remote"
        );
        assert_eq!(first_error_line(b"one\ntwo\n"), "two");
        assert_eq!(first_error_line(b""), "no diagnostics");
    }
}
