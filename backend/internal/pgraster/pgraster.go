// Package pgraster encodes and decodes PostGIS rasters in their well-known binary form, in
// pure Go, so Tessera can write tiles with COPY and read them back without GDAL.
//
// Spec: PostGIS raster/doc/RFC2-WellKnownBinaryFormat, format version 0. A raster is
//
//	endianness byte (1 = little-endian/NDR, 0 = big-endian/XDR), version uint16 (0),
//	nBands uint16, scaleX, scaleY, ipX, ipY, skewX, skewY float64, srid int32,
//	width, height uint16,
//
// followed by nBands bands, each a flags+pixtype byte (0x80 out-db, 0x40 has nodata,
// 0x20 all nodata, low 4 bits the pixel type), the nodata value in the pixel type, then
// width×height pixels row by row from the upper left. Sub-byte pixel types (1BB, 2BUI,
// 4BUI) take one byte per pixel in WKB.
//
// DecodeSerialized also reads the form PostgreSQL stores a raster in (PostGIS
// raster/rt_core/rt_serialize.c), which the server hands out without converting it to WKB.
package pgraster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Sentinel errors; every error Encode, Decode and DecodeSerialized return wraps one of them.
var (
	// ErrInvalid: the WKB (or serialized raster) is malformed, or the raster cannot be
	// written as WKB.
	ErrInvalid = errors.New("pgraster: invalid raster")
	// ErrUnsupported: well-formed WKB that Tessera does not read (out-db bands, unknown
	// pixel types).
	ErrUnsupported = errors.New("pgraster: unsupported raster")
)

// SRID3857 is the spatial reference id of web-mercator tiles.
const SRID3857 = 3857

// MaxSize is the largest width or height WKB can express.
const MaxSize = math.MaxUint16

// MaxBands is the largest number of bands WKB can express.
const MaxBands = math.MaxUint16

const headerSize = 1 + 2 + 2 + 6*8 + 4 + 2 + 2 // 61 bytes

// Band flags of the pixtype byte.
const (
	flagOffDB     = 0x80
	flagHasNoData = 0x40
	flagIsNoData  = 0x20
	pixtypeMask   = 0x0f
)

// PostGIS pixel types (rt_pixtype).
const (
	pt1BB   = 0
	pt2BUI  = 1
	pt4BUI  = 2
	pt8BSI  = 3
	pt8BUI  = 4
	pt16BSI = 5
	pt16BUI = 6
	pt32BSI = 7
	pt32BUI = 8
	pt32BF  = 10
	pt64BF  = 11
)

var pixtypeNames = map[byte]string{
	pt1BB: "1BB", pt2BUI: "2BUI", pt4BUI: "4BUI", pt8BSI: "8BSI", pt8BUI: "8BUI",
	pt16BSI: "16BSI", pt16BUI: "16BUI", pt32BSI: "32BSI", pt32BUI: "32BUI",
	pt32BF: "32BF", pt64BF: "64BF",
}

// Raster is a PostGIS raster: a geotransform, an SRID and bands of equal size.
type Raster struct {
	// ScaleX and ScaleY are the pixel width and height (ScaleY is negative for north-up
	// rasters); OriginX and OriginY are the upper-left corner; SkewX and SkewY the rotation.
	ScaleX, ScaleY   float64
	OriginX, OriginY float64
	SkewX, SkewY     float64
	SRID             int32
	Width, Height    int
	// Bands all have Width×Height pixels.
	Bands []*raster.Band
}

// ForTile returns the raster of XYZ tile t at size×size pixels in EPSG:3857, holding bands.
func ForTile(t tile.ZXY, size int, bands []*raster.Band) *Raster {
	b := t.Bounds()
	px := b.Width() / float64(size)
	return &Raster{
		ScaleX: px, ScaleY: -px,
		OriginX: b.MinX, OriginY: b.MaxY,
		SRID:  SRID3857,
		Width: size, Height: size,
		Bands: bands,
	}
}

