# Where the store is, as the evaluator reads files.
#
# Under a chroot store (`--store /root`), files imported from the store see
# themselves at the real location `/root/nix/store/...`, while
# `builtins.storeDir` stays `/nix/store`. The real prefix is found, only when
# needed, by importing a probe from the store.
let
  B = builtins;
  realStoreDir = dirOf (toString
    (import "${B.path { path = ./store-probe; name = "atom-nix-store-probe"; }}/probe.nix"));
in
{
  inherit realStoreDir;

  # The real location of a store path string, without its context (after
  # realising it), for builtins that refuse strings with context.
  realPath = s:
    let
      plain = B.unsafeDiscardStringContext s;
      n = B.stringLength B.storeDir;
      inStore = B.substring 0 (n + 1) plain == B.storeDir + "/";
    in
    B.seq (B.pathExists s)
      (if inStore && realStoreDir != B.storeDir
       then realStoreDir + B.substring n (B.stringLength plain) plain
       else plain);
}
