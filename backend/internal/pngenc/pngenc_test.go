package pngenc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		out[filepath.Base(p)] = decodeFile(t, p)
	}
	return out
}

// decodeFile reads the PNG file p as an NRGBA image.
func decodeFile(t testing.TB, p string) *image.NRGBA {
	t.Helper()
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
	return n
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
			case *image.Paletted: // and a palette one (3) to Paletted, of NRGBA colours with tRNS
				c := color.NRGBAModel.Convert(b.At(b0.X+x, b0.Y+y)).(color.NRGBA)
				got = [4]uint8{c.R, c.G, c.B, c.A}
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

// spoilRow changes channel c of the first pixel of row y of img.
func spoilRow(img *image.NRGBA, y, c int) *image.NRGBA {
	img.Pix[y*img.Stride+c] ^= 1
	return img
}

// wantColorType is the colour type Encode must pick for img, pixel by pixel: grey (0) also
// when the pixels not opaque are nodata, transparent of one grey colour (k, k, k, 0), and no
// opaque pixel is grey k (a tRNS key; wantKey).
func wantColorType(img *image.NRGBA) byte {
	opaque, gray := true, true
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			opaque = opaque && c.A == 255
			gray = gray && c.R == c.G && c.G == c.B
		}
	}
	_, keyed := wantKey(img)
	switch {
	case gray && (opaque || keyed):
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
		{"opaque grey sub-image with a stride", grey(41, 30, true, 13).SubImage(image.Rect(5, 7, 34, 29)).(*image.NRGBA), 0},
		{"opaque grey but a middle row is not grey", spoilRow(grey(33, 20, true, 14), 9, 1), 2},
	}
	for name, img := range goldenTiles(t) {
		ct := wantColorType(img)
		tests = append(tests, struct {
			name      string
			img       *image.NRGBA
			colorType byte
		}{"golden " + name, img, ct})
	}
	e := NewEncoder()
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

// wantKey returns the colour of img's transparent pixels, and true when img is grey and not
// opaque, every pixel not opaque is transparent of that colour, and no opaque pixel has its
// grey: when Encode writes img as grey with a tRNS key.
func wantKey(img *image.NRGBA) (key color.NRGBA, keyed bool) {
	trans := 0
	opaqueGrey := map[uint8]bool{}
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			switch {
			case c.R != c.G || c.G != c.B:
				return key, false
			case c.A == 255:
				opaqueGrey[c.R] = true
			case c.A != 0 || (trans > 0 && c != key):
				return key, false
			default:
				key = c
				trans++
			}
		}
	}
	return key, trans > 0 && !opaqueGrey[key.R]
}

// TestScan checks scan and scanGrey against wantColorType for every width from 1 to 17 (whole
// steps of four and eight pixels and the pixels left over) with one pixel, at each place in
// the last row, off grey in R, G or B or translucent, the first row grey or not (after which
// scan checks opacity alone), and the grey bytes scanGrey packs.
func TestScan(t *testing.T) {
	for w := 1; w <= 17; w++ {
		for _, colour := range []bool{false, true} {
			for x := -1; x < w; x++ { // -1: no pixel changed
				for c := range 4 {
					if x < 0 && c > 0 {
						continue
					}
					img := grey(w, 3, true, uint64(w))
					if colour {
						img.Pix[1] ^= 0x20 // the first pixel's G
					}
					if x >= 0 {
						img.Pix[2*img.Stride+4*x+c] ^= 0x10
					}
					want := wantColorType(img)
					opaque, gr := scan(img)
					g := make([]byte, w*3)
					opaqueG, grG, _, _ := scanGrey(img, g)
					if ct := colorTypeOf(opaque, gr); ct != want {
						t.Errorf("width %d, first row grey %v, pixel %d channel %d: scan gives colour type %d, want %d", w, !colour, x, c, ct, want)
					}
					if ct := colorTypeOf(opaqueG, grG); ct != want {
						t.Errorf("width %d, first row grey %v, pixel %d channel %d: scanGrey gives colour type %d, want %d", w, !colour, x, c, ct, want)
					}
					if want == 0 { // scanGrey packed every pixel's R
						for i := range g {
							if g[i] != img.Pix[4*i] {
								t.Fatalf("width %d: scanGrey packed %v, want the R bytes of %v", w, g, img.Pix)
							}
						}
					}
				}
			}
		}
	}
}

