// Package pngenc writes 8-bit PNG images (grey, grey with alpha, RGB or RGBA) fast: the tile
// server's PNG encoder.
//
// image/png spends most of a 256×256 tile's encode choosing among five filters for every row
// (computing all five) and in compress/flate. This encoder tries the two filters that matter
// for map tiles, Sub and Up, eight bytes at a time, and compresses with a reused
// github.com/klauspost/compress/flate writer, which at level 1 is several times faster than
// compress/flate's BestSpeed and on rendered tiles also smaller. The output is an ordinary PNG
// (one IDAT chunk) that any decoder reads, with the same pixels, in the smallest colour type
// that holds them exactly (Encoder.Encode): image/png writes an NRGBA image as RGB or RGBA only.
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
	zw    *flate.Writer
	idat  bytes.Buffer
	row   []byte // filter byte + the row Sub-filtered
	rowUp []byte // filter byte + the row Up-filtered
	raw   []byte // an RGB row packed from RGBA
	prev  []byte // the packed row above it (zeros before the first row)
	hdr   [33]byte
}

// NewEncoder returns an encoder compressing at the given deflate level, 1 (flate.BestSpeed,
// what the tile server uses) to 9.
func NewEncoder(level int) (*Encoder, error) {
	zw, err := flate.NewWriter(io.Discard, level)
	if err != nil {
		return nil, err
	}
	return &Encoder{zw: zw}, nil
}

var pool = sync.Pool{New: func() any {
	e, _ := NewEncoder(flate.BestSpeed)
	return e
}}

// Encode writes img as PNG with a pooled BestSpeed encoder.
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
func (e *Encoder) Encode(w io.Writer, img *image.NRGBA) error {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	if width <= 0 || height <= 0 || int64(width)*int64(height) > MaxPixels {
		return ErrTooLarge
	}
	opaque, grey := scan(img)
	var bpp int
	var colorType byte
	switch {
	case grey && opaque:
		bpp, colorType = 1, 0
	case grey:
		bpp, colorType = 2, 4
	case opaque:
		bpp, colorType = 3, 2
	default:
		bpp, colorType = 4, 6
	}
	packed := bpp != 4
	n := width * bpp
	e.raw, e.prev = grow(e.raw, n), grow(e.prev, n)
	e.row, e.rowUp = grow(e.row, n+1), grow(e.rowUp, n+1)
	clear(e.prev)

	e.idat.Reset()
	e.idat.Write([]byte{0x78, 0x01}) // zlib: deflate, 32 KiB window, fastest-compression hint
	e.zw.Reset(&e.idat)
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
	e.idat.Write(binary.BigEndian.AppendUint32(nil, sum))

	// Signature, IHDR, IDAT, IEND.
	h := e.hdr[:]
	copy(h, "\x89PNG\r\n\x1a\n")
	binary.BigEndian.PutUint32(h[8:], 13)
	copy(h[12:], "IHDR")
	binary.BigEndian.PutUint32(h[16:], uint32(width))
	binary.BigEndian.PutUint32(h[20:], uint32(height))
	h[24], h[25], h[26], h[27], h[28] = 8, colorType, 0, 0, 0
	binary.BigEndian.PutUint32(h[29:], crc32.ChecksumIEEE(h[12:29]))
	if _, err := w.Write(h); err != nil {
		return err
	}
	if err := writeChunk(w, "IDAT", e.idat.Bytes()); err != nil {
		return err
	}
	return writeChunk(w, "IEND", nil)
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

// scan reports whether every pixel of img is opaque, and whether every pixel is grey (R = G =
// B), looking at each pixel once, two at a time, and stopping when both are false.
func scan(img *image.NRGBA) (opaque, grey bool) {
	const (
		alpha = 0xff000000_ff000000 // the A bytes of two pixels
		rgrg  = 0x0000ffff_0000ffff // R^G and G^B of two pixels, once shifted
	)
	w := img.Rect.Dx() * 4
	opaque, grey = true, true
	for y := 0; y < img.Rect.Dy() && (opaque || grey); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		var notOpaque, notGrey uint64
		i := 0
		for ; i+8 <= len(row); i += 8 {
			p := binary.LittleEndian.Uint64(row[i : i+8 : i+8])
			notOpaque |= ^p & alpha
			notGrey |= (p ^ p>>8) & rgrg
		}
		if i < len(row) { // an odd width's last pixel
			p := uint64(binary.LittleEndian.Uint32(row[i:]))
			notOpaque |= ^p & 0xff000000
			notGrey |= (p ^ p>>8) & 0xffff
		}
		opaque, grey = opaque && notOpaque == 0, grey && notGrey == 0
	}
	return opaque, grey
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	var head [8]byte
	binary.BigEndian.PutUint32(head[:4], uint32(len(data)))
	copy(head[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(head[4:])
	crc.Write(data)
	var tail [4]byte
	binary.BigEndian.PutUint32(tail[:], crc.Sum32())
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(tail[:])
	return err
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
