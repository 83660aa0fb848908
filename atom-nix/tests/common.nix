# Shared by the test files: the entry point and the fixture atoms, composed
# the way callers do.
let
  compose = import ../compose.nix;
in
{
  inherit compose;
  basic = compose ./fixtures/basic {
    from = { dep.value = 1; std = "not the std"; atom = "not the atom"; };
    get = { src = "source"; mod = "not the mod"; };
    config = { system = "x86_64-linux"; mod = "not the mod"; pre = "not the pre"; };
  };
  edge = compose ./fixtures/edge { };
  boundary = compose ./fixtures/boundary { config.system = "riscv64-linux"; };
  lazy = compose ./fixtures/lazy { };
}
