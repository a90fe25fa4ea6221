package pngenc

import (
	"encoding/binary"
	"image"
	"image/color"
	"io"
)

// maxPaletteOffer bounds the colours EncodePalette takes from its caller: a discrete
// colormap's (at most colormap.MaxKeys, 1000) and transparent, with room to spare. More are
// encoded as Encode does.
const maxPaletteOffer = 4096

// palSlot is a slot of the Encoder's colour table: an offered colour (its four bytes R, G,
// B, A read little-endian), and its index in the PNG's palette once a pixel has it.
type palSlot struct {
	key  uint32
	idx  int16 // -1 until a pixel has the colour
	full bool
}

// EncodePalette writes img as a palette PNG with a pooled encoder (Encoder.EncodePalette).
func EncodePalette(w io.Writer, img *image.NRGBA, pal []color.NRGBA) error {
	e := pool.Get().(*Encoder)
	defer pool.Put(e)
	return e.EncodePalette(w, img, pal)
}

// EncodePalette writes img as a palette PNG (colour type 3, 1, 2 or 8 bits an index; PLTE,
// and tRNS when a colour is not opaque: PNG specification §11.2.3, §11.3.2.1) when every
// pixel's colour is exactly one of pal's, non-premultiplied, and at most 256 of them occur; the
// palette written holds the colours that occur, in the order they first do. Otherwise, for
// a pixel whose colour pal lacks, more than 256 colours in the image, more than
// maxPaletteOffer in pal, an empty pal, rows longer than a deflate block or an image above
// maxPack pixels, it writes img as Encode does: the decoded pixels are img's either way.
//
// Why the caller names the colours: a renderer that colours by a discrete colormap knows
// them (its keys' colours and transparent); looking for 256 colours in every tile cost a
// continuous colormap's tiles more than it saved, failing late (docs/benchmarks.md, session
// 5). One byte a pixel instead of four (three opaque) leaves a quarter of the bytes to
// compress, and a smaller tile.
//
// With at most two distinct colours offered the indices are 1 bit, with at most four 2 bits
// (index).
//
// The rows are not filtered (filter type None), and deflate's second candidate is the pixel
// above, not the one to its right: an index is a name, not a quantity, so differences of
// indices are noise where the colour changes. On the categorical corpus tiles None was both
// the smallest and the fastest (real_landcover 3193 bytes in 68 µs, against Up's 3734 in
// 83 µs and Sub's 3442 in 81 µs; docs/benchmarks.md, "Session 9: palette PNG").
func (e *Encoder) EncodePalette(w io.Writer, img *image.NRGBA, pal []color.NRGBA) error {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	if width <= 0 || height <= 0 || int64(width)*int64(height) > MaxPixels {
		return ErrTooLarge
	}
	if len(pal) == 0 || len(pal) > maxPaletteOffer || width+1 > blockBytes || width*height > maxPack || !e.index(img, pal) {
		return e.encode(w, img, false)
	}
	zdata := e.deflate(img, 1, 3, true)
	if err := e.writeHeader(w, width, height, e.depth, 3); err != nil {
		return err
	}
	n := e.npal
	if err := e.writeChunk(w, "PLTE", e.plte[:3*n]); err != nil {
		return err
	}
	t := n // tRNS holds the alpha of the entries up to the last translucent one
	for t > 0 && e.trns[t-1] == 255 {
		t--
	}
	if t > 0 {
		if err := e.writeChunk(w, "tRNS", e.trns[:t]); err != nil {
			return err
		}
	}
	return e.writeData(w, zdata)
}

