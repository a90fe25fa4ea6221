// Package raster defines the band type that the server, the ingest pipeline and the
// WebAssembly module share: a row-major array of pixels in one GDAL data type, stored as
// little-endian bytes, with an optional nodata value.
//
// Keeping the pixels as raw little-endian bytes lets a band travel unchanged from a PostGIS
// raster tile to the browser (see the rawtile package) and be decoded there once, into the
// float64 values and validity mask the formula engine works on.
package raster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DataType is a pixel type, named as GDAL names it.
type DataType uint8

// The pixel types Tessera stores. The numbering is Tessera's own; use String and
// ParseDataType to exchange them.
const (
	Unknown DataType = iota
	Byte
	Int8
	UInt16
	Int16
	UInt32
	Int32
	Float32
	Float64
)

var typeNames = [...]string{"Unknown", "Byte", "Int8", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64"}
var typeSizes = [...]int{0, 1, 1, 2, 2, 4, 4, 4, 8}

// String returns GDAL's name of the type ("Byte", "UInt16", "Float32", …).
func (t DataType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("DataType(%d)", t)
}

// Size is the number of bytes of one pixel, 0 for Unknown.
func (t DataType) Size() int {
	if int(t) < len(typeSizes) {
		return typeSizes[t]
	}
	return 0
}

// IsFloat reports whether the type is Float32 or Float64.
func (t DataType) IsFloat() bool { return t == Float32 || t == Float64 }

// Range returns the smallest and largest value the type can hold.
func (t DataType) Range() (lo, hi float64) {
	switch t {
	case Byte:
		return 0, math.MaxUint8
	case Int8:
		return math.MinInt8, math.MaxInt8
	case UInt16:
		return 0, math.MaxUint16
	case Int16:
		return math.MinInt16, math.MaxInt16
	case UInt32:
		return 0, math.MaxUint32
	case Int32:
		return math.MinInt32, math.MaxInt32
	case Float32:
		return -math.MaxFloat32, math.MaxFloat32
	case Float64:
		return -math.MaxFloat64, math.MaxFloat64
	}
	return 0, 0
}

// ErrUnknownType is returned by ParseDataType for a name that is not a supported type.
var ErrUnknownType = errors.New("raster: unknown data type")

// ParseDataType returns the type with GDAL's name s (case-sensitive, as GDAL writes it).
func ParseDataType(s string) (DataType, error) {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return DataType(i), nil
		}
	}
	return Unknown, fmt.Errorf("%w %q (want one of Byte, Int8, UInt16, Int16, UInt32, Int32, Float32, Float64)", ErrUnknownType, s)
}

// Band is one band of a raster or tile.
type Band struct {
	Type          DataType
	Width, Height int
	// Data holds Width*Height pixels, row-major from the top-left, little-endian.
	Data []byte
	// HasNoData tells whether NoData is set.
	HasNoData bool
	NoData    float64
}

// New returns a zeroed band of the given type and size.
func New(t DataType, width, height int) *Band {
	return &Band{Type: t, Width: width, Height: height, Data: make([]byte, width*height*t.Size())}
}

// Len is the number of pixels.
func (b *Band) Len() int { return b.Width * b.Height }

// Validate checks that the type is known and Data has exactly Width*Height pixels.
func (b *Band) Validate() error {
	if b.Type == Unknown || b.Type.Size() == 0 {
		return fmt.Errorf("raster: band has unknown data type %d", b.Type)
	}
	if b.Width < 0 || b.Height < 0 {
		return fmt.Errorf("raster: band has negative size %dx%d", b.Width, b.Height)
	}
	if want := b.Width * b.Height * b.Type.Size(); len(b.Data) != want {
		return fmt.Errorf("raster: %dx%d %s band needs %d bytes, has %d", b.Width, b.Height, b.Type, want, len(b.Data))
	}
	return nil
}

