package pngenc

import (
	"encoding/binary"
	"math/bits"
)

// The deflate encoder for filtered image rows (RFC 1951), in the spirit of Rich Geldreich's
// fpng: few candidates for a match, compared directly rather than searched for (tokenize),
// the tokens of a block (up to blockBytes of filtered rows) collected and counted, then
// written with codes built for the block (block): a dynamic Huffman code, or the fixed one,
// or stored blocks, whichever is smallest, each token's bits looked up in tables and
// appended to a 64-bit bit buffer that is stored eight bytes at a time.

const (
	blockBytes = 1 << 20 // filtered bytes a block holds at most (a 512×512 RGBA tile)
	window     = 32768   // the largest distance deflate allows
	minMatch   = 4       // deflate allows 3, but a three-byte match rarely saves a bit
	maxMatch   = 258
	hashBits   = 14                 // a 64 KiB table: 16384 eight-byte keys
	prime64    = 0x9e3779b97f4a7c15 // the hash's multiplier (2⁶⁴/φ)

	// A token is head | distance symbol<<9 | the distance's extra bits<<14, head being a
	// literal byte (below 256) or 256 + a match's length minus 3; a literal's distance symbol
	// is noDist, a code of no bits, so that writeTokens writes both alike, without a branch.
	noDist     = 30
	endOfBlock = 256 // the literal/length symbol
)

// lengthBase is the smallest length of each length symbol's range, minus 3, and
// lengthExtra its extra bits (RFC 1951 §3.2.5): symbol 257+c covers lengthBase[c]+3 up to the
// next symbol's base, and 285 (c = 28) the length 258 alone.
var (
	lengthBase  = [29]uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 255}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
)

// lengthCodes maps a match length minus 3 to its literal/length symbol's offset from 257
// and its extra bits, from lengthBase and lengthExtra.
var lengthCodes = func() (t [256]struct{ code, extra uint8 }) {
	for c, b := range lengthBase {
		end := uint16(maxMatch - 3 + 1)
		if c+1 < len(lengthBase) {
			end = lengthBase[c+1]
		}
		for l := b; l < end; l++ {
			t[l].code, t[l].extra = uint8(c), lengthExtra[c]
		}
	}
	return t
}()

// distCode returns the distance symbol for a distance minus one, x (0 to 32767), and its
// extra bits' count and value (RFC 1951 §3.2.5), without a branch: symbol 2e+2 and 2e+3
// have e extra bits, the bits below x's two leading ones (symbols 0–3 none).
func distCode(x uint32) (code, extra, value uint32) {
	extra = uint32(bits.Len32(x|2)) - 2 // at most 13: the masks below spare Go's check for 32 or more
	return 2*extra + x>>(extra&31), extra, x & (1<<(extra&31) - 1)
}

// deflater holds a block's tokens and the encoder's output, reused between images.
type deflater struct {
	toks  []uint32
	hash  [1 << hashBits]uint32 // an eight-byte key's last position, plus base
	base  uint32                // what the hash table's positions add to an index in data
	out   []byte                // the zlib stream so far; len(out) is its capacity, pos its length
	pos   int
	bits  uint64 // bits not yet in out, nbits of them
	nbits uint
	huff  huffman
	head  [512]uint64 // a token head's bits: a literal's code, or a length's code and extra bits; their count in the top byte
	dist  [32]uint64  // a distance symbol's code, its length in bits 48–55, and with the extra bits in the top byte

	litLens  [288]uint8 // 286 and 287 are for the fixed code's canonical numbering
	distLens [30]uint8
	clLens   [19]uint8
	litCodes [288]uint16
	dstCodes [30]uint16
	clCodes  [19]uint16
	litFreq  [286]uint32
	distFreq [30]uint32
	clFreq   [19]uint32
	cl       [286 + 30]uint8 // the code lengths a dynamic block's header sends
	clItems  [286 + 30]uint16
}

// advance moves the hash table's positions n bytes back: the bytes before the next block's
// data[0], or, with window+1 more, the last block's data when a new image starts, so that
// no position of the image before is in reach. Before the positions could overflow (a
// position is below base+2·blockBytes) it empties the table instead.
func (d *deflater) advance(n int) {
	if uint64(d.base)+uint64(n)+3*blockBytes > 1<<32-1 {
		d.hash = [1 << hashBits]uint32{}
		d.base = 0
		return
	}
	d.base += uint32(n)
}

