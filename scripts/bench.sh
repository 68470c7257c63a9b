#!/usr/bin/env bash
# Whole-process timings of `clustergpt analyze` and `clustergpt fix` (release build), for BENCHMARKS.md.
# Usage: scripts/bench.sh     (the corpus rows need ../shared/corpus/real or $CLUSTERGPT_CORPUS)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin clustergpt
BIN=${CARGO_TARGET_DIR:-target}/release/clustergpt
GEN=${CARGO_TARGET_DIR:-target}/generated-50k
CORPUS=${CLUSTERGPT_CORPUS:-../shared/corpus}/real
if [ ! -d "$GEN" ]; then
  cargo bench --locked --bench core -- write-generated "$GEN" 50000 >/dev/null
fi
# `kind: List` documents as kubectl prints them (scripts/gen_list.py).
LISTS=${CARGO_TARGET_DIR:-target}/generated-lists
mkdir -p "$LISTS"
list() { [ -f "$LISTS/$4" ] || python3 scripts/gen_list.py "$1" "$2" "$3" >"$LISTS/$4"; }
list pod 300 json pods-300.json
list deployment 400 json deployments-400.json
list pod 10000 json pods-10000.json
list pod 10000 yaml pods-10000.yaml
list pod 24000 line pods-24000-line.json
list pod 100 line pods-100-line.json
RSS=$(mktemp)
WORK=$(mktemp -d)
trap 'rm -rf "$RSS" "$WORK"' EXIT

measure() {
  local label=$1; shift
  # Best of 5 wall-clock runs; peak RSS from GNU time on a sixth.
  local best=""
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s.%N); "$BIN" "$@" --color never >/dev/null 2>&1 || true; e=$(date +%s.%N)
    best=$(python3 -c "b='$best'; t=$e-$s; print(t if not b or t<float(b) else b)")
  done
  /usr/bin/time -o "$RSS" -f '%M' "$BIN" "$@" --color never >/dev/null 2>&1 || true
  printf '%-58s %7.3f s   peak RSS %7.1f MB\n' "$label" "$best" "$(python3 -c "print($(tail -1 "$RSS")/1024)")"
}

if [ -d "$CORPUS" ]; then
  measure "analyze corpus/real (default rules, terminal)" analyze "$CORPUS"
  measure "analyze corpus/real (all rules, json with fixes)" analyze "$CORPUS" --select all --format json=/dev/null
fi
measure "analyze 50,000 generated objects (default rules)" analyze "$GEN"
measure "analyze 50,000 generated objects (all rules)" analyze "$GEN" --select all
measure "analyze 50,000 generated objects (default, json with fixes)" analyze "$GEN" --format json=/dev/null
for f in pods-300.json deployments-400.json pods-10000.json pods-10000.yaml pods-24000-line.json; do
  measure "analyze $f ($(du -h "$LISTS/$f" | cut -f1), json with fixes)" analyze "$LISTS/$f" --format json=/dev/null
done
"$BIN" analyze "$LISTS/pods-100-line.json" --format json="$WORK/out.json" >/dev/null 2>&1 || true
printf '%-58s %7s bytes\n' "json output of pods-100-line.json" "$(wc -c <"$WORK/out.json")"

# `fix --write --unsafe` on a fresh copy of the corpus for every run (the copy is not timed).
measure_fix() {
  local label=$1 src=$2 best="" s e
  for _ in 1 2 3; do
    rm -rf "$WORK/fix"; cp -r "$src" "$WORK/fix"
    s=$(date +%s.%N); "$BIN" fix "$WORK/fix" --write --unsafe >/dev/null 2>"$WORK/fix.err" || true; e=$(date +%s.%N)
    best=$(python3 -c "b='$best'; t=$e-$s; print(t if not b or t<float(b) else b)")
  done
  rm -rf "$WORK/fix"; cp -r "$src" "$WORK/fix"
  /usr/bin/time -o "$RSS" -f '%M' "$BIN" fix "$WORK/fix" --write --unsafe >/dev/null 2>&1 || true
  printf '%-58s %7.3f s   peak RSS %7.1f MB\n' "$label" "$best" "$(python3 -c "print($(tail -1 "$RSS")/1024)")"
  echo "  $(tail -1 "$WORK/fix.err")"
}
if [ -d "$CORPUS" ]; then
  measure_fix "fix --write --unsafe on a copy of corpus/real" "$CORPUS"
fi
