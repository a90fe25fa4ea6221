#!/usr/bin/env bash
# Installs (idempotently) and starts what Tessera needs on a Debian/Ubuntu machine:
# PostgreSQL 15 + PostGIS 3, Redis, GDAL 3.6, and the database role and database of
# DATABASE_URL. Safe to run again and again; runs as root or through sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(postgresql-15-postgis-3 postgis redis-server libgdal-dev gdal-bin)
[ "${TESSERA_WITH_BROWSER:-0}" = 1 ] && PKGS+=(chromium)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL: the Debian package creates cluster 15/main; start it if it is down.
if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 \+main'; then
  $SUDO pg_createcluster 15 main >/dev/null
fi
if ! pg_lsclusters -h | awk '$1==15 && $2=="main" {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster 15 main start
fi

# The role and database named by DATABASE_URL (default: tessera/tessera@127.0.0.1/tessera).
DATABASE_URL="${DATABASE_URL:-postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable}"
read -r DB_USER DB_PASS DB_NAME < <(python3 - "$DATABASE_URL" <<'PY' 2>/dev/null || echo "tessera tessera tessera"
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(u.unquote(p.username or "tessera"), u.unquote(p.password or "tessera"), (p.path or "/tessera").lstrip("/") or "tessera")
PY
)
export PGOPTIONS="-c client_min_messages=warning"
psql_admin() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"
  else sudo -u postgres psql -v ON_ERROR_STOP=1 -qAt "$@"; fi
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='${DB_USER}'")" != 1 ]; then
  psql_admin -c "CREATE ROLE \"${DB_USER}\" LOGIN PASSWORD '${DB_PASS}' CREATEDB"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='${DB_NAME}'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE \"${DB_NAME}\" OWNER \"${DB_USER}\""
fi
psql_admin -d "${DB_NAME}" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS postgis_raster;"
# Tests create their own throw-away databases from this template.
psql_admin -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS postgis_raster;"

# Redis on loopback only.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null
echo "services: PostgreSQL $(psql_admin -c 'SHOW server_version' | cut -d' ' -f1) + PostGIS $(psql_admin -d "${DB_NAME}" -c 'SELECT postgis_lib_version()'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(gdalinfo --version | cut -d, -f1) ready"
