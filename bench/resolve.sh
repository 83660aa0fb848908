#!/usr/bin/env bash
# Benchmark: resolving a dependency graph of REPOS x ATOMS atoms (default 20 x 10 = 200) spread
# over REPOS repositories that each hold ATOMS x VERSIONS published versions (default 1,000),
# with `git atom resolve`, against the naive approach (one listing and one fetch per dependency),
# in the same run, over a real `git daemon` on loopback.
#
# Fixture (built in seconds, without running `git atom publish`): REPOS bare repositories
# `rNN.git`, every object written by Python into one pack per repository (indexed by
# `git index-pack`), refs written straight into `packed-refs`. Each has a linear source history:
# a root commit (a README naming the repository, so that every repository has its own root),
# then for each release i = 0 .. VERSIONS-1 one commit per atom, the last atom first, setting
# its `atom.toml` (version `1.<i>.0`), `mod.nix` and `atom.lock`; each atom commit is written
# from its own source commit exactly as docs/format.md section 4 specifies, referenced by
# `refs/atoms/<label>/<version>`, with `refs/atoms/_root`. A sample is checked with
# `git atom verify` (every check, provenance included).
#
# Locks: an atom's `atom.lock` is the one `git atom resolve` writes for it once everything up to
# its release is published (its whole closure, each atom's commit, tree, root and atomic number;
# see `closure` in the generator), so resolution's lock-guided prefetch is exercised. Atoms of
# releases below LOCK_FROM (default: the highest release the cap allows, VERSIONS*9/10-1) carry
# no lock: the graph's resolution never fetches them, and locks of up to 200 entries for all
# 20,000 atoms would be 700 MB. A lock names the commits of the atoms it needs, so the graph
# has no cycle: the repositories are built from the last to the first.
#
# Graph: atom `aK` of repository r depends on `aK+1` of r (`next`, requirement `^1`; not for the
# last atom) and on `aK` of repository r+1 (`peer`, requirement PEER_REQ, default
# `>=1.0, <1.<VERSIONS*9/10>`; not for the last repository). The app depends on `a0` of every
# repository with `^1`. Every atom of the repositories after the first is therefore asked for by
# two requirements (`^1`, which alone would pick the newest version, and PEER_REQ, which caps
# it), which the resolver unifies into one version of each: the closure is REPOS x ATOMS atoms.
#
# Measurement: the manifests name `git://127.0.0.1:<proxy port>/rNN.git`; a small TCP proxy
# (Python asyncio) in front of the daemon counts, per repository, the connections, the bytes
# sent to the client and the protocol v2 commands (`ls-refs`, `fetch`) the client sent.
#   atom cold: `git atom resolve` of the app with no lock and an empty cache (fresh XDG_CACHE_HOME)
#   atom warm: `git atom resolve` again, lock and cache present (lists, fetches nothing)
#   naive:     for each atom of the lock: `git ls-remote <url> 'refs/atoms/<label>/*'` and
#              `git fetch <url> refs/atoms/<label>/<version>` into one scratch repository (the
#              versions are the ones atom chose: the naive side is not charged for resolving)
# Times are wall seconds, the median of RUNS runs (default 1) of each, run alternately; counts
# are from the first run (the script checks that every run opens the same connections).
# "connected" is the time during which at least one connection was open (the rest is the
# client's own work: process start-up, checks, writing the cache).
#
# The servers allow filters (`uploadpack.allowFilter`, as GitHub and GitLab do), so resolution
# fetches only each atom's commit, root tree, manifest and lock; ALLOW_FILTER=0 serves whole atoms.
#
# Goal (issue 9): at most 2 connections per repository (cold). The headline rows are reported
# through bench/lib.sh (`row`).
#
# Usage: bench/resolve.sh     (env: REPOS=20 ATOMS=10 VERSIONS=100 RUNS=1 PEER_REQ=... LOCK_FROM=... ALLOW_FILTER=1
#                              ATOM_BIN=<dir with git-atom, git-remote-atom>, default target/release
#                              or target/release; KEEP=1 keeps the temporary directory)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
repos=${REPOS:-20}
atoms=${ATOMS:-10}
versions=${VERSIONS:-100}
runs=${RUNS:-1}
cap=$((versions * 9 / 10))
((cap >= 1)) || cap=1
peer_req=${PEER_REQ:->=1.0, <1.$cap}
# The versions below which atoms carry no lock (see the fixture); with a PEER_REQ of your own the
# locks assume it does not cap (as `^1`).
[[ -z ${PEER_REQ:-} ]] || cap=$((versions + 1))
lock_from=${LOCK_FROM:-$((cap - 1 < versions ? cap - 1 : versions - 1))}
bin=${ATOM_BIN:-$root/target/release}
[[ -x $bin/git-atom ]] || bin=$root/target/release
if [[ ! -x $bin/git-remote-atom || ! -x $bin/git-atom ]]; then
  (cd "$root" && cargo build --release -q -p git-remote-atom -p git-atom)
  bin=$root/target/release