func colorTypeOf(opaque, grey bool) byte {
	_, ct := pixelFormat(opaque, grey)
	return ct
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

// fuzzImage builds a w×h image from seed for FuzzEncode. The low two bits of mode pick the
// colour type it will be written in (forcing R = G = B, or A = 255, or both), the next two
// the content: seed's bytes repeated (noise, without matches, when seed is long), one
// colour everywhere (runs longer than deflate's 258), every row equal to the first, or
// classes (a map of seed's colours, four bytes each, in blocks of a few pixels). Bit 5 makes
// the pixels opaque or nodata (transparent of one colour, the grey seed[0] when grey): a
// grey image with a tRNS key unless an opaque pixel has that grey.
func fuzzImage(w, h int, mode uint8, seed []byte) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	if len(seed) == 0 {
		seed = []byte{0}
	}
	for i := range img.Pix {
		switch mode >> 2 & 3 {
		case 1: // constant
			img.Pix[i] = seed[i%4%len(seed)]
		case 2: // rows equal
			img.Pix[i] = seed[i%img.Stride%len(seed)]
		case 3: // classes
			x, y, n := i/4%w, i/img.Stride, max(1, len(seed)/4)
			img.Pix[i] = seed[((x/3+y/2*7)%n*4+i%4)%len(seed)]
		default:
			img.Pix[i] = seed[i%len(seed)] + uint8(i/len(seed)) // seed, shifted at each repeat
		}
	}
	for i := 0; i < len(img.Pix); i += 4 {
		if mode&1 != 0 { // grey
			img.Pix[i+1], img.Pix[i+2] = img.Pix[i], img.Pix[i]
		}
		if mode&2 != 0 { // opaque
			img.Pix[i+3] = 255
		}
		if mode&32 != 0 { // nodata: opaque, or transparent of one colour (grey when grey is set)
			if img.Pix[i+3] < 0x40 {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = seed[0], seed[len(seed)/2], seed[0], 0
				if mode&1 != 0 {
					img.Pix[i+1] = seed[0]
				}
			} else {
				img.Pix[i+3] = 255
			}
		}
	}
	return img
}

// FuzzEncode checks that every image, of any size, colour type and content, decodes to its
// own pixels, and that its zlib stream is whole (checkStream); so does EncodePalette's PNG of
// it, given its colours (bit 4 of mode leaves the last to occur out: not a palette PNG then,
// nor when the image has more than 256 colours).
func FuzzEncode(f *testing.F) {
	for mode := range uint8(16) {
		for _, wh := range [][2]uint16{{1, 1}, {1, 300}, {300, 1}, {3, 2}, {17, 9}, {255, 5}, {64, 64}} {
			f.Add(wh[0], wh[1], mode, []byte{1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 0, 0, 0, 255, 1, 1, 1, 1, 9, 9, 9, 9})
		}
	}
	f.Add(uint16(97), uint16(33), uint8(0), bytes.Repeat([]byte{0x5a, 0xa5, 7}, 400))
	rng := rand.New(rand.NewPCG(10, 11))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = uint8(rng.UintN(256))
	}
	for dist := 1; dist <= 8; dist++ { // equal rows of bytes repeating at distance dist
		f.Add(uint16(61), uint16(40), uint8(8|dist&3), noise[:dist])
	}
	f.Add(uint16(200), uint16(150), uint8(0), noise)       // noise: stored blocks
	for _, mode := range []uint8{33, 37, 41, 45, 32, 61} { // nodata, grey or not
		f.Add(uint16(70), uint16(30), mode, noise[:8+int(mode)%7])
		f.Add(uint16(64), uint16(64), mode, []byte{0, 0, 0, 0, 1, 2, 3, 255, 9, 9, 9, 9, 0})
	}
	for _, mode := range []uint8{12, 13, 14, 15, 28, 30} { // classes, a colour left out of the palette or not
		f.Add(uint16(77), uint16(41), mode, noise[:4*(1+int(mode)%5)])
		f.Add(uint16(300), uint16(220), mode, noise[:4*300]) // more than 256 colours
	}
	f.Fuzz(func(t *testing.T, w, h uint16, mode uint8, seed []byte) {
		if w == 0 || h == 0 || int(w)*int(h) > 1<<16 {
			return
		}
		img := fuzzImage(int(w), int(h), mode, seed)
		var buf bytes.Buffer
		if err := Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		samePixels(t, buf.Bytes(), img)
		checkStream(t, buf.Bytes(), img)

		pal := colours(img) // in the order the pixels first have them
		if mode&16 != 0 {
			pal = pal[:len(pal)-1] // the colour a pixel has last: index fails late
		}
		buf.Reset()
		if err := EncodePalette(&buf, img, pal); err != nil {
			t.Fatal(err)
		}
		samePixels(t, buf.Bytes(), img)
		checkStream(t, buf.Bytes(), img)
		if want := mode&16 == 0 && len(pal) <= 256; (buf.Bytes()[25] == 3) != want {
			t.Fatalf("colour type %d with %d colours offered (one left out: %v)", buf.Bytes()[25], len(pal), mode&16 != 0)
		}
	})
}

