package gdal

// #cgo pkg-config: gdal
// #cgo CXXFLAGS: -std=c++17
// #include <stdlib.h>
// #include "stripwarp.h"
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/airbusgeo/godal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// StripWarper is Warp driven a strip of rows at a time, top to bottom, for callers that
// use each strip as soon as it is warped (the ingest streams tiles to the database while
// the warp goes on). It writes the same GeoTIFF Warp writes, and its pixels are Warp's:
// GDAL's kernel warps each row over the column segment of the chunk GDAL's own plan puts it
// in, and the strip warper keeps those segments (TestStripWarperMatchesWarp).
//
// It covers the case of the ingest's reprojection that needs no source mask: a local file,
// nearest neighbour, bands of one type, the target nodata of every band set, no alpha
// (WarpOptions.NoSrcNoDataMask). NewStripWarper refuses other options with ErrStripWarp.
type StripWarper struct {
	w             *C.TesseraWarp
	width, height int
	bands         int
	typ           raster.DataType
	chunks        [][4]int // dx, dy, dsx, dsy
	path          string
	noData        []float64
}

// ErrStripWarp: the options are not ones the strip warper handles; use Warp.
var ErrStripWarp = errors.New("gdal: strip warp does not handle these options")

// NewStripWarper prepares the warp of the local raster at srcPath into a new tiled GeoTIFF
// at dst, as Warp(src, dst, o) would make it.
func NewStripWarper(srcPath, dst string, o WarpOptions) (*StripWarper, error) {
	register()
	if !o.NoSrcNoDataMask || (o.Resampling != "" && o.Resampling != Nearest) || o.SrcAlpha || o.DstAlpha ||
		o.Compress != "" || o.Width <= 0 || o.Height <= 0 || len(o.DstNoData) == 0 {
		return nil, ErrStripWarp
	}
	nd := make([]C.double, len(o.DstNoData))
	for i, v := range o.DstNoData {
		if v == nil {
			return nil, ErrStripWarp
		}
		nd[i] = C.double(*v)
	}
	o = o.withDefaults()
	dstSRS, block, mem := o.DstSRS, o.BlockSize, o.MemoryMB
	cs := func(s string) *C.char { return C.CString(s) }
	cSrc, cDst, cSSRS, cDSRS := cs(srcPath), cs(dst), cs(o.SrcSRS), cs(dstSRS)
	defer C.free(unsafe.Pointer(cSrc))
	defer C.free(unsafe.Pointer(cDst))
	defer C.free(unsafe.Pointer(cSSRS))
	defer C.free(unsafe.Pointer(cDSRS))
	bounds := []C.double{C.double(o.Bounds[0]), C.double(o.Bounds[1]), C.double(o.Bounds[2]), C.double(o.Bounds[3])}
	w := C.tessera_warp_open(cSrc, cDst, cSSRS, cDSRS, C.int(o.Width), C.int(o.Height), &bounds[0], C.int(block),
		&nd[0], C.int(o.Threads), C.double(float64(mem)*1024*1024))
	if w == nil {
		return nil, fmt.Errorf("gdal: strip warp %s: %s", srcPath, C.GoString(C.tessera_warp_error()))
	}
	s := &StripWarper{w: w, width: o.Width, height: o.Height, bands: int(C.tessera_warp_bands(w)), path: dst}
	for _, v := range o.DstNoData {
		s.noData = append(s.noData, *v)
	}
	// Int8 (GDAL ≥ 3.7) is left to Warp: the strip warper is not tested on it.
	t, err := fromGodalType(godal.DataType(C.tessera_warp_type(w)))
	if err != nil || t == raster.Int8 || len(o.DstNoData) != s.bands {
		C.tessera_warp_close(w)
		return nil, ErrStripWarp
	}
	s.typ = t
	covered := int64(0)
	for i := range int(C.tessera_warp_nchunks(w)) {
		var dx, dy, dsx, dsy C.int
		C.tessera_warp_chunk(w, C.int(i), &dx, &dy, &dsx, &dsy)
		c := [4]int{int(dx), int(dy), int(dsx), int(dsy)}
		s.chunks = append(s.chunks, c)
		covered += int64(c[2]) * int64(c[3])
		if c[0] < 0 || c[1] < 0 || c[2] <= 0 || c[3] <= 0 || c[0]+c[2] > o.Width || c[1]+c[3] > o.Height {
			covered = -1 << 62
		}
	}
	// The plan is read from GDALWarpOperation's private members (stripwarp.cpp): a GDAL
	// whose layout differs would show here as chunks off the grid or overlapping; Warp then.
	if covered < 0 || covered > int64(o.Width)*int64(o.Height) {
		C.tessera_warp_close(w)
		return nil, ErrStripWarp
	}
	return s, nil
}

