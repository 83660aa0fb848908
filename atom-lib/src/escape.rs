//! Showing text that came from input (paths, URLs, names, messages of other programs) safely:
//! control characters and invisible ones (see [`crate::label::is_invisible`]) are written as
//! escapes, so a directory named with an ESC byte or a newline cannot drive the user's
//! terminal or forge a line of output; everything else is shown as it is.

use std::fmt;

/// `text`, shown with its control and invisible characters escaped (`\n`, `\t`, `\r`,
/// `\u{1b}`...).
///
/// ```
/// assert_eq!(atom_lib::escape::escaped("a\u{1b}[31mb\n").to_string(), "a\\u{1b}[31mb\\n");
/// assert_eq!(atom_lib::escape::escaped("café \"x\"").to_string(), "café \"x\"");
/// ```
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// See [`escaped`].
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() || crate::label::is_invisible(c) => {
                    write!(f, "\\u{{{:x}}}", c as u32)?
                }
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisibles_are_escaped_and_nothing_else() {
        assert_eq!(
            escaped("dir\u{1b}]0;x\u{7}\r\n\u{202e}").to_string(),
            "dir\\u{1b}]0;x\\u{7}\\r\\n\\u{202e}"
        );
        let plain = "pkgs/Café 'ok' \"fine\" \\ ひらがな";
        assert_eq!(escaped(plain).to_string(), plain);
    }
}
