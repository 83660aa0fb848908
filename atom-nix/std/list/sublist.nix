# sublist :: int -> int -> [a] -> [a]
# The `count` elements starting at `start`, clamped to the list's bounds.
start: count: l:
let
  len = builtins.length l;
  from = if start < 0 then 0 else if start > len then len else start;
  n = if count < 0 then 0 else if from + count > len then len - from else count;
in
builtins.genList (i: builtins.elemAt l (from + i)) n
