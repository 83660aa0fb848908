//! Variants end to end through both binaries: an atom with a `[provide]` option over two
//! sibling atoms, locked by `git atom resolve`, evaluated by `eka-run` with each candidate; its
//! code reaches the chosen one as `from.${config.variant.<option>}`.

use atom_tests::{require_program, TestEnv};

fn manifest(label: &str, extra: &str) -> String {
    format!("[atom]\nid = \"{label}\"\nversion = \"1.0.0\"\n{extra}")
}

/// A monorepo with sibling atoms `gcc` and `clang` and `app`, which provides `cc` over them and
/// supports the toggle `static` and (with `flags`) the list `feature`; locked. The app's path.
fn monorepo(env: &TestEnv, flags: bool) -> std::path::PathBuf {
    let repo = env.init("mono");
    env.write(&repo, "README", "a monorepo\n");
    env.commit_all(&repo, "root");
    for cc in ["gcc", "clang"] {
        env.write(&repo, &format!("pkgs/{cc}/atom.toml"), &manifest(cc, ""));
        env.write(
            &repo,
            &format!("pkgs/{cc}/mod.nix"),
            &format!("{{ Name = \"{cc}\"; }}\n"),
        );
    }
    env.write(
        &repo,
        "pkgs/app/atom.toml",
        &manifest(
            "app",
            &format!(
                "\n[deps.gcc]\npath = \"../gcc\"\n\n[deps.clang]\npath = \"../clang\"\n\n\
             [provide]\ncc = [\"gcc\", \"clang\"]\n\n[support]\nstatic = false\n{}",
                if flags {
                    "feature = [\"F=1\", \"G=2\"]\n"
                } else {
                    ""
                }
            ),
        ),
    );
    let feature = if flags {
        "  Feature = config.variant.feature;\n"
    } else {
        ""
    };
    env.write(
        &repo,
        "pkgs/app/mod.nix",
        &format!("{{\n  Cc = from.${{config.variant.cc}}.name;\n  Static = config.variant.static;\n{feature}}}\n"),
    );
    let app = repo.join("pkgs/app");
    env.git(&app, ["atom", "resolve"]).success();
    app
}

#[test]
fn a_chosen_candidate_is_the_dependency_the_option_names() {
    require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
    let app = monorepo(&env, false);

    let eval = |args: &[&str]| {
        let run = env
            .eka_run(&app, &[&["eval", "--json"], args, &["."]].concat())
            .success();
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()
    };
    assert_eq!(
        eval(&[]),
        serde_json::json!({"cc": "gcc", "static": false}),
        "the defaults: the first candidate"
    );
    assert_eq!(
        eval(&["--with", "cc=clang", "--enable", "static"]),
        serde_json::json!({"cc": "clang", "static": true})
    );
    let run = env
        .eka_run(&app, &["eval", "--with", "cc=tcc", "."])
        .code(125);
    assert_eq!(
        run.stderr,
        "eka-run: `--with cc=tcc`: `tcc` is not a candidate for `cc`; choose --with cc=<gcc|clang>\n"
    );

    // The matrix of the same atom: no [platform], so the variants alone.
    let shown = env.git(&app, ["atom", "show", "--matrix"]).success();
    assert_eq!(
        shown.stdout,
        "any --with cc=gcc --disable static\n\
         any --with cc=gcc --enable static\n\
         any --with cc=clang --disable static\n\
         any --with cc=clang --enable static\n"
    );
}

/// lock.nix completes the selection as eka-run does: the manifest's defaults, the caller's
/// `config.variant` choices checked and put over them; the same values through both.
#[test]
fn lock_nix_completes_the_variant_selection_as_eka_run_does() {
    require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
    let app = monorepo(&env, true);
    let lock_nix = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("atom-nix/lock.nix");
    let system = "x86_64-linux";
    let through_nix = |variant: &str| {
        env.eka_run(
            &app,
            &[
                "nix-instantiate",
                "--eval",
                "--strict",
                "--json",
                "--read-write-mode",
                "-E",
                &format!(
                    "import {} {} {{ config = {{ system = \"{system}\"; {variant} }}; }}",
                    lock_nix.display(),
                    app.display()
                ),
            ],
        )
    };
    let json = |run: atom_tests::Run| -> serde_json::Value {
        let run = run.success();
        serde_json::from_str(&run.stdout).unwrap()
    };
    let eka = |args: &[&str]| {
        json(env.eka_run(
            &app,
            &[&["eval", "--json", "--system", system], args, &["."]].concat(),
        ))
    };
    let defaults = json(through_nix(""));
    assert_eq!(
        defaults,
        serde_json::json!({"cc": "gcc", "static": false, "feature": []})
    );
    assert_eq!(defaults, eka(&[]));
    let chosen = json(through_nix(
        "variant = { cc = \"clang\"; static = true; feature = true; };",
    ));
    assert_eq!(
        chosen,
        serde_json::json!({"cc": "clang", "static": true, "feature": ["F=1", "G=2"]})
    );
    assert_eq!(
        chosen,
        eka(&["--with", "cc=clang", "--enable", "static", "--enable", "feature"])
    );
    // The whole selection, as eka-run gives it, is accepted as it is.
    assert_eq!(
        json(through_nix(
            "variant = { cc = \"clang\"; static = true; feature = [ \"F=1\" \"G=2\" ]; };"
        )),
        chosen
    );
    for (variant, says) in [
        (
            "variant.cc = \"tcc\";",
            "`config.variant.cc = \"tcc\"`: `cc` has no such candidate; choose from \"gcc\", \"clang\"",
        ),
        (
            "variant.lto = true;",
            "the atom has no variant `lto`; choose from cc, feature, static",
        ),
        ("variant.static = \"yes\";", "`static` is a toggle: true or false"),
    ] {
        let run = through_nix(variant);
        assert_ne!(run.code, 0, "{variant}");
        assert!(run.stderr.contains(says), "{variant}: {}", run.stderr);
    }
}
