//! `git atom show --matrix`: the static build matrix, every supported `build:host:target` triple
//! times every variant combination, from the manifest alone, as lines and as a CI job matrix.

use std::path::PathBuf;

use atom_tests::TestEnv;

/// The nine triples the seed's `[platform]` example expands to, in order (docs/manifest.md).
const TRIPLES: [(&str, &str, &str); 9] = [
    ("riscv64-linux", "riscv64-linux", "riscv64-linux"),
    ("x86_64-linux", "x86_64-linux", "x86_64-linux"),
    ("x86_64-linux", "aarch64-linux", "aarch64-linux"),
    ("aarch64-darwin", "aarch64-darwin", "aarch64-darwin"),
    ("aarch64-darwin", "aarch64-linux", "aarch64-linux"),
    ("aarch64-darwin", "x86_64-linux", "x86_64-linux"),
    ("x86_64-darwin", "x86_64-darwin", "x86_64-darwin"),
    ("x86_64-darwin", "aarch64-linux", "aarch64-linux"),
    ("x86_64-darwin", "x86_64-linux", "x86_64-linux"),
];

/// The seed's `[platform]` with two variants: `[provide] cc` (gcc, the default, or clang) and
/// `[support] static` (off by default).
const MANIFEST: &str = r#"[atom]
id = "mine"
version = "0.1.0"

[deps.gcc]
path = "../gcc"

[deps.clang]
path = "../clang"

[platform]
supported = [
  "riscv64-linux",
  "x86_64-linux:{<,aarch64-linux}",
  "{aarch64-darwin,x86_64-darwin}:{<,aarch64-linux,x86_64-linux}",
]

[provide]
cc = ["gcc", "clang"]

[support]
static = false
"#;

fn atom(env: &TestEnv, manifest: &str) -> PathBuf {
    let repo = env.init("src");
    env.write(&repo, "mine/atom.toml", manifest);
    env.write(&repo, "mine/mod.nix", "{ }\n");
    repo.join("mine")
}

#[test]
fn show_matrix_lists_every_triple_times_every_variant() {
    let env = TestEnv::new();
    let dir = atom(&env, MANIFEST);
    // The variants in order, the default first; `cc` before `static` (names in order).
    let variants = [
        ("gcc", false),
        ("gcc", true),
        ("clang", false),
        ("clang", true),
    ];
    let include: Vec<serde_json::Value> = TRIPLES
        .iter()
        .flat_map(|(build, host, target)| {
            variants.iter().map(move |(cc, on)| {
                serde_json::json!({
                    "triple": format!("{build}:{host}:{target}"),
                    "build": build,
                    "host": host,
                    "target": target,
                    "variant": { "cc": cc, "static": on },
                    "args": ["--with", format!("cc={cc}"), if *on { "--enable" } else { "--disable" }, "static"],
                })
            })
        })
        .collect();
    assert_eq!(include.len(), 36);
    let json = env
        .git(&dir, ["atom", "show", "--matrix", "--json"])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc, serde_json::json!({ "include": include }));
    assert_eq!(json.stderr, "");
    // The document's text: pretty-printed, keys in this order, one newline at the end.
    assert_eq!(json.stdout.matches("\n    {\n").count(), 36);
    assert!(json.stdout.ends_with("    }\n  ]\n}\n"));
    assert!(
        json.stdout.starts_with(
            r#"{
  "include": [
    {
      "triple": "riscv64-linux:riscv64-linux:riscv64-linux",
      "build": "riscv64-linux",
      "host": "riscv64-linux",
      "target": "riscv64-linux",
      "variant": {
        "cc": "gcc",
        "static": false
      },
      "args": [
        "--with",
        "cc=gcc",
        "--disable",
        "static"
      ]
    },
"#
        ),
        "{}",
        json.stdout
    );

    let lines = env.git(&dir, ["atom", "show", "--matrix"]).success();
    let lines: Vec<&str> = lines.stdout.lines().collect();
    assert_eq!(lines.len(), 36);
    assert_eq!(
        lines[..5],
        [
            "riscv64-linux:riscv64-linux:riscv64-linux --with cc=gcc --disable static",
            "riscv64-linux:riscv64-linux:riscv64-linux --with cc=gcc --enable static",
            "riscv64-linux:riscv64-linux:riscv64-linux --with cc=clang --disable static",
            "riscv64-linux:riscv64-linux:riscv64-linux --with cc=clang --enable static",
            "x86_64-linux:x86_64-linux:x86_64-linux --with cc=gcc --disable static",
        ]
    );
    assert_eq!(
        lines[35],
        "x86_64-darwin:x86_64-linux:x86_64-linux --with cc=clang --enable static"
    );
}

#[test]
fn show_matrix_without_platform_or_variants() {
    let env = TestEnv::new();
    // Neither: one entry, for the system the job runs on, with the defaults.
    let dir = atom(&env, "[atom]\nid = \"mine\"\nversion = \"0.1.0\"\n");
    let json = env
        .git(&dir, ["atom", "show", "--matrix", "--json"])
        .success();
    assert_eq!(
        json.stdout,
        r#"{
  "include": [
    {
      "triple": null,
      "build": null,
      "host": null,
      "target": null,
      "variant": {},
      "args": []
    }
  ]
}
"#
    );
    let lines = env.git(&dir, ["atom", "show", "--matrix"]).success();
    assert_eq!(lines.stdout, "any\n");

    // Variants without [platform]: one entry per variant; [platform] without variants: one
    // entry per triple.
    let with_variants = "[atom]\nid = \"mine\"\nversion = \"0.1.0\"\n[support]\nlto = true\n";
    env.write(&dir, "atom.toml", with_variants);
    let lines = env.git(&dir, ["atom", "show", "--matrix"]).success();
    assert_eq!(lines.stdout, "any --enable lto\nany --disable lto\n");
    let platform = MANIFEST.split("[provide]").next().unwrap().replace(
        "[deps.gcc]\npath = \"../gcc\"\n\n[deps.clang]\npath = \"../clang\"\n\n",
        "",
    );
    env.write(&dir, "atom.toml", &platform);
    let json = env
        .git(&dir, ["atom", "show", "--matrix", "--json"])
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let triples: Vec<&str> = v["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(
                (&e["variant"], &e["args"]),
                (&serde_json::json!({}), &serde_json::json!([]))
            );
            e["triple"].as_str().unwrap()
        })
        .collect();
    let expected: Vec<String> = TRIPLES
        .iter()
        .map(|(b, h, t)| format!("{b}:{h}:{t}"))
        .collect();
    assert_eq!(triples, expected);
}

#[test]
fn a_matrix_too_large_is_refused() {
    let env = TestEnv::new();
    let mut manifest = MANIFEST.to_owned();
    for i in 0..9 {
        manifest.push_str(&format!("t{i} = false\n"));
    }
    let dir = atom(&env, &manifest);
    let run = env.git(&dir, ["atom", "show", "--matrix"]).code(1);
    assert_eq!(
        run.stderr.trim_end(),
        "error: the atom's matrix has 9 platform triples times 2048 variant combinations, more than 4096 entries"
    );
    assert_eq!(run.stdout, "");
    let run = env
        .git(&dir, ["atom", "show", "--matrix", "--json"])
        .code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["error"]["message"],
        "the atom's matrix has 9 platform triples times 2048 variant combinations, more than 4096 entries"
    );
}
