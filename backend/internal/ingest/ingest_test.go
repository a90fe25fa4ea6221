package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
	"github.com/tessera-gis/tessera/shared/tile"
)

// The PostGIS store is what the pipeline is written against.
var _ ingest.Store = (*pgstore.Store)(nil)

func shared(t testing.TB, name string) string {
	t.Helper()
	dir, err := testdatagen.SharedTestdata()
	if err != nil {
		t.Skipf("shared test rasters not found (../shared/testdata): %v", err)
	}
	return filepath.Join(dir, name)
}

// env is one test's store, in-process pool and parser.
type env struct {
	store  *pgstore.Store
	parser *ingest.Parser
	cfg    ingest.Config
}

func newEnv(t testing.TB, store *pgstore.Store, mod func(*ingest.Config)) *env {
	t.Helper()
	if store == nil {
		store = dbtest.New(t)
	}
	cfg := ingest.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	if mod != nil {
		mod(&cfg)
	}
	pool := jobs.NewPool(2, ingest.NewTaskHandler(store))
	t.Cleanup(pool.Close)
	p, err := ingest.New(store, pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: store, parser: p, cfg: cfg}
}

// ingest creates a layer for source (adjusted by mod) and parses it.
func (e *env) ingest(t testing.TB, name, source string, mod func(*catalog.Layer)) (catalog.Layer, ingest.Result, error) {
	t.Helper()
	ctx := context.Background()
	l := catalog.NewLayer(name, source)
	if mod != nil {
		mod(&l)
	}
	if err := e.store.CreateLayer(ctx, &l); err != nil {
		t.Fatal(err)
	}
	res, err := e.parser.Parse(ctx, l.ID)
	got, lerr := e.store.LayerByID(ctx, l.ID)
	if lerr != nil {
		t.Fatalf("layer row after parse: %v", lerr)
	}
	return got, res, err
}

func hasLine(log []string, want string) bool {
	for _, l := range log {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func TestMaxZoomForScale(t *testing.T) {
	tests := []struct {
		name       string
		scale      float64
		size       int
		nextHigher bool
		want       int
	}{
		{"django test raster, 256", 113.246, 256, true, 11},
		{"django test raster, 100", 113.246, 100, true, 12},
		{"django test raster, not next higher", 113.246, 256, false, 10},
		{"exactly zoom 11's pixel", tile.PixelSize(11, 256), 256, true, 11},
		{"huge pixels", 1e7, 256, true, 1},
		{"huge pixels, not next higher", 1e7, 256, false, 0},
		{"tiny pixels", 0.01, 256, true, 19},
		{"tiny pixels, not next higher", 0.01, 256, false, 18},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ingest.MaxZoomForScale(tc.scale, tc.size, tc.nextHigher); got != tc.want {
				t.Errorf("MaxZoomForScale(%v, %d, %v) = %d, want %d", tc.scale, tc.size, tc.nextHigher, got, tc.want)
			}
		})
	}
}

