package ingest

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestDownsample builds a coarser level from a finer one that does not start at the coarser
// one's origin, and checks every pixel against a direct 2×2 computation.
func TestDownsample(t *testing.T) {
	const T = 4
	from := tile.Range{Z: 3, MinX: 3, MinY: 2, MaxX: 5, MaxY: 3} // 12×8 px
	to := tile.Range{Z: 2, MinX: 1, MinY: 1, MaxX: 2, MaxY: 1}   // 8×4 px
	fw, fh, ow, oh := 12, 8, 8, 4
	offX, offY := from.MinX*T-2*to.MinX*T, from.MinY*T-2*to.MinY*T
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name  string
		typ   raster.DataType
		nd    float64
		mode  bool
		alpha bool
	}{
		{"float32 average with nodata", raster.Float32, -9999, false, false},
		{"byte mode with nodata", raster.Byte, 0, true, false},
		{"uint16 average with alpha", raster.UInt16, math.NaN(), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fine := raster.New(tc.typ, fw, fh)
			fine.HasNoData, fine.NoData = !math.IsNaN(tc.nd), tc.nd
			alphaBand := raster.New(raster.Byte, fw, fh)
			for i := 0; i < fw*fh; i++ {
				v := float64(1 + rng.IntN(4))
				if !tc.mode {
					v = float64(rng.IntN(1000)) / 4
				}
				if rng.IntN(5) == 0 && fine.HasNoData {
					v = tc.nd
				}
				fine.Set(i, v)
				if rng.IntN(4) > 0 {
					alphaBand.Data[i] = 255
				}
			}
			bands := []*raster.Band{fine}
			if tc.alpha {
				a := *alphaBand
				a.Type = tc.typ
				a.Data = make([]byte, fw*fh*tc.typ.Size())
				for i, x := range alphaBand.Data {
					a.Set(i, float64(x))
				}
				bands = append(bands, &a)
			}
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "fine.tif"), filepath.Join(dir, "coarse.tif")
			if err := gdal.WriteGeoTIFF(src, gdal.GeoTIFF{GeoTransform: [6]float64{0, 1, 0, 0, 0, -1}, CRS: "EPSG:3857", Bands: bands}); err != nil {
				t.Fatal(err)
			}
			if err := downsample(src, dst, from, to, T, tc.mode, tc.alpha); err != nil {
				t.Fatal(err)
			}
			d, err := gdal.Open(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			in, err := d.Info()
			if err != nil {
				t.Fatal(err)
			}
			if in.Width != ow || in.Height != oh || math.Abs(in.GeoTransform[1]-tile.PixelSize(2, T)) > 1e-9 {
				t.Fatalf("coarse info %+v", in)
			}
			got := raster.New(tc.typ, ow, oh)
			if err := d.ReadBand(0, 0, 0, ow, oh, got, gdal.Nearest); err != nil {
				t.Fatal(err)
			}
			var gotAlpha *raster.Band
			if tc.alpha {
				gotAlpha = raster.New(raster.Byte, ow, oh)
				if err := d.ReadBand(1, 0, 0, ow, oh, gotAlpha, gdal.Nearest); err != nil {
					t.Fatal(err)
				}
			}
			for r := 0; r < oh; r++ {
				for c := 0; c < ow; c++ {
					var kids []float64
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							x, y := 2*c-offX+dx, 2*r-offY+dy
							if x < 0 || y < 0 || x >= fw || y >= fh {
								continue
							}
							v := fine.At(y*fw + x)
							if (fine.HasNoData && v == tc.nd) || (tc.alpha && alphaBand.Data[y*fw+x] == 0) {
								continue
							}
							kids = append(kids, v)
						}
					}
					i := r*ow + c
					want := tc.nd
					if !fine.HasNoData {
						want = 0
					}
					switch {
					case len(kids) == 0:
					case tc.mode:
						best, bestN := kids[0], 0
						for _, a := range kids {
							n := 0
							for _, b := range kids {
								if a == b {
									n++
								}
							}
							if n > bestN {
								best, bestN = a, n
							}
						}
						want = best
					default:
						s := 0.0
						for _, k := range kids {
							s += k
						}
						want = s / float64(len(kids))
						if !tc.typ.IsFloat() {
							want = math.Round(want)
						}
					}
					if g := got.At(i); math.Abs(g-want) > 1e-4 {
						t.Fatalf("pixel %d,%d = %v, want %v (children %v)", c, r, g, want, kids)
					}
					if gotAlpha != nil && (gotAlpha.Data[i] != 0) != (len(kids) > 0) {
						t.Fatalf("alpha at %d,%d = %d with %d valid children", c, r, gotAlpha.Data[i], len(kids))
					}
				}
			}
		})
	}
}
