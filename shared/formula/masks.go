package formula

import (
	"encoding/binary"
	"math"
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
// number: the union of the masks a word at a time, then one branch-free pass.
func finalize(dst []float64, mk []bool, ins [][]bool, fill uint64) int {
	src := ins[0]
	if len(ins) > 1 {
		unionMasks(mk, ins)
		src = mk
	}
	s, d := maskBytes(src)[:len(dst)], maskBytes(mk)[:len(dst)]
	n := uint64(0)
	for i, v := range dst {
		bad := b2u(v-v != 0) | uint64(s[i]&1)
		d[i] = byte(bad)
		sel := -bad
		dst[i] = math.Float64frombits(math.Float64bits(v)&^sel | fill&sel)
		n += bad
	}
	return int(n)
}
