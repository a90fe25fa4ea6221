#!/usr/bin/env bash
# make demo: ingest the sample rasters from testdata/, define legends, serve on 127.0.0.1:8080
# and print example URLs. Run through `make demo` (which installs and starts the services and
# builds bin/tessera first). Idempotent: re-running re-parses the samples and serves again.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL=${DATABASE_URL:-postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable}
export TESSERA_ADMIN_TOKEN=${TESSERA_ADMIN_TOKEN:-tessera-demo-token-change-me}
ADDR=${TESSERA_ADDR:-127.0.0.1:8080}
BASE="http://$ADDR/raster"
T=bin/tessera

$T migrate

ingest() { # name file datatype [more ingest flags]
  echo "demo: ingesting $2 as $1"
  $T ingest "$2" --name "$1" --datatype "$3" "${@:4}"
}

# Something already answering there (an earlier make demo still running) would take this
# demo's requests while its own server failed to bind.
if curl -fsS -m 2 "http://$ADDR/healthz" >/dev/null 2>&1; then
  echo "demo: a server already answers on $ADDR (an earlier make demo?): stop it, or set TESSERA_ADDR to another host:port" >&2
  exit 1
fi

# The server starts first so that the legend exists before landcover is ingested with it.
$T serve --addr "$ADDR" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$ADDR/healthz" >/dev/null

# A legend for the land-cover classes of testdata/landcover_3857.tif (testdata/README.md;
# testdatagen.LandCoverClasses). An existing legend of that title is brought up to date.
legend='{"title":"Land cover","entries":[
 {"name":"Water","expression":"1","color":"#4575b4","code":"1"},
 {"name":"Wetland","expression":"2","color":"#74add1","code":"2"},
 {"name":"Cropland","expression":"3","color":"#fee08b","code":"3"},
 {"name":"Grassland","expression":"4","color":"#a6d96a","code":"4"},
 {"name":"Forest","expression":"5","color":"#1a9850","code":"5"},
 {"name":"Urban","expression":"6","color":"#d73027","code":"6"}]}'
auth="Authorization: Bearer $TESSERA_ADMIN_TOKEN"
code=$(curl -sS -o /tmp/tessera-demo-legend.json -w '%{http_code}' -X POST -H "$auth" \
  -H 'Content-Type: application/json' --data "$legend" "$BASE/legend")
if [ "$code" = 201 ]; then
  echo "demo: legend \"Land cover\" created"
elif grep -qi 'exist' /tmp/tessera-demo-legend.json; then
  id=$(curl -fsS "$BASE/legends" | tr -d '\n' | sed -n 's/.*"id":\([0-9]*\),"title":"Land cover".*/\1/p')
  code=$(curl -sS -o /tmp/tessera-demo-legend.json -w '%{http_code}' -X PUT -H "$auth" \
    -H 'Content-Type: application/json' --data "$legend" "$BASE/legend/${id:-0}")
  [ "$code" = 200 ] || { echo "demo: updating the legend \"Land cover\" failed ($code): $(cat /tmp/tessera-demo-legend.json)"; exit 1; }
  echo "demo: legend \"Land cover\" exists already (entries brought up to date)"
else
  echo "demo: creating the legend failed ($code): $(cat /tmp/tessera-demo-legend.json)"; exit 1
fi

ingest terrain testdata/terrain_utm.tif continuous
ingest scene testdata/scene_4326.tif continuous
ingest landcover testdata/landcover_3857.tif categorical --legend "Land cover"

# A tile at the centre of each layer, at the zoom below its max, from its TileJSON.
tile_at() { # layer → z/x/y
  curl -fsS "$BASE/tiles/$1.json" | tr -d ' \n' | sed -n 's/.*"center":\[\([^]]*\)\].*"maxzoom":\([0-9]*\).*/\1,\2/p;s/.*"maxzoom":\([0-9]*\).*"center":\[\([^]]*\)\].*/\2,\1/p' | head -1 |
    awk -F, '{ lon = $1; lat = $2; z = $4 - 1; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
      x = int((lon + 180) / 360 * n); y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n)
      printf "%d/%d/%d", z, x, y }'
}
t_terrain=$(tile_at terrain); t_scene=$(tile_at scene); t_land=$(tile_at landcover)

cat <<MSG

Tessera is serving on http://$ADDR (Ctrl-C stops it).

  web map:           http://$ADDR/   (algebra rendered in the browser; admin token: $TESSERA_ADMIN_TOKEN)

  layers (JSON):     $BASE/layers
  TileJSON:          $BASE/tiles/terrain.json
  WMTS (QGIS: Layer → Add WMS/WMTS Layer): $BASE/tiles/terrain/WMTSCapabilities.xml?colormap=terrain
  PNG tile:          $BASE/tiles/terrain/$t_terrain.png
  with a colormap:   $BASE/tiles/terrain/$t_terrain.png?colormap=terrain
  512 pixels (@2x):  $BASE/tiles/terrain/${t_terrain}@2x.png?colormap=terrain   (MapLibre: $BASE/tiles/terrain.json?tile_scale=2)
  NDVI algebra:      $BASE/algebra/$t_scene.png?layers=r:2=scene,n:3=scene&formula=(n-r)/(n%2Br)&colormap=RdYlGn
  raw bands (msgpack, for the browser): $BASE/algebra/$t_scene.msgpack?layers=r:2=scene,n:3=scene
  GeoTIFF tile:      $BASE/tiles/terrain/$t_terrain.tif
  land cover legend: $BASE/tiles/landcover/$t_land.png   (the layer's legend; also $BASE/legend?layer=landcover)
  pixel value:       $BASE/pixel/1529000/6000000?layers=a=terrain&formula=a
MSG
wait $server
