package render

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

var update = flag.Bool("update", false, "rewrite the golden tiles in testdata")

// testTile is a 256×256 Float32 tile: a diagonal ramp from 0 to 100, a nodata (-9999)
// square in the top-left corner and a band of the class values 1, 2, 3 along the bottom.
func testTile() *raster.Band {
	const n = 256
	b := raster.New(raster.Float32, n, n)
	b.HasNoData, b.NoData = true, -9999
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := float64(x+y) / float64(2*(n-1)) * 100
			switch {
			case x < 32 && y < 32:
				v = -9999
			case y >= n-16:
				v = float64(1 + x*3/n)
			}
			b.Set(y*n+x, v)
		}
	}
	return b
}

func mustCompile(t testing.TB, src string) *formula.Program {
	t.Helper()
	p, err := formula.Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return p
}

func mustColormap(t testing.TB, s string) *colormap.Colormap {
	t.Helper()
	c, err := colormap.Parse([]byte(s))
	if err != nil {
		t.Fatalf("colormap.Parse(%s): %v", s, err)
	}
	return c
}

// TestGoldenTiles renders the test tile in formula mode and compares the decoded pixels
// with testdata/*.png; go test ./shared/render -run TestGoldenTiles -update rewrites them.
// The colour rules themselves are pinned by exact unit tests in package colormap; these
// goldens catch any change of the whole pipeline, and a few pixels are checked by hand.
func TestGoldenTiles(t *testing.T) {
	tile := testTile()
	tests := []struct {
		name     string
		formula  string
		colormap string // "" = grayscale
		rng      *[2]float64
		entries  []string
		enhance  Enhance
		pixels   map[[2]int][4]uint8 // hand-checked pixels
		counts   string
	}{
		{name: "grayscale", formula: "x",
			pixels: map[[2]int][4]uint8{
				{0, 0}:     {0, 0, 0, 0},         // nodata
				{255, 239}: {255, 255, 255, 255}, // the largest value, 494/510·100
				{0, 255}:   {0, 0, 0, 255},       // the smallest, class 1
			}},
		{name: "continuous_over", formula: "x", colormap: `{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000", "range": [0, 100]}`,
			pixels: map[[2]int][4]uint8{
				{0, 0}:   {0, 0, 0, 0},
				{0, 255}: {5, 5, 255, 255},     // v = 1: t = 0.01, 2t·255 = 5.1
				{255, 0}: {255, 255, 255, 255}, // v = 50: the over colour
			}},
		{name: "discrete_formula", formula: "x", colormap: `{"x < 25": "#1a9850", "(x >= 25) & (x < 75)": "#fee08b", "x >= 75": "#d73027", "2": "#000000", "x == NULL": "#80808080"}`,
			pixels: map[[2]int][4]uint8{
				{0, 0}:     {128, 128, 128, 128},
				{100, 250}: {0, 0, 0, 255}, // class 2
				{10, 250}:  {0x1a, 0x98, 0x50, 255},
				{255, 200}: {0xd7, 0x30, 0x27, 255},
			},
			counts: countsOf(tile, func(v float64) bool { return v < 25 }, func(v float64) bool { return v >= 25 && v < 75 },
				func(v float64) bool { return v >= 75 }, func(v float64) bool { return v == 2 }, nil)},
		{name: "entries", formula: "x", colormap: `{"1": "#ff0000", "2": "#00ff00", "3": "#0000ff"}`, entries: []string{"3", "1"},
			pixels: map[[2]int][4]uint8{
				{0, 250}:   {255, 0, 0, 255},
				{100, 250}: {0, 0, 0, 0},
				{255, 250}: {0, 0, 255, 255},
			},
			counts: `{"1":1376,"3":1360}`},
		{name: "viridis_layer_range", formula: "x * 2", colormap: `viridis`, rng: &[2]float64{0, 200},
			pixels: map[[2]int][4]uint8{{0, 0}: {0, 0, 0, 0}}},
		{name: "enhanced", formula: "x", colormap: `terrain`,
			enhance: Enhance{Color: Factor(1.5), Contrast: Factor(1.2), Brightness: Factor(0.9), Sharpness: Factor(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Bands: map[string]*raster.Band{"x": tile}, Formula: mustCompile(t, tt.formula), Range: tt.rng, Entries: tt.entries, Enhance: tt.enhance}
			if tt.colormap != "" {
				req.Colormap = mustColormap(t, tt.colormap)
			}
			out, err := Render(req)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Values.Values) != 256*256 {
				t.Errorf("Values has %d values", len(out.Values.Values))
			}
			for p, want := range tt.pixels {
				if got := out.Image.NRGBAAt(p[0], p[1]); [4]uint8{got.R, got.G, got.B, got.A} != want {
					t.Errorf("pixel %v = %v, want %v", p, got, want)
				}
			}
			if tt.counts != "" {
				js, _ := out.Counts.MarshalJSON()
				if string(js) != tt.counts {
					t.Errorf("counts = %s, want %s", js, tt.counts)
				}
			}
			checkPalette(t, out, tt.colormap != "" && mustColormap(t, tt.colormap).Kind() == colormap.Discrete)
			golden(t, out.Image, tt.name+".png")
		})
	}
}

