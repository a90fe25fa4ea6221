#!/usr/bin/env bash
# Ingest benchmark (run by scripts/bench.sh; needs the services of scripts/services.sh).
#  (a) a generated 8000×8000 float32 UTM terrain: `tessera ingest`, full pyramid, in process,
#      against the baseline `gdalwarp -t_srs EPSG:3857` + `raster2pgsql -t 256x256 -Y | psql`
#      (max zoom only, no pyramid) into the same database;
#  (b) the same ingest with REDIS_URL and 1, then 2 `tessera worker` processes;
#  (c) rasterio's RGB.byte.tif enlarged to 400% (3164×2872×3), against django-raster's
#      7.2 s / 551 MB on a machine like this one.
# Prints a table of wall time, peak RSS (/usr/bin/time) and tiles/s, and the ratios.
# BENCH_SIZE (8000) sets the terrain's size; BENCH_DIR where inputs and outputs go;
# TESSERA_SHARED_TESTDATA where RGB.byte.tif is (../shared/testdata, as the Go tests);
# TESSERA_BIN an existing binary to measure; BENCH_PARTS (abc) the parts to run, e.g.
# BENCH_PARTS=c for the RGB ingest alone, BENCH_REPEAT (1) how many times (c) runs (each
# time a new layer; the table shows every run: the machine is often shared).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE:-8000}
PARTS=${BENCH_PARTS:-abc}
REPEAT=${BENCH_REPEAT:-1}
DIR=${BENCH_DIR:-bin/bench/ingest}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DATABASE_URL=${DATABASE_URL:-postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable}
REDIS=${REDIS_URL_TEST:-redis://127.0.0.1:6379/0}

if [ ! -x /usr/bin/time ]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq time >/dev/null
fi
for t in gdalwarp gdal_translate raster2pgsql psql python3; do
  command -v "$t" >/dev/null || { echo "bench-ingest: $t is missing (run scripts/services.sh)"; exit 1; }
done

# TESSERA_BIN runs an already built binary instead of building one.
if [ -n "${TESSERA_BIN:-}" ]; then
  BIN=$(cd "$(dirname "$TESSERA_BIN")" && pwd)/$(basename "$TESSERA_BIN")
else
  go build -o bin/tessera ./backend/cmd/tessera
  BIN=$(pwd)/bin/tessera
fi
SRC="$DIR/terrain_bench_utm_${SIZE}.tif"
if [[ $PARTS == *[ab]* && ! -f "$SRC" ]]; then
  echo "bench-ingest: generating the ${SIZE}×${SIZE} terrain"
  "$BIN" gendata --bench --bench-size "$SIZE" --out "$DIR/gen" >/dev/null
  mv "$DIR/gen/terrain_bench_utm.tif" "$SRC"
fi
RGB400="$DIR/rgb_byte_400.tif"
if [ ! -f "$RGB400" ]; then
  gdal_translate -q -outsize 400% 400% "${TESSERA_SHARED_TESTDATA:-../shared/testdata}/rasterio_RGB.byte.tif" "$RGB400"
fi

# A throw-away database on the server of DATABASE_URL, dropped at the end.
DB="tessera_bench_ingest_$$"
SERVER=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/postgres").geturl())' "$DATABASE_URL")
BENCH_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$DATABASE_URL" "$DB")
WORKERS=()
cleanup() {
  for p in "${WORKERS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$SERVER" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$DIR/work-$$"
}
trap cleanup EXIT
psql -q "$SERVER" -c "CREATE DATABASE $DB TEMPLATE template1" >/dev/null
export DATABASE_URL="$BENCH_URL"
# A work directory of this run's own: layer ids restart at 1 in every throw-away database, so
# two runs at once (two engineers benchmarking) would otherwise share parse-layer2-v1/.
export RASTER_WORKDIR="$DIR/work-$$"
unset REDIS_URL || true

# cpu_ticks prints the machine's CPU time in all (every state) and idle (idle + iowait), in
# ticks summed over the cores (/proc/stat).
cpu_ticks() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; }
# measure NAME CMD…: runs CMD under /usr/bin/time; sets SECS (wall), CPU (user+sys), RSS_KB
# (peak) and BUSY (below). CPU time is the steadier figure on a shared machine.
measure() {
  local name=$1; shift
  local t0 i0 t1 i1
  read -r t0 i0 < <(cpu_ticks)
  /usr/bin/time -f "%e %U %S %M" -o "$DIR/$name.time" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" || {
    echo "bench-ingest: $name failed:"; tail -5 "$DIR/$name.err"; tail -5 "$DIR/$name.out"; exit 1; }
  read -r t1 i1 < <(cpu_ticks)
  local u s
  read -r SECS u s RSS_KB < <(tail -1 "$DIR/$name.time")
  CPU=$(python3 -c "print(f'{$u+$s:.2f}')")
  # BUSY: how busy the machine's cores were during the run, every process counted (the
  # database, workers): what a run on this machine could still gain from more processes.
  BUSY=$(python3 -c "print(f'{100 * (1 - ($i1 - $i0) / max(1, $t1 - $t0)):.0f}')")
}
tiles_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tiles"])' "$DIR/$1.out"; }

declare -a ROWS
row() { ROWS+=("$(printf '%-44s %9.2f %8s %9.0f %8s %9s' "$1" "$2" "$6" "$(( $3 / 1024 ))" "$4" "$5")"); }
rate() { python3 -c "print(f'{$1/$2:.0f}')"; }

# The database is migrated before any measurement, as a served one would be.
"$BIN" migrate >/dev/null