// pixtypeOf maps a Tessera data type to its PostGIS pixel type.
func pixtypeOf(t raster.DataType) (byte, bool) {
	switch t {
	case raster.Byte:
		return pt8BUI, true
	case raster.Int8:
		return pt8BSI, true
	case raster.UInt16:
		return pt16BUI, true
	case raster.Int16:
		return pt16BSI, true
	case raster.UInt32:
		return pt32BUI, true
	case raster.Int32:
		return pt32BSI, true
	case raster.Float32:
		return pt32BF, true
	case raster.Float64:
		return pt64BF, true
	}
	return 0, false
}

// typeOf maps a PostGIS pixel type to the Tessera type that holds it; sub-byte types
// become Byte.
func typeOf(pt byte) (raster.DataType, bool) {
	switch pt {
	case pt1BB, pt2BUI, pt4BUI, pt8BUI:
		return raster.Byte, true
	case pt8BSI:
		return raster.Int8, true
	case pt16BUI:
		return raster.UInt16, true
	case pt16BSI:
		return raster.Int16, true
	case pt32BUI:
		return raster.UInt32, true
	case pt32BSI:
		return raster.Int32, true
	case pt32BF:
		return raster.Float32, true
	case pt64BF:
		return raster.Float64, true
	}
	return raster.Unknown, false
}

// BandFlags is a band's first byte in WKB and in the serialized form: flags and pixel type.
type BandFlags byte

// Type is the data type of the band's pixels; false for an unknown pixel type or an out-db
// band.
func (f BandFlags) Type() (raster.DataType, bool) {
	if f&flagOffDB != 0 {
		return raster.Unknown, false
	}
	return typeOf(byte(f) & pixtypeMask)
}

// AllNoData reports whether the band is flagged all nodata (ST_BandIsNoData): PostGIS then
// answers its nodata value for every pixel, whatever the pixels stored.
func (f BandFlags) AllNoData() bool { return f&flagIsNoData != 0 }

// PixelType returns PostGIS's name of the pixel type that stores t ("8BUI", "32BF", …),
// as ST_BandPixelType reports it.
func PixelType(t raster.DataType) (string, error) {
	pt, ok := pixtypeOf(t)
	if !ok {
		return "", fmt.Errorf("%w: no PostGIS pixel type for data type %v", ErrInvalid, t)
	}
	return pixtypeNames[pt], nil
}

// Size returns the number of bytes Encode writes for r.
func Size(r *Raster) int {
	n := headerSize
	for _, b := range r.Bands {
		s := b.Type.Size()
		n += 1 + s + r.Width*r.Height*s
	}
	return n
}

// Encode writes r as little-endian WKB. Every band must have r's size and a nodata value
// (if any) that its type can hold exactly.
func Encode(r *Raster) ([]byte, error) {
	return AppendEncode(nil, r)
}

// AppendEncode is Encode appending to dst, so batch writers can reuse one buffer.
func AppendEncode(dst []byte, r *Raster) ([]byte, error) {
	if err := Check(r); err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, Size(r))
	le := binary.LittleEndian
	dst = append(dst, 1)
	dst = le.AppendUint16(dst, 0)
	dst = le.AppendUint16(dst, uint16(len(r.Bands)))
	for _, f := range [...]float64{r.ScaleX, r.ScaleY, r.OriginX, r.OriginY, r.SkewX, r.SkewY} {
		dst = le.AppendUint64(dst, math.Float64bits(f))
	}
	dst = le.AppendUint32(dst, uint32(r.SRID))
	dst = le.AppendUint16(dst, uint16(r.Width))
	dst = le.AppendUint16(dst, uint16(r.Height))
	for _, b := range r.Bands {
		flags, _ := pixtypeOf(b.Type)
		nd := 0.0
		if b.HasNoData {
			flags |= flagHasNoData
			nd = b.NoData
		}
		dst = append(dst, flags)
		dst = appendValue(dst, b.Type, nd)
		dst = append(dst, b.Data...) // raster.Band data is little-endian already
	}
	return dst, nil
}

