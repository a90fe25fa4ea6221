// Package rawtile is the raw tile format: the bands of one tile, exactly as stored (data type,
// nodata and little-endian pixel bytes), with the tile's address and bounds, encoded as
// MessagePack. The server answers `.msgpack` tile requests with it and the WebAssembly module
// decodes it, so the browser can evaluate formulas and colormaps itself with the same Go code.
//
// The wire schema (version 1, documented in docs/rawtile.md) is one MessagePack map:
//
//	{"v": 1, "z": int, "x": int, "y": int,
//	 "bounds": [minx, miny, maxx, maxy],          // EPSG:3857 metres, float64
//	 "width": int, "height": int,
//	 "bands": {name: {"type": "Float32",          // GDAL's type name
//	                  "nodata": float64 | nil,
//	                  "data": bin}}}              // width*height pixels, row-major, little-endian
//
// Why: django-raster has no raw format; its browser clients can only show server-coloured
// images. Keys are written sorted, so one tile always encodes to the same bytes.
package rawtile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Version is the schema version this package writes and reads.
const Version = 1

// Limits that bound what Decode accepts, so a hostile or broken payload cannot make it
// allocate without bound.
const (
	// MaxSize is the largest encoded tile Decode reads, in bytes.
	MaxSize = 64 << 20
	// MaxSide is the largest width or height.
	MaxSide = 4096
	// MaxBands is the largest number of bands in one tile.
	MaxBands = 64
	// MaxNameLen is the longest band name.
	MaxNameLen = 64
)

// ErrInvalid is matched (errors.Is) by every error Decode and Encode return for a tile that
// does not follow the schema.
var ErrInvalid = errors.New("rawtile: invalid tile")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Tile is one decoded raw tile.
type Tile struct {
	// Tile is the address; Bounds its extent in EPSG:3857 (for an over-zoomed tile, the
	// extent of the requested tile, not of the coarser one it was cut from).
	Tile   tile.ZXY
	Bounds tile.Bounds
	// Width and Height are every band's size in pixels.
	Width, Height int
	// Bands by name: "x" for the tiles endpoint, the formula's variable names for algebra.
	Bands map[string]*raster.Band
}

type wireBand struct {
	Type   string     `msgpack:"type"`
	NoData *float64   `msgpack:"nodata"`
	Data   aliasBytes `msgpack:"data"`
}

// tileReader is Decode's input: a bytes.Reader that keeps its slice, so a band's pixels can
// be taken from it in place (aliasBytes).
type tileReader struct {
	*bytes.Reader
	data []byte
}

// aliasBytes decodes a MessagePack bin as a subslice of the tile's bytes instead of a copy:
// a 256×256 Float32 band is 256 KiB, which the browser would otherwise allocate and copy on
// every render.
type aliasBytes []byte

// DecodeMsgpack implements msgpack.CustomDecoder.
func (a *aliasBytes) DecodeMsgpack(dec *msgpack.Decoder) error {
	r, ok := dec.Buffered().(*tileReader)
	if !ok {
		b, err := dec.DecodeBytes()
		*a = b
		return err
	}
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return err
	}
	if n < 0 { // nil
		*a = nil
		return nil
	}
	if n > r.Len() {
		return io.ErrUnexpectedEOF
	}
	off := len(r.data) - r.Len()
	*a = r.data[off : off+n : off+n]
	_, err = r.Seek(int64(n), io.SeekCurrent)
	return err
}

type wireTile struct {
	V      int        `msgpack:"v"`
	Z      int        `msgpack:"z"`
	X      int        `msgpack:"x"`
	Y      int        `msgpack:"y"`
	Bounds wireBounds `msgpack:"bounds"`
	Width  int        `msgpack:"width"`
	Height int        `msgpack:"height"`
	Bands  wireBands  `msgpack:"bands"`
}

// wireBounds and wireBands decode the tile's only variable-length containers element by
// element, so their memory follows the input's bytes, not the length the input declares:
// msgpack v5.4.1 allocates a slice of the declared length whatever its alloc limit says
// (its flag test is always true) and a map of up to a million entries, so ten bytes could
// ask for 24 GB.
type (
	wireBounds []float64
	wireBands  map[string]wireBand
)

// DecodeMsgpack implements msgpack.CustomDecoder.
func (b *wireBounds) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 { // n < 0: nil
		*b = nil
		return err
	}
	s := make([]float64, 0, min(n, 4))
	for range n {
		v, err := dec.DecodeFloat64()
		if err != nil {
			return err
		}
		s = append(s, v)
	}
	*b = s
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (m *wireBands) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil || n < 0 { // n < 0: nil
		*m = nil
		return err
	}
	bands := make(wireBands, min(n, MaxBands+1))
	for range n {
		name, err := dec.DecodeString()
		if err != nil {
			return err
		}
		var wb wireBand
		if err := dec.Decode(&wb); err != nil {
			return err
		}
		bands[name] = wb
	}
	*m = bands
	return nil
}

