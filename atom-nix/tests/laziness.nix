# Laziness tests: `tests/run` evaluates each `expr` against an empty store
# and compares the names of the store paths it created (hash removed) with
# `paths`. The fixture `lazy` has a top module with a 100 kB data file and
# two members, a submodule `a` with a submodule `b`, and a sibling `C`.
# `atom-nix-store-probe` is the one file atom-nix copies to find where the
# store really is (core/store.nix), once per evaluation. Files with a `/` in
# their text are copied to the store; files without one are imported where
# they are (`C/mod.nix`, `Other.nix`).
let
  inherit (import ./common.nix) compose lazy;
  B = builtins;
in
{
  # The API's names need the top module's mod.nix, and nothing else.
  apiOnly = { expr = B.isAttrs (compose ./fixtures/lazy { }); paths = [ "atom-nix-store-probe" "lazy-mod.nix" ]; };
  entryPointAlone = { expr = B.isFunction compose; paths = [ ]; };
  topNames = { expr = B.attrNames lazy; paths = [ "atom-nix-store-probe" "lazy-mod.nix" ]; };
  topValue = { expr = lazy.top; paths = [ "atom-nix-store-probe" "lazy-mod.nix" ]; };
  # Each file is copied when it is first needed, on its own.
  oneMember = { expr = lazy.member; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy-Member.nix" ]; };
  # A file without a `/` cannot name a relative path: it is not copied.
  fileWithoutSlashNotCopied = { expr = lazy.other; paths = [ "atom-nix-store-probe" "lazy-mod.nix" ]; };
  submoduleValue = { expr = lazy.a.x; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy.a-mod.nix" ]; };
  siblingNotCopied = { expr = lazy.c.z; paths = [ "atom-nix-store-probe" "lazy-mod.nix" ]; };
  deepValue = { expr = lazy.a.b.y; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" ]; };
  submoduleListedNotCopied = { expr = lazy.a ? b; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy.a-mod.nix" ]; };
  dataOnlyWhenAsked = { expr = lazy.a.b.files; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" "lazy.a.b-files" ]; };
  # std/mod.nix has a `/`, std/fix.nix has none.
  stdOnlyWhatIsUsed = { expr = lazy.a.b.usesStd; paths = [ "atom-nix-store-probe" "lazy-mod.nix" "lazy.a-mod.nix" "lazy.a.b-mod.nix" "std-mod.nix" ]; };
}
