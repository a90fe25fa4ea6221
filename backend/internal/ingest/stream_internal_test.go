package ingest

import (
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestStreamFits: a streamed parse holds two full-width rows of tiles; wider rasters go to
// the tasks, which read blocks.
func TestStreamFits(t *testing.T) {
	rgb := []raster.DataType{raster.Byte, raster.Byte, raster.Byte}
	f64x4 := []raster.DataType{raster.Float64, raster.Float64, raster.Float64, raster.Float64}
	tests := []struct {
		name  string
		tiles int
		types []raster.DataType
		want  bool
	}{
		{"RGB.byte 400%: 15 tiles wide", 15, rgb, true},
		{"RGB, 171 tiles wide (2·256·43776·3 B = 67.2 MB > 64 MiB)", 171, rgb, false},
		{"RGB, 170 tiles wide (66.8 MB ≤ 64 MiB)", 170, rgb, true},
		{"4 × float64, 16 tiles wide (exactly 64 MiB)", 16, f64x4, true},
		{"4 × float64, 17 tiles wide", 17, f64x4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := tile.Range{Z: 12, MinX: 100, MaxX: 100 + tc.tiles - 1, MinY: 5, MaxY: 9}
			if got := streamFits(rng, 256, tc.types); got != tc.want {
				t.Errorf("streamFits(%d tiles wide) = %v, want %v", tc.tiles, got, tc.want)
			}
		})
	}
}
