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
	}{
		{"nodata 0, whole strip", true, 0, 64, 0, 32, 0, 0, 32, 0, 16},
		{"nodata 255, offset left and up", true, 255, 61, 0, 31, 4, 2, 34, 0, 17},
		{"no nodata, strip clipped at the bottom", false, 0, 40, 10, 33, 0, 0, 20, 5, 12},
		{"nodata 7, odd finer width", true, 7, 33, 0, 16, 0, 0, 17, 0, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fine := make([]uint8, tc.fw*(tc.fy1-tc.fy0))
			for i := range fine {
				fine[i] = uint8(rng.IntN(256))
				if tc.hasND && rng.IntN(4) == 0 {
					fine[i] = uint8(tc.nd)
				}
			}
			g := grid2x2{fw: tc.fw, fy0: tc.fy0, fy1: tc.fy1, offX: tc.offX, offY: tc.offY, ow: tc.ow, oy: tc.oy, n: tc.n}
			v := newValidity(newEmptyTest(raster.Byte, tc.hasND, tc.nd))
			want := make([]uint8, tc.ow*tc.n)
			got := make([]uint8, tc.ow*tc.n)
			reduce(fine, want, g, v, uint8(tc.nd), false, nil)
			reduceByteMean(fine, got, g, v, uint8(tc.nd))
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