// checkStream fails unless data's IDAT is a zlib stream that compress/zlib reads whole, its
// Adler-32 checked, to one filtered row a row of img's pixels in data's colour type: the
// filter-type byte (0–4) and the bytes that, unfiltered as the PNG specification §9.2 says,
// are the row.
func checkStream(t *testing.T, data []byte, img *image.NRGBA) {
	t.Helper()
	var idat, plte, trns []byte
	ct := data[25]
	for rest := data[8:]; len(rest) >= 12; {
		n := int(binary.BigEndian.Uint32(rest))
		switch string(rest[4:8]) {
		case "IDAT":
			idat = append(idat, rest[8:8+n]...)
		case "PLTE":
			plte = rest[8 : 8+n]
		case "tRNS":
			trns = rest[8 : 8+n]
		}
		rest = rest[12+n:]
	}
	var keyed bool // grey with a tRNS key: two bytes, the 16-bit grey sample
	var key byte
	if ct == 0 && trns != nil {
		if len(trns) != 2 || trns[0] != 0 {
			t.Fatalf("grey PNG with a tRNS of %v", trns)
		}
		keyed, key, trns = true, trns[1], nil
	}
	index := paletteIndex(t, ct, plte, trns)
	used := make([]bool, len(index))
	zr, err := zlib.NewReader(bytes.NewReader(idat))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr) // ErrChecksum if the Adler-32 is wrong
	if err != nil {
		t.Fatalf("zlib: %v", err)
	}
	bpp := map[byte]int{0: 1, 4: 2, 2: 3, 6: 4, 3: 1}[ct]
	w, h := img.Rect.Dx(), img.Rect.Dy()
	n := w * bpp
	depth := int(data[24]) // the bits of a sample: 8, or of a palette index 1, 2 or 4 too
	if depth != 8 && (ct != 3 || depth != 1 && depth != 2 && depth != 4) {
		t.Fatalf("colour type %d of bit depth %d", ct, depth)
	}
	if depth < 8 {
		n = (w*depth + 7) / 8
		if len(index) > 1<<depth {
			t.Fatalf("%d colours in a palette of %d-bit indices", len(index), depth)
		}
	}
	if len(got) != h*(n+1) {
		t.Fatalf("%d filtered bytes, want %d rows of %d", len(got), h, n+1)
	}
	prev := make([]byte, n)
	for y := range h {
		row := make([]byte, n) // img's row y in colour type ct
		for x := range w {
			c := img.NRGBAAt(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			if ct == 0 && (c.A != 255 || keyed) { // transparent exactly when R is the key
				if !keyed || (c.A == 0) != (c.R == key) || (c.A != 0 && c.A != 255) {
					t.Fatalf("pixel (%d,%d): %v in a grey PNG, its tRNS key %v", x, y, c, keyed)
				}
			}
			if ct == 3 {
				i, ok := index[c]
				if !ok {
					t.Fatalf("pixel (%d,%d): %v is not in the palette", x, y, c)
				}
				used[i] = true
				bit := x * depth // the index's first bit in the row, from the first byte's high bit
				row[bit/8] |= i << (8 - depth - bit%8)
				continue
			}
			copy(row[x*bpp:], map[byte][]byte{0: {c.R}, 4: {c.R, c.A}, 2: {c.R, c.G, c.B}, 6: {c.R, c.G, c.B, c.A}}[ct])
		}
		line := got[y*(n+1) : (y+1)*(n+1)]
		ft, f := line[0], line[1:]
		for i := range n {
			var a, b, c byte // left, above, above left
			if i >= bpp {
				a, c = row[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			var pred byte
			switch ft {
			case 0:
			case 1:
				pred = a
			case 2:
				pred = b
			case 3:
				pred = byte((int(a) + int(b)) / 2)
			case 4:
				p := int(a) + int(b) - int(c)
				pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
				switch {
				case pa <= pb && pa <= pc:
					pred = a
				case pb <= pc:
					pred = b
				default:
					pred = c
				}
			default:
				t.Fatalf("row %d: filter type %d", y, ft)
			}
			if f[i]+pred != row[i] {
				t.Fatalf("row %d byte %d: filtered %d with filter %d gives %d, want %d", y, i, f[i], ft, f[i]+pred, row[i])
			}
		}
		prev = row
	}
	for i, u := range used {
		if !u {
			t.Errorf("palette entry %d is used by no pixel", i)
		}
	}
}

// paletteIndex checks the palette of a PNG of colour type ct, its PLTE and tRNS chunks' data
// (none unless ct is 3), and returns each colour's index: at most 256 colours, each once, a
// tRNS no longer than the palette, whose last entry is translucent (no opaque tail).
func paletteIndex(t *testing.T, ct byte, plte, trns []byte) map[color.NRGBA]byte {
	t.Helper()
	if ct != 3 {
		if plte != nil || trns != nil {
			t.Fatalf("colour type %d with PLTE %d or tRNS %d bytes", ct, len(plte), len(trns))
		}
		return nil
	}
	if len(plte) == 0 || len(plte)%3 != 0 || len(plte) > 3*256 || len(trns) > len(plte)/3 {
		t.Fatalf("PLTE of %d bytes, tRNS of %d", len(plte), len(trns))
	}
	if len(trns) > 0 && trns[len(trns)-1] == 255 {
		t.Errorf("tRNS ends with an opaque entry: %v", trns)
	}
	index := map[color.NRGBA]byte{}
	for i := range len(plte) / 3 {
		c := color.NRGBA{plte[3*i], plte[3*i+1], plte[3*i+2], 255}
		if i < len(trns) {
			c.A = trns[i]
		}
		if _, dup := index[c]; dup {
			t.Errorf("palette holds %v twice", c)
		}
		index[c] = byte(i)
	}
	return index
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestEncodeCorpus checks every benchmark tile: its pixels, its zlib stream, and its size
// against the klauspost encoder this package used before (at most 1.10× on the bench tiles,
// the tile server's cold benchmarks' and bench_grey_nodata, at most 1.25× on any); and that
// the bench tiles hold each of the five formats Encode writes (the four colour types, and
// grey with a tRNS key).
func TestEncodeCorpus(t *testing.T) {
	e := NewEncoder()
	benchFormats := map[string]string{} // the bench tiles' formats: every one of them, each served by a bench layer
	for name, img := range corpus(t) {
		if strings.HasPrefix(name, "bench_") {
			benchFormats[wantFormat(img)] = name
		}
		t.Run(name, func(t *testing.T) {
			var ours, old bytes.Buffer
			if err := e.Encode(&ours, img); err != nil {
				t.Fatal(err)
			}
			samePixels(t, ours.Bytes(), img)
			checkStream(t, ours.Bytes(), img)
			if err := e.encode(&old, img, true); err != nil {
				t.Fatal(err)
			}
			samePixels(t, old.Bytes(), img)
			limit := 1.25
			if strings.HasPrefix(name, "bench_") {
				limit = 1.10
			}
			ratio := float64(ours.Len()) / float64(old.Len())
			t.Logf("%d bytes, klauspost %d: %.3f", ours.Len(), old.Len(), ratio)
			if ratio > limit {
				t.Errorf("%d bytes, %.3f× klauspost's %d (at most %.2f×)", ours.Len(), ratio, old.Len(), limit)
			}
		})
	}
	for _, f := range []string{"grey", "grey with a tRNS key", "grey with alpha", "RGB", "RGBA"} {
		if benchFormats[f] == "" {
			t.Errorf("no bench tile in %s (bench tiles: %v)", f, benchFormats)
		}
	}
}

// wantFormat names the format Encode must write img in.
func wantFormat(img *image.NRGBA) string {
	ct := wantColorType(img)
	if _, keyed := wantKey(img); ct == 0 && keyed {
		return "grey with a tRNS key"
	}
	return map[byte]string{0: "grey", 4: "grey with alpha", 2: "RGB", 6: "RGBA"}[ct]
}

// TestEncodeLarge encodes images beyond a tile: rows longer than deflate's window (no match
// with the row above), several blocks, a row longer than a block (klauspost's path), and one
// encoder for all of them in turn, so that each starts with the hash table of the one before.
func TestEncodeLarge(t *testing.T) {
	constant := image.NewNRGBA(image.Rect(0, 0, 2048, 600))
	for i := range constant.Pix {
		constant.Pix[i] = uint8(i%4*50 + 1)
	}
	tests := []struct {
		name string
		img  *image.NRGBA
	}{
		{"9000×2 RGBA noise", noise(9000, 2, false, 20)},
		{"9000×3 grey rows wider than the window", grey(9000*4, 3, true, 21)},
		{"2048×2048 RGBA noise", noise(2048, 2048, false, 22)},
		{"2048×600 constant, several blocks", constant},
		{"1000×700 grey, several blocks", grey(1000, 700, true, 23)},
		{"a row longer than a block", noise(blockBytes/4+1, 2, false, 24)},
		// Opaque grey that scanGrey does not pack: Up from the RGBA rows (upRow's grey case).
		{"2049×2048 grey, above maxPack", grey(2049, 2048, true, 26)},
		// Packed, deflate's path; then a packed row longer than a block, klauspost's.
		{"grey rows longer than a block in RGBA", grey(blockBytes/4+1, 2, true, 27)},
		{"grey rows longer than a block packed", grey(blockBytes, 2, true, 28)},
		{"a tile after them", noise(256, 256, true, 25)},
	}
	e := NewEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := e.Encode(&buf, tt.img); err != nil {
				t.Fatal(err)
			}
			samePixels(t, buf.Bytes(), tt.img)
			checkStream(t, buf.Bytes(), tt.img)
		})
	}
}

