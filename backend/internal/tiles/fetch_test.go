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

// TestOverZoomReadsAncestorOnce: the tiles a map shows past a layer's max zoom are cut from
// one stored tile; the first one's ancestor search caches it under its own address, and its
// siblings and their children are cut from the cache: one read for all (each searched the
// store before). The answers are those of a service reading everything, uncached.
func TestOverZoomReadsAncestorOnce(t *testing.T) {
	e := setup(t)
	c := &readCounts{Store: e.st}
	cached := &env{svc: tiles.New(c, tiles.Config{LayerTTL: -1, ResponseCacheBytes: -1}), fx: e.fx, st: e.st}
	ref := &env{svc: tiles.New(oneByOne{e.st}, tiles.Config{LayerTTL: -1, TileCacheBytes: -1, ResponseCacheBytes: -1}), fx: e.fx, st: e.st}
	h := tilestest.Home
	children := []tile.ZXY{
		{Z: h.Z + 1, X: 2 * h.X, Y: 2 * h.Y}, {Z: h.Z + 1, X: 2*h.X + 1, Y: 2*h.Y + 1},
		{Z: h.Z + 2, X: 4*h.X + 3, Y: 4 * h.Y}, {Z: h.Z + 3, X: 8*h.X + 5, Y: 8*h.Y + 6},
	}
	for _, at := range children {
		got, want := cached.tile(t, "ramp", at, "png", "", tiles.Client{}), ref.tile(t, "ramp", at, "png", "", tiles.Client{})
		ok(t, got, "image/png")
		if !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%v: answer differs from an uncached read", at)
		}
	}
	if c.single != 0 || c.search != 1 {
		t.Errorf("%d single reads and %d ancestor searches for %d tiles under one stored tile; want 0 and 1", c.single, c.search, len(children))
	}
	// Home itself is the cached tile now: no read either.
	ok(t, cached.tile(t, "ramp", h, "png", "", tiles.Client{}), "image/png")
	if c.single != 0 || c.search != 1 {
		t.Errorf("Home after its children: %d single reads, %d searches", c.single, c.search)
	}
	// Where the layer's max zoom has no tile but a coarser one does (Parent's children other
	// than Home), the first over-zoomed tile's search finds Parent, and the place at the max
	// zoom is cut from it once for its siblings: one search (each searched before).
	p := tilestest.Parent
	n0 := c.search + c.single
	for _, at := range []tile.ZXY{{Z: p.Z + 2, X: 4*p.X + 2, Y: 4 * p.Y}, {Z: p.Z + 2, X: 4*p.X + 3, Y: 4*p.Y + 1}, {Z: p.Z + 3, X: 8*p.X + 5, Y: 8*p.Y + 2}} {
		got, want := cached.tile(t, "ramp", at, "png", "", tiles.Client{}), ref.tile(t, "ramp", at, "png", "", tiles.Client{})
		ok(t, got, "image/png")
		if !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%v: answer differs from an uncached read", at)
		}
	}
	if c.search+c.single != n0+1 {
		t.Errorf("three tiles under a place cut from Parent: %d reads, want 1", c.search+c.single-n0)
	}
	// Where the layer has nothing (no tile at its max zoom there, nor above), a child of
	// that place is missing at once, from the cached answer of the place itself.
	far := tile.ZXY{Z: h.Z, X: 0, Y: 0}
	// Its children alone, the place itself not asked for: the first child's search finds
	// nothing at the place nor above, so the others are missing at once (each searched before).
	n := c.search + c.single
	for _, at := range []tile.ZXY{{Z: far.Z + 1, X: 0, Y: 0}, {Z: far.Z + 1, X: 1, Y: 1}, {Z: far.Z + 2, X: 3, Y: 0}} {
		ok(t, cached.tile(t, "ramp", at, "png", "", tiles.Client{}), "image/png")
	}
	if c.search+c.single != n+1 {
		t.Errorf("three children of an empty place: %d reads, want 1", c.search+c.single-n)
	}
	cached.tile(t, "ramp", far, "png", "", tiles.Client{})
	n = c.search + c.single
	r := cached.tile(t, "ramp", tile.ZXY{Z: far.Z + 2, X: 1, Y: 2}, "png", "", tiles.Client{})
	ok(t, r, "image/png")
	if c.search+c.single != n {
		t.Errorf("a child of an empty place read the store (%d reads)", c.search+c.single-n)
	}
}
