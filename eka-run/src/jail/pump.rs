//! The parent's side of the jail's pipes: the evaluator's stdout and stderr copied (or its stdout
//! kept), and what the sandbox reports before the program starts.

use std::io::{self, Write as _};
use std::os::fd::OwnedFd;

use crate::limits;
use crate::nix::command::ErrorLine;

/// What [`pump`] saw.
#[derive(Debug, Default)]
pub(super) struct Pumped {
    /// The child's stdout, when captured.
    pub(super) stdout: Vec<u8>,
    /// What the sandbox reported on its status pipe (empty: the program started).
    pub(super) report: String,
    /// Whether the program said on stderr that it ran out of memory.
    pub(super) out_of_memory: bool,
    /// The first line of its stderr that starts with `error:`.
    pub(super) error: Option<String>,
}

/// Copy the child's stdout and stderr to ours until both close (a closed stdout of ours, e.g. a
/// broken pipe, silently discards the rest) or, with `capture`, keep its stdout; and collect
/// what it reports on `status`.
pub(super) fn pump(status: OwnedFd, out: OwnedFd, err: OwnedFd, capture: bool) -> Pumped {
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
    let mut error = ErrorLine::default();
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
                    error.feed(data);
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
        error: error.finish(),
    }
}
