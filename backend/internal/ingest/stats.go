package ingest

import (
	"context"
	"encoding/binary"
	"math"
	"unsafe"

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

// merge adds a chunk's moments.
func (m *moments) merge(c moments) {
	if c.n == 0 {
		return
	}
	if m.n == 0 {
		*m = c
		return
	}
	tot := m.n + c.n
	d := c.mean - m.mean
	m.mean += d * float64(c.n) / float64(tot)
	m.m2 += c.m2 + d*d*float64(m.n)*float64(c.n)/float64(tot)
	m.n = tot
	m.min, m.max = math.Min(m.min, c.min), math.Max(m.max, c.max)
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

// number is a pixel type as Go sees it.
type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// validity is emptyTest's rule turned around: which values are valid pixels.
type validity struct {
	float        bool
	hasND, nanND bool
	nd, tol      float64
	lo, hi       float64 // integer bands: values in lo..hi are nodata
	intNone      bool    // integer band whose nodata matches nothing
}

func newValidity(e emptyTest) validity {
	v := validity{float: e.typ.IsFloat(), hasND: e.hasNoData, nd: e.nd, tol: e.tol, lo: float64(e.lo), hi: float64(e.hi), intNone: e.none}
	v.nanND = e.hasNoData && math.IsNaN(e.nd)
	if math.IsInf(e.nd, 0) {
		v.tol = 0
	}
	return v
}

func (v *validity) ok(x float64) bool {
	if v.float {
		if x != x {
			return false
		}
		return !v.hasND || v.nanND || math.Abs(x-v.nd) > v.tol
	}
	return v.intNone || x < v.lo || x > v.hi
}

// chunkMoments computes the moments of the valid values (alpha, when not nil, must be
// non-zero too): a pass for count, sum, min and max, a second over the same memory for M2.
func chunkMoments[T number](vals []T, v validity, alpha []byte) moments {
	var m moments
	var sum float64
	m.min, m.max = math.Inf(1), math.Inf(-1)
	for i, t := range vals {
		x := float64(t)
		if !v.ok(x) || (alpha != nil && alpha[i] == 0) {
			continue
		}
		m.n++
		sum += x
		if x < m.min {
			m.min = x
		}
		if x > m.max {
			m.max = x
		}
	}
	if m.n == 0 {
		return moments{}
	}
	m.mean = sum / float64(m.n)
	for i, t := range vals {
		x := float64(t)
		if !v.ok(x) || (alpha != nil && alpha[i] == 0) {
			continue
		}
		d := x - m.mean
		m.m2 += d * d
	}
	return m
}

// chunkHistogram adds the valid values to hist, whose bins split lo..lo+HistogramBins/scale
// evenly (the last bin includes its right edge).
func chunkHistogram[T number](vals []T, v validity, alpha []byte, hist []int64, lo, scale float64) {
	last := len(hist) - 1
	for i, t := range vals {
		x := float64(t)
		if !v.ok(x) || (alpha != nil && alpha[i] == 0) {
			continue
		}
		k := int((x - lo) * scale)
		if k > last {
			k = last
		} else if k < 0 {
			k = 0
		}
		hist[k]++
	}
}

// typed returns the band's pixels as a slice of its Go type. The bytes are little-endian;
// on a little-endian host with aligned data (raster.New's allocations are) that is a view,
// elsewhere a converted copy.
func typed[T number](b *raster.Band) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	n := b.Len()
	if n == 0 {
		return nil
	}
	p := unsafe.Pointer(&b.Data[0])
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 && uintptr(p)%uintptr(size) == 0 {
		return unsafe.Slice((*T)(p), n)
	}
	out := make([]T, n)
	for i := range out {
		out[i] = T(b.At(i))
	}
	return out
}

// stripMoments and stripHistogram dispatch on the band type.
func stripMoments(b *raster.Band, v validity, alpha []byte) moments {
	switch b.Type {
	case raster.Byte:
		return chunkMoments(typed[uint8](b), v, alpha)
	case raster.Int8:
		return chunkMoments(typed[int8](b), v, alpha)
	case raster.UInt16:
		return chunkMoments(typed[uint16](b), v, alpha)
	case raster.Int16:
		return chunkMoments(typed[int16](b), v, alpha)
	case raster.UInt32:
		return chunkMoments(typed[uint32](b), v, alpha)
	case raster.Int32:
		return chunkMoments(typed[int32](b), v, alpha)
	case raster.Float32:
		return chunkMoments(typed[float32](b), v, alpha)
	default:
		return chunkMoments(typed[float64](b), v, alpha)
	}
}

func stripHistogram(b *raster.Band, v validity, alpha []byte, hist []int64, lo, scale float64) {
	switch b.Type {
	case raster.Byte:
		chunkHistogram(typed[uint8](b), v, alpha, hist, lo, scale)
	case raster.Int8:
		chunkHistogram(typed[int8](b), v, alpha, hist, lo, scale)
	case raster.UInt16:
		chunkHistogram(typed[uint16](b), v, alpha, hist, lo, scale)
	case raster.Int16:
		chunkHistogram(typed[int16](b), v, alpha, hist, lo, scale)
	case raster.UInt32:
		chunkHistogram(typed[uint32](b), v, alpha, hist, lo, scale)
	case raster.Int32:
		chunkHistogram(typed[int32](b), v, alpha, hist, lo, scale)
	case raster.Float32:
		chunkHistogram(typed[float32](b), v, alpha, hist, lo, scale)
	default:
		chunkHistogram(typed[float64](b), v, alpha, hist, lo, scale)
	}
}

// bandStatistics computes, per data band of the raster at path, the statistics of its valid
// pixels (not nodata by django-raster's isclose rule, not NaN, and covered by the source
// where an alpha band says so) in two streamed passes over strips of rows: count, min, max,
// mean and population std, then the 100-bin histogram over floor(min)..ceil(max) (numpy's
// bins: the last one includes its right edge). Memory: one strip of about 4 M pixels.
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
	rows := max(1, min(h, (1<<20)/max(w, 1))) // strips of 1 Mi pixels per band
	mom := make([]moments, dataBands)
	hist := make([][]int64, dataBands)
	valid := make([]validity, dataBands)
	for bi := range valid {
		bin := in.Bands[bi]
		valid[bi] = newValidity(newEmptyTest(bin.Type, bin.HasNoData, bin.NoData))
	}
	// Bands of at most 16 bits are counted per value in one pass; moments and histogram
	// follow exactly from the counts.
	counts := make([][]int64, dataBands)
	for bi := range counts {
		counts[bi] = valueCounts(in.Bands[bi].Type)
	}
	bufs := make([]*raster.Band, dataBands)
	var alphaBuf *raster.Band
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			for bi := range counts {
				if counts[bi] != nil {
					mom[bi], hist[bi] = fromCounts(counts[bi], in.Bands[bi].Type, valid[bi])
				}
			}
		}
		for y := 0; y < h; y += rows {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := min(rows, h-y)
			var a []byte
			if alpha {
				if alphaBuf == nil || alphaBuf.Height != n {
					alphaBuf = raster.New(raster.Byte, w, n)
				}
				if err := d.ReadBand(len(in.Bands)-1, 0, y, w, n, alphaBuf, gdal.Nearest); err != nil {
					return nil, err
				}
				a = alphaBuf.Data
			}
			for bi := 0; bi < dataBands; bi++ {
				if pass == 1 && (mom[bi].n == 0 || counts[bi] != nil) {
					continue
				}
				if bufs[bi] == nil || bufs[bi].Height != n {
					bufs[bi] = raster.New(in.Bands[bi].Type, w, n)
				}
				b := bufs[bi]
				if err := d.ReadBand(bi, 0, y, w, n, b, gdal.Nearest); err != nil {
					return nil, err
				}
				if pass == 0 && counts[bi] != nil {
					countStrip(b, counts[bi], a)
					continue
				}
				if pass == 0 {
					mom[bi].merge(stripMoments(b, valid[bi], a))
					continue
				}
				if hist[bi] == nil {
					hist[bi] = make([]int64, HistogramBins)
				}
				lo, hi := histRange(mom[bi].min, mom[bi].max)
				stripHistogram(b, valid[bi], a, hist[bi], lo, HistogramBins/(hi-lo))
			}
		}
	}
	return bandMetas(in, mom, hist), nil
}

