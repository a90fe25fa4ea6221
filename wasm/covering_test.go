//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"
)

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
		if got, err := coveringCount(tc.w, tc.s, tc.e, tc.n, tc.z); err != nil || got != tc.want {
			t.Errorf("coveringCount(%v, %v, %v, %v, %d) = %d, want %d", tc.w, tc.s, tc.e, tc.n, tc.z, got, tc.want)
		}
	}
}

// TestCoveringCountBadInput: a zoom outside 0..30 is an error, and numbers refuses arguments
// that are not numbers; js.Value.Int on a string, and a negative zoom's shift, panicked, which
// ends the module for the whole page.
func TestCoveringCountBadInput(t *testing.T) {
	for _, z := range []int{-1, 31, 64} {
		if _, err := coveringCount(0, 0, 1, 1, z); err == nil {
			t.Errorf("zoom %d: no error", z)
		}
	}
	if _, ok := numbers([]js.Value{js.ValueOf(1), js.ValueOf("2"), js.ValueOf(3)}, 3); ok {
		t.Error("a string taken as a number")
	}
	if _, ok := numbers([]js.Value{js.ValueOf(1), js.ValueOf(2)}, 3); ok {
		t.Error("two arguments taken as three")
	}
	if v, ok := numbers([]js.Value{js.ValueOf(1.5), js.ValueOf(-2), js.ValueOf(3)}, 3); !ok || v[0] != 1.5 || v[1] != -2 || v[2] != 3 {
		t.Errorf("numbers = %v, %v", v, ok)
	}
}
