# Sourced by scripts/bench-serve.sh and scripts/ab-serve.sh (not run on its own): the bench
# database and the servers they load.

# bench_db sets ADMIN_DSN (DATABASE_URL or the default) and BENCH_DSN, the same server's
# database TESSERA_BENCH_DB (tessera_bench), creates that database when missing and seeds
# it with tessera-load's three layers (bin/tessera-load must be built).
bench_db() {
  ADMIN_DSN=${DATABASE_URL:-postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable}
  local db=${TESSERA_BENCH_DB:-tessera_bench}
  local base=${ADMIN_DSN%%\?*}       # postgres://user:pw@host:port/db
  BENCH_DSN="${base%/*}/$db${ADMIN_DSN#"$base"}"  # the same, with ?sslmode=… kept
  if ! psql "$ADMIN_DSN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql "$ADMIN_DSN" -qc "CREATE DATABASE $db TEMPLATE template1"
  fi
  bin/tessera-load seed -dsn "$BENCH_DSN"
}

# start_cold BIN ADDR LOG starts `BIN serve` on ADDR over BENCH_DSN with the tile and response
# caches off, logging to LOG; its pid is added to the array pids.
start_cold() {
  DATABASE_URL=$BENCH_DSN TESSERA_LOG_LEVEL=warn TESSERA_TILE_CACHE_BYTES=0 TESSERA_RESPONSE_CACHE_BYTES=0 \
    "$1" serve --addr "$2" >"$3" 2>&1 &
  pids+=($!)
}

# wait_healthy ADDR... waits up to 10 s for each server's /healthz, and fails if one never answers.
wait_healthy() {
  local addr
  for addr in "$@"; do
    for _ in $(seq 1 100); do
      curl -fsS "http://$addr/healthz" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -fsS "http://$addr/healthz" >/dev/null
  done
}
