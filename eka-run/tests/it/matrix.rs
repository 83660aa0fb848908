//! `eka-run build --matrix`: every entry of the atom's static build matrix that this machine or
//! Nix's `builders` can build is built, the others are skipped with the reason; a remote
//! builder is Nix's own, over OpenSSH's sshd on loopback, with a store of its own (run mode of
//! eka-run on another directory, as `remote-program`).
//!
//! Every Nix setting the tests rely on is in the test's own `nix.conf`: no `extra-platforms`
//! (so this machine builds `x86_64-linux` only), the `builders` under test.

use crate::build::Fixture;
use atom_tests::sandbox::*;

/// The host this suite needs (the matrix names systems other than it).
const HOST: &str = "x86_64-linux";

/// The atom: `Marker` writes the host it is built for and whether `static` is on, and fails
/// for a cross build with `static` on.
const MOD: &str = r##"let
  bb = "${builtins.path { path = config.busybox; name = "bb"; }}/bin/busybox";
  host = config.platform.host or "native";
  on = (config.variant or { }).static or false;
  static = if on then "static" else "dynamic";
  fail = if on && config ? platform then "1" else "0";
in
{
  Marker = builtins.derivation {
    name = "marker-${static}";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" "echo ${config.system} ${host} ${static} > $out; if [ ${fail} = 1 ]; then echo 'cross static is not supported' >&2; exit 3; fi" ];
  };
}
"##;

fn fixture(platforms: &str, support: &str) -> Fixture {
    if std::env::consts::ARCH != "x86_64" {
        panic!("MISSING: an {HOST} machine (the matrix tests name other systems than the host's)");
    }
    let f = Fixture::new(MOD);
    f.sb.write(
        "atom/atom.toml",
        &format!(
            "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[platform]\nsupported = {platforms}\n\n\
             [support]\n{support}"
        ),
        0o644,
    );
    f.sb.chown();
    f
}

/// The test's own `nix.conf`, with `extra` after the settings every matrix test relies on.
fn nix_conf(f: &Fixture, extra: &str) {
    f.sb.write(
        "nix-conf/nix.conf",
        &format!("extra-platforms =\nmax-jobs = 1\n{extra}"),
        0o644,
    );
}

fn matrix(f: &Fixture, extra: &[&str]) -> std::process::Output {
    output(
        f.sb.eka_run()
            .args(["build", "--matrix", "--config", &f.config()])
            .args(extra)
            .args(["atom", "marker"]),
    )
}

