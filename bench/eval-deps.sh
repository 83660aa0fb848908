#!/usr/bin/env bash
# Benchmark of `eka-run eval` with dependencies, against plain `nix-instantiate` over full clones
# of the same repositories, measured in the same run:
#
#   fixture    5 repositories served by `git daemon` on loopback, each with 10 published atoms
#              (50 dependency atoms) and unrelated weight: a vendored directory of 200 files
#              (~1.6 MB of random text) changed over 10 commits of history. An app atom depends
#              on all 50 and sums a value from each (`from.<name>.value`); it is locked with
#              `git atom resolve`.
#   first      `eka-run eval` with an empty atom cache and an empty evaluation cache: it fetches
#              the 50 locked atoms (one fetch per repository), exports them and evaluates.
#              Baseline: `git clone` of the 5 repositories, then `nix-instantiate` composing the
#              same atoms from the clones with the same atom-nix.
#   warm       the atoms are in the atom cache (or the clones exist), nothing in the evaluation
#              cache (`--no-cache`): export and evaluate. Baseline: `nix-instantiate` alone.
#   cached     `eka-run eval` answered from the evaluation cache.
#
# Goals (issue 25): warm at most 1.2x plain; a cache hit under 3% of uncached (warm) and under
# 1.5 ms. The headline rows are reported through bench/lib.sh (`row`).
#
# Bytes fetched: the size of the atom cache's object directory after the first evaluation,
# against the clones' `.git/objects`.
#
# Builds eka-run and git-atom (release) unless EKA_RUN / GIT_ATOM_BIN_DIR are given. Needs git
# (with git-daemon), nix-instantiate (nix-bin) and hyperfine.
# Usage: bench/eval-deps.sh [runs]    (default 10 runs of each timed case)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=${1:-10}

for tool in git hyperfine nix-instantiate; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done

target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z ${EKA_RUN:-} ]]; then
  (cd "$root" && cargo build --quiet --release -p eka-run -p git-atom)
  EKA_RUN=$target/release/eka-run
