// Package gdal is Tessera's only door to GDAL. Every call into github.com/airbusgeo/godal
// (cgo over libgdal) lives here, behind a few plain functions and types that speak
// Tessera's own raster.Band: open a raster and read its georeferencing, read windows of its
// bands (resampled or not), transform coordinates between CRSs, warp to EPSG:3857 on a given
// grid, copy a dataset to a local GeoTIFF and write GeoTIFFs from bands.
//
// GDAL is not safe for concurrent use of one dataset handle: a Dataset must be used by one
// goroutine at a time; separate handles on the same file may be used in parallel.
//
// godal treats every GDAL warning as an error by default; this package turns only
// CE_Failure and CE_Fatal into errors and drops warnings (TIFF tag chatter, datum notes),
// which would otherwise fail ingests of perfectly readable files.
package gdal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/airbusgeo/godal"

	"github.com/tessera-gis/tessera/shared/raster"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrOpen: GDAL could not open the file as a raster (missing, empty, not a raster).
	ErrOpen = errors.New("gdal: cannot open raster")
	// ErrNoCRS: the raster has no coordinate reference system.
	ErrNoCRS = errors.New("gdal: raster has no coordinate reference system")
	// ErrCRS: a CRS definition could not be parsed.
	ErrCRS = errors.New("gdal: invalid coordinate reference system")
	// ErrTransform: coordinates could not be transformed between two CRSs.
	ErrTransform = errors.New("gdal: coordinate transformation failed")
	// ErrUnsupportedType: a band has a pixel type Tessera does not store (complex numbers).
	ErrUnsupportedType = errors.New("gdal: unsupported band data type")
)

var registerOnce sync.Once

// register registers GDAL's drivers once per process; every entry point calls it.
func register() {
	registerOnce.Do(func() {
		godal.RegisterAll()
		setCacheMax()
	})
}

// Warm registers GDAL's drivers and opens the calling thread's PROJ context (the CRS
// database and the EPSG:4326 → EPSG:3857 transformation every parse needs), so a caller
// can do this while it waits for something else; with the goroutine locked to its thread
// (runtime.LockOSThread) the later calls of that goroutine find the context ready.
func Warm() {
	register()
	Transform("EPSG:4326", "EPSG:3857", []float64{0}, []float64{0})
}

// failuresOnly is godal's error handler for every call: GDAL failures become Go errors,
// warnings and debug messages are dropped.
func failuresOnly(ec godal.ErrorCategory, code int, msg string) error {
	if ec >= godal.CE_Failure {
		return errors.New(strings.TrimSpace(msg))
	}
	return nil
}

var errh = godal.ErrLogger(failuresOnly)

// littleEndian is true on hosts whose native byte order is little-endian (amd64, arm64),
// where GDAL can read straight into a raster.Band's bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Dataset is an open raster.
type Dataset struct {
	ds   *godal.Dataset
	path string
	cfg  []string
}

// Open opens the raster at path (a local path or any GDAL virtual path such as
// /vsizip/… or /vsis3/…) read-only. config holds GDAL configuration options
// ("KEY=VALUE") applied, thread-locally, to this call and to later reads of the dataset.
func Open(path string, config ...string) (*Dataset, error) {
	register()
	opts := []godal.OpenOption{godal.RasterOnly(), errh}
	if len(config) > 0 {
		opts = append(opts, godal.ConfigOption(config...))
	}
	ds, err := godal.Open(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrOpen, path, err)
	}
	if ds == nil {
		return nil, fmt.Errorf("%w %s", ErrOpen, path)
	}
	return &Dataset{ds: ds, path: path, cfg: config}, nil
}

// Close releases the dataset; for a dataset being written it flushes it to disk.
func (d *Dataset) Close() error {
	if d == nil || d.ds == nil {
		return nil
	}
	err := d.ds.Close(errh)
	d.ds = nil
	return err
}

// Path is the path the dataset was opened or created with.
func (d *Dataset) Path() string { return d.path }

