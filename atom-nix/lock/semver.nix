# Semantic versions and requirements, as the Rust `semver` crate (1.x) reads
# and matches them: what `git atom resolve` and `eka-run` use to decide
# whether a locked version satisfies a manifest's `version`. lock.nix uses it
# to tell a stale lock; from_nix.rs checks it against the crate on a grid.
#
#   parseVersion :: string -> { major; minor; patch; pre = [ string ]; }
#   parseReq     :: string -> [ comparator ]   (an empty list is `*`)
#   showReq      :: string -> string           (as the crate displays it: `1` is `^1`)
#   matches      :: string -> string -> bool   (requirement, version)
let
  B = builtins;

  fail = msg: throw "atom-nix: ${msg}";

  isNum = s: B.match "[0-9]+" s != null;
  num = what: s:
    if B.match "0|[1-9][0-9]*" s != null then B.fromJSON s
    else fail "invalid ${what} `${s}`";

  # `1.2.3-rc.1+build` -> { major, minor, patch, pre }; build metadata ignored.
  parseVersion = text:
    let m = B.match "(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-([0-9A-Za-z.-]+))?(\\+[0-9A-Za-z.-]+)?" text; in
    if m == null then fail "invalid version `${text}`"
    else {
      major = B.fromJSON (B.elemAt m 0);
      minor = B.fromJSON (B.elemAt m 1);
      patch = B.fromJSON (B.elemAt m 2);
      pre = let p = B.elemAt m 4; in if p == null then [ ] else splitDots p;
    };

  splitDots = s: B.filter B.isString (B.split "\\." s);

  # Pre-release order: none is greater than any; identifiers compare
  # numerically when both are digits, digits before letters, else as bytes;
  # a shorter list that is a prefix is less. Returns -1, 0 or 1.
  cmpInt = a: b: if a < b then -1 else if a > b then 1 else 0;
  cmpIdent = a: b:
    let na = isNum a; nb = isNum b; in
    if na && nb then
      (let la = B.stringLength a; lb = B.stringLength b; in
       if la != lb then cmpInt la lb else if a < b then -1 else if a > b then 1 else 0)
    else if na then -1
    else if nb then 1
    else if a < b then -1 else if a > b then 1 else 0;
  cmpIdents = a: b:
    if a == [ ] && b == [ ] then 0
    else if a == [ ] then -1
    else if b == [ ] then 1
    else let c = cmpIdent (B.head a) (B.head b); in
    if c != 0 then c else cmpIdents (B.tail a) (B.tail b);
  cmpPre = a: b:
    if a == [ ] && b == [ ] then 0
    else if a == [ ] then 1
    else if b == [ ] then -1
    else cmpIdents a b;

  # One comparator: `op`, `major`, `minor` and `patch` (null when absent or
  # a wildcard), `pre`.
  ops = [ ">=" "<=" ">" "<" "=" "~" "^" ];
  parseComparator = text:
    let
      t = trim text;
      op = B.head (B.filter (o: B.substring 0 (B.stringLength o) t == o) ops ++ [ "" ]);
      rest = trim (B.substring (B.stringLength op) (B.stringLength t) t);
      m = B.match "([0-9]+)(\\.([0-9]+|[*xX]))?(\\.([0-9]+|[*xX]))?(-([0-9A-Za-z.-]+))?(\\+[0-9A-Za-z.-]+)?" rest;
      part = i: B.elemAt m i;
      wild = s: s != null && B.match "[*xX]" s != null;
      minorS = part 2;
      patchS = part 4;
      wildcard = wild minorS || wild patchS;
      numOrNull = what: s: if s == null || wild s then null else num what s;
    in
    if m == null then fail "invalid version requirement `${text}`"
    else if wild minorS && patchS != null && !(wild patchS) then fail "invalid version requirement `${text}`"
    else if (part 6 != null || part 7 != null) && (patchS == null || wild patchS) then fail "invalid version requirement `${text}`"
    else {
      op = if op == "" then (if wildcard then "*" else "^") else op;
      major = num "major version" (part 0);
      minor = numOrNull "minor version" minorS;
      patch = numOrNull "patch version" patchS;
      pre = if part 6 == null then [ ] else splitDots (part 6);
    };

  trim = s:
    let m = B.match "[ ]*(.*[^ ])[ ]*" s; in
    if m == null then "" else B.head m;

  parseReq = text:
    let t = trim text; in
    if B.match "[*xX]" t != null then [ ]
    else map parseComparator (splitCommas t);
  splitCommas = s: B.filter B.isString (B.split "," s);

  showComparator = c:
    let
      op = if c.op == "*" then "" else c.op;
      pre = if c.pre == [ ] then "" else "-" + B.concatStringsSep "." c.pre;
      tail =
        if c.minor == null then (if c.op == "*" then ".*" else "")
        else ".${toString c.minor}" + (
          if c.patch == null then (if c.op == "*" then ".*" else "")
          else ".${toString c.patch}${pre}");
    in
    "${op}${toString c.major}${tail}";
  showReq = text:
    let cs = parseReq text; in
    if cs == [ ] then "*" else B.concatStringsSep ", " (map showComparator cs);

  exact = c: v:
    v.major == c.major
    && (c.minor == null || v.minor == c.minor)
    && (c.patch == null || v.patch == c.patch)
    && v.pre == c.pre;
  greater = c: v:
    if v.major != c.major then v.major > c.major
    else if c.minor == null then false
    else if v.minor != c.minor then v.minor > c.minor
    else if c.patch == null then false
    else if v.patch != c.patch then v.patch > c.patch
    else cmpPre v.pre c.pre > 0;
  less = c: v:
    if v.major != c.major then v.major < c.major
    else if c.minor == null then false
    else if v.minor != c.minor then v.minor < c.minor
    else if c.patch == null then false
    else if v.patch != c.patch then v.patch < c.patch
    else cmpPre v.pre c.pre < 0;
  tilde = c: v:
    if v.major != c.major then false
    else if c.minor != null && v.minor != c.minor then false
    else if c.patch != null && v.patch != c.patch then v.patch > c.patch
    else cmpPre v.pre c.pre >= 0;
  caret = c: v:
    if v.major != c.major then false
    else if c.minor == null then true
    else if c.patch == null then (if c.major > 0 then v.minor >= c.minor else v.minor == c.minor)
    else if c.major > 0 then
      (if v.minor != c.minor then v.minor > c.minor
       else if v.patch != c.patch then v.patch > c.patch
       else cmpPre v.pre c.pre >= 0)
    else if c.minor > 0 then
      (if v.minor != c.minor then false
       else if v.patch != c.patch then v.patch > c.patch
       else cmpPre v.pre c.pre >= 0)
    else if v.minor != c.minor || v.patch != c.patch then false
    else cmpPre v.pre c.pre >= 0;

  matchesOne = c: v:
    if c.op == "=" || c.op == "*" then exact c v
    else if c.op == ">" then greater c v
    else if c.op == ">=" then exact c v || greater c v
    else if c.op == "<" then less c v
    else if c.op == "<=" then exact c v || less c v
    else if c.op == "~" then tilde c v
    else caret c v;

  # A pre-release version satisfies a requirement only when a comparator
  # names the same major.minor.patch with a pre-release of its own.
  preCompatible = c: v:
    c.major == v.major && c.minor == v.minor && c.patch == v.patch && c.pre != [ ];

  matches = req: version:
    let
      cs = parseReq req;
      v = parseVersion version;
    in
    B.all (c: matchesOne c v) cs
    && (v.pre == [ ] || B.any (c: preCompatible c v) cs);
in
{
  inherit parseVersion parseReq showReq matches;
}