// At returns pixel i (row-major) as a float64.
func (b *Band) At(i int) float64 {
	d := b.Data
	switch b.Type {
	case Byte:
		return float64(d[i])
	case Int8:
		return float64(int8(d[i]))
	case UInt16:
		return float64(binary.LittleEndian.Uint16(d[2*i:]))
	case Int16:
		return float64(int16(binary.LittleEndian.Uint16(d[2*i:])))
	case UInt32:
		return float64(binary.LittleEndian.Uint32(d[4*i:]))
	case Int32:
		return float64(int32(binary.LittleEndian.Uint32(d[4*i:])))
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:]))
	}
	return math.NaN()
}

// Set stores v as pixel i, converted to the band's type (integers are rounded and clamped
// to the type's range; NaN becomes 0 for integer types).
func (b *Band) Set(i int, v float64) {
	d := b.Data
	if !b.Type.IsFloat() {
		lo, hi := b.Type.Range()
		switch {
		case math.IsNaN(v):
			v = 0
		case v < lo:
			v = lo
		case v > hi:
			v = hi
		default:
			v = math.Round(v)
		}
	}
	switch b.Type {
	case Byte:
		d[i] = uint8(v)
	case Int8:
		d[i] = uint8(int8(v))
	case UInt16:
		binary.LittleEndian.PutUint16(d[2*i:], uint16(v))
	case Int16:
		binary.LittleEndian.PutUint16(d[2*i:], uint16(int16(v)))
	case UInt32:
		binary.LittleEndian.PutUint32(d[4*i:], uint32(v))
	case Int32:
		binary.LittleEndian.PutUint32(d[4*i:], uint32(int32(v)))
	case Float32:
		binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(float32(v)))
	case Float64:
		binary.LittleEndian.PutUint64(d[8*i:], math.Float64bits(v))
	}
}

// IsNoData reports whether v counts as the nodata value nd. It follows django-raster, which
// uses numpy's isclose: |v−nd| ≤ 1e-8 + 1e-5·|nd|, so float32 rounding of nodata values such
// as -3.4e38 still matches. A NaN nodata matches NaN pixels.
func IsNoData(v, nd float64) bool {
	if math.IsNaN(nd) {
		return math.IsNaN(v)
	}
	if math.IsInf(nd, 0) {
		return v == nd
	}
	return math.Abs(v-nd) <= noDataTol(nd)
}

// noDataTol is IsNoData's tolerance around a finite nodata value nd (numpy's isclose).
func noDataTol(nd float64) float64 { return 1e-8 + 1e-5*math.Abs(nd) }

// Decode converts the band into float64 values and a nodata mask (true = nodata), reusing
// vals and mask when they are large enough. A pixel is nodata when it matches the band's
// nodata value (see IsNoData) or is NaN: Tessera treats NaN as missing whatever the nodata
// value, since no colour or statistic can be made of it. mask is returned nil when no pixel
// is nodata, so callers can skip mask work on complete bands.
func (b *Band) Decode(vals []float64, mask []bool) ([]float64, []bool) {
	n := b.Len()
	if cap(vals) < n {
		vals = make([]float64, n)
	}
	vals = vals[:n]
	// Convert a chunk at a time and look for nodata in the chunk while it is in the L1
	// cache: a band without nodata (the common case) is then read once, not twice.
	d := b.BlockDecoder()
	hit := false
	for lo := 0; lo < n; lo += decodeChunk {
		hi := min(lo+decodeChunk, n)
		if hit {
			b.convert(vals[lo:hi], lo)
		} else {
			hit = d.convert(vals[lo:hi], lo)
		}
	}
	if !hit {
		return vals, nil
	}
	return vals, maskInto(grow(mask, n), vals, b.HasNoData, b.NoData)
}

// BlockDecoder decodes a band a block of pixels at a time, giving what Decode gives for those
// pixels: for a renderer that carries each block through formula and colours while it is in
// the cache, instead of the whole band through each step.
type BlockDecoder struct {
	b                  *Band
	intKnown, intFound bool // intNoData of the whole band, computed once
	fused              bool // convertFloat32NoData applies
}