func TestDjangoRasterTestTif(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	l, res, err := e.ingest(t, "django", shared(t, "django_raster_test.tif"), func(l *catalog.Layer) { l.Datatype = catalog.Categorical })
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxZoom != 11 || l.Meta == nil || l.Meta.MaxZoom != 11 {
		t.Fatalf("max zoom %d (meta %+v), want 11", res.MaxZoom, l.Meta)
	}
	if l.Parse.Status != catalog.Finished || l.Version != res.Version {
		t.Fatalf("status %s, served version %d, parse version %d", l.Parse.Status, l.Version, res.Version)
	}
	// z11 covers x 552–553, y 858–859: 4 tiles, each with data.
	if res.TilesPerZoom[11] != 4 {
		t.Errorf("%d tiles at z11, want 4 (%v)", res.TilesPerZoom[11], res.TilesPerZoom)
	}
	for x := 552; x <= 553; x++ {
		for y := 858; y <= 859; y++ {
			bands, err := e.store.Tile(ctx, l.ID, l.Version, tile.ZXY{Z: 11, X: x, Y: y})
			if err != nil {
				t.Fatalf("tile 11/%d/%d: %v", x, y, err)
			}
			b := bands[0]
			if b.Width != 256 || b.Height != 256 || !b.HasNoData || b.NoData != 255 {
				t.Errorf("tile 11/%d/%d: %dx%d nodata %v/%v", x, y, b.Width, b.Height, b.HasNoData, b.NoData)
			}
			for i := 0; i < b.Len(); i++ {
				switch b.At(i) {
				case 0, 1, 2, 3, 4, 8, 9, 255:
				default:
					t.Fatalf("tile 11/%d/%d pixel %d = %v: not a class of the source", x, y, i, b.At(i))
				}
			}
		}
	}
	for z := 0; z <= 11; z++ {
		if res.TilesPerZoom[z] < 1 {
			t.Errorf("no tile at zoom %d", z)
		}
		// Coarser tiles are the ancestors of the z11 block.
		want := tile.ZXY{Z: 11, X: 552, Y: 858}.Ancestor(z)
		if _, err := e.store.Tile(ctx, l.ID, l.Version, want); err != nil && z < 11 {
			t.Errorf("ancestor tile %v: %v", want, err)
		}
	}
	if !slices.Equal(l.Parse.FinishedZooms, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
		t.Errorf("finished zooms %v", l.Parse.FinishedZooms)
	}
	for _, want := range []string{"Started parsing raster.", "Reprojecting raster", "Finished parsing at zoom level 11.", "Finished parsing at zoom level 0.", "Successfully finished parsing raster"} {
		if !hasLine(l.Parse.Log, want) {
			t.Errorf("log lacks %q: %q", want, l.Parse.Log)
		}
	}
	if !strings.HasPrefix(l.Parse.Log[0], "[") || !strings.Contains(l.Parse.Log[0], "] Started parsing raster.") {
		t.Errorf("first log line %q is not a stamped start line", l.Parse.Log[0])
	}
	if l.Parse.TilesDone != l.Parse.TilesTotal || l.Parse.TilesTotal < 4 {
		t.Errorf("progress %d/%d", l.Parse.TilesDone, l.Parse.TilesTotal)
	}
	// Metadata and statistics.
	m := l.Meta
	if m.SRID != 3086 || m.Width != 163 || m.Height != 174 || m.BandCount != 1 {
		t.Errorf("metadata %+v", m)
	}
	if len(l.Bands) != 1 {
		t.Fatalf("%d band metadata rows", len(l.Bands))
	}
	b := l.Bands[0]
	if b.Min != 0 || b.Max != 9 || b.Count == 0 || !b.HasNoData || b.NoData != 255 {
		t.Errorf("band stats %+v", b)
	}
	var n int64
	for _, c := range b.Hist {
		n += c
	}
	if len(b.Hist) != 100 || n != b.Count || len(b.HistBins) != 101 || b.HistBins[0] != 0 || b.HistBins[100] != 9 {
		t.Errorf("histogram: %d bins summing to %d (count %d), edges %v..%v", len(b.Hist), n, b.Count, b.HistBins[0], b.HistBins[len(b.HistBins)-1])
	}
	if b.Mean <= b.Min || b.Mean >= b.Max || b.Std <= 0 {
		t.Errorf("mean %v std %v", b.Mean, b.Std)
	}
}

func TestTileSize100(t *testing.T) {
	e := newEnv(t, nil, func(c *ingest.Config) { c.TileSize = 100 })
	l, res, err := e.ingest(t, "django100", shared(t, "django_raster_test.tif"), func(l *catalog.Layer) { l.BuildPyramid = false })
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxZoom != 12 {
		t.Errorf("max zoom at tile size 100: %d, want 12", res.MaxZoom)
	}
	for z := range res.TilesPerZoom {
		if z != 12 {
			t.Errorf("tiles at zoom %d without pyramid", z)
		}
	}
	bands, err := e.store.Tile(context.Background(), l.ID, l.Version, firstTile(t, e, l, 12))
	if err != nil || bands[0].Width != 100 {
		t.Errorf("tile at z12: %v, %v", bands, err)
	}
}

func firstTile(t *testing.T, e *env, l catalog.Layer, z int) tile.ZXY {
	t.Helper()
	var zxy tile.ZXY
	err := e.store.Pool().QueryRow(context.Background(),
		`SELECT z, x, y FROM tiles WHERE layer_id = $1 AND version = $2 AND z = $3 ORDER BY x, y LIMIT 1`, l.ID, l.Version, z).Scan(&zxy.Z, &zxy.X, &zxy.Y)
	if err != nil {
		t.Fatalf("first tile at z%d: %v", z, err)
	}
	return zxy
}

