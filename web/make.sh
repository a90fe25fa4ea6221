#!/usr/bin/env bash
# Helpers of the Makefile's web targets, idempotent, as root or through sudo:
#   web/make.sh build WASM_EXEC_JS   npm ci (when the lock changed) and esbuild into web/dist
#   web/make.sh chromium             installs Debian's chromium when missing
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() { # packages…
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

case "${1:-}" in
build)
  command -v npm >/dev/null || apt_install nodejs npm
  # npm ci only when node_modules is older than the lock (or missing): re-runs are instant.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund; fi
  fi
  node build.mjs --wasm ../bin/tessera.wasm --wasm-exec "$2"
  ;;
chromium)
  if [ ! -x /usr/bin/chromium ]; then
    echo "web: installing chromium (Debian)"
    apt_install chromium
  fi
  ;;
*)
  echo "usage: web/make.sh build WASM_EXEC_JS | chromium" >&2
  exit 2
  ;;
esac
