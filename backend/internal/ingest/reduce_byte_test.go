package ingest

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

// TestReduceByteMean checks the Byte average kernel against the general one, pixel for
// pixel, with nodata or without, on strips that start above, at and below the finer raster
// and finer rasters offset to the left (rows and columns with missing children).
func TestReduceByteMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tests := []struct {
		name         string
		hasND        bool
		nd           float64
		fw, fy0, fy1 int
		offX, offY   int
		ow, oy, n    int
		// ndEvery: one pixel in ndEvery is nodata (4 unless set); ndBlock: a run of
		// nodata rows and columns as in an image's margins.
		ndEvery int
		ndBlock bool
	}{
		{"nodata 0, whole strip", true, 0, 64, 0, 32, 0, 0, 32, 0, 16, 0, false},
		{"nodata 255, offset left and up", true, 255, 61, 0, 31, 4, 2, 34, 0, 17, 0, false},
		{"no nodata, strip clipped at the bottom", false, 0, 40, 10, 33, 0, 0, 20, 5, 12, 0, false},
		{"nodata 7, odd finer width", true, 7, 33, 0, 16, 0, 0, 17, 0, 8, 0, false},
		{"nodata 0, rare, wide", true, 0, 512, 0, 64, 0, 0, 256, 0, 32, 300, false},
		{"nodata 0, margins, offset left", true, 0, 509, 0, 64, 6, 0, 258, 0, 32, 1000, true},
		{"nodata 200, margins, odd offset", true, 200, 515, 0, 40, 3, 0, 259, 0, 20, 50, true},
		{"nodata -9999 (no byte value), wide", true, -9999, 256, 0, 32, 0, 0, 128, 0, 16, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fine := make([]uint8, tc.fw*(tc.fy1-tc.fy0))
			every := tc.ndEvery
			if every == 0 {
				every = 4
			}
			for i := range fine {
				fine[i] = uint8(rng.IntN(256))
				if tc.hasND && tc.nd >= 0 && tc.nd <= 255 && (rng.IntN(every) == 0 || tc.ndBlock && (i%tc.fw < 37 || i/tc.fw > 30)) {
					fine[i] = uint8(tc.nd)
				}
			}
			g := grid2x2{fw: tc.fw, fy0: tc.fy0, fy1: tc.fy1, offX: tc.offX, offY: tc.offY, ow: tc.ow, oy: tc.oy, n: tc.n}
			v := newValidity(newEmptyTest(raster.Byte, tc.hasND, tc.nd))
			want := make([]uint8, tc.ow*tc.n)
			got := make([]uint8, tc.ow*tc.n)
			fill := uint8(0)
			if tc.nd >= 0 && tc.nd <= 255 {
				fill = uint8(tc.nd)
			}
			reduce(fine, want, g, v, fill, false, nil)
			reduceByteMean(fine, got, g, v, fill)
			if !bytes.Equal(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("pixel %d (row %d col %d) = %d, general kernel %d", i, i/tc.ow, i%tc.ow, got[i], want[i])
					}
				}
			}
		})
	}
}