#[test]
fn builds_what_this_machine_can_and_skips_the_rest_saying_why() {
    let f = fixture(
        r#"["x86_64-linux:{<,aarch64-linux}", "aarch64-linux"]"#,
        "static = false\n",
    );
    nix_conf(&f, "builders =\n");
    let out = matrix(&f, &[]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    // Built here: the native and the cross entry, default variant first.
    let built = |i: usize, label: &str| {
        let prefix = format!("built {label}: /nix/store/");
        assert!(lines[i].starts_with(&prefix), "{}", lines[i]);
        let path = lines[i].rsplit(' ').next().unwrap();
        std::fs::read_to_string(f.in_store(path)).unwrap()
    };
    assert_eq!(
        built(0, "x86_64-linux:x86_64-linux:x86_64-linux --disable static"),
        "x86_64-linux native dynamic\n"
    );
    assert_eq!(
        built(1, "x86_64-linux:x86_64-linux:x86_64-linux --enable static"),
        "x86_64-linux native static\n"
    );
    assert_eq!(
        built(
            2,
            "x86_64-linux:aarch64-linux:aarch64-linux --disable static"
        ),
        "x86_64-linux aarch64-linux dynamic\n",
        "a cross entry is built on its build system and sees its host in config.platform"
    );
    // A failed entry: Nix's first error line.
    let failed = lines[3]
        .strip_prefix(
            "failed x86_64-linux:aarch64-linux:aarch64-linux --enable static: error: builder for \
             '/nix/store/",
        )
        .unwrap_or_else(|| panic!("{}", lines[3]));
    assert!(
        failed.ends_with("-marker-static.drv' failed with exit code 3"),
        "{}",
        lines[3]
    );
    let reason = "aarch64-linux: no builder for this system (this machine: x86_64-linux; \
                  configured builders: none)";
    assert_eq!(
        lines[4],
        format!("skipped aarch64-linux:aarch64-linux:aarch64-linux --disable static: {reason}")
    );
    assert_eq!(
        lines[5],
        format!("skipped aarch64-linux:aarch64-linux:aarch64-linux --enable static: {reason}")
    );
    assert_eq!(lines[6], "6 entries: 3 built, 2 skipped, 1 failed");
    assert!(
        stderr(&out).contains("cross static is not supported"),
        "Nix's own error is on stderr: {}",
        stderr(&out)
    );

    // The same as JSON; without the failing entry's variant, every entry is built or skipped.
    f.sb.write(
        "atom/atom.toml",
        "[atom]\nid = \"app\"\nversion = \"1.0.0\"\n\n[platform]\nsupported = \
         [\"x86_64-linux:aarch64-linux\", \"aarch64-linux\"]\n",
        0o644,
    );
    f.sb.write(
        "atom/mod.nix",
        &MOD.replace("or false;", "or false && false;"),
        0o644,
    );
    f.sb.chown();
    let out = matrix(&f, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let entry = &json["include"][0];
    let built = entry["outputs"]["out"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(f.in_store(built)).unwrap(),
        "x86_64-linux aarch64-linux dynamic\n"
    );
    assert_eq!(
        json,
        serde_json::json!({
            "include": [
                {
                    "triple": "x86_64-linux:aarch64-linux:aarch64-linux",
                    "build": "x86_64-linux", "host": "aarch64-linux", "target": "aarch64-linux",
                    "variant": {}, "args": [], "system": "x86_64-linux",
                    "status": "built", "outputs": {"out": built}, "reason": null
                },
                {
                    "triple": "aarch64-linux:aarch64-linux:aarch64-linux",
                    "build": "aarch64-linux", "host": "aarch64-linux", "target": "aarch64-linux",
                    "variant": {}, "args": [], "system": "aarch64-linux",
                    "status": "skipped", "outputs": null, "reason": reason
                }
            ],
            "built": 1, "skipped": 1, "failed": 0
        })
    );
}

#[test]
fn a_remote_builder_over_ssh_builds_in_its_own_store() {
    let f = fixture(r#"["aarch64-linux", "riscv64-linux"]"#, "");
    let sshd = Sshd::start(&f.sb);
    // The builder: `nix-store --serve --write` in eka-run's run mode on a store of its own,
    // with a nix.conf of its own that builds aarch64-linux (the static busybox is x86_64: the
    // builder runs on this machine, only its store and its settings are its own).
    let remote = sshd.dir.path();
    std::fs::create_dir_all(remote.join("builder/nix/store")).unwrap();
    std::fs::create_dir_all(remote.join("builder-conf")).unwrap();
    std::fs::write(
        remote.join("builder-conf/nix.conf"),
        "extra-platforms = aarch64-linux\nbuilders =\n",
    )
    .unwrap();
    let wrapper = remote.join("remote-nix-store");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nNIX_CONF_DIR={conf} NIX_USER_CONF_FILES={conf}/nix.conf exec {eka} \
             --store {store} nix-store \"$@\"\n",
            conf = remote.join("builder-conf").display(),
            eka = eka_run().display(),
            store = remote.join("builder/nix/store").display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let machine = format!(
        "ssh://{}@127.0.0.1?ssh-key={}&remote-program={}",
        sshd.user,
        sshd.key.display(),
        wrapper.display()
    );
    nix_conf(&f, &format!("builders = {machine} aarch64-linux\n"));
    f.sb.chown();

    let out = output(f.sb.eka_run().env("NIX_SSHOPTS", sshd.nix_sshopts()).args([
        "build",
        "--matrix",
        "--config",
        &f.config(),
        "atom",
        "marker",
    ]));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let prefix = "built aarch64-linux:aarch64-linux:aarch64-linux: /nix/store/";
    assert!(lines[0].starts_with(prefix), "{}", lines[0]);
    assert_eq!(
        lines[1],
        format!(
            "skipped riscv64-linux:riscv64-linux:riscv64-linux: riscv64-linux: no builder for \
             this system (this machine: x86_64-linux; configured builders: {machine} \
             (aarch64-linux))"
        )
    );
    assert_eq!(lines[2], "2 entries: 1 built, 1 skipped, 0 failed");
    // Built there: the builder's own store holds the output (and the busybox Nix copied to
    // it); this machine cannot build aarch64-linux (no extra-platforms), and has the output
    // because Nix copied it back.
    let path = lines[0].rsplit(' ').next().unwrap();
    let name = path.strip_prefix("/nix/store/").unwrap();
    let on_builder = remote.join("builder/nix/store").join(name);
    assert_eq!(
        std::fs::read_to_string(&on_builder).unwrap(),
        "aarch64-linux native dynamic\n"
    );
    let busybox = f.busybox.strip_prefix("/nix/store/").unwrap();
    assert!(remote.join("builder/nix/store").join(busybox).exists());
    assert_eq!(
        std::fs::read_to_string(f.in_store(path)).unwrap(),
        "aarch64-linux native dynamic\n"
    );
    assert!(
        stderr(&out).contains("building '/nix/store/"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("on '{machine}'")),
        "Nix says it builds on the builder: {}",
        stderr(&out)
    );

    // The positive control's negative: without the builder, the same entry is skipped, and
    // nothing new reaches the builder's store.
    nix_conf(&f, "builders =\n");
    let before = std::fs::read_dir(remote.join("builder/nix/store"))
        .unwrap()
        .count();
    let out = matrix(&f, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            "skipped aarch64-linux:aarch64-linux:aarch64-linux: aarch64-linux: no builder for \
             this system (this machine: x86_64-linux; configured builders: none)\n"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_dir(remote.join("builder/nix/store"))
            .unwrap()
            .count(),
        before
    );
}
