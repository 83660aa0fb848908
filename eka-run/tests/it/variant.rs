//! Variants: `--with`, `--enable` and `--disable` choose among the options an atom declares in
//! `[provide]` and `[support]`, checked against its manifest before Nix starts; the selection
//! is `config.variant`, and each variant is an identity and an evaluation-cache entry of its
//! own. nix-instantiate is a wrapper that says on stderr that it started, then runs the real one.

use crate::build::{Fixture, ATOM, NIX_STARTED as STARTED};
use atom_tests::sandbox::*;

/// The build fixture's atom, with `[support]` options and members that show the selection.
fn fixture() -> Fixture {
    let f = Fixture::new(&ATOM.replace(
        "Greeting = ",
        r#"Picked = config.variant;
  Flavour = script "flavour-1.0" "flavour" "echo ${if config.variant.static then "static" else "dynamic"} ${toString config.variant.feature}";
  Greeting = "#,
    ));
    f.sb.write(
        "atom/atom.toml",
        "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n\
         [support]\nstatic = false\nfeature = [\"F=1\", \"G=2\"]\n",
        0o644,
    );
    // An atom with a `[provide]` option, not locked: its choices are checked before its lock.
    f.sb.write(
        "cc/atom.toml",
        "[atom]\nid = \"cc\"\nversion = \"1.0.0\"\n\n\
         [deps.gcc]\npath = \"../gcc\"\n\n[deps.clang]\npath = \"../clang\"\n\n\
         [provide]\ncc = [\"gcc\", \"clang\"]\n\n[support]\nstatic = true\n",
        0o644,
    );
    f.sb.write("cc/mod.nix", "{ }\n", 0o644);
    f.sb.write("plain/mod.nix", "{ A = 1; }\n", 0o644);
    f.wrap_nix();
    f.sb.chown();
    f
}

/// `eka-run <sub> --nix-instantiate <wrapper> --config <config> <args...>`.
fn eka(f: &Fixture, sub: &str, args: &[&str]) -> std::process::Output {
    output(
        f.sb.eka_run()
            .arg(sub)
            .arg("--nix-instantiate")
            .arg(f.sb.path("wrap/bin/nix-instantiate"))
            .args(["--config", &f.config()])
            .args(args),
    )
}

/// A successful `eka`: stdout, and whether Nix started.
fn ok(f: &Fixture, sub: &str, args: &[&str]) -> (String, bool) {
    let out = eka(f, sub, args);
    assert!(out.status.success(), "{args:?}: stderr: {}", stderr(&out));
    (stdout(&out), stderr(&out).contains(STARTED))
}

fn plan(f: &Fixture, args: &[&str]) -> (serde_json::Value, bool) {
    let (text, started) = ok(f, "plan", &[&["--json", "atom", "flavour"], args].concat());
    (serde_json::from_str(&text).unwrap(), started)
}

fn cache_entries(f: &Fixture) -> usize {
    std::fs::read_dir(f.sb.path("home/.cache/atom/eval")).map_or(0, |d| d.count())
}

