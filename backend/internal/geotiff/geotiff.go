// Package geotiff writes GeoTIFF files in EPSG:3857 without GDAL: a classic little-endian
// TIFF (baseline TIFF 6.0) with one strip set per band (PlanarConfiguration 2), optionally
// Deflate-compressed, georeferenced by the GeoTIFF 1.0 tags ModelPixelScale (33550),
// ModelTiepoint (33922) and a GeoKeyDirectory (34735) naming EPSG:3857, and GDAL's nodata
// tag GDAL_NODATA (42113).
//
// The tile server writes its `.tif` tiles and its export rasters with it: the server reads
// PostGIS, never GDAL (STYLE §3), so it cannot use GDAL's GeoTIFF driver.
package geotiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/klauspost/compress/zlib"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// ErrInvalid is matched (errors.Is) by the errors Write returns for an image it cannot
// write.
var ErrInvalid = errors.New("geotiff: invalid image")

// Image is what Write writes.
type Image struct {
	// Bands are the image's bands: one or more, all of one data type and of one size.
	Bands []*raster.Band
	// Bounds is the image's extent in EPSG:3857 metres.
	Bounds tile.Bounds
	// NoData, when set, is written as GDAL_NODATA (GDAL has one nodata value per file).
	NoData *float64
	// RGB marks a 3-band Byte image as RGB (photometric interpretation RGB); other images are
	// grayscale with extra samples.
	RGB bool
	// Deflate compresses the strips with zlib (TIFF compression 8).
	Deflate bool
}

// The TIFF field types used here.
const (
	typeASCII  = 2
	typeShort  = 3
	typeLong   = 4
	typeDouble = 12
)

type entry struct {
	tag, typ uint16
	count    uint32
	data     []byte // little-endian values
}

