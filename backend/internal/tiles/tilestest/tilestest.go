// Package tilestest seeds a test database with small, fully known layers, so the tile
// service's and the server's tests compare answers against values they can compute. It is
// imported by tests only.
package tilestest

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Home is the tile every seeded layer has data at (zoom 4); its parent Parent (zoom 3) is
// stored too, so deeper tiles over-zoom from Home and other zoom-4 tiles under Parent
// over-zoom from Parent.
var (
	Home   = tile.ZXY{Z: 4, X: 8, Y: 5}
	Parent = tile.ZXY{Z: 3, X: 4, Y: 2}
)

// Size is the seeded tiles' size.
const Size = 256

// Fixture holds the seeded layers and legend.
type Fixture struct {
	// Ramp: Float32, pixel i = i*0.5, except pixel 0 which is nodata (-1).
	Ramp catalog.Layer
	// Const: UInt16, every pixel 7, no nodata.
	Const catalog.Layer
	// Classes: Byte, value 1 + (column/86) (1, 2, 3 by thirds), nodata 0 in row 0; its
	// legend is Legend.
	Classes catalog.Layer
	// RGB: three Byte bands: red = column, green = row, blue = 255 - column.
	RGB catalog.Layer
	// Legend: "Land cover" with 1 → #ff0000 "one", 2 → #00ff00 "two", 3 → #0000ff "three".
	Legend colormap.Legend
	// Bands holds each layer's bands at Home, by layer name.
	Bands map[string][]*raster.Band
	// ParentBands holds each layer's bands at Parent.
	ParentBands map[string][]*raster.Band
}

// RampBand returns the Ramp layer's band at Home.
func RampBand() *raster.Band {
	b := raster.New(raster.Float32, Size, Size)
	b.HasNoData, b.NoData = true, -1
	for i := 0; i < b.Len(); i++ {
		b.Set(i, float64(i)*0.5)
	}
	b.Set(0, -1)
	return b
}

func constBand(v float64) *raster.Band {
	b := raster.New(raster.UInt16, Size, Size)
	for i := 0; i < b.Len(); i++ {
		b.Set(i, v)
	}
	return b
}

func classBand() *raster.Band {
	b := raster.New(raster.Byte, Size, Size)
	b.HasNoData, b.NoData = true, 0
	for i := 0; i < b.Len(); i++ {
		if i >= Size {
			b.Set(i, float64(1+(i%Size)/86))
		}
	}
	return b
}

func rgbBands() []*raster.Band {
	bs := []*raster.Band{raster.New(raster.Byte, Size, Size), raster.New(raster.Byte, Size, Size), raster.New(raster.Byte, Size, Size)}
	for i := 0; i < Size*Size; i++ {
		c, r := i%Size, i/Size
		bs[0].Set(i, float64(c))
		bs[1].Set(i, float64(r))
		bs[2].Set(i, float64(255-c))
	}
	return bs
}

func stats(b *raster.Band) catalog.BandMeta {
	m := catalog.BandMeta{Type: b.Type, HasNoData: b.HasNoData, NoData: b.NoData}
	vals, mask := b.Decode(nil, nil)
	first := true
	var sum float64
	for i, v := range vals {
		if mask != nil && mask[i] {
			continue
		}
		if first || v < m.Min {
			m.Min = v
		}
		if first || v > m.Max {
			m.Max = v
		}
		first = false
		sum += v
		m.Count++
	}
	if m.Count > 0 {
		m.Mean = sum / float64(m.Count)
	}
	return m
}

