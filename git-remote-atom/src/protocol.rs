//! The remote helper protocol (`gitremote-helpers(7)`): one command per line from git, replies
//! each flushed at once. The streams are parameters, so the protocol runs the same over a
//! process's stdin/stdout and over buffers in tests.

use std::io::{self, BufRead, Write};

use crate::remote::{self, Remote};
use crate::{fetch, list, push};

/// The capabilities this helper offers.
const CAPABILITIES: &str = "fetch\npush\noption\n\n";

/// Why the helper stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading git's commands or writing the replies failed.
    #[error("talking to git")]
    Io(#[from] io::Error),
    /// The URL or the configuration is unusable.
    #[error(transparent)]
    Start(#[from] remote::StartError),
    /// A `list` failed.
    #[error(transparent)]
    List(#[from] list::Error),
    /// A `fetch` failed.
    #[error(transparent)]
    Fetch(#[from] fetch::Error),
    /// A `push` failed.
    #[error(transparent)]
    Push(#[from] push::Error),
    /// git sent something this helper does not speak.
    #[error("{0}")]
    Protocol(String),
}

impl Error {
    /// A closed stdin or stdout means git went away: not an error worth a word.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Serves git's commands for `url` from `input`, replying on `output`, until git is done.
/// `named` says whether git runs the helper for a configured remote (`origin` of a clone)
/// rather than for a URL given on the command line (`git ls-remote atom::<url>`).
pub fn serve(
    url: &str,
    named: bool,
    mut input: impl BufRead,
    mut output: impl Write,
) -> Result<(), Error> {
    let mut line = String::new();
    // Read git's first command before anything can fail: a helper that exits while git is
    // still writing to it makes git die of SIGPIPE instead of reporting the error. git reports
    // a helper that dies before answering `capabilities` with a second, vaguer line; so answer
    // it, read the command that follows (git then waits for the reply and sees the helper end),
    // then fail.
    let got = input.read_line(&mut line)?;
    let mut remote = match Remote::start(url, named) {
        Ok(remote) => remote,
        Err(e) => {
            if line.trim_end() == "capabilities" {
                reply(&mut output, CAPABILITIES)?;
                line.clear();
                input.read_line(&mut line)?;
            }
            return Err(e.into());
        }
    };
    if got == 0 {
        return Ok(());
    }
    loop {
        let command = line.trim_end_matches(['\n', '\r']).to_owned();
        tracing::debug!(command, "received");
        match command.split_once(' ').unwrap_or((&command, "")) {
            ("", _) => return Ok(()),
            ("capabilities", _) => reply(&mut output, CAPABILITIES)?,
            ("list", arg) => {
                let text = remote.list(arg == "for-push")?;
                reply(&mut output, &text)?;
            }
            ("option", rest) => {
                let answer = remote.option(rest);
                reply(&mut output, &format!("{answer}\n"))?;
            }
            ("fetch", _) => {
                let batch = read_batch(&mut input, &command)?;
                remote.fetch(&batch)?;
                reply(&mut output, "\n")?;
            }
            ("push", _) => {
                let batch = read_batch(&mut input, &command)?;
                let text = remote.push(&batch)?;
                reply(&mut output, &text)?;
            }
            (other, _) => {
                return Err(Error::Protocol(format!(
                    "unknown command `{}` from git",
                    other.escape_debug()
                )))
            }
        }
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
    }
}

/// Writes a reply and flushes it.
fn reply(output: &mut impl Write, text: &str) -> io::Result<()> {
    output.write_all(text.as_bytes())?;
    output.flush()
}

/// The lines of a batch (`fetch ...` or `push ...`), starting with `first`, up to a blank line.
fn read_batch(input: &mut impl BufRead, first: &str) -> io::Result<Vec<String>> {
    let mut batch = vec![first.to_owned()];
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(batch);
        }
        let l = line.trim_end_matches(['\n', '\r']);
        if l.is_empty() {
            return Ok(batch);
        }
        batch.push(l.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(url: &str, input: &str) -> (Result<(), Error>, String) {
        let mut out = Vec::new();
        let result = serve(url, false, input.as_bytes(), &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_bad_url_still_answers_capabilities_then_fails() {
        let (result, out) = served("/nowhere::9lives", "capabilities\n\n");
        assert_eq!(out, CAPABILITIES);
        let text = atom_lib::error_chain(&result.unwrap_err());
        assert!(text.contains("invalid atom label `9lives`"), "{text}");
    }

    #[test]
    fn options_are_answered_without_a_remote() {
        let (result, out) = served(
            "/nowhere::foo",
            "capabilities\noption verbosity 2\noption progress maybe\noption dry-run true\noption depth 1\n\n",
        );
        result.unwrap();
        assert_eq!(
            out,
            format!("{CAPABILITIES}ok\nunsupported\nok\nunsupported\n")
        );
    }

    #[test]
    fn unknown_commands_are_refused() {
        let (result, out) = served("/nowhere::foo", "capabilities\nconnect git-upload-pack\n");
        assert_eq!(out, CAPABILITIES);
        assert_eq!(
            result.unwrap_err().to_string(),
            "unknown command `connect` from git"
        );
    }

    #[test]
    fn end_of_input_is_a_clean_end() {
        let (result, out) = served("/nowhere::foo", "");
        result.unwrap();
        assert_eq!(out, "");
    }
}