fi
((repos >= 2)) || { echo "REPOS must be at least 2" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/resolve-bench.XXXXXX")
daemon_pid='' proxy_pid=''
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null
  wait 2>/dev/null
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/home"
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC PATH="$bin:$PATH"
git config --global user.name bench
git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
git config --global protocol.version 2

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)         # the proxy: the port every manifest names
daemon_port=$(free_port)  # the daemon behind it
[[ $port != "$daemon_port" ]] || daemon_port=$(free_port)
base="git://127.0.0.1:$port"

# --- fixture ----------------------------------------------------------------------------------
srv=$tmp/srv
mkdir -p "$srv"
t0=$(date +%s.%N)
python3 - "$srv" "$repos" "$atoms" "$versions" "$base" "$peer_req" "$cap" "$lock_from" "${ALLOW_FILTER:-1}" <<'EOF'
import base64, functools, hashlib, os, struct, subprocess, sys, zlib
srv, R, A, V, base, peer_req = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
cap, lock_from, allow_filter = int(sys.argv[7]), int(sys.argv[8]), sys.argv[9] == "1"

# --- BLAKE3 of inputs of at most 64 bytes (one chunk, one block): enough for atomic numbers.
IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
def rotr(x, n): return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF
def g(v, a, b, c, d, x, y):
    v[a] = (v[a] + v[b] + x) & 0xFFFFFFFF; v[d] = rotr(v[d] ^ v[a], 16)
    v[c] = (v[c] + v[d]) & 0xFFFFFFFF; v[b] = rotr(v[b] ^ v[c], 12)
    v[a] = (v[a] + v[b] + y) & 0xFFFFFFFF; v[d] = rotr(v[d] ^ v[a], 8)
    v[c] = (v[c] + v[d]) & 0xFFFFFFFF; v[b] = rotr(v[b] ^ v[c], 7)
def b3_small(key, data, mode):
    m = list(struct.unpack("<16I", data.ljust(64, b"\0")))
    v = list(key) + IV[:4] + [0, 0, len(data), 1 | 2 | 8 | mode]
    for _ in range(7):
        g(v, 0, 4, 8, 12, m[0], m[1]); g(v, 1, 5, 9, 13, m[2], m[3])
        g(v, 2, 6, 10, 14, m[4], m[5]); g(v, 3, 7, 11, 15, m[6], m[7])
        g(v, 0, 5, 10, 15, m[8], m[9]); g(v, 1, 6, 11, 12, m[10], m[11])
        g(v, 2, 7, 8, 13, m[12], m[13]); g(v, 3, 4, 9, 14, m[14], m[15])
        m = [m[i] for i in PERM]
    return struct.unpack("<8I", struct.pack("<8I", *[v[i] ^ v[i + 8] for i in range(8)]))
