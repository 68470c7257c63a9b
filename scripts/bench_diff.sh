#!/usr/bin/env bash
# Whole-process timing of `clustergpt diff` (release build) for BENCHMARKS.md: the real corpus
# (../shared/corpus/real) against a copy in which one Deployment's replicas are doubled.
# Usage: scripts/bench_diff.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CLUSTERGPT_CORPUS:-../shared/corpus}/real
[ -d "$CORPUS" ] || { echo "corpus not found at $CORPUS (set CLUSTERGPT_CORPUS)" >&2; exit 2; }
cargo build --release --locked --bin clustergpt
BIN=${CARGO_TARGET_DIR:-target}/release/clustergpt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$CORPUS" "$WORK/head"
# prometheus-adapter: 2 → 4 replicas.
sed -i 's/^  replicas: 2$/  replicas: 4/' "$WORK/head/kube-prometheus/manifests/prometheusAdapter-deployment.yaml"

measure() {
  local label=$1; shift
  local best=""
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s.%N); "$BIN" "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    best=$(python3 -c "b='$best'; t=$e-$s; print(t if not b or t<float(b) else b)")
  done
  local rss
  /usr/bin/time -o "$WORK/rss" -f '%M' "$BIN" "$@" >/dev/null 2>&1 || true
  rss=$(tail -1 "$WORK/rss")
  printf '%-52s %8.3f s   peak RSS %6.1f MB\n' "$label" "$best" "$(python3 -c "print($rss/1024)")"
}

measure "diff corpus vs copy (json)" diff --no-config --select all --base-dir "$CORPUS" --head-dir "$WORK/head" --format json
measure "diff corpus vs copy (md)" diff --no-config --select all --base-dir "$CORPUS" --head-dir "$WORK/head" --format md
"$BIN" diff --no-config --select all --base-dir "$CORPUS" --head-dir "$WORK/head" --color never | head -3