// setPixels returns a copy of img with its pixels at pts (x, y) set to c.
func setPixels(img *image.NRGBA, c color.NRGBA, pts ...[2]int) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		copy(out.Pix[out.PixOffset(img.Rect.Min.X, y):], img.Pix[img.PixOffset(img.Rect.Min.X, y):img.PixOffset(img.Rect.Max.X, y)])
	}
	for _, p := range pts {
		out.SetNRGBA(img.Rect.Min.X+p[0], img.Rect.Min.Y+p[1], c)
	}
	return out
}

// TestScanKey checks scanGrey's transparent pixels and key against wantKey, and its packing,
// for every width from 1 to 17 (whole steps of eight pixels and the pixels left over): an
// opaque grey image without black, with a transparent pixel at each place in its second row
// and its last row transparent, then one pixel at each place of the first row or the third
// changed (black, of the transparent colour: the key's grey opaque; translucent; transparent
// of another colour; transparent but not grey).
func TestScanKey(t *testing.T) {
	nodata := color.NRGBA{}
	spoilers := []struct {
		name string
		c    color.NRGBA
	}{
		{"nothing", color.NRGBA{}}, // not used
		{"black", color.NRGBA{0, 0, 0, 255}},
		{"translucent", color.NRGBA{5, 5, 5, 128}},
		{"transparent grey 7", color.NRGBA{7, 7, 7, 0}},
		{"transparent not grey", color.NRGBA{0, 1, 0, 0}},
	}
	for w := 1; w <= 17; w++ {
		for x := range w {
			for si, sp := range spoilers {
				for sp0 := range 2 * w { // the first row, before the nodata, or the third, after
					sx, sy := sp0%w, sp0/w*2
					if si == 0 && sp0 > 0 {
						continue
					}
					img := grey(w, 4, true, uint64(w))
					for i := 0; i < len(img.Pix); i += 4 {
						img.Pix[i] |= 1 // no black
						img.Pix[i+1], img.Pix[i+2] = img.Pix[i], img.Pix[i]
					}
					img.SetNRGBA(x, 1, nodata)
					for lx := range w {
						img.SetNRGBA(lx, 3, nodata)
					}
					if si > 0 {
						img.SetNRGBA(sx, sy, sp.c)
					}
					g := make([]byte, 4*w)
					_, _, key, trans := scanGrey(img, g)
					wantC, want := wantKey(img)
					keyed := trans > 0
					if keyed != want {
						t.Fatalf("width %d, nodata at %d, %s at (%d,%d): keyed %v (%d transparent, key %#x), want %v", w, x, sp.name, sx, sy, keyed, trans, key, want)
					}
					if !want {
						continue
					}
					if c := (color.NRGBA{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}); c != wantC {
						t.Fatalf("width %d: key %v, want %v", w, c, wantC)
					}
					for i := range g {
						if g[i] != img.Pix[4*i] {
							t.Fatalf("width %d: scanGrey packed %v, want the R bytes of %v", w, g, img.Pix)
						}
					}
				}
			}
		}
	}
}

