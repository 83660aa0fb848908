# Error tests: `tests/run` evaluates each `expr` in its own nix-instantiate,
# expects it to fail, and checks that stderr contains every string in
# `messages` and none in `absent`. Several of these also run the failing
# code under `builtins.tryEval`, to show it cannot be caught.
let
  inherit (import ./common.nix) compose basic edge boundary;
  B = builtins;
  noStorePath = [ B.storeDir ];

  blockedCase = member: name: file: hint: {
    expr = boundary.${member};
    messages = [ "atom-nix: `${name}` is not available in atom modules (used in ${file})" hint ];
    absent = noStorePath;
  };
  scopes = "only through its scopes";
  fromGet = "use `from` (evaluation-time Nix code) or `get` (build-time sources)";
  lookup = "lookup paths depend on the host's NIX_PATH; declare the dependency and use `from`";
  system = "use `config.system`";
in
{
  # --- blocked builtins ---------------------------------------------------
  import = blockedCase "import" "import" "Import.nix" scopes;
  builtinsImport = blockedCase "builtinsImport" "import" "BuiltinsImport.nix" scopes;
  scopedImport = blockedCase "scopedImport" "scopedImport" "ScopedImport.nix" scopes;
  builtinsScopedImport = blockedCase "builtinsScopedImport" "scopedImport" "BuiltinsScopedImport.nix" scopes;
  lookupPath = blockedCase "lookupPath" "findFile" "LookupPath.nix" lookup;
  findFile = blockedCase "findFile" "findFile" "FindFile.nix" lookup;
  builtinsFindFile = blockedCase "builtinsFindFile" "findFile" "BuiltinsFindFile.nix" lookup;
  nixPath = blockedCase "nixPath" "nixPath" "NixPath.nix" lookup;
  builtinsNixPath = blockedCase "builtinsNixPath" "nixPath" "BuiltinsNixPath.nix" lookup;
  fetchGit = blockedCase "fetchGit" "fetchGit" "FetchGit.nix" fromGet;
  builtinsFetchGit = blockedCase "builtinsFetchGit" "fetchGit" "BuiltinsFetchGit.nix" fromGet;
  fetchTarball = blockedCase "fetchTarball" "fetchTarball" "FetchTarball.nix" fromGet;
  builtinsFetchTarball = blockedCase "builtinsFetchTarball" "fetchTarball" "BuiltinsFetchTarball.nix" fromGet;
  fetchurl = blockedCase "fetchurl" "fetchurl" "Fetchurl.nix" fromGet;
  builtinsFetchurl = blockedCase "builtinsFetchurl" "fetchurl" "BuiltinsFetchurl.nix" fromGet;
  fetchTree = blockedCase "fetchTree" "fetchTree" "FetchTree.nix" fromGet;
  builtinsFetchTree = blockedCase "builtinsFetchTree" "fetchTree" "BuiltinsFetchTree.nix" fromGet;
  fetchMercurial = blockedCase "fetchMercurial" "fetchMercurial" "FetchMercurial.nix" fromGet;
  builtinsFetchMercurial = blockedCase "builtinsFetchMercurial" "fetchMercurial" "BuiltinsFetchMercurial.nix" fromGet;
  getFlake = blockedCase "getFlake" "getFlake" "GetFlake.nix" fromGet;
  fetchClosure = blockedCase "fetchClosure" "fetchClosure" "FetchClosure.nix" fromGet;
  storePath = blockedCase "storePath" "storePath" "StorePath.nix" "use `get`";
  exec = blockedCase "exec" "exec" "Exec.nix" "not allowed";
  importNative = blockedCase "importNative" "importNative" "ImportNative.nix" "not allowed";
  currentSystem = blockedCase "currentSystem" "currentSystem" "CurrentSystem.nix" system;
  globalCurrentSystem = blockedCase "globalCurrentSystem" "currentSystem" "GlobalCurrentSystem.nix" system;
  currentTime = blockedCase "currentTime" "currentTime" "CurrentTime.nix" "reproducible";
  globalCurrentTime = blockedCase "globalCurrentTime" "currentTime" "GlobalCurrentTime.nix" "reproducible";
  importInSubmodule = blockedCase "deep" "import" "deep/mod.nix" scopes // { expr = boundary.deep.import; };

  # --- tryEval cannot catch the boundary ------------------------------------
  tryImport = blockedCase "tryImport" "import" "TryImport.nix" scopes;
  tryLookupPath = blockedCase "tryLookupPath" "findFile" "TryLookupPath.nix" lookup;
  tryFetchGit = blockedCase "tryFetchGit" "fetchGit" "TryFetchGit.nix" fromGet;
  tryFetchurl = blockedCase "tryFetchurl" "fetchurl" "TryFetchurl.nix" fromGet;
  tryCurrentSystem = blockedCase "tryCurrentSystem" "currentSystem" "TryCurrentSystem.nix" system;
  tryDeepSeqBuiltins = blockedCase "tryDeepSeqBuiltins" "nixPath" "TryDeepSeqBuiltins.nix" lookup;
  tryPathExistsHost = {
    expr = boundary.tryPathExistsHost;
    messages = [ "`builtins.pathExists` refused the host path `/etc/passwd` in TryPathExistsHost.nix" ];
  };

  # --- host paths -----------------------------------------------------------
  readHost = { expr = boundary.readHost; messages = [ "`builtins.readFile` refused the host path `/etc/passwd` in ReadHost.nix" ]; };
  pathExistsHost = { expr = boundary.pathExistsHost; messages = [ "`builtins.pathExists` refused the host path `/etc/passwd` in PathExistsHost.nix" ]; };
  readDirHost = { expr = boundary.readDirHost; messages = [ "`builtins.readDir` refused the host path `/etc` in ReadDirHost.nix" ]; };
  readClimbingOutOfStore = { expr = boundary.readClimbing; messages = [ "`builtins.readFile` refused the host path" "in ReadClimbing.nix" ]; };
  readStoreDir = { expr = boundary.readStoreDir; messages = [ "`builtins.readDir` refused the host path" "in ReadStoreDir.nix" ]; };
  copyHost = { expr = boundary.copyHost; messages = [ "`builtins.path` refused the host path `/etc` in CopyHost.nix" ]; };

  # --- layout errors name the files -----------------------------------------
  fileAndSubmoduleSameName = {
    expr = edge.sub.fileAndSub;
    messages = [ "`x` is defined twice in module `fileAndSub`: by file fileAndSub/x.nix and by submodule fileAndSub/x/" ];
    absent = noStorePath;
  };
  dottedMemberFile = { expr = edge.sub.dotted; messages = [ "member file dotted/a.b.nix is not a valid name" ]; };
  symlinkMember = { expr = edge.sub.symlinked; messages = [ "symlinked/x.nix is a symlink" ]; };
  reservedPre = { expr = edge.sub.reserved; messages = [ "`pre` (reserved/mod.nix) is a reserved name" ]; };
  reservedOutPath = { expr = edge.sub.reservedOut; messages = [ "`outPath` (file reservedOut/outPath.nix) is a reserved name" ]; };
  modNixNotAttrs = { expr = edge.sub.notAttrs; messages = [ "notAttrs/mod.nix must evaluate to an attribute set, not a int" ]; };
  badSubmoduleName = { expr = edge.sub.badSub; messages = [ "submodule directory badSub/my.mod/ is not a valid name" ]; };
  modNixDirectory = { expr = edge.sub.modDir; messages = [ "modDir/mod.nix is a directory" ]; };
  # Errors of the evaluator itself print the store copy of a copied file;
  # its name carries the atom and module path (`edge.syntax`) and the file.
  # A file without a `/` is imported where it is: its errors name the source.
  syntaxErrorWhenUsed = { expr = edge.sub.syntax.broken; messages = [ "syntax error" "tests/fixtures/edge/syntax/Broken.nix:" ]; };
  syntaxErrorCopiedWhenUsed = { expr = edge.sub.syntax.brokenCopied; messages = [ "syntax error" "-edge.syntax-BrokenCopied.nix:" ]; };
  brokenSubmoduleWhenUsed = { expr = edge.sub.brokenSub; messages = [ "syntax error" "tests/fixtures/edge/brokenSub/mod.nix:" ]; };
  preAbsentAtTop = { expr = edge.topPre; messages = [ "`pre` is not available in the top module (used in TopPre.nix): it has no parent module" ]; };
  missingRoot = { expr = compose ./fixtures/basic/notes { }; messages = [ "has no mod.nix" ]; };
  rootNotAbsolute = { expr = compose "relative/dir" { }; messages = [ "the atom root must be a path or an absolute path string" ]; };
  fromNotAttrs = { expr = compose ./fixtures/basic { from = [ ]; }; messages = [ "`from` must be an attribute set, not a list" ]; };
  unknownArgument = { expr = compose ./fixtures/basic { pkgs = { }; }; messages = [ "called with unexpected argument 'pkgs'" ]; };
  # --- std ------------------------------------------------------------------
  stdLastOfEmpty = { expr = (compose ./fixtures/stdview { }).std.list.last [ ]; messages = [ "std.list.last: empty list" ]; };
  stdParseRefusesNix = {
    expr = let v = compose ./fixtures/stdview { }; in v.std.file.parse "${v.data}/Example.nix";
    messages = [ "std.file.parse:" "Nix files are not data" ];
  };
  privateNotReachable = { expr = basic.secret; messages = [ "attribute 'secret' missing" ]; };
  privateSubmoduleNotReachable = { expr = basic.hidden; messages = [ "attribute 'hidden' missing" ]; };

  # --- relative path literals fail --------------------------------------------
  relativeRead = { expr = boundary.relativeRead; messages = [ "`builtins.readFile` refused `" "/data.txt` in RelativeRead.nix: relative path literals do not work in atom modules" ]; };
  relativeBare = { expr = boundary.relativeBare; messages = [ "`builtins.readFile` refused `" "/assets/logo.txt` in RelativeBare.nix: relative path literals do not work in atom modules" ]; };
  relativeDir = { expr = boundary.relativeDir; messages = [ "`builtins.readDir` refused `" "in RelativeDir.nix: relative path literals do not work" ]; };
  tryRelativeExists = { expr = boundary.tryRelativeExists; messages = [ "`builtins.pathExists` refused `" "/mod.nix` in TryRelativeExists.nix: relative path literals" ]; };
  stdReadHost = { expr = boundary.stdReadHost; messages = [ "`std.readFile` refused the host path `/etc/passwd`: a module may read only" ]; };

  # --- no fetching derivations, no import from derivation -----------------------
  derivationFetchurl = {
    expr = boundary.drvFetchurl;
    messages = [ "derivation` refused the builder `builtin:fetchurl` in DrvFetchurl.nix" "a module may not create fetching derivations: sources come from `get`" ];
    absent = [ "example.invalid" ];
  };
  derivationStrictFetchurl = {
    expr = boundary.builtinsDrvStrictFetchurl;
    messages = [ "`builtins.derivationStrict` refused the builder `builtin:fetchurl` in BuiltinsDrvStrictFetchurl.nix" ];
  };
  stdDerivationFetchurl = { expr = boundary.stdDrvFetchurl; messages = [ "`std.derivation` refused the builder `builtin:fetchurl`:" ]; };
  tryDerivationFetchurl = { expr = boundary.tryDrvStrictFetchurl; messages = [ "derivationStrict` refused the builder `builtin:fetchurl` in TryDrvStrictFetchurl.nix" ]; };
  importFromDerivation = {
    expr = boundary.ifd;
    messages = [ "`builtins.readFile` refused `" "-out` in Ifd.nix: it is the output of a derivation" "atom modules may not import from derivations" ];
    absent = [ "building" ];
  };
  tryImportFromDerivation = { expr = boundary.tryIfdPathExists; messages = [ "`builtins.pathExists` refused `" "in TryIfdPathExists.nix: it is the output of a derivation" ]; };
  childPrivateNotReachable = { expr = basic.path.level; messages = [ "attribute 'level' missing" ]; };
}