// BlockDecoder returns the band's block decoder.
func (b *Band) BlockDecoder() BlockDecoder {
	d := BlockDecoder{b: b}
	d.intFound, d.intKnown = b.intNoData()
	d.fused = b.Type == Float32 && b.HasNoData && !math.IsNaN(b.NoData) && !math.IsInf(b.NoData, 0)
	return d
}

// convert converts pixels [off, off+len(vals)) into vals and reports whether some of them may
// be nodata: whether some is, except for 8- and 16-bit integers, where it is whether the band
// has one (intNoData, known for the whole band without a look at the values).
func (d BlockDecoder) convert(vals []float64, off int) bool {
	b := d.b
	switch {
	case d.intKnown:
		b.convert(vals, off)
		return d.intFound
	case d.fused:
		return convertFloat32NoData(vals, b.Data[4*off:4*(off+len(vals))], b.NoData)
	default:
		b.convert(vals, off)
		return anyNoData(vals, b.HasNoData, b.NoData)
	}
}

// Decode converts pixels [off, off+len(vals)) into vals and returns their nodata mask in
// mask[:len(vals)] (grown when too small), or nil when none of them is nodata.
func (d BlockDecoder) Decode(vals []float64, mask []bool, off int) ([]float64, []bool) {
	hit := d.convert(vals, off)
	if hit && d.intKnown { // the band has nodata; this block?
		hit = anyNoData(vals, d.b.HasNoData, d.b.NoData)
	}
	if !hit {
		return vals, nil
	}
	return vals, maskInto(grow(mask, len(vals)), vals, d.b.HasNoData, d.b.NoData)
}

// intNoData reports, for a band of 8- or 16-bit integers (known), whether some pixel is
// nodata, by comparing the raw pixels, eight bytes at a time, with the integers IsNoData
// accepts: no integer pixel is NaN, and for these types at most floor(nodata) and
// ceil(nodata) can match (the tolerance is under 1 within their range). Four to eight
// times faster than testing the converted values.
func (b *Band) intNoData() (found, known bool) {
	var lanes uint64 // 1 in the low bit of every lane
	switch b.Type {
	case Byte, Int8:
		lanes = 0x0101010101010101
	case UInt16, Int16:
		lanes = 0x0001000100010001
	default:
		return false, false
	}
	if !b.HasNoData || math.IsNaN(b.NoData) || math.IsInf(b.NoData, 0) {
		return false, true
	}
	lo, hi := b.Type.Range()
	fl, ce := math.Floor(b.NoData), math.Ceil(b.NoData)
	for _, k := range []float64{fl, ce} {
		if k < lo || k > hi || !IsNoData(k, b.NoData) {
			continue
		}
		// The pixels only, as convert reads them: bytes past them are not part of the band.
		if anyLane(b.Data[:b.Len()*b.Type.Size()], lanes, uint64(int64(k))) {
			return true, true
		}
		if ce == fl {
			break
		}
	}
	return false, true
}

// anyLane reports whether some 8- or 16-bit little-endian lane of d (lanes: a 1 in each
// lane's low bit) equals k, eight bytes at a time: a lane of w^pattern is zero exactly where
// the pixel equals k, and (x − lanes) &^ x keeps a lane's top bit only when some lane is zero.
func anyLane(d []byte, lanes, k uint64) bool {
	top := lanes << 7
	size := 1
	if lanes == 0x0001000100010001 {
		top, size = lanes<<15, 2
		k &= 0xffff
	} else {
		k &= 0xff
	}
	pat := k * lanes
	i := 0
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i:]) ^ pat
		if (x-lanes)&^x&top != 0 {
			return true
		}
	}
	for ; i+size <= len(d); i += size {
		v := uint64(d[i])
		if size == 2 {
			v |= uint64(d[i+1]) << 8
		}
		if v == k {
			return true
		}
	}
	return false
}

