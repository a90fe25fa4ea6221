package pgstore_test

import (
	"context"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestTilePixelValues reads single pixels of two layers' tiles (nodata included, as stored)
// and compares them with the whole tiles; a missing tile or band is not found.
func TestTilePixelValues(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	var lvs []catalog.LayerVersion
	for i, name := range []string{"px1", "px2"} {
		l := newLayer(t, s, name, name+".tif")
		v, _ := s.BeginParse(ctx, l.ID)
		if err := s.WriteTiles(ctx, l.ID, v, []pgstore.Tile{{ZXY: z, Bands: tileBands(z, 32, float64(i))}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Publish(ctx, l.ID, v); err != nil {
			t.Fatal(err)
		}
		lvs = append(lvs, catalog.LayerVersion{ID: l.ID, Version: v})
	}
	for _, c := range []struct{ fx, fy float64 }{{0, 0}, {0.5, 0.25}, {0.999, 0.999}, {1, 1}, {-0.5, 3}, {7.0 / 32, 0}} {
		col, row := min(31, max(0, int(c.fx*32))), min(31, max(0, int(c.fy*32)))
		layers := []catalog.LayerVersion{lvs[0], lvs[1], lvs[1], lvs[0]}
		bands := []int{0, 1, 0, 2}
		seeds := []float64{0, 1, 1, 0} // layer px1 was written with seed 0, px2 with 1
		vals, ok, err := s.TilePixelValues(ctx, layers, bands, z, c.fx, c.fy)
		if err != nil {
			t.Fatal(err)
		}
		for i := range layers {
			whole := tileBands(z, 32, seeds[i])
			if bands[i] >= len(whole) {
				if ok[i] {
					t.Errorf("(%v, %v) read %d: band %d found, the tile has %d", c.fx, c.fy, i, bands[i]+1, len(whole))
				}
				continue
			}
			want := whole[bands[i]].At(row*32 + col)
			if !ok[i] || vals[i] != want {
				t.Errorf("(%v, %v) read %d (band %d): %v %v, want %v", c.fx, c.fy, i, bands[i], vals[i], ok[i], want)
			}
		}
	}
	vals, ok, err := s.TilePixelValues(ctx, lvs, []int{0, 0}, tile.ZXY{Z: 3, X: 2, Y: 6}, 0.5, 0.5)
	if err != nil || ok[0] || ok[1] || vals[0] != 0 {
		t.Fatalf("a tile not stored: %v %v %v", vals, ok, err)
	}
	if _, _, err := s.TilePixelValues(ctx, lvs, []int{0}, z, 0.5, 0.5); err == nil {
		t.Fatal("two layers and one band accepted")
	}
}
