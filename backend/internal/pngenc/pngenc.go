// Package pngenc writes PNG images (8-bit grey, with a tRNS key or not, grey with alpha, RGB
// or RGBA; palette, 1-, 2- or 8-bit indices, when the caller names the colours) fast: the
// tile server's PNG encoder.
//
// The output is an ordinary PNG (one IDAT chunk) that any decoder reads, with the same pixels,
// in the smallest colour type that holds them exactly (Encoder.Encode): image/png writes an
// NRGBA image as RGB or RGBA only. Encoder.EncodePalette writes an image whose colours the
// caller knows to be few (a discrete colormap's) as a palette PNG, one byte a pixel or less
// (1- or 2-bit indices for up to two or four colours).
//
// Encode filters every row but the first with Up, straight from the RGBA rows 32 bytes at
// a time, packing the differences to the colour type as it goes (a grey image, opaque or with
// a tRNS key, is packed while scanGrey finds it grey), and compresses with this package's own
// deflate encoder (deflate.go), which compares the next eight bytes with two candidates a
// position, the pixel to the right in the row above and a one-entry hash table of eight-byte
// keys, and writes each block with codes built for it (huffman.go).
//
// Why not image/png: it spends most of a tile's encode choosing among five filters for every
// row, and in compress/flate. Why not github.com/klauspost/compress/flate at level 1, which
// this package used until session 7 after choosing Sub or Up for each row: on the
// benchmark's twelve tiles the new path is 1.28–1.85× as fast (medians of nine runs; 1.73×,
// 1.78× and 1.72× on the cold scenarios' 2-layer, 3-layer and grey tiles) and its output
// 0.28–1.06× the size (0.77×, 0.92×, 0.90×): docs/benchmarks.md, "PNG encoder (session 7)".
// The time saved is the filter choice, the packing, and fewer, longer matches (eight-byte
// hash keys, the diagonal); per match, this deflate costs about as much as klauspost's. The
// row above and the diagonal, which a hash table of recent positions misses on smooth
// gradients, make up for Up alone. klauspost's flate (level 1) still compresses rows longer
// than a block (blockBytes), and is the benchmarks' baseline.
//
// Session 8 made the same bytes 1.36–1.97× as fast again (1.48×, 1.40× and 1.44× on the three
// cold-scenario tiles; against klauspost now 1.71–3.31×, and 2.27×, 1.92×, 2.17×;
// docs/benchmarks.md, "PNG encoder, round 2 (session 8)"), with three habits that its hot
// loops keep: they read and write through sub-slices of constant length (s[i:i+32:i+32]),
// which the compiler indexes without recomputing a slice's bounds and pointer at each load as
// s[i:] makes it do; they take 32 bytes a step where the work a step is small, a loop step
// costing about as much as a few words' arithmetic on the servers' CPUs; and their shift
// counts are masked to the width (x << (n & 63)) where they are below it anyway, which spares
// the code Go emits for shifts of 64 or more. Conditional moves in place of the branches Go
// compiles tokenize's choices to were slower: predicted branches let the next position's loads
// start before the last candidate's bytes arrive.
package pngenc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/flate"
)

// MaxPixels bounds the images Encode accepts (a 16384×16384 image); the server's tiles are
// 256×256 or 512×512.
const MaxPixels = 1 << 28

// ErrTooLarge is returned for an empty image or one above MaxPixels.
var ErrTooLarge = errors.New("pngenc: image is empty or larger than MaxPixels")

// PNG filter types (PNG specification §9.2).
const (
	filterSub = 1
	filterUp  = 2
)

// Encoder encodes PNG images, reusing its compressor and buffers between calls; an Encoder
// is not safe for concurrent use (Encode, the package function, pools them).
type Encoder struct {
	zw    *flate.Writer // rows wider than blockBytes, and the baseline; made when first needed
	idat  bytes.Buffer
	row   []byte // filter byte + the row Sub-filtered (the klauspost path, as rowUp and prev)
	rowUp []byte // filter byte + the row Up-filtered
	raw   []byte // a row packed from RGBA (the klauspost path; the first row in deflate's)
	prev  []byte // the packed row above it (zeros before the first row)
	flt   []byte // a block's filtered rows, after the last row of the block before
	pix8  []byte // an image's pixels one byte each: an opaque grey image's (scanGrey), a palette image's indices (index)
	hdr   [33]byte
	chunk [12]byte // a chunk's length and type, and its CRC: in the Encoder, not allocated per call
	d     deflater
	last  int // the length of the last block's data the hash table holds positions in

	table []palSlot // EncodePalette's colours (palette.go)
	plte  [768]byte // the palette's R, G, B bytes (PLTE)
	trns  [256]byte // and its alpha bytes (tRNS)
	npal  int       // the colours in it
	depth int       // the bits of an index: 1, 2 or 8
}

