#!/usr/bin/env bash
# Benchmark of plan records (issue 23): the first run of an already built atom with 50
# dependencies on an empty machine, three ways, measured in the same run:
#
#   fixture    5 repositories served by `git daemon` on loopback, each with 10 published atoms
#              (50 dependency atoms) and unrelated weight (a vendored directory of 200 files of
#              random text over 10 commits), as bench/eval-deps.sh builds them; `r1a0` also holds a
#              static busybox. An app atom, published in a sixth repository, depends on all 50
#              and has a package `hello` (built by that busybox) whose script prints the sum of
#              a value from each. Built once by `eka-run build --to`, which copies the outputs
#              into a binary cache and writes the signed plan record; a Python static file
#              server serves the cache on loopback.
#   record     `eka-run run <uri> hello` on an empty machine (a new HOME: empty user store, atom
#              cache and evaluation cache) whose Nix configuration has the cache as its
#              substituter and trusts its key: resolves the app, fetches its manifest and lock,
#              reads the record, substitutes the outputs, runs the program.
#   evaluate   the same with `--no-cache` (no record looked for): fetches the app and the 50
#              atoms, evaluates in the sandbox, substitutes the outputs, runs the program.
#   plain      `git clone` of the 6 repositories, then `nix-build` of the same package composed
#              from the clones with the same atom-nix, in an empty user store with the same
#              substituter (it substitutes the same output), then the program.
#
# Goal: record at least 5x faster than evaluate (`<= 0.2x`). Also the objects each path leaves
# in the atom caches (the record path admits nothing).
#
# Builds eka-run and git-atom (release) unless EKA_RUN / GIT_ATOM_BIN_DIR are given. Needs git
# (with git-daemon), Nix (nix-bin), busybox-static, python3 and hyperfine.
# Usage: bench/plan-record.sh [runs]    (default 10 runs of each timed case)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=${1:-10}

for tool in git hyperfine nix-instantiate nix-store python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done
busybox=$(command -v busybox || true)
[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q static ||
  busybox=/bin/busybox
[[ -x $busybox ]] || { echo "bench: a static busybox (busybox-static) is needed" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z ${EKA_RUN:-} ]]; then
  (cd "$root" && cargo build --quiet --release -p eka-run -p git-atom)
  EKA_RUN=$target/release/eka-run
fi
bin=${GIT_ATOM_BIN_DIR:-$(dirname "$EKA_RUN")}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plan-record-bench.XXXXXX")
daemon='' server=''
cleanup() {
  for pid in $daemon $server; do kill "$pid" 2>/dev/null || true; done
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A sealed environment: the benchmark's own HOME, git config and Nix configuration.
export HOME=$tmp/home XDG_CACHE_HOME=$tmp/home/.cache XDG_DATA_HOME=$tmp/xdg
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$tmp/home/.gitconfig
export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
export LC_ALL=C TZ=UTC PATH=$bin:$PATH
mkdir -p "$HOME" "$tmp/nix-conf" "$tmp/srv" "$tmp/www"
printf '[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"
: >"$tmp/nix-conf/nix.conf"
export NIX_CONF_DIR=$tmp/nix-conf NIX_USER_CONF_FILES=$tmp/nix-conf/nix.conf

free_port() { echo $((20000 + RANDOM % 20000)); }
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2
  exit 1
}
port=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$tmp/srv" --export-all \
  "$tmp/srv" 2>/dev/null &
daemon=$!
wait_port "$port"
url() { echo "git://127.0.0.1:$port/$1"; }
www_port=$(free_port)
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$www_port" 2>"$tmp/www.log" >/dev/null) &
server=$!
wait_port "$www_port"

echo "bench: building 5 repositories of 10 atoms each, and the app" >&2
deps_fixture "$tmp" "git://127.0.0.1:$port" "$busybox"

app=$tmp/src/app
git init -q "$app"
git init -q --bare "$tmp/srv/app.git"
git -C "$app" remote add origin "$tmp/srv/app.git"
mkdir -p "$app/app"
printf '[atom]\nid = "app"\nversion = "0.1.0"\n%s\n' "$deps" >"$app/app/atom.toml"
cat >"$app/app/mod.nix" <<'EOF'
let
  bb = from.r1a0.busybox;
  total = builtins.foldl' (n: d: n + d.value) 0 (builtins.attrValues from);
in
{
  Hello = builtins.derivation {
    name = "hello-0.1.0";
    system = config.system or builtins.currentSystem;
    builder = bb;
    args = [ "sh" "-c" "${bb} mkdir -p $out/bin && printf '#!%s sh\necho total %s\n' ${bb} ${toString total} > $out/bin/hello && ${bb} chmod +x $out/bin/hello" ];
  };
}
EOF
git -C "$app" add -A && git -C "$app" commit -q -m app
(cd "$app/app" && git atom resolve >/dev/null 2>&1)
git -C "$app" add -A && git -C "$app" commit -q -m lock && git -C "$app" push -q origin main
(cd "$app" && git atom publish >/dev/null 2>&1)
uri="$(url app.git)::app@^0.1"

# The producer: build once, copy into the cache, write the record.
"$EKA_RUN" nix-store --generate-binary-cache-key bench-cache-1 "$tmp/cache.sec" "$tmp/cache.pub"
"$EKA_RUN" build --to "$tmp/www/cache" --secret-key-file "$tmp/cache.sec" "$uri" hello >/dev/null 2>"$tmp/build.log" ||
  { cat "$tmp/build.log" >&2; exit 1; }
