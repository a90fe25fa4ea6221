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

ingest() { # name file datatype
  echo "demo: ingesting $2 as $1"
  $T ingest "$2" --name "$1" --datatype "$3"
}
ingest terrain testdata/terrain_utm.tif continuous
ingest scene testdata/scene_4326.tif continuous
ingest landcover testdata/landcover_3857.tif categorical

$T serve --addr "$ADDR" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$ADDR/healthz" >/dev/null

# A legend for the land-cover classes (an existing one of that title is kept as it is).
legend='{"title":"Land cover","entries":[
 {"name":"Water","expression":"1","color":"#4575b4","code":"1"},
 {"name":"Forest","expression":"2","color":"#1a9850","code":"2"},
 {"name":"Grassland","expression":"3","color":"#a6d96a","code":"3"},
 {"name":"Cropland","expression":"4","color":"#fee08b","code":"4"},
 {"name":"Urban","expression":"5","color":"#d73027","code":"5"},
 {"name":"Bare","expression":"6","color":"#bababa","code":"6"}]}'
code=$(curl -sS -o /tmp/tessera-demo-legend.json -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $TESSERA_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  --data "$legend" "$BASE/legend")
case $code in
  201) echo "demo: legend \"Land cover\" created" ;;
  *) grep -qi 'exist\|taken\|conflict' /tmp/tessera-demo-legend.json && echo "demo: legend \"Land cover\" exists already" ||
     { echo "demo: creating the legend failed ($code): $(cat /tmp/tessera-demo-legend.json)"; exit 1; } ;;
esac

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
  PNG tile:          $BASE/tiles/terrain/$t_terrain.png
  with a colormap:   $BASE/tiles/terrain/$t_terrain.png?colormap=terrain
  NDVI algebra:      $BASE/algebra/$t_scene.png?layers=r:2=scene,n:3=scene&formula=(n-r)/(n%2Br)&colormap=RdYlGn
  raw bands (msgpack, for the browser): $BASE/algebra/$t_scene.msgpack?layers=r:2=scene,n:3=scene
  GeoTIFF tile:      $BASE/tiles/terrain/$t_terrain.tif
  land cover legend: $BASE/tiles/landcover/$t_land.png?legend=Land%20cover
  pixel value:       $BASE/pixel/1529000/6000000?layers=a=terrain&formula=a
MSG
wait $server
