#!/usr/bin/env bash
# A local tour of atom: a sample repository with a few atoms, published to a local bare remote,
# listed and verified; a second repository whose atom depends on one of them (added, resolved
# into a lock, shown, published); and one atom cloned on its own. No server, no network. Needs
# `git` and the installed `git-atom` and `git-remote-atom`.
set -euo pipefail

command -v git-atom >/dev/null || { echo "demo: git-atom is not on PATH (install it first, see README.md)" >&2; exit 1; }
demo=$(mktemp -d "${TMPDIR:-/tmp}/atom-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
cd "$demo"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
export GIT_CONFIG_GLOBAL="$demo/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global user.name "Demo" && git config --global user.email demo@example.invalid
git config --global init.defaultBranch main

git init -q --bare remote.git
git init -q monorepo && cd monorepo
git remote add origin ../remote.git
mkdir -p pkgs/hello lib/strings tools/fmt
printf '[atom]\nid = "hello"\nversion = "0.1.0"\n' > pkgs/hello/atom.toml
printf '{ Greeting = "hello, world"; }\n' > pkgs/hello/mod.nix
printf '[atom]\nid = "strings"\nversion = "1.2.0"\n' > lib/strings/atom.toml
printf '{ Upper = s: s; }\n' > lib/strings/mod.nix
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

# Another repository depends on `strings` at a version requirement.
cd "$demo"
git init -q --bare app-remote.git
git init -q app && cd app
git remote add origin ../app-remote.git
mkdir -p greeter
printf '[atom]\nid = "greeter"\nversion = "0.1.0"\n' > greeter/atom.toml
printf '{ Hello = "hello"; }\n' > greeter/mod.nix
cd greeter
step git atom add "$demo/remote.git::strings@^1.2"
step cat atom.toml atom.lock
step git atom show
step git atom resolve --locked
cd ..
git add -A && git commit -qm "greeter depends on strings" && git push -q origin main
step git atom publish
cd "$demo"
step git clone -q "atom::$demo/remote.git::hello@^0.1" hello
step ls -A hello
step git -C hello log --oneline --all
echo
echo "demo: published, listed and verified atoms, depended on one from another repository (locked and"
echo "published with its lock), and cloned one atom; everything above ran in $demo (removed on exit)"
