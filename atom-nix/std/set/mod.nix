# std.set: functions on attribute sets.
let
  B = builtins;
in
{
  # filter :: (name -> value -> bool) -> set -> set
  Filter = pred: s:
    B.listToAttrs (B.concatMap (n: if pred n s.${n} then [{ name = n; value = s.${n}; }] else [ ]) (B.attrNames s));

  # filterMap :: (name -> value -> null | value') -> set -> set
  # Map every attribute, dropping those mapped to null.
  FilterMap = mod.filterMap;

  # mapToList :: (name -> value -> a) -> set -> [a]    in name order
  MapToList = f: s: map (n: f n s.${n}) (B.attrNames s);

  # merge :: set -> set -> set
  # Recursive merge: nested sets are merged, anything else from the right wins.
  Merge = mod.mergeUntil (_: _: _: false);

  # mergeUntil :: ([name] -> left -> right -> bool) -> set -> set -> set
  # Like merge, but stops descending (the right side wins) where the
  # predicate on the attribute path and both values is true.
  MergeUntil = mod.mergeUntil;

  # when :: bool -> set -> set    the set, or {} when the condition is false
  When = cond: s: if cond then s else { };

  # getPath :: [name] -> default -> set -> value
  GetPath = path: default: s:
    if path == [ ] then s
    else
      let n = B.head path; in
      if B.isAttrs s && s ? ${n} then mod.GetPath (B.tail path) default s.${n} else default;

  # setPath :: [name] -> value -> set    `setPath [ "a" "b" ] 1` is { a.b = 1; }
  SetPath = path: value:
    B.foldl' (acc: n: { ${n} = acc; }) value (mod.reversed path);

  # genAttrs :: [name] -> (name -> value) -> set
  GenAttrs = names: f: B.listToAttrs (map (n: { name = n; value = f n; }) names);

  # fromPairs :: [[ name value ]] -> set
  FromPairs = pairs: B.listToAttrs (map (p: { name = B.elemAt p 0; value = B.elemAt p 1; }) pairs);

  # zipWith :: (name -> [value] -> value) -> [set] -> set
  # Uses the builtin zipAttrsWith where the evaluator has it.
  ZipWith = B.zipAttrsWith or (f: sets:
    let names = std.list.unique (B.concatMap B.attrNames sets); in
    B.listToAttrs (map (n: { name = n; value = f n (B.catAttrs n sets); }) names));

  reversed = l: let n = B.length l; in B.genList (i: B.elemAt l (n - 1 - i)) n;
}
