package ingest

import (
	"encoding/binary"
	"math"

	"github.com/tessera-gis/tessera/shared/raster"
)

// emptyTest decides whether windows of a band are nodata everywhere, with the same rule as
// raster.Band.Decode (django-raster's isclose match of the nodata value, and NaN always
// missing), but on the raw bytes, stopping at the first valid pixel.
type emptyTest struct {
	typ       raster.DataType
	hasNoData bool
	nd, tol   float64
	// lo..hi are the integer values that match the nodata value (integer bands).
	lo, hi int64
	// none: an integer band whose nodata matches no value it can hold.
	none bool
}

func newEmptyTest(t raster.DataType, hasNoData bool, nd float64) emptyTest {
	e := emptyTest{typ: t, hasNoData: hasNoData, nd: nd}
	if !hasNoData {
		e.none = true
		return e
	}
	e.tol = 1e-8 + 1e-5*math.Abs(nd)
	if !t.IsFloat() {
		if math.IsNaN(nd) || math.IsInf(nd, 0) {
			e.none = true
			return e
		}
		tlo, thi := t.Range()
		lo, hi := math.Ceil(nd-e.tol), math.Floor(nd+e.tol)
		lo, hi = math.Max(lo, tlo), math.Min(hi, thi)
		if lo > hi {
			e.none = true
			return e
		}
		e.lo, e.hi = int64(lo), int64(hi)
	}
	return e
}

func (e emptyTest) isNoDataFloat(v float64) bool {
	if v != v {
		return true
	}
	if !e.hasNoData {
		return false
	}
	if math.IsNaN(e.nd) {
		return false
	}
	if math.IsInf(e.nd, 0) {
		return v == e.nd
	}
	return math.Abs(v-e.nd) <= e.tol
}

// allEmpty reports whether the T×T window at (x, y) of every band (rows of stride pixels)
// holds only nodata, tests[i] judging bands[i]: a tile not worth writing.
func allEmpty(tests []emptyTest, bands []*raster.Band, stride, x, y, T int) bool {
	for i, b := range bands {
		if !tests[i].empty(b.Data, stride, x, y, T, T) {
			return false
		}
	}
	return true
}

// empty reports whether the w×h window at (x, y) of data (rows of stride pixels) holds only
// nodata.
func (e emptyTest) empty(data []byte, stride, x, y, w, h int) bool {
	if e.none && !e.typ.IsFloat() {
		return false
	}
	size := e.typ.Size()
	for r := y; r < y+h; r++ {
		row := data[(r*stride+x)*size : (r*stride+x+w)*size]
		switch e.typ {
		case raster.Byte:
			for _, v := range row {
				if int64(v) < e.lo || int64(v) > e.hi {
					return false
				}
			}
		case raster.Int8:
			for _, v := range row {
				if int64(int8(v)) < e.lo || int64(int8(v)) > e.hi {
					return false
				}
			}
		case raster.UInt16:
			for i := 0; i < len(row); i += 2 {
				v := int64(binary.LittleEndian.Uint16(row[i:]))
				if v < e.lo || v > e.hi {
					return false
				}
			}
		case raster.Int16:
			for i := 0; i < len(row); i += 2 {
				v := int64(int16(binary.LittleEndian.Uint16(row[i:])))
				if v < e.lo || v > e.hi {
					return false
				}
			}
		case raster.UInt32:
			for i := 0; i < len(row); i += 4 {
				v := int64(binary.LittleEndian.Uint32(row[i:]))
				if v < e.lo || v > e.hi {
					return false
				}
			}
		case raster.Int32:
			for i := 0; i < len(row); i += 4 {
				v := int64(int32(binary.LittleEndian.Uint32(row[i:])))
				if v < e.lo || v > e.hi {
					return false
				}
			}
		case raster.Float32:
			for i := 0; i < len(row); i += 4 {
				if !e.isNoDataFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(row[i:])))) {
					return false
				}
			}
		case raster.Float64:
			for i := 0; i < len(row); i += 8 {
				if !e.isNoDataFloat(math.Float64frombits(binary.LittleEndian.Uint64(row[i:]))) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// zeroWindow reports whether the w×h window at (x, y) of a byte band (rows of stride
// pixels) is all zero: an alpha band saying no source pixel reached it.
func zeroWindow(data []byte, stride, x, y, w, h int) bool {
	for r := y; r < y+h; r++ {
		for _, v := range data[r*stride+x : r*stride+x+w] {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// cutWindow copies the w×h window at (x, y) of src (rows of stride pixels) into a new band.
func cutWindow(src *raster.Band, x, y, w, h int) *raster.Band {
	size := src.Type.Size()
	b := raster.New(src.Type, w, h)
	b.HasNoData, b.NoData = src.HasNoData, src.NoData
	for r := 0; r < h; r++ {
		o := ((y+r)*src.Width + x) * size
		copy(b.Data[r*w*size:(r+1)*w*size], src.Data[o:o+w*size])
	}
	return b
}
