package colormap

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestNamedStrip renders every named colormap as a 256×10 strip, stacked in List order,
// and compares it with testdata/named.png (shown in docs/colormaps.md) on decoded pixels.
// go test ./shared/colormap -run TestNamedStrip -update rewrites it.
func TestNamedStrip(t *testing.T) {
	const w, rowH = 256, 10
	names := List()
	img := image.NewNRGBA(image.Rect(0, 0, w, rowH*len(names)))
	vals := make([]float64, w)
	for i := range vals {
		vals[i] = float64(i)
	}
	row := make([]uint8, 4*w)
	for k, n := range names {
		c, err := Named(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Colorize(row, formula.Array{Values: vals}, nil); err != nil {
			t.Fatal(err)
		}
		for y := 0; y < rowH; y++ {
			copy(img.Pix[(k*rowH+y)*img.Stride:], row)
		}
	}
	path := filepath.Join("testdata", "named.png")
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("golden %v, rendered %v (a colormap added? run with -update)", want.Bounds(), img.Bounds())
	}
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < w; x++ {
			if got, exp := img.NRGBAAt(x, y), color.NRGBAModel.Convert(want.At(x, y)); got != exp {
				actual := filepath.Join("testdata", "named.actual.png")
				if out, err := os.Create(actual); err == nil {
					png.Encode(out, img)
					out.Close()
				}
				t.Fatalf("%s at x=%d: %v, golden %v; actual image written to %s", names[y/rowH], x, got, exp, actual)
			}
		}
	}
}
