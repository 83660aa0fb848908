# std.string: functions on strings.
let
  B = builtins;
  upper = B.genList (i: B.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") 26;
  lower = B.genList (i: B.substring i 1 "abcdefghijklmnopqrstuvwxyz") 26;
in
{
  # toLowerCase, toUpperCase :: string -> string    (ASCII letters)
  ToLowerCase = mod.toLowerCase;
  ToUpperCase = B.replaceStrings lower upper;

  # hasPrefix, hasSuffix :: string -> string -> bool   (prefix first)
  HasPrefix = pre: s: B.substring 0 (B.stringLength pre) s == pre;
  HasSuffix = suf: s:
    let n = B.stringLength s; m = B.stringLength suf; in
    n >= m && B.substring (n - m) m s == suf;

  # removePrefix, removeSuffix :: string -> string -> string
  RemovePrefix = pre: s:
    if mod.HasPrefix pre s then B.substring (B.stringLength pre) (B.stringLength s) s else s;
  RemoveSuffix = suf: s:
    if mod.HasSuffix suf s then B.substring 0 (B.stringLength s - B.stringLength suf) s else s;

  # join :: string -> [string] -> string
  Join = B.concatStringsSep;

  # split :: string -> string -> [string]
  # Split on a literal separator: `split "," "a,b,,c"` is [ "a" "b" "" "c" ].
  Split = sep: s:
    B.filter B.isString (B.split (mod.escapeRegex sep) s);

  # lines :: string -> [string]    without a trailing empty line
  Lines = s:
    let l = mod.Split "\n" s; in
    if l != [ ] && B.elemAt l (B.length l - 1) == "" then std.list.init l else l;

  # chars :: string -> [string]
  Chars = s: B.genList (i: B.substring i 1 s) (B.stringLength s);

  # trim :: string -> string    removes spaces, tabs and newlines at both ends
  Trim = s:
    let m = B.match "[ \t\r\n]*(.*[^ \t\r\n])[ \t\r\n]*" s; in
    if m == null then "" else B.head m;

  # replicate :: int -> string -> string
  Replicate = n: s: B.concatStringsSep "" (B.genList (_: s) n);

  # escapeRegex :: string -> string   a literal for builtins.match/split
  EscapeRegex = mod.escapeRegex;

  escapeRegex = B.replaceStrings
    [ "\\" "." "[" "]" "(" ")" "{" "}" "*" "+" "?" "^" "$" "|" ]
    [ "\\\\" "\\." "\\[" "\\]" "\\(" "\\)" "\\{" "\\}" "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" ];
}
