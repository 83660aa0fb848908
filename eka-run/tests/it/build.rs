//! `eka-run build`, `run` and `plan` with the real Nix: the atom's derivation is evaluated in
//! the sandbox and built in the user's store, in Nix's own sandbox, with a static busybox (added
//! to the user store with `nix-store --add`) as the builder.

use std::path::PathBuf;

use atom_tests::sandbox::*;

/// An atom whose derivations are built by the busybox at `config.busybox`.
pub const ATOM: &str = r##"let
  bb = "${builtins.path { path = config.busybox; name = "bb"; }}/bin/busybox";
  # A derivation `name` whose output holds the script bin/`bin` running `text`.
  script = name: bin: text: builtins.derivation {
    inherit name;
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" "mkdir -p $out/bin && printf '#!%s sh\n%s\n' ${bb} \"$0\" > $out/bin/$1 && chmod +x $out/bin/$1" text bin ];
  };
in
{
  Hello = script "hello-1.0" "hello" ''echo "hello ${config.greeting or "world"}" "$@"; exit "''${HELLO_EXIT:-0}"'';
  Greeting = config.greeting or "world";
}
"##;

/// What [`Fixture::wrap_nix`]'s nix-instantiate says on stderr when it starts.
pub const NIX_STARTED: &str = "wrapper: nix-instantiate started";

/// A fixture: the user store holds busybox; `atom/` is the atom.
pub struct Fixture {
    pub sb: Sandbox,
    pub busybox: String,
}

impl Fixture {
    pub fn new(mod_nix: &str) -> Self {
        require_nix();
        let busybox = require_static_busybox();
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.path("bb/bin")).unwrap();
        std::fs::copy(&busybox, sb.path("bb/bin/busybox")).unwrap();
        sb.write("atom/mod.nix", mod_nix, 0o644);
        sb.chown();
        let out = output(sb.eka_run().args(["nix-store", "--add", "bb"]));
        assert!(out.status.success(), "stderr: {}", stderr(&out));
        let busybox = stdout(&out).trim().to_owned();
        assert!(busybox.starts_with("/nix/store/"), "{busybox}");
        Fixture { sb, busybox }
    }

    /// Puts `wrap/bin/nix-instantiate` in the sandbox: a wrapper that says
    /// [`NIX_STARTED`] on stderr, then runs the real nix-instantiate (evaluate with
    /// `--nix-instantiate wrap/bin/nix-instantiate` to see whether Nix started).
    pub fn wrap_nix(&self) {
        self.sb.write(
            "wrap/bin/nix-instantiate",
            &format!(
                "#!/bin/sh\necho '{NIX_STARTED}' >&2\nexec {} \"$@\"\n",
                require_nix().display()
            ),
            0o755,
        );
    }

    pub fn config(&self) -> String {
        format!(r#"{{"busybox":"{}"}}"#, self.busybox)
    }

    /// `eka-run <sub> --config <config> atom <attr>`.
    pub fn eka(&self, sub: &str, attr: &str) -> std::process::Command {
        let mut cmd = self.sb.eka_run();
        cmd.args([sub, "--config", &self.config(), "atom", attr]);
        cmd
    }

    /// The user store's directory for `/nix/store/<name>`.
    pub fn in_store(&self, path: &str) -> PathBuf {
        self.sb
            .path("home/.local/share/eka-run/nix/store")
            .join(path.strip_prefix("/nix/store/").expect("a store path"))
    }
}

