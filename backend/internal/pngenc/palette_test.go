package pngenc

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// colours returns img's distinct colours, in the order its pixels (row by row) first have them.
func colours(img *image.NRGBA) []color.NRGBA {
	seen := map[color.NRGBA]bool{}
	var out []color.NRGBA
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if c := img.NRGBAAt(x, y); !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// classes is a w×h map of n classes in 2×2 blocks, each class its colour from cols (cycled).
func classes(w, h, n int, cols []color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, cols[(x/2+y/2*131)%n%len(cols)])
		}
	}
	return img
}

// distinct returns n distinct colours, some translucent, one transparent black.
func distinct(n int) []color.NRGBA {
	out := make([]color.NRGBA, n)
	for i := range out {
		out[i] = color.NRGBA{uint8(i), uint8(i * 7), uint8(i >> 8), 255}
		if i%5 == 1 {
			out[i].A = uint8(i)
		}
	}
	out[0] = color.NRGBA{}
	return out
}

// with returns pal and more, as a new slice.
func with(pal []color.NRGBA, more ...color.NRGBA) []color.NRGBA {
	return append(slices.Clone(pal), more...)
}

func TestEncodePalette(t *testing.T) {
	corpus := corpus(t)
	landcover := corpus["real_landcover"]
	lc := colours(landcover)
	// Transparent pixels that differ in R, G, B are different NRGBA colours: kept apart.
	ghosts := classes(64, 64, 3, []color.NRGBA{{}, {9, 9, 9, 0}, {200, 10, 10, 255}})
	tests := []struct {
		name    string
		img     *image.NRGBA
		pal     []color.NRGBA
		palette bool // written as a palette PNG; else as Encode writes it
		colours int  // the palette's size, when it is one
	}{
		{"land cover, its colours", landcover, lc, true, len(lc)},
		{"land cover, its colours and others, reversed, twice", landcover,
			slices.Concat(distinct(300)[200:], lc, lc, []color.NRGBA{{1, 2, 3, 4}}), true, len(lc)},
		{"entries.png", corpus["entries.png"], colours(corpus["entries.png"]), true, 3},
		{"discrete_formula.png", corpus["discrete_formula.png"], colours(corpus["discrete_formula.png"]), true, 5},
		{"land cover, a colour missing", landcover, lc[1:], false, 0},
		{"land cover, a colour off by one in alpha", landcover,
			with(lc[1:], color.NRGBA{lc[0].R, lc[0].G, lc[0].B, lc[0].A ^ 1}), false, 0},
		{"no palette", landcover, nil, false, 0},
		{"transparent pixels of two colours", ghosts, colours(ghosts), true, 3},
		{"transparent pixels, one colour offered", ghosts, []color.NRGBA{{}, {200, 10, 10, 255}}, false, 0},
		{"opaque: no tRNS", classes(40, 30, 4, distinct(10)[2:6]), distinct(10), true, 4},
		{"256 colours", classes(256, 256, 256, distinct(256)), distinct(256), true, 256},
		{"257 colours", classes(256, 256, 257, distinct(257)), distinct(257), false, 0},
		{"200 of 1001 colours offered", classes(256, 256, 200, distinct(1001)), distinct(1001), true, 200},
		{"more colours offered than maxPaletteOffer", classes(64, 64, 3, distinct(3)),
			with(distinct(maxPaletteOffer), color.NRGBA{1, 1, 1, 1}), false, 0},
		{"maxPaletteOffer colours offered", classes(64, 64, 3, distinct(3)), distinct(maxPaletteOffer), true, 3},
		{"sub-image with a stride", classes(60, 50, 6, distinct(6)).SubImage(image.Rect(7, 3, 51, 44)).(*image.NRGBA), distinct(6), true, 6},
		{"one pixel", classes(1, 1, 1, distinct(3)[1:]), distinct(3), true, 1},
		{"one column", classes(1, 40, 3, distinct(3)), distinct(3), true, 3},
		{"one row", classes(40, 1, 3, distinct(3)), distinct(3), true, 3},
		{"rows longer than a block", classes(blockBytes, 2, 3, distinct(3)), distinct(3), false, 0},
		{"rows as long as a block", classes(blockBytes-1, 2, 3, distinct(3)), distinct(3), true, 3},
		{"above maxPack", classes(2049, 2048, 3, distinct(3)), distinct(3), false, 0},
	}
	e := NewEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.img.Pix)
			var want bytes.Buffer
			if err := e.Encode(&want, tt.img); err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // the second reuses the buffers and the table
				var buf bytes.Buffer
				if err := e.EncodePalette(&buf, tt.img, tt.pal); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(tt.img.Pix, orig) {
					t.Fatal("EncodePalette changed the image's pixels")
				}
				ct := buf.Bytes()[25]
				if !tt.palette { // Encode's bytes, which its own tests check
					if !bytes.Equal(buf.Bytes(), want.Bytes()) {
						t.Fatalf("round %d: colour type %d, %d bytes; want Encode's %d bytes", round, ct, buf.Len(), want.Len())
					}
					continue
				}
				samePixels(t, buf.Bytes(), tt.img)
				checkStream(t, buf.Bytes(), tt.img)
				if ct != 3 {
					t.Fatalf("round %d: colour type %d, want 3", round, ct)
				}
				if e.npal != tt.colours {
					t.Errorf("round %d: %d colours in the palette, want %d", round, e.npal, tt.colours)
				}
			}
		})
	}
}

