//! Variants end to end through both binaries: an atom with a `[provide]` option over two
//! sibling atoms, locked by `git atom resolve`, evaluated by `eka-run` with each candidate; its
//! code reaches the chosen one as `from.${config.variant.<option>}`.

use atom_tests::{require_program, TestEnv};

fn manifest(label: &str, extra: &str) -> String {
    format!("[atom]\nid = \"{label}\"\nversion = \"1.0.0\"\n{extra}")
}

#[test]
fn a_chosen_candidate_is_the_dependency_the_option_names() {
    require_program("nix-instantiate", "nix-bin");
    let env = TestEnv::new();
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
            "\n[deps.gcc]\npath = \"../gcc\"\n\n[deps.clang]\npath = \"../clang\"\n\n\
             [provide]\ncc = [\"gcc\", \"clang\"]\n\n[support]\nstatic = false\n",
        ),
    );
    env.write(
        &repo,
        "pkgs/app/mod.nix",
        "{\n  Cc = from.${config.variant.cc}.name;\n  Static = config.variant.static;\n}\n",
    );
    let app = repo.join("pkgs/app");
    env.git(&app, ["atom", "resolve"]).success();

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
