package tiles

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// FuzzParseLayers: any input gives a valid list or an ErrInvalid error, never a panic; a
// valid list re-encodes to input that parses to the same list.
func FuzzParseLayers(f *testing.F) {
	for _, s := range []string{"a=1,b=4", "r:0=23,g:1=23,b:2=23", "a=", "=1", "a:x=1", "a:1:2=3", ",", "a=1,a=2", "x=layer name.tif"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseLayers(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if len(vs) == 0 || len(vs) > MaxLayers {
			t.Fatalf("%d layers", len(vs))
		}
		parts := make([]string, len(vs))
		for i, v := range vs {
			if v.Name == "" || v.Ref == "" || v.Band < 0 || v.Band > MaxBand {
				t.Fatalf("bad entry %+v", v)
			}
			parts[i] = v.Name + ":" + itoa(v.Band) + "=" + v.Ref
		}
		again, err := ParseLayers(strings.Join(parts, ","))
		if err != nil || len(again) != len(vs) {
			t.Fatalf("re-encoded %q: %v", strings.Join(parts, ","), err)
		}
		for i := range vs {
			if again[i] != vs[i] {
				t.Fatalf("entry %d: %+v, re-parsed %+v", i, vs[i], again[i])
			}
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzParseStats covers the statistics query parser, including the GeoJSON geometry.
func FuzzParseStats(f *testing.F) {
	f.Add("layers=x=1&formula=x&geometry=" + url.QueryEscape(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`))
	f.Add("layers=x=1&formula=x&mode=histogram&bins=3&area=1")
	f.Add("layers=x=1&formula=x&geometry=" + url.QueryEscape(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`))
	f.Add("layers=x=1&formula=x&geometry=" + url.QueryEscape(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`))
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r, err := ParseStats(v)
		if err != nil {
			return
		}
		for _, ring := range r.Rings {
			if len(ring) < 4 {
				t.Fatalf("ring of %d positions accepted", len(ring))
			}
		}
		if r.Bins < 1 || r.Bins > 1000 {
			t.Fatalf("bins %d", r.Bins)
		}
	})
}

func TestOverzoomMatchesNearestResampling(t *testing.T) {
	b := raster.New(raster.Int16, 4, 4)
	for i := 0; i < 16; i++ {
		b.Set(i, float64(i))
	}
	from := tile.ZXY{Z: 1, X: 1, Y: 0}
	// The (1,1) child at one zoom deeper: the bottom-right quadrant, each pixel doubled.
	got := overzoom(b, from, tile.ZXY{Z: 2, X: 3, Y: 1})
	want := []float64{10, 10, 11, 11, 10, 10, 11, 11, 14, 14, 15, 15, 14, 14, 15, 15}
	for i, w := range want {
		if got.At(i) != w {
			t.Fatalf("pixel %d = %v, want %v", i, got.At(i), w)
		}
	}
}

// TestOverzoomEveryType compares overzoom with a pixel-by-pixel nearest-neighbour reference
// (the arithmetic before its row and pixel loops) for every pixel type, one to four zooms
// deeper, at children in each corner and inside, on tiles of an odd width too.
func TestOverzoomEveryType(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	from := tile.ZXY{Z: 3, X: 5, Y: 2}
	for _, dt := range []raster.DataType{raster.Byte, raster.Int8, raster.UInt16, raster.Int16, raster.UInt32, raster.Int32, raster.Float32, raster.Float64} {
		for _, w := range []int{256, 37} {
			b := raster.New(dt, w, w)
			b.HasNoData, b.NoData = true, 7
			for i := range b.Data {
				b.Data[i] = byte(rng.Uint32())
			}
			for k := 1; k <= 4; k++ {
				n := 1 << k
				for _, off := range [][2]int{{0, 0}, {n - 1, 0}, {0, n - 1}, {n - 1, n - 1}, {n / 2, n/2 - 1 + n%2}} {
					to := tile.ZXY{Z: from.Z + k, X: from.X<<k + off[0], Y: from.Y<<k + off[1]}
					got := overzoom(b, from, to)
					if got.Type != dt || got.Width != w || got.Height != w || !got.HasNoData || got.NoData != 7 {
						t.Fatalf("%v %d×%d nodata %v %v", got.Type, got.Width, got.Height, got.HasNoData, got.NoData)
					}
					size, scale := dt.Size(), float64(n)
					for r := 0; r < w; r++ {
						sr := min(w-1, int((float64(off[1])+(float64(r)+0.5)/float64(w))*float64(w)/scale))
						for c := 0; c < w; c++ {
							sc := min(w-1, int((float64(off[0])+(float64(c)+0.5)/float64(w))*float64(w)/scale))
							g := got.Data[(r*w+c)*size : (r*w+c+1)*size]
							if want := b.Data[(sr*w+sc)*size : (sr*w+sc+1)*size]; !bytes.Equal(g, want) {
								t.Fatalf("%v width %d, %d zooms deeper at %v: pixel (%d,%d) = %x, want source (%d,%d) %x", dt, w, k, off, c, r, g, sc, sr, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestSpans(t *testing.T) {
	// A square 0..10 with a hole 4..6: on y=5 the inside is [0,4) and [6,10).
	rings := [][][2]float64{
		{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}},
		{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}},
	}
	xs := spans(rings, 5, nil)
	if len(xs) != 4 || xs[0] != 0 || xs[1] != 4 || xs[2] != 6 || xs[3] != 10 {
		t.Fatalf("crossings %v", xs)
	}
}

func BenchmarkOverzoom(b *testing.B) {
	src := raster.New(raster.Float32, 256, 256)
	b.ReportAllocs()
	for b.Loop() {
		overzoom(src, tile.ZXY{Z: 10, X: 5, Y: 5}, tile.ZXY{Z: 12, X: 21, Y: 22})
	}
}

func BenchmarkSpans(b *testing.B) {
	ring := make([][2]float64, 0, 1001)
	for i := 0; i <= 1000; i++ {
		a := float64(i) / 1000 * 6.283185307179586
		ring = append(ring, [2]float64{1000 * math.Cos(a), 1000 * math.Sin(a)})
	}
	rings := [][][2]float64{ring}
	var xs []float64
	b.ReportAllocs()
	for b.Loop() {
		for y := -999.5; y < 1000; y += 8 {
			xs = spans(rings, y, xs)
		}
	}
}

func TestPublicSource(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/tessera/uploads/ab12-dem.tif":                      "ab12-dem.tif",
		"https://user:secret@example.com/data/dem.tif?X-Amz-Sig=abc": "https://example.com/data/dem.tif",
		"s3://bucket/key/scene.tif":                                  "s3://bucket/key/scene.tif",
		"dem.tif":                                                    "dem.tif",
	} {
		if got := publicSource(in); got != want {
			t.Errorf("publicSource(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkParseLayers parses an algebra request's layers= (every tile request does).
func BenchmarkParseLayers(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLayers("r:2=scene,n:3=scene,c=landcover"); err != nil {
			b.Fatal(err)
		}
	}
}
