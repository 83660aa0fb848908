#!/usr/bin/env bash
# Benchmarks of `git atom`, each against a plain-git baseline measured in the same run:
#
#   ls       `git atom ls <remote>` on a remote with 100,000 unrelated refs and 1,000 atoms x 3
#            versions, against `git ls-remote` of that remote: wall time (hyperfine median) and
#            bytes of ref advertisement the server sent (from upload-pack's packet trace).
#   publish  publishing 1,000 atoms from one commit to a local bare remote, against plain git
#            doing the same ref work (one atomic push of the same 1,000 refs and one local
#            update-ref transaction): wall time, processes started and connections
#            (receive-pack sessions) counted with strace.
#   verify   `git atom verify` of one atom in a repository with 10,000 commits of history,
#            against `git merge-base --is-ancestor <root> <source>` (the history walk alone).
#
# Goals (issues 21 and 28): `ls` at most 1x `git ls-remote`; publish at most 1x the plain push.
# The headline rows are reported through bench/lib.sh (`row`).
#
# Builds git-atom (release) unless GIT_ATOM=<binary> is given. Needs hyperfine and strace
# (Debian: hyperfine, strace).  Usage: bench/git-atom.sh [runs]   (default 10)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=${1:-10}
for tool in hyperfine strace git python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done
if [[ -z ${GIT_ATOM:-} ]]; then
  target=${CARGO_TARGET_DIR:-$root/target}
  (cd "$root" && cargo build --quiet --release -p git-atom)
  GIT_ATOM=$target/release/git-atom
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-atom-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
ln -s "$GIT_ATOM" "$tmp/bin/git-atom"
export PATH="$tmp/bin:$PATH" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$tmp/gitconfig"
git config --global user.name bench && git config --global user.email bench@example.invalid
git config --global init.defaultBranch main

median_ms() { # hyperfine JSON -> median in ms
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
advertised_bytes() { # bytes upload-pack wrote (pkt-line payload + 4-byte headers), from a packet trace
  python3 - "$1" <<'PY'
import re, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"packet: +upload-pack> (.*)$", line.rstrip("\n"))
    if m:
        payload = m.group(1)
        n += 4 + (0 if payload in ("0000", "0001", "0002") else len(payload.encode()) + 1)
print(n)
PY
}

echo "== fixtures (1,000 atoms in one commit)" >&2
src=$tmp/src
git init -q "$src"
python3 - "$src" <<'PY'
import os, sys
src = sys.argv[1]
for i in range(1000):
    d = os.path.join(src, "pkgs", f"a{i:04}")
    os.makedirs(d)
    open(os.path.join(d, "atom.toml"), "w").write(f'[atom]\nid = "a{i:04}"\nversion = "0.1.0"\n')
    open(os.path.join(d, "mod.nix"), "w").write(f"{{ N = {i}; }}\n")
PY
git -C "$src" add -A && git -C "$src" commit -qm "1000 atoms"

echo "== publish: 1,000 atoms, one commit, local bare remote" >&2
git init -q --bare "$tmp/remote.git"
git -C "$src" remote add origin "$tmp/remote.git"
git -C "$src" push -q origin main
start=$(date +%s%N)
(cd "$src" && strace -f -qq -e trace=execve -o "$tmp/publish.strace" git atom publish -q >/dev/null)
publish_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# Successful execve calls only (strace also logs the failed PATH lookups).
publish_procs=$(grep -c 'execve(.* = 0$' "$tmp/publish.strace" || true)
publish_conns=$(grep -cE 'execve\("[^"]*receive-pack".* = 0$' "$tmp/publish.strace" || true)
publish_pushes=$(grep -cE 'execve\(.*\["git", "push".* = 0$' "$tmp/publish.strace" || true)
# Timing without strace, on a fresh remote and fresh local refs each run.
hyperfine -N --runs "$runs" --export-json "$tmp/publish.json" \
  --prepare "sh -c 'rm -rf $tmp/r2.git && git init -q --bare $tmp/r2.git && git -C $src push -q $tmp/r2.git main && git -C $src for-each-ref --format=\"delete %(refname)\" refs/atoms/ | git -C $src update-ref --stdin'" \
  "sh -c 'cd $src && git atom publish -q --remote $tmp/r2.git >/dev/null'" >/dev/null 2>&1
publish_med=$(median_ms "$tmp/publish.json")
# Baseline: plain git doing the same ref work: one atomic push of the same 1,000 atom refs (the
# commits already exist locally, so git only packs and sends them), plus creating 1,000 local
# refs in one `git update-ref --stdin` transaction.
git -C "$src" for-each-ref --format='create refs/baseline/%(refname:lstrip=2) %(objectname)' refs/atoms/ >"$tmp/creates"
sed 's/^create /delete /; s/ [0-9a-f]*$//' "$tmp/creates" >"$tmp/deletes"
hyperfine -N --runs "$runs" --export-json "$tmp/push.json" \
  --prepare "sh -c 'rm -rf $tmp/r3.git && git init -q --bare $tmp/r3.git && git -C $src push -q $tmp/r3.git main && git -C $src update-ref --stdin <$tmp/deletes 2>/dev/null || true'" \
  "sh -c 'git -C $src push -q --atomic $tmp/r3.git refs/atoms/*:refs/atoms/* && git -C $src update-ref --stdin <$tmp/creates'" >/dev/null 2>&1
push_med=$(median_ms "$tmp/push.json")
rm -rf "$tmp/r3.git" && git init -q --bare "$tmp/r3.git" && git -C "$src" push -q "$tmp/r3.git" main
(cd "$src" && strace -f -qq -e trace=execve -o "$tmp/push.strace" git push -q --atomic "$tmp/r3.git" 'refs/atoms/*:refs/atoms/*')
push_procs=$(grep -c 'execve(.* = 0$' "$tmp/push.strace" || true)
git -C "$src" update-ref --stdin <"$tmp/deletes" 2>/dev/null || true

