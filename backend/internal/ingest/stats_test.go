package ingest

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// naiveStats is the textbook computation over raster.Band.Decode: what bandStatistics
// must reproduce.
func naiveStats(b *raster.Band, alpha []byte) (n int64, lo, hi, mean, std float64, hist []int64) {
	vals, mask := b.Decode(nil, nil)
	var xs []float64
	for i, v := range vals {
		if (mask != nil && mask[i]) || (alpha != nil && alpha[i] == 0) {
			continue
		}
		xs = append(xs, v)
	}
	if len(xs) == 0 {
		return
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	var sum float64
	for _, x := range xs {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean = sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	std = math.Sqrt(ss / float64(len(xs)))
	hl, hh := math.Floor(lo), math.Ceil(hi)
	if hl == hh {
		hl, hh = hl-0.5, hh+0.5
	}
	hist = make([]int64, 100)
	for _, x := range xs {
		k := int((x - hl) / (hh - hl) * 100)
		if k == 100 {
			k = 99
		}
		hist[k]++
	}
	return int64(len(xs)), lo, hi, mean, std, hist
}

func TestBandStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const w, h = 300, 170
	f := raster.New(raster.Float32, w, h)
	f.HasNoData, f.NoData = true, -9999
	u := raster.New(raster.UInt16, w, h)
	u.HasNoData, u.NoData = true, 7
	constant := raster.New(raster.Byte, w, h)
	i16 := raster.New(raster.Int16, w, h)
	i16.HasNoData, i16.NoData = true, -32768
	for i := 0; i < w*h; i++ {
		switch rng.IntN(10) {
		case 0:
			f.Set(i, -9999)
		case 1:
			f.Set(i, math.NaN())
		case 2:
			f.Set(i, -9999.0001) // within isclose tolerance of the nodata value
		default:
			f.Set(i, rng.NormFloat64()*100+500)
		}
		u.Set(i, float64(rng.IntN(20)))
		constant.Set(i, 42)
		i16.Set(i, float64(rng.IntN(3000)-1500))
		if i%7 == 0 {
			i16.Set(i, -32768)
		}
	}
	tests := []struct {
		name string
		band *raster.Band
	}{{"float32 with nodata and NaN", f}, {"uint16 with nodata", u}, {"constant byte", constant}, {"int16 with negatives", i16}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s.tif")
			if err := gdal.WriteGeoTIFF(p, gdal.GeoTIFF{GeoTransform: [6]float64{0, 1, 0, 0, 0, -1}, CRS: "EPSG:3857", Bands: []*raster.Band{tc.band}}); err != nil {
				t.Fatal(err)
			}
			got, err := bandStatistics(context.Background(), p, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			n, lo, hi, mean, std, hist := naiveStats(tc.band, nil)
			g := got[0]
			if g.Count != n || g.Min != lo || g.Max != hi || math.Abs(g.Mean-mean) > 1e-9*math.Abs(mean) || math.Abs(g.Std-std) > 1e-9*std+1e-12 {
				t.Errorf("got n=%d min=%v max=%v mean=%v std=%v, want %d %v %v %v %v", g.Count, g.Min, g.Max, g.Mean, g.Std, n, lo, hi, mean, std)
			}
			for k := range hist {
				if g.Hist[k] != hist[k] {
					t.Fatalf("bin %d: %d, want %d", k, g.Hist[k], hist[k])
				}
			}
		})
	}
}

// TestEmptyTestMatchesDecode checks that the raw-byte nodata test agrees with
// raster.Band.Decode's mask on random windows of every type.
func TestEmptyTestMatchesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	types := []raster.DataType{raster.Byte, raster.Int8, raster.UInt16, raster.Int16, raster.UInt32, raster.Int32, raster.Float32, raster.Float64}
	nodatas := []float64{0, 1, -1, 255, 1e6, -3.4e38, math.NaN(), 2.5}
	for _, typ := range types {
		for _, nd := range nodatas {
			for trial := 0; trial < 30; trial++ {
				b := raster.New(typ, 4, 4)
				b.HasNoData, b.NoData = trial%5 != 0, nd
				for i := 0; i < 16; i++ {
					if rng.IntN(4) > 0 {
						b.Set(i, nd)
					} else {
						b.Set(i, float64(rng.IntN(5)))
					}
				}
				_, mask := b.Decode(nil, nil)
				want := mask != nil
				for _, m := range mask {
					want = want && m
				}
				got := newEmptyTest(typ, b.HasNoData, nd).empty(b.Data, 4, 0, 0, 4, 4)
				if got != want {
					t.Fatalf("%s nodata %v (set %v) data %v: empty %v, Decode says %v", typ, nd, b.HasNoData, b.Data, got, want)
				}
			}
		}
	}
}
