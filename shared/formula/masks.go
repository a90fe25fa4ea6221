package formula

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"
)

// Nodata masks are []bool, one byte of 0 or 1 per pixel. The unions of masks run eight
// pixels at a time on the bytes as 64-bit words (one load and one store each on amd64 and
// WebAssembly), since nodata pixels are scattered and a pixel-by-pixel union would cost
// more than the operation it guards.

// maskBytes returns the bytes of a mask (false is 0 and true is 1, per the Go spec's
// representation of bool in the gc and wasm ports; TestMaskBytes checks it).
func maskBytes(m []bool) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), len(m))
}

// unionMasks sets dst to the union of the masks (at least one), which are at least as long.
func unionMasks(dst []bool, masks [][]bool) {
	d := maskBytes(dst)
	switch len(masks) {
	case 1:
		copy(dst, masks[0])
		return
	case 2:
		or2(d, maskBytes(masks[0]), maskBytes(masks[1]))
	default:
		or3(d, maskBytes(masks[0]), maskBytes(masks[1]), maskBytes(masks[2]))
		for _, m := range masks[3:] {
			or2(d, d, maskBytes(m))
		}
	}
}

// or2 sets d to a | b, bytewise.
func or2(d, a, b []byte) {
	a, b = a[:len(d)], b[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		w := binary.LittleEndian.Uint64(a[i:]) | binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(d[i:], w)
	}
	for ; i < len(d); i++ {
		d[i] = a[i] | b[i]
	}
}

// or3 sets d to a | b | c, bytewise.
func or3(d, a, b, c []byte) {
	a, b, c = a[:len(d)], b[:len(d)], c[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		w := binary.LittleEndian.Uint64(a[i:]) | binary.LittleEndian.Uint64(b[i:]) | binary.LittleEndian.Uint64(c[i:])
		binary.LittleEndian.PutUint64(d[i:], w)
	}
	for ; i < len(d); i++ {
		d[i] = a[i] | b[i] | c[i]
	}
}

// finalize marks in mk the nodata pixels of a block, those that are nodata in one of the
// input masks (at least one) or not finite, writes fill (as bits) there, and returns their
// number. The union of the masks is taken a word at a time; then, when every value is
// finite (the usual case, known when finite is set or told by allFinite), one branch-free
// pass writes the fill value at the masked pixels, else one that also tests each value.
func finalize(dst []float64, mk []bool, ins [][]bool, fill uint64, finite bool) int {
	mk = mk[:len(dst)]
	unionMasks(mk, ins)
	d := maskBytes(mk)
	n := uint64(0)
	if finite || allFinite(dst) {
		return fillMasked(dst, d, fill)
	}
	for i, v := range dst {
		bad := b2u(v-v != 0) | uint64(d[i])
		d[i] = byte(bad)
		sel := -bad
		dst[i] = math.Float64frombits(math.Float64bits(v)&^sel | fill&sel)
		n += bad
	}
	return int(n)
}

// allFinite reports whether no value is NaN or infinite: then their sum is finite (an
// overflowing sum only sends the caller to its slower path). Four sums, so that the
// additions do not wait for each other.
func allFinite(v []float64) bool {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		s0 += w[0]
		s1 += w[1]
		s2 += w[2]
		s3 += w[3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	s := s0 + s1 + s2 + s3
	return s-s == 0
}

// fillMasked writes fill (as bits) where the mask d is 1 and returns how many, eight
// pixels at a time when nodata pixels are few (under one in ten): a word of the mask
// without any, then the most common kind, costs one test. Otherwise testing would
// mispredict often, and one branch-free pass selects pixel by pixel.
func fillMasked(dst []float64, d []byte, fill uint64) int {
	d = d[:len(dst)]
	k := len(dst) &^ 7
	n := 0
	for i := 0; i < k; i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(d[i : i+8 : i+8]))
	}
	if n*10 >= k { // dense
		for i := 0; i < k; i += 8 {
			v, m := dst[i:i+8:i+8], d[i:i+8:i+8]
			v[0] = selectBits(v[0], uint64(m[0]), fill)
			v[1] = selectBits(v[1], uint64(m[1]), fill)
			v[2] = selectBits(v[2], uint64(m[2]), fill)
			v[3] = selectBits(v[3], uint64(m[3]), fill)
			v[4] = selectBits(v[4], uint64(m[4]), fill)
			v[5] = selectBits(v[5], uint64(m[5]), fill)
			v[6] = selectBits(v[6], uint64(m[6]), fill)
			v[7] = selectBits(v[7], uint64(m[7]), fill)
		}
	} else {
		for i := 0; i < k; i += 8 {
			w := binary.LittleEndian.Uint64(d[i : i+8 : i+8])
			if w == 0 {
				continue
			}
			v := dst[i : i+8 : i+8]
			v[0] = selectBits(v[0], w, fill)
			v[1] = selectBits(v[1], w>>8, fill)
			v[2] = selectBits(v[2], w>>16, fill)
			v[3] = selectBits(v[3], w>>24, fill)
			v[4] = selectBits(v[4], w>>32, fill)
			v[5] = selectBits(v[5], w>>40, fill)
			v[6] = selectBits(v[6], w>>48, fill)
			v[7] = selectBits(v[7], w>>56, fill)
		}
	}
	for i := k; i < len(dst); i++ {
		dst[i] = selectBits(dst[i], uint64(d[i]), fill)
		n += int(d[i])
	}
	return n
}

// selectBits is v, or the float64 of bits fill when the low bit of m is 1.
func selectBits(v float64, m, fill uint64) float64 {
	sel := -(m & 1)
	return math.Float64frombits(math.Float64bits(v)&^sel | fill&sel)
}