// NewEncoder returns an encoder, which compresses with this package's own deflate encoder
// (see the package comment). It takes no level: of the levels it used to take (klauspost's
// flate for all but 1), no caller used any but 1, the tile server's.
func NewEncoder() *Encoder { return &Encoder{} }

var pool = sync.Pool{New: func() any { return NewEncoder() }}

// Encode writes img as PNG with a pooled encoder.
func Encode(w io.Writer, img *image.NRGBA) error {
	e := pool.Get().(*Encoder)
	defer pool.Put(e)
	return e.Encode(w, img)
}

// Encode writes img to w as an 8-bit PNG in the smallest colour type that holds every pixel
// exactly: grey (colour type 0) when every pixel is opaque and R = G = B, grey with alpha (4)
// when every pixel has R = G = B, RGB (2) when every pixel is opaque, RGBA (6) otherwise.
// Why grey: a single-band layer without a colormap renders grey, and one byte a pixel instead
// of three (or two instead of four) is a third of the filtering and deflating, and a smaller
// tile.
//
// A grey image whose pixels are opaque or transparent of one grey colour (k, k, k, 0), no
// opaque pixel being grey k, is grey with a tRNS key (colour type 0, tRNS k; PNG
// specification §11.3.2.1), one byte a pixel, rather than grey with alpha: a layer's grey
// tile with nodata (transparent black) around its footprint, unless a pixel is black too:
// bench_grey_nodata in 0.7× the time, 16209 → 12457 bytes (docs/benchmarks.md, "Session 9:
// palette PNG").
func (e *Encoder) Encode(w io.Writer, img *image.NRGBA) error {
	return e.encode(w, img, false)
}

// encode is Encode, compressing with klauspost's flate at level 1 when klauspost is set (or
// when a filtered row is longer than a block): the benchmarks' baseline.
func (e *Encoder) encode(w io.Writer, img *image.NRGBA, klauspost bool) error {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	if width <= 0 || height <= 0 || int64(width)*int64(height) > MaxPixels {
		return ErrTooLarge
	}
	var opaque, grey bool
	// scanGrey packs a grey image for deflate's path, which takes it when its packed row,
	// one byte a pixel, fits in a block (below): not only when an RGBA row would.
	packGrey := !klauspost && width+1 <= blockBytes && width*height <= maxPack
	// A grey image with nodata, its pixels opaque or transparent of one colour (k, k, k, 0),
	// no opaque pixel grey k: grey with a tRNS key k, packed.
	keyed := false
	var key uint32
	if packGrey {
		e.pix8 = grow(e.pix8, width*height)
		var trans int
		opaque, grey, key, trans = scanGrey(img, e.pix8)
		keyed = !opaque && trans > 0
	} else {
		opaque, grey = scan(img)
	}
	bpp, colorType := pixelFormat(opaque || keyed, grey)
	n := width * bpp
	e.raw = grow(e.raw, n)

	var zdata []byte
	if klauspost || n+1 > blockBytes {
		if err := e.deflateKlauspost(img, bpp, colorType); err != nil {
			return err
		}
		zdata = e.idat.Bytes()
	} else {
		zdata = e.deflate(img, bpp, colorType, packGrey && colorType == 0)
	}
	if err := e.writeHeader(w, width, height, 8, colorType); err != nil {
		return err
	}
	if keyed { // tRNS: the grey sample, 16 bits, that is transparent (PNG specification §11.3.2.1)
		e.trns[0], e.trns[1] = 0, byte(key)
		if err := e.writeChunk(w, "tRNS", e.trns[:2]); err != nil {
			return err
		}
	}
	return e.writeData(w, zdata)
}

// countByte returns how many bytes of g are b, 32 a step as four words (nonzero of each
// word XOR b in every byte), then one at a time.
func countByte(g []byte, b byte) int {
	bb := uint64(b) * 0x01010101_01010101
	n, i := 0, 0
	for ; i+32 <= len(g); i += 32 {
		s := g[i : i+32 : i+32]
		n += 32 - nonzero(binary.LittleEndian.Uint64(s[:8])^bb) - nonzero(binary.LittleEndian.Uint64(s[8:16])^bb) -
			nonzero(binary.LittleEndian.Uint64(s[16:24])^bb) - nonzero(binary.LittleEndian.Uint64(s[24:32])^bb)
	}
	for ; i < len(g); i++ {
		if g[i] == b {
			n++
		}
	}
	return n
}

