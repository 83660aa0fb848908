# mergeUntil stop left right
stop:
let
  B = builtins;
  go = path: l: r:
    B.foldl'
      (acc: n:
        let
          p = path ++ [ n ];
          lv = acc.${n};
          rv = r.${n};
        in
        acc // {
          ${n} =
            if acc ? ${n} && B.isAttrs lv && B.isAttrs rv && !(stop p lv rv)
            then go p lv rv
            else rv;
        })
      l
      (B.attrNames r);
in
go [ ]
