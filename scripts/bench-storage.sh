#!/usr/bin/env bash
# Storage benchmarks (run by make bench): the PostGIS raster WKB codec, tile writes through
# COPY against django-raster's way (one INSERT of hex WKB rows, measured in the same run),
# and tile reads. Needs the database of DATABASE_URL (make services).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bin/bench}
mkdir -p "$out"

go test -run '^$' -bench . -benchmem ./backend/internal/pgraster/ | tee "$out/pgraster.txt"
TESSERA_REQUIRE_SERVICES=1 go test -run '^$' -bench . -benchmem -benchtime "${STORAGE_BENCHTIME:-20x}" \
  ./backend/internal/pgstore/ | tee "$out/pgstore.txt"

awk '
  /^BenchmarkWriteTiles-/         { for (i = 1; i < NF; i++) if ($(i+1) == "tiles/s") copy = $i }
  /^BenchmarkWriteTilesBaseline-/ { for (i = 1; i < NF; i++) if ($(i+1) == "tiles/s") base = $i }
  END {
    if (copy == "" || base == "") { print "bench-storage: tiles/s figures missing"; exit 1 }
    printf "storage: WriteTiles %.0f tiles/s, django-raster-style INSERT %.0f tiles/s: %.1fx\n", copy, base, copy / base
  }' "$out/pgstore.txt"
