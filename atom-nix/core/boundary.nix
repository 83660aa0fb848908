# The boundary of an atom module: what a module file sees in place of the host
# Nix's global scope.
#
# `boundary relFile` returns the attributes that shadow the host's
# globals while `relFile` (a path relative to the atom root, used in error
# messages) is evaluated:
#   - `builtins`, the filtered set;
#   - every blocked builtin under its global names (`import`, `__findFile`, ...).
#
# Blocked builtins `abort` rather than `throw`: `builtins.tryEval` catches
# `throw`, so a thrown error would let a module probe the host (is there a
# `<nixpkgs>`? does this URL fetch?). An `abort` ends the evaluation.
let
  B = builtins;

  # Reasons and what to use instead, by builtin.
  useFromOrGet = "declare the dependency in the manifest and use `from` (evaluation-time Nix code) or `get` (build-time sources)";
  useScopes = "a module reaches other code only through its scopes (`mod`, `pre`, `atom`, `from`, `std`); the module's own `.nix` files are imported automatically as members of `mod`";
  useFrom = "lookup paths depend on the host's NIX_PATH; declare the dependency and use `from`";

  blocked = {
    import = useScopes;
    scopedImport = useScopes;
    findFile = useFrom;
    nixPath = useFrom;
    fetchGit = useFromOrGet;
    fetchTarball = useFromOrGet;
    fetchurl = useFromOrGet;
    fetchTree = useFromOrGet;
    fetchMercurial = useFromOrGet;
    fetchClosure = useFromOrGet;
    getFlake = useFromOrGet;
    storePath = "a module may not name arbitrary store paths; use `get` for build-time sources";
    currentSystem = "evaluation must not depend on the host: the system comes from configuration, use `config.system`";
    currentTime = "evaluation must be reproducible: pass a time through `config` if one is needed";
    exec = "running host programs during evaluation is not allowed";
    importNative = "loading native code during evaluation is not allowed";
  };

  # File builtins accept only paths inside the Nix store: a module's own files
  # are in the store (`./file`, "${mod}/file"), and so is anything reached
  # through `from` and `get` once interpolated. Host paths are refused so that
  # `pathExists /etc/...` cannot probe the host.
  guarded = [ "readFile" "readDir" "pathExists" "hashFile" "readFileType" "path" "filterSource" ];

  inherit (import ./store.nix) realStoreDir;
  under = dir: s: B.substring 0 (B.stringLength dir + 1) s == dir + "/";
  # The path a builtin would read, with `..` and `.` resolved, so that
  # "/nix/store/../etc" is not taken for a store path.
  canonical = p:
    let s = B.unsafeDiscardStringContext (if B.isAttrs p then toString (p.path or p) else toString p);
    in if B.substring 0 1 s == "/" then toString (/. + s) else s;
  inStore = p:
    let s = canonical p; in under B.storeDir s || under realStoreDir s;
  describe = p: if B.isAttrs p then toString (p.path or "<no path>") else toString p;

  # A guarded builtin for `relFile`; only built for the builtins the host
  # has (see guardedPresent), so an older Nix simply lacks the newer ones.
  guard = relFile: name:
    let f = B.${name}; in
    if name == "path" || name == "filterSource"
    then
      # `path { path = ...; }` and `filterSource filter path`
      (if name == "path"
       then args: if inStore args then f args else hostPath relFile name (describe args)
       else filter: p: if inStore p then f filter p else hostPath relFile name (describe p))
    else if name == "hashFile"
    then algo: p: if inStore p then f algo p else hostPath relFile name (describe p)
    else p: if inStore p then f p else hostPath relFile name (describe p);

  hostPath = relFile: name: p:
    abort "atom-nix: `builtins.${name}` refused the host path `${p}` in ${relFile}: a module may read only its own files (\"\${mod}/file\" or ./file) and store paths from `from` and `get`";

  message = relFile: name: hint:
    "atom-nix: `${name}` is not available in atom modules (used in ${relFile}): ${hint}";

  # Static tables, built once: guarded builtins the host has, and every
  # global name to shadow with the builtin it stands for. Blocked builtins
  # are shadowed under both spellings, so that a newer Nix exposing one
  # unprefixed cannot open a hole; guarded ones and `getEnv` only under the
  # `__` spelling Nix uses for them.
  guardedPresent = B.listToAttrs (map (name: { inherit name; value = null; })
    (B.filter (name: B ? ${name}) guarded));
  globalNames = B.listToAttrs (
    B.concatMap (name: [ { inherit name; value = name; } { name = "__" + name; value = name; } ])
      (B.attrNames blocked)
    ++ map (name: { name = "__" + name; value = name; }) (B.attrNames guardedPresent ++ [ "getEnv" ]));
in
relFile:
let
  stopped = B.mapAttrs (name: hint: abort (message relFile name hint)) blocked;
  fileGuards = B.mapAttrs (name: _: guard relFile name) guardedPresent;
  filtered = B // fileGuards // stopped // {
    getEnv = _: "";
    builtins = filtered;
  };
in
B.mapAttrs (_: name: filtered.${name}) globalNames // { builtins = filtered; }
