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
					opaqueG, grG := scanGrey(img, g)
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
// classes (a map of seed's colours, four bytes each, in blocks of a few pixels).
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
	if len(got) != h*(n+1) {
		t.Fatalf("%d filtered bytes, want %d rows of %d", len(got), h, n+1)
	}
	prev := make([]byte, n)
	for y := range h {
		row := make([]byte, n) // img's row y in colour type ct
		for x := range w {
			c := img.NRGBAAt(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			if ct == 3 {
				i, ok := index[c]
				if !ok {
					t.Fatalf("pixel (%d,%d): %v is not in the palette", x, y, c)
				}
				row[x], used[i] = i, true
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
// the bench tiles hold each of the four colour types Encode writes.
func TestEncodeCorpus(t *testing.T) {
	e := NewEncoder()
	benchTypes := map[byte]string{} // the bench tiles' colour types: every one of them, each served by a bench layer
	for name, img := range corpus(t) {
		if strings.HasPrefix(name, "bench_") {
			benchTypes[wantColorType(img)] = name
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
	for _, ct := range []byte{0, 2, 4, 6} {
		if benchTypes[ct] == "" {
			t.Errorf("no bench tile of colour type %d (bench tiles: %v)", ct, benchTypes)
		}
	}
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
		{"2049×2048 grey, above maxGreyPack", grey(2049, 2048, true, 26)},
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
		{"above maxGreyPack", grey(2049, 2048, true, 34), false},
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
	img := corpus(t)["bench_alg3"]
	if err := e.Encode(io.Discard, img); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { e.Encode(io.Discard, img) }); n != 0 {
		t.Errorf("%v allocations an Encode, want 0", n)
	}
}

// corpus is the benchmark's tiles: testdata's (the cold PNG scenario's grey tile, the 2- and
// 3-layer algebra tiles with a continuous colormap, terrain, real terrain and land cover),
// bench_grey_nodata (greyNoData) and the golden tiles, by name.
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
	return out
}

// greyNoData is the grey tile with nodata, which the grayscale colormap makes transparent
// (0, 0, 0, 0): what the PNG tile of a bench layer with nodata would be, grey with alpha
// (colour type 4), which no other corpus tile is. The nodata is the edge of a footprint
// running across the tile (a reprojected raster's) and round holes of a few sizes.
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