// Info is a raster's georeferencing and band layout.
type Info struct {
	Width, Height int
	// GeoTransform maps pixel (col, row) to CRS coordinates:
	// x = GT[0] + col·GT[1] + row·GT[2], y = GT[3] + col·GT[4] + row·GT[5].
	GeoTransform    [6]float64
	HasGeoTransform bool
	// WKT is the CRS as WKT, "" when the raster has none.
	WKT string
	// EPSG is the CRS's EPSG code, 0 when it has none (or no CRS).
	EPSG  int
	Bands []BandInfo
	// Driver is GDAL's short name of the file format ("GTiff", …).
	Driver string
}

// BandInfo describes one band.
type BandInfo struct {
	Type      raster.DataType
	HasNoData bool
	NoData    float64
	// Alpha is true for a band GDAL marks as an alpha (coverage) band.
	Alpha bool
}

// Info reads the dataset's size, georeferencing, CRS and bands. A band of a type Tessera does
// not store (complex numbers) gives ErrUnsupportedType.
func (d *Dataset) Info() (Info, error) {
	st := d.ds.Structure()
	in := Info{Width: st.SizeX, Height: st.SizeY, Driver: d.ds.Driver().ShortName()}
	if gt, err := d.ds.GeoTransform(errh); err == nil {
		in.GeoTransform, in.HasGeoTransform = gt, true
	}
	in.WKT = d.ds.Projection()
	if in.WKT != "" {
		in.EPSG = epsgOf(in.WKT)
	}
	for i, b := range d.ds.Bands() {
		bs := b.Structure()
		t, err := fromGodalType(bs.DataType)
		if err != nil {
			return in, fmt.Errorf("band %d: %w", i+1, err)
		}
		nd, ok := b.NoData()
		in.Bands = append(in.Bands, BandInfo{Type: t, HasNoData: ok, NoData: nd, Alpha: b.ColorInterp() == godal.CIAlpha})
	}
	return in, nil
}

// epsgOf returns the EPSG code of a CRS (identifying it when the WKT carries no authority),
// 0 when there is none.
func epsgOf(def string) int {
	sr, err := godal.NewSpatialRef(def, errh)
	if err != nil {
		return 0
	}
	defer sr.Close()
	code := func() int {
		if !strings.EqualFold(sr.AuthorityName(""), "EPSG") {
			return 0
		}
		n, _ := strconv.Atoi(sr.AuthorityCode(""))
		return n
	}
	if n := code(); n > 0 {
		return n
	}
	if sr.AutoIdentifyEPSG() == nil {
		return code()
	}
	return 0
}

// SRSWKT parses a CRS definition GDAL understands ("EPSG:3086", WKT, PROJ string) and
// returns it as WKT, or an error wrapping ErrCRS.
func SRSWKT(def string) (string, error) {
	register()
	sr, err := godal.NewSpatialRef(def, errh)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrCRS, def, err)
	}
	defer sr.Close()
	wkt, err := sr.WKT(errh)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrCRS, def, err)
	}
	return wkt, nil
}

// KnownEPSG reports whether GDAL (PROJ's database) knows the CRS EPSG:code: an SRID override
// is checked with it before a parse is started, not by the parse's failure.
func KnownEPSG(code int) bool {
	if code <= 0 {
		return false
	}
	_, err := SRSWKT(fmt.Sprintf("EPSG:%d", code))
	return err == nil
}

// EPSG returns the EPSG code of a CRS definition, 0 when it has none.
func EPSG(def string) int {
	register()
	return epsgOf(def)
}

// Transform transforms the points (xs[i], ys[i]) in place from the CRS src to the CRS dst
// (both in any form SRSWKT accepts), in the traditional GIS axis order (x = longitude or
// easting). ok[i] tells whether point i could be transformed. An error wrapping ErrTransform
// means no transformation between the two CRSs exists at all.
func Transform(src, dst string, xs, ys []float64) (ok []bool, err error) {
	register()
	if len(xs) != len(ys) {
		return nil, fmt.Errorf("gdal: transform: %d x values but %d y values", len(xs), len(ys))
	}
	s, err := godal.NewSpatialRef(src, errh)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrCRS, src, err)
	}
	defer s.Close()
	t, err := godal.NewSpatialRef(dst, errh)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrCRS, dst, err)
	}
	defer t.Close()
	tr, err := godal.NewTransform(s, t, errh)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransform, err)
	}
	defer tr.Close()
	ok = make([]bool, len(xs))
	if len(xs) == 0 {
		return ok, nil
	}
	// TransformEx reports per-point failures through ok; its error only repeats them.
	_ = tr.TransformEx(xs, ys, nil, ok)
	for i := range ok {
		if ok[i] && (math.IsNaN(xs[i]) || math.IsNaN(ys[i]) || math.IsInf(xs[i], 0) || math.IsInf(ys[i], 0)) {
			ok[i] = false
		}
	}
	return ok, nil
}