@functools.cache
def atom_id(root, label):  # docs/format.md: derive_key("AtomId", root bytes), keyed_hash(label)
    key = b3_small(b3_small(IV, b"AtomId", 32), bytes.fromhex(root), 64)
    return base64.b32hexencode(struct.pack("<8I", *b3_small(key, label.encode(), 16))).decode().lower().rstrip("=")
assert atom_id("4abbd2644bc3585e9be95deb277ccf48f6ed26ac", "nix-lock") == "r3rlam6bd31t9i04ggug7avs8vf8981q7a3b6gobemk1gfs50qm0"

# --- objects, written by hand into one pack per repository
class Pack:
    def __init__(self): self.entries, self.seen = [], set()
    def add(self, kind, body):
        oid = hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()
        if oid not in self.seen:
            self.seen.add(oid)
            size, head = len(body), []
            c = ({"commit": 1, "tree": 2, "blob": 3}[kind] << 4) | (size & 15); size >>= 4
            while size:
                head.append(c | 0x80); c = size & 0x7f; size >>= 7
            head.append(c)
            self.entries.append(bytes(head) + zlib.compress(body, 1))
        return oid
    def write(self, repo):
        data = b"PACK" + struct.pack(">II", 2, len(self.entries)) + b"".join(self.entries)
        subprocess.run(["git", "-C", repo, "index-pack", "--stdin"], input=data + hashlib.sha1(data).digest(),
                       check=True, capture_output=True)
def tree(pack, entries):  # entries: name -> (mode, oid); git sorts trees as if directories end in "/"
    key = lambda n: n + ("/" if entries[n][0] == "40000" else "")
    return pack.add("tree", b"".join(f"{entries[n][0]} {n}".encode() + b"\0" + bytes.fromhex(entries[n][1])
                                      for n in sorted(entries, key=key)))

def manifest(r, k, i):
    text = f'[atom]\nid = "a{k}"\nversion = "1.{i}.0"\n'
    if k + 1 < A:
        text += f'\n[deps.next]\nurl = "{base}/r{r:02d}.git"\nlabel = "a{k + 1}"\nversion = "^1"\n'
    if r + 1 < R:
        text += f'\n[deps.peer]\nurl = "{base}/r{r + 1:02d}.git"\nlabel = "a{k}"\nversion = "{peer_req}"\n'
    return text

# atoms[(r, k, i)] = (commit, tree); roots[r]; filled from the last repository to the first, so
# that every lock can name the atoms it locks.
atoms, roots = {}, {}
def closure(r, k, i):
    """The lock `git atom resolve` writes for aK of rNN at 1.i.0 once everything up to 1.i.0 is
    published: a(K+1..) of its own repository at 1.i.0 (`next`, ^1), and every aJ (J >= K) of the
    repositories after it at the highest version below the cap (`peer`, and the `next` chains
    of those, unified with it)."""
    m = min(i, cap - 1)
    keys = [(r, j, i) for j in range(k + 1, A)] + [(q, j, m) for q in range(r + 1, R) for j in range(k, A)]
    def requires(rr, kk, ii):
        out = {}
        if kk + 1 < A: out["next"] = (rr, kk + 1, ii if rr == r else m)
        if rr + 1 < R: out["peer"] = (rr + 1, kk, m)
        return out
    return requires(r, k, i), [(key, requires(*key)) for key in keys]
def lock_text(r, k, i):
    def key(a): return f'{atom_id(roots[a[0]], f"a{a[1]}")}@1.{a[2]}.0'
    top, entries = closure(r, k, i)
    out = "# This file is written by atom; do not edit it by hand.\nversion = 1\n"
    if top:
        out += "\n[requires]\n" + "".join(f'{n} = "{key(a)}"\n' for n, a in sorted(top.items()))
    for a, req in sorted(entries, key=lambda e: (e[0][1], e[0][2], atom_id(roots[e[0][0]], f"a{e[0][1]}"))):
        commit, tree_ = atoms[a]
        out += (f'\n[[atom]]\nlabel = "a{a[1]}"\nversion = "1.{a[2]}.0"\nid = "{atom_id(roots[a[0]], f"a{a[1]}")}"\n'
                f'root = "{roots[a[0]]}"\ncommit = "{commit}"\ntree = "{tree_}"\nurl = "{base}/r{a[0]:02d}.git"\n')
        if req:
            out += "requires = { " + ", ".join(f'{n} = "{key(b)}"' for n, b in sorted(req.items())) + " }\n"
    return out

