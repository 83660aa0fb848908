# Imported from its store copy by boundary.nix: `./.` is then this file's
# directory as the evaluator reads it, which differs from `builtins.storeDir`
# under a chroot store (`--store /some/root`).
./.
