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
#   from    evaluation-time dependencies (the caller's `from`)
#   get     build-time sources (the caller's `get`)
#   std     the standard library (atom-nix/std) over the pure builtins
#   config  the caller's configuration (`config.system` is the system)
#   builtins, import, <...>, fetchers: the boundary (core/boundary.nix)
#
# See docs/atom-nix.md for the rules and the decisions on edge cases.
let
  B = builtins;
  boundary = import ./core/boundary.nix;

  # Upper-case ASCII letters to their lower case.
  upper = B.listToAttrs (B.genList
    (i: { name = B.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; value = B.substring i 1 "abcdefghijklmnopqrstuvwxyz"; })
    26);

  head1 = n: B.substring 0 1 n;
  isPublic = n: upper ? ${head1 n};
  # `Six` -> `six`: only the first letter is lowered, `ToLower` -> `toLower`.
  lower = n: (upper.${head1 n} or (head1 n)) + B.substring 1 (B.stringLength n) n;

  isIdent = n: B.match "[A-Za-z_][A-Za-z0-9_'-]*" n != null;
  isDot = n: head1 n == ".";
  nixStem = n: B.match "(.*)\\.nix" n;

  # Store names say which module a copy holds, so that an evaluator's own
  # errors (syntax errors, undefined variables) that print a store path are
  # still readable: `/nix/store/<hash>-myatom.path.to/file.nix` is the file
  # `path/to/file.nix` of the atom in the directory `myatom`.
  atomName = rootDir:
    let
      base = B.baseNameOf rootDir;
      unhashed = B.match "[0-9a-df-np-sv-z]{32}-(.*)" base;
      name = if unhashed == null then base else B.head unhashed;
    in
    if B.match "[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*" name != null then name else "atom";
  storeName = prefix: rel: suffix:
    let s = prefix + (if rel == "" then "" else "." + B.replaceStrings [ "/" ] [ "." ] rel) + suffix;
    in if B.match "[A-Za-z0-9+._?=-]+" s != null && B.stringLength s < 200 then s else prefix + "-module";

  fail = msg: throw "atom-nix: ${msg}";

  # Compose the atom whose top module is in `rootDir` (a string), giving its
  # modules the scopes `from`, `get`, `config` and `std`. Returns the atom's
  # public API.
  composeAtom = { rootDir, from, get, config, std }:
    let
      top = loadModule { dir = rootDir; rel = ""; parent = null; };
      prefix = atomName rootDir;
      atom = top.public;

      loadModule = { dir, rel, parent }:
        let
          self = rec {
            where = if rel == "" then "the top module" else "module `${rel}`";
            relFile = f: if rel == "" then f else "${rel}/${f}";
            relDir = n: if rel == "" then n else "${rel}/${n}";

            entries = B.readDir dir;

            # Classify the directory's entries (see docs/atom-nix.md) in one
            # pass: one kind per entry.
            kindOf = n:
              let t = entries.${n}; in
              if n == "mod.nix" then (if t == "regular" then "modFile" else "badModFile")
              else if isDot n then "ignored"
              else if t == "directory" then
                (if !(B.pathExists "${dir}/${n}/mod.nix") then "data"
                 else if isIdent n then "submodule" else "badSubmodule")
              else
                let stem = nixStem n; in
                if stem == null then "data"
                else if t == "symlink" then "symlinkMember"
                else if t != "regular" then "data"
                else if isIdent (B.head stem) then "member"
                else "badMember";
            kinds = B.groupBy kindOf (B.attrNames entries);
            memberFiles = kinds.member or [ ];
            subdirs = kinds.submodule or [ ];
            badEntries = B.sort B.lessThan ((kinds.badSubmodule or [ ]) ++ (kinds.badModFile or [ ]) ++ (kinds.symlinkMember or [ ]) ++ (kinds.badMember or [ ]));
            entryError = n:
              let k = kindOf n; t = entries.${n}; in
              if k == "badModFile" then "${relFile n} is a ${t}: a module file must be a regular file"
              else if k == "badSubmodule" then "submodule directory ${relFile n}/ is not a valid name: names start with a letter or `_` and contain only letters, digits, `_`, `'` and `-`"
              else if k == "symlinkMember" then "${relFile n} is a symlink: members must be regular files inside the module, symlinks are never followed"
              else "member file ${relFile n} is not a valid name: `${B.head (nixStem n)}` must start with a letter or `_` and contain only letters, digits, `_`, `'` and `-` (use a submodule for nesting)";

            # "${mod}": every file of the module's own directory, including data
            # directories, but no submodule, dot-entry or symlink.
            subSet = B.listToAttrs (map (n: { name = "${dir}/${n}"; value = true; }) subdirs);
            files = B.path {
              path = dir;
              name = storeName prefix rel "-files";
              filter = p: t: t != "symlink" && !(isDot (B.baseNameOf p)) && !(subSet ? ${p});
            };

            # The scope of the module's files; `pre` is the parent's `mod`.
            scope = {
              inherit atom from get std config;
              mod = full;
            } // (if parent == null then { } else { pre = parent.asPre; });
            table = if parent == null then boundary.scopeTable else boundary.scopeTableNested;

            # Each file is copied to the store on its own, when it is first
            # needed, directly into the store directory: a relative path
            # literal in it (`./.`, `./data.txt`) names the store directory,
            # never the atom's source tree.
            importFile = f:
              let r = relFile f; in
              B.addErrorContext "while evaluating the atom file ${r}"
                (B.scopedImport (B.mapAttrs (_: v: v scope r) table)
                  (B.toFile (storeName prefix rel "-${f}") (B.readFile "${dir}/${f}")));

            modAttrs =
              let v = importFile "mod.nix"; in
              if B.isAttrs v then v
              else fail "${relFile "mod.nix"} must evaluate to an attribute set, not a ${B.typeOf v}";

            stemOf = f: B.substring 0 (B.stringLength f - 4) f;
            memberAttrs = B.listToAttrs (map (f: { name = stemOf f; value = importFile f; }) memberFiles);
            # A submodule is seen by its parent as its public API.
            subAttrs = B.listToAttrs (map
              (n: {
                name = n;
                value = (loadModule { dir = "${dir}/${n}"; rel = relDir n; parent = self; }).public;
              })
              subdirs);
            fileAttrs = memberAttrs // subAttrs;

            # `mod`: member files and submodules under their own names, with
            # the attributes of mod.nix layered over them.
            merged = fileAttrs // modAttrs;
            publicNames = B.filter isPublic (B.attrNames merged);
            # Public: capitalised names, first letter lowered. A submodule
            # `file/` is private until re-exported (`File = mod.file;`);
            # a submodule `File/` is public as `file`.
            publicSet = B.listToAttrs (map (n: { name = lower n; value = merged.${n}; }) publicNames);

            # The checks are counts in the common case; only an error pays for
            # finding out which names clash and where they come from.
            checked =
              if badEntries != [ ] then fail (entryError (B.head badEntries))
              else if !(kinds ? modFile) then fail "the atom root `${dir}` has no mod.nix"
              else if modAttrs ? pre || modAttrs ? outPath then reservedError "${relFile "mod.nix"}" (if modAttrs ? pre then "pre" else "outPath")
              else if fileAttrs ? pre || fileAttrs ? outPath then reservedError (if memberAttrs ? pre || memberAttrs ? outPath then "file ${relFile "${if memberAttrs ? pre then "pre" else "outPath"}.nix"}" else "submodule ${relFile (if subAttrs ? pre then "pre" else "outPath")}/") (if fileAttrs ? pre then "pre" else "outPath")
              else if B.length (B.attrNames fileAttrs) != B.length memberFiles + B.length subdirs then duplicateError
              else true;

            reservedError = origin: n:
              fail "`${n}` (${origin}) is a reserved name in an atom module";
            duplicateError =
              let n = B.head (B.filter (n: memberAttrs ? ${n}) subdirs); in
              fail "`${n}` is defined twice in ${where}: by file ${relFile "${n}.nix"} and by submodule ${relFile n}/";

            # The module as seen from inside (`mod`), private members included.
            full = B.seq checked (merged // { outPath = files; });

            # The module as its children see it through `pre`.
            asPre = if parent == null then full else full // { pre = parent.asPre; };

            # The module as everyone else sees it: public members lower-cased.
            public = B.seq checked publicSet;
          };
        in
        self;
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
