package tileview

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// serverTile is a .msgpack answer of the tile server (bands a: Float32 ramp with nodata,
// b: UInt16 constant 7), kept by backend/internal/tiles' tests.
func serverTile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "rawtile", "testdata", "server-algebra.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRenderMatchesServerRenderer renders the server's raw tile in "the browser" and
// compares with shared/render on the same bands: the server's PNG path.
func TestRenderMatchesServerRenderer(t *testing.T) {
	data := serverTile(t)
	tl, err := rawtile.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := colormap.Parse([]byte(`{"continuous": true, "from": "#000080", "to": "#ffff00"}`))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := formula.Compile("a*b")
	if err != nil {
		t.Fatal(err)
	}
	want, err := render.Render(render.Request{Bands: tl.Bands, Formula: prog, Colormap: cm})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(data, Options{Formula: "a*b", Colormap: `{'continuous': true, 'from': '#000080', 'to': '#ffff00'}`})
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 256 || got.Height != 256 || !bytes.Equal(got.RGBA, want.Image.Pix) {
		t.Fatalf("browser rendering differs from the server renderer")
	}
	// Pixel 0 is nodata: transparent; the last pixel is the top of the range: yellow.
	if got.RGBA[3] != 0 {
		t.Errorf("nodata pixel alpha %d", got.RGBA[3])
	}
	if last := got.RGBA[len(got.RGBA)-4:]; last[0] != 255 || last[1] != 255 || last[2] != 0 || last[3] != 255 {
		t.Errorf("last pixel %v, want yellow", last)
	}
}

func TestRenderDiscreteCounts(t *testing.T) {
	got, err := Render(serverTile(t), Options{Formula: "b", Colormap: `{"7": "#ff0000", "8": "#00ff00"}`})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Counts.Map(); m["7"] != 256*256 || m["8"] != 0 {
		t.Errorf("counts %v", m)
	}
}

