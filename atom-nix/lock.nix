# atom-nix: a locked atom from plain Nix and from flakes.
#
#   import ./atom-nix/lock.nix <atomDir> { config ? {}, url ? null }
#
# `atomDir` is the atom's directory, the one holding its `atom.toml` and
# `atom.lock`: a path (`./pkgs/app`), an absolute path string, or a fetched
# tree (a flake input with `flake = false`, a `builtins.fetchGit` result).
# `config` is the atom's configuration (`config.system` defaults to
# `builtins.currentSystem` where there is one; pure evaluation has none, so
# pass it there). `url` is the repository the atom was fetched from: only
# needed for the atom's own path sources when `atomDir` is a fetched atom,
# which then come from its published subatomics (`refs/subs/<tree>`).
#
# The result is what `eka-run eval` gives for the same atom, lock and
# configuration: the atom's public API composed (atom-nix/compose.nix) with
# its locked dependencies, fetched with Nix's own fetchers from what
# `atom.lock` records, never by resolving anything:
#   - an atom:             builtins.fetchGit { url; rev = <commit>; ref = "refs/atoms/<label>/<version>"; }
#                          (the eka tool's, `format = "eka/pre1"`: ref = "refs/eka/atoms/<label>/<version>")
#   - a sibling (path):    its directory in the same repository
#   - a git pin or source: builtins.fetchGit { url; rev; narHash; ref or allRefs }
#   - a tarball pin:       builtins.fetchTarball { url; sha256 = <hash>; }
#   - a URL source:        a `builtin:fetchurl` fixed-output derivation (fetched when built)
#   - a path source:       builtins.path { path; sha256 = <hash>; }, or its subatomic
#                          (builtins.fetchGit { url; ref = "refs/subs/<tree>"; narHash; })
# Every one of them is locked by a commit or a content hash, so all of it
# works in pure evaluation (`--pure-eval`, flakes).
#
# A missing lock (when the manifest declares dependencies, pins or sources)
# and a stale one (one `git atom resolve --locked` would refuse) are refused
# with eka-run's words. What this does not do that eka-run does (the
# sandbox, the evaluation cache, signatures, the lock's proof): see
# docs/atom-nix.md, "Using a locked atom from Nix and flakes".
atomDir:
{ config ? { }, url ? null }:
let
  B = builtins;
  compose = import ./compose.nix;
  semver = import ./lock/semver.nix;

  fail = msg: throw "atom-nix: ${msg}";

  root =
    if B.isAttrs atomDir && atomDir ? outPath then atomDir.outPath
    else if B.isPath atomDir || (B.isString atomDir && B.substring 0 1 atomDir == "/") then atomDir
    else fail "lock.nix: the atom directory must be a path, an absolute path string or a fetched tree, not ${if B.isString atomDir then "`${atomDir}`" else "a ${B.typeOf atomDir}"}";
  dirStr = B.unsafeDiscardStringContext (toString root);
  at = rel: root + "/${rel}";

  inStore = B.substring 0 (B.stringLength B.storeDir + 1) dirStr == B.storeDir + "/";
  fix =
    if inStore then "the atom was published that way; its publisher must run `git atom resolve` and publish again"
    else "run `git atom resolve` in ${dirStr}";
  lockPath = "${dirStr}/atom.lock";

  hasManifest = B.pathExists (at "atom.toml");
  manifest = B.fromTOML (B.readFile (at "atom.toml"));
  mDeps = manifest.deps or { };
  mPins = manifest.pins or { };
  mSrcs = manifest.srcs or { };
  declares = mDeps != { } || mPins != { } || mSrcs != { };

  hasLock = B.pathExists (at "atom.lock");
  lock =
    let l = B.fromTOML (B.readFile (at "atom.lock")); in
    if (l.version or null) == 1 then l
    else fail "${lockPath}: unsupported lock version ${toString (l.version or "(none)")} (this tool reads version 1); upgrade atom";
  atoms = lock.atom or [ ];
  keyOf = a: "${a.id}@${a.version}";
  byKey = B.listToAttrs (map (a: { name = keyOf a; value = a; }) atoms);
  requires = lock.requires or { };
  lockPins = lock.pin or [ ];
  lockSrcs = lock.src or [ ];
  ownedBy = owner: B.filter (e: (e.atom or null) == owner);
  byName = l: B.listToAttrs (map (e: { name = e.name; value = e; }) l);

  # ---- Is the lock current? (atom::lock::Lock::check, in the same order) ----

  # A manifest path (relative to the atom) against a lock path (relative to
  # the repository's root). Where the atom is in its repository is not known
  # here, so the part below the `..`s must end the locked path.
  normal = p:
    B.foldl'
      (acc: s:
        if s == "" || s == "." then acc
        else if s == ".." then (if acc != [ ] && B.elemAt acc (B.length acc - 1) != ".." then B.genList (i: B.elemAt acc i) (B.length acc - 1) else acc ++ [ ".." ])
        else acc ++ [ s ])
      [ ]
      (B.filter B.isString (B.split "/" p));
  below = p: B.concatStringsSep "/" (B.filter (s: s != "..") (normal p));
  hasSuffix = s: x: let n = B.stringLength s; m = B.stringLength x; in m >= n && B.substring (m - n) n x == s;
  pathAgrees = want: locked:
    let r = below want; in
    if r == "" then true else locked == r || hasSuffix "/${r}" locked;

  depStale = name: d: a:
    let
      changed = wanted: locked: [ "`deps.${name}` changed: the manifest says ${wanted}, the lock has ${locked}" ];
      wantedLabel = d.label or name;
    in
    if d ? path then
      (if a ? path then (if pathAgrees d.path a.path then [ ] else changed "path `${d.path}`" "path `${a.path}`")
       else changed "path `${d.path}`" "`${a.url}`")
    else if a ? path then changed "`${d.url}`" "path `${a.path}`"
    else if d.url != a.url then changed "`${d.url}`" "`${a.url}`"
    else if wantedLabel != a.label then changed "label `${wantedLabel}`" "label `${a.label}`"
    else if !(semver.matches d.version a.version) then [ "`deps.${name}` requires `${semver.showReq d.version}`, the lock has ${a.version}" ]
    else [ ];

  pinMatches = p: l:
    (if p ? git then l ? git && p.git == l.git && (p.ref or null) == (l.ref or null)
     else p ? url && l ? url && p.url == l.url)
    && (p.entry or null) == (l.entry or null);

  # `[srcs.<name>] url`, its placeholders filled from the source's version.
  interpolate = s:
    let
      v = if (s.version or null) == "\${atom.version}" then manifest.atom.version else s.version or null;
      base = B.head (B.match "([^+-]*).*" v);
      parts = B.filter B.isString (B.split "\\." base);
      part = i: if B.length parts > i then B.elemAt parts i else "\${missing}";
    in
    if v == null then s.url
    else B.replaceStrings [ "\${version}" "\${major}" "\${minor}" "\${patch}" ] [ v (part 0) (part 1) (part 2) ] s.url;
  srcMatches = s: l:
    if s ? url then l ? url && interpolate s == l.url
    else if s ? git then l ? git && s.git == l.git && (s.ref or null) == (l.ref or null)
    else s ? path && l ? path && pathAgrees s.path l.path;

  section = what: declared: locked: matches:
    B.concatMap
      (name:
        if !(locked ? ${name}) then [ "`${what}.${name}` is not locked" ]
        else if !(matches declared.${name} locked.${name}) then [ "`${what}.${name}` changed since it was locked" ]
        else [ ])
      (B.attrNames declared)
    ++ map (name: "the lock has `${what}.${name}`, which the manifest no longer declares")
      (B.filter (name: !(declared ? ${name})) (B.attrNames locked));

  reached = B.listToAttrs (map (i: { name = i.key; value = null; }) (B.genericClosure {
    startSet = map (n: { key = requires.${n}; }) (B.filter (n: mDeps ? ${n}) (B.attrNames requires));
    operator = i: map (k: { key = k; }) (B.attrValues ((byKey.${i.key} or { }).requires or { }));
  }));

  reasons =
    B.concatMap
      (name:
        let a = byKey.${requires.${name} or ""} or null; in
        if a == null then [ "`deps.${name}` is not locked" ] else depStale name mDeps.${name} a)
      (B.attrNames mDeps)
    ++ map (name: "the lock has `deps.${name}`, which the manifest no longer declares")
      (B.filter (name: !(mDeps ? ${name})) (B.attrNames requires))
    ++ section "pins" mPins (byName (ownedBy null lockPins)) pinMatches
    ++ section "srcs" mSrcs (byName (ownedBy null lockSrcs)) srcMatches
    ++ map (a: "`${keyOf a}` is locked but nothing requires it") (B.filter (a: !(reached ? ${keyOf a})) atoms);

  more = n:
    if n <= 1 then "" else if n == 2 then " (and 1 more problem)" else " (and ${toString (n - 1)} more problems)";

  checked =
    if !hasManifest then true
    else if !hasLock then (if declares then fail "`${lockPath}` does not exist, and the atom declares dependencies: ${fix}" else true)
    else if reasons != [ ] then fail "`${lockPath}` is not current: ${B.head reasons}${more (B.length reasons)}: ${fix}"
    else true;

  # ---- Fetching what the lock records ----

  # Where the atom's repository is, when its lock names paths of it (siblings,
  # path sources): found from a direct path dependency or path source, whose
  # manifest path (relative to the atom) and locked path (relative to the
  # root) meet.
  repoRoot =
    let
      viaDeps = B.concatMap
        (n: let a = byKey.${requires.${n} or ""} or { }; in
          if mDeps.${n} ? path && a ? path then [{ want = mDeps.${n}.path; locked = a.path; }] else [ ])
        (B.attrNames mDeps);
      own = byName (ownedBy null lockSrcs);
      viaSrcs = B.concatMap
        (n: if mSrcs.${n} ? path && own ? ${n} && own.${n} ? path then [{ want = mSrcs.${n}.path; locked = own.${n}.path; }] else [ ])
        (B.attrNames mSrcs);
      found = viaDeps ++ viaSrcs;
      m = B.head found;
      # `<atom>/<want>` is `<root>/<locked>`: climb out of `<locked>`.
      climb = B.concatStringsSep "" (B.genList (_: "/..") (B.length (normal m.locked)));
    in
    if found == [ ] then null
    else root + "/${m.want}${climb}";
  inRepo = what: p:
    if repoRoot == null then fail "${what}: its repository is not known (no path dependency or path source of the atom says where it is)"
    else repoRoot + "/${p}";

  # A store path name for a source at `location` (a URL or a path): its last
  # component when Nix takes it, else `source` (as eka-run names it).
  storeName = location:
    let
      trimmed = B.head (B.match "(.*[^/])?/*" location);
      t = if trimmed == null then "" else trimmed;
      lastM = B.match ".*/([^/]*)" t;
      last = B.head (B.match "([^?#]*).*" (if lastM == null then t else B.head lastM));
    in
    if last != "" && B.substring 0 1 last != "." && B.stringLength last <= 200
      && B.match "[A-Za-z0-9+._?=-]+" last != null
    then last else "source";

  isHex = s: B.match "[0-9a-f]{40}|[0-9a-f]{64}" s != null;
  # A ref that is not `refs/...` may be a tag or a branch (or a commit): the
  # locked commit is looked for among every ref.
  refAttrs = ref:
    if ref != null && B.substring 0 5 ref == "refs/" then { inherit ref; } else { allRefs = true; };
  gitTree = e: name:
    B.fetchGit ({ url = e.git; rev = e.rev; inherit name; } // refAttrs (e.ref or null)
      // (if e ? hash then { narHash = e.hash; } else { }));

  entryName = kind: e: "`${kind}.${e.name}`" + (if e ? atom then " of ${e.atom}" else "");

  pinValue = p:
    let
      tree =
        if p ? git then gitTree p "source"
        else B.fetchTarball { url = p.url; sha256 = p.hash; };
    in
    import (tree + "/${p.entry or "default.nix"}");

  srcValue = s:
    let
      owner = if s ? atom then byKey.${s.atom} else null;
      fetched = owner != null && owner ? url;
      name = storeName (s.path or s.url or "");
      subatomic = from: B.fetchGit { url = from; ref = "refs/subs/${s.tree}"; narHash = s.hash; inherit name; };
    in
    if s ? url then
      B.derivation
        {
          name = storeName s.url;
          inherit (s) url;
          system = "builtin";
          builder = "builtin:fetchurl";
          outputHashMode = "flat";
          outputHashAlgo = "sha256";
          outputHash = s.hash;
          preferLocalBuild = true;
        }
    else if s ? git then gitTree s "source"
    else if fetched then
      (if s ? tree then subatomic owner.url
       else fail "${entryName "srcs" s}: a single-file path source of an atom fetched from elsewhere is not published as a ref, so Nix's fetchers cannot fetch it: evaluate with eka-run")
    else if url != null && s ? tree then subatomic url
    else B.path { path = inRepo (entryName "srcs" s) s.path; inherit name; sha256 = s.hash; };

  system = config.system or (B.currentSystem or null);

  # The variant selection, as eka-run completes it (docs/eka-run.md, "Variants"): each option
  # the manifest declares, at its default (a `[provide]` option's first candidate, a
  # `[support]` toggle's boolean, a list of flags off: `[ ]`), with the caller's
  # `config.variant` choices checked and put over them. An atom without options gets no
  # `variant`.
  provide = if hasManifest then manifest.provide or { } else { };
  support = if hasManifest then manifest.support or { } else { };
  options = B.attrNames provide ++ B.attrNames support;
  showValue = v: B.toJSON v;
  choose = name: value:
    let bad = why: fail "lock.nix: `config.variant.${name} = ${showValue value}`: ${why}"; in
    if provide ? ${name} then
      (if B.elem value provide.${name} then value
       else bad "`${name}` has no such candidate; choose from ${B.concatStringsSep ", " (map showValue provide.${name})}")
    else if support ? ${name} then
      (let declared = support.${name}; in
       if B.isBool declared then
         (if B.isBool value then value else bad "`${name}` is a toggle: true or false")
       else if value == true || value == declared then declared
       else if value == false || value == [ ] then [ ]
       else bad "`${name}` is a list of flags: true (${showValue declared}) or false ([ ])")
    else bad "the atom has no variant `${name}`; ${if options == [ ] then "it declares none" else "choose from ${B.concatStringsSep ", " options}"}";
  chosen =
    let v = config.variant or { }; in
    if B.isAttrs v then v else fail "lock.nix: `config.variant` must be an attribute set, not a ${B.typeOf v}";
  defaults =
    B.mapAttrs (_: candidates: B.head candidates) provide
    // B.mapAttrs (_: declared: if B.isBool declared then declared else [ ]) support;
  selection = defaults // B.mapAttrs choose chosen;
  # Every choice checked up front, not only those the atom's code reads.
  variantChecked = B.foldl' (ok: name: B.seq (choose name chosen.${name}) ok) true (B.attrNames chosen);
  withVariant = c: if options == [ ] then c else c // { variant = selection; };
  topConfig = withVariant (if system == null then config else { inherit system; } // config);
  depConfig = if system == null then { } else { inherit system; };

  atomRoot = a:
    if a ? path then inRepo "the sibling ${a.label}@${a.version} (path `${a.path}`)" a.path
    else (B.fetchGit { inherit (a) url; rev = a.commit; ref = "${atomRefPrefix a}${a.label}/${a.version}"; name = a.label; }).outPath;
  # Where a fetched atom's ref lives: this suite's atoms, or the eka tool's (docs/lock.md).
  atomRefPrefix = a:
    let format = a.format or "atom/1"; in
    if format == "atom/1" then "refs/atoms/"
    else if format == "eka/pre1" then "refs/eka/atoms/"
    else fail "${lockPath}: the entry ${a.label}@${a.version} has format `${format}`, which this atom-nix does not read; upgrade atom-nix";

  pinsOf = owner: B.listToAttrs (map (p: { name = p.name; value = pinValue p; }) (ownedBy owner lockPins));
  getOf = owner: B.listToAttrs (map (s: { name = s.name; value = srcValue s; }) (ownedBy owner lockSrcs));
  fromOf = owner: reqs: pinsOf owner // B.mapAttrs (_: key: composed.${key}) reqs;

  # Each locked atom composed once, lazily, with its own locked dependencies.
  composed = B.mapAttrs
    (key: a: compose (atomRoot a) { from = fromOf key (a.requires or { }); get = getOf key; config = depConfig; })
    byKey;

  api =
    if hasManifest && hasLock then compose root { from = fromOf null requires; get = getOf null; config = topConfig; }
    else compose root { config = topConfig; };
in
if !(B.isAttrs config) then fail "lock.nix: `config` must be an attribute set, not a ${B.typeOf config}"
else B.seq checked (B.seq variantChecked api)
