# shellcheck shell=bash
# One way for every script in bench/ to report a headline result (sourced, not run).
#
#   row <case> <ours> <unit> <baseline> <baseline value> <goal>
#
# <ours> and <baseline value> are numbers in <unit> (ms, s, bytes, MB, ...); <baseline> names
# what was measured beside ours in the same run, and is `-` (value `-`) when there is none.
# <goal> is `-` (none), or one or more limits joined by ` and `:
#   `<= 1.1x`, `< 0.5x`   a limit on the ratio ours / baseline
#   `< 3%`                the same ratio, as a percentage
#   `< 5 s`, `<= 2 conns` a limit on ours itself, in <unit> (ms and s convert into each other)
# `row` prints one line for a person on stdout, ending in "meets the goal" or "MISSES the
# goal", and when BENCH_ROWS names a file it appends the same result to it as one line of
# tab-separated fields (what bench/run collects):
#   benchmark  case  ours  unit  baseline  baseline-value  ratio  goal  met
# where benchmark is the script's name without `.sh` (BENCH_NAME overrides it), ratio is `-`
# without a baseline, and met is `met`, `MISSES`, `-` (no goal) or `n/a` (a goal on the ratio
# with a baseline of 0).
#
# `row_later` takes the same arguments and keeps the row; `rows_now` reports the kept rows, for a
# script that prints a table of its own first.

bench_name=${BENCH_NAME:-$(basename "$0" .sh)}
bench_later=()

# bench_ratio <ours> <baseline value>: ours / baseline, or `-`
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^[0-9.eE+-]+$/ || b !~ /^[0-9.eE+-]+$/ || b + 0 == 0) { print "-"; exit }
    r = a / b
    printf (r >= 0.1 ? "%.2f\n" : "%.3g\n"), r
  }'
}

# bench_met <ours> <ratio> <unit> <goal>: met, MISSES or - (exits 2 on a goal it cannot read)
bench_met() {
  awk -v ours="$1" -v ratio="$2" -v unit="$3" -v goal="$4" 'BEGIN {
    if (goal == "-" || goal == "") { print "-"; exit }
    n = split(goal, clause, / and /)
    met = 1
    for (i = 1; i <= n; i++) {
      c = clause[i]
      if (!match(c, /^ *(<=|<|>=|>) *[0-9.]+ *[^ ]*$/)) { print "bench: cannot read goal `" goal "`" > "/dev/stderr"; exit 2 }
      op = c; sub(/^ */, "", op); sub(/[ 0-9.].*$/, "", op)
      lim = c; sub(/^ *(<=|<|>=|>) */, "", lim); suf = lim; sub(/[^0-9.].*$/, "", lim); sub(/^[0-9.]+ */, "", suf)
      if (suf == "x" || suf == "%") {
        if (ratio == "-") { print "n/a"; exit }  # no ratio (a baseline of 0): cannot tell
        v = ratio; if (suf == "%") lim = lim / 100
      } else {
        v = ours
        if (suf == "s" && unit == "ms") lim = lim * 1000
        else if (suf == "ms" && unit == "s") lim = lim / 1000
        else if (suf != unit) { print "bench: goal `" goal "` is not in " unit > "/dev/stderr"; exit 2 }
      }
      v += 0; lim += 0  # numbers, not strings: awk compares strings as strings
      ok = (op == "<=" ? v <= lim : op == "<" ? v < lim : op == ">=" ? v >= lim : v > lim)
      if (!ok) met = 0
    }
    print (met ? "met" : "MISSES")
  }'
}

row() {
  (($# == 6)) || { echo "row: 6 arguments expected (case ours unit baseline value goal), got $#" >&2; return 2; }
  local case=$1 ours=$2 unit=$3 base=$4 bval=$5 goal=$6 ratio met line
  ratio=$(bench_ratio "$ours" "$bval")
  met=$(bench_met "$ours" "$ratio" "$unit" "$goal")
  line="$case: $ours $unit"
  [[ $base == - ]] || line+=", $base $bval $unit, ratio ${ratio}x"
  case $met in
    met) line+=", goal $goal: meets the goal" ;;
    MISSES) line+=", goal $goal: MISSES the goal" ;;
  esac
  echo "result: $line"
  if [[ -n ${BENCH_ROWS:-} ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$bench_name" "$case" "$ours" "$unit" "$base" "$bval" "$ratio" "$goal" "$met" >>"$BENCH_ROWS"
  fi
}

row_later() {
  (($# == 6)) || { echo "row_later: 6 arguments expected, got $#" >&2; return 2; }
  local IFS=$'\t'
  bench_later+=("$*")
}

rows_now() {
  local r fields
  for r in ${bench_later[@]+"${bench_later[@]}"}; do
    IFS=$'\t' read -r -a fields <<<"$r"
    row "${fields[@]}"
  done
  bench_later=()
}

# deps_fixture <tmp> <url-base> [busybox]: the 50-dependency fixture of eval-deps.sh and
# plan-record.sh. Five working trees $tmp/src/r<r>, each pushed to the bare $tmp/srv/r<r>.git
# and published: 10 atoms `r<r>a<a>` (`Value = <r*10+a>`) and unrelated weight (a vendored
# directory of 200 files of random text over 10 commits). With a busybox, `r1a0` also holds it
# as `bin/busybox` and says `Busybox = "${mod}/bin/busybox"`. Sets `deps` to the `[deps.*]`
# tables of all 50 (URLs `<url-base>/r<r>.git`) and `expected` to the sum of the values.
deps_fixture() {
  local tmp=$1 base=$2 busybox=${3:-} r a c f repo label
  deps="" expected=0
  for r in $(seq 1 5); do
    repo=$tmp/src/r$r
    git init -q "$repo"
    git init -q --bare "$tmp/srv/r$r.git"
    git -C "$repo" remote add origin "$tmp/srv/r$r.git"
    mkdir -p "$repo/vendor"
    for c in $(seq 1 10); do
      for f in $(seq 1 200); do
        head -c 600 /dev/urandom | base64 -w 76 >"$repo/vendor/f$f.txt"
      done
      git -C "$repo" add -A
      git -C "$repo" commit -q -m "vendor $c"
    done
    for a in $(seq 0 9); do
      label=r${r}a$a
      mkdir -p "$repo/$label"
      printf '[atom]\nid = "%s"\nversion = "1.0.0"\n' "$label" >"$repo/$label/atom.toml"
      if [[ -n $busybox && $label == r1a0 ]]; then
        mkdir -p "$repo/$label/bin" && cp "$busybox" "$repo/$label/bin/busybox"
        # shellcheck disable=SC2016 # ${mod} is Nix's
        printf '{\n  Value = %d;\n  Busybox = "${mod}/bin/busybox";\n}\n' $((r * 10 + a)) >"$repo/$label/mod.nix"
      else
        printf '{\n  Value = %d;\n  Name = "%s";\n}\n' $((r * 10 + a)) "$label" >"$repo/$label/mod.nix"
      fi
      deps+=$(printf '\n[deps.%s]\nurl = "%s"\nversion = "1"\n' "$label" "$base/r$r.git")
      expected=$((expected + r * 10 + a))
    done
    git -C "$repo" add -A
    git -C "$repo" commit -q -m atoms
    git -C "$repo" push -q origin main
    (cd "$repo" && git atom publish >/dev/null 2>&1)
  done
}
