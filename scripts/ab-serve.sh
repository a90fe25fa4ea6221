#!/usr/bin/env bash
# A/B load test of two builds of `tessera serve`: BASE (a git revision, built in a temporary
# worktree) against the working tree, both cold (tile and response caches off) on the bench
# database that scripts/bench-serve.sh seeds, loaded in turn by tessera-load, ROUNDS times.
#
#   scripts/ab-serve.sh BASE SCENARIO [ROUNDS] [SECONDS]
#   scripts/ab-serve.sh HEAD~1 "cold pixel" 3
#
# SCENARIO is a tessera-load scenario name or part of one (SCENARIOS below). Alternating the
# builds spreads the machine's drift over both; compare the rounds, not one figure.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIOS='"cold PNG", "cold 3-layer algebra", "cold 2-layer algebra", "cold 3-layer .msgpack", "cold pixel"'
[ $# -ge 2 ] || { echo "usage: $0 BASE SCENARIO [ROUNDS] [SECONDS]; SCENARIO one of $SCENARIOS" >&2; exit 2; }
BASE=$1 SCENARIO=$2 ROUNDS=${3:-3} SECS=${4:-4}
. scripts/serve-lib.sh
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git worktree add --detach "$tmp/base" "$BASE" >/dev/null
(cd "$tmp/base" && go build -o "$tmp/tessera-a" ./backend/cmd/tessera)
go build -o "$tmp/tessera-b" ./backend/cmd/tessera
go build -o bin/tessera-load ./backend/cmd/tessera-load
bench_db >/dev/null

port=(18183 18184)
start_cold "$tmp/tessera-a" "127.0.0.1:${port[0]}" "$tmp/serve-a.log"
start_cold "$tmp/tessera-b" "127.0.0.1:${port[1]}" "$tmp/serve-b.log"
wait_healthy "127.0.0.1:${port[0]}" "127.0.0.1:${port[1]}"
echo "A = $BASE ($(git rev-parse --short "$BASE")), B = the working tree; $SCENARIO, ${SECS}s, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
  for k in 0 1; do
    u="http://127.0.0.1:${port[$k]}/raster/"
    printf '%s ' "$([ $k = 0 ] && echo A || echo B)"
    line=$(bin/tessera-load run -cold "$u" -warm "$u" -dsn "$BENCH_DSN" -only "$SCENARIO" -duration "${SECS}s" | grep -E '^(cold|warm) ' || true)
    [ -n "$line" ] || { echo; echo "ab-serve: no scenario matches \"$SCENARIO\" (try $SCENARIOS)" >&2; exit 2; }
    echo "$line"
  done
done