// Check reports, with an ErrInvalid-wrapped error, why Encode would refuse r (nil when it
// would not), without encoding: writers validate a whole batch before sending any of it.
func Check(r *Raster) error {
	if r == nil {
		return fmt.Errorf("%w: nil raster", ErrInvalid)
	}
	if r.Width < 0 || r.Height < 0 || r.Width > MaxSize || r.Height > MaxSize {
		return fmt.Errorf("%w: size %d×%d: width and height must be 0..%d", ErrInvalid, r.Width, r.Height, MaxSize)
	}
	if len(r.Bands) > MaxBands {
		return fmt.Errorf("%w: %d bands, at most %d", ErrInvalid, len(r.Bands), MaxBands)
	}
	for i, b := range r.Bands {
		if b == nil {
			return fmt.Errorf("%w: band %d is nil", ErrInvalid, i+1)
		}
		if _, ok := pixtypeOf(b.Type); !ok {
			return fmt.Errorf("%w: band %d: no PostGIS pixel type for data type %v", ErrInvalid, i+1, b.Type)
		}
		if b.Width != r.Width || b.Height != r.Height {
			return fmt.Errorf("%w: band %d is %d×%d, the raster %d×%d", ErrInvalid, i+1, b.Width, b.Height, r.Width, r.Height)
		}
		if len(b.Data) != b.Width*b.Height*b.Type.Size() {
			return fmt.Errorf("%w: band %d: %d data bytes for %d×%d %v pixels", ErrInvalid, i+1, len(b.Data), b.Width, b.Height, b.Type)
		}
		if b.HasNoData {
			if err := checkNoData(b.Type, b.NoData); err != nil {
				return fmt.Errorf("%w: band %d: %w", ErrInvalid, i+1, err)
			}
		}
	}
	return nil
}

// checkNoData reports whether nd can be stored exactly in type t: PostGIS keeps the nodata
// value in the band's own pixel type, so 300 cannot be a Byte band's nodata.
func checkNoData(t raster.DataType, nd float64) error {
	if t.IsFloat() {
		if t == raster.Float32 && !math.IsNaN(nd) && !math.IsInf(nd, 0) && math.Abs(nd) > math.MaxFloat32 {
			return fmt.Errorf("nodata %v is outside the Float32 range", nd)
		}
		return nil
	}
	lo, hi := t.Range()
	if math.IsNaN(nd) || nd != math.Trunc(nd) || nd < lo || nd > hi {
		return fmt.Errorf("nodata %v cannot be stored in a %v band (integers %v..%v)", nd, t, lo, hi)
	}
	return nil
}

