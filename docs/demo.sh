#!/usr/bin/env bash
# A local tour of atom: a sample repository with a few atoms, published to a local bare remote,
# listed and verified; a second repository whose atom depends on one of them (added, resolved
# into a lock, shown, its locked closure drawn as a tree, published); that atom evaluated with its dependency, built and run with
# eka-run; and one atom cloned on its own. No server, no network. Needs `git`, the installed
# `git-atom`, `git-remote-atom` and `eka-run`, Nix (`nix-instantiate`, `nix-store`: Debian
# `nix-bin`) and a static busybox as the builder (Debian `busybox-static`).
set -euo pipefail

for tool in git-atom git-remote-atom eka-run; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is not on PATH (install it first, see README.md)" >&2; exit 1; }
done
command -v nix-store >/dev/null ||
  { echo "demo: Nix is not installed (Debian: apt-get install nix-bin, see README.md)" >&2; exit 1; }
[[ -x /bin/busybox ]] ||
  { echo "demo: /bin/busybox is missing: the demo builds with a static busybox (Debian: apt-get install busybox-static, see README.md)" >&2; exit 1; }
demo=$(mktemp -d "${TMPDIR:-/tmp}/atom-demo.XXXXXX")
# The user store holds read-only directories, as every Nix store does.
trap 'chmod -R u+w "$demo" 2>/dev/null; rm -rf "$demo"' EXIT
cd "$demo"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
export GIT_CONFIG_GLOBAL="$demo/gitconfig" GIT_CONFIG_NOSYSTEM=1
# Everything the demo writes stays in $demo: the atom cache and the evaluation cache
# (XDG_CACHE_HOME), eka-run's user store (XDG_DATA_HOME), and Nix's configuration (the demo's
# own, empty; never the machine's).
export XDG_CACHE_HOME="$demo/cache" XDG_DATA_HOME="$demo/data"
mkdir -p "$demo/nix-conf" && : > "$demo/nix-conf/nix.conf"
export NIX_CONF_DIR="$demo/nix-conf" NIX_USER_CONF_FILES="$demo/nix-conf/nix.conf"
git config --global user.name "Demo" && git config --global user.email demo@example.invalid
git config --global init.defaultBranch main

git init -q --bare remote.git
git init -q monorepo && cd monorepo
git remote add origin ../remote.git
mkdir -p pkgs/hello lib/strings tools/fmt
printf '[atom]\nid = "hello"\nversion = "0.1.0"\n' > pkgs/hello/atom.toml
printf '{ Greeting = "hello, world"; }\n' > pkgs/hello/mod.nix
printf '[atom]\nid = "strings"\nversion = "1.2.0"\n' > lib/strings/atom.toml
printf '{ Shout = s: s + "!"; }\n' > lib/strings/mod.nix
printf '[atom]\nid = "fmt"\nversion = "0.0.1-alpha"\n' > tools/fmt/atom.toml
printf '{ }\n' > tools/fmt/mod.nix
echo "# a monorepo" > README.md
git add -A && git commit -qm "three atoms"
git push -q origin main

step git atom publish
printf '{ Greeting = "hello, atoms"; }\n' > pkgs/hello/mod.nix
sed -i 's/0.1.0/0.1.10/' pkgs/hello/atom.toml
git commit -qam "hello 0.1.10"
step git atom publish --push-source pkgs/hello
step git atom ls origin
step git ls-remote origin 'refs/atoms/*'
step git atom verify
step git cat-file commit refs/atoms/hello/0.1.10
# Siblings: `banner` depends on `strings` of the same repository by path. It evaluates from the
# working tree before anything is published, and publish refuses it unless `strings` is
# published with it (here it already is); a consumer gets `strings` from this repository.
mkdir -p pkgs/banner
printf '[atom]\nid = "banner"\nversion = "0.1.0"\n\n[deps.strings]\npath = "../../lib/strings"\n' > pkgs/banner/atom.toml
printf '{ Text = from.strings.shout "a sibling of strings"; }\n' > pkgs/banner/mod.nix
(cd pkgs/banner && step git atom resolve)
step eka-run eval pkgs/banner text
git add -A && git commit -qm "banner depends on its sibling strings" && git push -q origin main
step git atom publish pkgs/banner

