# The list of tests for `tests/run`, one per line, tab-separated:
#   value   <name>  <file>   (run on its own when batch.nix cannot)
#   error   <name>  +|-  <text that must (+) or must not (-) be in stderr>
#   lazy    <name>  <store path names, space-separated, sorted>
let
  B = builtins;
  values = { "values.nix" = import ./values.nix; "std.nix" = import ./std.nix; };
  errors = import ./errors.nix;
  laziness = import ./laziness.nix;
  line = fields: B.concatStringsSep "\t" fields;
  sortedWords = l: B.concatStringsSep " " (B.sort B.lessThan l);
in
B.concatStringsSep "\n" (
  B.concatMap (f: map (n: line [ "value" n f ]) (B.attrNames values.${f})) (B.attrNames values)
  ++ B.concatMap
    (n:
      let c = errors.${n}; in
      [ (line [ "error" n "+" "" ]) ]
      ++ map (m: line [ "error" n "+" m ]) c.messages
      ++ map (m: line [ "error" n "-" m ]) (c.absent or [ ]))
    (B.attrNames errors)
  ++ map (n: line [ "lazy" n (sortedWords laziness.${n}.paths) ]) (B.attrNames laziness)
) + "\n"