// TestEncodePaletteDepth checks the bits of an index: 1 for two colours offered, 2 for up
// to four, else 8, at every width from 1 to 17 (whole steps of eight pixels and the pixels
// left over) and a tile's.
func TestEncodePaletteDepth(t *testing.T) {
	e := NewEncoder()
	for _, tt := range []struct{ offered, depth int }{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 8}, {16, 8}, {17, 8}} {
		pal := distinct(tt.offered)
		for _, w := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 256} {
			img := classes(w, 9, tt.offered, pal)
			var buf bytes.Buffer
			if err := e.EncodePalette(&buf, img, with(pal, pal[0])); err != nil { // a colour twice: offered once
				t.Fatal(err)
			}
			if ct, d := buf.Bytes()[25], int(buf.Bytes()[24]); ct != 3 || d != tt.depth {
				t.Fatalf("%d colours, width %d: colour type %d of %d bits, want 3 of %d", tt.offered, w, ct, d, tt.depth)
			}
			samePixels(t, buf.Bytes(), img)
			checkStream(t, buf.Bytes(), img)
		}
	}
}

// categorical are the corpus tiles coloured by a discrete colormap or a legend, which the
// tile server writes with EncodePalette.
var categorical = []string{"real_landcover", "entries.png", "discrete_formula.png"}