// writeHeader writes the PNG signature and the IHDR chunk of an image of depth bits a sample
// (8; a palette image's indices 1 or 2 too; PNG specification §11.2.2).
func (e *Encoder) writeHeader(w io.Writer, width, height, depth int, colorType byte) error {
	h := e.hdr[:]
	copy(h, "\x89PNG\r\n\x1a\n")
	binary.BigEndian.PutUint32(h[8:], 13)
	copy(h[12:], "IHDR")
	binary.BigEndian.PutUint32(h[16:], uint32(width))
	binary.BigEndian.PutUint32(h[20:], uint32(height))
	h[24], h[25], h[26], h[27], h[28] = byte(depth), colorType, 0, 0, 0
	binary.BigEndian.PutUint32(h[29:], crc32.ChecksumIEEE(h[12:29]))
	_, err := w.Write(h)
	return err
}

// writeData writes the IDAT chunk of the zlib stream zdata and the IEND chunk.
func (e *Encoder) writeData(w io.Writer, zdata []byte) error {
	if err := e.writeChunk(w, "IDAT", zdata); err != nil {
		return err
	}
	return e.writeChunk(w, "IEND", nil)
}

// pixelFormat returns the bytes a pixel and the PNG colour type (PNG specification §11.2.2)
// of an image whose pixels are all opaque, or all grey, as given.
func pixelFormat(opaque, grey bool) (bpp int, colorType byte) {
	switch {
	case grey && opaque:
		return 1, 0
	case grey:
		return 2, 4
	case opaque:
		return 3, 2
	}
	return 4, 6
}

// deflate returns the zlib stream of img's rows filtered, compressed by the deflater a block
// of rows at a time; packed says they are in e.pix8, not in img: one byte a pixel (bpp 1),
// or a palette's indices of e.depth bits (colour type 3).
func (e *Encoder) deflate(img *image.NRGBA, bpp int, colorType byte, packed bool) []byte {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	n := width * bpp
	if colorType == 3 {
		n = (width*e.depth + 7) / 8 // indices of 1, 2 or 8 bits, a row starting a byte
	}
	r := n + 1 // a filtered row
	rows := max(1, blockBytes/r)
	e.flt = grow(e.flt, r+min(rows, height)*r+8) // upRow writes up to 8 bytes past a row
	d := &e.d
	d.advance(e.last + window + 1)
	d.pos, d.bits, d.nbits = 0, 0, 0
	d.reserve(2)
	d.out[0], d.out[1] = 0x78, 0x01 // zlib: deflate, 32 KiB window, fastest-compression hint
	d.pos = 2

	diag := r - bpp // the pixel to the right in the row above; 0, none, beyond the window
	if colorType == 3 {
		diag = r // unfiltered palette indices: the pixel above (see EncodePalette)
	}
	if diag > window {
		diag = 0
	}
	sum := uint32(1)
	hist := 0 // the bytes of e.flt before the block: the block before's last row
	for y0 := 0; y0 < height; y0 += rows {
		m := min(rows, height-y0)
		data := e.flt[:hist+m*r]
		for y := y0; y < y0+m; y++ {
			o := hist + (y-y0)*r
			if packed {
				cur := e.pix8[y*n : (y+1)*n]
				if colorType == 3 {
					e.flt[o] = 0 // filter type None
					copy(e.flt[o+1:o+r], cur)
					continue
				}
				if y == 0 {
					subFilter(e.flt[o:o+r], cur, 1)
				} else {
					upFilter(e.flt[o:o+r], cur, e.pix8[(y-1)*n:y*n])
				}
				continue
			}
			cur := img.Pix[y*img.Stride : y*img.Stride+width*4]
			if y == 0 {
				e.subRow(e.flt[o:o+r], cur, bpp, colorType)
				continue
			}
			upRow(e.flt[o:o+r+8], cur, img.Pix[(y-1)*img.Stride:], colorType)
		}
		sum = adlerUpdate(sum, data[hist:])
		d.tokenize(data, hist, bpp, diag)
		d.block(data[hist:], y0+m == height)
		copy(e.flt, data[len(data)-r:])
		d.advance(len(data) - r)
		hist = r
	}
	e.last = r
	d.align()
	d.reserve(4)
	binary.BigEndian.PutUint32(d.out[d.pos:], sum)
	d.pos += 4
	return d.out[:d.pos]
}

