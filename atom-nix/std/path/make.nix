# make :: [string] -> string
parts:
let
  B = builtins;
  abs = parts != [ ] && B.substring 0 1 (B.head parts) == "/";
  segs = B.concatMap std.path.segments parts;
in
(if abs then "/" else "") + B.concatStringsSep "/" segs
