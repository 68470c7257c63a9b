#!/usr/bin/env bash
# Whole-process timings of `clustergpt analyze` (release build), for BENCHMARKS.md.
# Usage: scripts/bench.sh            (needs ../shared/corpus/real for the corpus row)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin clustergpt --bench core 2>/dev/null || cargo build --release --locked --bin clustergpt
BIN=${CARGO_TARGET_DIR:-target}/release/clustergpt
GEN=${CARGO_TARGET_DIR:-target}/generated-50k
if [ ! -d "$GEN" ]; then
  cargo bench --locked --bench core -- write-generated "$GEN/" 50000 >/dev/null
fi

measure() {
  local label=$1; shift
  # Best of 5 wall-clock runs; peak RSS from GNU time on the last one.
  local best=""
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s.%N); "$BIN" "$@" --format json=/dev/null --color never >/dev/null 2>&1 || true; e=$(date +%s.%N)
    best=$(python3 -c "b='$best'; t=$e-$s; print(t if not b or t<float(b) else b)")
  done
  local rss
  rss=$( { /usr/bin/time -f '%M' "$BIN" "$@" --format json=/dev/null >/dev/null 2>/dev/null; } 2>&1 | tail -1 )
  printf '%-34s %8.3f s   peak RSS %6.1f MB\n' "$label" "$best" "$(python3 -c "print($rss/1024)")"
}

if [ -d ../shared/corpus/real ]; then
  measure "analyze ../shared/corpus/real" analyze ../shared/corpus/real --select all
fi
measure "analyze 50,000 generated objects" analyze "$GEN" --select all
