package pngenc

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/flate"
)

// goldenTiles are rendered tiles from shared/render's golden files: real colormap output.
func goldenTiles(t testing.TB) map[string]*image.NRGBA {
	t.Helper()
	paths, err := filepath.Glob("../../../shared/render/testdata/*.png")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden tiles: %v", err)
	}
	out := map[string]*image.NRGBA{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		n := image.NewNRGBA(img.Bounds())
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				n.Set(x, y, img.At(x, y))
			}
		}
		out[filepath.Base(p)] = n
	}
	return out
}

func noise(w, h int, opaque bool, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.UintN(256))
		if opaque && i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// samePixels fails unless decoding data gives exactly img's non-premultiplied pixels.
func samePixels(t *testing.T, data []byte, img *image.NRGBA) {
	t.Helper()
	back, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png cannot decode the output: %v", err)
	}
	if back.Bounds().Dx() != img.Rect.Dx() || back.Bounds().Dy() != img.Rect.Dy() {
		t.Fatalf("decoded %v, want %v", back.Bounds(), img.Rect)
	}
	b0 := back.Bounds().Min
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			want := img.NRGBAAt(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			var got [4]uint8
			switch b := back.(type) {
			case *image.NRGBA:
				c := b.NRGBAAt(b0.X+x, b0.Y+y)
				got = [4]uint8{c.R, c.G, c.B, c.A}
			case *image.RGBA: // an opaque (colour type 2) PNG decodes to RGBA
				c := b.RGBAAt(b0.X+x, b0.Y+y)
				got = [4]uint8{c.R, c.G, c.B, c.A}
			case *image.Gray: // and a grey one (colour type 0) to Gray
				c := b.GrayAt(b0.X+x, b0.Y+y)
				got = [4]uint8{c.Y, c.Y, c.Y, 255}
			default:
				t.Fatalf("decoded as %T", back)
			}
			if got != [4]uint8{want.R, want.G, want.B, want.A} {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// grey is noise with R = G = B in every pixel.
func grey(w, h int, opaque bool, seed uint64) *image.NRGBA {
	img := noise(w, h, opaque, seed)
	for i := 0; i+3 < len(img.Pix); i += 4 {
		img.Pix[i+1], img.Pix[i+2] = img.Pix[i], img.Pix[i]
	}
	return img
}

// spoil changes channel c of img's last pixel: G (1) off grey, A (3) off opaque.
func spoil(img *image.NRGBA, c int) *image.NRGBA {
	i := len(img.Pix) - 4 + c
	img.Pix[i] ^= 1
	return img
}

// wantColorType is the colour type Encode must pick for img, pixel by pixel.
func wantColorType(img *image.NRGBA) byte {
	opaque, gray := true, true
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			opaque = opaque && c.A == 255
			gray = gray && c.R == c.G && c.G == c.B
		}
	}
	switch {
	case gray && opaque:
		return 0
	case gray:
		return 4
	case opaque:
		return 2
	}
	return 6
}

func TestEncodeRoundTrip(t *testing.T) {
	sub := noise(40, 30, false, 3).SubImage(image.Rect(5, 7, 33, 29)).(*image.NRGBA)
	tests := []struct {
		name      string
		img       *image.NRGBA
		colorType byte
	}{
		{"opaque noise is RGB", noise(256, 256, true, 1), 2},
		{"translucent noise is RGBA", noise(256, 256, false, 2), 6},
		{"sub-image with a stride", sub, 6},
		{"one pixel", noise(1, 1, true, 4), 2},
		{"one column", noise(1, 9, false, 5), 6},
		{"one row", noise(9, 1, true, 6), 2},
		{"opaque grey is grey", grey(256, 256, true, 7), 0},
		{"translucent grey is grey with alpha", grey(256, 256, false, 8), 4},
		{"grey but the last pixel is not", spoil(grey(64, 64, true, 9), 1), 2},
		{"opaque grey but the last pixel is translucent", spoil(grey(64, 64, true, 10), 3), 4},
		{"grey sub-image with a stride", grey(40, 30, false, 11).SubImage(image.Rect(5, 7, 33, 29)).(*image.NRGBA), 4},
		{"one grey pixel", grey(1, 1, true, 12), 0},
	}
	for name, img := range goldenTiles(t) {
		ct := wantColorType(img)
		tests = append(tests, struct {
			name      string
			img       *image.NRGBA
			colorType byte
		}{"golden " + name, img, ct})
	}
	e, err := NewEncoder(flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.img.Pix)
			for round := 0; round < 2; round++ { // the second round reuses the buffers
				var buf bytes.Buffer
				if err := e.Encode(&buf, tt.img); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(tt.img.Pix, orig) { // rows are filtered from the image itself
					t.Fatal("Encode changed the image's pixels")
				}
				if ct := buf.Bytes()[25]; ct != tt.colorType {
					t.Fatalf("colour type %d, want %d", ct, tt.colorType)
				}
				samePixels(t, buf.Bytes(), tt.img)
			}
		})
	}
}

// TestEncodeSize checks the two-filter choice and the faster deflate keep rendered tiles as
// small as image/png's five-filter search at BestSpeed, in total, and none much larger.
func TestEncodeSize(t *testing.T) {
	var total, stdTotal int
	for name, img := range goldenTiles(t) {
		var ours, std bytes.Buffer
		if err := Encode(&ours, img); err != nil {
			t.Fatal(err)
		}
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&std, img); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, image/png %d", name, ours.Len(), std.Len())
		if ours.Len() > 2*std.Len()+1024 {
			t.Errorf("%s: %d bytes, more than twice image/png's %d", name, ours.Len(), std.Len())
		}
		total, stdTotal = total+ours.Len(), stdTotal+std.Len()
	}
	if total > stdTotal {
		t.Errorf("golden tiles: %d bytes in all, image/png %d", total, stdTotal)
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, img := range []*image.NRGBA{
		image.NewNRGBA(image.Rect(0, 0, 0, 5)),
		{Rect: image.Rect(0, 0, 1<<15, 1<<14)}, // above MaxPixels; never allocated
	} {
		if err := Encode(&bytes.Buffer{}, img); err != ErrTooLarge {
			t.Errorf("%v: err %v, want ErrTooLarge", img.Rect, err)
		}
	}
}

func FuzzEncode(f *testing.F) {
	f.Add(uint8(3), uint8(2), []byte{1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 0, 0, 0, 255, 1, 1, 1, 1, 9, 9, 9, 9})
	f.Add(uint8(1), uint8(1), []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, w, h uint8, pix []byte) {
		if w == 0 || h == 0 || len(pix) < int(w)*int(h)*4 {
			return
		}
		img := &image.NRGBA{Pix: pix[:int(w)*int(h)*4], Stride: int(w) * 4, Rect: image.Rect(0, 0, int(w), int(h))}
		var buf bytes.Buffer
		if err := Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		samePixels(t, buf.Bytes(), img)
	})
}

func BenchmarkEncode(b *testing.B) {
	imgs := goldenTiles(b)
	img := imgs["continuous_over.png"]
	if img == nil {
		b.Fatal("continuous_over.png missing")
	}
	b.Run("pngenc", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("image-png-bestspeed", func(b *testing.B) {
		b.ReportAllocs()
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
}
