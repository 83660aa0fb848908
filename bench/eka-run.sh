#!/usr/bin/env bash
# Benchmark of eka-run against baselines measured in the same run (hyperfine, medians):
#
#   run mode   start-up cost of `eka-run --store S -- P` over running P directly, against
#              `bwrap` doing the same (host root, /nix replaced, S bound at /nix/store), where
#              P is a copy of /bin/true in the store S (directly: /bin/true itself).
#   eval mode  `eka-run eval --no-cache` of a generated atom against plain `nix-instantiate
#              --eval` of the same atom, same atom-nix, same entry expression, a warm store of
#              the same kind.
#   eval cache `eka-run eval` answered from the evaluation cache against the same evaluation
#              uncached (`--no-cache`); goal: cached < 5% of uncached.
#
# Builds eka-run (release) unless EKA_RUN=<binary> is given. Needs hyperfine, bwrap
# (Debian: hyperfine, bubblewrap), nix-instantiate (nix-bin) and perl.
# Usage: bench/eka-run.sh [runs]      (default: 500 runs for run mode, runs/5 for eval)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=${1:-500}
eval_runs=$((runs / 5))

for tool in hyperfine bwrap nix-instantiate perl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done

if [[ -z ${EKA_RUN:-} ]]; then
  target=${CARGO_TARGET_DIR:-$root/target}
  (cd "$root" && cargo build --quiet --release -p eka-run)
  EKA_RUN=$target/release/eka-run
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eka-run-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Run mode fixture: a program in a store directory.
store=$tmp/nix/store
prog=/nix/store/0123456789abcdfghijklmnpqrsvwxyz-true/bin/true
mkdir -p "$store/0123456789abcdfghijklmnpqrsvwxyz-true/bin" "$tmp/nix/var/nix"
cp /bin/true "$store/0123456789abcdfghijklmnpqrsvwxyz-true/bin/true"

# Eval mode fixture: an atom with 20 submodules of 10 members each, summed at the top.
atom=$tmp/atom
mkdir -p "$atom"
{
  echo "{"
  echo "  Total = builtins.foldl' (a: b: a + b) 0 (map (m: m.sum) [ $(for i in $(seq 1 20); do printf 'mod.m%d ' "$i"; done)]);"
  echo "}"
} >"$atom/mod.nix"
for i in $(seq 1 20); do
  mkdir -p "$atom/m$i"
  {
    echo "{"
    for j in $(seq 1 10); do echo "  V$j = $((i * j));"; done
    echo "  Sum = $(for j in $(seq 1 10); do printf 'mod.V%d + ' "$j"; done)0;"
    echo "}"
  } >"$atom/m$i/mod.nix"
done
cat >"$tmp/eval.nix" <<'EOF'
{ atomRoot, atomNix, configJSON }:
let
  compose = import (/. + atomNix + "/compose.nix");
  config = { system = builtins.currentSystem; } // builtins.fromJSON configJSON;
in
compose (/. + atomRoot) { inherit config; }
EOF

export XDG_DATA_HOME=$tmp/xdg
# Nix reads the benchmark's own (empty) configuration, never the host's.
mkdir -p "$tmp/nix-conf"
: >"$tmp/nix-conf/nix.conf"
: >"$tmp/nix-conf/user.conf"
export NIX_CONF_DIR=$tmp/nix-conf NIX_USER_CONF_FILES=$tmp/nix-conf/user.conf
plain_store=$tmp/plain-store
plain=(nix-instantiate --eval --strict --read-write-mode --store "$plain_store"
  --argstr atomRoot "$atom" --argstr atomNix "$root/atom-nix" --argstr configJSON '{}'
  "$tmp/eval.nix" -A total)
# eka-run evaluates with its built-in atom-nix (the same files as $root/atom-nix, which the
# plain baseline reads), as users run it: `--atom-nix <dir>` would add a digest of the
# directory's 276 files to every call, cached or not.
ours=("$EKA_RUN" eval --no-cache "$atom" total)
cached=("$EKA_RUN" eval "$atom" total)
export XDG_CACHE_HOME=$tmp/cache