func TestOverridesAndFlags(t *testing.T) {
	e := newEnv(t, nil, nil)
	t.Run("max zoom override", func(t *testing.T) {
		_, res, err := e.ingest(t, "mz", shared(t, "django_raster_test.tif"), func(l *catalog.Layer) { z := 9; l.MaxZoom = &z })
		if err != nil || res.MaxZoom != 9 || res.TilesPerZoom[10] != 0 || res.TilesPerZoom[9] == 0 {
			t.Errorf("max zoom override: %v %+v", err, res)
		}
	})
	t.Run("next_higher false", func(t *testing.T) {
		_, res, err := e.ingest(t, "nh", shared(t, "django_raster_test.tif"), func(l *catalog.Layer) { l.NextHigher = false })
		if err != nil || res.MaxZoom != 10 {
			t.Errorf("next_higher=false: %v max zoom %d, want 10", err, res.MaxZoom)
		}
	})
	t.Run("nodata override applies to every band", func(t *testing.T) {
		l, _, err := e.ingest(t, "nd", shared(t, "rasterio_RGB.byte.tif"), func(l *catalog.Layer) { nd := 1.0; l.NoData = &nd; z := 6; l.MaxZoom = &z })
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range l.Bands {
			if !b.HasNoData || b.NoData != 1 {
				t.Errorf("band %d nodata %v/%v, want 1", b.Index, b.HasNoData, b.NoData)
			}
		}
	})
	t.Run("srid override replaces the CRS", func(t *testing.T) {
		// float32.tif has no CRS; say its coordinates (100-unit pixels at 0,0) are EPSG:3857 metres.
		l, res, err := e.ingest(t, "srid", shared(t, "rasterio_float32.tif"), func(l *catalog.Layer) { s := 3857; l.SRID = &s })
		if err != nil {
			t.Fatal(err)
		}
		if l.Meta.SRID != 3857 || res.Tiles == 0 || res.MaxZoom != 11 {
			t.Errorf("srid override: meta srid %d, %d tiles, max zoom %d (want 3857, some, 11)", l.Meta.SRID, res.Tiles, res.MaxZoom)
		}
	})
}