// TestAllKey checks allKey finds a row all of the key's colour, and not one with a pixel of
// another colour at any place (the key opaque, or another transparent colour), for every
// width from 1 to 17.
func TestAllKey(t *testing.T) {
	for _, key := range []uint32{0, 0x00070707} {
		k := uint8(key)
		for w := 1; w <= 17; w++ {
			img := image.NewNRGBA(image.Rect(0, 0, w, 1))
			for x := range w {
				img.SetNRGBA(x, 0, color.NRGBA{k, k, k, 0})
			}
			if !allKey(img.Pix, key) {
				t.Fatalf("key %#x, width %d: a row of the key, allKey false", key, w)
			}
			for x := range w {
				for _, c := range []color.NRGBA{{k, k, k, 255}, {k ^ 1, k ^ 1, k ^ 1, 0}} {
					row := setPixels(img, c, [2]int{x, 0})
					if allKey(row.Pix, key) {
						t.Fatalf("key %#x, width %d: %v at %d, allKey true", key, w, c, x)
					}
				}
			}
		}
	}
}

// TestCountByte checks countByte against a byte loop at every length from 0 to 100 (whole
// steps of 32 and the bytes left over), of random bytes from a few values, b among them.
func TestCountByte(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 101 {
		g := make([]byte, n)
		for i := range g {
			g[i] = []byte{0, 1, 0x80, 0xff}[r.IntN(4)]
		}
		for _, b := range []byte{0, 1, 0x80, 0xff, 7} {
			if got, want := countByte(g, b), bytes.Count(g, []byte{b}); got != want {
				t.Fatalf("%d bytes, %#x: countByte %d, want %d", n, b, got, want)
			}
		}
	}
}

