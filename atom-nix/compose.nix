# atom-nix: the module system atoms are written in.
#
# The one entry point:
#
#   import ./atom-nix/compose.nix <atomRoot> { from ? {}, get ? {}, config ? {} }
#
# `atomRoot` is the directory holding the atom's top `mod.nix` (a path, or an
# absolute path string). The result is the atom's public API: an attribute set
# of its top module's public members, first letter lowered (a submodule
# directory is public when its name is capitalised or when the parent
# re-exports it: `File = mod.file;`).
#
# Every module file is evaluated with these names in scope:
#   atom    the atom's public API
#   mod     the current module, private members included; "${mod}" is a store
#           copy of the module's own files
#   pre     the parent module's `mod` (pre.pre the grandparent's, ...); absent
#           at the top
#   from    evaluation-time dependencies (the caller's `from`): each atom
#           dependency already composed, i.e. the public API this function
#           returned for it (composed with its own `from`), under the name the
#           manifest gives it. Reading manifests and locks is the caller's job
#           (eka-run's entry expression composes a lock's atoms once each).
#   get     build-time sources (the caller's `get`)
#   std     the standard library (atom-nix/std) over the pure builtins
#   config  the caller's configuration (`config.system` is the system)
#   builtins, import, <...>, fetchers: the boundary (core/boundary.nix)
#
# See docs/atom-nix.md for the rules and the decisions on edge cases.
let
  B = builtins;
  boundary = import ./core/boundary.nix;
  inherit (import ./core/store.nix) realStoreDir;

  # Upper-case ASCII letters to their lower case. A name is public when it
  # starts with one, and seen from outside with only that letter lowered:
  # `Six` as `six`, `ToLower` as `toLower`.
  upper = B.listToAttrs (B.genList
    (i: { name = B.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; value = B.substring i 1 "abcdefghijklmnopqrstuvwxyz"; })
    26);

  # A member's or a submodule's name; a member file's name, and its stem.
  identName = "[A-Za-z_][A-Za-z0-9_'-]*";
  memberName = "(${identName})\\.nix";
  isIdent = n: B.match identName n != null;
  # Longer than any name: `substring 1 maxLen n` is all of `n` but its first
  # character (Nix 2.8's `substring` takes a C int).
  maxLen = 2147483647;
  isDot = n: B.substring 0 1 n == ".";
  nixStem = n: B.match "(.*)\\.nix" n;

  # Store names say which file a copy holds, so that an evaluator's own
  # errors (syntax errors, undefined variables) that print a store path are
  # still readable: `/nix/store/<hash>-myatom.path.to-File.nix` is the file
  # `path/to/File.nix` of the atom in the directory `myatom`.
  atomName = rootDir:
    let
      base = B.baseNameOf rootDir;
      unhashed = B.match "[0-9a-df-np-sv-z]{32}-(.*)" base;
      name = if unhashed == null then base else B.head unhashed;
    in
    if B.match "[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*" name != null then name else "atom";
  # Module paths are identifiers joined by `/`: only `'` is not allowed in a
  # store name. Long paths are cut from the front (store names have at most
  # 211 characters; a file name of up to 50 follows).
  moduleStoreName = prefix: rel:
    let
      s = prefix + (if rel == "" then "" else "." + B.replaceStrings [ "/" "'" ] [ "." "_" ] rel);
      n = B.stringLength s;
    in
    if n < 160 then s else "${prefix}..." + B.substring (n - 150) 150 s;
  fileStoreName = modName: f:
    if B.stringLength f < 50 then modName + "-" + B.replaceStrings [ "'" ] [ "_" ] f else modName + "-file.nix";

  fail = msg: throw "atom-nix: ${msg}";
  # What the entry pass of `loadModule` gives an entry in error.
  badPair = { name = " "; value = null; };

  # The kind of the entry `n` of the module directory `dir` (its type is
  # `entries.${n}`): the rules of the layout. `loadModule`'s entry pass
  # classifies by the same rules, straight into the module's set; this is
  # its long way, for errors and rare layouts, and for "${mod}".
  kindOf = dir: entries: n:
    if n == "mod.nix" then (if entries.${n} == "regular" then "modFile" else "badModFile")
    else if entries.${n} == "regular" && B.match memberName n != null then "member"
    else if isDot n then "ignored"
    else if entries.${n} == "directory" then
      (if !(B.pathExists "${dir}/${n}/mod.nix") then "data"
       else if isIdent n then "submodule" else "badSubmodule")
    else if nixStem n == null then "data"
    else if entries.${n} == "symlink" then "symlinkMember"
    else if entries.${n} != "regular" then "data"
    else "badMember";

  entryError = kind: relFile: t: n:
    if kind == "badModFile" then "${relFile n} is a ${t}: a module file must be a regular file"
    else if kind == "badSubmodule" then "submodule directory ${relFile n}/ is not a valid name: names start with a letter or `_` and contain only letters, digits, `_`, `'` and `-`"
    else if kind == "symlinkMember" then "${relFile n} is a symlink: members must be regular files inside the module, symlinks are never followed"
    else "member file ${relFile n} is not a valid name: `${B.head (nixStem n)}` must start with a letter or `_` and contain only letters, digits, `_`, `'` and `-` (use a submodule for nesting)";

  badKinds = [ "badModFile" "badSubmodule" "symlinkMember" "badMember" ];

  # Why a module that failed the counts in `loadModule` failed.
  layoutError = { dir, rel, kinds, modAttrs }:
    let
      relFile = f: if rel == "" then f else "${rel}/${f}";
      where = if rel == "" then "the top module" else "module `${rel}`";
      entries = B.readDir dir;
      bad = B.sort B.lessThan (B.concatMap (k: kinds.${k} or [ ]) badKinds);
      first = B.head bad;
      members = map (f: B.substring 0 (B.stringLength f - 4) f) (kinds.member or [ ]);
      isMember = n: B.elem n members;
      subs = kinds.submodule or [ ];
      reserved = B.filter (n: modAttrs ? ${n} || isMember n || B.elem n subs) [ "pre" "outPath" ];
      r = B.head reserved;
      origin =
        if modAttrs ? ${r} then relFile "mod.nix"
        else if isMember r then "file ${relFile "${r}.nix"}"
        else "submodule ${relFile r}/";
      dup = B.head (B.filter isMember subs);
    in
    if bad != [ ] then fail (entryError (kindOf dir entries first) relFile entries.${first} first)
    else if !(kinds ? modFile) then fail "the atom root `${dir}` has no mod.nix"
    else if reserved != [ ] then fail "`${r}` (${origin}) is a reserved name in an atom module"
    else fail "`${dup}` is defined twice in ${where}: by file ${relFile "${dup}.nix"} and by submodule ${relFile dup}/";

  # A module file's own store copy. Pure evaluation (`--pure-eval`, flakes)
  # allows importing what `builtins.path` added but not what `toFile` wrote,
  # so there the file is added with `builtins.path` (the same bytes under
  # another store path); elsewhere `toFile`, which is cheaper. Pure mode is
  # the one without `currentTime`.
  pure = !(B ? currentTime);
  copyFile = name: source: text:
    if pure then B.path { path = source; inherit name; } else B.toFile name text;

  # Can the text of a Nix file name a path relative to itself? Every
  # relative path literal (`./x`, `../x`, `x/y`, `~/x`, `./${x}`) has a `/`.
  hasSlash = text: B.replaceStrings [ "/" ] [ "" ] text != text;
  # A short text with neither a `/` nor a mark of the boundary (boundary.nix,
  # `mayUse`), as most one-line members have, needs neither a copy nor the
  # whole scope: one scan tells both.
  plainMarks = [ "/" ] ++ boundary.marks;
  noPlainMarks = map (_: "") plainMarks;

  # Compose the atom whose top module is in `rootDir` (a string), giving its
  # modules the scopes `from`, `get`, `config` and `std`. Returns the atom's
  # public API.
  composeAtom = { rootDir, from, get, config, std }:
    let
      prefix = atomName rootDir;
      atom = loadModule rootDir "" null;
      # Every file's scope, with the atom's scopes applied once.
      scopeFor = boundary.fileScope atom from get std config;

      # A module's public API (what others see). `parentPre` is what its
      # parent's files see as `mod`, with the parent's `pre` (null at the
      # top). Everything is lazy: reading a member reads the directory, the
      # mod.nix and the member's file, nothing else.
      loadModule = dir: rel: parentPre:
        let
          entries = B.readDir dir;

          # A file that could name a path relative to itself is copied to the
          # store on its own, when it is first needed, directly into the
          # store directory, and imported from there: its relative path
          # literals (`./.`, `./data.txt`) name the store directory, never
          # the atom's source tree. A file without a `/` has no path literal
          # that the copy would change, and is imported where it is. A file
          # gets the whole boundary as its scope only when its text could use
          # it (boundary.nix, `mayUse`): below the top, a short file with
          # neither a `/` nor a mark gets the module's `scopes`, which one
          # scan of its text tells.
          importFile = f:
            let
              source = dir + "/" + f;
              text = B.readFile source;
            in
            if B.stringLength text > 128 || B.replaceStrings plainMarks noPlainMarks text != text then long.importMarked f source text
            else if parentPre != null then B.scopedImport scopes source
            else B.scopedImport (scopeFor full null f false) source;
          # The module scopes alone (boundary.nix, `fileScope`), shared by the
          # module's files.
          scopes = { inherit atom from get std config; mod = full; pre = parentPre; };

          modAttrs =
            let v = importFile "mod.nix"; in
            if B.isAttrs v then v
            else fail "${if rel == "" then "" else "${rel}/"}mod.nix must evaluate to an attribute set, not a ${B.typeOf v}";

          # Member files and submodules under their own names (a submodule as
          # its public API), and `outPath`, in one set; the attributes of
          # mod.nix are layered over them: that is `mod`.
          #
          # One pass over the directory, classifying its entries as `kindOf`
          # does: a member or a submodule is a pair of its own, an entry that
          # is neither (mod.nix, data, dot-entries) the pair of `outPath` (of
          # equal names the first wins, and these are all the same), an
          # error a pair named " ", which no member can be named. A member
          # `x.nix` beside an entry `x` is such an error too (it is one when
          # `x/` is a submodule), and entries named `outPath` or
          # `outPath.nix` take the long way: then, and for any error, the
          # entries are grouped by kind and counted.
          outPair = { name = "outPath"; value = long.files; };
          fast = B.listToAttrs (map
            (n:
              if n == "mod.nix" then (if entries.${n} == "regular" then outPair else badPair)
              else if entries.${n} == "regular" then
                (let m = B.match memberName n; in
                 if m != null then (if entries ? ${B.head m} then badPair else { name = B.head m; value = importFile n; })
                 else if isDot n || nixStem n == null then outPair
                 else badPair)
              else if entries.${n} == "directory" then
                (if B.substring 0 1 n == "." || !(B.pathExists "${dir}/${n}/mod.nix") then outPair
                 else if B.match identName n != null then { name = n; value = loadModule "${dir}/${n}" (if rel == "" then n else "${rel}/${n}") asPre; }
                 else badPair)
              else if isDot n || nixStem n == null || entries.${n} != "symlink" then outPair
              else badPair)
            (B.attrNames entries));
          clean = !(fast ? " " || entries ? "outPath.nix" || entries ? outPath) && entries ? "mod.nix";
          fileAttrs = if clean then fast else long.fileAttrs;
          declared = fileAttrs // modAttrs;

          # Public: capitalised names, first letter lowered. A submodule
          # `file/` is private until re-exported (`File = mod.file;`); a
          # submodule `File/` is public as `file`. The checks are lookups
          # (and counts, the long way); only an error pays for finding out
          # what is wrong and where.
          public =
            if (clean || long.counted) && !(modAttrs ? pre || modAttrs ? outPath || fileAttrs ? pre)
            then B.listToAttrs (B.concatMap
              (n: if upper ? ${B.substring 0 1 n} then [{ name = upper.${B.substring 0 1 n} + B.substring 1 maxLen n; value = declared.${n}; }] else [ ])
              (B.attrNames declared))
            else layoutError { inherit dir rel modAttrs; inherit (long) kinds; };

          # The existing atom-nix's spelling: a public member is also seen
          # under its lowered name (`Foo` as `mod.foo`, a child's
          # `pre.foo`), unless a member is declared under that name (the
          # declared one wins) or it is reserved (`Pre`, `OutPath`).
          full = B.removeAttrs public [ "pre" "outPath" ] // declared;

          # What this module's children see as `pre`.
          asPre = if parentPre == null then full else full // { pre = parentPre; };

          # What the common case does not need.
          long =
            let
              modName = moduleStoreName prefix rel;
              # The entry names by kind.
              kinds = B.groupBy (kindOf dir entries) (B.attrNames entries);
              memberFiles = kinds.member or [ ];
              subdirs = kinds.submodule or [ ];
              fileAttrs = B.listToAttrs (
                map (f: { name = B.substring 0 (B.stringLength f - 4) f; value = importFile f; }) memberFiles
                ++ map (n: { name = n; value = loadModule "${dir}/${n}" (if rel == "" then n else "${rel}/${n}") asPre; }) subdirs
                ++ [ outPair ]);
            in
            {
              inherit kinds fileAttrs;
              counted = kinds ? modFile && !(kinds ? badModFile || kinds ? badSubmodule || kinds ? symlinkMember || kinds ? badMember)
                && B.length (B.attrValues fileAttrs) == B.length memberFiles + B.length subdirs + 1;

              # A file with a `/` or a mark (or over 128 bytes). It is
              # imported from its real location (not /nix/store under a
              # chroot store), which the evaluator need not look up in the
              # store's database.
              importMarked = f: source: text:
                let whole = boundary.mayUse text; in
                B.scopedImport (if parentPre != null && !whole then scopes else scopeFor full parentPre (if rel == "" then f else "${rel}/${f}") whole)
                  (if hasSlash text
                   then realStoreDir + "/" + B.baseNameOf (B.unsafeDiscardStringContext
                     (copyFile (fileStoreName modName f) source text))
                   else source);

              # "${mod}": every file of the module's own directory, including
              # data directories, but no submodule, dot-entry or symlink.
              files =
                let subSet = B.listToAttrs (map (n: { name = "${dir}/${n}"; value = null; }) subdirs); in
                B.path {
                  path = dir;
                  name = modName + "-files";
                  filter = p: t: t != "symlink" && !(isDot (B.baseNameOf p)) && !(subSet ? ${p});
                };
            };
        in
        public;
    in
    atom;

  checkArg = what: v:
    if B.isAttrs v then v
    else throw "atom-nix: compose: `${what}` must be an attribute set, not a ${B.typeOf v}";

  stripSlash = s:
    let n = B.stringLength s; in
    if n > 1 && B.substring (n - 1) 1 s == "/" then stripSlash (B.substring 0 (n - 1) s) else s;

  rootString = r:
    if B.isPath r then toString r
    else if B.isString r && B.substring 0 1 r == "/" then
      (if B.hasContext r then (import ./core/store.nix).realPath (stripSlash r) else toString (/. + r))
    else throw "atom-nix: compose: the atom root must be a path or an absolute path string, not ${if B.isString r then "`${r}`" else "a ${B.typeOf r}"}";

  # The standard library, itself an atom, composed with itself as its `std`.
  # `std` is its public API over the pure builtins (std's own members win
  # where the names meet: `std.path` is the std module, `builtins.path` the
  # builtin).
  stdAtom = composeAtom {
    rootDir = toString ./std;
    from = { };
    get = { };
    config = { };
    std = stdScope;
  };
  stdScope = boundary.stdBuiltins // stdAtom;
in
atomRoot:
{ from ? { }, get ? { }, config ? { } }:
B.seq (checkArg "from" from) (B.seq (checkArg "get" get) (B.seq (checkArg "config" config)
  (composeAtom {
    rootDir = rootString atomRoot;
    inherit from get config;
    std = stdScope;
  })))
