#!/usr/bin/env bash
# Benchmark: cloning one atom out of a monorepo with `git clone atom::<uri>`, against a full
# `git clone` of the same repository and against the size of the atom's own objects, all in the
# same run, over a real `git daemon` on loopback.
#
# Fixture (built here with git fast-import): a monorepo of ATOMS atoms (default 1,000), each a
# directory pkgs/atom-NNNN with atom.toml, mod.nix and a ~2 KB data file, plus COMMITS commits of
# history (default 300) that each rewrite the data of 10 atoms and a shared log file. Every atom
# is then published at HEAD with `git atom publish`.
#
# "pack bytes" is the size of the pack the client received and kept (the clone keeps packs as
# received; the helper's quarantine keeps even one-object packs); "own objects" is a pack made
# with `git pack-objects` of exactly the atom's commit, tree and blobs in the source repository.
# Times are the median of RUNS runs (default 5) of wall time.
#
# No goal is stated for it; the headline rows are reported through bench/lib.sh (`row`).
#
# Usage: bench/remote-atom.sh            (env: ATOMS, COMMITS, RUNS, ATOM_BIN=<dir with our binaries>)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
atoms=${ATOMS:-1000}
commits=${COMMITS:-300}
runs=${RUNS:-5}
bin=${ATOM_BIN:-$root/target/release}
if [[ ! -x $bin/git-remote-atom || ! -x $bin/git-atom ]]; then
  (cd "$root" && cargo build --release -q -p git-remote-atom -p git-atom)
  bin=$root/target/release
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/remote-atom-bench.XXXXXX")
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
python3 - "$atoms" "$commits" >"$tmp/stream" <<'EOF'
import random, sys
atoms, commits = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(42)
out = sys.stdout.buffer
def blob(data):
    out.write(b"data %d\n" % len(data)); out.write(data); out.write(b"\n")
def data(i, rev):
    return ("".join(f"atom {i} revision {rev} line {n} {rng.getrandbits(64):016x}\n" for n in range(40))).encode()
for c in range(commits):
    out.write(b"commit refs/heads/main\n")
    out.write(b"committer bench <bench@example.invalid> %d +0000\n" % (1700000000 + c))
    msg = b"commit %d\n" % c
    out.write(b"data %d\n" % len(msg)); out.write(msg)
    if c == 0:
        touched = range(atoms)
        for i in touched:
            d = f"pkgs/atom-{i:04d}"
            out.write(f"M 100644 inline {d}/atom.toml\n".encode())
            blob(f'[atom]\nid = "atom-{i:04d}"\nversion = "1.0.0"\n'.encode())
            out.write(f"M 100644 inline {d}/mod.nix\n".encode())
            blob(f"{{ Value = {i}; }}\n".encode())
    else:
        touched = rng.sample(range(atoms), 10)
    for i in touched:
        out.write(f"M 100644 inline pkgs/atom-{i:04d}/data.txt\n".encode())
        blob(data(i, c))
    out.write(b"M 100644 inline LOG\n")
    blob(b"".join(f"{k} {rng.getrandbits(128):032x}\n".encode() for k in range(c + 1)))
EOF
git -C "$src" fast-import --quiet <"$tmp/stream"
git -C "$src" reset -q --hard main
git -C "$src" atom publish --local -q >/dev/null 2>&1 || git -C "$src" atom publish --local >/dev/null
git -C "$src" gc -q --aggressive --prune=now
srv=$tmp/srv
mkdir -p "$srv"
git clone -q --mirror "$src" "$srv/mono.git"
git -C "$srv/mono.git" gc -q --prune=now
published=$(git -C "$srv/mono.git" for-each-ref 'refs/atoms/' | wc -l)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$srv" --export-all "$srv" \
  2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  git ls-remote "git://127.0.0.1:$port/mono.git" HEAD >/dev/null 2>&1 && break
  sleep 0.1
done
url="git://127.0.0.1:$port/mono.git"
label=$(printf "atom-%04d" $((atoms / 2)))

