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

// testDeflater is a deflater with what an Encoder keeps beside it: the length of the data its
// hash table last held positions in (Encoder.last), which the next stream advances past.
type testDeflater struct {
	deflater
	last int
}

// deflateBytes compresses data with the deflater as one block (rows of length r, pixels of
// bpp bytes) and returns the raw deflate stream.
func deflateBytes(d *testDeflater, data []byte, bpp, r int) []byte {
	return deflateRows(d, data, bpp, r, len(data))
}

// deflateRows compresses data (not empty) as Encoder.deflate compresses an image's filtered
// rows, and returns the raw deflate stream: blocks of blockLen bytes (the last may be
// shorter), each tokenized after the r bytes before it (the row above, which matches may
// refer to) with the diagonal at r-bpp, the hash table advanced past the stream before
// (d.last) and past each block's bytes but those r.
func deflateRows(d *testDeflater, data []byte, bpp, r, blockLen int) []byte {
	d.advance(d.last + window + 1)
	d.pos, d.bits, d.nbits = 0, 0, 0
	d.reserve(0)
	diag := r - bpp
	if diag > window || r == 0 {
		diag = 0
	}
	buf := make([]byte, 0, r+blockLen)
	hist := 0
	for off := 0; ; off += blockLen {
		all := append(buf[:hist], data[off:min(len(data), off+blockLen)]...)
		d.tokenize(all, hist, bpp, diag)
		final := off+blockLen >= len(data)
		d.block(all[hist:], final)
		if final {
			d.last = len(all)
			break
		}
		hist = min(r, len(all))
		copy(buf[:hist], all[len(all)-hist:])
		d.advance(len(all) - hist)
	}
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
	var d testDeflater
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
	var d testDeflater
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

// FuzzDeflate checks that compress/flate reads back whatever bytes the deflater compresses,
// in rows of any length and blocks of any size (matches reaching into the block before), and
// that one deflater's state carries nothing wrong into the next stream: it compresses data,
// then a prefix of it (the hash table then holds positions further on than the new stream
// reaches), then data again. Seeded with what a match finder gets wrong: constant runs
// longer than 258, patterns repeating at distances 1 to 8, periodic rows, noise, a byte or
// two, and an input longer than the window.
func FuzzDeflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(8, 9))
	noise := make([]byte, 3000)
	for i := range noise {
		noise[i] = uint8(rng.UintN(256))
	}
	long := make([]byte, 40000) // a constant run longer than the window, then noise
	for i := 38000; i < len(long); i++ {
		long[i] = uint8(rng.UintN(256))
	}
	f.Add([]byte{7}, uint8(0), uint16(0), uint16(1), uint16(0))
	f.Add([]byte{1, 2}, uint8(1), uint16(3), uint16(1), uint16(1))
	f.Add(bytes.Repeat([]byte{9}, 2000), uint8(0), uint16(99), uint16(700), uint16(300))
	for dist := 1; dist <= 8; dist++ {
		f.Add(bytes.Repeat(noise[:dist], 1000), uint8(dist-1), uint16(10*dist), uint16(1500), uint16(999))
	}
	f.Add(bytes.Repeat(noise[:257], 12), uint8(3), uint16(252), uint16(514), uint16(1000)) // rows of 257 equal
	f.Add(noise, uint8(2), uint16(40), uint16(1024), uint16(77))
	f.Add(long, uint8(3), uint16(2000), uint16(65535), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, bpp uint8, row uint16, blockLen uint16, cut uint16) {
		if len(data) == 0 {
			return
		}
		b := int(bpp)%4 + 1
		r := b + 1 + int(row) // a filtered row: longer than a pixel
		var d testDeflater
		for _, p := range [][]byte{data, data[:1+int(cut)%len(data)], data} {
			z := deflateRows(&d, p, b, r, 1+int(blockLen))
			back, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
			if err != nil {
				t.Fatalf("%d bytes, pixels of %d, rows of %d, blocks of %d: compress/flate: %v", len(p), b, r, 1+int(blockLen), err)
			}
			if !bytes.Equal(back, p) {
				t.Fatalf("%d bytes, pixels of %d, rows of %d, blocks of %d: %d bytes back, not the same", len(p), b, r, 1+int(blockLen), len(back))
			}
		}
	})
}