// checkPalette fails unless out has a palette when want says so, and every pixel's colour is
// in it, each colour once.
func checkPalette(t *testing.T, out *Output, want bool) {
	t.Helper()
	pal := out.Palette()
	if (pal != nil) != want {
		t.Fatalf("palette %v, want one: %v", pal, want)
	}
	if pal == nil {
		return
	}
	in := map[color.NRGBA]bool{}
	for _, c := range pal {
		if in[c] {
			t.Errorf("palette %v holds %v twice", pal, c)
		}
		in[c] = true
	}
	img := out.Image
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if c := img.NRGBAAt(x, y); !in[c] {
				t.Fatalf("pixel (%d,%d) is %v, not in the palette %v", x, y, c, pal)
			}
		}
	}
}

// TestPalette checks which renderings name their colours (Output.Palette): discrete
// colormaps, over the whole tile or block by block, with entries selected, enhanced but not
// in sharpness (the colours enhanced); that keys no pixel has are left out, and a colour
// two keys share, or an enhancement makes one, is named once.
func TestPalette(t *testing.T) {
	tile := testTile()
	classes := `{"1": "#ff0000", "2": "#00ff00", "3": "#0000ff", "200": "#ffffff", "x > 1000": "#123456"}`
	one := 1.0
	// The mean luminance of the classes' tile (contrast's grey): 16 rows of red, green and blue
	// thirds, the rest transparent black.
	mean := uint8(5) // int(16·(86·76 + 85·150 + 85·29) / 65536 + 0.5)
	tests := []struct {
		name     string
		formula  string
		colormap string
		entries  []string
		enhance  Enhance
		rgb      bool
		want     []color.NRGBA // nil: no palette
	}{
		{"classes, keys without pixels left out", "x", classes, nil, Enhance{}, false,
			[]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {}}},
		{"a reduction: the whole tile at once", "x - min(x) + 1", classes, nil, Enhance{}, false,
			[]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {}}},
		{"entries", "x", classes, []string{"3", "200"}, Enhance{}, false, []color.NRGBA{{0, 0, 255, 255}, {}}},
		{"two keys of one colour: once", "x", `{"1": "#ff0000", "2": "#0000ff", "3": "#ff0000"}`, nil, Enhance{}, false,
			[]color.NRGBA{{255, 0, 0, 255}, {0, 0, 255, 255}, {}}},
		{"no key selects a pixel", "x", classes, []string{"200"}, Enhance{}, false, []color.NRGBA{{}}},
		{"an enhancement factor of 1 changes nothing", "x", classes, nil, Enhance{Contrast: &one}, false,
			[]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {}}},
		{"brightness changes the colours, the palette too", "x", classes, nil, Enhance{Brightness: Factor(0.5)}, false,
			[]color.NRGBA{{127, 0, 0, 255}, {0, 127, 0, 255}, {0, 0, 127, 255}, {}}},
		{"contrast 0 makes them one", "x", classes, nil, Enhance{Contrast: Factor(0)}, false,
			[]color.NRGBA{{mean, mean, mean, 255}, {mean, mean, mean, 0}}},
		{"sharpness mixes them", "x", classes, nil, Enhance{Sharpness: Factor(2)}, false, nil},
		{"sharpness with colour", "x", classes, nil, Enhance{Color: Factor(2), Sharpness: Factor(2)}, false, nil},
		{"continuous", "x", `{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [0, 3]}`, nil, Enhance{}, false, nil},
		{"grayscale", "x", "", nil, Enhance{}, false, nil},
		{"RGB", "", "", nil, Enhance{}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Bands: map[string]*raster.Band{"x": tile}, Entries: tt.entries, Enhance: tt.enhance}
			if tt.rgb {
				req.Bands = map[string]*raster.Band{"r": tile, "g": tile, "b": tile}
				req.RGB = &RGB{}
			} else {
				req.Formula = mustCompile(t, tt.formula)
			}
			if tt.colormap != "" {
				req.Colormap = mustColormap(t, tt.colormap)
			}
			out, err := Render(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Palette(); !slices.Equal(got, tt.want) {
				t.Errorf("palette %v, want %v", got, tt.want)
			}
			checkPalette(t, out, tt.want != nil)
		})
	}
}

