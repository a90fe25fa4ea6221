#!/usr/bin/env bash
# Load benchmark of `tessera serve` (run by scripts/bench.sh): seeds three synthetic layers into
# a database of its own (tessera_bench), starts two servers on 127.0.0.1 — warm (caches on,
# with the HTTP-floor route) and cold (tile and response caches off) — and loads them from a
# second process (tessera-load) with 4 clients, BENCH_SECONDS (5) seconds per scenario.
# It prints p50/p99 and rates, the target ratios and the comparison with django-raster.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/serve-lib.sh
SECONDS_PER=${BENCH_SECONDS:-5}
WARM=127.0.0.1:${TESSERA_BENCH_WARM_PORT:-18181}
COLD=127.0.0.1:${TESSERA_BENCH_COLD_PORT:-18182}
out=${BENCH_OUT:-bin/bench}
mkdir -p bin "$out"

go build -o bin/tessera ./backend/cmd/tessera
go build -o bin/tessera-load ./backend/cmd/tessera-load

bench_db

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
# Warm means the caches hold the working set: the 256 gzipped 3-layer .msgpack answers alone
# are ~126 MB, just under the 128 MiB default response cache, so the warm server gets 512 MiB.
DATABASE_URL=$BENCH_DSN TESSERA_LOG_LEVEL=warn TESSERA_RESPONSE_CACHE_BYTES=$((512 << 20)) \
  bin/tessera serve --addr "$WARM" --bench-routes >"$out/serve-warm.log" 2>&1 &
pids+=($!)
start_cold bin/tessera "$COLD" "$out/serve-cold.log"
wait_healthy "$WARM" "$COLD"

bin/tessera-load run -warm "http://$WARM/raster/" -cold "http://$COLD/raster/" -dsn "$BENCH_DSN" \
  -duration "${SECONDS_PER}s" -c 4 | tee "$out/serve.txt"