// TestKeyHit checks keyHit finds an opaque pixel of the key's grey, or one not grey, in the
// rows it samples (y, y+8, …) at each place of a row, for every width from 1 to 17, and none
// elsewhere.
func TestKeyHit(t *testing.T) {
	for _, key := range []uint32{0, 0x00070707} {
		k := uint8(key)
		for _, c := range []color.NRGBA{{k, k, k, 255}, {9, 10, 9, 255}} {
			for w := 1; w <= 17; w++ {
				for x := range w {
					for _, py := range []int{3, 4, 5, 11, 12, 20, 39} {
						img := grey(w, 40, true, uint64(w))
						for i := 0; i < len(img.Pix); i += 4 {
							img.Pix[i] |= 8 // neither 0 nor 7
							img.Pix[i+1], img.Pix[i+2] = img.Pix[i], img.Pix[i]
						}
						img.SetNRGBA(x, py, c)
						img.SetNRGBA(x, py-1, color.NRGBA{k, k, k, 0}) // transparent: not a hit
						want := py >= 4 && (py-4)%8 == 0
						if got := keyHit(img, 4, key); got != want {
							t.Fatalf("key %#x, width %d, pixel (%d,%d) %v: keyHit %v, want %v", key, w, x, py, c, got, want)
						}
					}
				}
			}
		}
	}
}

// TestEncodeNoData checks Encode writes a grey image whose pixels not opaque are transparent
// of one colour (nodata) as grey with a tRNS key when no opaque pixel has its grey, and as
// grey with alpha otherwise.
func TestEncodeNoData(t *testing.T) {
	c := corpus(t)
	allTransparent := image.NewNRGBA(image.Rect(0, 0, 256, 256)) // every pixel (0, 0, 0, 0)
	nodata3 := grey(30, 20, true, 50)                            // nodata (3, 3, 3, 0), no opaque pixel grey 3
	for i := 0; i < len(nodata3.Pix); i += 4 {
		if nodata3.Pix[i] == 3 {
			nodata3.Pix[i], nodata3.Pix[i+1], nodata3.Pix[i+2] = 4, 4, 4
		}
	}
	nodata3 = setPixels(nodata3, color.NRGBA{3, 3, 3, 0}, [2]int{4, 4}, [2]int{29, 19})
	const key, alpha = "grey with a tRNS key", "grey with alpha"
	tests := []struct {
		name   string
		img    *image.NRGBA
		format string
	}{
		{"bench_grey_nodata", c["bench_grey_nodata"], key},
		{"bench_grey_nodata_min: black pixels too", c["bench_grey_nodata_min"], alpha},
		{"grayscale.png: black pixels too", c["grayscale.png"], alpha},
		{"nodata of another grey", nodata3, key},
		{"the other grey opaque too", setPixels(nodata3, color.NRGBA{3, 3, 3, 255}, [2]int{0, 0}), alpha},
		{"all transparent", allTransparent, key},
		{"a translucent pixel", setPixels(c["bench_grey_nodata"], color.NRGBA{9, 9, 9, 9}, [2]int{255, 255}), alpha},
		{"nodata of two colours", setPixels(c["bench_grey_nodata"], color.NRGBA{1, 1, 1, 0}, [2]int{255, 255}), alpha},
		{"the key's grey opaque in the last pixel", setPixels(c["bench_grey_nodata"], color.NRGBA{0, 0, 0, 255}, [2]int{255, 255}), alpha},
		{"sub-image with a stride", greyNoData(c["bench_grey"]).SubImage(image.Rect(3, 5, 203, 250)).(*image.NRGBA), key},
		{"black pixels too, sub-image with a stride", c["bench_grey_nodata_min"].SubImage(image.Rect(3, 5, 203, 250)).(*image.NRGBA), alpha},
		{"nodata further down only", setPixels(c["bench_grey"], color.NRGBA{}, [2]int{5, 200}, [2]int{6, 200}), key},
		// bench_grey has no black pixel: the case above, named so, had none; this one has.
		{"the key's grey opaque in the first pixel, nodata further down", setPixels(setPixels(c["bench_grey"], color.NRGBA{}, [2]int{5, 200}, [2]int{6, 200}), color.NRGBA{0, 0, 0, 255}, [2]int{0, 0}), alpha},
	}
	e := NewEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := wantFormat(tt.img); f != tt.format {
				t.Fatalf("the test's image is for %s", f)
			}
			var buf bytes.Buffer
			if err := e.Encode(&buf, tt.img); err != nil {
				t.Fatal(err)
			}
			samePixels(t, buf.Bytes(), tt.img)
			checkStream(t, buf.Bytes(), tt.img)
			ct, trns := buf.Bytes()[25], bytes.Contains(buf.Bytes(), []byte("tRNS"))
			if want := map[string]byte{key: 0, alpha: 4}[tt.format]; ct != want || trns != (ct == 0) {
				t.Errorf("colour type %d, tRNS %v; want %s", ct, trns, tt.format)
			}
		})
	}
}