// deflateKlauspost compresses img's rows filtered into e.idat with klauspost's flate.
func (e *Encoder) deflateKlauspost(img *image.NRGBA, bpp int, colorType byte) error {
	if e.zw == nil {
		zw, err := flate.NewWriter(io.Discard, flate.BestSpeed)
		if err != nil {
			return err
		}
		e.zw = zw
	}
	width, height := img.Rect.Dx(), img.Rect.Dy()
	n := width * bpp
	e.prev = grow(e.prev, n)
	e.row, e.rowUp = grow(e.row, n+1), grow(e.rowUp, n+1)
	clear(e.prev)
	e.idat.Reset()
	e.idat.WriteByte(0x78)
	e.idat.WriteByte(0x01) // zlib: deflate, 32 KiB window, fastest-compression hint
	e.zw.Reset(&e.idat)
	packed := bpp != 4
	sum := uint32(1)
	prev := e.prev // the row above, zeros for the first
	for y := 0; y < height; y++ {
		cur := img.Pix[y*img.Stride : y*img.Stride+width*4] // RGBA rows are read from the image, not copied
		if packed {
			pack(e.raw, cur, colorType)
			cur = e.raw
		}
		line := e.filter(cur, prev, bpp, y == 0)
		if _, err := e.zw.Write(line); err != nil {
			return err
		}
		sum = adlerUpdate(sum, line)
		prev = cur
		if packed {
			e.raw, e.prev = e.prev, e.raw
		}
	}
	if err := e.zw.Close(); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(e.chunk[8:], sum)
	e.idat.Write(e.chunk[8:])
	return nil
}

// upRow writes into dst the RGBA row cur (below the RGBA row prev) Up-filtered in colour
// type ct, with its filter-type byte in front: it subtracts the rows eight bytes at a time
// and packs the differences, the filter commuting with packing as both work a sample at a
// time. len(dst) is the filtered row's length plus 8: it writes whole words.
//
// Why Up for every row but the first: choosing between Sub and Up row by row (filter, which
// counts both candidates' non-zero bytes) took a quarter to a half of a tile's encode, and
// with this package's deflate, whose matches find the row above and the diagonal, Up alone
// leaves the benchmark's tiles within 6% of the old encoder's sizes, most of them smaller
// (docs/benchmarks.md).
func upRow(dst, cur, prev []byte, ct byte) {
	if ct == 6 { // nothing to pack
		upFilter(dst, cur, prev)
		return
	}
	dst[0] = filterUp
	o := dst[1:]
	n := len(cur)
	prev = prev[:n]
	i, j := 0, 0
	// 32 bytes (eight pixels) a step for RGB and grey with alpha, sixteen for grey, through
	// sub-slices of constant length, which the compiler reads and writes without recomputing
	// slice bounds (1.8× as fast); a loop step costs about as much as the arithmetic here.
	switch ct {
	case 2:
		for ; i+32 <= n; i += 32 {
			c, p, d := cur[i:i+32:i+32], prev[i:i+32:i+32], o[j:j+26:j+26]
			x0, x1 := sub16(c[:16], p[:16])
			x2, x3 := sub16(c[16:], p[16:])
			binary.LittleEndian.PutUint64(d[:8], x0&0xffffff|(x0>>8)&0xffffff000000)
			binary.LittleEndian.PutUint64(d[6:14], x1&0xffffff|(x1>>8)&0xffffff000000)
			binary.LittleEndian.PutUint64(d[12:20], x2&0xffffff|(x2>>8)&0xffffff000000)
			binary.LittleEndian.PutUint64(d[18:26], x3&0xffffff|(x3>>8)&0xffffff000000)
			j += 24
		}
		for ; i+16 <= n; i += 16 {
			c, p, d := cur[i:i+16:i+16], prev[i:i+16:i+16], o[j:j+16:j+16]
			x, y := sub16(c, p)
			binary.LittleEndian.PutUint64(d[:8], x&0xffffff|(x>>8)&0xffffff000000)
			binary.LittleEndian.PutUint64(d[6:14], y&0xffffff|(y>>8)&0xffffff000000)
			j += 12
		}
		for ; i < n; i += 4 {
			o[j], o[j+1], o[j+2] = cur[i]-prev[i], cur[i+1]-prev[i+1], cur[i+2]-prev[i+2]
			j += 3
		}
	case 4:
		for ; i+32 <= n; i += 32 {
			c, p, d := cur[i:i+32:i+32], prev[i:i+32:i+32], o[j:j+16:j+16]
			x0, x1 := sub16(c[:16], p[:16])
			x2, x3 := sub16(c[16:], p[16:])
			x0 = x0&0xff | (x0>>16)&0xffff00 | (x0>>32)&0xff000000
			x1 = x1&0xff | (x1>>16)&0xffff00 | (x1>>32)&0xff000000
			x2 = x2&0xff | (x2>>16)&0xffff00 | (x2>>32)&0xff000000
			x3 = x3&0xff | (x3>>16)&0xffff00 | (x3>>32)&0xff000000
			binary.LittleEndian.PutUint64(d[:8], x0|x1<<32)
			binary.LittleEndian.PutUint64(d[8:16], x2|x3<<32)
			j += 16
		}
		for ; i+16 <= n; i += 16 {
			c, p, d := cur[i:i+16:i+16], prev[i:i+16:i+16], o[j:j+8:j+8]
			x, y := sub16(c, p)
			x = x&0xff | (x>>16)&0xffff00 | (x>>32)&0xff000000
			y = y&0xff | (y>>16)&0xffff00 | (y>>32)&0xff000000
			binary.LittleEndian.PutUint64(d, x|y<<32)
			j += 8
		}
		for ; i < n; i += 4 {
			o[j], o[j+1] = cur[i]-prev[i], cur[i+3]-prev[i+3]
			j += 2
		}
	default:
		for ; i+16 <= n; i += 16 {
			c, p, d := cur[i:i+16:i+16], prev[i:i+16:i+16], o[j:j+4:j+4]
			x, y := sub16(c, p)
			binary.LittleEndian.PutUint32(d, uint32(x&0xff|(x>>24)&0xff00|(y&0xff)<<16|(y>>8)&0xff000000))
			j += 4
		}
		for ; i < n; i += 4 {
			o[j] = cur[i] - prev[i]
			j++
		}
	}
}