func TestRenderRGB(t *testing.T) {
	z := tile.ZXY{Z: 1}
	tl := &rawtile.Tile{Tile: z, Bounds: z.Bounds(), Width: 2, Height: 1, Bands: map[string]*raster.Band{}}
	for i, n := range []string{"r", "g", "b"} {
		b := raster.New(raster.Byte, 2, 1)
		b.Set(0, float64(10*(i+1)))
		tl.Bands[n] = b
	}
	data, err := rawtile.Encode(tl)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(data, Options{Alpha: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{10, 20, 30, 255, 0, 0, 0, 0}; !bytes.Equal(got.RGBA, want) {
		t.Errorf("RGBA %v, want %v", got.RGBA, want)
	}
}

func TestErrors(t *testing.T) {
	data := serverTile(t)
	tests := []struct {
		name  string
		data  []byte
		opt   Options
		check func(error) bool
	}{
		{"syntax error has a position", data, Options{Formula: "a + (b"}, func(err error) bool {
			var fe *FormulaError
			return errors.As(err, &fe) && fe.Start == 6 && fe.End == 6 && fe.Snippet != ""
		}},
		{"unknown band has its position", data, Options{Formula: "a + zz"}, func(err error) bool {
			var fe *FormulaError
			return errors.As(err, &fe) && fe.Start == 4 && fe.End == 6
		}},
		{"bad colormap", data, Options{Formula: "a", Colormap: `{"1": "nope"}`}, func(err error) bool { return errors.Is(err, colormap.ErrInvalidColor) }},
		{"unknown named colormap", data, Options{Formula: "a", Colormap: "nosuch"}, func(err error) bool { return errors.Is(err, colormap.ErrUnknownName) }},
		{"not a raw tile", []byte("hello"), Options{Formula: "a"}, func(err error) bool { return errors.Is(err, rawtile.ErrInvalid) }},
		{"no formula and no rgb bands", data, Options{}, func(err error) bool { return errors.Is(err, render.ErrInvalid) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.data, tc.opt)
			if err == nil || !tc.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	vars, err := Check("a + b*mean(c)", nil)
	if err != nil || len(vars) != 3 || vars[0] != "a" || vars[2] != "c" {
		t.Errorf("Check = %v, %v", vars, err)
	}
	if _, err := Check("a + c", []string{"a", "b"}); err == nil {
		t.Error("an unknown name passed")
	} else if fe := (*FormulaError)(nil); !errors.As(err, &fe) || fe.Start != 4 {
		t.Errorf("error %v", err)
	}
	if _, err := Check("a +", nil); err == nil {
		t.Error("a syntax error passed")
	}
}

// TestReleaseReuse renders, releases and renders again with another formula and colormap,
// then the first once more: buffers handed back by Release must not leak into later images.
func TestReleaseReuse(t *testing.T) {
	data := serverTile(t)
	first := Options{Formula: "a*b", Colormap: "viridis"}
	img, err := Render(data, first)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(img.RGBA)
	img.Release()
	if img.RGBA != nil {
		t.Fatal("RGBA still set after Release")
	}
	img.Release() // twice is harmless
	other, err := Render(data, Options{Formula: "b-a", Colormap: `{"continuous": true, "from": "#ff0000", "to": "#0000ff"}`})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.RGBA, want) {
		t.Fatal("the second image equals the first: the test proves nothing")
	}
	other.Release()
	again, err := Render(data, first)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if !bytes.Equal(again.RGBA, want) {
		t.Error("rendering again after Release gave different pixels")
	}
}

// TestParseCache checks the kept formulas and colormaps: a formula kept for one tile's band
// names is not reused for a tile whose names lack its variables, errors are not kept, and
// renders past the cache's size still match fresh ones.
func TestParseCache(t *testing.T) {
	data := serverTile(t) // bands a and b
	z := tile.ZXY{Z: 1}
	only := raster.New(raster.Byte, 2, 1)
	other, err := rawtile.Encode(&rawtile.Tile{Tile: z, Bounds: z.Bounds(), Width: 2, Height: 1, Bands: map[string]*raster.Band{"c": only}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(data, Options{Formula: "a*b", Colormap: "viridis"}); err != nil {
		t.Fatal(err)
	}
	// The kept program is per set of band names: over a tile with only band c the formula
	// is compiled again, and the browser gets the error with its position.
	var fe *FormulaError
	if _, err := Render(other, Options{Formula: "a*b", Colormap: "viridis"}); !errors.As(err, &fe) || fe.Start != 0 || fe.End != 1 {
		t.Fatalf("a*b over a tile with only band c: %v, want a formula error at 0:1", err)
	}
	for i := 0; i < 2; i++ { // an error twice: still an error, not a kept nil
		if _, err := Render(data, Options{Formula: "a +", Colormap: "viridis"}); err == nil {
			t.Fatal("a bad formula rendered")
		}
		if _, err := Render(data, Options{Formula: "a", Colormap: "no-such-map"}); err == nil {
			t.Fatal("an unknown colormap rendered")
		}
	}
	fresh := func(f, cmap string) []byte {
		tl, err := rawtile.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := colormap.Parse([]byte(cmap))
		if err != nil {
			t.Fatal(err)
		}
		p, err := formula.Compile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := render.Render(render.Request{Bands: tl.Bands, Formula: p, Colormap: cm})
		if err != nil {
			t.Fatal(err)
		}
		return out.Image.Pix
	}
	for i := range 2*maxParsed + 3 { // through the cache's clearing, each once, then again
		f := fmt.Sprintf("a*b+%d", i%(maxParsed+5))
		cmap := fmt.Sprintf(`{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [0, %d]}`, 1000+i%(maxParsed+7))
		img, err := Render(data, Options{Formula: f, Colormap: cmap})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img.RGBA, fresh(f, cmap)) {
			t.Fatalf("render %d (%s, %s) differs from a fresh one", i, f, cmap)
		}
		img.Release()
	}
}

// TestParseCacheNames checks that the kept program of a formula is per exact set of band
// names: bands "a" and "b" and a single band named "a\x00b" (a name may hold any byte) are
// different sets, so "a" over the latter is still the unknown-variable error at 0:1.
func TestParseCacheNames(t *testing.T) {
	z := tile.ZXY{Z: 1}
	enc := func(names ...string) []byte {
		bands := map[string]*raster.Band{}
		for _, n := range names {
			bands[n] = raster.New(raster.Byte, 2, 1)
		}
		data, err := rawtile.Encode(&rawtile.Tile{Tile: z, Bounds: z.Bounds(), Width: 2, Height: 1, Bands: bands})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if _, err := Render(enc("a", "b"), Options{Formula: "a"}); err != nil {
		t.Fatal(err)
	}
	var fe *FormulaError
	if _, err := Render(enc("a\x00b"), Options{Formula: "a"}); !errors.As(err, &fe) || fe.Start != 0 || fe.End != 1 {
		t.Fatalf("a over a tile with only band %q: %v, want a formula error at 0:1", "a\x00b", err)
	}
}
