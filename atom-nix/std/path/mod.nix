# std.path: functions on path strings (no file system access).
let
  B = builtins;
  segments = p: B.filter (s: s != "" && s != ".") (std.string.split "/" p);
in
{
  # make :: [string] -> string
  # Join segments: `make [ "a" "b/" "/c" ]` is "a/b/c"; an absolute first
  # segment keeps the path absolute.
  Make = mod.make;

  # segments :: string -> [string]   `segments "/a//b/./c"` is [ "a" "b" "c" ]
  Segments = segments;

  # baseName :: string -> string;  dirName :: string -> string
  BaseName = p: let s = segments p; in if s == [ ] then "" else std.list.last s;
  DirName = p:
    let s = segments p; abs = B.substring 0 1 p == "/"; in
    if B.length s <= 1 then (if abs then "/" else ".")
    else (if abs then "/" else "") + B.concatStringsSep "/" (std.list.init s);

  # extension :: string -> string    "x.tar.gz" -> "gz", "x" -> ""
  Extension = p:
    let m = B.match ".*[^/.][.]([^./]*)" (mod.BaseName p); in
    if m == null then "" else B.head m;

  # removeExtension :: string -> string
  RemoveExtension = p:
    let e = mod.Extension p; in
    if e == "" then p else std.string.removeSuffix ".${e}" p;
}