def person(t): return f"bench <bench@example.invalid> {t} +0000"
for r in reversed(range(R)):
    repo = f"{srv}/r{r:02d}.git"
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    if allow_filter:  # as GitHub and GitLab do: partial fetches (`--filter`) are served
        subprocess.run(["git", "-C", repo, "config", "uploadpack.allowFilter", "true"], check=True)
    pack = Pack()
    readme = pack.add("blob", f"r{r:02d}\n".encode())
    top = {"README": ("100644", readme)}
    t = 1700000000
    head = pack.add("commit", f"tree {tree(pack, top)}\nauthor {person(t)}\ncommitter {person(t)}\n\nroot\n".encode())
    roots[r] = head
    refs = {"refs/atoms/_root": head}
    # Release 1.i.0 publishes every atom, the last first, each from its own source commit (an
    # atom's lock names the atom commits of the atoms it needs, which name their source commits).
    for i in range(V):
        for k in reversed(range(A)):
            files = {"atom.toml": ("100644", pack.add("blob", manifest(r, k, i).encode())),
                     "mod.nix": ("100644", pack.add("blob", f"{{ from, ... }}: {{ value = {i}; repo = {r}; atom = {k}; }}\n".encode()))}
            if i >= lock_from:
                files["atom.lock"] = ("100644", pack.add("blob", lock_text(r, k, i).encode()))
            sub = tree(pack, files)
            top[f"a{k}"] = ("40000", sub)
            t += 1
            head = pack.add("commit", (f"tree {tree(pack, top)}\nparent {head}\nauthor {person(t)}\ncommitter {person(t)}\n\n"
                                       f"a{k} 1.{i}.0\n").encode())
            body = (f"tree {sub}\nauthor atom <atom@invalid> 0 +0000\n"
                    f"committer atom <atom@invalid> 0 +0000\natom-format 1\n"
                    f"atom-source {head}\natom-path a{k}\n\natom: a{k}@1.{i}.0\n").encode()
            atoms[(r, k, i)] = (pack.add("commit", body), sub)
            refs[f"refs/atoms/a{k}/1.{i}.0"] = atoms[(r, k, i)][0]
    refs["refs/heads/main"] = head
    pack.write(repo)
    # The refs, straight into packed-refs (what `git update-ref --stdin` + `git pack-refs --all`
    # would write, without a lock file and a loose ref per ref).
    with open(f"{repo}/packed-refs", "w") as f:
        f.write("# pack-refs with: peeled fully-peeled sorted \n")
        for name in sorted(refs, key=lambda x: x.encode()):
            f.write(f"{refs[name]} {name}\n")
EOF
t1=$(date +%s.%N)
# The fixture is genuine: a sample of atoms passes `git atom verify` (every check of
# docs/format.md section 8, provenance included), in the first and the last repository.
last=$(printf 'r%02d.git' $((repos - 1)))
git -C "$srv/r00.git" atom verify a0@1.0.0 "a$((atoms - 1))@1.$((versions - 1)).0" "a$((atoms / 2))@1.$((versions / 2)).0" >"$tmp/verify" 2>&1 ||
  { cat "$tmp/verify" >&2; echo "fixture does not verify" >&2; exit 1; }
git -C "$srv/$last" atom verify a0 >>"$tmp/verify" 2>&1 ||
  { cat "$tmp/verify" >&2; echo "fixture does not verify" >&2; exit 1; }