# --- measurements -------------------------------------------------------------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
pack_bytes() { find "$1" -path '*/objects/pack/*.pack' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
# time_clone <dir-prefix> <args...>: prints "median-seconds pack-bytes objects"
time_clone() {
  local prefix=$1 i times=() dir
  shift
  for ((i = 0; i < runs; i++)); do
    dir="$tmp/$prefix-$i"
    /usr/bin/time -f %e -o "$tmp/time" git clone -q "$@" "$dir" >/dev/null 2>"$tmp/clone.err" ||
      { cat "$tmp/clone.err" >&2; exit 1; }
    times+=("$(cat "$tmp/time")")
  done
  dir="$tmp/$prefix-0"
  echo "$(printf '%s\n' "${times[@]}" | median) $(pack_bytes "$dir") $(git -C "$dir" rev-list --objects --all | wc -l)"
  for ((i = 0; i < runs; i++)); do rm -rf "$tmp/$prefix-$i"; done
}

out=$(time_clone full --no-checkout "$url")
read -r -a full <<<"$out"
out=$(time_clone atom "atom::$url::$label")
read -r -a atom <<<"$out"
# received_bytes <args...>: every byte the server sent during one untimed clone, counted by a
# TCP proxy in front of the daemon: for the atom clone, the listing, the admitted pack, and the
# provenance check's fetch of the source commit and the trees along the atom's path (thrown away).
proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$proxy_port" "$port" "$tmp/sent" <<'EOF_PROXY' &
import socket, sys, threading
listen, target, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
def pipe(a, b, count):
    n = 0
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d); n += len(d)
    except OSError: pass
    finally:
        try: b.shutdown(socket.SHUT_WR)
        except OSError: pass
    if count:
        with lock, open(out, "a") as f: f.write(f"{n}\n")
def serve(c):
    s = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(c, s, False), daemon=True).start()
    pipe(s, c, True)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(64)
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF_PROXY
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
  git ls-remote "git://127.0.0.1:$proxy_port/mono.git" HEAD >/dev/null 2>&1 && break
  sleep 0.1
done
received_bytes() {
  rm -rf "$tmp/traced" "$tmp/sent"
  git clone -q "$@" "$tmp/traced" >/dev/null 2>&1
  awk '{ s += $1 } END { print s + 0 }' "$tmp/sent"
  rm -rf "$tmp/traced"
}
proxied="git://127.0.0.1:$proxy_port/mono.git"
full_received=$(received_bytes --no-checkout "$proxied")
atom_received=$(received_bytes "atom::$proxied::$label")
# The same with filters allowed on the server (uploadpack.allowFilter): the provenance fetch gets
# the source commit and its trees down to the atom's depth, no blob.
git -C "$srv/mono.git" config uploadpack.allowFilter true
atom_received_filtered=$(received_bytes "atom::$proxied::$label")
git -C "$srv/mono.git" config --unset uploadpack.allowFilter
own_ref=$(git -C "$src" for-each-ref --format='%(refname)' "refs/atoms/$label/")
own_objects=$(git -C "$src" rev-list --objects --no-object-names "$own_ref" | wc -l)
own_bytes=$(git -C "$src" rev-list --objects --no-object-names "$own_ref" |
  git -C "$src" pack-objects --stdout -q | wc -c)
history=$(git -C "$src" rev-list --count main)
repo_objects=$(git -C "$src" rev-list --objects --all | wc -l)

echo "# git-remote-atom clone benchmark: $(git --version), $(nproc) cpus, $(uname -m), $(date -u +%Y-%m-%d)"
echo "# fixture: $atoms atoms ($published published refs), $history commits, $repo_objects objects; served by git daemon on loopback"
echo "# cloning $label; median of $runs runs"
printf '%-34s %10s %14s %9s %14s\n' "" "seconds" "pack bytes" "objects" "received"
printf '%-34s %10s %14s %9s %14s\n' "git clone (full repository)" "${full[0]}" "${full[1]}" "${full[2]}" "$full_received"
printf '%-34s %10s %14s %9s %14s\n' "git clone atom::...::$label" "${atom[0]}" "${atom[1]}" "${atom[2]}" "$atom_received"
printf '%-34s %10s %14s %9s %14s\n' "  ... server allows filters" "-" "-" "-" "$atom_received_filtered"
printf '%-34s %10s %14s %9s %14s\n' "the atom's own objects, packed" "-" "$own_bytes" "$own_objects" "-"
awk -v fb="${full[1]}" -v ab="${atom[1]}" -v ob="$own_bytes" -v ft="${full[0]}" -v at="${atom[0]}" 'BEGIN {
  printf "ratios: atom/full bytes %.5f (1/%.0f), atom/own bytes %.2f, atom/full time %.2f\n",
    ab / fb, fb / ab, ab / ob, (ft > 0 ? at / ft : 0)
}'
row "clone one atom of $atoms: pack bytes" "${atom[1]}" bytes "git clone (full)" "${full[1]}" -
row "clone one atom of $atoms: pack bytes vs its own objects" "${atom[1]}" bytes "the atom's own objects, packed" "$own_bytes" -
row "clone one atom of $atoms: bytes received" "$atom_received" bytes "git clone (full)" "$full_received" -
row "clone one atom of $atoms: bytes received (server allows filters)" "$atom_received_filtered" bytes "git clone (full)" "$full_received" -
row "clone one atom of $atoms: time" "${atom[0]}" s "git clone (full)" "${full[0]}" -
