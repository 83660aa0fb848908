# std.list: functions on lists.
let
  B = builtins;
in
{
  # imap0 :: (int -> a -> b) -> [a] -> [b]     indices from 0
  # imap1 :: (int -> a -> b) -> [a] -> [b]     indices from 1
  Imap0 = mod.imap.from 0;
  Imap1 = mod.imap.from 1;

  # sublist :: int -> int -> [a] -> [a]
  # `sublist start count list`, clamped to the list.
  Sublist = mod.sublist;

  # take :: int -> [a] -> [a];  drop :: int -> [a] -> [a]
  Take = n: mod.sublist 0 n;
  Drop = n: l: mod.sublist n (B.length l) l;

  # last :: [a] -> a;  init :: [a] -> [a]   (both fail on an empty list)
  Last = l:
    if l == [ ] then throw "std.list.last: empty list" else B.elemAt l (B.length l - 1);
  Init = l:
    if l == [ ] then throw "std.list.init: empty list" else mod.sublist 0 (B.length l - 1) l;

  # range :: int -> int -> [int]    inclusive: `range 1 3` is [ 1 2 3 ]
  Range = first: last:
    if first > last then [ ] else B.genList (i: first + i) (last - first + 1);

  # replicate :: int -> a -> [a]
  Replicate = n: x: B.genList (_: x) n;

  # reverse :: [a] -> [a]
  Reverse = l: let n = B.length l; in B.genList (i: B.elemAt l (n - 1 - i)) n;

  # flatten :: nested lists -> [a]    `flatten [ 1 [ 2 [ 3 ] ] ]` is [ 1 2 3 ]
  Flatten = x: if B.isList x then B.concatMap mod.Flatten x else [ x ];

  # unique :: [a] -> [a]    keeps the first occurrence, in order
  Unique = B.foldl' (acc: x: if B.elem x acc then acc else acc ++ [ x ]) [ ];

  # findFirst :: (a -> bool) -> a -> [a] -> a
  # The first element satisfying `pred`, or `default`.
  FindFirst = pred: default: l:
    let found = B.filter pred l; in if found == [ ] then default else B.head found;

  # count :: (a -> bool) -> [a] -> int
  Count = pred: l: B.length (B.filter pred l);

  # foldr :: (a -> b -> b) -> b -> [a] -> b
  Foldr = f: z: l:
    let
      n = B.length l;
      go = i: if i == n then z else f (B.elemAt l i) (go (i + 1));
    in
    go 0;

  # zip :: [a] -> [b] -> [{ fst; snd; }]      as long as the shorter list
  # zipWith :: (a -> b -> c) -> [a] -> [b] -> [c]
  Zip = mod.ZipWith (fst: snd: { inherit fst snd; });
  ZipWith = f: a: b:
    B.genList (i: f (B.elemAt a i) (B.elemAt b i))
      (if B.length a < B.length b then B.length a else B.length b);

  # intersperse :: a -> [a] -> [a]    `intersperse 0 [ 1 2 3 ]` is [ 1 0 2 0 3 ]
  Intersperse = sep: l:
    if l == [ ] then [ ] else B.tail (B.concatMap (x: [ sep x ]) l);

  # groupBy :: (a -> string) -> [a] -> { string = [a]; }
  # Uses the builtin where the evaluator has it.
  GroupBy = B.groupBy or (f: B.foldl'
    (acc: x: let k = f x; in acc // { ${k} = (acc.${k} or [ ]) ++ [ x ]; })
    { });

  # partition :: (a -> bool) -> [a] -> { right; wrong; }
  Partition = B.partition;

  # toAttrs :: (a -> string) -> [a] -> { string = a; }    later keys win
  ToAttrs = key: l: B.listToAttrs (map (x: { name = key x; value = x; }) l);
}
