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
