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
# Tuning for a tile store (the defaults are sized for a small machine), applied once and the
# cluster restarted only when something changes (TESSERA_PG_TUNE=0: leave the cluster alone):
# - shared_buffers a quarter of the RAM (128 MB to 4 GB), so served tiles come from shared
#   memory: a 256 KB tile read from the OS page cache costs ~30 read() calls, 2.7 ms on a
#   virtual machine, against 0.2 ms from shared buffers;
# - max_wal_size 4 GB, so an ingest's COPY does not force checkpoint after checkpoint;
# - glibc malloc thresholds in the cluster's environment file: every 256 KB tile a backend sends
#   is palloc'd, and with glibc's defaults each one is a fresh mmap or brk whose pages fault in
#   again (0.85 ms against 3.2 ms to send 256 KB, measured with pgx on this VM).
pg_tune() {
  [ "${TESSERA_PG_TUNE:-1}" = 0 ] && return 0
  local mem_mb sb_mb restart=0
  mem_mb=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)
  sb_mb=$((mem_mb / 4)); ((sb_mb < 128)) && sb_mb=128; ((sb_mb > 4096)) && sb_mb=4096
  local want="shared_buffers=${sb_mb}MB max_wal_size=4GB"
  local have
  have="shared_buffers=$(psql_admin -c "SELECT setting::bigint * 8 / 1024 || 'MB' FROM pg_settings WHERE name='shared_buffers'") max_wal_size=$(psql_admin -c "SHOW max_wal_size")"
  if [ "$have" != "$want" ]; then
    echo "services: PostgreSQL $have → $want"
    psql_admin -c "ALTER SYSTEM SET shared_buffers = '${sb_mb}MB'"
    psql_admin -c "ALTER SYSTEM SET max_wal_size = '4GB'"
    restart=1
  fi
  local env=/etc/postgresql/15/main/environment
  if [ -f "$env" ] && ! grep -q '^MALLOC_TOP_PAD_' "$env"; then
    echo "services: PostgreSQL malloc thresholds → $env"
    printf '%s\n' "# Tessera (scripts/services.sh): keep large pallocs on the heap, not mmap, and do not" \
      "# trim it after every tile; see the script for why." \
      "MALLOC_MMAP_THRESHOLD_ = 134217728" "MALLOC_TRIM_THRESHOLD_ = 268435456" \
      "MALLOC_TOP_PAD_ = 67108864" | $SUDO tee -a "$env" >/dev/null
    restart=1
  fi
  # PostGIS raster preloaded by the postmaster, so a new backend does not load postgis_raster
  # and GDAL's ~110 libraries on its first raster call (46–150 ms each, measured with psql's
  # \timing on a fresh connection; under 1 ms preloaded): every ingest writer, worker, test
  # database and server connection opened it anew. Written to conf.d (ALTER SYSTEM quotes the
  # hyphenated names in a way PostgreSQL 15 then cannot read back); libraries already
  # preloaded are kept.
  local conf=/etc/postgresql/15/main/conf.d/tessera-preload.conf pre want_pre lib
  pre=$(psql_admin -c "SHOW shared_preload_libraries" | tr -d ' "')
  want_pre=$pre
  for lib in postgis-3 postgis_raster-3; do
    [ -f "/usr/lib/postgresql/15/lib/$lib.so" ] || continue
    case ",$want_pre," in *",$lib,"*) ;; *) want_pre="${want_pre:+$want_pre,}$lib" ;; esac
  done
  if [ "$want_pre" != "$pre" ]; then
    if [ ! -d "${conf%/*}" ]; then
      echo "services: note: ${conf%/*} is missing; PostGIS raster is not preloaded (each new connection loads it, 46–150 ms)"
    elif grep -qF "'$want_pre'" "$conf" 2>/dev/null; then
      # Written before, yet not in effect: a setting read after conf.d wins
      # (postgresql.auto.conf, from ALTER SYSTEM).
      echo "services: note: shared_preload_libraries is '$pre' although $conf sets '$want_pre': a later setting (ALTER SYSTEM?) overrides it"
    else
      echo "services: PostgreSQL shared_preload_libraries '$pre' → '$want_pre' ($conf)"
      printf '%s\n' "# Tessera (scripts/services.sh): PostGIS raster loaded once by the postmaster." \
        "# The libraries preloaded before are kept; edit this line to change the list." \
        "shared_preload_libraries = '$want_pre'" | $SUDO tee "$conf" >/dev/null
      restart=1
    fi
  fi
  if [ "$restart" = 1 ]; then
    echo "services: restarting PostgreSQL 15/main"
    $SUDO pg_ctlcluster 15 main restart
  fi
}

pg_tune
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='${DB_USER}'")" != 1 ]; then
  psql_admin -c "CREATE ROLE \"${DB_USER}\" LOGIN PASSWORD '${DB_PASS}' CREATEDB"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='${DB_NAME}'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE \"${DB_NAME}\" OWNER \"${DB_USER}\""
fi
psql_admin -d "${DB_NAME}" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS postgis_raster;"
# Tests create their own throw-away databases from this template.
psql_admin -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS postgis_raster;"
# tessera_rast_slice (pgstore.SliceFunctionSQL, kept the same here): a pixel query reads the
# few bytes of a pixel instead of de-toasting whole tiles. Only a superuser can create it, so
# it is made here, in every database with PostGIS raster (template1 hands it to the tests'
# and the benchmark's new databases); without it the server reads pixels with ST_Value and
# tiles with ST_AsBinary (migrations/README.md).
# Database names are read NUL-separated and passed as a quoted conninfo (a name may hold
# spaces, or an '=' that psql -d would take for a conninfo); a database that cannot be
# reached (dropped meanwhile by a test, closed to connections) is skipped with a note, and
# one whose `raster` is not PostGIS's, or is not on the search path, is left alone.
create_slice_function() {
  local db conn has
  while IFS= read -r -d '' db; do
    conn="dbname='$(printf '%s' "$db" | sed "s/[\\']/\\\\&/g")'"
    if ! has=$(psql_admin -d "$conn" -c "SELECT EXISTS (SELECT FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
        WHERE d.classid = 'pg_type'::regclass AND d.objid = to_regtype('raster') AND d.deptype = 'e'
          AND e.extname IN ('postgis', 'postgis_raster'))" 2>/dev/null); then
      echo "services: note: database '$db' skipped (gone, or not open to connections)"
      continue
    fi
    if [ "$has" = t ] && ! psql_admin -d "$conn" -c "CREATE OR REPLACE FUNCTION tessera_rast_slice(raster, int, int) RETURNS bytea
	AS 'bytea_substr' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE"; then
      echo "services: note: tessera_rast_slice not created in database '$db'; its server reads pixels with ST_Value, tiles with ST_AsBinary (see migrations/README.md)"
    fi
  done < <(psql_admin -0 -c "SELECT datname FROM pg_database WHERE datallowconn")
}
create_slice_function

# Redis on loopback only.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null
echo "services: PostgreSQL $(psql_admin -c 'SHOW server_version' | cut -d' ' -f1) + PostGIS $(psql_admin -d "${DB_NAME}" -c 'SELECT postgis_lib_version()'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(gdalinfo --version | cut -d, -f1) ready"
