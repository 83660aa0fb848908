# Value tests: each case is `{ expr; expected; }`; `tests/run` checks
# `expr == expected` with the real nix-instantiate.
let
  inherit (import ./common.nix) compose basic edge boundary;
  B = builtins;
in
{
  # --- public and private, lowering -------------------------------------
  publicIsLowered = { expr = basic.six; expected = 6; };
  declaredSpellingHidden = { expr = basic ? Six; expected = false; };
  privateHidden = { expr = [ (basic ? privateFunc) (basic ? secret) (basic ? helper) (basic ? level) ]; expected = [ false false false false ]; };
  publicNames = {
    expr = B.attrNames basic;
    expected = [ "childNames" "double" "file" "files" "fixed" "fromDep" "modNames" "path" "purity" "scopes" "six" "src" "system" "viaHelper" ];
  };
  publicMemberFile = { expr = basic.double; expected = 12; };
  privateMemberFile = { expr = basic.viaHelper; expected = 300; };
  reexportIdiom = { expr = basic.file.parse "x"; expected = "parsed:x"; };
  reexportHidesPrivate = { expr = B.attrNames basic.file; expected = [ "parse" ]; };
  parentSeesChildPublicOnly = { expr = basic.childNames; expected = [ "fromPre" "six" "to" ]; };
  childPrivatesHidden = { expr = [ (basic.path ? level) (basic.path ? secret) ]; expected = [ false false ]; };
  modSeesEverything = {
    expr = basic.modNames;
    expected = [ "ChildNames" "Double" "Files" "Fixed" "FromDep" "ModNames" "Purity" "Scopes" "Six" "Src" "System" "ViaHelper" "file" "helper" "level" "outPath" "path" "privateFunc" "secret" ];
  };

  # --- pre chains and atom from deep modules --------------------------------
  preOneLevel = { expr = basic.path.fromPre; expected = "top-secret"; };
  preChainFourLevels = { expr = basic.path.to.this.module.chain; expected = [ 3 2 1 0 ]; };
  prePrivateAtDepth = { expr = basic.path.to.this.module.topSecret; expected = "top-secret"; };
  prePrivateMiddle = { expr = basic.path.to.this.module.pathSecret; expected = "path-secret"; };
  preEndsAtTop = { expr = basic.path.to.this.module.topHasPre; expected = false; };
  preHasPreBelowTop = { expr = basic.path.to.this.module.preHasPre; expected = true; };
  atomFromDeep = { expr = basic.path.to.this.module.fromAtom; expected = 24; };
  atomSiblingFromDeep = { expr = basic.path.to.this.module.sibling; expected = "to"; };

  # --- scopes given by the caller ------------------------------------------
  fromScope = { expr = basic.fromDep; expected = 1; };
  getScope = { expr = basic.src; expected = "source"; };
  configSystem = { expr = basic.system; expected = "x86_64-linux"; };
  stdScope = { expr = basic.fixed; expected = 2; };
  reservedScopesNotOverridden = {
    expr = basic.scopes;
    expected = { std = "set"; stdHasFix = true; atom = "set"; mod = "top-secret"; fromStd = "not the std"; configMod = "not the mod"; };
  };
  defaultsAreEmpty = { expr = (compose ./fixtures/boundary { }).ok; expected = "ok"; };
  rootAsString = { expr = (compose (toString ./fixtures/basic) { config.system = "s"; }).six; expected = 6; };
  rootInStore = {
    # an atom that is itself in the store, e.g. fetched by a tool
    expr = let src = B.path { path = ./fixtures; name = "fixtures"; }; in
      [ (compose "${src}/basic" { }).path.six (compose "${src}/basic/" { }).files.data ];
    expected = [ 6 "some data\n" ];
  };
  sharedStd = { expr = (compose ./fixtures/basic { }).fixed; expected = 2; };

  # --- local files --------------------------------------------------------
  dataThroughMod = { expr = basic.files.data; expected = "some data\n"; };
  dataDirThroughMod = { expr = basic.files.logo; expected = "logo\n"; };
  modCopyIsOwnFilesOnly = {
    # no submodule (`path`, `file`), no dot-file; data directories included
    expr = basic.files.modFiles;
    expected = [ "Double.nix" "Files.nix" "Purity.nix" "assets" "data.txt" "helper.nix" "mod.nix" "notes" ];
  };
  dotIsModuleNixFiles = {
    expr = basic.files.codeFiles;
    expected = [ "Double.nix" "Files.nix" "Purity.nix" "helper.nix" "mod.nix" ];
  };
  relativeNixFile = { expr = basic.files.relativeNix; expected = true; };
  relativeDataAbsent = { expr = basic.files.relativeData; expected = false; };
  modCopyOfDeepModule = {
    # only b's own files: not a's, not the top module's
    expr = B.attrNames (B.readDir "${(compose ./fixtures/lazy { }).a.b.files}");
    expected = [ "data.txt" "mod.nix" ];
  };
  modStringIsStorePath = {
    expr = B.substring 0 (B.stringLength B.storeDir) "${(compose ./fixtures/lazy { }).a.b.files}";
    expected = B.storeDir;
  };

  # --- edge cases of the layout ---------------------------------------------
  edgeTopNames = {
    expr = B.attrNames edge;
    expected = [ "badSub" "brokenSub" "collideFile" "collideLower" "collidePublic" "collideSub" "dotted" "modDir" "modNames" "notAttrs" "ok" "reserved" "reservedOut" "symlinkData" "symlinked" "syntax" "topPre" ];
  };
  dotFilesNotMembers = { expr = B.elem "hidden" edge.modNames || B.elem ".hidden" edge.modNames; expected = false; };
  dotDirNotSubmodule = { expr = edge ? dotmod || edge ? ".dotmod"; expected = false; };
  dirWithoutModNixNotSubmodule = { expr = edge ? plain || edge ? inner; expected = false; };
  symlinkedDirNotSubmodule = { expr = edge ? alias; expected = false; };
  symlinkNotCopied = { expr = edge.symlinkData.files; expected = [ "mod.nix" "real.txt" ]; };
  syntaxErrorMemberHarmless = { expr = edge.syntax.fine; expected = 1; };
  brokenSubmoduleHarmless = { expr = edge.ok; expected = "ok"; };
  brokenSubmoduleListed = { expr = edge ? brokenSub; expected = true; };

  # --- purity: what still works inside a module (controls) ----------------
  getEnvIsEmpty = { expr = boundary.getEnv; expected = { builtins = ""; global = ""; }; };
  getEnvControl = { expr = B.getEnv "HOME" != ""; expected = true; };
  tryEvalWorksInModules = { expr = basic.purity.caught; expected = { success = false; value = false; }; };
  tryEvalCatchesAssert = { expr = basic.purity.assertCaught; expected = false; };
  filteredBuiltinsRecursive = { expr = basic.purity.builtinsIsFiltered; expected = ""; };
  blockedStillListed = { expr = basic.purity.hasFetchGit; expected = true; };
  otherBuiltinsKept = { expr = basic.purity.version; expected = true; };
  systemFromConfig = { expr = boundary.system; expected = "riscv64-linux"; };
  # Outside an atom the same probes work, so the error tests below are not
  # failing for an unrelated reason.
  hostProbeControlPathExists = { expr = B.tryEval (B.pathExists /etc/passwd); expected = { success = true; value = true; }; };
  hostProbeControlCurrentSystem = { expr = B.isString B.currentSystem; expected = true; };
  hostProbeControlLookupCaught = { expr = (B.tryEval (B.findFile [ ] "surely-not-on-the-path")).success; expected = false; };
  pathOkInsideModule = { expr = boundary.deep.ok; expected = "ok"; };
}
