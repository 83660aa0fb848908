//! Which ssh program a `core.sshCommand` (or `GIT_SSH_COMMAND`) runs, decided as git decides it.
//!
//! git splits the command into words and looks at the first one's file name, in any case and
//! with or without `.exe`: `ssh` is OpenSSH, `plink`, `putty` and `tortoiseplink` are PuTTY's,
//! `simple` takes no options; only another name makes it ask the program itself (`<command> -G <host>`, which OpenSSH alone accepts). The git library looks at the
//! whole command line as one file name instead, so any command with an argument
//! (`ssh -i deploy_key`, the usual CI setup) made it run that probe, an extra ssh process on every
//! connection (about 50 ms here). `ssh.variant`, when set, decides for both.

use std::path::Path;

use gix::protocol::transport::client::blocking_io::ssh::ProgramKind;

/// The kind of ssh program `command` (a shell command line) runs, as git names it from its first
/// word; `None` when git would ask the program (another name, or a line it cannot split).
pub(super) fn kind_of_command(command: &str) -> Option<ProgramKind> {
    let program = first_word(command)?;
    let name = Path::new(&program)
        .file_name()?
        .to_str()?
        .to_ascii_lowercase();
    let name = name.strip_suffix(".exe").unwrap_or(&name);
    match name {
        "ssh" => Some(ProgramKind::Ssh),
        "plink" => Some(ProgramKind::Plink),
        "putty" => Some(ProgramKind::Putty),
        "tortoiseplink" => Some(ProgramKind::TortoisePlink),
        "simple" => Some(ProgramKind::Simple),
        _ => None,
    }
}

/// The first word of `line` as git's `split_cmdline` reads it: whitespace separates words,
/// `'...'` is literal, `"..."` honours `\` before any character, `\` outside quotes escapes
/// the next character. `None` for an empty line or an unterminated quote.
fn first_word(line: &str) -> Option<String> {
    let mut word = String::new();
    let mut chars = line.trim_start().chars();
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => break,
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => word.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    c => word.push(c),
                }
            },
            '\\' => word.push(chars.next()?),
            c => word.push(c),
        }
        started = true;
    }
    started.then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_first_word() {
        let cases = [
            ("ssh", Some(ProgramKind::Ssh)),
            (
                "ssh -i /keys/deploy -o IdentitiesOnly=yes",
                Some(ProgramKind::Ssh),
            ),
            ("  /usr/bin/ssh -p 2222", Some(ProgramKind::Ssh)),
            ("'/opt/my tools/ssh' -v", Some(ProgramKind::Ssh)),
            ("\"/opt/my tools/ssh\" -v", Some(ProgramKind::Ssh)),
            ("SSH.EXE -v", Some(ProgramKind::Ssh)),
            ("plink -batch", Some(ProgramKind::Plink)),
            ("putty", Some(ProgramKind::Putty)),
            ("TortoisePlink.exe", Some(ProgramKind::TortoisePlink)),
            ("simple", Some(ProgramKind::Simple)),
            ("my-ssh-wrapper -i key", None),
            ("ssh.sh -i key", None),
            ("/opt/ssh.d/wrapper", None),
            ("sshpass -p secret ssh", None),
            ("", None),
            ("'ssh", None),
        ];
        for (command, kind) in cases {
            assert_eq!(kind_of_command(command), kind, "{command:?}");
        }
    }

    #[test]
    fn words_split_as_git_splits_them() {
        assert_eq!(first_word("a b").as_deref(), Some("a"));
        assert_eq!(first_word("a\\ b c").as_deref(), Some("a b"));
        assert_eq!(first_word("'a b'c d").as_deref(), Some("a bc"));
        assert_eq!(first_word("\"a \\\" b\" c").as_deref(), Some("a \" b"));
        assert_eq!(first_word("   "), None);
        assert_eq!(first_word("\"open"), None);
    }
}
