# The boundary of an atom module: what a module file sees in place of the host
# Nix's global scope, and the builtins that `std` carries.
#
#   scopeTable      attribute name -> (moduleScope -> relFile -> value): every
#                   name a module file sees, for compose.nix to apply per file
#                   with one `mapAttrs` (the values stay lazy);
#   filteredFor     relFile -> the filtered `builtins` of that file;
#   stdBuiltins     the pure builtins `std` holds (guarded, no file named).
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
  # are in the store ("${mod}/file"), and so is anything reached through
  # `from` and `get` once interpolated. Host paths are refused so that
  # `pathExists /etc/...` cannot probe the host, and so are derivation
  # outputs, whose reading would build them during evaluation.
  guarded = [ "readFile" "readDir" "pathExists" "hashFile" "readFileType" "path" "filterSource" ];

  inherit (import ./store.nix) realStoreDir;
  under = dir: s: B.substring 0 (B.stringLength dir + 1) s == dir + "/";
  # The path a builtin would read, with `..` and `.` resolved, so that
  # "/nix/store/../etc" is not taken for a store path.
  argPath = p: if B.isAttrs p then p.path or p else p;
  canonical = p:
    let s = B.unsafeDiscardStringContext (toString (argPath p));
    in if B.substring 0 1 s == "/" then toString (/. + s) else s;
  inStore = s: under B.storeDir s || under realStoreDir s;
  isStoreDir = s: s == B.storeDir || s == realStoreDir;
  # A module file is imported from a store path of its own, directly in the
  # store directory, so a relative path literal (`./data.txt`, `./.`) names
  # the store directory or a non-existent entry of it.
  isRelative = s: isStoreDir s || (isStoreDir (dirOf s) && B.match "[0-9a-df-np-sv-z]{32}-.+" (baseNameOf s) == null);
  # Does the argument carry a derivation output in its string context?
  builds = p:
    let a = argPath p; in
    B.isString a && B.any (c: c ? outputs) (B.attrValues (B.getContext a));
  describe = p: toString (argPath p);

  # `who` is how the builtin is named in messages (`builtins.readFile`,
  # `std.readFile`), `where` the file it was used in ("" for std).
  check = who: where: p: ok:
    if builds p then
      abort "atom-nix: `${who}` refused `${describe p}`${where}: it is the output of a derivation, and reading it would build that derivation during evaluation (import from derivation, which can reach the network); atom modules may not import from derivations: sources come from `get`, and what a build produces is for other builds"
    else
      let s = canonical p; in
      if isRelative s then
        abort "atom-nix: `${who}` refused `${describe p}`${where}: relative path literals do not work in atom modules (a module file is imported from the store, so `./.` is the store directory); use \"\${mod}/file\" for the module's own files"
      else if inStore s then ok
      else abort "atom-nix: `${who}` refused the host path `${describe p}`${where}: a module may read only its own files (\"\${mod}/file\") and store paths from `from` and `get`";

  guard = who: where: name:
    let f = B.${name}; c = check "${who}${name}" where; in
    if name == "path" then args: c args (f args)
    else if name == "filterSource" then filter: p: c p (f filter p)
    else if name == "hashFile" then algo: p: c p (f algo p)
    else p: c p (f p);

  # `derivation` and `derivationStrict` refuse builtin builders: Nix runs
  # `builtin:fetchurl` outside any build sandbox and fetches from the network,
  # and a module could import its output (above) or hand it to a build.
  checkDrv = who: where: attrs:
    let b = attrs.builder or null; in
    if B.isString b && B.substring 0 8 (B.unsafeDiscardStringContext b) == "builtin:" then
      abort "atom-nix: `${who}` refused the builder `${b}`${where}: builtin builders such as `builtin:fetchurl` fetch from the network, and a module may not create fetching derivations: sources come from `get` (declare them in the manifest)"
    else attrs;
  drvWrappers = who: where: {
    derivation = attrs: B.derivation (checkDrv "${who}derivation" where attrs);
    derivationStrict = attrs: B.derivationStrict (checkDrv "${who}derivationStrict" where attrs);
  };

  message = relFile: name: hint:
    "atom-nix: `${name}` is not available in atom modules (used in ${relFile}): ${hint}";

  guardedPresent = B.filter (name: B ? ${name}) guarded;
  guardsFor = who: where: B.listToAttrs (map (name: { inherit name; value = guard who where name; }) guardedPresent);

  # The `builtins` a module file sees.
  filteredFor = relFile:
    let
      where = " in ${relFile}";
      self = B // guardsFor "builtins." where
        // B.mapAttrs (name: hint: abort (message relFile name hint)) blocked
        // drvWrappers "builtins." where
        // { getEnv = _: ""; builtins = self; };
    in
    self;

  # Every global name a module file sees, as a function of the module's
  # scope (`atom`, `mod`, `pre`, ...) and the file. Blocked builtins are
  # shadowed under both spellings, so that a newer Nix exposing one
  # unprefixed cannot open a hole; guarded ones and `getEnv` under the `__`
  # spelling Nix uses for them.
  blockedGlobal = name: hint: _: relFile: abort (message relFile name hint);
  fileGlobal = name: _: relFile: (filteredFor relFile).${name};
  scopeTable =
    B.listToAttrs (B.concatMap
      (name: [
        { inherit name; value = blockedGlobal name blocked.${name}; }
        { name = "__" + name; value = blockedGlobal name blocked.${name}; }
      ])
      (B.attrNames blocked))
    // B.listToAttrs (map (name: { name = "__" + name; value = fileGlobal name; }) (guardedPresent ++ [ "getEnv" ]))
    // {
      builtins = _: filteredFor;
      derivation = _: relFile: (drvWrappers "" " in ${relFile}").derivation;
      derivationStrict = _: relFile: (drvWrappers "" " in ${relFile}").derivationStrict;
      atom = m: _: m.atom;
      mod = m: _: m.mod;
      from = m: _: m.from;
      get = m: _: m.get;
      std = m: _: m.std;
      config = m: _: m.config;
    };

  # `std` holds every pure builtin: all but those that import code, name
  # host or lookup paths, fetch, or read the clock, the system or the
  # environment. File builtins are guarded as in modules.
  impure = n:
    B.elem n [ "import" "scopedImport" "builtins" "nixPath" "storePath" "getEnv" "getFlake" "findFile" "exec" "importNative" ]
    || B.substring 0 5 n == "fetch" || B.substring 0 7 n == "current";
  stdBuiltins = B.removeAttrs
    (B // guardsFor "std." "" // drvWrappers "std." "")
    (B.filter impure (B.attrNames B));
in
{
  inherit scopeTable filteredFor stdBuiltins;
  scopeTableNested = scopeTable // { pre = m: _: m.pre; };
}