// TestPaletteOwnFactors checks Output.Palette keeps the enhancement the pixels had: a
// caller's factor changed after Render (the Request holds pointers) does not reach it.
func TestPaletteOwnFactors(t *testing.T) {
	f := 0.5
	out, err := Render(Request{Bands: map[string]*raster.Band{"x": testTile()}, Formula: mustCompile(t, "x"),
		Colormap: mustColormap(t, `{"1": "#ff0000", "2": "#00ff00"}`), Enhance: Enhance{Brightness: &f}})
	if err != nil {
		t.Fatal(err)
	}
	want := out.Palette()
	f = 2
	if got := out.Palette(); !slices.Equal(got, want) {
		t.Errorf("palette %v after the factor changed, want %v", got, want)
	}
	checkPalette(t, out, true)
}

// TestEnhancedPalette checks the palette of a discrete colormap's tile enhanced in colour,
// contrast and brightness (Output.Palette, the colours changed as the pixels were): the
// tile written as a palette PNG of it decodes to the pixels of the RGBA answer's PNG, for
// each factor, alone and together, over the whole tile and block by block.
func TestEnhancedPalette(t *testing.T) {
	tile := testTile()
	classes := `{"1": "#ff0000", "2": "#00ff0080", "3": "#2040c0", "x < 30": "#ffffff", "(x >= 30) & (x < 60)": "#808000", "x >= 60": "#000000"}`
	var enhancements []Enhance
	for _, f := range []float64{0, 0.3, 0.5, 1, 1.7, 2, 3, 100} {
		enhancements = append(enhancements, Enhance{Color: Factor(f)}, Enhance{Contrast: Factor(f)}, Enhance{Brightness: Factor(f)})
	}
	enhancements = append(enhancements,
		Enhance{Color: Factor(0.5), Contrast: Factor(2), Brightness: Factor(1.5)},
		Enhance{Color: Factor(3), Contrast: Factor(0.2), Brightness: Factor(0.7), Sharpness: Factor(1)})
	for _, formula := range []string{"x", "x + 0 * min(x)"} { // block by block, the whole tile (a reduction)
		for _, en := range enhancements {
			t.Run(fmt.Sprintf("%s %s", formula, enhanceName(en)), func(t *testing.T) {
				out, err := Render(Request{Bands: map[string]*raster.Band{"x": tile}, Formula: mustCompile(t, formula),
					Colormap: mustColormap(t, classes), Enhance: en})
				if err != nil {
					t.Fatal(err)
				}
				checkPalette(t, out, true)
				pal := out.Palette()
				img := out.Image
				index := map[color.NRGBA]uint8{}
				cp := make(color.Palette, len(pal))
				for i, c := range pal {
					index[c], cp[i] = uint8(i), c
				}
				paletted := image.NewPaletted(img.Rect, cp)
				for i := range paletted.Pix {
					paletted.Pix[i] = index[color.NRGBA{img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3]}]
				}
				comparePixels(t, pngRoundTrip(t, paletted), pngRoundTrip(t, img), "enhanced_palette.png")
			})
		}
	}
}