func appendValue(dst []byte, t raster.DataType, v float64) []byte {
	le := binary.LittleEndian
	switch t {
	case raster.Byte:
		return append(dst, uint8(v))
	case raster.Int8:
		return append(dst, uint8(int8(v)))
	case raster.UInt16:
		return le.AppendUint16(dst, uint16(v))
	case raster.Int16:
		return le.AppendUint16(dst, uint16(int16(v)))
	case raster.UInt32:
		return le.AppendUint32(dst, uint32(v))
	case raster.Int32:
		return le.AppendUint32(dst, uint32(int32(v)))
	case raster.Float32:
		return le.AppendUint32(dst, math.Float32bits(float32(v)))
	case raster.Float64:
		return le.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// reader walks a WKB buffer in one byte order, remembering the first error.
type reader struct {
	buf []byte
	off int
	bo  binary.ByteOrder
}

// has reports whether n more bytes are there.
func (r *reader) has(n int) bool { return n >= 0 && len(r.buf)-r.off >= n }

// truncated is the error for a missing n bytes; what names them.
func (r *reader) truncated(n int, what string) error {
	return fmt.Errorf("%w: truncated at byte %d reading %s (%d bytes needed, %d left)", ErrInvalid, r.off, what, n, len(r.buf)-r.off)
}

func (r *reader) u8() byte          { v := r.buf[r.off]; r.off++; return v }
func (r *reader) u16() uint16       { v := r.bo.Uint16(r.buf[r.off:]); r.off += 2; return v }
func (r *reader) u32() uint32       { v := r.bo.Uint32(r.buf[r.off:]); r.off += 4; return v }
func (r *reader) u64() uint64       { v := r.bo.Uint64(r.buf[r.off:]); r.off += 8; return v }
func (r *reader) f64() float64      { return math.Float64frombits(r.u64()) }
func (r *reader) take(n int) []byte { v := r.buf[r.off : r.off+n]; r.off += n; return v }

// Decode reads a PostGIS raster from WKB in either byte order. Band data is copied into
// little-endian raster.Band values. Out-db bands are refused with ErrUnsupported. Decode
// never allocates more than the input's size, so hostile input cannot exhaust memory.
func Decode(wkb []byte) (*Raster, error) {
	if len(wkb) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, a raster header needs %d", ErrInvalid, len(wkb), headerSize)
	}
	rd := &reader{buf: wkb}
	switch e := rd.u8(); e {
	case 1:
		rd.bo = binary.LittleEndian
	case 0:
		rd.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: endianness byte %d, want 0 or 1", ErrInvalid, e)
	}
	return decode(rd, false)
}

// SerializedHeaderSize is the size of the serialized form's header, not counting its length
// word: version, band count, geotransform, SRID, width and height.
const SerializedHeaderSize = headerSize - 1

// DecodeSerialized reads a raster in PostGIS's serialized form (the bytes PostgreSQL stores,
// rt_serialize.c) without its 4-byte length word, as a substring of the stored value gives
// them (pgstore's tessera_rast_slice): WKB's fields without the endianness byte, in the
// server's byte order, taken here to be little-endian (pgstore checks that on a raster it
// builds before reading tiles so); each band's nodata value aligned to its pixel size, and
// each band padded to 8 bytes. Why: reading that form skips the server's conversion to WKB,
// a second copy of every tile. Otherwise as Decode.
func DecodeSerialized(b []byte) (*Raster, error) {
	if len(b) < SerializedHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, a serialized raster header needs %d", ErrInvalid, len(b), SerializedHeaderSize)
	}
	return decode(&reader{buf: b, bo: binary.LittleEndian}, true)
}

