//! `man/eka-run.1` is generated from the clap definitions; this test fails when it drifts.
//! Regenerate with `UPDATE_MAN=1 cargo test -p eka-run --test it man`.

use std::path::PathBuf;

/// The page: eka-run's own, then a section per subcommand.
fn render() -> String {
    let cmd = eka_run::cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .expect("render the man page");
    // The subcommands are described below, not in pages of their own.
    let mut page = String::from_utf8(out).expect("roff is UTF-8");
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        page = page.replace(
            &format!("eka\\-run\\-{name}(1)"),
            &format!("eka\\-run {name}"),
        );
    }
    let page = page.replace("eka\\-run\\-help(1)", "eka\\-run help");
    let mut out = page.into_bytes();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("eka-run {}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(name.clone())
            .bin_name(name.clone());
        let man = clap_mangen::Man::new(sub);
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part).unwrap();
        man.render_description_section(&mut part).unwrap();
        man.render_options_section(&mut part).unwrap();
        let part = String::from_utf8(part).unwrap();
        let part = part
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH DESCRIPTION\n", "")
            .replace(".SH OPTIONS", ".SS Options");
        out.extend_from_slice(part.as_bytes());
    }
    String::from_utf8(out).expect("roff is UTF-8")
}

#[test]
fn man_page_matches_the_cli() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../man/eka-run.1");
    let page = render();
    if std::env::var_os("UPDATE_MAN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &page).expect("write man/eka-run.1");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "man/eka-run.1 is out of date with the clap definitions: regenerate it with \
         `UPDATE_MAN=1 cargo test -p eka-run --test it man`"
    );
}
