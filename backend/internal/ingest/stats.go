package ingest

import (
	"context"
	"math"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// HistogramBins is the number of histogram bins per band, as in django-raster.
const HistogramBins = 100

// moments accumulates count, min, max, mean and the sum of squared deviations (M2) of a
// stream of values, merging chunks with Chan et al.'s parallel formula, so the result does
// not depend on float rounding of huge sums.
type moments struct {
	n        int64
	min, max float64
	mean, m2 float64
}

func (m *moments) addChunk(vals []float64, valid func(i int) bool) {
	var n int64
	var sum float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range vals {
		if !valid(i) {
			continue
		}
		n++
		sum += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if n == 0 {
		return
	}
	mean := sum / float64(n)
	var m2 float64
	for i, v := range vals {
		if valid(i) {
			d := v - mean
			m2 += d * d
		}
	}
	if m.n == 0 {
		*m = moments{n: n, min: lo, max: hi, mean: mean, m2: m2}
		return
	}
	tot := m.n + n
	d := mean - m.mean
	m.mean += d * float64(n) / float64(tot)
	m.m2 += m2 + d*d*float64(m.n)*float64(n)/float64(tot)
	m.n = tot
	m.min, m.max = math.Min(m.min, lo), math.Max(m.max, hi)
}

// histRange is django-raster's histogram range: floor(min)..ceil(max), widened by half a
// unit each way when that is empty (numpy does the same for a constant band).
func histRange(min, max float64) (lo, hi float64) {
	lo, hi = math.Floor(min), math.Ceil(max)
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi
}

// bandStatistics computes, per data band of the raster at path, the statistics of its valid
// pixels (not nodata, not NaN, and covered by the source where alpha says so) in two streamed
// passes over strips of rows: count, min, max, mean, population std, then the 100-bin
// histogram over floor(min)..ceil(max) (numpy's bins: the last one includes its right edge).
func bandStatistics(ctx context.Context, path string, dataBands int, alpha bool) ([]catalog.BandMeta, error) {
	d, err := gdal.Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	in, err := d.Info()
	if err != nil {
		return nil, err
	}
	w, h := in.Width, in.Height
	rows := max(1, min(h, (4<<20)/max(w, 1)))
	mom := make([]moments, dataBands)
	hist := make([][]int64, dataBands)
	var vals []float64
	var mask []bool
	var alphaBand *raster.Band
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			for i := range hist {
				hist[i] = make([]int64, HistogramBins)
			}
		}
		for y := 0; y < h; y += rows {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := min(rows, h-y)
			if alpha {
				alphaBand = raster.New(raster.Byte, w, n)
				if err := d.ReadBand(len(in.Bands)-1, 0, y, w, n, alphaBand, gdal.Nearest); err != nil {
					return nil, err
				}
			}
			for bi := 0; bi < dataBands; bi++ {
				bin := in.Bands[bi]
				b := raster.New(bin.Type, w, n)
				b.HasNoData, b.NoData = bin.HasNoData, bin.NoData
				if err := d.ReadBand(bi, 0, y, w, n, b, gdal.Nearest); err != nil {
					return nil, err
				}
				vals, mask = b.Decode(vals, mask)
				m := mask
				valid := func(i int) bool {
					return (m == nil || !m[i]) && (alphaBand == nil || alphaBand.Data[i] != 0)
				}
				if pass == 0 {
					mom[bi].addChunk(vals, valid)
					continue
				}
				if mom[bi].n == 0 {
					continue
				}
				lo, hi := histRange(mom[bi].min, mom[bi].max)
				scale := HistogramBins / (hi - lo)
				for i, v := range vals {
					if !valid(i) {
						continue
					}
					k := int((v - lo) * scale)
					k = max(0, min(k, HistogramBins-1))
					hist[bi][k]++
				}
			}
		}
	}
	out := make([]catalog.BandMeta, dataBands)
	for bi := range out {
		bin := in.Bands[bi]
		bm := catalog.BandMeta{Index: bi, Type: bin.Type, HasNoData: bin.HasNoData, NoData: bin.NoData}
		if m := mom[bi]; m.n > 0 {
			bm.Count, bm.Min, bm.Max, bm.Mean = m.n, m.min, m.max, m.mean
			bm.Std = math.Sqrt(m.m2 / float64(m.n))
			bm.Hist = hist[bi]
			lo, hi := histRange(m.min, m.max)
			bm.HistBins = make([]float64, HistogramBins+1)
			for k := range bm.HistBins {
				bm.HistBins[k] = lo + (hi-lo)*float64(k)/HistogramBins
			}
		}
		out[bi] = bm
	}
	return out, nil
}
