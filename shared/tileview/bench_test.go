package tileview

import (
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/tile"
)

// BenchmarkRenderNDVI is the web map's render of one tile, as tessera.render does it in the
// browser: a raw tile of two UInt16 256×256 bands, NDVI, a named colormap over a range. Run
// it under WebAssembly too (GOOS=js GOARCH=wasm go test -c, then node's wasm_exec_node.js).
func BenchmarkRenderNDVI(b *testing.B) {
	z := tile.ZXY{Z: 12, X: 2173, Y: 1420}
	tl := &rawtile.Tile{Tile: z, Bounds: z.Bounds(), Width: 256, Height: 256, Bands: map[string]*raster.Band{}}
	for k, n := range []string{"red", "nir"} {
		band := raster.New(raster.UInt16, 256, 256)
		band.HasNoData, band.NoData = true, 0
		for i := range band.Len() {
			band.Set(i, float64(500+(i*(7+k*5))%3000))
		}
		tl.Bands[n] = band
	}
	data, err := rawtile.Encode(tl)
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Formula: "(nir-red)/(nir+red)", Colormap: "rdylgn", Range: &[2]float64{-1, 1}}
	b.ReportAllocs()
	for b.Loop() {
		img, err := Render(data, o)
		if err != nil {
			b.Fatal(err)
		}
		img.Release() // as the browser does once it has copied the pixels out
	}
}