// Seed creates the fixture's layers and legend in store, with tiles at Home and Parent.
func Seed(tb testing.TB, store *pgstore.Store) *Fixture {
	tb.Helper()
	ctx := context.Background()
	f := &Fixture{Bands: map[string][]*raster.Band{}, ParentBands: map[string][]*raster.Band{}}
	f.Legend = colormap.Legend{Title: "Land cover", Entries: []colormap.LegendEntry{
		{Name: "one", Expression: "1", Color: "#ff0000", Code: "1"},
		{Name: "two", Expression: "2", Color: "#00ff00", Code: "2"},
		{Name: "three", Expression: "3", Color: "#0000ff", Code: "3"},
	}}
	if err := store.CreateLegend(ctx, &f.Legend); err != nil {
		tb.Fatalf("tilestest: create legend: %v", err)
	}
	mk := func(name, source string, dt catalog.Datatype, legend *int64, home []*raster.Band) catalog.Layer {
		l := catalog.NewLayer(name, source)
		l.Datatype, l.LegendID = dt, legend
		if err := store.CreateLayer(ctx, &l); err != nil {
			tb.Fatalf("tilestest: create layer %s: %v", name, err)
		}
		// The parent tile: home's data halved into the parent's quadrant of Home (Home is
		// the parent's (0,1) child: x = 8 = 2·4, y = 5 = 2·2+1), other quadrants copy it too,
		// so over-zoomed children of Parent have data everywhere.
		parent := make([]*raster.Band, len(home))
		for i, b := range home {
			p := raster.New(b.Type, Size, Size)
			p.HasNoData, p.NoData = b.HasNoData, b.NoData
			for k := 0; k < p.Len(); k++ {
				c, r := k%Size, k/Size
				p.Set(k, b.At(((r%(Size/2))*2)*Size+(c%(Size/2))*2))
			}
			parent[i] = p
		}
		v, err := store.BeginParse(ctx, l.ID)
		if err != nil {
			tb.Fatalf("tilestest: begin parse: %v", err)
		}
		if err := store.WriteTiles(ctx, l.ID, v, []pgstore.Tile{{ZXY: Home, Bands: home}, {ZXY: Parent, Bands: parent}}); err != nil {
			tb.Fatalf("tilestest: write tiles: %v", err)
		}
		e := Home.Bounds()
		meta := catalog.Metadata{OriginX: e.MinX, OriginY: e.MaxY, ScaleX: e.Width() / Size, ScaleY: -e.Height() / Size,
			Width: Size, Height: Size, BandCount: len(home), SRID: 3857, MaxZoom: Home.Z,
			Extent: [4]float64{e.MinX, e.MinY, e.MaxX, e.MaxY}}
		var bm []catalog.BandMeta
		for i, b := range home {
			s := stats(b)
			s.Index = i
			bm = append(bm, s)
		}
		if err := store.SetStatus(ctx, l.ID, catalog.Finished, "Finished parsing at zoom level 4."); err != nil {
			tb.Fatalf("tilestest: set status: %v", err)
		}
		if err := store.PublishWithMetadata(ctx, l.ID, v, meta, bm); err != nil {
			tb.Fatalf("tilestest: publish: %v", err)
		}
		l, err = store.LayerByID(ctx, l.ID)
		if err != nil {
			tb.Fatalf("tilestest: read back layer: %v", err)
		}
		f.Bands[name], f.ParentBands[name] = home, parent
		return l
	}
	f.Ramp = mk("ramp", "/data/ramp_float32.tif", catalog.Continuous, nil, []*raster.Band{RampBand()})
	f.Const = mk("const", "/data/const_uint16.tif", catalog.Continuous, nil, []*raster.Band{constBand(7)})
	f.Classes = mk("classes", "/data/landcover_classes.tif", catalog.Categorical, &f.Legend.ID, []*raster.Band{classBand()})
	f.RGB = mk("rgb", "/data/rgb_byte.tif", catalog.Continuous, nil, rgbBands())
	return f
}

// RepeatedPrefix returns a prefix ("word: ") that an error message repeats ("colormap:
// invalid legend …: expression: colormap: invalid colormap: …", "formula: formula ends …"),
// or "" when each appears once.
func RepeatedPrefix(msg string) string {
	parts := strings.Split(msg, ": ")
	seen := map[string]bool{}
	for i, p := range parts[:len(parts)-1] {
		next, _, _ := strings.Cut(parts[i+1], " ")
		if seen[p] || p == next {
			return p
		}
		seen[p] = true
	}
	return ""
}