T_IN=0 T_B=0 R_IN=0 T_R1=0 T_R2=0
if [[ $PARTS == *a* ]]; then
echo "== (a) ${SIZE}×${SIZE} float32 UTM =="
measure tessera_inproc "$BIN" ingest --json --name terrain_inproc "$SRC"
T_IN=$SECS; R_IN=$RSS_KB; N_IN=$(tiles_of tessera_inproc)
row "tessera ingest, full pyramid, in process" "$T_IN" "$R_IN" "$N_IN" "$(rate "$N_IN" "$T_IN")" "$CPU"

measure baseline_warp gdalwarp -q -overwrite -t_srs EPSG:3857 "$SRC" "$DIR/baseline_3857.tif"
T_W=$SECS; R_W=$RSS_KB; C_W=$CPU
measure baseline_load bash -c "raster2pgsql -q -Y -s 3857 -t 256x256 '$DIR/baseline_3857.tif' public.baseline_tiles | psql -q -v ON_ERROR_STOP=1 '$DATABASE_URL'"
T_L=$SECS; R_L=$RSS_KB; C_L=$CPU
N_B=$(psql -qAt "$DATABASE_URL" -c "SELECT count(*) FROM baseline_tiles")
T_B=$(python3 -c "print($T_W+$T_L)")
R_B=$(( R_W > R_L ? R_W : R_L ))
row "baseline gdalwarp + raster2pgsql|psql (max z)" "$T_B" "$R_B" "$N_B" "$(rate "$N_B" "$T_B")" "$(python3 -c "print(f'{$C_W+$C_L:.2f}')")"
row "  of which gdalwarp" "$T_W" "$R_W" "-" "-" "$C_W"
row "  of which raster2pgsql -Y | psql (client)" "$T_L" "$R_L" "-" "-" "$C_L"
fi

if [[ $PARTS == *b* ]]; then
echo "== (b) through Redis with 1 and 2 workers =="
for n in 1 2; do
  export TESSERA_QUEUE="bench-ingest-$$-$n"
  WORKERS=()
  for i in $(seq "$n"); do
    REDIS_URL="$REDIS" /usr/bin/time -f "%e %M" -o "$DIR/worker$n-$i.time" "$BIN" worker --concurrency 2 >"$DIR/worker$n-$i.log" 2>&1 &
    WORKERS+=($!)
  done
  sleep 1
  measure "tessera_redis$n" env REDIS_URL="$REDIS" "$BIN" ingest --json --name "terrain_redis$n" "$SRC"
  T=$SECS; R=$RSS_KB; N=$(tiles_of "tessera_redis$n")
  # Stop this round's workers (the /usr/bin/time wrapper passes SIGTERM on) and read their peaks.
  for p in "${WORKERS[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
  wait "${WORKERS[@]}" 2>/dev/null || true
  WORKERS=()
  WMAX=0
  for i in $(seq "$n"); do
    w=$(awk 'END {print $2}' "$DIR/worker$n-$i.time" 2>/dev/null || echo 0)
    [ "${w:-0}" -gt "$WMAX" ] && WMAX=$w
  done
  row "tessera ingest + $n worker(s) (coordinator)" "$T" "$R" "$N" "$(rate "$N" "$T")" "$CPU"
  row "  largest worker's peak RSS" 0 "$WMAX" "-" "-" "-"
  eval "T_R$n=$T"
  eval "B_R$n=$BUSY"
done
unset TESSERA_QUEUE
fi

T_C=0 R_C=0
if [[ $PARTS == *c* ]]; then
echo "== (c) RGB.byte.tif at 400% (3164×2872×3) =="
for i in $(seq "$REPEAT"); do
  measure "tessera_rgb400_$i" "$BIN" ingest --json --name "rgb400_$i" "$RGB400"
  N_C=$(tiles_of "tessera_rgb400_$i")
  row "tessera ingest RGB.byte 400%, full pyramid" "$SECS" "$RSS_KB" "$N_C" "$(rate "$N_C" "$SECS")" "$CPU"
  # The figures compared are the best run's (the least disturbed by other work).
  if [ "$T_C" = 0 ] || python3 -c "import sys; sys.exit(0 if $SECS < $T_C else 1)"; then T_C=$SECS; R_C=$RSS_KB; fi
done
row "django-raster (reference figure)" 7.2 $((551 * 1024)) 204 "$(rate 204 7.2)" "-"
fi

echo
printf '%-44s %9s %8s %9s %8s %9s\n' "run" "seconds" "cpu s" "peak MB" "tiles" "tiles/s"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the database server's CPU is not counted)"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
python3 - "$T_IN" "$T_B" "$R_IN" "$T_R1" "$T_R2" "$T_C" "$R_C" "${B_R1:-0}" "${B_R2:-0}" "$(nproc)" <<'PY'
import sys
t_in, t_b, r_in, t_r1, t_r2, t_c, r_c, b_r1, b_r2, ncpu = map(float, sys.argv[1:])
if t_in:
    print(f"(a) baseline time / tessera time: {t_b / t_in:.2f}x (target >= 1: full pyramid no slower than the baseline's one level); tessera peak {r_in/1024:.0f} MB (target < 1024 MB)")
if t_r2:
    print(f"(b) 1 worker / 2 workers: {t_r1 / t_r2:.2f}x; the machine's {ncpu:.0f} cores were {b_r1:.0f}% and {b_r2:.0f}% busy"
          " (every process: coordinator, workers, database), so a worker on the same machine has little CPU to add")
if t_c:
    print(f"(c) django-raster 7.2 s / tessera {t_c:.2f} s (best run) = {7.2 / t_c:.1f}x faster (goal >= 10x); memory {r_c/1024:.0f} MB = {r_c/1024/551:.2f} of 551 MB (goal <= 0.25)")
PY
