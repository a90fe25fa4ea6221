#!/usr/bin/env bash
# make bench: Go benchmarks (native and WebAssembly) and the load runs, each printing ratios
# against a baseline measured in the same run. Figures are recorded in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_PATH="$(go env GOROOT)/lib/wasm"
out=${BENCH_OUT:-bin/bench}
mkdir -p "$out"

echo "== shared core, native =="
go test -run '^$' -bench . -benchmem ./shared/... | tee "$out/shared-native.txt"

echo "== shared core, WebAssembly under node =="
PATH="$WASM_PATH:$PATH" GOOS=js GOARCH=wasm go test -run '^$' -bench . -benchmem ./shared/... | tee "$out/shared-wasm.txt"

for s in scripts/bench-*.sh; do
  [ -x "$s" ] || continue
  echo "== $s =="
  "$s"
done
