# What `tests/run` evaluates first, in one nix-instantiate: every value case
# of values.nix and std.nix, checked under `builtins.tryEval`, and the list
# of the other cases. One line per case, tab-separated:
#   value   <file>  <name>  ok|FAIL
#   error   <name>  +|-  <text that must (+) or must not (-) be in stderr>
#   lazy    <name>  <store path names, space-separated, sorted>
# A value case that fails (or throws) is run again on its own by the runner,
# which then prints what it got and what was expected. A case that aborts
# (which `tryEval` cannot catch) fails this whole evaluation; the runner then
# runs every value case on its own.
let
  B = builtins;
  values = { "values.nix" = import ./values.nix; "std.nix" = import ./std.nix; };
  line = fields: B.concatStringsSep "\t" fields;
  check = c:
    let r = B.tryEval (c.expr == c.expected); in
    if r.success && r.value then "ok" else "FAIL";
in
B.concatStringsSep "\n" (
  B.concatMap (f: map (n: line [ "value" f n (check values.${f}.${n}) ]) (B.attrNames values.${f})) (B.attrNames values)
  ++ B.filter (l: B.substring 0 6 l != "value\t") (B.filter B.isString (B.split "\n" (import ./manifest.nix)))
) + "\n"
