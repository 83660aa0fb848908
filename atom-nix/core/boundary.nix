# The boundary of an atom module: what a module file sees in place of the host
# Nix's global scope, and the builtins that `std` carries.
#
#   fileScope       atom scopes -> module scopes -> relFile -> whole -> every
#                   name a module file sees (one attribute set literal per
#                   file, or the module scopes alone for a file that has no
#                   mark of the boundary; the values stay lazy);
#   mayUse          text -> could a file with this text use the boundary?
#   marks           what a short text must contain for that;
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
  # A module file with a `/` is imported from a store path of its own,
  # directly in the store directory, so a relative path literal in it
  # (`./data.txt`, `./.`, `assets/logo.png`) names the store directory or
  # something under an entry of it that is no store path.
  storeEntry = d: s: if under d s then B.head (B.match "([^/]*).*" (B.substring (B.stringLength d + 1) (B.stringLength s) s)) else null;
  notStorePath = e: e != null && B.match "[0-9a-df-np-sv-z]{32}-.+" e == null;
  isRelative = s: isStoreDir s || notStorePath (storeEntry B.storeDir s) || notStorePath (storeEntry realStoreDir s);
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

  # The `builtins` a module file sees: the host's, with the per-file
  # entries (blocked, guarded, `derivation`, `getEnv`) laid over them in one
  # update. Computed only for the files that use `builtins` or a guarded
  # global.
  perFileNames = B.attrNames blocked ++ guarded ++ [ "getEnv" "derivation" "derivationStrict" "builtins" ];
  hostBase = B.removeAttrs B perFileNames;
  hostHas = B.listToAttrs (map (name: { inherit name; value = true; }) guardedPresent);
  # A builtin the host lacks stays absent from `builtins`.
  present = name: attrs: if hostHas ? ${name} then attrs else { };
  filteredFor = relFile:
    let
      where = " in ${relFile}";
      stop = name: abort (message relFile name blocked.${name});
      guarded' = name: guard "builtins." where name;
      drv = drvWrappers "builtins." where;
      self = hostBase // {
        import = stop "import";
        scopedImport = stop "scopedImport";
        findFile = stop "findFile";
        nixPath = stop "nixPath";
        fetchGit = stop "fetchGit";
        fetchTarball = stop "fetchTarball";
        fetchurl = stop "fetchurl";
        fetchTree = stop "fetchTree";
        fetchMercurial = stop "fetchMercurial";
        fetchClosure = stop "fetchClosure";
        getFlake = stop "getFlake";
        storePath = stop "storePath";
        currentSystem = stop "currentSystem";
        currentTime = stop "currentTime";
        exec = stop "exec";
        importNative = stop "importNative";
        readFile = guarded' "readFile";
        readDir = guarded' "readDir";
        pathExists = guarded' "pathExists";
        hashFile = guarded' "hashFile";
        path = guarded' "path";
        filterSource = guarded' "filterSource";
        getEnv = _: "";
        inherit (drv) derivation derivationStrict;
        builtins = self;
      } // present "readFileType" { readFileType = guarded' "readFileType"; };
    in
    self;

  # `pre` at the top.
  noPre = relFile: abort "atom-nix: `pre` is not available in the top module (used in ${relFile}): it has no parent module";

  # Every global name a module file sees, as one attribute set literal per
  # file (its values are thunks: nothing is computed unless used). Blocked
  # builtins are shadowed under both spellings, so that a Nix that exposes
  # one under the other spelling cannot open a hole, and so that a builtin
  # the host lacks gives the same error; guarded ones and `getEnv` under the
  # `__` spelling Nix uses for them. `pre` at the top is an error too.
  # Curried so that `fileScope` applies the atom's scopes once per atom, the
  # module's (`mod`, `pre`) once per module and the file once per file; the
  # scopes are then plain variables of the literal, which costs no thunk.
  # `pre` is null at the top.
  boundaryScope = atom: from: get: std: config: mod: pre: relFile:
    let
      stop = name: abort (message relFile name blocked.${name});
      builtins = filteredFor relFile;
      # One thunk per blocked builtin, shared by its two spellings.
      s_import = stop "import";
      s_scopedImport = stop "scopedImport";
      s_findFile = stop "findFile";
      s_nixPath = stop "nixPath";
      s_fetchGit = stop "fetchGit";
      s_fetchTarball = stop "fetchTarball";
      s_fetchurl = stop "fetchurl";
      s_fetchTree = stop "fetchTree";
      s_fetchMercurial = stop "fetchMercurial";
      s_fetchClosure = stop "fetchClosure";
      s_getFlake = stop "getFlake";
      s_storePath = stop "storePath";
      s_currentSystem = stop "currentSystem";
      s_currentTime = stop "currentTime";
      s_exec = stop "exec";
      s_importNative = stop "importNative";
    in
    {
      inherit atom mod from get std config builtins;
      pre = if pre != null then pre else noPre relFile;
      inherit (builtins) derivation derivationStrict;
      import = s_import;
      __import = s_import;
      scopedImport = s_scopedImport;
      __scopedImport = s_scopedImport;
      findFile = s_findFile;
      __findFile = s_findFile;
      nixPath = s_nixPath;
      __nixPath = s_nixPath;
      fetchGit = s_fetchGit;
      __fetchGit = s_fetchGit;
      fetchTarball = s_fetchTarball;
      __fetchTarball = s_fetchTarball;
      fetchurl = s_fetchurl;
      __fetchurl = s_fetchurl;
      fetchTree = s_fetchTree;
      __fetchTree = s_fetchTree;
      fetchMercurial = s_fetchMercurial;
      __fetchMercurial = s_fetchMercurial;
      fetchClosure = s_fetchClosure;
      __fetchClosure = s_fetchClosure;
      getFlake = s_getFlake;
      __getFlake = s_getFlake;
      storePath = s_storePath;
      __storePath = s_storePath;
      currentSystem = s_currentSystem;
      __currentSystem = s_currentSystem;
      currentTime = s_currentTime;
      __currentTime = s_currentTime;
      exec = s_exec;
      __exec = s_exec;
      importNative = s_importNative;
      __importNative = s_importNative;
      __readFile = builtins.readFile;
      __readDir = builtins.readDir;
      __pathExists = builtins.pathExists;
      __hashFile = builtins.hashFile;
      __path = builtins.path;
      __filterSource = builtins.filterSource;
      __readFileType = builtins.readFileType or (abort "atom-nix: `readFileType` is not available in this Nix (used in ${relFile})");
      __getEnv = builtins.getEnv;
    };

  # What a file's text must contain to use the boundary: one of these
  # marks, each a part of some names of `boundaryScope` other than the module
  # scopes (`__` of every `__` name, `mport` of `import`, `scopedImport` and
  # `importNative`, `Path` of `nixPath` and `storePath`), or `<`, since a
  # lookup path `<x>` stands for `__findFile __nixPath "x"`. A name is used
  # only where it is written, so a file whose text has none of them sees
  # every name exactly as under the whole scope if it is given the module
  # scopes alone. `fileScope` checks that every name has a mark.
  marks = [ "<" "__" "builtins" "current" "derivation" "exec" "fetch" "findFile" "Flake" "mport" "Path" ];
  scopeNames = [ "atom" "mod" "pre" "from" "get" "std" "config" ];
  noMarks = map (_: "") marks;
  hasMark = text: B.replaceStrings marks noMarks text != text;
  unmarked = B.filter (n: !B.elem n scopeNames && !hasMark n)
    (B.attrNames (boundaryScope null null null null null null null ""));

  # Could the file with this text use the boundary? A scan for the marks
  # costs per character and per mark, the whole scope a constant: only a
  # short file, as most one-line members, is scanned; a longer one may.
  mayUse = text: B.stringLength text > 128 || hasMark text;

  # The scope of the module file `relFile`: when `whole` (`mayUse` its
  # text), every name of the boundary; else the module scopes alone, one
  # attribute set of seven shared by the module's files (compose.nix builds
  # that set itself, once per module, below the top: only at the top does
  # it name a file, in `pre`'s error).
  fileScope =
    assert B.length unmarked == 0 || throw "atom-nix: boundary.nix: no mark for ${toString unmarked}";
    atom: from: get: std: config:
    let all = boundaryScope atom from get std config; in
    mod: pre:
    let
      allFor = all mod pre;
      scopes = { inherit atom mod pre from get std config; };
    in
    relFile: whole:
    if whole then allFor relFile
    else if pre != null then scopes
    else { inherit atom mod from get std config; pre = noPre relFile; };

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
  inherit fileScope mayUse marks filteredFor stdBuiltins;
}