func TestReparseKeepsOldTilesAndReusesReprojection(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "r.tif")
	data, err := os.ReadFile(shared(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(src, data, 0o644)
	l, first, err := e.ingest(t, "re", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.ReprojectedPath == "" {
		t.Fatal("store_reprojected: no reprojected path kept")
	}
	if _, err := os.Stat(l.ReprojectedPath); err != nil {
		t.Fatalf("kept reprojection: %v", err)
	}
	// Same settings again: the warp is skipped, the tiles are the same.
	second, err := e.parser.Parse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := e.store.LayerByID(ctx, l.ID)
	if !hasLine(l2.Parse.Log, "Reusing the reprojected raster") || hasLine(l2.Parse.Log, "Reprojecting raster") {
		t.Errorf("re-parse did not reuse the reprojection: %q", l2.Parse.Log)
	}
	if second.Version <= first.Version || l2.Version != second.Version || second.Tiles != first.Tiles {
		t.Errorf("re-parse: versions %d → %d (served %d), tiles %d → %d", first.Version, second.Version, l2.Version, first.Tiles, second.Tiles)
	}
	// A failing re-parse leaves the served version and its tiles alone.
	os.WriteFile(src, []byte("garbage"), 0o644)
	_, err = e.parser.Parse(ctx, l.ID)
	if !errors.Is(err, ingest.ErrNotRaster) {
		t.Fatalf("re-parse of garbage: %v, want ErrNotRaster", err)
	}
	l3, _ := e.store.LayerByID(ctx, l.ID)
	if l3.Parse.Status != catalog.Failed || l3.Version != second.Version {
		t.Errorf("after failed re-parse: status %s, served version %d, want FAILED and %d", l3.Parse.Status, l3.Version, second.Version)
	}
	counts, err := e.store.TileCount(ctx, l.ID, l3.Version)
	if err != nil || counts[11] != 4 {
		t.Errorf("served tiles after a failed re-parse: %v %v", counts, err)
	}
}

// TestParseDirOwn pins that a parse works in a directory of its own under RASTER_WORKDIR: it
// was parse-layer{id}-v{version}, which another database's layer of the same id and version
// shares when both use one RASTER_WORKDIR (the default $TMPDIR/tessera-workdir), and the
// first parse to end removed the other's download and reprojection.
func TestParseDirOwn(t *testing.T) {
	e := newEnv(t, nil, nil)
	work := e.cfg.WorkDir
	l := catalog.NewLayer("own dir", shared(t, "django_raster_test.tif"))
	if err := e.store.CreateLayer(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	// The directories another parse of this id would be using.
	var others []string
	for v := 1; v <= 3; v++ {
		d := filepath.Join(work, fmt.Sprintf("parse-layer%d-v%d", l.ID, v))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(d, "download-other.tif")
		os.WriteFile(f, []byte("another parse's file"), 0o644)
		others = append(others, f)
	}
	if _, err := e.parser.Parse(context.Background(), l.ID); err != nil {
		t.Fatal(err)
	}
	for _, f := range others {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the parse removed another parse's file: %v", err)
		}
	}
}

// TestRemoveKept: only a file in RASTER_WORKDIR/reprojected goes with its deleted layer, not
// a path elsewhere that a layer row might hold.
func TestRemoveKept(t *testing.T) {
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, "reprojected", "sub"), 0o755)
	tests := []struct {
		name, path string
		removed    bool
	}{
		{"kept copy", filepath.Join(work, "reprojected", "layer1-0123456789abcdef.tif"), true},
		{"in the work directory", filepath.Join(work, "layer1.tif"), false},
		{"below the kept directory", filepath.Join(work, "reprojected", "sub", "x.tif"), false},
		{"elsewhere", filepath.Join(t.TempDir(), "reprojected", "x.tif"), false},
		{"escaping with ..", filepath.Join(work, "reprojected") + "/../layer2.tif", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.MkdirAll(filepath.Dir(tc.path), 0o755)
			if err := os.WriteFile(tc.path, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			l := catalog.NewLayer("x", "x.tif")
			l.ReprojectedPath = tc.path
			removed, err := ingest.RemoveKept(work, l)
			_, serr := os.Stat(tc.path)
			if err != nil || removed != tc.removed || errors.Is(serr, os.ErrNotExist) != tc.removed {
				t.Errorf("removed %v (err %v), file gone %v; want %v", removed, err, errors.Is(serr, os.ErrNotExist), tc.removed)
			}
		})
	}
	if removed, err := ingest.RemoveKept(work, catalog.NewLayer("none", "x.tif")); removed || err != nil {
		t.Errorf("no kept path: removed %v, err %v", removed, err)
	}
}

// cancelAtReproject is a store that cancels the parse's context when the parse says it is
// reprojecting: the warp then finishes, the rest of the parse sees the cancellation.
type cancelAtReproject struct {
	*pgstore.Store
	cancel context.CancelFunc
}

func (s cancelAtReproject) SetStatus(ctx context.Context, id int64, st catalog.Status, line string) error {
	err := s.Store.SetStatus(ctx, id, st, line)
	if st == catalog.ReprojectingRaster {
		s.cancel()
	}
	return err
}

// TestInterruptedParseRecordsKeptCopy: a reprojection finished when the parse was interrupted
// is recorded on the layer, so a re-parse reuses it and a delete removes it. Recording it used
// the cancelled context and failed, so the file (as large as the full-resolution raster) was
// in RASTER_WORKDIR/reprojected under no layer's name, for good.
func TestInterruptedParseRecordsKeptCopy(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			store := dbtest.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := ingest.DefaultConfig()
			cfg.WorkDir, cfg.Stream = t.TempDir(), stream
			pool := jobs.NewPool(2, ingest.NewTaskHandler(store))
			t.Cleanup(pool.Close)
			p, err := ingest.New(cancelAtReproject{store, cancel}, pool, cfg)
			if err != nil {
				t.Fatal(err)
			}
			l := catalog.NewLayer("interrupted", shared(t, "django_raster_test.tif"))
			if err := store.CreateLayer(context.Background(), &l); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Parse(ctx, l.ID); err == nil {
				t.Fatal("the interrupted parse succeeded")
			}
			got, err := store.LayerByID(context.Background(), l.ID)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(cfg.WorkDir, "reprojected", "*"))
			for _, f := range files {
				if f != got.ReprojectedPath {
					t.Errorf("%s is kept under no layer's name (the layer records %q)", f, got.ReprojectedPath)
				}
			}
		})
	}
}