verified=$(grep -c '^ok' "$tmp/verify")
nrefs=$(git -C "$srv/r00.git" for-each-ref refs/atoms/ | wc -l)

# --- the app ------------------------------------------------------------------------------------
app=$tmp/app
git init -q "$app"
mkdir -p "$app/app"
{
  printf '[atom]\nid = "app"\nversion = "0.1.0"\n'
  for ((r = 0; r < repos; r++)); do
    printf '\n[deps.r%02d]\nurl = "%s/r%02d.git"\nlabel = "a0"\nversion = "^1"\n' "$r" "$base" "$r"
  done
} >"$app/app/atom.toml"
git -C "$app" add -A
git -C "$app" commit -q -m app

# --- daemon and counting proxy ------------------------------------------------------------------
git daemon --reuseaddr --listen=127.0.0.1 --port="$daemon_port" --max-connections=0 \
  --base-path="$srv" --export-all "$srv" 2>"$tmp/daemon.log" &
daemon_pid=$!
cat >"$tmp/proxy.py" <<'EOF'
# Forwards 127.0.0.1:<port> to the daemon; per connection, appends to the log one line:
# "<repository> <bytes to client> <bytes from client> <ls-refs commands> <fetch commands>
#  <opened at> <closed at>" (Unix seconds).
import asyncio, re, sys, time
port, upstream, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

async def pipe(reader, writer, count, scan=None):
    tail = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            count[0] += len(chunk)
            if scan is not None:
                window = tail + chunk
                scan["ls-refs"] += window.count(b"command=ls-refs") - tail.count(b"command=ls-refs")
                scan["fetch"] += window.count(b"command=fetch") - tail.count(b"command=fetch")
                tail = window[-16:]
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass

async def handle(creader, cwriter):
    opened = time.time()
    with open(log + ".open", "a") as f:
        f.write("\n")
    head = await creader.readexactly(4)
    first = head + await creader.readexactly(int(head, 16) - 4)
    m = re.search(rb"/([^\x00 ]+?)(?:\.git)?\x00", first)
    repo = m.group(1).decode() if m else "?"
    sreader, swriter = await asyncio.open_connection("127.0.0.1", upstream)
    swriter.write(first)
    down, up = [0], [len(first)]
    scan = {"ls-refs": 0, "fetch": 0}
    await asyncio.gather(pipe(creader, swriter, up, scan), pipe(sreader, cwriter, down))
    with open(log, "a") as f:
        f.write(f"{repo} {down[0]} {up[0]} {scan['ls-refs']} {scan['fetch']} {opened:.6f} {time.time():.6f}\n")

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
EOF
: >"$tmp/conn.log"
: >"$tmp/conn.log.open"
python3 "$tmp/proxy.py" "$port" "$daemon_port" "$tmp/conn.log" &
proxy_pid=$!
for _ in $(seq 100); do
  git ls-remote "$base/r00.git" refs/atoms/_root >/dev/null 2>&1 && break
  sleep 0.1
done
git ls-remote "$base/r00.git" refs/atoms/_root >/dev/null

# --- measurements -------------------------------------------------------------------------------
# mark: the number of connection lines logged so far; the proxy logs a connection when it
# closes, so wait (up to 10 s) until it has logged as many as it accepted (conn.log.open).
mark() {
  local i
  for ((i = 0; i < 100; i++)); do
    (($(wc -l <"$tmp/conn.log") == $(wc -l <"$tmp/conn.log.open"))) && break
    sleep 0.1
  done
  wc -l <"$tmp/conn.log"
}
# slice <from> <to> <name>: the log lines of one measured run
slice() { sed -n "$(($1 + 1)),$2p" "$tmp/conn.log" >"$tmp/$3"; }
now() { date +%s.%N; }