// decodeChunk is the number of pixels Decode converts before scanning them for nodata:
// 16 KiB of float64, well inside an L1 data cache.
const decodeChunk = 2048

// convert writes the values of pixels off … off+len(out)-1 into out. The multi-byte
// types go four pixels at a time through fixed-size subslices, which lets the compiler drop
// the bounds checks (twice the speed of a pixel-at-a-time loop). Each type has its own loop
// on purpose: one loop switching on the type per group of four measured 1.37 against 1.1
// ns/pixel in BenchmarkDecodeFloat32.
func (b *Band) convert(out []float64, off int) {
	sz := b.Type.Size()
	d := b.Data[off*sz : (off+len(out))*sz]
	switch b.Type {
	case Byte:
		d = d[:len(out)]
		for i, v := range d {
			out[i] = float64(v)
		}
	case Int8:
		d = d[:len(out)]
		for i, v := range d {
			out[i] = float64(int8(v))
		}
	case UInt16:
		for len(out) >= 8 && len(d) >= 16 {
			o, q := out[:8:8], d[:16:16]
			o[0], o[1], o[2], o[3] = u16(q[0:2:2]), u16(q[2:4:4]), u16(q[4:6:6]), u16(q[6:8:8])
			o[4], o[5], o[6], o[7] = u16(q[8:10:10]), u16(q[10:12:12]), u16(q[12:14:14]), u16(q[14:16:16])
			out, d = out[8:], d[16:]
		}
		for i := range out {
			out[i] = u16(d[i*2:])
		}
	case Int16:
		for len(out) >= 8 && len(d) >= 16 {
			o, q := out[:8:8], d[:16:16]
			o[0], o[1], o[2], o[3] = i16(q[0:2:2]), i16(q[2:4:4]), i16(q[4:6:6]), i16(q[6:8:8])
			o[4], o[5], o[6], o[7] = i16(q[8:10:10]), i16(q[10:12:12]), i16(q[12:14:14]), i16(q[14:16:16])
			out, d = out[8:], d[16:]
		}
		for i := range out {
			out[i] = i16(d[i*2:])
		}
	case UInt32:
		for len(out) >= 4 && len(d) >= 16 {
			o, q := out[:4:4], d[:16:16]
			o[0], o[1], o[2], o[3] = u32(q[0:]), u32(q[4:]), u32(q[8:]), u32(q[12:])
			out, d = out[4:], d[16:]
		}
		for i := range out {
			out[i] = u32(d[i*4:])
		}
	case Int32:
		for len(out) >= 4 && len(d) >= 16 {
			o, q := out[:4:4], d[:16:16]
			o[0], o[1], o[2], o[3] = i32(q[0:]), i32(q[4:]), i32(q[8:]), i32(q[12:])
			out, d = out[4:], d[16:]
		}
		for i := range out {
			out[i] = i32(d[i*4:])
		}
	case Float32:
		for len(out) >= 4 && len(d) >= 16 {
			o, q := out[:4:4], d[:16:16]
			o[0], o[1], o[2], o[3] = f32(q[0:]), f32(q[4:]), f32(q[8:]), f32(q[12:])
			out, d = out[4:], d[16:]
		}
		for i := range out {
			out[i] = f32(d[i*4:])
		}
	case Float64:
		for len(out) >= 4 && len(d) >= 32 {
			o, q := out[:4:4], d[:32:32]
			o[0], o[1], o[2], o[3] = f64(q[0:]), f64(q[8:]), f64(q[16:]), f64(q[24:])
			out, d = out[4:], d[32:]
		}
		for i := range out {
			out[i] = f64(d[i*8:])
		}
	}
}