// TestEverySharedRaster ingests every raster of ../shared/testdata and checks its outcome.
func TestEverySharedRaster(t *testing.T) {
	dir := filepath.Dir(shared(t, "README.md"))
	want := map[string]struct {
		err     error // nil: FINISHED
		tiles   bool  // FINISHED with tiles
		maxZoom int   // -1: not checked
	}{
		"django_raster_test.tif":                {nil, true, 11},
		"django_raster_test.tif.zip":            {nil, true, 11},
		"gdalautotest2_byte.tif":                {nil, true, -1},
		"gdalautotest2_epsg3857.tif":            {ingest.ErrNoGeoTransform, false, -1},
		"gdalautotest2_epsg4326.tif":            {ingest.ErrNoGeoTransform, false, -1},
		"gdalautotest2_float32.tif":             {nil, true, -1},
		"gdalautotest2_int16.tif":               {nil, true, -1},
		"gdalautotest2_rgbsmall.tif":            {nil, true, -1},
		"rasterio_RGB.byte.tif":                 {nil, true, 9},
		"rasterio_all-nodata.tif":               {nil, false, -1},
		"rasterio_float32.tif":                  {ingest.ErrNoCRS, false, -1},
		"rasterio_float_nan.tif":                {ingest.ErrNoCRS, false, -1},
		"rasterio_float_raster_with_nodata.tif": {nil, true, -1},
		"rasterio_rgb1_fake_nir_epsg3857.tif":   {nil, true, -1},
		"rasterio_rotated.tif":                  {ingest.ErrNoCRS, false, -1},
		"rasterio_world.byte.tif":               {nil, true, 4},
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, nil)
	for _, ent := range entries {
		name := ent.Name()
		if name == "README.md" {
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: new test raster without an expected outcome in this test", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			l, res, err := e.ingest(t, name, filepath.Join(dir, name), nil)
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Fatalf("err = %v, want %v", err, w.err)
				}
				if l.Parse.Status != catalog.Failed || !hasLine(l.Parse.Log, err.Error()) {
					t.Errorf("status %s, log %q", l.Parse.Status, l.Parse.Log)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, log %q", err, l.Parse.Log)
			}
			if l.Parse.Status != catalog.Finished {
				t.Fatalf("status %s", l.Parse.Status)
			}
			if (res.Tiles > 0) != w.tiles {
				t.Errorf("%d tiles, want tiles: %v", res.Tiles, w.tiles)
			}
			if w.maxZoom >= 0 && res.MaxZoom != w.maxZoom {
				t.Errorf("max zoom %d, want %d", res.MaxZoom, w.maxZoom)
			}
			if len(l.Bands) != l.Meta.BandCount {
				t.Errorf("%d band rows for %d bands", len(l.Bands), l.Meta.BandCount)
			}
			if w.tiles {
				for _, b := range l.Bands {
					if b.Count == 0 || math.IsNaN(b.Mean) || b.Min > b.Max {
						t.Errorf("band %d stats %+v", b.Index, b)
					}
				}
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	e := newEnv(t, nil, func(c *ingest.Config) { c.MaxPixels = 100_000 })
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	localCRS := filepath.Join(dir, "local_cs.tif")
	if err := testdatagen.WriteLocalCRSRaster(localCRS); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, source string
		want         error
		hint         string
	}{
		{"no source", "", ingest.ErrNoSource, "No data source found. Provide a rasterfile or a source url."},
		{"missing file", filepath.Join(dir, "nope.tif"), ingest.ErrSourceMissing, "does not exist"},
		{"empty file", write("empty.tif", nil), ingest.ErrEmptySource, "is empty"},
		{"not a raster", write("text.tif", []byte("hello, I am text\n")), ingest.ErrNotRaster, "not a raster GDAL can read"},
		{"no CRS", shared(t, "rasterio_float32.tif"), ingest.ErrNoCRS, "--srid"},
		{"CRS that cannot reach 3857", localCRS, ingest.ErrMaxZoom, "Failed to compute max zoom. Check the SRID of the raster."},
		{"zip without raster", write("notes.zip", zipOf(t, map[string]string{"readme.txt": "no raster here", "data.csv": "a,b\n1,2\n"})), ingest.ErrNoRasterInZip, "contains no raster"},
		{"gzip without raster", write("notes.tif.gz", gzipOf(t, []byte("no raster here\n"))), ingest.ErrNotRaster, "does not hold a raster"},
		{"gzip over the size limit", write("big.tif.gz", gzipBomb(t)), ingest.ErrTooLarge, "TESSERA_MAX_SOURCE_BYTES"},
		{"unreachable URL", "http://127.0.0.1:1/raster.tif", ingest.ErrDownload, "reachable"},
		{"over the pixel limit", shared(t, "rasterio_RGB.byte.tif"), ingest.ErrTooLarge, "TESSERA_MAX_SOURCE_PIXELS"},
		{"unsupported scheme", "ftp://example.com/a.tif", ingest.ErrNoSource, "Unsupported source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, res, err := e.ingest(t, "bad "+tc.name, tc.source, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Hint == "" {
				t.Errorf("error %v carries no hint", err)
			}
			if res.Status != catalog.Failed || l.Parse.Status != catalog.Failed {
				t.Errorf("status %s / %s, want FAILED", res.Status, l.Parse.Status)
			}
			last := l.Parse.Log[len(l.Parse.Log)-1]
			if !strings.Contains(last, tc.hint) {
				t.Errorf("last log line %q lacks %q", last, tc.hint)
			}
			if l.Version != 0 {
				t.Errorf("a failed first parse published version %d", l.Version)
			}
		})
	}
}

