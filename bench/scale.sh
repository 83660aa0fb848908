#!/usr/bin/env bash
# Publish, list and verify at the scale of the largest monorepos, each against a plain-git
# baseline measured in the same run, on a generated repository of N atoms (`pkgs/p<i>`, each an
# `atom.toml` and a `mod.nix`, one commit, built with `git fast-import`) pushed to a bare remote
# on the same machine:
#
#   publish     `git atom publish --all` (every atom, one atomic push, local refs), against
#               `git push --atomic` of the same refs (`refs/atoms/*:refs/atoms/*`, one refspec:
#               a list of N refspecs on the command line is git's own E2BIG at 50,000).
#   ls          `git atom ls` against `git ls-remote . 'refs/atoms/*'` (the goal's baseline; also
#               shown against `git for-each-ref refs/atoms/`, one git process reading the same
#               file, which no two processes, `git` then `git-atom`, can match at small N), and
#               `git atom ls origin` against `git ls-remote origin 'refs/atoms/*'` (best of 5 each).
#   verify      `git atom verify` of every atom (goal: 10,000 under 5 s, 50,000 under 30 s).
#   clone       `git clone atom::<remote>::p0` (one atom) against `git clone --bare` of the
#               repository.
#   siblings    (with N = 1,000) 500 of the atoms depend on a sibling by path
#               (`[deps.d] path = "../p<j>"`, locks included): publish against the same push.
#
# Goals (issues 21 and 28): publish at most 1x the push, at every N; ls at most 1x its
# baseline; verify as above. The headline rows are reported through bench/lib.sh (`row`), after the
# table. Builds git-atom and git-remote-atom (release) unless GIT_ATOM and
# GIT_REMOTE_ATOM name binaries. Usage: bench/scale.sh [N...]   (default: 1000 10000 50000)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000 50000)
for tool in git python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done
target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z ${GIT_ATOM:-} || -z ${GIT_REMOTE_ATOM:-} ]]; then
  (cd "$root" && cargo build --quiet --release -p git-atom -p git-remote-atom)
  GIT_ATOM=$target/release/git-atom GIT_REMOTE_ATOM=$target/release/git-remote-atom
fi
GIT_ATOM=$(realpath "$GIT_ATOM") GIT_REMOTE_ATOM=$(realpath "$GIT_REMOTE_ATOM")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/atom-scale.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
ln -s "$GIT_ATOM" "$tmp/bin/git-atom"
ln -s "$GIT_REMOTE_ATOM" "$tmp/bin/git-remote-atom"
export PATH="$tmp/bin:$PATH" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$tmp/gitconfig" LC_ALL=C
git config --global user.name bench && git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
git config --global protocol.file.allow always

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
once() { # once <cmd...>: wall ms of one run (output discarded, must succeed)
  local s; s=$(date +%s%N); "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; ms "$s"
}
best() { # best <k> <cmd...>: the fastest of k runs, in ms
  local k=$1 b=; shift
  for _ in $(seq "$k"); do local t; t=$(once "$@"); [[ -z $b || $t -lt $b ]] && b=$t; done
  echo "$b"
}
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1)))" "$1" "$2"; }
verdict() { # verdict <value> <limit>: meets when value <= limit
  python3 -c "import sys; print('meets the goal' if float(sys.argv[1]) <= float(sys.argv[2]) else 'MISSES the goal')" "$1" "$2"
}
fixture() { # fixture <dir> <n> [siblings]: n atoms in one commit, by fast-import
  git init -q "$1"
  python3 - "$2" "${3:-0}" <<'PY' | git -C "$1" fast-import --quiet
import sys
n, siblings = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
files, mark = [], 0
for i in range(n):
    toml = f'[atom]\nid = "p{i}"\nversion = "0.1.0"\n'
    if i < siblings:
        toml += f'\n[deps.d]\npath = "../p{n - 1 - i}"\n'
    for name, body in (("atom.toml", toml), ("mod.nix", f"{{ N = {i}; }}\n")):
        mark += 1
        data = body.encode()
        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
        files.append((f"pkgs/p{i}/{name}", mark))
msg = b"atoms"
out.write(b"commit refs/heads/main\nauthor b <b@x> 1700000000 +0000\ncommitter b <b@x> 1700000000 +0000\n")
out.write(b"data %d\n%s\n" % (len(msg), msg))
for path, m in files:
    out.write(b"M 100644 :%d %s\n" % (m, path.encode()))
PY
  git -C "$1" reset -q --hard main
}
fresh_remote() { # fresh_remote <bare> <src>: an empty bare repository with the source branch
  rm -rf "$1" && git init -q --bare "$1" && git -C "$2" push -q "$1" main
}