// tokenize finds the tokens of data[start:], data[:start] being the rows before them (that
// matches may refer to), and counts the symbols they will be written with in d.litFreq and
// d.distFreq. At each position it compares the next eight bytes with those at two
// candidates, without a branch per candidate: diag bytes back (the pixel to the right in the
// row above; 0 for none) and the hash table's last position for the eight bytes, preferring
// the diagonal when both match alike. Only the candidate chosen is extended beyond eight
// bytes, so the order matters: on a diagonal gradient the hash's candidate would cut the
// diagonal's long matches short (continuous_over.png 1.8× larger). Eight-byte keys rather
// than four: fewer and longer matches (a fifth to a third fewer on the algebra and grey
// tiles), which is both faster and smaller. No candidate at the last match's distance:
// on the cold tiles it matched eight bytes at under 1 % of the matches, and without it the
// grey tile's tokenize is a fifth faster. Without a match it moves on by step bytes (a
// pixel), and faster through long stretches without one (as snappy does).
func (d *deflater) tokenize(data []byte, start, step, diag int) {
	var litFreq [286]uint32
	var lenFreq [256]uint32 // match lengths minus 3
	var distFreq [30]uint32
	if cap(d.toks) < len(data)-start {
		d.toks = make([]uint32, len(data)-start)
	}
	toks := d.toks[:cap(d.toks)]
	k := 0
	base := int(d.base)
	hash := &d.hash
	// Every candidate is a position in reach, at most window bytes back and not before data:
	// one out of reach (a hash entry from an earlier image, the row above the first) is
	// moved into reach, where its bytes are compared like any other's and most likely
	// differ. i starts at 1 at least, so that data[0] is before it.
	i, lit := max(start, 1), start // lit: the first byte not yet in a token
	last := len(data) - 8          // the last position an eight-byte load may start at
	if diag == 0 {
		diag = len(data) + 1 // never in reach
	}
	for i <= last {
		x := binary.LittleEndian.Uint64(data[i : i+8 : i+8])
		h := (x * prime64) >> (64 - hashBits)
		lo := max(i-window, 0)
		hc := max(int(hash[h])-base, lo)
		hash[h] = uint32(i + base)
		pd := max(i-diag, lo)
		// The number of equal leading bits, 64 for eight equal bytes.
		lh := bits.TrailingZeros64(binary.LittleEndian.Uint64(data[hc:hc+8:hc+8]) ^ x)
		ld := bits.TrailingZeros64(binary.LittleEndian.Uint64(data[pd:pd+8:pd+8]) ^ x)
		l, c := ld, pd
		if lh > l {
			l, c = lh, hc
		}
		l >>= 3
		if l < minMatch {
			i += step + (i-lit)>>6
			continue
		}
		if l == 8 { // the next eight bytes here, without a call: most matches end in them
			if i+16 > len(data) {
				l += matchLen(data, i+8, i-c, len(data))
			} else if y := binary.LittleEndian.Uint64(data[i+8:i+16:i+16]) ^ binary.LittleEndian.Uint64(data[c+8:c+16:c+16]); y != 0 {
				l += bits.TrailingZeros64(y) >> 3
			} else {
				l = 16 + matchLen(data, i+16, i-c, min(len(data), i+maxMatch))
			}
		}
		dist := i - c
		for ; lit < i; lit++ {
			b := data[lit]
			toks[k] = uint32(b) | noDist<<9
			litFreq[b]++
			k++
		}
		dc, _, dv := distCode(uint32(dist - 1))
		toks[k] = uint32(256+l-3) | dc<<9 | dv<<14
		k++
		lenFreq[l-3]++
		distFreq[dc&31]++
		i += l
		lit = i
		if j := i - step; j <= last { // the key of the match's last pixel, for later matches
			hash[(binary.LittleEndian.Uint64(data[j:j+8:j+8])*prime64)>>(64-hashBits)] = uint32(j + base)
		}
	}
	for ; lit < len(data); lit++ {
		b := data[lit]
		toks[k] = uint32(b) | noDist<<9
		litFreq[b]++
		k++
	}
	litFreq[endOfBlock] = 1
	for l, f := range lenFreq {
		litFreq[257+int(lengthCodes[l].code)] += f
	}
	d.litFreq, d.distFreq = litFreq, distFreq
	d.toks = toks[:k]
}