// subRow writes into dst the RGBA row cur Sub-filtered in colour type ct (bpp bytes a
// pixel), with its filter-type byte in front: the first row's filter (Up would be None there).
func (e *Encoder) subRow(dst, cur []byte, bpp int, ct byte) {
	if ct != 6 {
		pack(e.raw, cur, ct)
		cur = e.raw
	}
	subFilter(dst, cur, bpp)
}

// subFilter writes into dst the packed row cur Sub-filtered, with its filter-type byte.
func subFilter(dst, cur []byte, bpp int) {
	dst[0] = filterSub
	n := len(cur)
	o := dst[1 : n+1]
	i := copy(o, cur[:min(bpp, n)])
	for ; i+8 <= n; i += 8 { // eight bytes a step, each less the byte bpp before it
		binary.LittleEndian.PutUint64(o[i:i+8:i+8], sub8(binary.LittleEndian.Uint64(cur[i:i+8:i+8]), binary.LittleEndian.Uint64(cur[i-bpp:i-bpp+8:i-bpp+8])))
	}
	for ; i < n; i++ {
		o[i] = cur[i] - cur[i-bpp]
	}
}

// upFilter writes into dst the packed row cur (below prev) Up-filtered, with its
// filter-type byte, 32 bytes a step through sub-slices of constant length, which the
// compiler reads and writes without recomputing slice bounds.
func upFilter(dst, cur, prev []byte) {
	dst[0] = filterUp
	n := len(cur)
	o, prev := dst[1:n+1], prev[:n]
	i := 0
	for ; i+32 <= n; i += 32 {
		c, p, d := cur[i:i+32:i+32], prev[i:i+32:i+32], o[i:i+32:i+32]
		binary.LittleEndian.PutUint64(d[:8], sub8(binary.LittleEndian.Uint64(c[:8]), binary.LittleEndian.Uint64(p[:8])))
		binary.LittleEndian.PutUint64(d[8:16], sub8(binary.LittleEndian.Uint64(c[8:16]), binary.LittleEndian.Uint64(p[8:16])))
		binary.LittleEndian.PutUint64(d[16:24], sub8(binary.LittleEndian.Uint64(c[16:24]), binary.LittleEndian.Uint64(p[16:24])))
		binary.LittleEndian.PutUint64(d[24:32], sub8(binary.LittleEndian.Uint64(c[24:32]), binary.LittleEndian.Uint64(p[24:32])))
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(o[i:i+8:i+8], sub8(binary.LittleEndian.Uint64(cur[i:i+8:i+8]), binary.LittleEndian.Uint64(prev[i:i+8:i+8])))
	}
	for ; i < n; i++ {
		o[i] = cur[i] - prev[i]
	}
}