// convertFloat32NoData is convert and anyNoData of a Float32 band with a finite nodata value
// nd in one pass, unrolled as convert: out[i] is the i-th little-endian float32 of d, and the
// result whether some value is nodata by anyNoData's test (NaN included).
// BenchmarkDecodeFloat32: 1.10–1.14 → 0.99–1.00 ns a pixel (a plain loop was slower than
// the two passes, 1.42–1.51); eight values a step and outside for math.Abs: 0.93–0.98 → 0.58–0.59.
func convertFloat32NoData(out []float64, d []byte, nd float64) bool {
	tol := noDataTol(nd)
	far := true // every value so far more than tol from nd (NaN is not)
	for len(out) >= 8 && len(d) >= 32 {
		o, q := out[:8:8], d[:32:32]
		v0, v1, v2, v3 := f32(q[0:4:4]), f32(q[4:8:8]), f32(q[8:12:12]), f32(q[12:16:16])
		v4, v5, v6, v7 := f32(q[16:20:20]), f32(q[20:24:24]), f32(q[24:28:28]), f32(q[28:32:32])
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v0, v1, v2, v3, v4, v5, v6, v7
		far = far && outside(v0-nd, tol) && outside(v1-nd, tol) && outside(v2-nd, tol) && outside(v3-nd, tol) &&
			outside(v4-nd, tol) && outside(v5-nd, tol) && outside(v6-nd, tol) && outside(v7-nd, tol)
		out, d = out[8:], d[32:]
	}
	for i := range out {
		v := f32(d[i*4:])
		out[i] = v
		far = far && outside(v-nd, tol)
	}
	return !far
}

func u16(q []byte) float64 { return float64(binary.LittleEndian.Uint16(q)) }
func i16(q []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(q))) }
func u32(q []byte) float64 { return float64(binary.LittleEndian.Uint32(q)) }
func i32(q []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(q))) }
func f32(q []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(q))) }
func f64(q []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(q)) }

// Mask computes the nodata mask of vals (see Decode), reusing mask when large enough. It
// returns nil when no value is nodata.
func Mask(vals []float64, hasNoData bool, nd float64, mask []bool) []bool {
	if !anyNoData(vals, hasNoData, nd) {
		return nil
	}
	return maskInto(grow(mask, len(vals)), vals, hasNoData, nd)
}

// anyNoData reports whether some value of vals is nodata (see Decode).
func anyNoData(vals []float64, hasNoData bool, nd float64) bool {
	if hasNoData && !math.IsNaN(nd) && !math.IsInf(nd, 0) {
		// !(|v-nd| > tol) is IsNoData's test and also true for NaN, in one comparison.
		tol := noDataTol(nd)
		for _, v := range vals {
			if !outside(v-nd, tol) {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if v != v || (hasNoData && v == nd) {
			return true
		}
	}
	return false
}

// maskInto sets mask[i] (len(mask) == len(vals)) to whether vals[i] is nodata, and returns it.
func maskInto(mask []bool, vals []float64, hasNoData bool, nd float64) []bool {
	mask = mask[:len(vals)]
	if hasNoData && !math.IsNaN(nd) && !math.IsInf(nd, 0) {
		tol := noDataTol(nd)
		for i, v := range vals {
			mask[i] = !outside(v-nd, tol)
		}
		return mask
	}
	for i, v := range vals {
		mask[i] = v != v || (hasNoData && v == nd)
	}
	return mask
}

func grow(mask []bool, n int) []bool {
	if cap(mask) < n {
		return make([]bool, n)
	}
	return mask[:n]
}

// FromFloat64 builds a band of type t from values, with nodata written where mask is true
// (mask may be nil). The band gets nodata nd when hasNoData is set.
func FromFloat64(t DataType, width, height int, vals []float64, mask []bool, hasNoData bool, nd float64) *Band {
	b := New(t, width, height)
	b.HasNoData, b.NoData = hasNoData, nd
	for i, v := range vals {
		if mask != nil && mask[i] && hasNoData {
			v = nd
		}
		b.Set(i, v)
	}
	return b
}