// decode reads what follows the endianness byte of WKB (rd at the version), or the
// serialized form (rd at its start; see DecodeSerialized).
func decode(rd *reader, serialized bool) (*Raster, error) {
	what := "WKB"
	if serialized {
		what = "serialized raster"
	}
	if v := rd.u16(); v != 0 {
		return nil, fmt.Errorf("%w: %s version %d, only version 0 exists", ErrUnsupported, what, v)
	}
	nb := int(rd.u16())
	r := &Raster{}
	r.ScaleX, r.ScaleY = rd.f64(), rd.f64()
	r.OriginX, r.OriginY = rd.f64(), rd.f64()
	r.SkewX, r.SkewY = rd.f64(), rd.f64()
	r.SRID = int32(rd.u32())
	r.Width, r.Height = int(rd.u16()), int(rd.u16())
	npix := r.Width * r.Height
	buf := rd.buf

	// The minimal size of the bands: one flags byte, one nodata byte and one byte per pixel
	// each. Checking it up front bounds the Bands slice by the input size.
	if least := nb * (2 + npix); len(buf)-rd.off < least {
		return nil, fmt.Errorf("%w: %d bands of %d×%d pixels need at least %d bytes, %d left", ErrInvalid, nb, r.Width, r.Height, least, len(buf)-rd.off)
	}
	// One allocation for all bands and one for all pixels: rest is a copy of what is left of
	// the input, and each band's pixels are the part of it after the band's flag and nodata
	// bytes. Why a copy of the whole rest: append to a nil slice allocates without zeroing,
	// where make zeroes the pixels only to overwrite them (2–3 % of a cold algebra tile's CPU).
	var (
		store []raster.Band
		rest  []byte
	)
	base := rd.off
	if nb > 0 {
		r.Bands = make([]*raster.Band, nb)
		store = make([]raster.Band, nb)
		rest = append([]byte(nil), buf[base:]...)
	}
	for i := range nb {
		if !rd.has(1) {
			return nil, rd.truncated(1, fmt.Sprintf("band %d pixel type", i+1))
		}
		flags := rd.u8()
		if flags&flagOffDB != 0 {
			return nil, fmt.Errorf("%w: band %d is stored out of the database (out-db bands are not read)", ErrUnsupported, i+1)
		}
		pt := flags & pixtypeMask
		t, ok := typeOf(pt)
		if !ok {
			return nil, fmt.Errorf("%w: band %d has unknown pixel type %d", ErrUnsupported, i+1, pt)
		}
		ws := wkbSize(pt)
		n := ws * (1 + npix)
		if serialized {
			n += ws - 1 // the nodata value is aligned to the pixel size
		}
		if !rd.has(n) {
			return nil, rd.truncated(n, fmt.Sprintf("band %d (%s, %d×%d)", i+1, pixtypeNames[pt], r.Width, r.Height))
		}
		if serialized {
			rd.take(ws - 1)
		}
		b := &store[i]
		b.Type, b.Width, b.Height = t, r.Width, r.Height
		nd := readValue(rd, pt)
		if flags&flagHasNoData != 0 {
			b.HasNoData, b.NoData = true, nd
		}
		at := rd.off - base
		rd.take(ws * npix)
		// A WKB pixel takes the size of its raster.DataType (sub-byte types a byte each).
		n = ws * npix
		b.Data = rest[at : at+n : at+n]
		if ws > 1 && rd.bo == binary.BigEndian {
			swapInPlace(b.Data, ws)
		}
		if flags&flagIsNoData != 0 {
			// PostGIS keeps the pixels of a band flagged all nodata (ST_SetBandIsNoData
			// sets the flag alone) but answers the band's nodata value for each
			// (rt_band_get_pixel): so does Tessera, whichever way it reads the band.
			for k := range npix {
				b.Set(k, nd)
			}
		}
		r.Bands[i] = b
		if serialized {
			// Each band ends on a multiple of 8 bytes of the stored value, which starts with
			// the 4-byte length word the input lacks.
			pad := (8 - (rd.off+4)%8) % 8
			if !rd.has(pad) {
				return nil, rd.truncated(pad, fmt.Sprintf("band %d padding", i+1))
			}
			rd.take(pad)
		}
	}
	if rd.off != len(buf) {
		return nil, fmt.Errorf("%w: %d trailing bytes after the last band", ErrInvalid, len(buf)-rd.off)
	}
	return r, nil
}

// wkbSize is the number of bytes one pixel of pixel type pt takes in WKB.
func wkbSize(pt byte) int {
	switch pt {
	case pt16BSI, pt16BUI:
		return 2
	case pt32BSI, pt32BUI, pt32BF:
		return 4
	case pt64BF:
		return 8
	}
	return 1
}

func readValue(rd *reader, pt byte) float64 {
	switch pt {
	case pt8BSI:
		return float64(int8(rd.u8()))
	case pt16BSI:
		return float64(int16(rd.u16()))
	case pt16BUI:
		return float64(rd.u16())
	case pt32BSI:
		return float64(int32(rd.u32()))
	case pt32BUI:
		return float64(rd.u32())
	case pt32BF:
		return float64(math.Float32frombits(rd.u32()))
	case pt64BF:
		return rd.f64()
	}
	return float64(rd.u8())
}

// swapInPlace turns big-endian words of size ws into little-endian ones.
func swapInPlace(b []byte, ws int) {
	for i := 0; i+ws <= len(b); i += ws {
		w := b[i : i+ws : i+ws]
		for j, k := 0, ws-1; j < k; j, k = j+1, k-1 {
			w[j], w[k] = w[k], w[j]
		}
	}
}
