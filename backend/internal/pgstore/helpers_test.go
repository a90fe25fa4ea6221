package pgstore_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Compile-time check that the store keeps the types callers rely on.
var _ interface {
	Tile(context.Context, int64, int64, tile.ZXY) ([]*raster.Band, error)
	NearestTile(context.Context, int64, int64, tile.ZXY) (tile.ZXY, []*raster.Band, error)
} = (*pgstore.Store)(nil)

// band returns a size×size band of type t whose pixel i is f(i), with nodata nd when hasND.
func band(t raster.DataType, size int, hasND bool, nd float64, f func(i int) float64) *raster.Band {
	b := raster.New(t, size, size)
	for i := range b.Len() {
		b.Set(i, f(i))
	}
	b.HasNoData, b.NoData = hasND, nd
	return b
}

// newLayer creates a layer named name with source src.
func newLayer(t *testing.T, s *pgstore.Store, name, src string) catalog.Layer {
	t.Helper()
	l := catalog.NewLayer(name, src)
	if err := s.CreateLayer(context.Background(), &l); err != nil {
		t.Fatalf("CreateLayer(%q): %v", name, err)
	}
	return l
}

// publishedTile creates layer name (source name.tif) whose served version stores bands as
// tile z and nothing else.
func publishedTile(t *testing.T, s *pgstore.Store, name string, z tile.ZXY, bands []*raster.Band) catalog.LayerVersion {
	t.Helper()
	ctx := context.Background()
	l := newLayer(t, s, name, name+".tif")
	v, err := s.BeginParse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTiles(ctx, l.ID, v, []pgstore.Tile{{ZXY: z, Bands: bands}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, l.ID, v); err != nil {
		t.Fatal(err)
	}
	return catalog.LayerVersion{ID: l.ID, Version: v}
}

// sameBands fails unless got and want hold the same types, sizes, nodata and bytes.
func sameBands(t *testing.T, got, want []*raster.Band) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d bands, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Width != w.Width || g.Height != w.Height || g.HasNoData != w.HasNoData {
			t.Fatalf("band %d: %v %d×%d nodata=%v, want %v %d×%d nodata=%v", i, g.Type, g.Width, g.Height, g.HasNoData, w.Type, w.Width, w.Height, w.HasNoData)
		}
		if w.HasNoData && !(g.NoData == w.NoData || math.IsNaN(g.NoData) && math.IsNaN(w.NoData) || raster.IsNoData(g.NoData, w.NoData)) {
			t.Fatalf("band %d: nodata %v, want %v", i, g.NoData, w.NoData)
		}
		if string(g.Data) != string(w.Data) {
			t.Fatalf("band %d: pixel data differs", i)
		}
	}
}
