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
    expected = [ "cap" "childNames" "double" "file" "files" "fixed" "fromDep" "hiddenNames" "modNames" "path" "purity" "scopes" "six" "src" "system" "viaHelper" "viaHidden" ];
  };
  publicMemberFile = { expr = basic.double; expected = 12; };
  privateMemberFile = { expr = basic.viaHelper; expected = 300; };
  reexportIdiom = { expr = basic.file.parse "x"; expected = "parsed:x"; };
  reexportHidesPrivate = { expr = B.attrNames basic.file; expected = [ "parse" ]; };
  parentSeesChildPublicOnly = { expr = basic.childNames; expected = [ "fromPre" "six" "to" ]; };
  childPrivatesHidden = { expr = [ (basic.path ? level) (basic.path ? secret) ]; expected = [ false false ]; };
  modSeesEverything = {
    expr = basic.modNames;
    expected = [ "Cap" "ChildNames" "Double" "File" "Files" "Fixed" "FromDep" "HiddenNames" "ModNames" "Path" "Purity" "Scopes" "Six" "Src" "System" "ViaHelper" "ViaHidden" "cap" "childNames" "double" "file" "files" "fixed" "fromDep" "helper" "hidden" "hiddenNames" "level" "modNames" "outPath" "path" "privateFunc" "purity" "scopes" "secret" "six" "src" "system" "viaHelper" "viaHidden" ];
  };

  # --- submodules: private until re-exported or capitalised -----------------
  submoduleReexported = { expr = [ basic.path.six basic.path.to.label ]; expected = [ 6 "to" ]; };
  submodulePrivate = { expr = basic ? hidden; expected = false; };
  privateSubmoduleThroughMod = { expr = basic.viaHidden; expected = "hidden-value"; };
  modSeesSubmodulePublicOnly = { expr = basic.hiddenNames; expected = [ "value" ]; };
  capitalisedSubmodulePublic = { expr = basic.cap.value; expected = "cap-value"; };
  capitalisedSubmodulePre = { expr = basic.cap.fromPre; expected = "top-secret"; };
  reexportIsTheSubmodule = { expr = basic.file == basic.file; expected = true; };
  # The seed's std example composes: std/mod.nix re-exports its submodules.
  seedStd = {
    expr = let s = compose ./fixtures/seedstd { }; in {
      names = B.attrNames s;
      fileNames = B.attrNames s.file;
      parse = s.file.parse "x";
      imap = s.list.imap (i: x: i + x) [ 10 20 ];
      sub = s.list.sublist 1 1 [ 1 2 3 ];
      make = s.path.make [ "a" "b" ];
      set = [ (s.set.merge { a = 1; } { b = 2; }) (s.set.when false { a = 1; }) (s.set.inject "k" 1 { }) ];
      lower = s.string.toLowerCase "ABC";
      fix = (s.fix (self: { a = 1; b = self.a + 1; })).b;
    };
    expected = {
      names = [ "file" "fix" "list" "path" "set" "string" ];
      fileNames = [ "parse" ];
      parse = "parsed:x";
      imap = [ 10 21 ];
      sub = [ 2 ];
      make = "a/b";
      set = [ { a = 1; b = 2; } { } { k = 1; } ];
      lower = "abc";
      fix = 2;
    };
  };

  # --- mod.nix shadows member files and submodules of the same name ----------
  modNixShadowsFile = { expr = edge.sub.shadowFile; expected = { x = "from mod.nix"; y = "from mod.nix"; }; };
  modNixShadowsSubmodule = { expr = edge.sub.shadowSub; expected = { pub = "from mod.nix"; sub = "from mod.nix"; }; };
  capitalisedAndPrivateSubmodules = {
    expr = [ edge.sub.collideLower.foo.value edge.sub.collideLower.private edge.sub.collideLower.names ];
    expected = [ "Foo" "foo" [ "Foo" "Names" "Private" "foo" "names" "outPath" "private" ] ];
  };
  # The existing atom-nix's spelling through `mod` and `pre`: both are accepted,
  # and a declared name wins over a lowered one.
  loweredThroughModAndPre = {
    expr = let l = compose ./fixtures/lowered { }; in {
      inherit (l) viaMod declared;
      inherit (l.child) fromPre declaredWins bothSpellings;
      public = B.attrNames l;
    };
    expected = {
      viaMod = 1;
      declared = "private bar";
      fromPre = 3;
      declaredWins = "private bar";
      bothSpellings = [ 1 1 ];
      public = [ "bar" "child" "declared" "foo" "viaMod" ];
    };
  };
  memberBesideDataDirectory = {
    expr = compose ./fixtures/twins { };
    expected = { names = [ "Names" "Twin" "names" "outPath" "twin" ]; twin = "file"; };
  };
  publicFileAndPrivateSubmodule = { expr = edge.sub.collidePublic; expected = { sub = "thing/"; thing = 1; }; };

  # --- pre chains and atom from deep modules --------------------------------
  preOneLevel = { expr = basic.path.fromPre; expected = "top-secret"; };
  preChainFourLevels = { expr = basic.path.to.this.module.chain; expected = [ 3 2 1 0 ]; };
  prePrivateAtDepth = { expr = basic.path.to.this.module.topSecret; expected = "top-secret"; };
  prePrivateMiddle = { expr = basic.path.to.this.module.pathSecret; expected = "path-secret"; };
  preEndsAtTop = { expr = basic.path.to.this.module.topHasPre; expected = false; };
  preHasPreBelowTop = { expr = basic.path.to.this.module.preHasPre; expected = true; };
  prePrivateSubmodule = { expr = basic.path.to.this.module.topHidden; expected = "hidden-value"; };
  preIsParentMod = { expr = basic.path.to.this.module.preIsParentMod; expected = [ "Module" "level" "module" "outPath" "pre" ]; };
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
    expected = [ "modNames" "ok" "sub" "topPre" ];
  };
  edgeSubmodules = {
    expr = B.attrNames edge.sub;
    expected = [ "ModNames" "Ok" "Sub" "TopPre" "badSub" "brokenSub" "collideLower" "collidePublic" "dotted" "fileAndSub" "modDir" "modNames" "notAttrs" "ok" "outPath" "reserved" "reservedOut" "shadowFile" "shadowSub" "sub" "symlinkData" "symlinked" "syntax" "topPre" ];
  };
  dotFilesNotMembers = { expr = B.elem "hidden" edge.modNames || B.elem ".hidden" edge.modNames; expected = false; };
  dotDirNotSubmodule = { expr = edge.sub ? dotmod || edge.sub ? ".dotmod"; expected = false; };
  dirWithoutModNixNotSubmodule = { expr = edge.sub ? plain || edge.sub ? inner; expected = false; };
  symlinkedDirNotSubmodule = { expr = edge.sub ? alias; expected = false; };
  symlinkNotCopied = { expr = edge.sub.symlinkData.files; expected = [ "mod.nix" "real.txt" ]; };
  syntaxErrorMemberHarmless = { expr = edge.sub.syntax.fine; expected = 1; };
  brokenSubmoduleHarmless = { expr = edge.ok; expected = "ok"; };
  brokenSubmoduleListed = { expr = edge.sub ? brokenSub; expected = true; };

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
  # --- derivations: ordinary ones work (the twin of the fetcher errors) -------
  ordinaryDerivation = {
    expr = let d = boundary.drv; in {
      drvPath = B.match "${B.storeDir}/[a-z0-9]{32}-ordinary.drv" d.drvPath != null;
      strict = B.match ".*-strict.drv" d.strict != null;
      viaBuiltins = B.match ".*-b.drv" d.viaBuiltins != null;
      viaStd = B.match ".*-s.drv" d.viaStd != null;
      inherit (d) drvFileHasBuilder;
      fixedOutput = B.match ".*-fixed.drv" d.fixedOutput != null;
    };
    expected = { drvPath = true; strict = true; viaBuiltins = true; viaStd = true; drvFileHasBuilder = true; fixedOutput = true; };
  };
}