func TestAllNoDataFinishesEmpty(t *testing.T) {
	e := newEnv(t, nil, nil)
	l, res, err := e.ingest(t, "allnd", shared(t, "rasterio_all-nodata.tif"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tiles != 0 || l.Parse.Status != catalog.Finished || !hasLine(l.Parse.Log, "no tiles were stored") {
		t.Errorf("all-nodata: %d tiles, status %s, log %q", res.Tiles, l.Parse.Status, l.Parse.Log)
	}
	for _, b := range l.Bands {
		if b.Count != 0 {
			t.Errorf("band %d has %d valid pixels", b.Index, b.Count)
		}
	}
	_ = fmt.Sprint()
}

// TestParseLogHidesWorkDir: the parse log, which anyone who may read the layer may read, names
// files in RASTER_WORKDIR relative to it, never by the server's own path.
func TestParseLogHidesWorkDir(t *testing.T) {
	work := t.TempDir()
	e := newEnv(t, nil, func(c *ingest.Config) { c.WorkDir = work })
	up := filepath.Join(work, "uploads", "1a2b-notes.tif")
	if err := os.MkdirAll(filepath.Dir(up), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(up, []byte("hello, I am text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, err := e.ingest(t, "private", up, nil)
	if !errors.Is(err, ingest.ErrNotRaster) {
		t.Fatalf("err = %v, want ErrNotRaster", err)
	}
	log := strings.Join(l.Parse.Log, "\n")
	if strings.Contains(log, work) || !strings.Contains(log, "uploads/1a2b-notes.tif") {
		t.Fatalf("the log names the work directory %s, or not the file relative to it:\n%s", work, log)
	}
}

// gzipOf is data compressed with gzip.
func gzipOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gzipBomb is a small gzip file whose trailer says it unpacks to 3 GiB, above the tests'
// TESSERA_MAX_SOURCE_BYTES: only the trailer is read before the refusal.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	b := gzipOf(t, []byte("x"))
	binary.LittleEndian.PutUint32(b[len(b)-4:], 3<<30)
	return b
}

// TestGzipRaster: a raster compressed with gzip (raster.tif.gz) is parsed as the raster
// itself, through GDAL's /vsigzip/; it was "not a raster GDAL can read".
func TestGzipRaster(t *testing.T) {
	src, err := os.ReadFile(shared(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "django_raster_test.tif.gz")
	if err := os.WriteFile(p, gzipOf(t, src), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, nil)
	l, res, err := e.ingest(t, "gz", p, nil)
	if err != nil || res.Status != catalog.Finished || l.Parse.Status != catalog.Finished || res.MaxZoom != 11 || res.Tiles == 0 {
		t.Fatalf("ingest of a .tif.gz: %v, status %s, max zoom %d, %d tiles", err, res.Status, res.MaxZoom, res.Tiles)
	}
}