// TestEncodePaletteSize checks the categorical tiles are smaller as palette PNGs than as
// Encode writes them.
func TestEncodePaletteSize(t *testing.T) {
	c := corpus(t)
	for _, name := range categorical {
		img := c[name]
		var rgba, pal bytes.Buffer
		if err := Encode(&rgba, img); err != nil {
			t.Fatal(err)
		}
		if err := EncodePalette(&pal, img, colours(img)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d as Encode writes it (%.3f×)", name, pal.Len(), rgba.Len(), float64(pal.Len())/float64(rgba.Len()))
		if pal.Len() >= rgba.Len() {
			t.Errorf("%s: %d bytes as a palette PNG, %d as Encode writes it", name, pal.Len(), rgba.Len())
		}
	}
}

// TestEncodePaletteWriteError checks a write that fails at any point (signature and IHDR,
// each part of PLTE, tRNS, IDAT and IEND) is EncodePalette's error, and the encoder then
// encodes the next image.
func TestEncodePaletteWriteError(t *testing.T) {
	img := classes(64, 64, 5, distinct(5))
	pal := distinct(5)
	e := NewEncoder()
	for n := range 13 {
		if err := e.EncodePalette(&failingWriter{n: n}, img, pal); !errors.Is(err, errWrite) {
			t.Errorf("write %d fails: err %v, want %v", n, err, errWrite)
		}
		var buf bytes.Buffer
		if err := e.EncodePalette(&buf, img, pal); err != nil {
			t.Fatal(err)
		}
		samePixels(t, buf.Bytes(), img)
	}
	if err := e.EncodePalette(&failingWriter{n: 13}, img, pal); err != nil {
		t.Errorf("thirteen writes: %v", err)
	}
}

func TestEncodePaletteRejects(t *testing.T) {
	for _, img := range []*image.NRGBA{
		image.NewNRGBA(image.Rect(0, 0, 0, 5)),
		{Rect: image.Rect(0, 0, 1<<15, 1<<14)}, // above MaxPixels; never allocated
	} {
		if err := EncodePalette(&bytes.Buffer{}, img, distinct(3)); err != ErrTooLarge {
			t.Errorf("%v: err %v, want ErrTooLarge", img.Rect, err)
		}
	}
}

// TestEncodePaletteAllocs checks a reused encoder allocates nothing for a palette PNG once its
// buffers have grown, nor when it falls back to Encode.
func TestEncodePaletteAllocs(t *testing.T) {
	e := NewEncoder()
	img := corpus(t)["real_landcover"]
	pal := colours(img)
	for name, p := range map[string][]color.NRGBA{"palette": pal, "fallback": pal[1:]} {
		if err := e.EncodePalette(io.Discard, img, p); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(10, func() { e.EncodePalette(io.Discard, img, p) }); n != 0 {
			t.Errorf("%s: %v allocations an EncodePalette, want 0", name, n)
		}
	}
}

// TestIndexShuffled checks index against a map on random images of few colours, in random
// order, against palettes missing one of them or not.
func TestIndexShuffled(t *testing.T) {
	r := rand.New(rand.NewPCG(40, 41))
	e := NewEncoder()
	for i := range 200 {
		n := 1 + r.IntN(300)
		cols := distinct(n)
		img := image.NewNRGBA(image.Rect(0, 0, 1+r.IntN(40), 1+r.IntN(40)))
		for p := 0; p < len(img.Pix); p += 4 {
			c := cols[r.IntN(n)]
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R, c.G, c.B, c.A
		}
		pal := slices.Clone(cols)
		r.Shuffle(len(pal), func(i, j int) { pal[i], pal[j] = pal[j], pal[i] })
		used := colours(img)
		want := len(used) <= 256
		missing := r.IntN(2) == 0
		if missing { // the image may or may not have the colour left out
			want = want && !slices.Contains(used, pal[0])
			pal = pal[1:]
		}
		got := e.index(img, pal)
		if got != want {
			t.Fatalf("image %d: %d colours of %d, palette missing one %v: index %v, want %v", i, len(used), n, missing, got, want)
		}
		if !got {
			continue
		}
		if e.npal != len(used) {
			t.Fatalf("image %d: %d colours in the palette, %d in the image", i, e.npal, len(used))
		}
		w, d := img.Rect.Dx(), e.depth
		wantD := 8 // the fewest bits for the colours offered (all distinct)
		for _, b := range []int{2, 1} {
			if len(pal) <= 1<<b {
				wantD = b
			}
		}
		if d != wantD {
			t.Fatalf("image %d: %d-bit indices for %d colours offered, want %d", i, d, len(pal), wantD)
		}
		rowBytes := (w*d + 7) / 8
		for p := range w * img.Rect.Dy() {
			bit := p % w * d
			k := e.pix8[p/w*rowBytes+bit/8] >> (8 - d - bit%8) & (1<<d - 1)
			c := color.NRGBA{e.plte[3*int(k)], e.plte[3*int(k)+1], e.plte[3*int(k)+2], e.trns[k]}
			if c != img.NRGBAAt(p%w, p/w) {
				t.Fatalf("image %d pixel %d: index %d, %v; want %v", i, p, k, c, img.NRGBAAt(p%w, p/w))
			}
		}
	}
}
