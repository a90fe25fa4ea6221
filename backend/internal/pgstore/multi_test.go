package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestTilesMultiAddress reads several layers at several addresses (a scaled tile's
// children, their parent, an address of another zoom and one no layer stores) in one call,
// and at each address alone:
// an entry for every layer × address stored, with its bands, and none for the others (an
// address a layer does not store, another version's tiles, a layer that does not exist).
func TestTilesMultiAddress(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	parent := tile.ZXY{Z: 3, X: 2, Y: 5}
	var children []tile.ZXY
	for i := range 4 {
		children = append(children, tile.ZXY{Z: 4, X: parent.X*2 + i%2, Y: parent.Y*2 + i/2})
	}
	elsewhere := tile.ZXY{Z: 4, X: 0, Y: 0}
	nowhere := tile.ZXY{Z: 9, X: 300, Y: 7}

	stored := map[catalog.LayerVersion]map[tile.ZXY]pgstore.Tile{}
	write := func(l catalog.Layer, v int64, seed float64, at ...tile.ZXY) catalog.LayerVersion {
		t.Helper()
		lv := catalog.LayerVersion{ID: l.ID, Version: v}
		stored[lv] = map[tile.ZXY]pgstore.Tile{}
		var batch []pgstore.Tile
		for _, a := range at {
			tl := pgstore.Tile{ZXY: a, Bands: tileBands(a, 32, seed)}
			batch = append(batch, tl)
			stored[lv][a] = tl
		}
		if err := s.WriteTiles(ctx, l.ID, v, batch); err != nil {
			t.Fatal(err)
		}
		return lv
	}
	parse := func(l catalog.Layer) int64 {
		t.Helper()
		v, err := s.BeginParse(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b, c := newLayer(t, s, "a", "a.tif"), newLayer(t, s, "b", "b.tif"), newLayer(t, s, "c", "c.tif")
	a1 := write(a, parse(a), 1, append([]tile.ZXY{parent}, children...)...)
	if err := s.Publish(ctx, a.ID, a1.Version); err != nil { // so that the next parse keeps its tiles
		t.Fatal(err)
	}
	a2 := write(a, parse(a), 2, children[1]) // a newer parse of a: its own tiles
	b1 := write(b, parse(b), 3, children[0], children[3], elsewhere)
	c1 := write(c, parse(c), 4, tile.ZXY{Z: 4, X: 9, Y: 9}) // none of the addresses asked for
	ghost := catalog.LayerVersion{ID: c.ID + 100, Version: 1}
	stored[ghost] = nil

	layers := []catalog.LayerVersion{a1, a2, b1, c1, ghost}
	addrs := append(append([]tile.ZXY{}, children...), parent, elsewhere, nowhere)
	for _, raw := range []bool{true, false} {
		t.Run(fmt.Sprintf("raw %v", raw), func(t *testing.T) {
			s.SetPixelSlices(raw)
			got, err := s.Tiles(ctx, layers, addrs)
			if err != nil {
				t.Fatal(err)
			}
			for _, lv := range layers {
				for _, at := range addrs {
					want, isStored := stored[lv][at]
					bands, found := got[lv][at]
					switch {
					case isStored && !found:
						t.Errorf("layer %v at %v: no entry, want its stored tile", lv, at)
					case !isStored && found:
						t.Errorf("layer %v at %v: an entry, want none (not stored there)", lv, at)
					case found:
						sameBands(t, bands, want.Bands)
					}
				}
			}
			n := 0
			for lv, m := range got {
				n += len(m)
				if len(m) == 0 {
					t.Errorf("layer %v: an empty map, want no entry", lv)
				}
			}
			if n != 4+1+1+2+1 { // a1: parent and its 4 children; a2: one; b1: two children and elsewhere
				t.Errorf("%d tiles, want 9", n)
			}
			// One address at a time (a query of its own): the same entries.
			for _, at := range addrs {
				one, err := s.Tiles(ctx, layers, []tile.ZXY{at})
				if err != nil {
					t.Fatal(err)
				}
				for _, lv := range layers {
					bands, found := one[lv][at]
					if _, isStored := stored[lv][at]; found != isStored {
						t.Errorf("layer %v at %v alone: found %v, stored %v", lv, at, found, isStored)
					} else if found {
						sameBands(t, bands, got[lv][at])
					}
					if len(one[lv]) > 1 {
						t.Errorf("layer %v at %v alone: %d entries", lv, at, len(one[lv]))
					}
				}
			}
		})
	}

	t.Run("no layers or no addresses", func(t *testing.T) {
		for _, tc := range []struct {
			layers []catalog.LayerVersion
			addrs  []tile.ZXY
		}{{nil, addrs}, {layers, nil}} {
			if got, err := s.Tiles(ctx, tc.layers, tc.addrs); err != nil || len(got) != 0 {
				t.Errorf("%d layers, %d addresses: %v, %v; want nothing", len(tc.layers), len(tc.addrs), got, err)
			}
		}
	})
	t.Run("an invalid address", func(t *testing.T) {
		if _, err := s.Tiles(ctx, layers, []tile.ZXY{children[0], {Z: 2, X: 4, Y: 0}}); err == nil {
			t.Error("tile 2/4/0: no error")
		}
	})
}