#[test]
fn each_variant_is_its_own_evaluation_and_identity() {
    let f = fixture();
    // The defaults come from atom.toml: `static = false`, a list of flags off.
    let (picked, started) = ok(&f, "eval", &["--json", "atom", "picked"]);
    assert!(started);
    assert_eq!(picked, "{\"feature\":[],\"static\":false}\n");
    let (picked, _) = ok(
        &f,
        "eval",
        &[
            "--json", "--enable", "static", "--enable", "feature", "atom", "picked",
        ],
    );
    assert_eq!(picked, "{\"feature\":[\"F=1\",\"G=2\"],\"static\":true}\n");

    // Nothing chosen and the defaults chosen explicitly are one evaluation.
    let (defaults, started) = plan(&f, &[]);
    assert!(started);
    let entries = cache_entries(&f);
    let (explicit, started) = plan(&f, &["--disable", "static", "--disable", "feature"]);
    assert!(!started, "the explicit defaults come from the cache");
    assert_eq!(explicit, defaults);
    assert_eq!(cache_entries(&f), entries);
    let config = format!(
        r#"{{"busybox":"{}","variant":{{"feature":[],"static":false}}}}"#,
        f.busybox
    );
    assert_eq!(
        defaults["config"],
        blake3::hash(config.as_bytes()).to_hex().to_string(),
        "the config part covers the selection, defaults included"
    );

    // Another variant: another configuration, identity, derivation and cache entry.
    let (chosen, started) = plan(&f, &["--enable", "static"]);
    assert!(started, "a new variant is a new evaluation");
    assert_eq!(cache_entries(&f), entries + 1);
    assert_eq!(chosen["atom"], defaults["atom"]);
    assert_eq!(chosen["lock"], defaults["lock"]);
    assert_eq!(chosen["system"], defaults["system"]);
    assert_ne!(chosen["config"], defaults["config"]);
    assert_ne!(chosen["identity"], defaults["identity"]);
    assert_ne!(chosen["drvPath"], defaults["drvPath"]);
    let (again, started) = plan(&f, &["--enable", "static"]);
    assert!(!started);
    assert_eq!(again, chosen);

    // The selection reaches the build.
    let (ran, _) = ok(&f, "run", &["--enable", "feature", "atom", "flavour"]);
    assert_eq!(ran, "dynamic F=1 G=2\n");
    let (ran, _) = ok(&f, "run", &["--enable", "static", "atom", "flavour"]);
    assert_eq!(ran, "static\n");
}

#[test]
fn a_bad_choice_is_one_line_before_nix_starts() {
    let f = fixture();
    let refused = |args: &[&str], message: &str| {
        let out = eka(&f, "eval", args);
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (Some(125), format!("eka-run: {message}\n")),
            "{args:?}"
        );
    };
    let valid = "--with cc=<gcc|clang>, --enable|--disable static";
    refused(
        &["--with", "ld=mold", "cc"],
        &format!("`--with ld=mold`: the atom has no variant `ld`; choose from {valid}"),
    );
    refused(
        &["--with", "cc=icc", "cc"],
        "`--with cc=icc`: `icc` is not a candidate for `cc`; choose --with cc=<gcc|clang>",
    );
    refused(
        &["--enable", "cc", "cc"],
        "`--enable cc`: `cc` is a [provide] variant; choose --with cc=<gcc|clang>",
    );
    refused(
        &["--with", "static=false", "cc"],
        "`--with static=false`: `static` is a [support] variant; choose --enable|--disable static",
    );
    refused(
        &["--enable", "static", "--disable", "static", "atom"],
        "`--disable static` contradicts `--enable static`",
    );
    refused(
        &["--enable", "static", "plain"],
        "`--enable static`: the atom declares no variants (no `[provide]` or `[support]`)",
    );
    let out =
        output(
            f.sb.eka_run()
                .args(["eval", "--config", r#"{"variant":{"static":true}}"#, "atom"]),
        );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr(&out),
        "eka-run: invalid --config `{\"variant\":{\"static\":true}}`: `variant` is reserved for \
         the atom's variants: choose them with --with, --enable and --disable\n"
    );
    let out = eka(&f, "eval", &["--with", "cc", "cc"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("invalid value 'cc' for '--with <NAME=CANDIDATE>': expected NAME=CANDIDATE, e.g. cc=clang"),
        "{}",
        stderr(&out)
    );
    // The positive control: valid choices pass, to the next check (the atom is not locked).
    let out = eka(
        &f,
        "eval",
        &["--with", "cc=clang", "--disable", "static", "cc"],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("atom.lock` does not exist, and the atom declares dependencies"),
        "{}",
        stderr(&out)
    );
    let (value, _) = ok(&f, "eval", &["--json", "plain", "a"]);
    assert_eq!(value, "1\n");
}