func fromGodalType(t godal.DataType) (raster.DataType, error) {
	switch t {
	case godal.Byte:
		return raster.Byte, nil
	case godal.Int8:
		return raster.Int8, nil
	case godal.UInt16:
		return raster.UInt16, nil
	case godal.Int16:
		return raster.Int16, nil
	case godal.UInt32:
		return raster.UInt32, nil
	case godal.Int32:
		return raster.Int32, nil
	case godal.Float32:
		return raster.Float32, nil
	case godal.Float64:
		return raster.Float64, nil
	}
	return raster.Unknown, fmt.Errorf("%w %s", ErrUnsupportedType, t)
}

func toGodalType(t raster.DataType) (godal.DataType, error) {
	switch t {
	case raster.Byte:
		return godal.Byte, nil
	case raster.Int8:
		return godal.Int8, nil
	case raster.UInt16:
		return godal.UInt16, nil
	case raster.Int16:
		return godal.Int16, nil
	case raster.UInt32:
		return godal.UInt32, nil
	case raster.Int32:
		return godal.Int32, nil
	case raster.Float32:
		return godal.Float32, nil
	case raster.Float64:
		return godal.Float64, nil
	}
	return godal.Unknown, fmt.Errorf("%w %s", ErrUnsupportedType, t)
}

// Resampling names a GDAL resampling algorithm for reads and warps.
type Resampling string

// The resampling algorithms Tessera uses.
const (
	Nearest  Resampling = "near"
	Bilinear Resampling = "bilinear"
	Average  Resampling = "average"
	Mode     Resampling = "mode"
)

func (r Resampling) godal() (godal.ResamplingAlg, error) {
	switch r {
	case Nearest, "":
		return godal.Nearest, nil
	case Bilinear:
		return godal.Bilinear, nil
	case Average:
		return godal.Average, nil
	case Mode:
		return godal.Mode, nil
	}
	return godal.Nearest, fmt.Errorf("gdal: unknown resampling %q", string(r))
}

// ReadBand reads the window (x, y, w, h) of band i (0-based) into dst, whose Type, Width,
// Height and Data must be set (Data of Width·Height pixels). When the window and dst differ in
// size the pixels are resampled with r. dst keeps its nodata fields; GDAL converts the
// pixels to dst.Type.
func (d *Dataset) ReadBand(i, x, y, w, h int, dst *raster.Band, r Resampling) error {
	bands := d.ds.Bands()
	if i < 0 || i >= len(bands) {
		return fmt.Errorf("gdal: band %d out of range (raster has %d)", i+1, len(bands))
	}
	if err := dst.Validate(); err != nil {
		return err
	}
	alg, err := r.godal()
	if err != nil {
		return err
	}
	if dst.Len() == 0 {
		return nil
	}
	opts := []godal.BandIOOption{godal.Window(w, h), godal.Resampling(alg), errh}
	if len(d.cfg) > 0 {
		opts = append(opts, godal.ConfigOption(d.cfg...))
	}
	buf, direct := typedView(dst)
	if err := bands[i].Read(x, y, buf, dst.Width, dst.Height, opts...); err != nil {
		return fmt.Errorf("gdal: read band %d window %d,%d %dx%d of %s: %w", i+1, x, y, w, h, d.path, err)
	}
	if !direct {
		copyFromTyped(dst, buf)
	}
	return nil
}

