# Laziness tests: `tests/run` evaluates each `expr` against an empty store
# and compares the names of the store paths it created (hash removed) with
# `paths`. The fixture `lazy` has a top module with a 100 kB data file and
# two members, a submodule `a` with a submodule `b`, and a sibling `c`.
let
  inherit (import ./common.nix) compose lazy;
  B = builtins;
in
{
  # The API's names need the top module's mod.nix, and nothing else.
  apiOnly = { expr = B.isAttrs (compose ./fixtures/lazy { }); paths = [ "lazy-mod.nix" ]; };
  entryPointAlone = { expr = B.isFunction compose; paths = [ ]; };
  topNames = { expr = B.attrNames lazy; paths = [ "lazy-mod.nix" ]; };
  topValue = { expr = lazy.top; paths = [ "lazy-mod.nix" ]; };
  # Each file is copied when it is first needed, on its own.
  oneMember = { expr = lazy.member; paths = [ "lazy-mod.nix" "lazy-Member.nix" ]; };
  submoduleValue = { expr = lazy.a.x; paths = [ "lazy-mod.nix" "lazy.a-mod.nix" ]; };
  siblingNotCopied = { expr = lazy.c.z; paths = [ "lazy-mod.nix" "lazy.C-mod.nix" ]; };
  deepValue = { expr = lazy.a.b.y; paths = [ "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" ]; };
  submoduleListedNotCopied = { expr = lazy.a ? b; paths = [ "lazy-mod.nix" "lazy.a-mod.nix" ]; };
  dataOnlyWhenAsked = { expr = lazy.a.b.files; paths = [ "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" "lazy.a.b-files" ]; };
  stdOnlyWhatIsUsed = { expr = lazy.a.b.usesStd; paths = [ "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" "std-mod.nix" "std-fix.nix" ]; };
}
