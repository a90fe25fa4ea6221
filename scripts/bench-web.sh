#!/usr/bin/env bash
# The browser map's benchmark (run by scripts/bench.sh with the other bench-*.sh): renders
# NDVI tiles in headless Chromium with the WebAssembly core and compares with the server's
# PNG round trip. Builds the page and binary and installs Chromium first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build >/dev/null
web/make.sh chromium
out=$(TESSERA_REQUIRE_SERVICES=1 TESSERA_WEB_BENCH=1 go test -count=1 -v -run '^TestBrowserBench$' ./web 2>&1) || {
  echo "$out"
  exit 1
}
echo "bench-web: in headless Chromium"
echo "$out" | sed -n 's/^        //p' | sed '/^$/d'