// typedView returns a typed slice for GDAL to read into: a view of b.Data itself when the
// host is little-endian and the bytes are aligned (direct = true), else a new slice that
// copyFromTyped copies back.
func typedView(b *raster.Band) (buf any, direct bool) {
	n := b.Len()
	p := unsafe.Pointer(&b.Data[0])
	direct = littleEndian && uintptr(p)%uintptr(b.Type.Size()) == 0
	if !direct {
		switch b.Type {
		case raster.Byte:
			return make([]byte, n), false
		case raster.Int8:
			return make([]int8, n), false
		case raster.UInt16:
			return make([]uint16, n), false
		case raster.Int16:
			return make([]int16, n), false
		case raster.UInt32:
			return make([]uint32, n), false
		case raster.Int32:
			return make([]int32, n), false
		case raster.Float32:
			return make([]float32, n), false
		default:
			return make([]float64, n), false
		}
	}
	switch b.Type {
	case raster.Byte:
		return b.Data[:n], true
	case raster.Int8:
		return unsafe.Slice((*int8)(p), n), true
	case raster.UInt16:
		return unsafe.Slice((*uint16)(p), n), true
	case raster.Int16:
		return unsafe.Slice((*int16)(p), n), true
	case raster.UInt32:
		return unsafe.Slice((*uint32)(p), n), true
	case raster.Int32:
		return unsafe.Slice((*int32)(p), n), true
	case raster.Float32:
		return unsafe.Slice((*float32)(p), n), true
	default:
		return unsafe.Slice((*float64)(p), n), true
	}
}

func copyFromTyped(b *raster.Band, buf any) {
	switch s := buf.(type) {
	case []byte:
		copy(b.Data, s)
	case []int8:
		for i, v := range s {
			b.Data[i] = byte(v)
		}
	case []uint16:
		for i, v := range s {
			binary.LittleEndian.PutUint16(b.Data[2*i:], v)
		}
	case []int16:
		for i, v := range s {
			binary.LittleEndian.PutUint16(b.Data[2*i:], uint16(v))
		}
	case []uint32:
		for i, v := range s {
			binary.LittleEndian.PutUint32(b.Data[4*i:], v)
		}
	case []int32:
		for i, v := range s {
			binary.LittleEndian.PutUint32(b.Data[4*i:], uint32(v))
		}
	case []float32:
		for i, v := range s {
			binary.LittleEndian.PutUint32(b.Data[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range s {
			binary.LittleEndian.PutUint64(b.Data[8*i:], math.Float64bits(v))
		}
	}
}

// writeBand writes src into band i (0-based) of the dataset at (x, y).
func (d *Dataset) writeBand(i, x, y int, src *raster.Band) error {
	bands := d.ds.Bands()
	if i < 0 || i >= len(bands) {
		return fmt.Errorf("gdal: band %d out of range (raster has %d)", i+1, len(bands))
	}
	if src.Len() == 0 {
		return nil
	}
	// GDAL only reads the buffer: a view of src's bytes when the host allows, else a copy.
	buf, direct := typedView(src)
	if !direct {
		fillTyped(buf, src)
	}
	if err := bands[i].Write(x, y, buf, src.Width, src.Height, errh); err != nil {
		return fmt.Errorf("gdal: write band %d of %s: %w", i+1, d.path, err)
	}
	return nil
}

func fillTyped(buf any, b *raster.Band) {
	switch s := buf.(type) {
	case []byte:
		copy(s, b.Data)
	case []int8:
		for i := range s {
			s[i] = int8(b.Data[i])
		}
	case []uint16:
		for i := range s {
			s[i] = binary.LittleEndian.Uint16(b.Data[2*i:])
		}
	case []int16:
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(b.Data[2*i:]))
		}
	case []uint32:
		for i := range s {
			s[i] = binary.LittleEndian.Uint32(b.Data[4*i:])
		}
	case []int32:
		for i := range s {
			s[i] = int32(binary.LittleEndian.Uint32(b.Data[4*i:]))
		}
	case []float32:
		for i := range s {
			s[i] = math.Float32frombits(binary.LittleEndian.Uint32(b.Data[4*i:]))
		}
	case []float64:
		for i := range s {
			s[i] = math.Float64frombits(binary.LittleEndian.Uint64(b.Data[8*i:]))
		}
	}
}
