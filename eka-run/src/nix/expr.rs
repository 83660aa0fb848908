//! The expressions eka-run writes for `nix-instantiate`: the entry expression ([`ENTRY_NIX`],
//! the atom's public API composed with atom-nix) and the derivation expression ([`DRV_NIX`]).

/// The file name the entry expression is written as, beside the dependency graph.
pub const ENTRY_FILE: &str = "eval.nix";

/// The file name the derivation expression is written as (it imports `./eval.nix`).
pub const DRV_FILE: &str = "drv.nix";

/// The entry expression: the atom's public API. The configuration always carries `system`.
pub const ENTRY_NIX: &str =
    "# Written by eka-run: evaluate the atom at `atomRoot` with the atom-nix at `atomNix`,
# passing the configuration `configJSON` (canonical JSON, `system` included) and, as `from`
# and `get`, what its lock holds: `<ekaDir>/deps.json` is
#   { atoms = { <id@version> = { root = <dir under depsBase>; requires = { <name> = <id@version>; };
#               pins = { <name> = <pin>; }; srcs = { <name> = <src>; }; }; };
#     pinned = { <pin> = { root = <dir under ekaDir, or under depsBase if shared>; entry = <file>;
#                          hash = <SRI>; shared = true or absent; }; };
#     sources = { <src> = { name; hash; url or root; }; };
#     requires, pins, srcs (the atom's own, as in `atoms`); }
# Each locked atom is composed once (lazily, when first used), with its own locked
# dependencies and pins as its `from`, its sources as its `get`, and only `system` as its
# configuration. A pin is its `entry` imported from its tree, copied to the store at its locked
# NAR hash (as `fetchGit` would give it). A source is, for a URL, a fixed-output derivation the
# builder fetches (`builtin:fetchurl`, flat hash): touching it fetches nothing; for a git or
# path source, its tree copied to the store at its locked NAR hash.
{ atomRoot, atomNix, configJSON, ekaDir, depsBase ? ekaDir }:
let
  B = builtins;
  compose = import (/. + atomNix + \"/compose.nix\");
  config = B.fromJSON configJSON;
  deps = B.fromJSON (B.readFile (/. + ekaDir + \"/deps.json\"));
  tree = name: s: B.path {
    path = /. + ((if s.shared or false then depsBase else ekaDir) + \"/\" + s.root);
    inherit name;
    sha256 = s.hash;
  };
  pinned = B.mapAttrs (id: p: import (tree \"source\" p + \"/\" + p.entry)) deps.pinned;
  sources = B.mapAttrs
    (id: s: if s ? url then
      B.derivation {
        inherit (s) name url;
        system = \"builtin\";
        builder = \"builtin:fetchurl\";
        outputHashMode = \"flat\";
        outputHashAlgo = \"sha256\";
        outputHash = s.hash;
        preferLocalBuild = true;
      }
    else tree s.name s)
    deps.sources;
  composed = B.mapAttrs
    (key: a: compose (/. + (depsBase + \"/\" + a.root)) { from = fromOf a; get = getOf a; config = { inherit (config) system; }; })
    deps.atoms;
  fromOf = a: B.mapAttrs (name: id: pinned.${id}) a.pins // B.mapAttrs (name: key: composed.${key}) a.requires;
  getOf = a: B.mapAttrs (name: id: sources.${id}) a.srcs;
in
compose (/. + atomRoot) { from = fromOf deps; get = getOf deps; inherit config; }
";

/// The derivation expression: what `build`, `run` and `plan` need of the derivation at the
/// attribute path `attrJSON` (a JSON list of names): evaluating `drvPath` writes the
/// derivation to the store.
pub const DRV_NIX: &str = "# Written by eka-run: the derivation at the attribute path `attrJSON` of the atom's API.
{ atomRoot, atomNix, configJSON, ekaDir, depsBase ? ekaDir, attrJSON }:
let
  B = builtins;
  api = import ./eval.nix { inherit atomRoot atomNix configJSON ekaDir depsBase; };
  path = B.fromJSON attrJSON;
  show = p: B.concatStringsSep \".\" p;
  step = acc: name:
    if B.isAttrs acc.value && acc.value ? ${name}
    then { value = acc.value.${name}; at = acc.at ++ [ name ]; }
    else throw \"eka-run: the atom has no attribute `${show (acc.at ++ [ name ])}`\";
  selected = (B.foldl' step { value = api; at = [ ]; } path).value;
  isDrv = v: B.isAttrs v && (v.type or null) == \"derivation\";
  value =
    if path != [ ] || isDrv selected then selected
    else if selected ? default then selected.default
    else throw \"eka-run: the atom is not a derivation and has no `default`: name an attribute path\";
  what = if path == [ ] then \"the atom's `default`\" else \"`${show path}`\";
  outputs = value.outputs or [ \"out\" ];
in
if !(isDrv value) then throw \"eka-run: ${what} is not a derivation (it is ${B.typeOf value})\"
else {
  drvPath = value.drvPath;
  # Not `outPath`: Nix prints an attribute set with an `outPath` as that string.
  defaultOutput = value.outPath;
  outputs = B.listToAttrs (map (o: { name = o; value = value.${o}.outPath; }) outputs);
  mainProgram = (value.meta or { }).mainProgram or null;
  pname = value.pname or null;
  name = value.name;
}
";
