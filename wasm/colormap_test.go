//go:build js && wasm

package main

import (
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/tile"
	"github.com/tessera-gis/tessera/shared/tileview"
)

// TestCheckColormap holds checkColormap to the render it stands in for: for each colormap it
// fails exactly when tileview.Render fails on a good tile and formula, with the same message
// (a bad colormap was found only at the first tile's render, after the tile's request).
func TestCheckColormap(t *testing.T) {
	z := tile.ZXY{Z: 3, X: 1, Y: 2}
	band := raster.New(raster.Float32, 2, 2)
	for i := range band.Len() {
		band.Set(i, float64(i))
	}
	data, err := rawtile.Encode(&rawtile.Tile{Tile: z, Bounds: z.Bounds(), Width: 2, Height: 2, Bands: map[string]*raster.Band{"a": band}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, colormap string
		bad            bool
	}{
		{"grayscale", "", false},
		{"blank is grayscale", "  ", false},
		{"name", "RdYlGn", false},
		{"reversed name, spaces", " viridis_r ", false},
		{"unknown name", "nosuchmap", true},
		{"JSON string is not a name", `"viridis"`, true},
		{"discrete JSON", `{"1": "#ff0000", "x > 2": [0, 0, 255]}`, false},
		{"single quotes", "{'continuous': true, 'from': '#000080', 'to': '#ffff00'}", false},
		{"stringified object", `{"continuous":true,"name":"RdYlGn","range":[-1,1]}`, false},
		{"bad colour", `{"1": "#zz0000"}`, true},
		{"bad key formula", `{"x +* 2": "#ff0000"}`, true},
		{"key not in x", `{"y > 1": "#ff0000"}`, true},
		{"range the wrong way", `{"continuous": true, "range": [1, -1]}`, true},
		{"name and colours", `{"continuous": true, "name": "viridis", "from": "#000000"}`, true},
		{"not JSON", `{"1": }`, true},
		{"text after the object", `{"1": "#ff0000"} x`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkColormap(tt.colormap)
			img, want := tileview.Render(data, tileview.Options{Formula: "a", Colormap: tt.colormap})
			img.Release()
			if (got != nil) != tt.bad {
				t.Fatalf("checkColormap(%q) = %v, want an error: %v", tt.colormap, got, tt.bad)
			}
			if (want != nil) != tt.bad {
				t.Fatalf("render with %q: %v; the table is wrong", tt.colormap, want)
			}
			if got != nil && got.Error() != want.Error() {
				t.Errorf("checkColormap(%q) = %q, render says %q", tt.colormap, got, want)
			}
		})
	}
}