// enhanceName names the factors set in e.
func enhanceName(e Enhance) string {
	var parts []string
	for _, f := range []struct {
		name string
		v    *float64
	}{{"color", e.Color}, {"contrast", e.Contrast}, {"brightness", e.Brightness}, {"sharpness", e.Sharpness}} {
		if f.v != nil {
			parts = append(parts, fmt.Sprintf("%s=%v", f.name, *f.v))
		}
	}
	return strings.Join(parts, ",")
}

// pngRoundTrip writes img with image/png and decodes it, as NRGBA.
func pngRoundTrip(t *testing.T, img image.Image) *image.NRGBA {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	n := image.NewNRGBA(back.Bounds())
	for y := n.Rect.Min.Y; y < n.Rect.Max.Y; y++ {
		for x := n.Rect.Min.X; x < n.Rect.Max.X; x++ {
			n.SetNRGBA(x, y, color.NRGBAModel.Convert(back.At(x, y)).(color.NRGBA))
		}
	}
	return n
}

// countsOf is the test's own count of the discrete_formula keys: pixels where each
// predicate holds, nodata left out; a nil predicate counts the nodata pixels.
func countsOf(b *raster.Band, preds ...func(float64) bool) string {
	vals, mask := b.Decode(nil, nil)
	keys := []string{"x < 25", "(x >= 25) & (x < 75)", "x >= 75", "2", "x == NULL"}
	var cs colormap.Counts
	for k, p := range preds {
		n := 0
		for i, v := range vals {
			if p == nil && mask[i] || p != nil && !mask[i] && p(v) {
				n++
			}
		}
		cs = append(cs, colormap.Count{Key: keys[k], N: n})
	}
	js, _ := cs.MarshalJSON()
	return string(js)
}

func golden(t *testing.T, img *image.NRGBA, name string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	comparePixels(t, img, readPNG(t, path), name)
}