echo "== ls: 100,000 unrelated refs + 1,000 atoms x 3 versions" >&2
for v in 0.2.0 0.3.0; do
  sed -i "s/version = \"[^\"]*\"/version = \"$v\"/" "$src"/pkgs/*/atom.toml
  git -C "$src" commit -qam "bump to $v" && git -C "$src" push -q origin main
  (cd "$src" && git atom publish -q >/dev/null)
done
head=$(git -C "$src" rev-parse HEAD)
python3 - "$tmp/remote.git" "$head" <<'PY'
import os, sys
repo, head = sys.argv[1], sys.argv[2]
existing = open(os.path.join(repo, "packed-refs")).read().splitlines() if os.path.exists(os.path.join(repo, "packed-refs")) else []
refs = [l for l in existing if l and not l.startswith("#")]
refs += [f"{head} refs/heads/unrelated/{i:06}" for i in range(100_000)]
refs.sort(key=lambda l: l.split(" ", 1)[1])
with open(os.path.join(repo, "packed-refs"), "w") as f:
    f.write("# pack-refs with: peeled fully-peeled sorted \n")
    f.write("\n".join(refs) + "\n")
PY
git -C "$tmp/remote.git" pack-refs --all
total_refs=$(git -C "$tmp/remote.git" for-each-ref | wc -l)
hyperfine -N --warmup 2 --runs "$runs" --export-json "$tmp/ls.json" \
  "sh -c 'cd $src && git atom ls origin >/dev/null'" >/dev/null 2>&1
hyperfine -N --warmup 2 --runs "$runs" --export-json "$tmp/lsremote.json" \
  "git -C $src ls-remote origin" >/dev/null 2>&1
ls_med=$(median_ms "$tmp/ls.json")
lsremote_med=$(median_ms "$tmp/lsremote.json")
(cd "$src" && GIT_TRACE_PACKET="$tmp/ls.trace" git atom ls origin >"$tmp/ls.out")
(cd "$src" && GIT_TRACE_PACKET="$tmp/lsremote.trace" git ls-remote origin >/dev/null)
ls_bytes=$(advertised_bytes "$tmp/ls.trace")
lsremote_bytes=$(advertised_bytes "$tmp/lsremote.trace")
listed=$(($(wc -l <"$tmp/ls.out") - 1))

echo "== verify: one atom, 10,000 commits of history" >&2
hist=$tmp/hist
git init -q "$hist"
python3 - <<'PY' | git -C "$hist" fast-import --quiet
import sys
out = sys.stdout
for i in range(1, 10001):
    out.write("commit refs/heads/main\n")
    out.write(f"mark :{i}\n")
    out.write(f"committer bench <bench@example.invalid> {1700000000 + i} +0000\n")
    msg = f"commit {i}\n"
    out.write(f"data {len(msg)}\n{msg}")
    if i > 1:
        out.write(f"from :{i - 1}\n")
    body = f"line {i}\n"
    out.write(f"M 100644 inline history.txt\ndata {len(body)}\n{body}")
    if i == 10000:
        toml = '[atom]\nid = "deep"\nversion = "1.0.0"\n'
        out.write(f"M 100644 inline pkgs/deep/atom.toml\ndata {len(toml)}\n{toml}")
    out.write("\n")
PY
git -C "$hist" checkout -q main
(cd "$hist" && git atom publish -q --local >/dev/null)
rootc=$(git -C "$hist" rev-list --max-parents=0 HEAD)
hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/verify.json" \
  "sh -c 'cd $hist && git atom verify -q deep@1.0.0 >/dev/null'" >/dev/null 2>&1
hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/ancestor.json" \
  "git -C $hist merge-base --is-ancestor $rootc HEAD" >/dev/null 2>&1
verify_med=$(median_ms "$tmp/verify.json")
ancestor_med=$(median_ms "$tmp/ancestor.json")

cat <<REPORT

git-atom benchmark ($runs runs each, medians)

ls: remote with $total_refs refs ($listed atoms listed)
  git atom ls <remote>      ${ls_med} ms   ${ls_bytes} bytes advertised
  git ls-remote <remote>    ${lsremote_med} ms   ${lsremote_bytes} bytes advertised
  ratio                     time $(ratio "$ls_med" "$lsremote_med")   bytes $(ratio "$ls_bytes" "$lsremote_bytes")

publish: 1,000 atoms from one commit to a local bare remote
  git atom publish          ${publish_med} ms   (first run under strace: ${publish_ms} ms, ${publish_procs} processes, ${publish_pushes} git push, ${publish_conns} receive-pack connection)
  plain git, same refs      ${push_med} ms   (push --atomic of the 1,000 refs + update-ref of 1,000 local refs; the push alone: ${push_procs} processes)
  ratio                     $(ratio "$publish_med" "$push_med")

verify: one atom, 10,000 commits of history
  git atom verify           ${verify_med} ms
  git merge-base --is-ancestor root HEAD   ${ancestor_med} ms
  ratio                     $(ratio "$verify_med" "$ancestor_med")
REPORT

row "ls of a remote with $total_refs refs: time" "$ls_med" ms "git ls-remote" "$lsremote_med" "<= 1x"
row "ls of a remote with $total_refs refs: bytes advertised" "$ls_bytes" bytes "git ls-remote" "$lsremote_bytes" -
row "publish 1,000 atoms (one commit, local bare remote)" "$publish_med" ms "push --atomic + update-ref of the same refs" "$push_med" "<= 1x"
row "verify one atom, 10,000 commits" "$verify_med" ms "merge-base --is-ancestor root HEAD" "$ancestor_med" -
