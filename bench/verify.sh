#!/usr/bin/env bash
# What `git atom verify` costs as the history grows, against `git merge-base --is-ancestor`
# (the baseline: git's own reachability check, which the ancestry level amounts to) measured in
# the same run on the same repositories.
#
# For each size N it builds, with `git fast-import`, a linear history of N commits whose root
# commit holds the atom `foo` at `pkgs/foo`, publishes `foo` from the tip, and times (best of
# $RUNS runs, wall clock):
#   - `git atom verify` with a commit graph (`git commit-graph write --reachable`),
#   - `git atom verify` without one,
#   - `git merge-base --is-ancestor <root> <tip>` with and without the commit graph.
# The three levels run each time (the history is present, so ancestry is checked).
#
# No goal is stated for it (the goal for verifying every atom is bench/scale.sh's); the headline
# rows are reported through bench/lib.sh (`row`).
#
# Usage: bench/verify.sh [N...]        (default: 10000 100000 1000000)
# Needs: git-atom on PATH (cargo build --release --bins; PATH=target/release:$PATH).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/atom-bench-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/gitconfig" LC_ALL=C TZ=UTC
printf '[user]\n\tname = bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"

command -v git-atom >/dev/null || { echo "git-atom is not on PATH" >&2; exit 1; }

# Prints the best wall-clock time of $RUNS runs of "$@", in milliseconds.
best_ms() {
    local best="" t0 t1 ms
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

# A fast-import stream: a root commit holding the atom, then N-1 commits changing `counter`.
stream() {
    awk -v n="$1" 'BEGIN {
        manifest = "[atom]\nid = \"foo\"\nversion = \"0.1.0\"\n"
        for (i = 1; i <= n; i++) {
            printf "commit refs/heads/main\nmark :%d\ncommitter bench <bench@example.com> %d +0000\ndata 2\n%d\n", i, 1000000000 + i, i % 10
            if (i == 1) {
                printf "M 100644 inline pkgs/foo/atom.toml\ndata %d\n%s\n", length(manifest), manifest
                printf "M 100644 inline pkgs/foo/mod.nix\ndata 4\n{ }\n\n"
            } else {
                printf "from :%d\n", i - 1
            }
            c = i ""
            printf "M 100644 inline counter\ndata %d\n%s\n\n", length(c), c
        }
    }'
}

printf '%-10s %14s %14s %16s %16s %8s\n' commits verify+graph verify-graph is-ancestor+graph is-ancestor-graph ratio
for n in "${sizes[@]}"; do
    repo="$work/r$n"
    git init -q "$repo"
    stream "$n" | git -C "$repo" fast-import --quiet
    git -C "$repo" checkout -q main
    git -C "$repo" atom publish --local -q >/dev/null
    git -C "$repo" commit-graph write --reachable
    root=$(git -C "$repo" rev-list --max-parents=0 HEAD)
    tip=$(git -C "$repo" rev-parse HEAD)
    # Sanity: what is timed verifies, at every level.
    git -C "$repo" atom verify 2>/dev/null | grep -q '^ok .*(structure, source, ancestry)$'
    with_graph=$(best_ms git -C "$repo" atom verify)
    base_graph=$(best_ms git -C "$repo" merge-base --is-ancestor "$root" "$tip")
    mv "$repo/.git/objects/info/commit-graph" "$work/graph"
    without_graph=$(best_ms git -C "$repo" atom verify)
    base_nograph=$(best_ms git -C "$repo" merge-base --is-ancestor "$root" "$tip")
    mv "$work/graph" "$repo/.git/objects/info/commit-graph"
    ratio=$(awk -v a="$with_graph" -v b="$base_graph" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf '%-10s %12sms %12sms %14sms %14sms %8s\n' "$n" "$with_graph" "$without_graph" "$base_graph" "$base_nograph" "$ratio"
    row_later "verify one atom, $n commits (commit graph)" "$with_graph" ms "merge-base --is-ancestor (graph)" "$base_graph" -
    row_later "verify one atom, $n commits (no commit graph)" "$without_graph" ms "merge-base --is-ancestor (no graph)" "$base_nograph" -
    rm -rf "$repo"
done
echo "(best of $RUNS runs; ratio = verify with graph / git merge-base --is-ancestor with graph)"
echo
rows_now