// index writes into e.pix8 the palette index of each of img's pixels, e.depth bits each,
// each row starting a byte, and the palette into e.plte, e.trns and e.npal, each colour given
// the next index when a pixel first has it. It reports false when a pixel's colour is not in
// pal, or a 257th colour occurs.
//
// The depth is chosen before the pixels are read, from the distinct colours pal offers: 1
// bit for two, 2 for four (PNG specification §7.2: the first pixel in a byte's high bits),
// else 8. Why not 4 bits for up to 16: on real_landcover (7 colours) 3193 → 2792 bytes but
// 77 → 95 µs, the half-byte shifts of class edges from row to row breaking deflate's
// matches; with four colours or fewer the tiles are 16–66% smaller in about the time
// (docs/benchmarks.md, "Session 9: palette PNG").
func (e *Encoder) index(img *image.NRGBA, pal []color.NRGBA) bool {
	offered := e.fillTable(pal)
	e.npal = 0
	e.depth = 8
	switch {
	case offered <= 2:
		e.depth = 1
	case offered <= 4:
		e.depth = 2
	}
	if e.depth == 8 {
		return e.index8(img)
	}
	return e.indexPacked(img)
}

// index8 is index for indices of 8 bits. Why not indexPacked with fields of 8 bits (map8
// 0x0101…01, eight bytes put at once): the same bytes, but each index shifted into a word
// before it is stored cost real_landcover's palette encode 1.2× the CPU time (2.36 against
// 1.97 s for 20000 encodes, session 9's review).
func (e *Encoder) index8(img *image.NRGBA) bool {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	e.pix8 = grow(e.pix8, width*height)
	last := binary.LittleEndian.Uint32(img.Pix[:4:4])
	li, ok := e.lookup(last)
	if !ok {
		return false
	}
	// A map's classes come in runs: most pixels are the colour of the one before, and most
	// runs of eight pixels are one colour, which is compared and written a step at a time
	// (two pixels a word, their eight indices as one word), through sub-slices of constant
	// length.
	two, eight := uint64(last)*(1<<32+1), uint64(li)*0x01010101_01010101
	for y := range height {
		row := img.Pix[y*img.Stride : y*img.Stride+4*width]
		out := e.pix8[y*width : (y+1)*width]
		x := 0
		for ; x+8 <= width; x += 8 {
			s := row[4*x : 4*x+32 : 4*x+32]
			if (binary.LittleEndian.Uint64(s[:8])^two)|(binary.LittleEndian.Uint64(s[8:16])^two)|
				(binary.LittleEndian.Uint64(s[16:24])^two)|(binary.LittleEndian.Uint64(s[24:32])^two) == 0 {
				binary.LittleEndian.PutUint64(out[x:x+8:x+8], eight)
				continue
			}
			o := out[x : x+8 : x+8]
			for j := range o {
				if c := binary.LittleEndian.Uint32(s[4*j : 4*j+4 : 4*j+4]); c != last {
					if li, ok = e.lookup(c); !ok {
						return false
					}
					last = c
				}
				o[j] = li
			}
			two, eight = uint64(last)*(1<<32+1), uint64(li)*0x01010101_01010101
		}
		for ; x < width; x++ { // the last one to seven pixels
			if c := binary.LittleEndian.Uint32(row[4*x : 4*x+4 : 4*x+4]); c != last {
				if li, ok = e.lookup(c); !ok {
					return false
				}
				last = c
			}
			out[x] = li
		}
		two, eight = uint64(last)*(1<<32+1), uint64(li)*0x01010101_01010101
	}
	return true
}