# The two evaluations must agree before they are timed.
expected=$("${plain[@]}" 2>/dev/null)
got=$("${ours[@]}")
[[ $expected == "$got" ]] || { echo "bench: plain gave $expected, eka-run gave $got" >&2; exit 1; }
# The cached evaluation: filled by this first run, then it must agree too.
got=$("${cached[@]}")
[[ $expected == "$got" ]] || { echo "bench: plain gave $expected, cached eka-run gave $got" >&2; exit 1; }
[[ $(find "$tmp/cache/atom/eval" -mindepth 1 -maxdepth 1 -name '[!.]*' | wc -l) == 1 ]] || { echo "bench: no cache entry" >&2; exit 1; }

q() { printf '%q ' "$@"; }
median() { # median of the hyperfine JSON's result $2 (0-based), in milliseconds
  perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); printf "%.3f", $j->{results}[$ARGV[0]]{median} * 1000' "$2" <"$1"
}

echo "== run mode ($runs runs each)" >&2
hyperfine -N --style basic --warmup 50 --runs "$runs" --export-json "$tmp/run.json" \
  --command-name direct "/bin/true" \
  --command-name eka-run "$(q "$EKA_RUN" --store "$store" -- "$prog")" \
  --command-name bwrap "$(q bwrap --dev-bind / / --tmpfs /nix --bind "$store" /nix/store --bind "$tmp/nix/var/nix" /nix/var/nix -- "$prog")" >&2

echo "== eval mode ($eval_runs runs each)" >&2
hyperfine -N --style basic --warmup 5 --runs "$eval_runs" --export-json "$tmp/eval.json" \
  --command-name nix-instantiate "$(q "${plain[@]}")" \
  --command-name eka-run-eval "$(q "${ours[@]}")" >&2

echo "== eval cache ($eval_runs runs each)" >&2
hyperfine -N --style basic --warmup 5 --runs "$eval_runs" --export-json "$tmp/cache.json" \
  --command-name uncached "$(q "${ours[@]}")" \
  --command-name cached "$(q "${cached[@]}")" >&2

d=$(median "$tmp/run.json" 0) e=$(median "$tmp/run.json" 1) b=$(median "$tmp/run.json" 2)
n=$(median "$tmp/eval.json" 0) v=$(median "$tmp/eval.json" 1)
u=$(median "$tmp/cache.json" 0) c=$(median "$tmp/cache.json" 1)
printf '\n%-34s %10s %10s\n' "median" "ms" "ratio"
printf '%-34s %10s %10s\n' "direct /bin/true" "$d" "1.00"
printf '%-34s %10s %10s\n' "eka-run --store S -- P" "$e" "$(perl -e "printf '%.2f', $e/$d")"
printf '%-34s %10s %10s\n' "bwrap (same binds) P" "$b" "$(perl -e "printf '%.2f', $b/$d")"
printf '%-34s %10s %10s\n' "  eka-run start-up cost" "$(perl -e "printf '%.3f', $e-$d")" ""
printf '%-34s %10s %10s\n' "  bwrap start-up cost" "$(perl -e "printf '%.3f', $b-$d")" ""
printf '%-34s %10s %10s\n' "nix-instantiate --eval (plain)" "$n" "1.00"
printf '%-34s %10s %10s\n' "eka-run eval" "$v" "$(perl -e "printf '%.2f', $v/$n")"
printf '%-34s %10s %10s\n' "eka-run eval --no-cache" "$u" "1.00"
printf '%-34s %10s %10s\n' "eka-run eval (cached)" "$c" "$(perl -e "printf '%.3f', $c/$u")"
echo
row "run mode: start-up cost (over direct /bin/true)" "$(perl -e "printf '%.3f', $e-$d")" ms \
  "bwrap start-up cost (same binds)" "$(perl -e "printf '%.3f', $b-$d")" "<= 0.5x"
row "eval (no deps, --no-cache)" "$v" ms "nix-instantiate --eval" "$n" "<= 1.1x"
row "eval cache hit" "$c" ms "eka-run eval --no-cache" "$u" "< 3% and < 1.5 ms"
