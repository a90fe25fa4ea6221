package ingest

import (
	"math/rand/v2"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

// The per-pixel kernels of a parse, per 256×256 tile (or 512×512 → 256×256 reduction).

func randomBand(t raster.DataType, w, h int, nd float64) *raster.Band {
	rng := rand.New(rand.NewPCG(7, 8))
	b := raster.New(t, w, h)
	b.HasNoData, b.NoData = true, nd
	for i := 0; i < w*h; i++ {
		if rng.IntN(20) == 0 {
			b.Set(i, nd)
		} else {
			b.Set(i, float64(rng.IntN(200)))
		}
	}
	return b
}

// benchReduce times the 2×2 reduction (average, or mode) of the 512×512 band fine, whose
// nodata is nd, into a 256×256 band.
func benchReduce(b *testing.B, fine *raster.Band, nd float64, mode bool) {
	out := raster.New(fine.Type, 256, 256)
	g := grid2x2{fw: 512, fy0: 0, fy1: 512, ow: 256, n: 256}
	v := newValidity(newEmptyTest(fine.Type, true, nd))
	b.ReportAllocs()
	b.SetBytes(int64(len(fine.Data)))
	for b.Loop() {
		reduceBand(fine, out, g, v, nd, mode, nil)
	}
}

func BenchmarkReduceAverageFloat32(b *testing.B) {
	benchReduce(b, randomBand(raster.Float32, 512, 512, -9999), -9999, false)
}

func BenchmarkReduceModeByte(b *testing.B) {
	benchReduce(b, randomBand(raster.Byte, 512, 512, 255), 255, true)
}

func BenchmarkMomentsFloat32(b *testing.B) {
	band := randomBand(raster.Float32, 256, 256, -9999)
	v := newValidity(newEmptyTest(raster.Float32, true, -9999))
	b.ReportAllocs()
	b.SetBytes(int64(len(band.Data)))
	for i := 0; i < b.N; i++ {
		stripMoments(band, v, nil)
	}
}

func BenchmarkCountUInt16(b *testing.B) {
	band := randomBand(raster.UInt16, 256, 256, 0)
	counts := make([]int64, 1<<16)
	b.ReportAllocs()
	b.SetBytes(int64(len(band.Data)))
	for i := 0; i < b.N; i++ {
		countStrip(band, counts, nil)
	}
}

func BenchmarkEmptyTestFloat32AllNoData(b *testing.B) {
	band := raster.New(raster.Float32, 256, 256)
	for i := 0; i < band.Len(); i++ {
		band.Set(i, -9999)
	}
	e := newEmptyTest(raster.Float32, true, -9999)
	b.ReportAllocs()
	b.SetBytes(int64(len(band.Data)))
	for i := 0; i < b.N; i++ {
		if !e.empty(band.Data, 256, 0, 0, 256, 256) {
			b.Fatal("not empty")
		}
	}
}

func BenchmarkReduceAverageByte(b *testing.B) {
	benchReduce(b, randomBand(raster.Byte, 512, 512, 0), 0, false)
}

// BenchmarkReduceAverageByteImagery: the Byte average on imagery-like data: valid pixels
// with a nodata margin (a quarter of the tile) and rare nodata pixels inside, as the tiles of
// RGB.byte.tif.
func BenchmarkReduceAverageByteImagery(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	fine := raster.New(raster.Byte, 512, 512)
	for i := range fine.Data {
		if i%512 >= 128 && rng.IntN(500) != 0 {
			fine.Data[i] = uint8(1 + rng.IntN(255))
		}
	}
	benchReduce(b, fine, 0, false)
}
