package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
)

// TestStreamMatchesTasks parses rasters with nodata both ways in process — the streamed
// pyramid (the default) and the level files cut by tasks (TESSERA_INGEST_STREAM=0, as
// through Redis) — and requires the same tiles, byte for byte, and the same statistics.
func TestStreamMatchesTasks(t *testing.T) {
	store := dbtest.New(t)
	streamed := newEnv(t, store, nil)
	tasks := newEnv(t, store, func(c *ingest.Config) { c.Stream = false })
	if _, err := testdatagen.SharedTestdata(); err != nil {
		t.Skipf("shared test rasters not found: %v", err)
	}
	tests := []struct {
		name, path string
		dt         catalog.Datatype
	}{
		{"RGB byte, continuous", shared(t, "rasterio_RGB.byte.tif"), catalog.Continuous},
		{"django test raster, categorical", shared(t, "django_raster_test.tif"), catalog.Categorical},
		{"float32 with nodata", shared(t, "rasterio_float_raster_with_nodata.tif"), catalog.Continuous},
		{"int16", shared(t, "gdalautotest2_int16.tif"), catalog.Continuous},
		{"generated float32 terrain, UTM, nodata holes", repoTestdata(t, "terrain_utm.tif"), catalog.Continuous},
		{"generated land cover, EPSG:3857, categorical", repoTestdata(t, "landcover_3857.tif"), catalog.Categorical},
	}
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mod := func(l *catalog.Layer) { l.Datatype = tc.dt }
			ls, rs, err := streamed.ingest(t, fmt.Sprintf("stream%d", i), tc.path, mod)
			if err != nil {
				t.Fatalf("streamed parse: %v", err)
			}
			lt, rt, err := tasks.ingest(t, fmt.Sprintf("tasks%d", i), tc.path, mod)
			if err != nil {
				t.Fatalf("task parse: %v", err)
			}
			if rs.Tiles == 0 || rs.Tiles != rt.Tiles || !reflect.DeepEqual(rs.TilesPerZoom, rt.TilesPerZoom) {
				t.Fatalf("tiles per zoom: streamed %v (%d), tasks %v (%d)", rs.TilesPerZoom, rs.Tiles, rt.TilesPerZoom, rt.Tiles)
			}
			var same, differ, missing int
			err = store.Pool().QueryRow(ctx, `
				WITH a AS (SELECT z, x, y, md5(ST_AsBinary(rast)) h FROM tiles WHERE layer_id = $1 AND version = $2),
				     b AS (SELECT z, x, y, md5(ST_AsBinary(rast)) h FROM tiles WHERE layer_id = $3 AND version = $4)
				SELECT count(*) FILTER (WHERE a.h = b.h), count(*) FILTER (WHERE a.h <> b.h),
				       count(*) FILTER (WHERE a.h IS NULL OR b.h IS NULL)
				FROM a FULL JOIN b USING (z, x, y)`, ls.ID, rs.Version, lt.ID, rt.Version).Scan(&same, &differ, &missing)
			if err != nil {
				t.Fatal(err)
			}
			if differ != 0 || missing != 0 || int64(same) != rs.Tiles {
				t.Errorf("tiles: %d the same, %d differ, %d in one parse only (of %d)", same, differ, missing, rs.Tiles)
			}
			if len(ls.Bands) == 0 || !reflect.DeepEqual(ls.Bands, lt.Bands) {
				t.Errorf("statistics differ:\nstreamed %+v\ntasks    %+v", ls.Bands, lt.Bands)
			}
			if !reflect.DeepEqual(ls.Parse.FinishedZooms, lt.Parse.FinishedZooms) {
				t.Errorf("finished zooms: streamed %v, tasks %v", ls.Parse.FinishedZooms, lt.Parse.FinishedZooms)
			}
		})
	}
}

// repoTestdata is the path of a raster of the repository's testdata/ (found from the module
// root, the directory holding go.mod).
func repoTestdata(t testing.TB, name string) string {
	t.Helper()
	root, err := testdatagen.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", name)
}