atom_resolve() { # <cache dir>
  (cd "$app/app" && XDG_CACHE_HOME=$1 git atom resolve "${@:2}" 2>>"$tmp/resolve.err")
}
naive() { # <scratch repository>: one listing and one fetch per atom of the lock
  local url label version
  while read -r url label version; do
    git ls-remote "$url" "refs/atoms/$label/*" >/dev/null
    git -C "$1" fetch -q --no-tags --no-write-fetch-head "$url" "refs/atoms/$label/$version" 2>>"$tmp/naive.err"
  done <"$tmp/deps"
}

# seed_cache <cache dir> <n>: a cache holding n packs covered by one multi-pack-index (hard links
# of one pack of one blob). Workaround for a resolver bug: the cache is opened once, with gix's
# default number of index slots (the packs on disk at open x 1.1, at least 32), and every fetch
# admits one more pack, so a resolution that fetches more than that many times fails with "the
# object database has too few index slots". gix counts the n packs when it sizes its slots, then
# uses the multi-pack-index (one slot), which leaves about 1.1 n slots for new packs; git reads
# the multi-pack-index alone. The seed costs the resolver a little time: gix re-lists the pack
# directory on every miss. Sized for REPOS x (ATOMS + 2) fetches; doubled while too small.
seed_cache() {
  local git_dir=$1/atom/atoms.git name pack i
  git init -q --bare "$git_dir"
  name=$(printf 'atom bench seed\n' | git -C "$git_dir" hash-object -w --stdin)
  pack=$(echo "$name" | git -C "$git_dir" pack-objects -q "$git_dir/objects/pack/pack")
  rm -f "$git_dir/objects/${name:0:2}/${name:2}"
  for ((i = 1; i < $2; i++)); do
    ln "$git_dir/objects/pack/pack-$pack.pack" "$git_dir/objects/pack/pack-$(printf '%040x' "$i").pack"
    ln "$git_dir/objects/pack/pack-$pack.idx" "$git_dir/objects/pack/pack-$(printf '%040x' "$i").idx"
  done
  git -C "$git_dir" multi-pack-index write
}
# fetched_atoms <cache dir>: the atom commits in the cache
fetched_atoms() {
  git -C "$1/atom/index.git" cat-file --batch-all-objects --batch-check='%(objecttype)' | grep -c '^commit$' || true
}

# A first cold resolution without the workaround: if it fails on the slots, say so and seed.
# SEED_PACKS=<n> skips it and seeds n packs (0: never).
seed=${SEED_PACKS:-0}
unseeded=
if [[ -z ${SEED_PACKS:-} ]]; then
  rm -rf "$tmp/cache" "$app/app/atom.lock"
  a=$(mark); s=$(now)
  if atom_resolve "$tmp/cache"; then
    seed=0
  else
    e=$(now); b=$(mark); slice "$a" "$b" "failed"
    grep -q 'too few index slots' "$tmp/resolve.err" || { cat "$tmp/resolve.err" >&2; exit 1; }
    seed=$((repos * (atoms + 2) + 32))
    unseeded="$(wc -l <"$tmp/failed") connections ($(awk '{ n += $5 } END { print n }' "$tmp/failed") fetches), \
$(fetched_atoms "$tmp/cache") atoms fetched, $(printf '%.1f' "$(echo "$e - $s" | bc)") s, then: $(grep 'too few index slots' "$tmp/resolve.err" | tail -1)"
  fi
fi