// filter returns the row cur (below prev) filtered, with its filter-type byte in front: Sub or
// Up, whichever leaves fewer non-zero bytes (a cheap stand-in for the PNG specification's
// sum-of-absolute-values heuristic, over two candidates; on map tiles both pick alike, and
// zeros are what deflate compresses best). Every byte counts: sampling every fourth word made
// the golden tiles up to 29% larger. The first row uses Sub (Up would equal None there). It
// filters and counts eight bytes at a time as 64-bit words.
func (e *Encoder) filter(cur, prev []byte, bpp int, first bool) []byte {
	n := len(cur)
	sub, up := e.row[:n+1], e.rowUp[:n+1]
	sub[0], up[0] = filterSub, filterUp
	var cSub, cUp int
	i := 0
	for ; i < bpp && i < n; i++ {
		sub[i+1], up[i+1] = cur[i], cur[i]-prev[i]
		cSub += nonzero(uint64(sub[i+1]))
		cUp += nonzero(uint64(up[i+1]))
	}
	// Both candidates are written while they are counted: writing the loser costs less than
	// computing the winner a second time.
	for ; i+8 <= n; i += 8 {
		c := binary.LittleEndian.Uint64(cur[i:])
		s, u := sub8(c, binary.LittleEndian.Uint64(cur[i-bpp:])), sub8(c, binary.LittleEndian.Uint64(prev[i:]))
		binary.LittleEndian.PutUint64(sub[i+1:], s)
		binary.LittleEndian.PutUint64(up[i+1:], u)
		cSub += nonzero(s)
		cUp += nonzero(u)
	}
	for ; i < n; i++ {
		sub[i+1], up[i+1] = cur[i]-cur[i-bpp], cur[i]-prev[i]
		cSub += nonzero(uint64(sub[i+1]))
		cUp += nonzero(uint64(up[i+1]))
	}
	if !first && cUp < cSub {
		return up
	}
	return sub
}

const (
	hi8 = 0x8080808080808080
	lo7 = 0x7f7f7f7f7f7f7f7f
)

// sub8 subtracts the eight bytes of b from those of a, each modulo 256 (no borrow between
// bytes).
func sub8(a, b uint64) uint64 {
	return ((a | hi8) - (b &^ hi8)) ^ ((a ^ ^b) & hi8)
}

// sub16 is sub8 of c's and p's two words each: the Up differences of 16 bytes (four
// pixels), for upRow's packing loops. Sixteen bytes, not 32: it must stay small enough for
// the compiler to inline (four words cost 127 against a budget of 80).
func sub16(c, p []byte) (x, y uint64) {
	c, p = c[:16:16], p[:16:16]
	return sub8(binary.LittleEndian.Uint64(c[:8]), binary.LittleEndian.Uint64(p[:8])),
		sub8(binary.LittleEndian.Uint64(c[8:16]), binary.LittleEndian.Uint64(p[8:16]))
}

// nonzero counts the non-zero bytes of x.
func nonzero(x uint64) int {
	return bits.OnesCount64((((x & lo7) + lo7) | x) & hi8)
}

// pack writes the RGBA row src into dst in colour type ct: 0 (R), 4 (R, A) or 2 (R, G, B).
func pack(dst, src []byte, ct byte) {
	switch ct {
	case 0:
		dst = dst[:len(src)/4]
		for j := range dst {
			dst[j] = src[4*j]
		}
	case 4:
		for j := range len(src) / 4 {
			dst[2*j], dst[2*j+1] = src[4*j], src[4*j+3]
		}
	default:
		j := 0
		for i := 0; i+3 < len(src); i += 4 {
			dst[j], dst[j+1], dst[j+2] = src[i], src[i+1], src[i+2]
			j += 3
		}
	}
}

// Masks of a word of two RGBA pixels, for scan and scanGrey.
const (
	alpha = 0xff000000_ff000000 // the A bytes of two pixels
	rgrg  = 0x0000ffff_0000ffff // R^G and G^B of two pixels, once shifted
)

// scan reports whether every pixel of img is opaque, and whether every pixel is grey (R = G =
// B), looking at each pixel once, and stopping when both are false: it ANDs the words
// together (the A bytes stay 0xff while every pixel is opaque) and ORs each word's R^G and
// G^B, masked once a row, eight pixels a step through sub-slices of constant length (a loop
// step costs about as much as the arithmetic here); once the image is known not to be grey
// (as a colormap's rows are from the first), for opacity alone. bench_alg2, which it reads
// whole: 31 → 8 µs.
func scan(img *image.NRGBA) (opaque, grey bool) {
	return scanRows(img, 0, true, true)
}

// scanRows is scan of img's rows from y on, the rows above being opaque and grey as given.
func scanRows(img *image.NRGBA, y int, opaque, grey bool) (bool, bool) {
	w := img.Rect.Dx() * 4
	for ; y < img.Rect.Dy() && (opaque || grey); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		all := uint64(alpha)
		var notGrey uint64
		i := 0
		if grey {
			for ; i+32 <= len(row); i += 32 {
				s := row[i : i+32 : i+32]
				p, q := binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])
				u, v := binary.LittleEndian.Uint64(s[16:24]), binary.LittleEndian.Uint64(s[24:32])
				all &= p & q & u & v
				notGrey |= (p ^ p>>8) | (q ^ q>>8) | (u ^ u>>8) | (v ^ v>>8)
			}
		} else {
			for ; i+32 <= len(row); i += 32 {
				s := row[i : i+32 : i+32]
				all &= binary.LittleEndian.Uint64(s[:8]) & binary.LittleEndian.Uint64(s[8:16]) &
					binary.LittleEndian.Uint64(s[16:24]) & binary.LittleEndian.Uint64(s[24:32])
			}
		}
		for ; i < len(row); i += 4 { // the last one to seven pixels
			p := uint64(binary.LittleEndian.Uint32(row[i : i+4 : i+4]))
			all &= p | 0xff000000_00000000
			notGrey |= p ^ p>>8
		}
		opaque, grey = opaque && all&alpha == alpha, grey && notGrey&rgrg == 0
	}
	return opaque, grey
}