// Bands, Type and NoData are the target's band count, pixel type and nodata per band;
// Width and Height its size.
func (s *StripWarper) Bands() int            { return s.bands }
func (s *StripWarper) Type() raster.DataType { return s.typ }
func (s *StripWarper) NoData() []float64     { return s.noData }
func (s *StripWarper) Width() int            { return s.width }
func (s *StripWarper) Height() int           { return s.height }

// Strip warps rows y … y+h−1 of the target into bands (one per target band, each
// width×h of Type, filled with the nodata value where no source pixel lands) and writes
// them into the GeoTIFF.
func (s *StripWarper) Strip(y, h int, bands []*raster.Band) error {
	if len(bands) != s.bands || y < 0 || h <= 0 || y+h > s.height {
		return fmt.Errorf("gdal: strip warp: rows %d..%d of %d, %d bands of %d", y, y+h, s.height, len(bands), s.bands)
	}
	size := s.typ.Size()
	for _, b := range bands {
		if b.Type != s.typ || b.Width != s.width || b.Height != h || len(b.Data) != s.width*h*size {
			return fmt.Errorf("gdal: strip warp: band of %v %dx%d, want %v %dx%d", b.Type, b.Width, b.Height, s.typ, s.width, h)
		}
		if b.HasNoData {
			fillBand(b)
		} else {
			clear(b.Data)
		}
	}
	for _, c := range s.chunks {
		y0, y1 := max(y, c[1]), min(y+h, c[1]+c[3])
		if y0 >= y1 {
			continue
		}
		dx, dsx, dsy := c[0], c[2], y1-y0
		buf := C.tessera_warp_region(s.w, C.int(dx), C.int(y0), C.int(dsx), C.int(dsy))
		if buf == nil {
			return fmt.Errorf("gdal: strip warp: %s", C.GoString(C.tessera_warp_error()))
		}
		src := unsafe.Slice((*byte)(buf), dsx*dsy*size*s.bands)
		row := dsx * size
		for bi, b := range bands {
			plane := src[bi*dsx*dsy*size:]
			for r := 0; r < dsy; r++ {
				o := ((y0-y+r)*s.width + dx) * size
				copy(b.Data[o:o+row], plane[r*row:(r+1)*row])
			}
		}
		C.tessera_warp_free_buffer(buf)
	}
	for bi, b := range bands {
		if C.tessera_warp_write(s.w, C.int(bi), C.int(y), C.int(s.width), C.int(h), unsafe.Pointer(&b.Data[0])) == 0 {
			return fmt.Errorf("gdal: strip warp: %s", C.GoString(C.tessera_warp_error()))
		}
	}
	return nil
}

// fillBand sets every pixel of b to its nodata value.
func fillBand(b *raster.Band) {
	if b.NoData == 0 {
		clear(b.Data)
		return
	}
	size := b.Type.Size()
	b.Set(0, b.NoData)
	for n := size; n < len(b.Data); n *= 2 {
		copy(b.Data[n:], b.Data[:n])
	}
}

// Close flushes and closes the GeoTIFF and releases the warp.
func (s *StripWarper) Close() error {
	if s.w == nil {
		return nil
	}
	ok := C.tessera_warp_close(s.w)
	s.w = nil
	if ok == 0 {
		return fmt.Errorf("gdal: strip warp: %s", C.GoString(C.tessera_warp_error()))
	}
	return nil
}
