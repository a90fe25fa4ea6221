package render

import (
	"bytes"
	"errors"
	"image"
	"slices"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

func band(t raster.DataType, w, h int, vals ...float64) *raster.Band {
	b := raster.New(t, w, h)
	for i, v := range vals {
		b.Set(i, v)
	}
	return b
}

func withNoData(b *raster.Band, nd float64) *raster.Band {
	b.HasNoData, b.NoData = true, nd
	return b
}

func TestComposeRGB(t *testing.T) {
	type px = [4]uint8
	tests := []struct {
		name    string
		r, g, b *raster.Band
		opt     RGB
		want    []px
	}{
		{"clip without scale; fractions truncated",
			band(raster.Float32, 4, 1, -5, 0, 127.9, 300),
			band(raster.Float32, 4, 1, 1, 2, 3, 4),
			band(raster.Float32, 4, 1, 0, 0, 0, 0),
			RGB{},
			[]px{{0, 1, 0, 255}, {0, 2, 0, 255}, {127, 3, 0, 255}, {255, 4, 0, 255}}},
		{"scale min,max is (v−min)·255/(max−min)",
			band(raster.UInt16, 3, 1, 1000, 1500, 2000),
			band(raster.UInt16, 3, 1, 999, 3000, 1200),
			band(raster.UInt16, 3, 1, 1000, 1000, 1000),
			RGB{Scale: &[2]float64{1000, 2000}},
			// 500·255/1000 = 127.5 → 127; 200·255/1000 = 51
			[]px{{0, 0, 0, 255}, {127, 255, 0, 255}, {255, 51, 0, 255}}},
		{"scale 0,255 leaves 8-bit data unchanged",
			band(raster.Byte, 3, 1, 0, 77, 255),
			band(raster.Byte, 3, 1, 1, 128, 254),
			band(raster.Byte, 3, 1, 3, 200, 100),
			RGB{Scale: &[2]float64{0, 255}},
			[]px{{0, 1, 3, 255}, {77, 128, 200, 255}, {255, 254, 100, 255}}},
		{"one-number scale on 8-bit data does not overflow (django-raster did)",
			band(raster.Byte, 2, 1, 100, 250),
			band(raster.Byte, 2, 1, 0, 0),
			band(raster.Byte, 2, 1, 0, 0),
			RGB{Scale: &[2]float64{0, 200}},
			[]px{{127, 0, 0, 255}, {255, 0, 0, 255}}},
		{"alpha: transparent only where all three are 0 (django-raster: any)",
			band(raster.Byte, 3, 1, 0, 0, 5),
			band(raster.Byte, 3, 1, 0, 9, 0),
			band(raster.Byte, 3, 1, 0, 0, 0),
			RGB{Alpha: true},
			[]px{{0, 0, 0, 0}, {0, 9, 0, 255}, {5, 0, 0, 255}}},
		{"alpha: nodata in any band is transparent",
			withNoData(band(raster.Int16, 3, 1, -1, 10, 10), -1),
			band(raster.Int16, 3, 1, 10, 10, 10),
			withNoData(band(raster.Int16, 3, 1, 10, 10, 7), 7),
			RGB{Alpha: true},
			[]px{{0, 0, 0, 0}, {10, 10, 10, 255}, {0, 0, 0, 0}}},
		{"no alpha: nodata is opaque black",
			withNoData(band(raster.Int16, 2, 1, -1, 10), -1),
			band(raster.Int16, 2, 1, 10, 10),
			band(raster.Int16, 2, 1, 10, 10),
			RGB{},
			[]px{{0, 0, 0, 255}, {10, 10, 10, 255}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(Request{Bands: map[string]*raster.Band{"r": tt.r, "g": tt.g, "b": tt.b}, RGB: &tt.opt})
			if err != nil {
				t.Fatal(err)
			}
			var got []px
			for i := 0; i < len(out.Image.Pix); i += 4 {
				got = append(got, px(out.Image.Pix[i:i+4]))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("pixels = %v, want %v", got, tt.want)
			}
			if out.Opaque != !tt.opt.Alpha || out.Counts != nil {
				t.Errorf("Opaque = %v, Counts = %v", out.Opaque, out.Counts)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	b3 := band(raster.Byte, 3, 1, 1, 2, 3)
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"neither formula nor rgb", Request{Bands: map[string]*raster.Band{"x": b3}}, ErrNoMode},
		{"rgb band missing", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3}, RGB: &RGB{}}, ErrInvalid},
		{"bands of different sizes", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3, "b": band(raster.Byte, 1, 3, 1, 2, 3)}, RGB: &RGB{}}, ErrInvalid},
		{"band with short data", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3, "b": {Type: raster.Byte, Width: 3, Height: 1, Data: []byte{1}}}, RGB: &RGB{}}, ErrInvalid},
		{"scale min == max", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3, "b": b3}, RGB: &RGB{Scale: &[2]float64{5, 5}}}, ErrInvalid},
		{"scale max below min", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3, "b": b3}, RGB: &RGB{Scale: &[2]float64{0, -1}}}, ErrInvalid},
		{"bad factor", Request{Bands: map[string]*raster.Band{"r": b3, "g": b3, "b": b3}, RGB: &RGB{}, Enhance: Enhance{Color: Factor(-1)}}, ErrInvalid},
		{"no size", Request{RGB: &RGB{}}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Render error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFlatten(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(img.Pix, []uint8{200, 100, 50, 0, 200, 100, 50, 255, 200, 100, 50, 128})
	got := Flatten(img)
	// Transparent (nodata) → black; opaque unchanged; half alpha → about half.
	want := []uint8{0, 0, 0, 255, 200, 100, 50, 255, 100, 50, 25, 255}
	if !slices.Equal(got.Pix, want) {
		t.Fatalf("Flatten = %v, want %v", got.Pix, want)
	}
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, img, 0); err != nil || buf.Len() == 0 {
		t.Fatalf("EncodeJPEG: %v, %d bytes", err, buf.Len())
	}
}