fi
bin=${GIT_ATOM_BIN_DIR:-$(dirname "$EKA_RUN")}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eval-deps-bench.XXXXXX")
daemon=
cleanup() {
  if [[ -n $daemon ]]; then kill "$daemon" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A sealed environment: the benchmark's own HOME, git config and Nix configuration.
export HOME=$tmp/home XDG_CACHE_HOME=$tmp/home/.cache XDG_DATA_HOME=$tmp/xdg
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$tmp/home/.gitconfig
export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
export LC_ALL=C TZ=UTC PATH=$bin:$PATH
mkdir -p "$HOME" "$tmp/nix-conf" "$tmp/srv"
printf '[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"
: >"$tmp/nix-conf/nix.conf"
export NIX_CONF_DIR=$tmp/nix-conf NIX_USER_CONF_FILES=$tmp/nix-conf/nix.conf

port=$((20000 + RANDOM % 20000))
git daemon --reuseaddr --listen=127.0.0.1 --port=$port --base-path="$tmp/srv" --export-all \
  --enable=receive-pack "$tmp/srv" 2>/dev/null &
daemon=$!
for _ in $(seq 1 50); do
  git ls-remote "git://127.0.0.1:$port/nothing" >/dev/null 2>&1 && break
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
url() { echo "git://127.0.0.1:$port/$1"; }

echo "bench: building 5 repositories of 10 atoms each" >&2
deps_fixture "$tmp" "git://127.0.0.1:$port"

app=$tmp/app
mkdir -p "$app"
printf '[atom]\nid = "app"\nversion = "0.1.0"\n%s\n' "$deps" >"$app/atom.toml"
{
  echo "{"
  echo "  Total = builtins.foldl' (n: d: n + d.value) 0 (builtins.attrValues from);"
  echo "}"
} >"$app/mod.nix"
git init -q "$app"
git -C "$app" add -A && git -C "$app" commit -q -m app
(cd "$app" && git atom resolve >/dev/null 2>&1)

# The baseline's entry: the same atoms composed from full clones, with the same atom-nix.
cat >"$tmp/plain.nix" <<'EOF'
{ clones, atomNix, app }:
let
  B = builtins;
  compose = import (/. + atomNix + "/compose.nix");
  config = { system = B.currentSystem; };
  dep = r: a: compose (/. + "${clones}/r${toString r}/r${toString r}a${toString a}") { inherit config; };
  from = B.listToAttrs (B.concatMap (r: map (a: { name = "r${toString r}a${toString a}"; value = dep r a; }) (B.genList (x: x) 10)) [ 1 2 3 4 5 ]);
in
compose (/. + app) { inherit from config; }
EOF
clone_all() {
  rm -rf "$tmp/clones"
  for r in $(seq 1 5); do git clone -q "$(url "r$r.git")" "$tmp/clones/r$r"; done
}
plain_eval() {
  nix-instantiate --eval --strict --read-write-mode --store "$tmp/plain-store" \
    --argstr clones "$tmp/clones" --argstr atomNix "$root/atom-nix" --argstr app "$app" \
    "$tmp/plain.nix" -A total
}
# eka-run uses the atom-nix built into it (compose.nix, core/, std/ of the same tree).
ours() { "$EKA_RUN" eval "$@" "$app" total; }

# Correctness first: both say the same.
clone_all
[[ $(plain_eval) == "$expected" ]] || { echo "bench: plain nix-instantiate disagrees" >&2; exit 1; }
[[ $(ours --no-cache) == "$expected" ]] || { echo "bench: eka-run disagrees" >&2; exit 1; }

# Bytes fetched.
rm -rf "$XDG_CACHE_HOME/atom"
ours --no-cache >/dev/null
atom_bytes=$(du -sb "$XDG_CACHE_HOME/atom/atoms.git/objects" | cut -f1)
clone_bytes=0
for r in $(seq 1 5); do
  clone_bytes=$((clone_bytes + $(du -sb "$tmp/clones/r$r/.git/objects" | cut -f1)))
done

export EKA_RUN root tmp app port
export -f ours plain_eval clone_all url
hf=(hyperfine --shell bash --style basic --runs "$runs" --warmup 1 --export-json)
"${hf[@]}" "$tmp/first.json" \
  -n 'eka-run first (fetch 50 atoms)' --prepare "rm -rf '$XDG_CACHE_HOME/atom'" 'ours --no-cache' \
  -n 'plain first (clone 5 repos)' --prepare "rm -rf '$tmp/clones' '$tmp/plain-store'" 'clone_all && plain_eval' >&2
"${hf[@]}" "$tmp/warm.json" \
  -n 'eka-run warm (--no-cache)' 'ours --no-cache' \
  -n 'plain warm (clones exist)' plain_eval \
  -n 'eka-run cached' ours >&2

median() { perl -MJSON::PP -e 'my $j = decode_json(do { local $/; <STDIN> }); for (@{$j->{results}}) { printf "%s\t%.1f\n", $_->{command}, $_->{median} * 1000 }' <"$1"; }
echo
echo "bytes fetched: eka-run (50 atoms into the atom cache) $atom_bytes, full clones of 5 repositories $clone_bytes ($(perl -e "printf '%.1f', $clone_bytes / $atom_bytes")x)"
echo "median times, ms:"
median "$tmp/first.json"
median "$tmp/warm.json"
# med <json> <index>: the median of one command of a hyperfine JSON, in ms
med() { perl -MJSON::PP -e 'my $j = decode_json(do { local $/; <STDIN> }); printf "%.1f", $j->{results}[$ARGV[0]]{median} * 1000' "$2" <"$1"; }
echo
row "bytes fetched (50 atoms)" "$atom_bytes" bytes "full clones of 5 repositories" "$clone_bytes" -
row "first evaluation (fetch 50 atoms)" "$(med "$tmp/first.json" 0)" ms "plain (clone 5 repos, evaluate)" "$(med "$tmp/first.json" 1)" -
row "warm evaluation, 50 deps (--no-cache)" "$(med "$tmp/warm.json" 0)" ms "plain nix-instantiate (clones exist)" "$(med "$tmp/warm.json" 1)" "<= 1.2x"
row "cached evaluation, 50 deps" "$(med "$tmp/warm.json" 2)" ms "eka-run warm (--no-cache)" "$(med "$tmp/warm.json" 0)" "< 3% and < 1.5 ms"