func TestRenderFormulaErrors(t *testing.T) {
	tile := testTile()
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"variable without a band", Request{Bands: map[string]*raster.Band{"x": tile}, Formula: mustCompile(t, "x + y")}, ErrInvalid},
		{"band of another size", Request{Bands: map[string]*raster.Band{"x": tile, "y": raster.New(raster.Byte, 2, 2)}, Formula: mustCompile(t, "x + y")}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Render(tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("Render error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRenderScalar(t *testing.T) {
	// A formula that is one number fills the tile (django-raster broke on it).
	out, err := Render(Request{Width: 4, Height: 2, Formula: mustCompile(t, "2 + 3"),
		Colormap: mustColormap(t, `{"5": "#ff0000"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(out.Image.Pix); i += 4 {
		if got := out.Image.Pix[i : i+4]; !bytes.Equal(got, []byte{255, 0, 0, 255}) {
			t.Fatalf("pixel %d = %v, want red", i/4, got)
		}
	}
	if js, _ := out.Counts.MarshalJSON(); string(js) != `{"5":8}` {
		t.Fatalf("counts = %s", js)
	}
}

// TestRenderReleaseReuse renders after Release has pooled a previous output's buffers,
// alternating requests whose pixels and nodata differ, and checks each image against a
// rendering that never used the pools (Colorize over Evaluate): a stale value, mask or
// pixel left in a reused buffer would show.
func TestRenderReleaseReuse(t *testing.T) {
	full := raster.New(raster.Float32, 256, 256) // no nodata: the result has no mask
	for i := range full.Len() {
		full.Set(i, float64(i%97))
	}
	cm := mustColormap(t, `{"continuous":true,"from":"#000080","to":"#800000","over":"#ffffff"}`)
	reqs := []Request{
		{Bands: map[string]*raster.Band{"x": testTile()}, Formula: mustCompile(t, "x * 2"), Colormap: cm},
		{Bands: map[string]*raster.Band{"x": full}, Formula: mustCompile(t, "x + 1"), Colormap: cm},
		{Bands: map[string]*raster.Band{"x": testTile(), "y": full}, Formula: mustCompile(t, "x - y"), Colormap: cm},
	}
	for round := range 3 {
		for i, r := range reqs {
			res, err := Evaluate(r)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := Colorize(res, 256, 256, cm, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Render(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Image.Pix, want.Pix) {
				t.Fatalf("round %d request %d: pooled rendering differs from a fresh one", round, i)
			}
			out.Release()
			out.Release() // harmless twice
			if out.Image != nil || out.Values.Values != nil {
				t.Fatalf("round %d request %d: Release kept the buffers in the output", round, i)
			}
		}
	}
}

func TestEvaluateRaw(t *testing.T) {
	b := raster.New(raster.Int16, 3, 1)
	b.HasNoData, b.NoData = true, -1
	for i, v := range []float64{-1, 4, 9} {
		b.Set(i, v)
	}
	res, err := Evaluate(Request{Bands: map[string]*raster.Band{"a": b}, Formula: mustCompile(t, "a / 2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 3 || res.Values[1] != 2 || res.Values[2] != 4.5 || res.Mask == nil || !res.Mask[0] || res.Mask[1] {
		t.Fatalf("Evaluate = %+v", res)
	}
}

// BenchmarkRenderTile renders a 256×256 Float32 tile with a formula and a continuous
// colormap, the tile server's common case.
func BenchmarkRenderTile(b *testing.B) {
	tile := testTile()
	req := Request{
		Bands:    map[string]*raster.Band{"x": tile},
		Formula:  mustCompile(b, "x * 2 - 10"),
		Colormap: mustColormap(b, `{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000", "range": [0, 190]}`),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Render(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(256*256), "ns/pixel")
}

// BenchmarkEnhance applies all four enhancements to a 256×256 tile.
func BenchmarkEnhance(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	e := Enhance{Color: Factor(1.3), Contrast: Factor(0.8), Brightness: Factor(1.2), Sharpness: Factor(2)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := e.Apply(img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(256*256), "ns/pixel")
}

// BenchmarkRenderAlgebra2 is the cold 2-layer algebra scenario of tessera-load: two smooth
// Float32 tiles, (a+b)/2 and the bench's continuous colormap over [600, 1500].
func BenchmarkRenderAlgebra2(b *testing.B) {
	band := func(k float64) *raster.Band {
		t := raster.New(raster.Float32, 256, 256)
		t.HasNoData, t.NoData = true, -9999
		for i := range 256 * 256 {
			gx, gy := float64(i%256), float64(i/256)
			t.Set(i, 1000+400*math.Sin(gx/97+k)*math.Cos(gy/131-k)+50*math.Sin((gx+gy)/17))
		}
		return t
	}
	req := Request{
		Bands:    map[string]*raster.Band{"a": band(0), "b": band(1)},
		Formula:  mustCompile(b, "(a+b)/2"),
		Colormap: mustColormap(b, `{"continuous":true,"from":"#0000ff","over":"#ffffff","to":"#ff0000","range":[600,1500]}`),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := Render(req)
		if err != nil {
			b.Fatal(err)
		}
		out.Release() // as the server does
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(256*256), "ns/pixel")
}
