#!/usr/bin/env bash
# Benchmark of atom-nix's compose against plain `import` of the same files,
# measured in the same run with the real nix-instantiate.
#
#   width N   a top module with N sibling submodules (N = 1000 8000 by
#             default), each a mod.nix and one member file; every value is
#             read. No file has a `/`, so no file needs a store copy.
#   width N/  the same, but every file has a comment with a `/` in it, so
#             atom-nix copies every file to the store (see docs/atom-nix.md).
#   tree      a 5,111-file tree of nested modules (10 x 10 x 10, 1,111
#             modules; each leaf has a mod.nix and four members).
#
# Each evaluation runs on a chroot store in a temp dir (so atom-nix's store
# copies are included in its time), under /usr/bin/time for the wall time,
# CPU time (user + system) and peak resident memory. The first (cold) run of
# a case starts from an empty store; then atom-nix (warm) and plain import
# run alternately ATOM_NIX_BENCH_RUNS times (default 5), and the table shows
# the fastest of each, which is the least disturbed by other load on the
# machine. ATOM_NIX_BENCH_STORES=<dir> puts the stores there instead of the
# temp dir, e.g. /dev/shm to take the disk out of the cold runs.
# ATOM_NIX_BENCH_FLOOR=1 also runs, alternately with the others, plain
# import that first reads each file with builtins.readFile, as atom-nix must
# to tell whether a file has a `/` (the copy rule), and prints its times
# against plain's after the table: the least any atom-nix costs.
# Goals (issue 24): warm at most 1.2x plain's time and 1.5x its peak memory in every case; the
# headline rows (warm against plain, per case) are reported through bench/lib.sh (`row`).
# Usage: bench/atom-nix.sh [widths...]     (default: 1000 8000)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
compose=${ATOM_NIX_COMPOSE:-$root/atom-nix/compose.nix}   # another atom-nix to compare
widths=("$@")
((${#widths[@]})) || widths=(1000 8000)
runs=${ATOM_NIX_BENCH_RUNS:-5}
floor=${ATOM_NIX_BENCH_FLOOR:-0}
floors=()

command -v nix-instantiate >/dev/null || { echo "bench: nix-instantiate not found" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time (GNU time) not found" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atom-nix-bench.XXXXXX")
stores=$(mktemp -d "${ATOM_NIX_BENCH_STORES:-$tmp}/atom-nix-bench-stores.XXXXXX")
trap 'rm -rf "$tmp" "$stores"' EXIT
mkdir -p "$tmp/state" "$tmp/log" "$tmp/conf" "$tmp/home"
export HOME="$tmp/home" NIX_CONF_DIR="$tmp/conf" NIX_STATE_DIR="$tmp/state" NIX_LOG_DIR="$tmp/log" NIX_PATH="" LC_ALL=C

# --- fixtures -------------------------------------------------------------
# make_width <dir> <n> [<comment>]: the comment is appended to every file.
make_width() {
  local dir=$1 n=$2 c=${3:-} i
  mkdir -p "$dir"
  echo "{ }$c" >"$dir/mod.nix"
  for ((i = 0; i < n; i++)); do
    mkdir "$dir/M$i"
    echo "{ Value = $i; }$c" >"$dir/M$i/mod.nix"
    echo "$i$c" >"$dir/M$i/Extra.nix"
  done
}

make_tree() {
  local dir=$1 a b c
  mkdir -p "$dir"
  echo '{ Value = 1; }' >"$dir/mod.nix"
  for a in 0 1 2 3 4 5 6 7 8 9; do
    mkdir "$dir/A$a"
    echo "{ Value = $a; }" >"$dir/A$a/mod.nix"
    for b in 0 1 2 3 4 5 6 7 8 9; do
      mkdir "$dir/A$a/B$b"
      echo "{ Value = $b; }" >"$dir/A$a/B$b/mod.nix"
      for c in 0 1 2 3 4 5 6 7 8 9; do
        local leaf="$dir/A$a/B$b/C$c"
        mkdir "$leaf"
        echo "{ Value = $c; Name = \"c$c\"; }" >"$leaf/mod.nix"
        echo "$a" >"$leaf/One.nix"
        echo "$b" >"$leaf/Two.nix"
        echo "{ Value = $c; }" >"$leaf/Three.nix"
        echo "[ $a $b $c ]" >"$leaf/Four.nix"
      done
    done
  done
}

# --- the two evaluations ---------------------------------------------------
# Both sum every integer reachable in the atom, so every file is read.
# shellcheck disable=SC2016 # a Nix expression: ${n} is Nix's interpolation, not the shell's
sum='let B = builtins; sum = v: if B.isInt v then v else if B.isList v then B.foldl'"'"' (a: x: a + sum x) 0 v else if B.isAttrs v then B.foldl'"'"' (a: n: a + sum v.${n}) 0 (B.attrNames v) else 0; in sum'

ours_expr() { echo "($sum) (import $compose $1 { })"; }

# Plain import of the same files: walk the directories, import every .nix file.
plain_expr() {
  # shellcheck disable=SC2028 # the backslashes are for Nix (bash's echo leaves them as they are)
  echo "let B = builtins; load = d: let e = B.readDir d; in B.listToAttrs (B.concatMap (n: if e.\${n} == \"directory\" then [ { name = n; value = load (d + \"/\${n}\"); } ] else if B.match \".*\\\\.nix\" n != null then [ { name = n; value = import (d + \"/\${n}\"); } ] else [ ]) (B.attrNames e)); in ($sum) (load $1)"
}

# The same, reading each file with builtins.readFile before importing it.
floor_expr() {
  local e
  e=$(plain_expr "$1")
  # shellcheck disable=SC2016 # Nix's interpolation, not the shell's
  echo "${e//'value = import (d + "/${n}");'/'value = let p = d + "/${n}"; in B.seq (B.readFile p) (import p);'}"
}

# run <label> <store> <expr>: prints "seconds kilobytes cpu-seconds result"
run() {
  local out
  out=$(/usr/bin/time -f '%e %M %U %S' -o "$tmp/time" \
    nix-instantiate --store "$2" --read-write-mode --eval --strict -E "$3" 2>"$tmp/err") || {
    echo "bench: $1 failed:" >&2
    cat "$tmp/err" >&2
    exit 1
  }
  awk -v out="$out" '{ printf "%s %s %.2f %s\n", $1, $2, $3 + $4, out }' "$tmp/time"
}

# best <run output>...: the fastest run (by wall time), its CPU time its own.
best() {
  printf '%s\n' "$@" | sort -n -k1,1 | head -1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 0.01; printf "%.2f", a / b }'; }

echo "# atom-nix benchmark: $(nix-instantiate --version), $(nproc) cpus, $(uname -m), $(date -u +%Y-%m-%d)"
echo "# stores on $(df -T "$stores" | awk 'NR == 2 { print $2 }') ($stores)"
echo "# cold: empty store; warm: atom-nix's copies already exist (fastest of $runs runs, as for plain)"
printf '%-11s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' case "cold s" "warm s" "plain s" "warmCPU" "plnCPU" "warm/p" "cpu/p" "warm MB" "plainMB" "mem/p"

report() {
  local label=$1 dir=$2 store="$stores/store-$RANDOM$RANDOM" c w p f ws=() ps=() fs=() i out
  out=$(run "ours (cold) $label" "$store" "$(ours_expr "$dir")")
  read -r -a c <<<"$out"
  for ((i = 0; i < runs; i++)); do
    ws+=("$(run "ours (warm) $label" "$store" "$(ours_expr "$dir")")")
    ps+=("$(run "plain $label" "$stores/store-plain" "$(plain_expr "$dir")")")
    if ((floor)); then fs+=("$(run "plain+read $label" "$stores/store-plain" "$(floor_expr "$dir")")"); fi
  done
  out=$(best "${ws[@]}")
  read -r -a w <<<"$out"
  out=$(best "${ps[@]}")
  read -r -a p <<<"$out"
  rm -rf "$store"
  if [[ ${c[3]} != "${p[3]}" || ${w[3]} != "${p[3]}" ]]; then
    echo "bench: $label: results differ: ours ${c[3]}/${w[3]}, plain ${p[3]}" >&2
    exit 1
  fi
  printf '%-11s %7s %7s %7s %7s %7s %7s %7s %7d %7d %7s\n' "$label" "${c[0]}" "${w[0]}" "${p[0]}" "${w[2]}" "${p[2]}" \
    "$(ratio "${w[0]}" "${p[0]}")" "$(ratio "${w[2]}" "${p[2]}")" $((w[1] / 1024)) $((p[1] / 1024)) "$(ratio "${w[1]}" "${p[1]}")"
  if ((floor)); then
    out=$(best "${fs[@]}")
    read -r -a f <<<"$out"
    [[ ${f[3]} == "${p[3]}" ]] || { echo "bench: $label: results differ: plain+read ${f[3]}, plain ${p[3]}" >&2; exit 1; }
    floors+=("$(printf '%-11s %7s %7s %7s %7s %7s %7s' "$label" "${f[0]}" "${p[0]}" "${f[2]}" "${p[2]}" "$(ratio "${f[0]}" "${p[0]}")" "$(ratio "${f[2]}" "${p[2]}")")")
  fi
  row_later "$label: time (warm)" "${w[0]}" s "plain import" "${p[0]}" "<= 1.2x"
  row_later "$label: peak memory (warm)" "$((w[1] / 1024))" MB "plain import" "$((p[1] / 1024))" "<= 1.5x"
}

for n in "${widths[@]}"; do
  make_width "$tmp/width$n" "$n"
  report "width $n" "$tmp/width$n"
  make_width "$tmp/width$n-slash" "$n" " # a/b"
  report "width $n/" "$tmp/width$n-slash"
done

make_tree "$tmp/tree"
report "tree 5111" "$tmp/tree"

if ((floor)); then
  echo
  echo "# floor: plain import that also reads each file once (builtins.readFile), fastest of $runs runs"
  printf '%-11s %7s %7s %7s %7s %7s %7s\n' case "read s" "plain s" "readCPU" "plnCPU" "read/p" "cpu/p"
  printf '%s\n' "${floors[@]}"
fi

echo
rows_now
