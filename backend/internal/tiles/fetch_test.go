package tiles_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// readCounts counts the store's tile reads by kind.
type readCounts struct {
	*pgstore.Store
	mu                    sync.Mutex
	single, batch, search int
}

func (c *readCounts) Tile(ctx context.Context, id, v int64, t tile.ZXY) ([]*raster.Band, error) {
	c.mu.Lock()
	c.single++
	c.mu.Unlock()
	return c.Store.Tile(ctx, id, v, t)
}

func (c *readCounts) Tiles(ctx context.Context, ls []catalog.LayerVersion, t tile.ZXY) (map[catalog.LayerVersion][]*raster.Band, error) {
	c.mu.Lock()
	c.batch++
	c.mu.Unlock()
	return c.Store.Tiles(ctx, ls, t)
}

func (c *readCounts) NearestTile(ctx context.Context, id, v int64, t tile.ZXY) (tile.ZXY, []*raster.Band, error) {
	c.mu.Lock()
	c.search++
	c.mu.Unlock()
	return c.Store.NearestTile(ctx, id, v, t)
}

// TestOverZoomReadsNoTile: a tile deeper than a layer's max zoom is cut from a coarser one
// straight away; the store was first asked for the tile itself, which no parse stores there
// (one query for nothing a tile and layer, for every tile of a map zoomed in past its layers).
// At the max zoom the tile is read as before. The answers are those of a service reading one
// layer at a time.
func TestOverZoomReadsNoTile(t *testing.T) {
	e := setup(t)
	cfg := tiles.Config{LayerTTL: -1, TileCacheBytes: -1, ResponseCacheBytes: -1}
	deeper := tile.ZXY{Z: tilestest.Home.Z + 2, X: tilestest.Home.X*4 + 1, Y: tilestest.Home.Y*4 + 2}
	for _, tc := range []struct {
		name                  string
		at                    tile.ZXY
		query                 string // algebra's; "" asks for tiles/ramp
		single, batch, search int
	}{
		{"over-zoomed tile", deeper, "", 0, 0, 1},
		{"over-zoomed algebra", deeper, "layers=a=ramp,b=const&formula=a%2Bb", 0, 0, 2},
		{"stored tile", tilestest.Home, "", 1, 0, 0},
		{"stored algebra", tilestest.Home, "layers=a=ramp,b=const&formula=a%2Bb", 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &readCounts{Store: e.st}
			counted := &env{svc: tiles.New(c, cfg), fx: e.fx, st: e.st}
			ref := &env{svc: tiles.New(oneByOne{e.st}, cfg), fx: e.fx, st: e.st}
			get := func(e *env) *tiles.Response {
				if tc.query == "" {
					return e.tile(t, "ramp", tc.at, "png", "", tiles.Client{})
				}
				return e.algebra(t, tc.at, "png", tc.query, tiles.Client{})
			}
			got, want := get(counted), get(ref)
			ok(t, got, "image/png")
			if !bytes.Equal(got.Body, want.Body) {
				t.Errorf("answer differs from one read a layer at a time")
			}
			if c.single != tc.single || c.batch != tc.batch || c.search != tc.search {
				t.Errorf("reads: %d single, %d batched, %d ancestor searches; want %d, %d, %d",
					c.single, c.batch, c.search, tc.single, tc.batch, tc.search)
			}
		})
	}
}
