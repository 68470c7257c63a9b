#!/usr/bin/env bash
# Whole-process timings of `clustergpt analyze` (release build), for BENCHMARKS.md.
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
RSS=$(mktemp)
trap 'rm -f "$RSS"' EXIT

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