declare -a t_cold t_warm t_naive
for ((run = 0; run < runs; run++)); do
  rm -rf "$tmp/cache" "$app/app/atom.lock" "$tmp/scratch.git"
  for ((try = 0; ; try++)); do
    rm -rf "$tmp/cache" "$app/app/atom.lock"
    ((seed == 0)) || seed_cache "$tmp/cache" "$seed"
    : >"$tmp/resolve.err"
    a=$(mark); s=$(now)
    atom_resolve "$tmp/cache" && break
    if ! { grep -q 'too few index slots' "$tmp/resolve.err" && ((try < 3)); }; then cat "$tmp/resolve.err" >&2; exit 1; fi
    seed=$((seed * 2))
  done
  e=$(now); b=$(mark); slice "$a" "$b" "cold.$run"
  ((run > 0)) || fetched=$(($(fetched_atoms "$tmp/cache")))
  t_cold+=("$(echo "$e - $s" | bc)")
  [[ -f $app/app/atom.lock ]] || { echo "no lock written" >&2; exit 1; }

  a=$(mark); s=$(now)
  atom_resolve "$tmp/cache" || { cat "$tmp/resolve.err" >&2; exit 1; }
  e=$(now); b=$(mark); slice "$a" "$b" "warm.$run"
  t_warm+=("$(echo "$e - $s" | bc)")

  if ((run == 0)); then
    python3 - "$app/app/atom.lock" >"$tmp/deps" <<'EOF'
import sys, tomllib
lock = tomllib.load(open(sys.argv[1], "rb"))
for a in lock["atom"]:
    print(a["url"], a["label"], a["version"])
EOF
    cp "$app/app/atom.lock" "$tmp/lock.first"
  fi
  cmp -s "$app/app/atom.lock" "$tmp/lock.first" || { echo "run $run wrote another lock" >&2; exit 1; }
  git init -q --bare "$tmp/scratch.git"
  a=$(mark); s=$(now)
  naive "$tmp/scratch.git"
  e=$(now); b=$(mark); slice "$a" "$b" "naive.$run"
  t_naive+=("$(echo "$e - $s" | bc)")
  for kind in cold warm naive; do
    cmp -s <(awk '{print $1, $4, $5}' "$tmp/$kind.0" | sort) <(awk '{print $1, $4, $5}' "$tmp/$kind.$run" | sort) ||
      echo "warning: run $run: $kind opened other connections than run 0" >&2
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }
natoms=$(wc -l <"$tmp/deps")
nversions=$(sort -u -k2,3 "$tmp/deps" | awk '{print $3}' | sort | uniq -c | awk '{printf "%s%s x %s", sep, $1, $2; sep=", "}')
load=$(cut -d' ' -f1-3 /proc/loadavg)

echo "# dependency resolution benchmark: $(git --version), $(nproc) cpus, $(uname -m), $(date -u +%Y-%m-%d), load average $load"
echo "# binaries: $bin ($(git atom --version 2>/dev/null | head -1))"
printf '# fixture: %d repositories x %d atoms x %d versions (%d refs under refs/atoms/ each), built in %.1f s; %d sampled atoms verified ok\n' \
  "$repos" "$atoms" "$versions" "$nrefs" "$(echo "$t1 - $t0" | bc)" "$verified"
echo "# servers allow filters (uploadpack.allowFilter): ${ALLOW_FILTER:-1}"
echo "# graph: app -> a0 of each repository (^1); aK -> aK+1 (^1) and aK of the next repository ($peer_req); atoms from 1.$lock_from.0 on carry their locks"
echo "# lock: $natoms atoms locked (versions: $nversions); the cold resolution fetched $fetched atoms; times: median of $runs runs"
if [[ -n $unseeded ]]; then
  echo "# atom cold, as is: FAILED after $unseeded"
  echo "# so every cold run below starts from a cache seeded with $seed packs under one multi-pack-index (see seed_cache)"
elif ((seed > 0)); then
  echo "# every cold run starts from a cache seeded with $seed packs under one multi-pack-index (SEED_PACKS)"
fi
python3 - "$tmp" "$repos" "$(median "${t_cold[@]}")" "$(median "${t_warm[@]}")" "$(median "${t_naive[@]}")" <<'EOF'
import sys
tmp, R = sys.argv[1], int(sys.argv[2])
times = dict(zip(["cold", "warm", "naive"], map(float, sys.argv[3:6])))
stats, busy = {}, {}
for kind in ["cold", "warm", "naive"]:
    per = {f"r{r:02d}": [0, 0, 0, 0, 0] for r in range(R)}
    spans = []
    for line in open(f"{tmp}/{kind}.0"):
        repo, down, up, ls, fe, t0, t1 = line.split()
        spans.append((float(t0), float(t1)))
        p = per.setdefault(repo, [0, 0, 0, 0, 0])
        p[0] += 1; p[1] += int(down); p[2] += int(up); p[3] += int(ls); p[4] += int(fe)
    stats[kind] = per
    # seconds during which at least one connection was open
    busy[kind], end = 0.0, 0.0
    for t0, t1 in sorted(spans):
        if t1 > end:
            busy[kind] += t1 - max(t0, end)
            end = t1