// Validate checks the tile against the schema's rules and limits: a valid address, finite
// bounds, a size within MaxSide, 1..MaxBands bands with valid names, each band of the tile's
// size with exactly its bytes.
func (t *Tile) Validate() error {
	if err := t.Tile.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, v := range []float64{t.Bounds.MinX, t.Bounds.MinY, t.Bounds.MaxX, t.Bounds.MaxY} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid("bounds must be finite numbers")
		}
	}
	if t.Width <= 0 || t.Height <= 0 || t.Width > MaxSide || t.Height > MaxSide {
		return invalid("size %dx%d is not within 1..%d", t.Width, t.Height, MaxSide)
	}
	if len(t.Bands) == 0 || len(t.Bands) > MaxBands {
		return invalid("%d bands; a tile has 1 to %d", len(t.Bands), MaxBands)
	}
	for _, name := range sortedNames(t.Bands) {
		if name == "" || len(name) > MaxNameLen {
			return invalid("band name %q must have 1 to %d bytes", name, MaxNameLen)
		}
		b := t.Bands[name]
		if b == nil {
			return invalid("band %q is missing", name)
		}
		if b.Width != t.Width || b.Height != t.Height {
			return invalid("band %q is %dx%d, the tile %dx%d", name, b.Width, b.Height, t.Width, t.Height)
		}
		if err := b.Validate(); err != nil {
			return fmt.Errorf("%w: band %q: %w", ErrInvalid, name, err)
		}
	}
	return nil
}

func sortedNames(m map[string]*raster.Band) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Encode writes the tile as MessagePack (schema version 1): the keys in the order of the
// schema, the bands sorted by name, so one tile always gives the same bytes. The band bytes
// are copied as they are: encoding costs one pass over the data.
func Encode(t *Tile) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	size := 256
	for name, b := range t.Bands {
		size += len(name) + len(b.Data) + 48
	}
	var buf bytes.Buffer
	buf.Grow(size)
	e := msgpack.NewEncoder(&buf)
	str := func(s string) { _ = e.EncodeString(s) } // writes to a bytes.Buffer cannot fail
	_ = e.EncodeMapLen(8)
	str("v")
	_ = e.EncodeInt(Version)
	str("z")
	_ = e.EncodeInt(int64(t.Tile.Z))
	str("x")
	_ = e.EncodeInt(int64(t.Tile.X))
	str("y")
	_ = e.EncodeInt(int64(t.Tile.Y))
	str("bounds")
	_ = e.EncodeArrayLen(4)
	for _, v := range []float64{t.Bounds.MinX, t.Bounds.MinY, t.Bounds.MaxX, t.Bounds.MaxY} {
		_ = e.EncodeFloat64(v)
	}
	str("width")
	_ = e.EncodeInt(int64(t.Width))
	str("height")
	_ = e.EncodeInt(int64(t.Height))
	str("bands")
	_ = e.EncodeMapLen(len(t.Bands))
	for _, name := range sortedNames(t.Bands) {
		b := t.Bands[name]
		str(name)
		_ = e.EncodeMapLen(3)
		str("type")
		str(b.Type.String())
		str("nodata")
		if b.HasNoData {
			_ = e.EncodeFloat64(b.NoData)
		} else {
			_ = e.EncodeNil()
		}
		str("data")
		if err := e.EncodeBytes(b.Data); err != nil {
			return nil, fmt.Errorf("rawtile: encode: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// Decode reads a tile written by Encode, checking every rule of Validate. Unknown keys are
// skipped, so later minor additions to the schema stay readable. The bands' pixels are
// subslices of data, not copies: data must not change while the tile is in use.
func Decode(data []byte) (*Tile, error) {
	if len(data) > MaxSize {
		return nil, invalid("%d bytes is more than the %d a raw tile may have", len(data), MaxSize)
	}
	var w wireTile
	r := &tileReader{Reader: bytes.NewReader(data), data: data}
	dec := msgpack.NewDecoder(r)
	if err := dec.Decode(&w); err != nil {
		return nil, invalid("not a MessagePack raw tile: %v", err)
	}
	if r.Len() != 0 {
		return nil, invalid("trailing bytes after the tile")
	}
	if w.V != Version {
		return nil, invalid("schema version %d; this reader knows version %d", w.V, Version)
	}
	if len(w.Bounds) != 4 {
		return nil, invalid("bounds has %d numbers, want 4", len(w.Bounds))
	}
	t := &Tile{
		Tile:   tile.ZXY{Z: w.Z, X: w.X, Y: w.Y},
		Bounds: tile.Bounds{MinX: w.Bounds[0], MinY: w.Bounds[1], MaxX: w.Bounds[2], MaxY: w.Bounds[3]},
		Width:  w.Width, Height: w.Height,
		Bands: make(map[string]*raster.Band, len(w.Bands)),
	}
	if len(w.Bands) > MaxBands {
		return nil, invalid("%d bands; a tile has 1 to %d", len(w.Bands), MaxBands)
	}
	for name, wb := range w.Bands {
		typ, err := raster.ParseDataType(wb.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: band %q: %w", ErrInvalid, name, err)
		}
		b := &raster.Band{Type: typ, Width: w.Width, Height: w.Height, Data: []byte(wb.Data)}
		if wb.NoData != nil {
			b.HasNoData, b.NoData = true, *wb.NoData
		}
		t.Bands[name] = b
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}