func shorts(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func longs(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func doubles(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// FormatNoData writes a nodata value as GDAL writes GDAL_NODATA ("nan", "-inf", "-9999").
func FormatNoData(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sampleFormat(t raster.DataType) uint16 {
	switch t {
	case raster.Int8, raster.Int16, raster.Int32:
		return 2
	case raster.Float32, raster.Float64:
		return 3
	}
	return 1
}

// Write writes img to w as a GeoTIFF. The file is laid out header, directory, then pixel
// data, so w needs no seeking; uncompressed band data is written straight from the bands.
func Write(w io.Writer, img *Image) error {
	if err := checkBounds(img.Bounds); err != nil {
		return err
	}
	e, err := encode(img)
	if err != nil {
		return err
	}
	return e.write(w, img.Bounds)
}

// Template is an image whose pixels are encoded (validated, cut into strips, compressed)
// once, to be written at any bounds: only the georeferencing differs between its files. The
// tile server's all-nodata .tif tiles are one image at every tile's bounds.
type Template struct {
	e *encoded
}

// NewTemplate encodes img's pixels for Template.Write; img.Bounds is not used. An
// uncompressed template keeps referring to the bands' data, which must not change.
func NewTemplate(img *Image) (*Template, error) {
	e, err := encode(img)
	if err != nil {
		return nil, err
	}
	return &Template{e: e}, nil
}

// Write writes the template's image with the given bounds: the same bytes as Write of the
// image with those bounds.
func (t *Template) Write(w io.Writer, bounds tile.Bounds) error {
	if err := checkBounds(bounds); err != nil {
		return err
	}
	return t.e.write(w, bounds)
}

func checkBounds(bnd tile.Bounds) error {
	if !(bnd.MaxX > bnd.MinX && bnd.MaxY > bnd.MinY) {
		return fmt.Errorf("%w: empty bounds %v", ErrInvalid, bnd)
	}
	return nil
}

// encoded is an image's pixels laid out for a file: its strips, compressed when asked.
type encoded struct {
	typ                         raster.DataType
	width, height, rowsPerStrip int
	spp                         uint16
	strips                      [][]byte
	noData                      *float64
	rgb, deflate                bool
}

// encode validates img's bands and cuts (and compresses) their strips.
func encode(img *Image) (*encoded, error) {
	if len(img.Bands) == 0 {
		return nil, fmt.Errorf("%w: no bands", ErrInvalid)
	}
	if len(img.Bands) > 1024 {
		return nil, fmt.Errorf("%w: %d bands, at most 1024", ErrInvalid, len(img.Bands))
	}
	b0 := img.Bands[0]
	typ, width, height := b0.Type, b0.Width, b0.Height
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("%w: size %dx%d", ErrInvalid, width, height)
	}
	for i, b := range img.Bands {
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("%w: band %d: %w", ErrInvalid, i, err)
		}
		if b.Type != typ || b.Width != width || b.Height != height {
			return nil, fmt.Errorf("%w: band %d is %s %dx%d, band 0 %s %dx%d", ErrInvalid, i, b.Type, b.Width, b.Height, typ, width, height)
		}
	}
	if img.RGB && (len(img.Bands) != 3 || typ != raster.Byte) {
		return nil, fmt.Errorf("%w: an RGB image has 3 Byte bands", ErrInvalid)
	}
	rowBytes := width * typ.Size()
	rowsPerStrip := max(1, min(height, (64<<10)/rowBytes))
	stripsPerBand := (height + rowsPerStrip - 1) / rowsPerStrip
	var strips [][]byte
	for _, b := range img.Bands {
		for s := 0; s < stripsPerBand; s++ {
			lo := s * rowsPerStrip * rowBytes
			hi := min(len(b.Data), lo+rowsPerStrip*rowBytes)
			strips = append(strips, b.Data[lo:hi])
		}
	}
	if img.Deflate {
		var zbuf bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&zbuf, zlib.BestSpeed)
		for i, s := range strips {
			zbuf.Reset()
			zw.Reset(&zbuf)
			if _, err := zw.Write(s); err != nil {
				return nil, fmt.Errorf("geotiff: deflate: %w", err)
			}
			if err := zw.Close(); err != nil {
				return nil, fmt.Errorf("geotiff: deflate: %w", err)
			}
			strips[i] = bytes.Clone(zbuf.Bytes())
		}
	}

	var nd *float64
	if img.NoData != nil {
		v := *img.NoData
		nd = &v
	}
	return &encoded{typ: typ, width: width, height: height, rowsPerStrip: rowsPerStrip, spp: uint16(len(img.Bands)),
		strips: strips, noData: nd, rgb: img.RGB, deflate: img.Deflate}, nil
}

// write lays out the file (header, directory, georeferencing for bnd) and the strips.
func (e *encoded) write(w io.Writer, bnd tile.Bounds) error {
	typ, width, height, rowsPerStrip, strips := e.typ, e.width, e.height, e.rowsPerStrip, e.strips
	spp := e.spp
	bits := make([]uint16, spp)
	formats := make([]uint16, spp)
	for i := range bits {
		bits[i] = uint16(8 * typ.Size())
		formats[i] = sampleFormat(typ)
	}
	compression, photometric := uint16(1), uint16(1)
	if e.deflate {
		compression = 8
	}
	if e.rgb {
		photometric = 2
	}
	sx := bnd.Width() / float64(width)
	sy := bnd.Height() / float64(height)
	entries := []entry{
		{256, typeLong, 1, longs(uint32(width))},
		{257, typeLong, 1, longs(uint32(height))},
		{258, typeShort, uint32(spp), shorts(bits...)},
		{259, typeShort, 1, shorts(compression)},
		{262, typeShort, 1, shorts(photometric)},
		{273, typeLong, uint32(len(strips)), nil}, // offsets, filled in below
		{277, typeShort, 1, shorts(spp)},
		{278, typeLong, 1, longs(uint32(rowsPerStrip))},
		{279, typeLong, uint32(len(strips)), nil},
		{284, typeShort, 1, shorts(2)},
		{339, typeShort, uint32(spp), shorts(formats...)},
		{33550, typeDouble, 3, doubles(sx, sy, 0)},
		{33922, typeDouble, 6, doubles(0, 0, 0, bnd.MinX, bnd.MaxY, 0)},
		// GeoKeyDirectory: version 1.1.0, 4 keys: GTModelType = projected, GTRasterType =
		// PixelIsArea, ProjectedCSType = EPSG:3857, ProjLinearUnits = metre.
		{34735, typeShort, 20, shorts(1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 3857, 3076, 0, 1, 9001)},
	}
	if !e.rgb && spp > 1 {
		extra := make([]uint16, spp-1) // 0: unspecified data
		entries = append(entries, entry{338, typeShort, uint32(spp - 1), shorts(extra...)})
	}
	if e.noData != nil {
		s := FormatNoData(*e.noData) + "\x00"
		entries = append(entries, entry{42113, typeASCII, uint32(len(s)), []byte(s)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].tag < entries[j].tag })
	counts := make([]uint32, len(strips))
	for i, s := range strips {
		counts[i] = uint32(len(s))
	}
	for i := range entries {
		switch entries[i].tag {
		case 273:
			entries[i].data = make([]byte, 4*len(strips)) // sized now, values set below
		case 279:
			entries[i].data = longs(counts...)
		}
	}

	// Layout: header (8), directory, out-of-line values, strips.
	ifdSize := 2 + 12*len(entries) + 4
	extraAt := 8 + ifdSize
	extraSize := 0
	for _, e := range entries {
		if len(e.data) > 4 {
			extraSize += len(e.data) + len(e.data)%2 // word-aligned
		}
	}
	dataAt := uint64(extraAt + extraSize)
	offsets := make([]uint32, len(strips))
	pos := dataAt
	for i, s := range strips {
		offsets[i] = uint32(pos)
		pos += uint64(len(s))
	}
	if pos > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes is too large for a classic TIFF (4 GiB)", ErrInvalid, pos)
	}
	for i := range entries {
		if entries[i].tag == 273 {
			entries[i].data = longs(offsets...)
		}
	}

	head := make([]byte, 0, extraAt+extraSize)
	head = append(head, 'I', 'I', 42, 0)
	head = binary.LittleEndian.AppendUint32(head, 8)
	head = binary.LittleEndian.AppendUint16(head, uint16(len(entries)))
	var extra []byte
	for _, e := range entries {
		head = binary.LittleEndian.AppendUint16(head, e.tag)
		head = binary.LittleEndian.AppendUint16(head, e.typ)
		head = binary.LittleEndian.AppendUint32(head, e.count)
		if len(e.data) <= 4 {
			var v [4]byte
			copy(v[:], e.data)
			head = append(head, v[:]...)
			continue
		}
		head = binary.LittleEndian.AppendUint32(head, uint32(extraAt+len(extra)))
		extra = append(extra, e.data...)
		if len(e.data)%2 == 1 {
			extra = append(extra, 0)
		}
	}
	head = binary.LittleEndian.AppendUint32(head, 0) // no next directory
	head = append(head, extra...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	for _, s := range strips {
		if _, err := w.Write(s); err != nil {
			return err
		}
	}
	return nil
}