// TestEncodePacksWideGrey pins a bug: scanGrey packed an opaque grey image only when an RGBA
// row (four bytes a pixel) fitted in a deflate block, though deflate takes a grey image whose
// packed row (one byte a pixel) fits, so grey images 2^18 to 2^20 pixels wide were read from
// RGBA again (upRow's grey case) instead of from the bytes the scan had packed.
func TestEncodePacksWideGrey(t *testing.T) {
	tests := []struct {
		name   string
		img    *image.NRGBA
		packed bool
	}{
		{"a tile", grey(256, 256, true, 30), true},
		{"an RGBA row longer than a block", grey(blockBytes/4+1, 2, true, 31), true},
		{"a packed row as long as a block", grey(blockBytes-1, 2, true, 32), true},
		{"a packed row longer than a block (klauspost)", grey(blockBytes, 2, true, 33), false},
		{"above maxPack", grey(2049, 2048, true, 34), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder()
			var buf bytes.Buffer
			if err := e.Encode(&buf, tt.img); err != nil {
				t.Fatal(err)
			}
			samePixels(t, buf.Bytes(), tt.img)
			if packed := len(e.pix8) == tt.img.Rect.Dx()*tt.img.Rect.Dy(); packed != tt.packed {
				t.Errorf("scanGrey packed the image: %v, want %v", packed, tt.packed)
			}
		})
	}
}

// TestEncodeHashReset checks the deflater's hash table emptied before its positions overflow
// 32 bits (deflater.advance), which an encoder reaches after some 14000 tiles: at an image's
// start and between two of its blocks, then the image again after it.
func TestEncodeHashReset(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 512, 600)) // two blocks, with matches in both
	for y := range 600 {
		for x := range 512 {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x / 3), uint8(y / 5), uint8(x + y), uint8(255 - x/7)})
		}
	}
	limit := uint32(1<<32 - 1 - 3*blockBytes)
	tests := []struct {
		name string
		base uint32 // the hash table's base before the image
	}{
		{"at the image's start", limit - window},
		{"between its blocks", limit - 2*window},
		{"far from it", 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder()
			if err := e.Encode(io.Discard, img); err != nil { // the table full of img's positions
				t.Fatal(err)
			}
			e.d.base = tt.base
			for range 2 {
				var buf bytes.Buffer
				if err := e.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				samePixels(t, buf.Bytes(), img)
				checkStream(t, buf.Bytes(), img)
			}
			if reset := e.d.base < tt.base; reset != (tt.base != 1<<20) {
				t.Errorf("base %d after %d: reset %v", e.d.base, tt.base, reset)
			}
		})
	}
}

// failingWriter fails its write number n (from 0) only, so that an error ignored is not
// caught by the next write.
type failingWriter struct{ n, writes int }

var errWrite = errors.New("write failed")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes-1 == w.n {
		return 0, errWrite
	}
	return len(p), nil
}

