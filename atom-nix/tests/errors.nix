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
  memberInModNixAndFile = {
    expr = edge.collideFile;
    messages = [ "`x` is defined twice in module `collideFile`: in collideFile/mod.nix and by file collideFile/x.nix" ];
    absent = noStorePath;
  };
  memberInModNixAndSubmodule = {
    expr = edge.collideSub.sub;
    messages = [ "`sub` is defined twice in module `collideSub`: in collideSub/mod.nix and by submodule collideSub/sub/" ];
  };
  submodulesCollideLowered = {
    expr = B.attrNames edge.collideLower;
    messages = [ "`Foo` (submodule collideLower/Foo/) and `foo` (submodule collideLower/foo/) collide in module `collideLower`: both are seen from outside as `foo`" ];
  };
  publicFileCollidesWithSubmodule = {
    expr = edge.collidePublic;
    messages = [ "`Thing` (file collidePublic/Thing.nix) and `thing` (submodule collidePublic/thing/) collide" ];
  };
  dottedMemberFile = { expr = edge.dotted; messages = [ "member file dotted/a.b.nix is not a valid name" ]; };
  symlinkMember = { expr = edge.symlinked; messages = [ "symlinked/x.nix is a symlink" ]; };
  reservedPre = { expr = edge.reserved; messages = [ "`pre` (reserved/mod.nix) is a reserved name" ]; };
  reservedOutPath = { expr = edge.reservedOut; messages = [ "`outPath` (file reservedOut/outPath.nix) is a reserved name" ]; };
  modNixNotAttrs = { expr = edge.notAttrs; messages = [ "notAttrs/mod.nix must evaluate to an attribute set, not a int" ]; };
  badSubmoduleName = { expr = edge.badSub; messages = [ "submodule directory badSub/my.mod/ is not a valid name" ]; };
  modNixDirectory = { expr = edge.modDir; messages = [ "modDir/mod.nix is a directory" ]; };
  # Errors of the evaluator itself print the store copy; its name carries
  # the atom and module path (`edge.syntax`), the file name is kept.
  syntaxErrorWhenUsed = { expr = edge.syntax.broken; messages = [ "syntax error" "-edge.syntax/Broken.nix" ]; };
  brokenSubmoduleWhenUsed = { expr = edge.brokenSub; messages = [ "syntax error" "-edge.brokenSub/mod.nix" ]; };
  preAbsentAtTop = { expr = edge.topPre; messages = [ "undefined variable 'pre'" "-edge/TopPre.nix" ]; };
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
  childPrivateNotReachable = { expr = basic.path.level; messages = [ "attribute 'level' missing" ]; };
}
