f: s:
let
  B = builtins;
  mapped = map (n: { name = n; value = f n s.${n}; }) (B.attrNames s);
in
B.listToAttrs (B.filter (p: p.value != null) mapped)
