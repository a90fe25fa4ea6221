package pngenc

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 31, 32, 33, 1000, 2047, 2048, 2049, 4096, 5552, 5553, 20000, 200000} {
		for _, fill := range []string{"random", "0xff", "zero"} {
			p := make([]byte, n)
			switch fill {
			case "random":
				for i := range p {
					p[i] = uint8(rng.UintN(256))
				}
			case "0xff":
				copy(p, bytes.Repeat([]byte{0xff}, n))
			}
			want := adler32.Checksum(p)
			if got := adlerUpdate(1, p); got != want {
				t.Errorf("%d %s bytes: %08x, want %08x", n, fill, got, want)
			}
			// In pieces, as Encode feeds it row by row.
			a := uint32(1)
			for rest := p; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(3000))
				a = adlerUpdate(a, rest[:k])
				rest = rest[k:]
			}
			if a != want {
				t.Errorf("%d %s bytes in pieces: %08x, want %08x", n, fill, a, want)
			}
		}
	}
}

func FuzzAdler32(f *testing.F) {
	f.Add([]byte("Wikipedia"), uint16(3))
	f.Fuzz(func(t *testing.T, p []byte, cut uint16) {
		c := int(cut) % (len(p) + 1)
		if got, want := adlerUpdate(adlerUpdate(1, p[:c]), p[c:]), adler32.Checksum(p); got != want {
			t.Fatalf("%08x, want %08x", got, want)
		}
	})
}

func BenchmarkAdler32(b *testing.B) {
	p := make([]byte, 1025)
	for i := range p {
		p[i] = uint8(i * 7)
	}
	b.Run("pngenc", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adlerUpdate(1, p)
		}
	})
	b.Run("hash-adler32", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
}
