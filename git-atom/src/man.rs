//! Man pages generated from the clap definitions: `git-atom.1` and one page per subcommand.

/// `(file name, roff contents)` for every page.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = crate::command().name("git-atom");
    let mut pages = Vec::new();
    let mut render = |name: String, cmd: clap::Command| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .title(name.to_uppercase())
            .section("1")
            .source(format!("atom {}", env!("CARGO_PKG_VERSION")))
            .manual("Git Manual")
            .render(&mut buf)
            .expect("rendering into memory does not fail");
        pages.push((format!("{name}.1"), buf));
    };
    render("git-atom".into(), cmd.clone());
    for sub in cmd.get_subcommands() {
        let name = format!("git-atom-{}", sub.get_name());
        render(
            name.clone(),
            sub.clone()
                .name(name)
                .bin_name(format!("git atom {}", sub.get_name())),
        );
        // Nested subcommands (`git atom hook install`) get a page each; hidden ones do not.
        for nested in sub.get_subcommands().filter(|n| !n.is_hide_set()) {
            let name = format!("git-atom-{}-{}", sub.get_name(), nested.get_name());
            render(
                name.clone(),
                nested.clone().name(name).bin_name(format!(
                    "git atom {} {}",
                    sub.get_name(),
                    nested.get_name()
                )),
            );
        }
    }
    pages
}

/// The man page of `git atom <topic...>`: `git-atom` for none, `git-atom-<sub>` and
/// `git-atom-<sub>-<nested>` as [`pages`] names them. An unknown subcommand is an error naming
/// the ones there are.
fn page_for(topic: &[&str]) -> Result<String, String> {
    let mut cmd = crate::command();
    let mut page = "git-atom".to_owned();
    let mut said = "git atom".to_owned();
    for word in topic {
        let Some(sub) = cmd
            .get_subcommands()
            .find(|s| s.get_name() == *word || s.get_all_aliases().any(|a| a == *word))
            .filter(|s| !s.is_hide_set())
            .cloned()
        else {
            let known: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("`{}`", s.get_name()))
                .collect();
            return Err(if known.is_empty() {
                format!(
                    "`{said}` has no subcommand `{word}`: try `git atom help {}`",
                    &said[9..]
                )
            } else {
                format!(
                    "`{said}` has no subcommand `{word}`: the subcommands are {}",
                    known.join(", ")
                )
            });
        };
        page = format!("{page}-{}", sub.get_name());
        said = format!("{said} {}", sub.get_name());
        cmd = sub;
    }
    Ok(page)
}

/// `git atom help [<subcommand>...]`, as `git help push` and `cargo help publish`: opens the
/// page `git help git-atom-<subcommand>` opens, by running that (git picks the viewer:
/// `help.format`, `man.viewer`). `None` when `args` ask for something else.
pub fn help(args: &[std::ffi::OsString]) -> Option<u8> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let at = words.iter().position(|w| !w.starts_with('-'))?;
    if words[at] != "help" {
        return None;
    }
    let topic: Vec<&str> = words[at + 1..]
        .iter()
        .filter(|w| !w.starts_with('-'))
        .copied()
        .collect();
    let page = match page_for(&topic) {
        Ok(page) => page,
        Err(message) => {
            eprintln!("error: {message}");
            return Some(crate::EXIT_USAGE);
        }
    };
    // Opening a manual is git's own business, not the store's: it reads nothing of ours.
    match std::process::Command::new("git")
        .args(["help", &page])
        .status()
    {
        Ok(status) => Some(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(crate::EXIT_FAILURE),
        ),
        Err(e) => {
            eprintln!("error: cannot run `git help {page}`: {e}");
            Some(crate::EXIT_FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_are_named_as_installed() {
        assert_eq!(super::page_for(&[]).unwrap(), "git-atom");
        assert_eq!(super::page_for(&["ls"]).unwrap(), "git-atom-ls");
        assert_eq!(
            super::page_for(&["hook", "install"]).unwrap(),
            "git-atom-hook-install"
        );
        let err = super::page_for(&["publsh"]).unwrap_err();
        assert!(
            err.contains("`publsh`") && err.contains("`publish`"),
            "{err}"
        );
        for (name, _) in super::pages() {
            let name = name.trim_end_matches(".1");
            let topic: Vec<&str> = name.split('-').skip(2).collect();
            assert_eq!(super::page_for(&topic).unwrap(), name);
        }
    }
}
