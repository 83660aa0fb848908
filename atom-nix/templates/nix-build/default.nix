# An atom for plain `nix-build`: `nix-build -A <package>`, `nix-instantiate
# --eval -A <value>`. atom-nix and the atom are fetched by their atom refs
# (published refs never move; add `rev = "<commit>";` to each to evaluate
# without asking the server, and in pure evaluation). The atom's own
# dependencies, pins and sources come from its `atom.lock`.
{ system ? builtins.currentSystem, config ? { } }:
let
  atom-nix = builtins.fetchGit {
    url = "https://github.com/ekala-project/atom";
    ref = "refs/atoms/atom-nix/0.1.0";
  };
  app = builtins.fetchGit {
    url = "https://example.org/mono.git";
    ref = "refs/atoms/app/1.0.0";
  };
in
import "${atom-nix}/lock.nix" app {
  config = config // { inherit system; };
  # Where the atom was published: its path sources (subatomics) come from there.
  url = "https://example.org/mono.git";
}