// indexPacked is index for indices of e.depth bits, 1 or 2, as index8 but for the eight
// indices of a step made one word of e.depth bytes, the first pixel's in the high bits.
func (e *Encoder) indexPacked(img *image.NRGBA) bool {
	d := uint(e.depth)
	width, height := img.Rect.Dx(), img.Rect.Dy()
	n := (width*e.depth + 7) / 8
	e.pix8 = grow(e.pix8, n*height)
	last := binary.LittleEndian.Uint32(img.Pix[:4:4])
	li, ok := e.lookup(last)
	if !ok {
		return false
	}
	// A map's classes come in runs: most pixels are the colour of the one before, and most
	// runs of eight pixels are one colour, which is compared (two pixels a word) and written
	// (their eight indices as one word of d bytes) a step at a time, through sub-slices of
	// constant length.
	two, eight := uint64(last)*(1<<32+1), runIndices(li, d)
	for y := range height {
		row := img.Pix[y*img.Stride : y*img.Stride+4*width]
		out := e.pix8[y*n : (y+1)*n]
		x, j := 0, 0
		for ; x+8 <= width; x += 8 {
			s := row[4*x : 4*x+32 : 4*x+32]
			if (binary.LittleEndian.Uint64(s[:8])^two)|(binary.LittleEndian.Uint64(s[8:16])^two)|
				(binary.LittleEndian.Uint64(s[16:24])^two)|(binary.LittleEndian.Uint64(s[24:32])^two) == 0 {
				putIndices(out, j, eight, d)
				j += int(d)
				continue
			}
			var acc uint64
			for k := 0; k < 32; k += 4 {
				if c := binary.LittleEndian.Uint32(s[k : k+4 : k+4]); c != last {
					if li, ok = e.lookup(c); !ok {
						return false
					}
					last = c
				}
				acc = acc<<(d&63) | uint64(li)
			}
			putIndices(out, j, acc, d)
			j += int(d)
			two, eight = uint64(last)*(1<<32+1), runIndices(li, d)
		}
		if x < width { // the last one to seven pixels, as if eight, the others index 0
			var acc uint64
			for k := x; k < x+8; k++ {
				acc <<= d & 63
				if k >= width {
					continue
				}
				if c := binary.LittleEndian.Uint32(row[4*k : 4*k+4 : 4*k+4]); c != last {
					if li, ok = e.lookup(c); !ok {
						return false
					}
					last = c
				}
				acc |= uint64(li)
			}
			for k := range n - j { // the first bytes of the d
				out[j+k] = byte(acc >> ((d - 1 - uint(k)) * 8 & 63))
			}
		}
		two, eight = uint64(last)*(1<<32+1), runIndices(li, d)
	}
	return true
}

// runIndices returns eight indices i of d bits as putIndices takes them.
func runIndices(i byte, d uint) uint64 {
	return uint64(i) * map8[d&3]
}

// map8 multiplies an index into eight fields of d bits (index d).
var map8 = [4]uint64{1: 0xff, 2: 0x5555}

// putIndices writes the eight indices of d bits in v, the first in the high bits, at out[j:],
// d bytes.
func putIndices(out []byte, j int, v uint64, d uint) {
	if d == 2 {
		binary.BigEndian.PutUint16(out[j:j+2:j+2], uint16(v))
		return
	}
	out[j] = byte(v)
}

// fillTable empties the colour table and puts pal's colours in it, an open-addressed hash
// table at most half full, probed linearly, and returns how many distinct colours it holds.
func (e *Encoder) fillTable(pal []color.NRGBA) (distinct int) {
	size := 16
	for size < 2*len(pal) {
		size *= 2
	}
	if cap(e.table) < size {
		e.table = make([]palSlot, size)
	}
	e.table = e.table[:size]
	clear(e.table)
	for _, c := range pal {
		k := uint32(c.R) | uint32(c.G)<<8 | uint32(c.B)<<16 | uint32(c.A)<<24
		i := e.slot(k)
		if !e.table[i].full {
			distinct++
		}
		e.table[i] = palSlot{key: k, idx: -1, full: true}
	}
	return distinct
}

// slot returns the slot of the colour k: its own, or the empty one where it would go.
func (e *Encoder) slot(k uint32) int {
	m := len(e.table) - 1
	i := int((k*0x9e3779b1)>>16) & m
	for e.table[i].full && e.table[i].key != k {
		i = (i + 1) & m
	}
	return i
}

// lookup returns the palette index of the colour k, giving it the next one if no pixel had
// it yet, and false if pal lacks it or the palette is full.
func (e *Encoder) lookup(k uint32) (byte, bool) {
	s := &e.table[e.slot(k)]
	switch {
	case !s.full:
		return 0, false
	case s.idx >= 0:
		return byte(s.idx), true
	case e.npal == 256:
		return 0, false
	}
	n := e.npal
	s.idx = int16(n)
	e.plte[3*n], e.plte[3*n+1], e.plte[3*n+2], e.trns[n] = byte(k), byte(k>>8), byte(k>>16), byte(k>>24)
	e.npal++
	return byte(n), true
}
