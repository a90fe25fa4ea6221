package rawtile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestServerResponse decodes a .msgpack answer of the tile server, kept as a golden file by
// backend/internal/server's tests, on both targets (make wasm-test runs it under js/wasm).
func TestServerResponse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "server-algebra.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// The server test serves two layers: a = Float32 ramp (i*0.5, nodata -1 at pixel 0),
	// b = UInt16 constant 7 without nodata, at tile 4/8/5.
	want := tile.ZXY{Z: 4, X: 8, Y: 5}
	if got.Tile != want || got.Bounds != want.Bounds() || got.Width != 256 || got.Height != 256 {
		t.Fatalf("header: %v %v %dx%d", got.Tile, got.Bounds, got.Width, got.Height)
	}
	a, b := got.Bands["a"], got.Bands["b"]
	if a == nil || b == nil || len(got.Bands) != 2 {
		t.Fatalf("bands: %v", got.Bands)
	}
	if a.Type != raster.Float32 || !a.HasNoData || a.NoData != -1 || b.Type != raster.UInt16 || b.HasNoData {
		t.Fatalf("band headers: a %s %v %v, b %s %v", a.Type, a.HasNoData, a.NoData, b.Type, b.HasNoData)
	}
	for _, i := range []int{0, 1, 255, 256*256 - 1} {
		wantA := float64(i) * 0.5
		if i == 0 {
			wantA = -1
		}
		if v := a.At(i); v != wantA {
			t.Errorf("a[%d] = %v, want %v", i, v, wantA)
		}
		if v := b.At(i); v != 7 {
			t.Errorf("b[%d] = %v, want 7", i, v)
		}
	}
}
