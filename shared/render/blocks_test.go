package render

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

// TestBlocksMatchWhole renders blockwise requests both ways, a block at a time (Render) and
// the whole tile at a time (renderWhole), and wants the same image and the same raw result,
// values and nodata pixel for pixel: every band type, nodata in some blocks only, NaN, the
// formula modes (strict, NULL tests, ~), colormaps with their own range, grey over the
// request's range, a range so wide it is halved, sizes that end inside a block.
func TestBlocksMatchWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	band := func(typ raster.DataType, w, h int, nodata bool) *raster.Band {
		b := raster.New(typ, w, h)
		if nodata {
			b.HasNoData, b.NoData = true, 3
		}
		for i := range w * h {
			v := float64(rng.IntN(200))
			if typ == raster.Int16 || typ == raster.Float32 || typ == raster.Float64 {
				v -= 50
			}
			if typ == raster.Float32 || typ == raster.Float64 {
				v += rng.Float64()
				if rng.IntN(500) == 0 {
					v = math.NaN()
				}
			}
			// Nodata in the second block only, so other blocks have none.
			if nodata && i >= renderBlock && i < 2*renderBlock && rng.IntN(40) == 0 {
				v = 3
			}
			b.Set(i, v)
		}
		return b
	}
	types := []raster.DataType{raster.Byte, raster.UInt16, raster.Int16, raster.Float32, raster.Float64}
	formulas := []string{"a", "a * 2 - b", "(a + b) / 2 - c / 4", "where(a > 100, b, c)", "a == NULL", "~(a > 50) + b", "log(a) + sqrt(b)", "a / (b - 3)"}
	colormaps := []string{
		"", // grayscale over the request's range
		`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000", "range": [0, 190]}`,
		`{"continuous": true, "from": "#0000ff80", "to": "#ff000010", "range": [-20, 60]}`,
		`{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [-1.7976931348623157e308, 1.7976931348623157e308]}`,
		`viridis`,
		// Coloured once the whole result is there: no range, and discrete ones (counts).
		`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`,
		`{"1": "#ff0000", "50": "#00ff00", "x > 100": "#0000ff", "x == NULL": "#ffffff"}`,
	}
	for _, size := range [][2]int{{256, 256}, {300, 17}, {1, 1}, {64, 65}} {
		for ti, typ := range types {
			bands := map[string]*raster.Band{
				"a": band(typ, size[0], size[1], ti%2 == 0),
				"b": band(types[(ti+1)%len(types)], size[0], size[1], true),
				"c": band(types[(ti+2)%len(types)], size[0], size[1], false),
			}
			for _, f := range formulas {
				for ci, cms := range colormaps {
					name := fmt.Sprintf("%dx%d/%v/%s/cm%d", size[0], size[1], typ, f, ci)
					r := Request{Bands: bands, Formula: mustCompile(t, f), Range: &[2]float64{-10, 150}}
					if cms != "" {
						r.Colormap = mustColormap(t, cms)
						r.Range = nil
						if _, _, own := r.Colormap.Range(); !own && ci < 4 {
							r.Range = &[2]float64{0, 1}
						}
						if ci == 6 && size[0] == 64 {
							r.Entries = []string{"50", "x == NULL"}
						}
					}
					if !blockwise(r) {
						t.Fatalf("%s: not blockwise", name)
					}
					got, err := Render(r)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					var want Output
					if err := renderWhole(r, &want); err != nil {
						t.Fatalf("%s: whole: %v", name, err)
					}
					sameResult(t, name, got.Values, want.Values)
					if g, w := fmt.Sprint(got.Counts), fmt.Sprint(want.Counts); g != w {
						t.Fatalf("%s: counts %s, want %s", name, g, w)
					}
					for i := range want.Image.Pix {
						if got.Image.Pix[i] != want.Image.Pix[i] {
							t.Fatalf("%s: byte %d (pixel %d): %d a block at a time, %d the whole tile", name, i, i/4, got.Image.Pix[i], want.Image.Pix[i])
						}
					}
					got.Release()
					want.Release()
				}
			}
		}
	}
}

func sameResult(t *testing.T, name string, got, want formula.Result) {
	t.Helper()
	if got.HasNoData != want.HasNoData || (got.NoData != want.NoData && !(math.IsNaN(got.NoData) && math.IsNaN(want.NoData))) ||
		len(got.Values) != len(want.Values) || (got.Mask == nil) != (want.Mask == nil) {
		t.Fatalf("%s: result %v %v %d values mask %v, want %v %v %d mask %v", name, got.HasNoData, got.NoData, len(got.Values), got.Mask != nil,
			want.HasNoData, want.NoData, len(want.Values), want.Mask != nil)
	}
	for i, v := range want.Values {
		if got.Mask != nil && got.Mask[i] != want.Mask[i] {
			t.Fatalf("%s: pixel %d nodata %v, want %v", name, i, got.Mask[i], want.Mask[i])
		}
		if g := got.Values[i]; math.Float64bits(g) != math.Float64bits(v) && !(math.IsNaN(g) && math.IsNaN(v)) {
			t.Fatalf("%s: pixel %d = %v, want %v", name, i, g, v)
		}
	}
}

// TestBlockwise: which requests are evaluated a block at a time, and which are coloured so.
func TestBlockwise(t *testing.T) {
	cont := mustColormap(t, `{"continuous": true, "from": "#000000", "to": "#ffffff"}`)
	ranged := mustColormap(t, `{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [0, 1]}`)
	disc := mustColormap(t, `{"1": "#ff0000"}`)
	rg := &[2]float64{0, 1}
	for _, tc := range []struct {
		name           string
		r              Request
		blocks, colour bool
	}{
		{"grey over the layer's range", Request{Formula: mustCompile(t, "x"), Range: rg}, true, true},
		{"grey over the tile's own range", Request{Formula: mustCompile(t, "x")}, true, false},
		{"a colormap with its range", Request{Formula: mustCompile(t, "a-b"), Colormap: ranged}, true, true},
		{"a colormap without one, the request's", Request{Formula: mustCompile(t, "a-b"), Colormap: cont, Range: rg}, true, true},
		{"a colormap without any range", Request{Formula: mustCompile(t, "a-b"), Colormap: cont}, true, false},
		{"discrete", Request{Formula: mustCompile(t, "a"), Colormap: disc}, true, false},
		{"entries", Request{Formula: mustCompile(t, "a"), Colormap: ranged, Entries: []string{"x"}}, true, false},
		{"a reduction", Request{Formula: mustCompile(t, "a - mean(a)"), Colormap: ranged}, false, true},
		{"one number", Request{Formula: mustCompile(t, "1 + 2"), Colormap: ranged}, false, true},
	} {
		if b, c := blockwise(tc.r), colourBlocks(tc.r); b != tc.blocks || c != tc.colour {
			t.Errorf("%s: blockwise %v, colourBlocks %v; want %v, %v", tc.name, b, c, tc.blocks, tc.colour)
		}
	}
}