// TestEncodeWriteError checks a write that fails at any point (signature and IHDR, each
// part of IDAT and IEND) is Encode's error, and the encoder then encodes the next image.
func TestEncodeWriteError(t *testing.T) {
	img := corpus(t)["bench_alg3"]
	e := NewEncoder()
	for n := range 7 {
		if err := e.Encode(&failingWriter{n: n}, img); !errors.Is(err, errWrite) {
			t.Errorf("write %d fails: err %v, want %v", n, err, errWrite)
		}
		var buf bytes.Buffer
		if err := e.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		samePixels(t, buf.Bytes(), img)
	}
	if err := e.Encode(&failingWriter{n: 7}, img); err != nil {
		t.Errorf("seven writes: %v", err)
	}
}

// TestEncodeAllocs checks a reused encoder allocates nothing once its buffers have grown.
func TestEncodeAllocs(t *testing.T) {
	e := NewEncoder()
	c := corpus(t)
	for _, name := range []string{"bench_alg3", "bench_grey_nodata", "bench_grey_nodata_min"} {
		img := c[name]
		if err := e.Encode(io.Discard, img); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(10, func() { e.Encode(io.Discard, img) }); n != 0 {
			t.Errorf("%s: %v allocations an Encode, want 0", name, n)
		}
	}
}

// corpus is the benchmark's tiles: testdata's (the cold PNG scenario's grey tile, the 2- and
// 3-layer algebra tiles with a continuous colormap, terrain, real terrain and land cover),
// bench_grey_nodata (greyNoData), bench_grey_nodata_min (greyNoDataMin) and the golden tiles,
// by name.
func corpus(t testing.TB) map[string]*image.NRGBA {
	t.Helper()
	out := goldenTiles(t)
	paths, err := filepath.Glob("testdata/*.png")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata tiles: %v", err)
	}
	for _, p := range paths {
		out[strings.TrimSuffix(filepath.Base(p), ".png")] = decodeFile(t, p)
	}
	out["bench_grey_nodata"] = greyNoData(out["bench_grey"])
	out["bench_grey_nodata_min"] = greyNoDataMin(out["bench_grey_nodata"])
	return out
}

// greyNoDataMin is the grey tile with nodata and some pixels black (the layer's minimum, or
// below the range, in a square of 12×12 pixels): its nodata, transparent black, is then not
// the only black, and Encode writes it as grey with alpha (colour type 4), not with a tRNS key.
func greyNoDataMin(g *image.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(g.Rect)
	copy(img.Pix, g.Pix)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := h / 2; y < h/2+12; y++ {
		for x := w / 2; x < w/2+12; x++ {
			copy(img.Pix[y*img.Stride+4*x:], []byte{0, 0, 0, 255})
		}
	}
	return img
}

// greyNoData is the grey tile with nodata, which the grayscale colormap makes transparent
// (0, 0, 0, 0): what the PNG tile of a bench layer with nodata would be, grey with alpha in
// RGBA, which Encode writes as grey with a tRNS key (no opaque pixel is black). The nodata is
// the edge of a footprint running across the tile (a reprojected raster's) and round holes of
// a few sizes.
func greyNoData(g *image.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(g.Rect)
	copy(img.Pix, g.Pix)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	holes := [][3]int{{60, 40, 9}, {150, 90, 20}, {200, 200, 5}, {90, 180, 14}, {230, 30, 3}}
	for y := range h {
		for x := range w {
			nodata := 3*x+y < 3*w/8 // the footprint's edge
			for _, c := range holes {
				dx, dy := x-c[0]*w/256, y-c[1]*h/256
				nodata = nodata || dx*dx+dy*dy < c[2]*c[2]
			}
			if nodata {
				clear(img.Pix[y*img.Stride+4*x : y*img.Stride+4*x+4])
			}
		}
	}
	return img
}

// BenchmarkEncode encodes every corpus tile with Encode (new) and with the klauspost path it
// replaced at level 1 (old), and the categorical ones with EncodePalette given their colours
// (palette), reporting the PNG's size too.
func BenchmarkEncode(b *testing.B) {
	imgs := corpus(b)
	names := slices.Sorted(maps.Keys(imgs))
	for _, name := range names {
		img := imgs[name]
		if slices.Contains(categorical, name) {
			b.Run(name+"/palette", func(b *testing.B) {
				b.ReportAllocs()
				pal := colours(img)
				var buf bytes.Buffer
				for b.Loop() {
					buf.Reset()
					if err := EncodePalette(&buf, img, pal); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(buf.Len()), "bytes")
			})
		}
		b.Run(name+"/new", func(b *testing.B) {
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
		b.Run(name+"/old", func(b *testing.B) {
			b.ReportAllocs()
			e := NewEncoder()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := e.encode(&buf, img, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
