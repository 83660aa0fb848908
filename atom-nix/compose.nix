# atom-nix: the module system atoms are written in.
#
# The one entry point:
#
#   import ./atom-nix/compose.nix <atomRoot> { from ? {}, get ? {}, config ? {} }
#
# `atomRoot` is the directory holding the atom's top `mod.nix` (a path, or an
# absolute path string). The result is the atom's public API: an attribute set
# of its top module's public members (lower-cased) and submodules.
#
# Every module file is evaluated with these names in scope:
#   atom    the atom's public API
#   mod     the current module, private members included; "${mod}" is a store
#           copy of the module's own files
#   pre     the parent module (pre.pre the grandparent, ...); absent at the top
#   from    evaluation-time dependencies (the caller's `from`)
#   get     build-time sources (the caller's `get`)
#   std     the standard library (atom-nix/std)
#   config  the caller's configuration (`config.system` is the system)
#   builtins, import, <...>, fetchers: the boundary (core/boundary.nix)
#
# See docs/atom-nix.md for the rules and the decisions on edge cases.
let
  B = builtins;
  boundary = import ./core/boundary.nix;

  reserved = [ "pre" "outPath" ];

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
    in if B.match "[A-Za-z0-9+._?=-]+" s != null && B.stringLength s < 200 then s else prefix + "-module" + suffix;

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
            names = B.attrNames entries;

            # Classify the directory's entries (see docs/atom-nix.md).
            classify = n:
              let
                t = entries.${n};
                stem = nixStem n;
              in
              if isDot n then { kind = "ignored"; entry = n; }
              else if n == "mod.nix" then
                (if t == "regular" then { kind = "modfile"; entry = n; }
                 else { kind = "error"; entry = n; msg = "${relFile n} is a ${t}: a module file must be a regular file"; })
              else if t == "directory" then
                (if !(B.pathExists "${dir}/${n}/mod.nix") then { kind = "data"; entry = n; }
                 else if isIdent n then { kind = "submodule"; entry = n; name = n; }
                 else { kind = "error"; entry = n; msg = "submodule directory ${relFile n}/ is not a valid name: names start with a letter or `_` and contain only letters, digits, `_`, `'` and `-`"; })
              else if stem == null then
                (if t == "symlink" then { kind = "ignored"; entry = n; } else { kind = "data"; entry = n; })
              else if t == "symlink" then
                { kind = "error"; entry = n; msg = "${relFile n} is a symlink: members must be regular files inside the module, symlinks are never followed"; }
              else if t != "regular" then { kind = "data"; entry = n; }
              else if isIdent (B.head stem) then { kind = "member"; entry = n; name = B.head stem; file = n; }
              else { kind = "error"; entry = n; msg = "member file ${relFile n} is not a valid name: `${B.head stem}` must start with a letter or `_` and contain only letters, digits, `_`, `'` and `-` (use a submodule for nesting)"; };

            classified = map classify names;
            ofKind = k: B.filter (c: c.kind == k) classified;
            errors = ofKind "error";
            memberFiles = ofKind "member";
            subdirs = ofKind "submodule";
            hasModFile = (entries."mod.nix" or null) == "regular";

            # The module's Nix files, copied to the store only when a member is
            # read. Only the module's own `.nix` files: no data, no parent, no
            # child directory. `./.` in a module file is this copy.
            codeSet = B.listToAttrs (map
              (c: { name = "${dir}/${c.entry}"; value = true; })
              (memberFiles ++ [{ entry = "mod.nix"; }]));
            code = B.path {
              path = dir;
              name = storeName prefix rel "";
              filter = p: _: codeSet ? ${p};
            };

            # "${mod}": every file of the module's own directory, including data
            # directories, but no submodule, dot-entry or symlink.
            subSet = B.listToAttrs (map (c: { name = "${dir}/${c.entry}"; value = true; }) subdirs);
            files = B.path {
              path = dir;
              name = storeName prefix rel "-files";
              filter = p: t: t != "symlink" && !(isDot (B.baseNameOf p)) && !(subSet ? ${p});
            };

            scopeBase = {
              inherit atom from get std config;
              mod = full;
            } // (if parent == null then { } else { pre = parent.asPre; });

            importFile = f:
              let r = relFile f; in
              B.addErrorContext "while evaluating the atom file ${r}"
                (B.scopedImport (boundary r // scopeBase) "${code}/${f}");

            modAttrs =
              let v = importFile "mod.nix"; in
              if B.isAttrs v then v
              else fail "${relFile "mod.nix"} must evaluate to an attribute set, not a ${B.typeOf v}";

            memberAttrs = B.listToAttrs (map (c: { inherit (c) name; value = importFile c.file; }) memberFiles);
            children = B.listToAttrs (map
              (c: {
                inherit (c) name;
                value = loadModule { dir = "${dir}/${c.entry}"; rel = relDir c.entry; parent = self; };
              })
              subdirs);
            subAttrs = B.mapAttrs (_: m: m.public) children;

            modNames = B.attrNames modAttrs;
            merged = modAttrs // memberAttrs // subAttrs;
            publicList =
              map (n: { name = lower n; value = merged.${n}; })
                (B.filter isPublic (modNames ++ map (c: c.name) memberFiles))
              ++ map (c: { name = lower c.name; value = subAttrs.${c.name}; }) subdirs;
            publicSet = B.listToAttrs publicList;

            # The checks are counts in the common case; only an error pays for
            # finding out which names clash and where they come from.
            checked =
              if errors != [ ] then fail (B.head errors).msg
              else if !hasModFile then fail "the atom root `${dir}` has no mod.nix"
              else if merged ? pre || merged ? outPath then reservedError
              else if B.length (B.attrNames merged) != B.length modNames + B.length memberFiles + B.length subdirs then duplicateError
              else if B.length (B.attrNames publicSet) != B.length publicList then publicClashError
              else true;

            # Every name of the module with where it comes from.
            origins =
              map (n: { name = n; from = "${relFile "mod.nix"}"; public = isPublic n; }) modNames
              ++ map (c: { inherit (c) name; from = "file ${relFile c.file}"; public = isPublic c.name; }) memberFiles
              ++ map (c: { inherit (c) name; from = "submodule ${relFile c.entry}/"; public = true; }) subdirs;
            firstClash = key: list:
              let
                found = (B.foldl'
                  (acc: o:
                    if acc.found != null then acc
                    else if acc.seen ? ${key o} then acc // { found = [ acc.seen.${key o} o ]; }
                    else acc // { seen = acc.seen // { ${key o} = o; }; })
                  { seen = { }; found = null; }
                  list).found;
              in
              { a = B.elemAt found 0; b = B.elemAt found 1; };
            reservedError =
              let o = B.head (B.filter (o: B.elem o.name reserved) origins); in
              fail "`${o.name}` (${o.from}) is a reserved name in an atom module";
            duplicateError =
              let c = firstClash (o: o.name) origins; in
              fail "`${c.a.name}` is defined twice in ${where}: in ${c.a.from} and by ${c.b.from}";
            # Public names are lowered; the private `parse` next to the public
            # `Parse = mod.parse;` is the re-export idiom, not a clash, since
            # only one of them is seen from outside.
            publicClashError =
              let c = firstClash (o: lower o.name) (B.filter (o: o.public) origins); in
              fail "`${c.a.name}` (${c.a.from}) and `${c.b.name}` (${c.b.from}) collide in ${where}: both are seen from outside as `${lower c.a.name}`";

            # The module as seen from inside (`mod`), private members included.
            full = B.seq checked (merged // { outPath = files; });

            # The module as its parent sees it through `pre`.
            asPre = if parent == null then full else full // { pre = parent.asPre; };

            # The module as everyone else sees it: public members lower-cased,
            # and its submodules.
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
  stdAtom = composeAtom {
    rootDir = toString ./std;
    from = { };
    get = { };
    config = { };
    std = stdAtom;
  };
in
atomRoot:
{ from ? { }, get ? { }, config ? { } }:
B.seq (checkArg "from" from) (B.seq (checkArg "get" get) (B.seq (checkArg "config" config)
  (composeAtom {
    rootDir = rootString atomRoot;
    inherit from get config;
    std = stdAtom;
  })))