cache_url="http://127.0.0.1:$www_port/cache"
printf 'substituters = %s\ntrusted-public-keys = %s\n' "$cache_url" "$(cat "$tmp/cache.pub")" >"$tmp/consumer.conf"

# A machine of its own: an empty home (store, caches) with the consumer's Nix configuration.
fresh() {
  chmod -R u+w "$tmp/m" 2>/dev/null || true
  rm -rf "$tmp/m"
  mkdir -p "$tmp/m/home"
}
on_machine() {
  HOME=$tmp/m/home XDG_CACHE_HOME=$tmp/m/home/.cache XDG_DATA_HOME=$tmp/m/xdg \
    NIX_CONF_DIR=$tmp/m NIX_USER_CONF_FILES=$tmp/consumer.conf "$@"
}
record() { on_machine "$EKA_RUN" run "$uri" hello; }
evaluate() { on_machine "$EKA_RUN" run --no-cache "$uri" hello; }
# The baseline: full clones, the same atoms composed with the same atom-nix, nix-build in an
# empty user store (eka-run's run mode, as the other two build in) with the same substituter.
cat >"$tmp/plain.nix" <<'EOF'
{ clones, atomNix }:
let
  B = builtins;
  compose = import (/. + atomNix + "/compose.nix");
  config = { system = B.currentSystem; };
  dep = r: a: compose (/. + "${clones}/r${toString r}/r${toString r}a${toString a}") { inherit config; };
  from = B.listToAttrs (B.concatMap (r: map (a: { name = "r${toString r}a${toString a}"; value = dep r a; }) (B.genList (x: x) 10)) [ 1 2 3 4 5 ]);
in
(compose (/. + "${clones}/app/app") { inherit from config; }).hello
EOF
plain() {
  for r in 1 2 3 4 5 app; do
    [[ $r == app ]] && repo=app || repo=r$r
    git clone -q "$(url "$repo.git")" "$tmp/m/clones/$repo"
  done
  local built
  built=$(on_machine "$EKA_RUN" nix-build --no-out-link --argstr clones "$tmp/m/clones" \
    --argstr atomNix "$root/atom-nix" "$tmp/plain.nix" 2>"$tmp/m/plain.log") || { cat "$tmp/m/plain.log" >&2; return 1; }
  on_machine "$EKA_RUN" "$built/bin/hello"
}

# Correctness first: all three print the total, and each did what it is measured for.
fresh
[[ $(record 2>"$tmp/record.log") == "total $expected" ]] || { cat "$tmp/record.log" >&2; echo "bench: the record path disagrees" >&2; exit 1; }
objects() { find "$tmp/m/home/.cache/atom" -path '*.git/objects/*' -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1; }
record_objects=$(objects)
fresh
[[ $(on_machine "$EKA_RUN" -v run "$uri" hello 2>"$tmp/record.log") == "total $expected" ]] || exit 1
grep -q "outputs substituted from the plan record; nothing evaluated" "$tmp/record.log" ||
  { cat "$tmp/record.log" >&2; echo "bench: the record was not used" >&2; exit 1; }
fresh
[[ $(evaluate 2>"$tmp/evaluate.log") == "total $expected" ]] || { cat "$tmp/evaluate.log" >&2; echo "bench: the evaluate path disagrees" >&2; exit 1; }
evaluate_objects=$(objects)
grep -q "copying path.*hello-0.1.0.*from" "$tmp/evaluate.log" ||
  { cat "$tmp/evaluate.log" >&2; echo "bench: the evaluate path built instead of substituting" >&2; exit 1; }
fresh
[[ $(plain) == "total $expected" ]] || { echo "bench: plain nix-build disagrees" >&2; exit 1; }
plain_substituted=$(grep -c "copying path.*hello-0.1.0.*from" "$tmp/m/plain.log" || true)
clone_objects=$(du -sb "$tmp/m/clones" | cut -f1)

export EKA_RUN root tmp uri port www_port
export -f fresh on_machine record evaluate plain url
hf=(hyperfine --shell bash --style basic --runs "$runs" --warmup 1 --export-json)
"${hf[@]}" "$tmp/first.json" --prepare fresh \
  -n 'plan record (empty machine)' record \
  -n 'evaluate + substitute (empty machine)' evaluate \
  -n 'plain nix-build + substitute (full clones)' plain >&2

med() { perl -MJSON::PP -e 'my $j = decode_json(do { local $/; <STDIN> }); printf "%.1f", $j->{results}[$ARGV[0]]{median} * 1000' "$2" <"$1"; }
echo
echo "objects in the atom caches after the first run: record path $record_objects bytes (nothing admitted: the app's commit, tree, manifest and lock were read from a quarantine), evaluate path $evaluate_objects bytes (51 atoms), full clones $clone_objects bytes"
echo "plain nix-build substituted the output: $([[ $plain_substituted -gt 0 ]] && echo yes || echo "no (it built it)")"
echo "median times, ms: record $(med "$tmp/first.json" 0), evaluate + substitute $(med "$tmp/first.json" 1), plain nix-build + substitute $(med "$tmp/first.json" 2)"
echo
row "first run of a built atom, 50 deps: plan record" "$(med "$tmp/first.json" 0)" ms "evaluate + substitute (same machine state)" "$(med "$tmp/first.json" 1)" "<= 0.2x"
row "first run of a built atom, 50 deps: plan record" "$(med "$tmp/first.json" 0)" ms "plain nix-build + substitute over full clones" "$(med "$tmp/first.json" 2)" -
row "atom objects kept by the record path" "$record_objects" bytes "the evaluate path's" "$evaluate_objects" -