# Another repository depends on `strings` at a version requirement.
cd "$demo"
git init -q --bare app-remote.git
git init -q app && cd app
git remote add origin ../app-remote.git
mkdir -p greeter
# It supports two systems and one variant, `excited` (off unless chosen: `--enable excited`).
printf '[atom]\nid = "greeter"\nversion = "0.1.0"\n\n[platform]\nsupported = ["x86_64-linux", "aarch64-linux"]\n\n[support]\nexcited = false\n' > greeter/atom.toml
# `from.strings` is the public API of the locked `strings` atom (`Shout` is public, so it is
# `shout`); `config.variant` is the chosen variant; `Hello` is a derivation built by the busybox
# at `config.busybox` in the user store.
cat > greeter/mod.nix <<'EOF'
let
  bb = "${builtins.path { path = config.busybox; name = "busybox"; }}/bin/busybox";
  message = from.strings.shout ("hello from an atom" + (if config.variant.excited then "!" else ""));
in
{
  Message = message;
  Hello = builtins.derivation {
    name = "hello-0.1.0";
    system = config.system;
    builder = bb;
    args = [ "sh" "-c" ''
      mkdir -p $out/bin
      printf '#!%s sh\necho "%s"\n' ${bb} "${message}" > $out/bin/hello
      chmod +x $out/bin/hello
    '' ];
  };
}
EOF
cd greeter
step git atom add "$demo/remote.git::strings@^1.2"
step cat atom.toml atom.lock
step git atom show
# The static build matrix a CI system takes as its job list (`--json`): systems x variants.
step git atom show --matrix
step git atom tree
step git atom resolve --locked
step git atom verify --locked
cd ..
git add -A && git commit -qm "greeter depends on strings" && git push -q origin main
step git atom publish

# Evaluate it with its locked dependency in eka-run's sandbox (no network; it sees the atom and
# the locked `strings` atom, exported from the atom cache), then from its published URI.
step eka-run eval greeter message
step eka-run eval --enable excited greeter message
step eka-run eval "$demo/app-remote.git::greeter@^0.1" message
# Build its derivation in the user store ($demo/data/eka-run/nix here, ~/.local/share/eka-run/nix
# by default) with a static busybox added to that store as the builder, and run it.
mkdir -p "$demo/bb/bin" && cp /bin/busybox "$demo/bb/bin/"
bb=$(eka-run nix-store --add "$demo/bb")
config="{\"busybox\":\"$bb\"}"
step eka-run plan --config "$config" greeter hello
step eka-run build --config "$config" greeter hello
step eka-run run --config "$config" greeter hello
step eka-run eval greeter message -v
# Build once for everyone: the published greeter's outputs copied into a binary cache (signed
# with a key made with Nix's own tool) and its plan record written beside them.
eka-run nix-store --generate-binary-cache-key demo-cache-1 "$demo/cache.sec" "$demo/cache.pub"
step eka-run build --to "$demo/binary-cache" --secret-key-file "$demo/cache.sec" \
  --config "$config" "$demo/app-remote.git::greeter@^0.1" hello
# Another machine (empty caches and store) whose Nix configuration has that cache and trusts the
# key runs it from the record: no evaluator starts, no dependency is fetched (-v says so).
(
  export XDG_CACHE_HOME="$demo/elsewhere/cache" XDG_DATA_HOME="$demo/elsewhere/data"
  mkdir -p "$demo/elsewhere/nix-conf"
  printf 'substituters = file://%s\ntrusted-public-keys = %s\n' "$demo/binary-cache" \
    "$(cat "$demo/cache.pub")" > "$demo/elsewhere/nix-conf/nix.conf"
  export NIX_CONF_DIR="$demo/elsewhere/nix-conf" NIX_USER_CONF_FILES="$demo/elsewhere/nix-conf/nix.conf"
  step eka-run -v run --config "$config" "$demo/app-remote.git::greeter@^0.1" hello
)
cd "$demo"
step git clone -q "atom::$demo/remote.git::hello@^0.1" hello
step ls -A hello
step git -C hello log --oneline --all
echo
echo "demo: published, listed and verified atoms, evaluated and published an atom depending on a"
echo "sibling of its repository, depended on one from another repository (locked and"
echo "published with its lock), listed its build matrix, evaluated it with and without a variant,"
echo "built and ran that atom with its dependency (the last"
echo "evaluation came from the evaluation cache), wrote its outputs and signed plan record into a"
echo "binary cache and ran it from there on a second, empty machine without evaluating it, and"
echo "cloned one atom; everything above ran in $demo"
echo "(removed on exit)"
