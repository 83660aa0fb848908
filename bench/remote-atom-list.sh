#!/usr/bin/env bash
# Benchmark: listing one atom's versions on a remote with 100,000 refs, with
# `git ls-remote atom::<uri>` (one protocol v2 ls-refs with `ref-prefix refs/atoms/<label>/`),
# against plain `git ls-remote` of the same remote, in the same run, over a real `git daemon` on
# loopback.
#
# Fixture: a repository whose atom `foo` has VERSIONS published versions (default 10), plus REFS
# other refs (default 100,000 branches, written straight into packed-refs).
#
# "refs sent" and "bytes sent" are what the server's upload-pack wrote, from its packet trace
# (GIT_TRACE_PACKET, payload plus the 4-byte length of each packet) in a separate untimed run.
# Times are the median of RUNS runs (default 5) of wall time, client start to exit.
#
# No goal is stated for it; the headline rows are reported through bench/lib.sh (`row`).
#
# Usage: bench/remote-atom-list.sh       (env: REFS, VERSIONS, RUNS, ATOM_BIN=<dir with our binaries>)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
refs=${REFS:-100000}
versions=${VERSIONS:-10}
runs=${RUNS:-5}
bin=${ATOM_BIN:-$root/target/release}
if [[ ! -x $bin/git-remote-atom || ! -x $bin/git-atom ]]; then
  (cd "$root" && cargo build --release -q -p git-remote-atom -p git-atom)
  bin=$root/target/release
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/remote-atom-list-bench.XXXXXX")
daemon_pid=
cleanup() { [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/home"
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC PATH="$bin:$PATH"
git config --global user.name bench
git config --global user.email bench@example.invalid
git config --global init.defaultBranch main

# --- fixture ----------------------------------------------------------------------------------
src=$tmp/src
git init -q "$src"
mkdir -p "$src/pkgs/foo"
for ((i = 0; i < versions; i++)); do
  printf '[atom]\nid = "foo"\nversion = "1.%d.0"\n' "$i" >"$src/pkgs/foo/atom.toml"
  echo "{ Value = $i; }" >"$src/pkgs/foo/mod.nix"
  git -C "$src" add -A
  git -C "$src" commit -q -m "foo 1.$i.0"
  git -C "$src" atom publish --local pkgs/foo >/dev/null 2>&1
done
srv=$tmp/srv
mkdir -p "$srv"
git clone -q --mirror "$src" "$srv/big.git"
git -C "$srv/big.git" pack-refs --all
head=$(git -C "$srv/big.git" rev-parse main)
python3 - "$srv/big.git/packed-refs" "$refs" "$head" <<'EOF'
import sys
path, n, oid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l for l in open(path).read().splitlines() if l and not l.startswith("#")]
entries = {l.split(" ", 1)[1]: l for l in lines if not l.startswith("^")}
for i in range(n):
    name = f"refs/heads/branch-{i:06d}"
    entries[name] = f"{oid} {name}"
with open(path, "w") as f:
    f.write("# pack-refs with: peeled fully-peeled sorted \n")
    for name in sorted(entries):
        f.write(entries[name] + "\n")
EOF
total=$(git -C "$srv/big.git" for-each-ref | wc -l)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GIT_TRACE_PACKET="$tmp/trace" git daemon --reuseaddr --listen=127.0.0.1 --port="$port" \
  --base-path="$srv" --export-all "$srv" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  git ls-remote "git://127.0.0.1:$port/big.git" HEAD >/dev/null 2>&1 && break
  sleep 0.1
done
url="git://127.0.0.1:$port/big.git"

# --- measurements -------------------------------------------------------------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# measure <args...>: prints "median-seconds output-lines refs-sent bytes-sent"
measure() {
  local i times=() lines
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f %e -o "$tmp/time" git ls-remote "$@" >"$tmp/out" 2>"$tmp/err" ||
      { cat "$tmp/err" >&2; exit 1; }
    times+=("$(cat "$tmp/time")")
  done
  lines=$(wc -l <"$tmp/out")
  : >"$tmp/trace"
  git ls-remote "$@" >/dev/null
  sleep 0.2
  # upload-pack's packets: "packet: upload-pack> <payload>"; 0000/0001 are 4 bytes with no payload.
  awk '/packet: *upload-pack> / {
         sub(/.*packet: *upload-pack> /, "")
         n++; b += 4 + (($0 == "0000" || $0 == "0001" || $0 == "0002") ? 0 : length($0) + 1)
         split($0, f, " "); if (length(f[1]) == 40 && f[1] ~ /^[0-9a-f]+$/) r++
       } END { printf "%d %d\n", r, b }' "$tmp/trace" >"$tmp/sent"
  echo "$(printf '%s\n' "${times[@]}" | median) $lines $(cat "$tmp/sent")"
}

out=$(measure "$url")
read -r -a plain <<<"$out"
out=$(measure "atom::$url::foo@*")
read -r -a atom <<<"$out"

echo "# git-remote-atom listing benchmark: $(git --version), $(nproc) cpus, $(uname -m), $(date -u +%Y-%m-%d)"
echo "# remote: $total refs ($versions versions of atom foo), served by git daemon on loopback; median of $runs runs"
printf '%-36s %9s %12s %11s %12s\n' "" "seconds" "refs shown" "refs sent" "bytes sent"
printf '%-36s %9s %12s %11s %12s\n' "git ls-remote <url>" "${plain[0]}" "${plain[1]}" "${plain[2]}" "${plain[3]}"
printf '%-36s %9s %12s %11s %12s\n' "git ls-remote atom::<url>::foo@*" "${atom[0]}" "${atom[1]}" "${atom[2]}" "${atom[3]}"
awk -v pb="${plain[3]}" -v ab="${atom[3]}" -v pt="${plain[0]}" -v at="${atom[0]}" 'BEGIN {
  printf "ratios: atom/plain bytes %.6f (1/%.0f), atom/plain time %.2f\n", ab / pb, pb / ab, (pt > 0 ? at / pt : 0)
}'
row "list one atom's versions ($total refs): time" "${atom[0]}" s "git ls-remote <url>" "${plain[0]}" -
row "list one atom's versions ($total refs): bytes sent" "${atom[3]}" bytes "git ls-remote <url>" "${plain[3]}" -
