//! What the command line names: an atom directory or an atom URI.

use std::path::{Path, PathBuf};

/// The atom the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// An atom directory.
    Dir(PathBuf),
    /// An atom URI, as written (aliases are expanded when it is opened).
    Uri(String),
}

impl Spec {
    /// An existing directory is a directory; anything else with a `::` is an atom URI; the rest
    /// is a directory (which then fails to open, naming it).
    pub fn parse(arg: &str) -> Result<Spec, String> {
        if arg.is_empty() {
            return Err("an atom directory or an atom URI is required".into());
        }
        let path = Path::new(arg);
        if !path.is_dir() && arg.contains("::") {
            Ok(Spec::Uri(arg.to_owned()))
        } else {
            Ok(Spec::Dir(path.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_wins_and_a_uri_needs_a_double_colon() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a::b");
        std::fs::create_dir(&odd).unwrap();
        let s = odd.to_str().unwrap();
        assert_eq!(Spec::parse(s).unwrap(), Spec::Dir(odd.clone()));
        assert_eq!(
            Spec::parse("gh:owner/repo::foo@1").unwrap(),
            Spec::Uri("gh:owner/repo::foo@1".into())
        );
        assert_eq!(
            Spec::parse("./atom").unwrap(),
            Spec::Dir(PathBuf::from("./atom"))
        );
        assert!(Spec::parse("").is_err());
    }
}