rows=()
for n in "${sizes[@]}"; do
  echo "== N = $n" >&2
  d=$tmp/n$n src=$tmp/n$n/src
  mkdir -p "$d"
  s=$(date +%s%N); fixture "$src" "$n"; echo "   fixture: $(ms "$s") ms" >&2
  fresh_remote "$d/remote.git" "$src"
  git -C "$src" remote add origin "$d/remote.git"
  publish=$(cd "$src" && once git atom publish --all -q)
  published=$(git -C "$d/remote.git" for-each-ref refs/atoms/ | wc -l)
  [[ $published -eq $((n + 1)) ]] || { echo "bench: $published refs published, not $((n + 1))" >&2; exit 1; }
  # The baseline: the same refs (now local) pushed by git to another fresh remote.
  fresh_remote "$d/plain.git" "$src"
  push=$(once git -C "$src" push -q --atomic "$d/plain.git" 'refs/atoms/*:refs/atoms/*')
  echo "   publish $publish ms, push $push ms" >&2
  ls_local=$(cd "$src" && best 5 git atom ls)
  lsr_local=$(best 5 git -C "$src" ls-remote . 'refs/atoms/*')
  fer=$(best 5 git -C "$src" for-each-ref refs/atoms/)
  ls_remote=$(cd "$src" && best 5 git atom ls origin)
  lsr=$(best 5 git -C "$src" ls-remote origin 'refs/atoms/*')
  verify=$(cd "$src" && best 3 git atom verify)
  clone=$(cd "$d" && rm -rf one && once git clone -q "atom::$d/remote.git::p0" one)
  plain=$(cd "$d" && rm -rf bare.git && once git clone -q --bare "$d/remote.git" bare.git)
  echo "   ls $ls_local/$lsr_local/$fer ms, ls origin $ls_remote/$lsr ms, verify $verify ms, clone $clone/$plain ms" >&2
  verify_goal=$(python3 -c "print(5000 if $n <= 10000 else 30000)")
  rows+=("| $n | publish --all | $publish ms | push --atomic: $push ms | $(ratio "$publish" "$push") | $(verdict "$publish" "$push") |")
  rows+=("| $n | ls (local) | $ls_local ms | ls-remote .: $lsr_local ms | $(ratio "$ls_local" "$lsr_local") | $(verdict "$ls_local" "$lsr_local") |")
  rows+=("| $n | ls (local) | $ls_local ms | for-each-ref: $fer ms | $(ratio "$ls_local" "$fer") | - |")
  rows+=("| $n | ls origin | $ls_remote ms | ls-remote: $lsr ms | $(ratio "$ls_remote" "$lsr") | $(verdict "$ls_remote" "$lsr") |")
  rows+=("| $n | verify (all) | $verify ms | goal: $verify_goal ms | $(ratio "$verify" "$verify_goal") | $(verdict "$verify" "$verify_goal") |")
  rows+=("| $n | clone atom:: (one) | $clone ms | clone --bare: $plain ms | $(ratio "$clone" "$plain") | - |")
  row_later "$n atoms: publish --all" "$publish" ms "push --atomic" "$push" "<= 1x"
  row_later "$n atoms: ls (local)" "$ls_local" ms "ls-remote ." "$lsr_local" "<= 1x"
  row_later "$n atoms: ls (local), one-process baseline" "$ls_local" ms "for-each-ref" "$fer" -
  row_later "$n atoms: ls origin" "$ls_remote" ms "ls-remote" "$lsr" "<= 1x"
  row_later "$n atoms: verify (all)" "$verify" ms - - "< $((verify_goal / 1000)) s"
  row_later "$n atoms: clone atom:: (one)" "$clone" ms "clone --bare" "$plain" -
  rm -rf "$d"
done

if [[ " ${sizes[*]} " == *" 1000 "* ]]; then
  echo "== siblings: 1,000 atoms, 500 depending on a sibling by path" >&2
  d=$tmp/sib src=$tmp/sib/src
  mkdir -p "$d"
  fixture "$src" 1000 500
  # Lock each dependent (its sibling locked by tree), then commit the locks.
  for i in $(seq 0 499); do (cd "$src/pkgs/p$i" && git atom resolve >/dev/null 2>"$tmp/err") || { cat "$tmp/err" >&2; exit 1; }; done
  git -C "$src" add -A && git -C "$src" commit -qm locks
  locks=$(git -C "$src" ls-files 'pkgs/*/atom.lock' | wc -l)
  fresh_remote "$d/remote.git" "$src"
  git -C "$src" remote add origin "$d/remote.git"
  publish=$(cd "$src" && once git atom publish --all -q)
  fresh_remote "$d/plain.git" "$src"
  push=$(once git -C "$src" push -q --atomic "$d/plain.git" 'refs/atoms/*:refs/atoms/*')
  echo "   $locks locks; publish $publish ms, push $push ms" >&2
  rows+=("| 1000 (500 with a sibling, $locks locks) | publish --all | $publish ms | push --atomic: $push ms | $(ratio "$publish" "$push") | $(verdict "$publish" "$push") |")
  row_later "1000 atoms, 500 with a sibling: publish --all" "$publish" ms "push --atomic" "$push" "<= 1x"
fi

echo
echo "Machine: $(nproc) CPUs, $(uname -sr), $(git --version), $(date -u +%Y-%m-%d), commit $(git -C "$root" rev-parse --short HEAD)"
echo
echo "| atoms | command | time | baseline (same run) | ratio | goal |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
rows_now
