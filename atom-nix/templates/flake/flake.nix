# An atom taken into a flake: its packages are the flake's packages, its whole
# API is `legacyPackages.<system>`. Both inputs are atoms, each one commit
# under its atom ref; `flake = false` because an atom is not a flake. The
# atom's own dependencies, pins and sources come from its `atom.lock`, fetched
# by lock.nix with Nix's own fetchers: `flake.lock` pins the atom, the atom's
# lock pins the rest.
#
#   nix build .#<package>        (Nix 2.8 and newer, with flakes enabled)
{
  description = "An atom's packages, composed with its locked dependencies by atom-nix";

  inputs = {
    app.url = "git+https://example.org/mono.git?ref=refs/atoms/app/1.0.0";
    app.flake = false;
    atom-nix.url = "git+https://github.com/ekala-project/atom?ref=refs/atoms/atom-nix/0.1.0";
    atom-nix.flake = false;
  };

  outputs = { self, app, atom-nix }:
    let
      system = "x86_64-linux";
      api = import "${atom-nix}/lock.nix" app {
        config = { inherit system; };
        # Where the atom was published: its path sources (subatomics) come from there.
        url = "https://example.org/mono.git";
      };
      isDerivation = v: builtins.isAttrs v && (v.type or null) == "derivation";
      names = builtins.filter (n: isDerivation api.${n}) (builtins.attrNames api);
    in
    {
      packages.${system} = builtins.listToAttrs (map (n: { name = n; value = api.${n}; }) names);
      legacyPackages.${system} = api;
    };
}