// bandMetas is the statistics of the data bands (len(mom)) of the raster in.
func bandMetas(in gdal.Info, mom []moments, hist [][]int64) []catalog.BandMeta {
	out := make([]catalog.BandMeta, len(mom))
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
	return out
}

// countBias is the offset from a value of a type of at most 16 bits to its count index.
func countBias(t raster.DataType) (int, bool) {
	switch t {
	case raster.Byte, raster.UInt16:
		return 0, true
	case raster.Int8:
		return 128, true
	case raster.Int16:
		return 32768, true
	}
	return 0, false
}

// valueCounts returns a zeroed count per value of type t when it has at most 16 bits
// (countBias), nil for other types.
func valueCounts(t raster.DataType) []int64 {
	if _, ok := countBias(t); !ok {
		return nil
	}
	return make([]int64, 1<<(8*t.Size()))
}

func countStrip(b *raster.Band, counts []int64, alpha []byte) {
	switch b.Type {
	case raster.Byte:
		countValues(typed[uint8](b), counts, 0, alpha)
	case raster.Int8:
		countValues(typed[int8](b), counts, 128, alpha)
	case raster.UInt16:
		countValues(typed[uint16](b), counts, 0, alpha)
	case raster.Int16:
		countValues(typed[int16](b), counts, 32768, alpha)
	}
}

func countValues[T uint8 | int8 | uint16 | int16](vals []T, counts []int64, bias int, alpha []byte) {
	if alpha == nil {
		for _, t := range vals {
			counts[int(t)+bias]++
		}
		return
	}
	for i, t := range vals {
		if alpha[i] != 0 {
			counts[int(t)+bias]++
		}
	}
}

// fromCounts derives the moments and histogram of the valid values from per-value counts.
func fromCounts(counts []int64, t raster.DataType, v validity) (moments, []int64) {
	bias, _ := countBias(t)
	var m moments
	var sum float64
	m.min, m.max = math.Inf(1), math.Inf(-1)
	for k, c := range counts {
		x := float64(k - bias)
		if c == 0 || !v.ok(x) {
			continue
		}
		m.n += c
		sum += x * float64(c)
		m.min, m.max = math.Min(m.min, x), math.Max(m.max, x)
	}
	if m.n == 0 {
		return moments{}, nil
	}
	m.mean = sum / float64(m.n)
	hist := make([]int64, HistogramBins)
	lo, hi := histRange(m.min, m.max)
	scale := HistogramBins / (hi - lo)
	for k, c := range counts {
		x := float64(k - bias)
		if c == 0 || !v.ok(x) {
			continue
		}
		d := x - m.mean
		m.m2 += d * d * float64(c)
		i := min(max(int((x-lo)*scale), 0), HistogramBins-1)
		hist[i] += c
	}
	return m, hist
}