// maxPack bounds the images packed into Encoder.pix8, a byte a pixel or less (4 MiB): a
// larger one is scanned only, not packed grey (scanGrey), and EncodePalette writes it as
// Encode does, not as indices.
const maxPack = 1 << 22

// scanGrey is scan, and while every pixel so far is grey, and opaque or transparent of one
// colour (k, k, k, 0) that no opaque pixel has in R, it also writes each pixel's R into g
// (len(g) = width×height): a grey image, which a single-band layer without a colormap
// renders, is then packed in the pass that finds it grey instead of read again (twice, for
// Up) in RGBA. trans counts the transparent pixels, all of the colour key; it is -1 when a
// pixel is neither opaque nor key's colour (translucent, or transparent of a second colour),
// an opaque pixel's grey is key's, or the image is not grey. Nodata is such a colour (the
// grayscale colormap's transparent black): a grey tile with nodata is then written as grey
// with a tRNS key (Encode) instead of grey with alpha, unless a pixel is black too.
func scanGrey(img *image.NRGBA, g []byte) (opaque, grey bool, key uint32, trans int) {
	width := img.Rect.Dx()
	w := width * 4
	opaque, grey = true, true
	keyed := true // every pixel not opaque so far is key's colour
	y := 0
	for ; y < img.Rect.Dy() && grey && (opaque || keyed); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		out := g[y*width : (y+1)*width]
		if trans > 0 && keyed && allKey(row, key) { // a row of nodata, checked and packed at once
			for i := range out {
				out[i] = byte(key)
			}
			trans += width
			continue
		}
		all := uint64(alpha)
		var notGrey uint64
		i, j := 0, 0
		for ; i+32 <= len(row); i += 32 { // as scan, eight pixels a step, their R bytes stored as one word
			s := row[i : i+32 : i+32]
			p, q := binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])
			u, v := binary.LittleEndian.Uint64(s[16:24]), binary.LittleEndian.Uint64(s[24:32])
			all &= p & q & u & v
			notGrey |= (p ^ p>>8) | (q ^ q>>8) | (u ^ u>>8) | (v ^ v>>8)
			binary.LittleEndian.PutUint64(out[j:j+8:j+8], p&0xff|(p>>24)&0xff00|(q&0xff)<<16|(q>>8)&0xff000000|
				(u&0xff)<<32|(u<<8)&0xff00_00000000|(v&0xff)<<48|(v<<24)&0xff000000_00000000)
			j += 8
		}
		for ; i < len(row); i += 4 { // the last one to seven pixels
			p := uint64(binary.LittleEndian.Uint32(row[i : i+4 : i+4]))
			all &= p | 0xff000000_00000000
			notGrey |= p ^ p>>8
			out[j] = byte(p)
			j++
		}
		// A row with pixels not opaque (nodata, most likely) is read again, from the cache, for
		// them: checking them in the loop above made opaque rows a fifth slower.
		before := trans
		if all&alpha != alpha {
			opaque = false
			keyed = keyed && keyRow(row, &key, &trans)
		}
		if keyed && trans > 0 { // no opaque pixel may be the key's grey: stop at the first
			if before == 0 && (countByte(g[:y*width], byte(key)) > 0 || keyHit(img, y+1, key)) {
				keyed = false // in the rows above the first with the key, or seen in a sample of those below
			}
			keyed = keyed && countByte(out, byte(key)) == trans-before
		}
		grey = notGrey&rgrg == 0
	}
	if !grey || !keyed || y < img.Rect.Dy() {
		trans = -1
	}
	opaque, grey = scanRows(img, y, opaque, grey) // the rest, for what is still true
	return opaque, grey, key, trans
}

