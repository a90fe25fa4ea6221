package pngenc

import (
	"math/bits"
	"slices"
)

// huffman builds length-limited canonical Huffman codes (RFC 1951 §3.2.2) without allocating:
// its scratch space is reused from one block to the next.
type huffman struct {
	keys  [maxSymbols]uint64 // frequency<<16 | symbol, of the used symbols, sorted
	freqs [maxSymbols]uint32 // Moffat–Katajainen's work array
}

const maxSymbols = 288 // the literal/length alphabet, the largest of the three

// lengths sets lens[s] to the code length of symbol s for the frequencies freq (len(lens) ==
// len(freq)), no length above maxLen: a Huffman code (Moffat and Katajainen's in-place
// algorithm over the used symbols sorted by frequency) whose over-long lengths are then cut
// to maxLen, lengthening shorter codes until the Kraft sum is exactly 1 (as miniz's
// tdefl_huffman_enforce_max_code_size does).
//
// The code is always complete: when fewer than two symbols are used, unused ones are given a
// code too, so that there are two codes of one bit. RFC 1951 allows a single distance code
// of one bit, but zlib rejects an incomplete code-length code, and a complete code is read
// by every decoder.
func (h *huffman) lengths(lens []uint8, freq []uint32, maxLen int) {
	keys := h.keys[:0]
	for s, f := range freq {
		lens[s] = 0
		if f != 0 {
			keys = append(keys, uint64(f)<<16|uint64(s))
		}
	}
	for s := 0; len(keys) < 2; s++ { // s < 2 suffices: at most one symbol was used
		if freq[s] == 0 {
			keys = append(keys, 1<<16|uint64(s))
		}
	}
	slices.Sort(keys)
	n := len(keys)
	a := h.freqs[:n]
	for i, k := range keys {
		a[i] = uint32(k >> 16)
	}

	// Moffat and Katajainen, "In-place calculation of minimum-redundancy codes" (1995): the
	// first pass builds the tree, leaving parent pointers; the second turns them into
	// depths of internal nodes; the third into the depths of the leaves, in a[i] for the
	// leaf keys[i].
	a[0] += a[1]
	root, leaf := 0, 2
	for next := 1; next < n-1; next++ {
		if leaf >= n || a[root] < a[leaf] {
			a[next] = a[root]
			a[root] = uint32(next)
			root++
		} else {
			a[next] = a[leaf]
			leaf++
		}
		if leaf >= n || (root < next && a[root] < a[leaf]) {
			a[next] += a[root]
			a[root] = uint32(next)
			root++
		} else {
			a[next] += a[leaf]
			leaf++
		}
	}
	a[n-2] = 0
	for next := n - 3; next >= 0; next-- {
		a[next] = a[a[next]] + 1
	}
	avail, used, depth := 1, 0, uint32(0)
	rt, next := n-2, n-1
	for avail > 0 {
		for rt >= 0 && a[rt] == depth {
			used++
			rt--
		}
		for avail > used {
			a[next] = depth
			next--
			avail--
		}
		avail, used = 2*used, 0
		depth++
	}

	// Count the codes of each length, the long ones as maxLen, then restore the Kraft sum:
	// each step takes one code of maxLen away and splits a shorter code into two longer.
	var count [16]int
	for _, d := range a {
		count[min(int(d), maxLen)]++
	}
	total := 0
	for l := 1; l <= maxLen; l++ {
		total += count[l] << (maxLen - l)
	}
	for total > 1<<maxLen {
		count[maxLen]--
		for l := maxLen - 1; l > 0; l-- {
			if count[l] != 0 {
				count[l]--
				count[l+1] += 2
				break
			}
		}
		total--
	}
	// The most frequent symbols (at the end of keys) get the shortest codes.
	i := n - 1
	for l := 1; l <= maxLen; l++ {
		for c := count[l]; c > 0; c-- {
			lens[keys[i]&0xffff] = uint8(l)
			i--
		}
	}
}

// canonical sets codes[s] to symbol s's canonical code for the lengths lens (RFC 1951
// §3.2.2), bit-reversed as deflate writes Huffman codes most significant bit first into a
// stream read from the least significant bit.
func canonical(codes []uint16, lens []uint8) {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lens {
		if l != 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}
