package ingest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// fakeTiles records what cut tasks write, keyed by address like the store (a rewrite
// replaces).
type fakeTiles struct {
	mu       sync.Mutex
	tiles    map[tile.ZXY][]*raster.Band
	writes   int
	progress int64
	failNext bool
}

func (f *fakeTiles) WriteTiles(ctx context.Context, layerID, version int64, ts []Tile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext {
		f.failNext = false
		return errors.New("connection reset")
	}
	for _, t := range ts {
		f.tiles[t.ZXY] = t.Bands
	}
	f.writes += len(ts)
	return nil
}

func (f *fakeTiles) AddProgress(ctx context.Context, layerID int64, delta int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.progress += delta
	return nil
}

// TestCutTaskRetry runs one cut task, fails its second run half-way, and retries it: the
// retry writes the same addresses with the same pixels.
func TestCutTaskRetry(t *testing.T) {
	const T = 16
	rng := tile.Range{Z: 20, MinX: 100, MinY: 200, MaxX: 104, MaxY: 202} // 5×3 tiles
	w, h := 5*T, 3*T
	b := raster.New(raster.Int16, w, h)
	b.HasNoData, b.NoData = true, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := float64(x*y%97) + 1
			if x >= 2*T && x < 3*T { // the middle column of tiles is empty
				v = -1
			}
			b.Set(y*w+x, v)
		}
	}
	path := filepath.Join(t.TempDir(), "level.tif")
	if err := gdal.WriteGeoTIFF(path, gdal.GeoTIFF{GeoTransform: [6]float64{0, 1, 0, 0, 0, -1}, CRS: "EPSG:3857", Bands: []*raster.Band{b}, BlockSize: 16}); err != nil {
		t.Fatal(err)
	}
	c := cutTask{LayerID: 1, Version: 1, Path: path, Block: rng, OriginX: rng.MinX, OriginY: rng.MinY, TileSize: T, DataBands: 1, Batch: 4, Side: 2}
	task, err := c.task()
	if err != nil {
		t.Fatal(err)
	}
	first := &fakeTiles{tiles: map[tile.ZXY][]*raster.Band{}}
	h1 := NewTaskHandler(first)
	if err := h1(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if len(first.tiles) != 12 || first.progress != 15 {
		t.Fatalf("%d tiles (want 12: 15 minus the empty column), progress %d", len(first.tiles), first.progress)
	}
	for z := range first.tiles {
		if z.X == 102 {
			t.Errorf("empty tile %v written", z)
		}
	}
	// The same task through a pool whose first attempt fails half-way.
	second := &fakeTiles{tiles: map[tile.ZXY][]*raster.Band{}, failNext: true}
	pool := jobs.NewPool(1, NewTaskHandler(second))
	defer pool.Close()
	if err := pool.Run(context.Background(), []jobs.Task{task}); err != nil {
		t.Fatal(err)
	}
	if len(second.tiles) != len(first.tiles) {
		t.Fatalf("retry stored %d tiles, first run %d", len(second.tiles), len(first.tiles))
	}
	for z, bands := range first.tiles {
		got := second.tiles[z]
		if got == nil || !bytes.Equal(got[0].Data, bands[0].Data) {
			t.Errorf("tile %v differs after retry", z)
		}
	}
	// The tile at (100, 200) holds the raster's first 16×16 window.
	tl := first.tiles[tile.ZXY{Z: 20, X: 100, Y: 200}][0]
	if tl.At(3*T+5) != b.At(3*w+5) || tl.NoData != -1 {
		t.Errorf("tile pixel (5,3) = %v, raster %v", tl.At(3*T+5), b.At(3*w+5))
	}
}

// TestCutReusesRowBuffers: a cut task reads its rows of tiles into the same buffers (it made
// new ones per row, so a 16-row block allocated its pixels 16 times). The level raster is
// all nodata, so no tile is copied out and the Go memory the task allocates is the buffers.
func TestCutReusesRowBuffers(t *testing.T) {
	const T, n = 64, 16
	w := n * T
	b := raster.New(raster.Float32, w, w)
	b.HasNoData, b.NoData = true, -9999
	for i := range b.Len() {
		b.Set(i, -9999)
	}
	path := filepath.Join(t.TempDir(), "level.tif")
	if err := gdal.WriteGeoTIFF(path, gdal.GeoTIFF{GeoTransform: [6]float64{0, 1, 0, 0, 0, -1}, CRS: "EPSG:3857", Bands: []*raster.Band{b}, BlockSize: T, Compress: "DEFLATE"}); err != nil {
		t.Fatal(err)
	}
	rng := tile.Range{Z: 20, MinX: 100, MinY: 200, MaxX: 100 + n - 1, MaxY: 200 + n - 1}
	c := cutTask{LayerID: 1, Version: 1, Path: path, Block: rng, OriginX: rng.MinX, OriginY: rng.MinY, TileSize: T, DataBands: 1, Batch: 4, Side: n}
	task, err := c.task()
	if err != nil {
		t.Fatal(err)
	}
	store := &fakeTiles{tiles: map[tile.ZXY][]*raster.Band{}}
	h := NewTaskHandler(store)
	if err := h(context.Background(), task); err != nil { // warm up GDAL's and the handler's first-use allocations
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := h(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if store.writes != 0 || store.progress != 2*n*n {
		t.Fatalf("%d tiles written, progress %d: want none of an all-nodata raster, %d checked", store.writes, store.progress, 2*n*n)
	}
	row := int64(w * T * 4)
	if got := int64(after.TotalAlloc - before.TotalAlloc); got > 2*row {
		t.Errorf("cutting %d rows of %d KiB allocated %d KiB: want the row buffers once (at most %d KiB)", n, row>>10, got>>10, 2*row>>10)
	}
}