// allKey reports whether every pixel of the RGBA row is of the colour key, eight a step: a
// row of nodata, which scanGrey then need not pack and check pixel by pixel. Why: a colour
// tile whose top rows are nodata was scanned as a grey one until its first colour, at 0.2 µs
// a row (entries.png 99 → 141 µs); this is about scan's cost.
func allKey(row []byte, key uint32) bool {
	kk := uint64(key) * (1<<32 + 1)
	i := 0
	for ; i+32 <= len(row); i += 32 {
		s := row[i : i+32 : i+32]
		if (binary.LittleEndian.Uint64(s[:8])^kk)|(binary.LittleEndian.Uint64(s[8:16])^kk)|
			(binary.LittleEndian.Uint64(s[16:24])^kk)|(binary.LittleEndian.Uint64(s[24:32])^kk) != 0 {
			return false
		}
	}
	for ; i < len(row); i += 4 {
		if binary.LittleEndian.Uint32(row[i:i+4:i+4]) != key {
			return false
		}
	}
	return true
}

// keyHit reports whether one of img's rows y, y+8, y+16 and so on has an opaque pixel of
// the grey of the colour key, or a pixel not grey: a sample, an eighth of the rows, that
// finds a black area of eight rows or more (the layer's minimum) when nodata is transparent
// black, or a colour tile's first colour below its nodata, before scanGrey packs and checks
// the rows above it for nothing (grayscale.png 20 µs more than before the tRNS key without
// it, entries.png 40).
func keyHit(img *image.NRGBA, y int, key uint32) bool {
	w := img.Rect.Dx() * 4
	kk := uint64(0xff000000|key) * (1<<32 + 1) // two opaque pixels of the key's grey
	const lo, hi = 0x00000001_00000001, 0x80000000_80000000
	for ; y < img.Rect.Dy(); y += 8 {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		var hit, notGrey uint64
		i := 0
		for ; i+32 <= len(row); i += 32 { // eight pixels a step; a pixel of the key's grey is 0 in p, q, u or v
			s := row[i : i+32 : i+32]
			p, q := binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])
			u, v := binary.LittleEndian.Uint64(s[16:24]), binary.LittleEndian.Uint64(s[24:32])
			notGrey |= (p ^ p>>8) | (q ^ q>>8) | (u ^ u>>8) | (v ^ v>>8)
			p, q, u, v = p^kk, q^kk, u^kk, v^kk
			hit |= (p-lo)&^p | (q-lo)&^q | (u-lo)&^u | (v-lo)&^v
		}
		for ; i < len(row); i += 4 {
			p := uint64(binary.LittleEndian.Uint32(row[i : i+4 : i+4]))
			notGrey |= p ^ p>>8
			x := p ^ kk&0xffffffff
			hit |= (x - 1) &^ x & 0x80000000
		}
		if hit&hi != 0 || notGrey&rgrg != 0 {
			return true
		}
	}
	return false
}

// keyRow reports whether every pixel of the RGBA row is opaque or transparent of the colour
// *key, counting those in *trans; the first transparent pixel (*trans 0) sets *key. Eight
// pixels a step: all opaque, or all of the key's colour, at once.
func keyRow(row []byte, key *uint32, trans *int) bool {
	k, n := *key, *trans
	i := 0
	for ; i+32 <= len(row); i += 32 {
		s := row[i : i+32 : i+32]
		p, q := binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])
		u, v := binary.LittleEndian.Uint64(s[16:24]), binary.LittleEndian.Uint64(s[24:32])
		if p&q&u&v&alpha == alpha {
			continue
		}
		if kk := uint64(k) * (1<<32 + 1); p == kk && q == kk && u == kk && v == kk {
			n += 8
			continue
		}
		for c := 0; c < 32; c += 4 {
			if !keyPixel(binary.LittleEndian.Uint32(s[c:c+4:c+4]), &k, &n) {
				return false
			}
		}
	}
	for ; i < len(row); i += 4 {
		if !keyPixel(binary.LittleEndian.Uint32(row[i:i+4:i+4]), &k, &n) {
			return false
		}
	}
	*key, *trans = k, n
	return true
}

// keyPixel counts the pixel p (R, G, B, A little-endian) in trans if it is transparent of the
// colour key, which the first transparent pixel sets, and reports whether it is opaque or so.
func keyPixel(p uint32, key *uint32, trans *int) bool {
	switch {
	case p >= 0xff000000:
		return true
	case p == *key:
	case *trans == 0 && p < 0x01000000:
		*key = p
	default:
		return false
	}
	*trans++
	return true
}

// writeChunk writes a PNG chunk: length, type, data and CRC (PNG specification §5.3).
func (e *Encoder) writeChunk(w io.Writer, typ string, data []byte) error {
	head, tail := e.chunk[:8], e.chunk[8:]
	binary.BigEndian.PutUint32(head, uint32(len(data)))
	copy(head[4:], typ)
	binary.BigEndian.PutUint32(tail, crc32.Update(crc32.ChecksumIEEE(head[4:]), crc32.IEEETable, data))
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(tail)
	return err
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
