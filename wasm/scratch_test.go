//go:build js && wasm

package main

import "testing"

// TestScratchFor pins the rule of the tile buffer: reuse it unless it is too small or more
// than four times the size needed (it never shrank: after one 64 MiB tile the module kept
// 64 MiB for good).
func TestScratchFor(t *testing.T) {
	const kib = 1 << 10
	tests := []struct {
		name   string
		cap, n int
		reused bool
	}{
		{"first tile", 0, 256 * kib, false},
		{"same size", 256 * kib, 256 * kib, true},
		{"smaller, over a quarter", 256 * kib, 100 * kib, true},
		{"exactly a quarter", 256 * kib, 64 * kib, true},
		{"under a quarter", 256 * kib, 64*kib - 1, false},
		{"after a huge tile", 64 << 20, 256 * kib, false},
		{"larger", 256 * kib, 256*kib + 1, false},
		{"empty tile, empty buffer", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, 0, tt.cap)
			got := scratchFor(buf, tt.n)
			if len(got) != tt.n {
				t.Fatalf("len %d, want %d", len(got), tt.n)
			}
			reused := cap(got) == cap(buf) && (tt.cap == 0 || &got[:1][0] == &buf[:1][0])
			if reused != tt.reused {
				t.Errorf("cap %d for %d bytes: reused %v, want %v", tt.cap, tt.n, reused, tt.reused)
			}
			if !reused && cap(got) != tt.n {
				t.Errorf("a new buffer of cap %d for %d bytes, want exactly %d", cap(got), tt.n, tt.n)
			}
		})
	}
}
