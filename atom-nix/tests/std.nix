# Value tests of the standard library, through the `std` scope of an atom.
let
  inherit (import ./common.nix) compose;
  view = compose ./fixtures/stdview { };
  std = view.std;
  inherit (std) list set string path file;
  data = view.data;
in
{
  # --- top level ------------------------------------------------------------
  fix = { expr = std.fix (self: { a = 1; b = self.a + 1; }); expected = { a = 1; b = 2; }; };
  extends = {
    expr = std.fix (std.extends (self: super: { b = super.b * 10; c = self.b + 1; }) (self: { a = 1; b = self.a + 1; }));
    expected = { a = 1; b = 20; c = 21; };
  };
  id = { expr = std.id 3; expected = 3; };
  const = { expr = std.const 1 2; expected = 1; };
  flip = { expr = std.flip (a: b: a - b) 1 10; expected = 9; };
  pipe = { expr = std.pipe 2 [ (x: x + 1) (x: x * 10) ]; expected = 30; };
  compose = { expr = std.compose [ (x: x + 1) (x: x * 10) ] 2; expected = 21; };
  publicApi = {
    expr = builtins.attrNames (removeAttrs std (builtins.attrNames builtins));
    expected = [ "compose" "const" "extends" "file" "fix" "flip" "id" "list" "pipe" "set" "string" ];
  };
  # std's own members win over builtins of the same name.
  pathIsTheModule = { expr = std.path ? make; expected = true; };

  # --- the pure builtins, as in atoms written for the existing atom-nix --------
  builtinAttrNames = { expr = std.attrNames { b = 1; a = 2; }; expected = [ "a" "b" ]; };
  builtinFoldl = { expr = std.foldl' builtins.add 0 [ 1 2 3 ]; expected = 6; };
  builtinReadFile = { expr = std.readFile "${data}/lines.txt"; expected = "one\ntwo\n"; };
  builtinMapAttrs = { expr = std.mapAttrs (n: v: v + 1) { a = 1; }; expected = { a = 2; }; };
  builtinsAreTheHosts = { expr = std.toJSON [ 1 ] == builtins.toJSON [ 1 ] && std.true && std.storeDir == builtins.storeDir; expected = true; };
  impureBuiltinsAbsent = {
    expr = builtins.filter (n: std ? ${n}) [ "import" "scopedImport" "builtins" "fetchGit" "fetchTarball" "fetchurl" "fetchTree" "fetchMercurial" "fetchClosure" "currentSystem" "currentTime" "nixPath" "storePath" "getEnv" "getFlake" "findFile" "exec" "importNative" ];
    expected = [ ];
  };
  pureBuiltinsPresent = {
    expr = builtins.filter (n: !(std ? ${n})) [ "readFile" "readDir" "pathExists" "hashFile" "filterSource" "toFile" "derivation" "derivationStrict" "abort" "throw" "tryEval" "trace" "toJSON" "fromTOML" "foldl'" "genList" "storeDir" "placeholder" "nixVersion" "langVersion" ];
    expected = [ ];
  };

  # --- list -----------------------------------------------------------------
  imap0 = { expr = list.imap0 (i: x: "${toString i}${x}") [ "a" "b" ]; expected = [ "0a" "1b" ]; };
  imap1 = { expr = list.imap1 (i: x: i * x) [ 10 20 ]; expected = [ 10 40 ]; };
  sublist = { expr = list.sublist 1 2 [ 1 2 3 4 ]; expected = [ 2 3 ]; };
  sublistClamped = { expr = list.sublist 3 10 [ 1 2 3 4 ]; expected = [ 4 ]; };
  sublistOutside = { expr = list.sublist 9 1 [ 1 2 ]; expected = [ ]; };
  take = { expr = list.take 2 [ 1 2 3 ]; expected = [ 1 2 ]; };
  drop = { expr = list.drop 2 [ 1 2 3 ]; expected = [ 3 ]; };
  last = { expr = list.last [ 1 2 3 ]; expected = 3; };
  init = { expr = list.init [ 1 2 3 ]; expected = [ 1 2 ]; };
  range = { expr = list.range 1 4; expected = [ 1 2 3 4 ]; };
  rangeEmpty = { expr = list.range 3 1; expected = [ ]; };
  replicateList = { expr = list.replicate 3 "x"; expected = [ "x" "x" "x" ]; };
  reverse = { expr = list.reverse [ 1 2 3 ]; expected = [ 3 2 1 ]; };
  flatten = { expr = list.flatten [ 1 [ 2 [ 3 [ ] ] ] 4 ]; expected = [ 1 2 3 4 ]; };
  unique = { expr = list.unique [ 3 1 3 2 1 ]; expected = [ 3 1 2 ]; };
  findFirst = { expr = list.findFirst (x: x > 1) null [ 1 2 3 ]; expected = 2; };
  findFirstDefault = { expr = list.findFirst (x: x > 5) "none" [ 1 2 3 ]; expected = "none"; };
  count = { expr = list.count (x: x > 1) [ 1 2 3 ]; expected = 2; };
  foldr = { expr = list.foldr (x: acc: [ x ] ++ acc) [ ] [ 1 2 3 ]; expected = [ 1 2 3 ]; };
  foldrOrder = { expr = list.foldr (x: acc: "(${x}${acc})") "" [ "a" "b" ]; expected = "(a(b))"; };
  zip = { expr = list.zip [ 1 2 3 ] [ "a" "b" ]; expected = [ { fst = 1; snd = "a"; } { fst = 2; snd = "b"; } ]; };
  zipWith = { expr = list.zipWith (a: b: a + b) [ 1 2 ] [ 10 20 ]; expected = [ 11 22 ]; };
  intersperse = { expr = list.intersperse 0 [ 1 2 3 ]; expected = [ 1 0 2 0 3 ]; };
  intersperseEmpty = { expr = list.intersperse 0 [ ]; expected = [ ]; };
  groupBy = {
    expr = list.groupBy (x: if x > 1 then "big" else "small") [ 1 2 3 ];
    expected = { big = [ 2 3 ]; small = [ 1 ]; };
  };
  partition = { expr = list.partition (x: x > 1) [ 1 2 3 ]; expected = { right = [ 2 3 ]; wrong = [ 1 ]; }; };
  toAttrs = { expr = list.toAttrs (x: x.n) [ { n = "a"; v = 1; } ]; expected = { a = { n = "a"; v = 1; }; }; };
  listPrivateHidden = { expr = list ? imap || list ? sublist' ; expected = false; };

  # --- set ------------------------------------------------------------------
  setFilter = { expr = set.filter (n: v: v > 1) { a = 1; b = 2; }; expected = { b = 2; }; };
  filterMap = {
    expr = set.filterMap (n: v: if v > 1 then "${n}${toString v}" else null) { a = 1; b = 2; };
    expected = { b = "b2"; };
  };
  mapToList = { expr = set.mapToList (n: v: "${n}=${toString v}") { b = 2; a = 1; }; expected = [ "a=1" "b=2" ]; };
  merge = {
    expr = set.merge { a = { x = 1; y = 2; }; b = 1; } { a = { y = 3; z = 4; }; c = 5; };
    expected = { a = { x = 1; y = 3; z = 4; }; b = 1; c = 5; };
  };
  mergeReplacesNonSets = { expr = set.merge { a = { x = 1; }; } { a = 2; }; expected = { a = 2; }; };
  mergeUntil = {
    expr = set.mergeUntil (path: _: _: path == [ "a" ]) { a = { x = 1; }; b = { x = 1; }; } { a = { y = 2; }; b = { y = 2; }; };
    expected = { a = { y = 2; }; b = { x = 1; y = 2; }; };
  };
  when = { expr = [ (set.when true { a = 1; }) (set.when false { a = 1; }) ]; expected = [ { a = 1; } { } ]; };
  getPath = { expr = set.getPath [ "a" "b" ] null { a.b = 3; }; expected = 3; };
  getPathDefault = { expr = set.getPath [ "a" "c" ] "d" { a.b = 3; }; expected = "d"; };
  setPath = { expr = set.setPath [ "a" "b" ] 1; expected = { a = { b = 1; }; }; };
  genAttrs = { expr = set.genAttrs [ "a" "b" ] (n: n + n); expected = { a = "aa"; b = "bb"; }; };
  fromPairs = { expr = set.fromPairs [ [ "a" 1 ] [ "b" 2 ] ]; expected = { a = 1; b = 2; }; };
  zipWithSets = {
    expr = set.zipWith (n: vs: vs) [ { a = 1; } { a = 2; b = 3; } ];
    expected = { a = [ 1 2 ]; b = [ 3 ]; };
  };

  # --- string ---------------------------------------------------------------
  toLowerCase = { expr = string.toLowerCase "Hello World"; expected = "hello world"; };
  toUpperCase = { expr = string.toUpperCase "Hello"; expected = "HELLO"; };
  hasPrefix = { expr = [ (string.hasPrefix "ab" "abc") (string.hasPrefix "b" "abc") ]; expected = [ true false ]; };
  hasSuffix = { expr = [ (string.hasSuffix "bc" "abc") (string.hasSuffix "abcd" "abc") ]; expected = [ true false ]; };
  removePrefix = { expr = [ (string.removePrefix "ab" "abc") (string.removePrefix "x" "abc") ]; expected = [ "c" "abc" ]; };
  removeSuffix = { expr = string.removeSuffix ".nix" "mod.nix"; expected = "mod"; };
  join = { expr = string.join ", " [ "a" "b" ]; expected = "a, b"; };
  split = { expr = string.split "," "a,b,,c"; expected = [ "a" "b" "" "c" ]; };
  splitLiteral = { expr = string.split "." "a.b"; expected = [ "a" "b" ]; };
  lines = { expr = string.lines "one\ntwo\n"; expected = [ "one" "two" ]; };
  chars = { expr = string.chars "abc"; expected = [ "a" "b" "c" ]; };
  trim = { expr = string.trim "  \t a b \n"; expected = "a b"; };
  trimBlank = { expr = string.trim " \n "; expected = ""; };
  replicateString = { expr = string.replicate 3 "ab"; expected = "ababab"; };
  escapeRegex = { expr = builtins.match (string.escapeRegex "a.b*") "a.b*" != null; expected = true; };

  # --- path -----------------------------------------------------------------
  make = { expr = path.make [ "a" "b/" "/c" ]; expected = "a/b/c"; };
  makeAbsolute = { expr = path.make [ "/a" "b" ]; expected = "/a/b"; };
  segments = { expr = path.segments "/a//b/./c"; expected = [ "a" "b" "c" ]; };
  baseName = { expr = path.baseName "/a/b.txt"; expected = "b.txt"; };
  dirName = { expr = [ (path.dirName "/a/b") (path.dirName "a/b/c") (path.dirName "a") (path.dirName "/a") ]; expected = [ "/a" "a/b" "." "/" ]; };
  extension = { expr = [ (path.extension "x.tar.gz") (path.extension "x") (path.extension ".hidden") (path.extension "d.d/x") ]; expected = [ "gz" "" "" "" ]; };
  removeExtension = { expr = path.removeExtension "dir/x.toml"; expected = "dir/x"; };

  # --- file -----------------------------------------------------------------
  parseToml = { expr = file.parse "${data}/config.toml"; expected = { title = "atom"; server = { port = 8080; }; }; };
  parseJson = { expr = file.parse "${data}/data.json"; expected = { a = [ 1 2 ]; b = null; }; };
  parseText = { expr = file.parse "${data}/lines.txt"; expected = "one\ntwo\n"; };
  fileLines = { expr = file.lines "${data}/lines.txt"; expected = [ "one" "two" ]; };
  fileToml = { expr = (file.toml "${data}/config.toml").server.port; expected = 8080; };
  fileJson = { expr = (file.json "${data}/data.json").a; expected = [ 1 2 ]; };
}