// matchLen returns how many bytes of data from p on, up to end, equal those dist bytes
// before them, 32 at a time (a loop step costs about as much as the comparisons), then
// eight, through sub-slices of constant length.
func matchLen(data []byte, p, dist, end int) int {
	n := p
	for ; n+32 <= end; n += 32 {
		s, t := data[n:n+32:n+32], data[n-dist:n-dist+32:n-dist+32]
		if x := binary.LittleEndian.Uint64(s[:8]) ^ binary.LittleEndian.Uint64(t[:8]); x != 0 {
			return n - p + bits.TrailingZeros64(x)/8
		}
		if x := binary.LittleEndian.Uint64(s[8:16]) ^ binary.LittleEndian.Uint64(t[8:16]); x != 0 {
			return n - p + 8 + bits.TrailingZeros64(x)/8
		}
		if x := binary.LittleEndian.Uint64(s[16:24]) ^ binary.LittleEndian.Uint64(t[16:24]); x != 0 {
			return n - p + 16 + bits.TrailingZeros64(x)/8
		}
		if x := binary.LittleEndian.Uint64(s[24:32]) ^ binary.LittleEndian.Uint64(t[24:32]); x != 0 {
			return n - p + 24 + bits.TrailingZeros64(x)/8
		}
	}
	for ; n+8 <= end; n += 8 {
		if x := binary.LittleEndian.Uint64(data[n:n+8:n+8]) ^ binary.LittleEndian.Uint64(data[n-dist:n-dist+8:n-dist+8]); x != 0 {
			return n - p + bits.TrailingZeros64(x)/8
		}
	}
	for ; n < end && data[n] == data[n-dist]; n++ {
	}
	return n - p
}

// reserve makes room in out for n more bytes, and the eight that every write stores.
func (d *deflater) reserve(n int) {
	if d.pos+n+8 > len(d.out) {
		out := make([]byte, 2*len(d.out)+n+8)
		copy(out, d.out[:d.pos])
		d.out = out
	}
}

// writeBits appends the n (at most 48) low bits of v.
func (d *deflater) writeBits(v uint64, n uint) {
	d.bits |= v << d.nbits
	d.nbits += n
	binary.LittleEndian.PutUint64(d.out[d.pos:], d.bits)
	k := d.nbits >> 3
	d.pos += int(k)
	d.bits >>= k * 8
	d.nbits &= 7
}

// align writes the bits pending, padded with zeros to a byte.
func (d *deflater) align() {
	if d.nbits > 0 {
		d.writeBits(0, 8-d.nbits)
	}
}

// block writes the tokens of data (the block's bytes; d.toks and the frequencies hold its
// tokens) as one deflate block, or several stored ones, whichever is smallest; final marks
// the last block of the stream.
func (d *deflater) block(data []byte, final bool) {
	var extraBits uint64 // the bits the matches' lengths and distances carry beyond their codes
	for c := range 29 {
		extraBits += uint64(d.litFreq[257+c]) * uint64(lengthExtra[c])
	}
	for c := range 30 {
		extraBits += uint64(d.distFreq[c]) * uint64(distExtra(c))
	}

	// Dynamic codes, and the header that sends them.
	d.huff.lengths(d.litLens[:286], d.litFreq[:], 15)
	d.litLens[286], d.litLens[287] = 0, 0
	d.huff.lengths(d.distLens[:], d.distFreq[:], 15)
	nlit, ndist := 286, 30
	for nlit > 257 && d.litLens[nlit-1] == 0 {
		nlit--
	}
	for ndist > 1 && d.distLens[ndist-1] == 0 {
		ndist--
	}
	items := d.codeLengthItems(nlit, ndist)
	d.huff.lengths(d.clLens[:], d.clFreq[:], 7)
	ncl := 19
	for ncl > 4 && d.clLens[clOrder[ncl-1]] == 0 {
		ncl--
	}
	dynBits := uint64(3 + 5 + 5 + 4 + 3*ncl)
	for _, it := range items {
		dynBits += uint64(d.clLens[it&31]) + uint64(clExtra[it&31])
	}
	fixBits := uint64(3)
	for s, f := range d.litFreq {
		dynBits += uint64(f) * uint64(d.litLens[s])
		fixBits += uint64(f) * uint64(fixedLitLen(s))
	}
	for s, f := range d.distFreq {
		dynBits += uint64(f) * uint64(d.distLens[s])
		fixBits += uint64(f) * 5
	}
	dynBits += extraBits
	fixBits += extraBits
	storedBlocks := uint64(max(1, (len(data)+65534)/65535))
	storedBits := uint64(len(data))*8 + storedBlocks*(4*8+3+7)

	switch {
	case storedBits <= dynBits && storedBits <= fixBits:
		d.reserve(len(data) + int(storedBlocks)*6)
		for first := true; first || len(data) > 0; first = false {
			n := min(len(data), 65535)
			last := final && n == len(data)
			d.writeBits(b2u(last), 3) // BTYPE 00
			d.align()
			binary.LittleEndian.PutUint16(d.out[d.pos:], uint16(n))
			binary.LittleEndian.PutUint16(d.out[d.pos+2:], ^uint16(n))
			copy(d.out[d.pos+4:], data[:n])
			d.pos += 4 + n
			data = data[n:]
		}
		return
	case fixBits <= dynBits:
		d.reserve(int(fixBits/8) + 8)
		d.writeBits(b2u(final)|1<<1, 3)
		for s := range d.litLens {
			d.litLens[s] = fixedLitLen(s)
		}
		for s := range d.distLens {
			d.distLens[s] = 5
		}
	default:
		d.reserve(int(dynBits/8) + 8)
		d.writeBits(b2u(final)|2<<1, 3)
		d.writeBits(uint64(nlit-257)|uint64(ndist-1)<<5|uint64(ncl-4)<<10, 14)
		for _, s := range clOrder[:ncl] {
			d.writeBits(uint64(d.clLens[s]), 3)
		}
		canonical(d.clCodes[:], d.clLens[:])
		for _, it := range items {
			s := it & 31
			d.writeBits(uint64(d.clCodes[s])|uint64(it>>5)<<d.clLens[s], uint(d.clLens[s]+clExtra[s]))
		}
	}
	canonical(d.litCodes[:], d.litLens[:])
	canonical(d.dstCodes[:], d.distLens[:])

	// Each symbol's code in a table entry with its length in the top byte, then the tokens.
	for s := range 256 {
		d.head[s] = uint64(d.litCodes[s]) | uint64(d.litLens[s])<<56
	}
	for l := range 256 {
		lc := lengthCodes[l]
		s := 257 + int(lc.code)
		d.head[256+l] = uint64(d.litCodes[s]) | uint64(uint16(l)-lengthBase[lc.code])<<d.litLens[s] |
			uint64(d.litLens[s]+lc.extra)<<56
	}
	for s := range 30 {
		d.dist[s] = uint64(d.dstCodes[s]) | uint64(d.distLens[s])<<48 | uint64(int(d.distLens[s])+distExtra(s))<<56
	}
	d.dist[noDist], d.dist[noDist+1] = 0, 0
	d.writeTokens(d.toks)
	d.writeBits(uint64(d.litCodes[endOfBlock]), uint(d.litLens[endOfBlock]))
}