fn plan(f: &Fixture, attr: &str) -> serde_json::Value {
    let out = output(f.eka("plan", attr).arg("--json"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("plan --json prints JSON")
}

#[test]
fn plan_build_and_run_an_atoms_derivation() {
    let f = Fixture::new(ATOM);
    let p = plan(&f, "hello");
    let hex = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    assert!(hex(&p["atom"]), "{p}");
    assert_eq!(p["lock"], "0".repeat(64), "no atom.lock: {p}");
    let canonical = format!(r#"{{"busybox":"{}"}}"#, f.busybox);
    assert_eq!(
        p["config"],
        blake3::hash(canonical.as_bytes()).to_hex().to_string()
    );
    assert_eq!(p["attribute"], "hello");
    assert!(p["system"].as_str().unwrap().ends_with("-linux"), "{p}");
    // The identity is BLAKE3 of the canonical JSON of the five parts.
    let parts = format!(
        r#"{{"atom":{},"attribute":"hello","config":{},"lock":{},"system":{}}}"#,
        p["atom"], p["config"], p["lock"], p["system"]
    );
    assert_eq!(
        p["identity"],
        blake3::hash(parts.as_bytes()).to_hex().to_string()
    );
    let drv = p["drvPath"].as_str().unwrap();
    assert!(drv.ends_with("-hello-1.0.drv"), "{p}");
    assert!(f.in_store(drv).is_file(), "plan writes the derivation");
    let out_path = p["outputs"]["out"].as_str().unwrap().to_owned();
    assert!(!f.in_store(&out_path).exists(), "plan builds nothing");

    // build: the output paths on stdout, the output in the user's store.
    let out = output(f.eka("build", "hello").args(["--out-link", "result"]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("{out_path}\n"));
    assert!(f.in_store(&out_path).join("bin/hello").is_file());
    assert_eq!(
        std::fs::read_link(f.sb.path("result")).unwrap(),
        PathBuf::from(&out_path)
    );
    assert!(
        !stderr(&out).contains("cache.nixos.org"),
        "no substituter unless configured: {}",
        stderr(&out)
    );
    let roots =
        f.sb.path("home/.local/share/eka-run/nix/var/nix/gcroots/auto");
    let root_targets: Vec<PathBuf> = std::fs::read_dir(&roots)
        .unwrap()
        .map(|e| std::fs::read_link(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        root_targets,
        [f.sb.path("result")],
        "--out-link is a GC root"
    );

    // run: the main program (the name without its version), arguments and status through.
    let out = output(f.eka("run", "hello").args(["--", "a b", "--c"]));
    assert_eq!(
        stdout(&out),
        "hello world a b --c\n",
        "stderr: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));
    let out = output(f.eka("run", "hello").env("HELLO_EXIT", "7"));
    assert_eq!(stdout(&out), "hello world\n", "stderr: {}", stderr(&out));
    assert_eq!(
        out.status.code(),
        Some(7),
        "the program's status passes through"
    );
}

#[test]
fn the_main_program_is_meta_main_program_then_pname_then_the_name() {
    let f = Fixture::new(&ATOM.replace(
        "Greeting = ",
        r#"Tool = script "multi-tool-2" "tool" "echo tool" // { meta.mainProgram = "tool"; };
  Pnamed = script "pn-3" "other" "echo pnamed" // { pname = "other"; };
  Empty = builtins.derivation { name = "empty"; system = config.system; builder = bb; args = [ "sh" "-c" "mkdir $out" ]; };
  Greeting = "#,
    ));
    let out = output(&mut f.eka("run", "tool"));
    assert_eq!(
        stdout(&out),
        "tool\n",
        "meta.mainProgram: stderr: {}",
        stderr(&out)
    );
    let out = output(&mut f.eka("run", "pnamed"));
    assert_eq!(stdout(&out), "pnamed\n", "pname: stderr: {}", stderr(&out));
    // A derivation without its main program: an error naming the path looked for.
    let out = output(&mut f.eka("run", "empty"));
    assert_eq!(out.status.code(), Some(125), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("-empty/bin/empty` does not exist: `empty` is the main program"),
        "{}",
        stderr(&out)
    );
    // The positive twin: the name without its version is found.
    let out = output(&mut f.eka("run", "hello"));
    assert_eq!(stdout(&out), "hello world\n", "stderr: {}", stderr(&out));
}

#[test]
fn what_is_not_a_derivation_is_an_error_naming_it() {
    let f = Fixture::new(ATOM);
    let out = output(&mut f.eka("build", "greeting"));
    assert_eq!(out.status.code(), Some(1), "nix-instantiate's status");
    assert!(
        stderr(&out).contains("eka-run: `greeting` is not a derivation (it is string)"),
        "{}",
        stderr(&out)
    );
    let out = output(&mut f.eka("build", "nope.x"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("eka-run: the atom has no attribute `nope`"),
        "{}",
        stderr(&out)
    );
    let out = output(
        f.sb.eka_run()
            .args(["build", "--config", "[]", "atom", "hello"]),
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr(&out),
        "eka-run: invalid --config `[]`: must be a JSON object\n"
    );
    let out = output(
        f.sb.eka_run()
            .args(["build", "--config", &f.config(), "atom", "a..b"]),
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr(&out),
        "eka-run: invalid attribute path `a..b`: an empty name\n"
    );
    // Without an attribute: the atom's API is not a derivation and has no `default`.
    let out = output(
        f.sb.eka_run()
            .args(["build", "--config", &f.config(), "atom"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no `default`"),
        "{}",
        stderr(&out)
    );
    // The positive twin: with a `Default`, no attribute builds it.
    let f = Fixture::new(&ATOM.replace("Greeting = ", "Default = mod.Hello;\n  Greeting = "));
    let out = output(
        f.sb.eka_run()
            .args(["build", "--config", &f.config(), "atom"]),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(stdout(&out).ends_with("-hello-1.0\n"), "{}", stdout(&out));
}

#[test]
fn a_script_names_an_atom_to_run_it_with() {
    let f = Fixture::new(ATOM);
    // The atom's main program is the interpreter; the atom is relative to the script.
    f.sb.write(
        "scripts/greet",
        &format!(
            "#!/usr/bin/env eka-run\n#! eka-run run ../atom hello\n#! eka-run --config '{}'\n\
             this line is the script\n",
            f.config()
        ),
        0o755,
    );
    let out = output(f.sb.eka_run().args(["scripts/greet", "a b"]));
    // The script is passed as it was named, as the kernel passes it to an interpreter.
    assert_eq!(
        stdout(&out),
        "hello world scripts/greet a b\n",
        "stderr: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));

    // A `run` line that does not parse is said naming the script.
    f.sb.write(
        "scripts/bad",
        "#!/usr/bin/env eka-run\n#! eka-run run ../atom hello --no-such-flag\n",
        0o755,
    );
    let out = output(f.sb.eka_run().args(["scripts/bad"]));
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.starts_with("eka-run: invalid `#! eka-run` lines in `")
            && err.contains("scripts/bad")
            && err.contains("--no-such-flag"),
        "{err}"
    );
}
