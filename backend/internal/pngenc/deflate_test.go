package pngenc

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"testing"
)

// TestHuffmanLengths checks the code lengths: never above the limit, a complete code (Kraft
// sum exactly 1, which zlib requires of the code-length code), a length for every used
// symbol and none for the unused, and a more frequent symbol's code never longer.
func TestHuffmanLengths(t *testing.T) {
	fib := make([]uint32, 40) // Fibonacci frequencies: an unlimited code would be 39 bits deep
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	sparse := make([]uint32, 286)
	sparse[3], sparse[100], sparse[285] = 5, 1, 1000
	equal := make([]uint32, 286)
	for i := range equal {
		equal[i] = 7
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]uint32, 286)
	for i := range random {
		if rng.IntN(3) > 0 {
			random[i] = uint32(rng.IntN(100000))
		}
	}
	tests := []struct {
		name   string
		freq   []uint32
		maxLen int
	}{
		{"no symbol used", make([]uint32, 30), 15},
		{"one symbol used", []uint32{0, 0, 0, 9, 0}, 15},
		{"symbol 0 alone", []uint32{4, 0, 0}, 15},
		{"two symbols", []uint32{1, 1000000}, 15},
		{"zero frequencies among used", sparse, 15},
		{"Fibonacci capped at 15", fib, 15},
		{"Fibonacci capped at 7", fib[:19], 7},
		{"equal frequencies", equal, 15},
		{"random", random, 15},
	}
	var h huffman
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lens := make([]uint8, len(tt.freq))
			h.lengths(lens, tt.freq, tt.maxLen)
			used, kraft := 0, 0 // kraft in units of 2^-maxLen
			for s, l := range lens {
				if int(l) > tt.maxLen {
					t.Fatalf("symbol %d: length %d above %d", s, l, tt.maxLen)
				}
				if tt.freq[s] != 0 && l == 0 {
					t.Fatalf("symbol %d used %d times, no code", s, tt.freq[s])
				}
				if l != 0 {
					used++
					kraft += 1 << (tt.maxLen - int(l))
				}
			}
			if kraft != 1<<tt.maxLen {
				t.Errorf("Kraft sum %d/%d, want 1: lengths %v", kraft, 1<<tt.maxLen, lens)
			}
			if used < 2 {
				t.Errorf("%d codes, want at least two", used)
			}
			for a := range lens {
				for b := range lens {
					if tt.freq[a] > tt.freq[b] && tt.freq[b] != 0 && lens[a] > lens[b] {
						t.Fatalf("symbol %d (%d times) has %d bits, symbol %d (%d times) %d", a, tt.freq[a], lens[a], b, tt.freq[b], lens[b])
					}
				}
			}
			if tt.name == "Fibonacci capped at 15" && lens[0] != 15 {
				t.Errorf("rarest symbol: %d bits, want the cap, 15", lens[0])
			}
		})
	}
}

// TestDistCode checks distance symbols against RFC 1951 §3.2.5's table.
func TestDistCode(t *testing.T) {
	base := []int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32769}
	for code := 0; code < 30; code++ {
		for d := base[code]; d < base[code+1]; d++ {
			c, extra, value := distCode(uint32(d - 1))
			if int(c) != code || int(extra) != distExtra(code) || int(value) != d-base[code] {
				t.Fatalf("distance %d: symbol %d, %d extra bits of value %d; want %d, %d, %d",
					d, c, extra, value, code, distExtra(code), d-base[code])
			}
		}
	}
}

// deflateBytes compresses data with the deflater as one block (rows of length r, pixels of
// bpp bytes) and returns the raw deflate stream.
func deflateBytes(d *deflater, data []byte, bpp, r int) []byte {
	d.advance(len(data) + window + 1)
	d.pos, d.bits, d.nbits = 0, 0, 0
	d.reserve(0)
	diag := r - bpp
	if diag > window || r == 0 {
		diag = 0
	}
	d.tokenize(data, 0, bpp, diag)
	d.block(data, true)
	d.align()
	return bytes.Clone(d.out[:d.pos])
}

// TestDeflateBlocks checks each kind of block the deflater writes decodes with
// compress/flate to its input: stored for noise, fixed codes for a few bytes, dynamic
// codes with a single distance symbol (a constant run) or none (no match) or several.
func TestDeflateBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 100000)
	for i := range random {
		random[i] = uint8(rng.UintN(256))
	}
	smooth := make([]byte, 20000)
	for i := range smooth {
		smooth[i] = uint8(i / 7 % 5)
	}
	fewValues := make([]byte, 3000)
	for i := range fewValues {
		fewValues[i] = "ab"[rng.IntN(2)]
	}
	noMatch := make([]byte, 300) // 64 values: a repeated four bytes is unlikely, and checked
	for i := range noMatch {
		noMatch[i] = uint8(rng.IntN(64))
	}
	tests := []struct {
		name  string
		data  []byte
		btype uint8 // 0 stored, 1 fixed, 2 dynamic
	}{
		{"noise is stored", random, 0},
		{"one byte", []byte{7}, 1},
		{"a few bytes", []byte("tessera"), 1},
		{"constant: one distance symbol", bytes.Repeat([]byte{9}, 5000), 2},
		{"no match: no distance symbol", noMatch, 2},
		{"two values", fewValues, 2},
		{"smooth", smooth, 2},
		{"runs longer than 258", bytes.Repeat([]byte{1, 2, 3, 4}, 3000), 2},
	}
	var d deflater
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			z := deflateBytes(&d, data, 1, 100)
			if got := z[0] >> 1 & 3; got != tt.btype {
				t.Errorf("block type %d, want %d", got, tt.btype)
			}
			if tt.name == "no match: no distance symbol" && d.distFreq != [30]uint32{} {
				t.Fatalf("distance symbols used: %v", d.distFreq)
			}
			back, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
			if err != nil {
				t.Fatalf("compress/flate: %v", err)
			}
			if !bytes.Equal(back, data) {
				t.Fatalf("decoded %d bytes, not the %d given", len(back), len(data))
			}
			t.Logf("%d bytes in %d", len(data), len(z))
		})
	}
}

// TestDeflateSingleDistance pins the single distance symbol case: one pixel repeated, in rows
// two pixels long, has every match at the diagonal's distance, one pixel (the diagonal wins
// ties), and deflate then needs two distance codes (see huffman.lengths); zlib's inflate and
// compress/flate both read it.
func TestDeflateSingleDistance(t *testing.T) {
	var d deflater
	for _, bpp := range []int{1, 2, 3, 4} {
		data := bytes.Repeat([]byte{1, 2, 3, 4}[:bpp], 2000)
		z := deflateBytes(&d, data, bpp, 2*bpp)
		used := 0
		for _, f := range d.distFreq {
			if f != 0 {
				used++
			}
		}
		if used != 1 {
			t.Fatalf("bpp %d: %d distance symbols used, want 1", bpp, used)
		}
		back, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("bpp %d: %v, %d bytes back of %d", bpp, err, len(back), len(data))
		}
	}
}