// writeTokens writes toks with the block's code tables (d.head, d.dist), as writeBits would,
// with the bit buffer kept in locals. Every shift count is masked to six bits, which it is
// already (a token has at most 48 bits, the buffer at most 7 before it), so that the
// compiler drops the code Go's shifts by 64 or more would need; the flush shifts by the
// whole bytes stored, nb&56.
func (d *deflater) writeTokens(toks []uint32) {
	const low = 1<<48 - 1
	head, dist := &d.head, &d.dist
	out, pos, acc, nb := d.out, d.pos, d.bits, uint64(d.nbits)
	for _, t := range toks {
		h, dc := head[t&511], dist[(t>>9)&31]
		n := h >> 56
		v := h&low | (dc&low|uint64(t>>14)<<(dc>>48&63))<<(n&63)
		acc |= v << (nb & 63)
		nb += n + dc>>56
		binary.LittleEndian.PutUint64(out[pos:pos+8:pos+8], acc)
		pos += int(nb >> 3)
		acc >>= nb & 56
		nb &= 7
	}
	d.pos, d.bits, d.nbits = pos, acc, uint(nb)
}

// distExtra is the extra bits of distance symbol c.
func distExtra(c int) int {
	if c < 4 {
		return 0
	}
	return (c - 2) / 2
}

// clOrder is the order in which a dynamic block's header sends the code-length code's
// lengths (RFC 1951 §3.2.7).
var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// clExtra is the extra bits of each code-length symbol: 16 repeats the previous length 3–6
// times, 17 writes 3–10 zeros, 18 11–138.
var clExtra = [19]uint8{16: 2, 17: 3, 18: 7}

// codeLengthItems run-length encodes the first nlit literal/length and ndist distance code
// lengths as code-length symbols (the low five bits of each item; its extra bits' value
// above them), counting the symbols in d.clFreq.
func (d *deflater) codeLengthItems(nlit, ndist int) []uint16 {
	cl := d.cl[:0]
	cl = append(cl, d.litLens[:nlit]...)
	cl = append(cl, d.distLens[:ndist]...)
	d.clFreq = [19]uint32{}
	items := d.clItems[:0]
	emit := func(sym, extra int) {
		items = append(items, uint16(sym|extra<<5))
		d.clFreq[sym]++
	}
	for i := 0; i < len(cl); {
		l := cl[i]
		run := 1
		for i+run < len(cl) && cl[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, r-11)
				run -= r
			}
			if run >= 3 {
				emit(17, run-3)
				run = 0
			}
		} else {
			emit(int(l), 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, r-3)
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(int(l), 0)
		}
	}
	return items
}

// fixedLitLen is the length of literal/length symbol s's fixed code (RFC 1951 §3.2.6).
func fixedLitLen(s int) uint8 {
	switch {
	case s < 144:
		return 8
	case s < 256:
		return 9
	case s < 280:
		return 7
	}
	return 8
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
