//go:build js && wasm

package main

import "testing"

// TestCoveringCount: a tile's own lon/lat bounds are covered by that tile alone, the world by
// all 4^z, a box straddling a tile corner by four.
func TestCoveringCount(t *testing.T) {
	const maxLat = 85.0511287798066
	for _, tc := range []struct {
		w, s, e, n float64
		z, want    int
	}{
		{-180, -maxLat, 180, maxLat, 0, 1},
		{-180, -maxLat, 180, maxLat, 3, 64},
		{0, 0, 180, maxLat, 1, 1},
		{-1, -1, 1, 1, 1, 4},
		{10, 10, 10.001, 10.001, 12, 1},
	} {
		if got := coveringCount(tc.w, tc.s, tc.e, tc.n, tc.z); got != tc.want {
			t.Errorf("coveringCount(%v, %v, %v, %v, %d) = %d, want %d", tc.w, tc.s, tc.e, tc.n, tc.z, got, tc.want)
		}
	}
}