names = {"cold": "git atom resolve (cold)", "warm": "git atom resolve (warm)", "naive": "naive: ls-remote + fetch each"}
print(f"{'':32} {'connections':>11} {'per repo':>9} {'ls-refs':>8} {'fetches':>8} {'bytes received':>15} {'bytes sent':>11} {'seconds':>8} {'connected':>10}")
tot = {}
for kind in ["cold", "warm", "naive"]:
    per = stats[kind]
    c = sum(p[0] for p in per.values()); d = sum(p[1] for p in per.values()); u = sum(p[2] for p in per.values())
    ls = sum(p[3] for p in per.values()); fe = sum(p[4] for p in per.values())
    counts = sorted(p[0] for p in per.values())
    rng = f"{counts[0]}-{counts[-1]}" if counts[0] != counts[-1] else f"{counts[0]}"
    tot[kind] = (c, d, times[kind])
    print(f"{names[kind]:32} {c:>11,} {rng:>9} {ls:>8,} {fe:>8,} {d:>15,} {u:>11,} {times[kind]:>8.2f} {busy[kind]:>10.2f}")
nc, nd, nt = tot["naive"]
for kind in ["cold", "warm"]:
    c, d, t = tot[kind]
    print(f"ratios naive/atom {kind}: connections {nc / c:.1f}, bytes received {nd / d:.2f}, time {nt / t:.2f}")
worst = max(p[0] for p in stats["cold"].values())
print(f"goal (cold): <= 2 connections per repository: {'met' if worst <= 2 else 'MISSED'} (at most {worst} per repository)")
with open(f"{tmp}/headline", "w") as f:  # for the rows reported below (bench/lib.sh)
    naive_worst = max(p[0] for p in stats["naive"].values())
    f.write(f"{worst} {naive_worst} {tot['cold'][1]} {tot['naive'][1]} {tot['cold'][2]:.2f} {tot['warm'][2]:.2f} {tot['naive'][2]:.2f}\n")
print()
print("per repository: connections (ls-refs/fetch commands) and bytes received")
print(f"{'repo':6} {'cold':>12} {'cold bytes':>11} {'warm':>9} {'warm bytes':>11} {'naive':>12} {'naive bytes':>12}")
for repo in sorted(stats["cold"]):
    row = []
    for kind in ["cold", "warm", "naive"]:
        p = stats[kind].get(repo, [0] * 5)
        row.append((f"{p[0]} ({p[3]}/{p[4]})", p[1]))
    print(f"{repo:6} {row[0][0]:>12} {row[0][1]:>11,} {row[1][0]:>9} {row[1][1]:>11,} {row[2][0]:>12} {row[2][1]:>12,}")
EOF
read -r worst naive_worst cold_bytes naive_bytes cold_s warm_s naive_s <"$tmp/headline"
echo
graph="$repos repositories, $natoms atoms"
row "resolve $graph, cold: connections per repository (most)" "$worst" connections "naive: ls-remote + fetch each" "$naive_worst" "<= 2 connections"
row "resolve $graph, cold: bytes received" "$cold_bytes" bytes "naive: ls-remote + fetch each" "$naive_bytes" -
row "resolve $graph, cold: time" "$cold_s" s "naive: ls-remote + fetch each" "$naive_s" -
row "resolve $graph, warm: time" "$warm_s" s "naive: ls-remote + fetch each" "$naive_s" -
