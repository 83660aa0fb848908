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
  apiOnly = { expr = B.isAttrs (compose ./fixtures/lazy { }); paths = [ "lazy" ]; };
  entryPointAlone = { expr = B.isFunction compose; paths = [ ]; };
  topNames = { expr = B.attrNames lazy; paths = [ "lazy" ]; };
  topValue = { expr = lazy.top; paths = [ "lazy" ]; };
  oneMember = { expr = lazy.member; paths = [ "lazy" ]; };
  submoduleValue = { expr = lazy.a.x; paths = [ "lazy" "lazy.a" ]; };
  siblingNotCopied = { expr = lazy.c.z; paths = [ "lazy" "lazy.c" ]; };
  deepValue = { expr = lazy.a.b.y; paths = [ "lazy" "lazy.a" "lazy.a.b" ]; };
  submoduleListedNotCopied = { expr = lazy.a ? b; paths = [ "lazy" "lazy.a" ]; };
  dataOnlyWhenAsked = { expr = lazy.a.b.files; paths = [ "lazy" "lazy.a" "lazy.a.b" "lazy.a.b-files" ]; };
  stdOnlyWhatIsUsed = { expr = lazy.a.b.usesStd; paths = [ "lazy" "lazy.a" "lazy.a.b" "std" ]; };
}
