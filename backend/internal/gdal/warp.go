package gdal

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/airbusgeo/godal"

	"github.com/tessera-gis/tessera/shared/raster"
)

// WarpOptions configures Warp: the target grid (CRS, extent, size) and how to get there.
type WarpOptions struct {
	// SrcSRS, when set, replaces the source's CRS (any definition SRSWKT accepts).
	SrcSRS string
	// SrcNoData, when set, replaces the nodata value of every source band.
	SrcNoData *float64
	// DstSRS is the target CRS; "" means EPSG:3857.
	DstSRS string
	// Bounds is the target extent MinX, MinY, MaxX, MaxY in DstSRS units.
	Bounds [4]float64
	// Width and Height are the target size in pixels.
	Width, Height int
	// Resampling is the warp's resampling algorithm (Nearest when empty).
	Resampling Resampling
	// DstNoData is the nodata value of each target band (nil: the source's).
	DstNoData []*float64
	// SrcAlpha treats the source's last band as coverage; DstAlpha adds a coverage band.
	SrcAlpha, DstAlpha bool
	// BlockSize is the GeoTIFF tile size (a multiple of 16; 256 when 0).
	BlockSize int
	// Compress is the GeoTIFF compression ("" = none, or DEFLATE, ZSTD, LZW).
	Compress string
	// MemoryMB caps the warper's working memory (64 when 0; more buys no speed).
	MemoryMB int
	// Threads is the number of warper threads (1 when 0).
	Threads int
	// NoSrcNoDataMask skips the source nodata mask (gdalwarp -srcnodata None). With
	// nearest neighbour, integer bands and DstNoData equal to each band's source nodata the
	// result is the same (a nodata pixel copies the nodata value; where no source pixel
	// lands the target is initialised with nodata); the caller checks those conditions.
	// Why: the mask was GDAL's largest single cost of warping RGB.byte.tif at 400%.
	NoSrcNoDataMask bool
}

// withDefaults returns o with its zero values replaced by the documented defaults (DstSRS
// EPSG:3857, BlockSize 256, MemoryMB 64, Threads 1), for Warp and the strip warper alike.
func (o WarpOptions) withDefaults() WarpOptions {
	if o.DstSRS == "" {
		o.DstSRS = "EPSG:3857"
	}
	if o.BlockSize == 0 {
		o.BlockSize = 256
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 64
	}
	o.Threads = max(o.Threads, 1)
	return o
}

// Warp reprojects src into a new tiled GeoTIFF at dst on the grid o describes, and returns it
// open for reading. It works in chunks of at most o.MemoryMB, whatever the raster's size.
func Warp(src *Dataset, dst string, o WarpOptions) (*Dataset, error) {
	register()
	if o.Width <= 0 || o.Height <= 0 {
		return nil, fmt.Errorf("gdal: warp: target size %dx%d is not positive", o.Width, o.Height)
	}
	if _, err := o.Resampling.godal(); err != nil {
		return nil, err
	}
	alg := string(o.Resampling)
	if alg == "" {
		alg = string(Nearest)
	}
	o = o.withDefaults()
	dstSRS, block, mem, threads := o.DstSRS, o.BlockSize, o.MemoryMB, o.Threads
	sw := []string{
		"-of", "GTiff", "-overwrite",
		"-t_srs", dstSRS,
		"-te", g(o.Bounds[0]), g(o.Bounds[1]), g(o.Bounds[2]), g(o.Bounds[3]),
		"-ts", strconv.Itoa(o.Width), strconv.Itoa(o.Height),
		"-r", alg,
		"-wm", strconv.Itoa(mem),
		"-wo", "NUM_THREADS=" + strconv.Itoa(threads),
		// Not STREAMABLE_OUTPUT=TRUE (chunks in rows, each source row read once: 5,900
		// reads of RGB.byte.tif at 400% instead of 23,000): the approximate transformer
		// interpolates within a chunk, so other chunks move some nearest pixels (173 of
		// its 204 tiles changed).
		"-co", "TILED=YES", "-co", "BLOCKXSIZE=" + strconv.Itoa(block), "-co", "BLOCKYSIZE=" + strconv.Itoa(block),
		"-co", "BIGTIFF=IF_SAFER",
		// One band per block: readers that take a band at a time (the cut, the pyramid,
		// the statistics) then decode only that band's blocks; pixel interleaving made each
		// band read decode every band, and the small block cache evict them between bands.
		"-co", "INTERLEAVE=BAND",
	}
	if o.Compress != "" {
		sw = append(sw, "-co", "COMPRESS="+o.Compress)
		if o.Compress == "ZSTD" || o.Compress == "DEFLATE" {
			sw = append(sw, "-co", "ZLEVEL=1", "-co", "ZSTD_LEVEL=1")
		}
	}
	if o.SrcSRS != "" {
		sw = append(sw, "-s_srs", o.SrcSRS)
	}
	switch {
	case o.NoSrcNoDataMask:
		sw = append(sw, "-srcnodata", "None")
	case o.SrcNoData != nil:
		sw = append(sw, "-srcnodata", g(*o.SrcNoData))
	}
	if len(o.DstNoData) > 0 {
		vals := ""
		set := false
		for i, v := range o.DstNoData {
			if i > 0 {
				vals += " "
			}
			if v == nil {
				vals += "None"
				continue
			}
			set = true
			vals += g(*v)
		}
		if set {
			sw = append(sw, "-dstnodata", vals)
		}
	}
	if o.SrcAlpha {
		sw = append(sw, "-srcalpha")
	} else {
		sw = append(sw, "-nosrcalpha")
	}
	if o.DstAlpha {
		sw = append(sw, "-dstalpha")
	}
	opts := []godal.DatasetWarpOption{errh}
	if len(src.cfg) > 0 {
		opts = append(opts, godal.ConfigOption(src.cfg...))
	}
	ds, err := src.ds.Warp(dst, sw, opts...)
	if err != nil {
		return nil, fmt.Errorf("gdal: warp %s to %s: %w", src.path, dstSRS, err)
	}
	return &Dataset{ds: ds, path: dst}, nil
}

// g formats a float for a GDAL command-line switch, losslessly.
func g(v float64) string {
	if math.IsNaN(v) {
		return "nan"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// CopyToGeoTIFF copies src (typically a remote or archived raster) into a local tiled GeoTIFF
// at dst, reading it once; the copy keeps the bands, types, nodata, CRS and geotransform.
func CopyToGeoTIFF(src *Dataset, dst string) error {
	register()
	sw := []string{"-of", "GTiff", "-co", "TILED=YES", "-co", "BIGTIFF=IF_SAFER", "-co", "COMPRESS=ZSTD", "-co", "ZSTD_LEVEL=1"}
	opts := []godal.DatasetTranslateOption{errh}
	if len(src.cfg) > 0 {
		opts = append(opts, godal.ConfigOption(src.cfg...))
	}
	out, err := src.ds.Translate(dst, sw, opts...)
	if err != nil {
		return fmt.Errorf("gdal: copy %s: %w", src.path, err)
	}
	return out.Close(errh)
}

// GeoTIFF describes a GeoTIFF for WriteGeoTIFF.
type GeoTIFF struct {
	GeoTransform [6]float64
	// CRS is any definition SRSWKT accepts; "" writes no CRS.
	CRS string
	// Bands all have the same type, size and nodata (a GeoTIFF holds one nodata value for
	// all its bands).
	Bands []*raster.Band
	// Compress: "" for none, or DEFLATE, ZSTD, LZW. Predictor 2 (integers) or 3 (floats)
	// is used with DEFLATE/LZW/ZSTD when Predictor is set.
	Compress  string
	Predictor bool
	// BlockSize tiles the file in blocks of this size (a multiple of 16); 0 writes strips.
	BlockSize int
}

// ErrBadBands is returned by WriteGeoTIFF for bands that differ in type, size or nodata, or
// for no bands.
var ErrBadBands = errors.New("gdal: geotiff needs one or more bands of one type and size")

// WriteGeoTIFF writes t to path. The output depends only on t (GDAL writes no timestamps),
// so the same input always gives the same bytes.
func WriteGeoTIFF(path string, t GeoTIFF) error {
	register()
	if len(t.Bands) == 0 {
		return ErrBadBands
	}
	b0 := t.Bands[0]
	for _, b := range t.Bands {
		if err := b.Validate(); err != nil {
			return err
		}
		if b.Type != b0.Type || b.Width != b0.Width || b.Height != b0.Height ||
			b.HasNoData != b0.HasNoData || (b.HasNoData && b.NoData != b0.NoData && !(math.IsNaN(b.NoData) && math.IsNaN(b0.NoData))) {
			return ErrBadBands
		}
	}
	gt, err := toGodalType(b0.Type)
	if err != nil {
		return err
	}
	co := []string{}
	if t.Compress != "" {
		co = append(co, "COMPRESS="+t.Compress)
		if t.Predictor {
			if b0.Type.IsFloat() {
				co = append(co, "PREDICTOR=3")
			} else {
				co = append(co, "PREDICTOR=2")
			}
		}
	}
	if t.BlockSize > 0 {
		co = append(co, "TILED=YES", "BLOCKXSIZE="+strconv.Itoa(t.BlockSize), "BLOCKYSIZE="+strconv.Itoa(t.BlockSize))
	}
	if len(t.Bands) > 1 {
		co = append(co, "INTERLEAVE=BAND")
	}
	ds, err := godal.Create(godal.GTiff, path, len(t.Bands), gt, b0.Width, b0.Height, godal.CreationOption(co...), errh)
	if err != nil {
		return fmt.Errorf("gdal: create %s: %w", path, err)
	}
	d := &Dataset{ds: ds, path: path}
	werr := func() error {
		if err := ds.SetGeoTransform(t.GeoTransform, errh); err != nil {
			return err
		}
		if t.CRS != "" {
			wkt, err := SRSWKT(t.CRS)
			if err != nil {
				return err
			}
			if err := ds.SetProjection(wkt, errh); err != nil {
				return err
			}
		}
		bands := ds.Bands()
		if b0.HasNoData {
			if err := bands[0].SetNoData(b0.NoData, errh); err != nil {
				return err
			}
		}
		for i, b := range t.Bands {
			if err := d.writeBand(i, 0, 0, b); err != nil {
				return err
			}
		}
		return nil
	}()
	cerr := d.Close()
	if werr != nil {
		return fmt.Errorf("gdal: write %s: %w", path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("gdal: write %s: %w", path, cerr)
	}
	return nil
}

// Create creates a GeoTIFF for writing band by band, window by window (WriteBand), so a
// raster larger than memory can be written; Close flushes it. All bands share typ and the
// nodata of nd (a GeoTIFF holds one nodata value).
func Create(path string, width, height, bands int, typ raster.DataType, gt [6]float64, crs string, nd *float64, compress string, blockSize int) (*Dataset, error) {
	register()
	t, err := toGodalType(typ)
	if err != nil {
		return nil, err
	}
	co := []string{"BIGTIFF=IF_SAFER"}
	if compress != "" {
		co = append(co, "COMPRESS="+compress)
		if typ.IsFloat() {
			co = append(co, "PREDICTOR=3")
		} else {
			co = append(co, "PREDICTOR=2")
		}
	}
	if blockSize > 0 {
		co = append(co, "TILED=YES", "BLOCKXSIZE="+strconv.Itoa(blockSize), "BLOCKYSIZE="+strconv.Itoa(blockSize))
	}
	if bands > 1 {
		co = append(co, "INTERLEAVE=BAND")
	}
	ds, err := godal.Create(godal.GTiff, path, bands, t, width, height, godal.CreationOption(co...), errh)
	if err != nil {
		return nil, fmt.Errorf("gdal: create %s: %w", path, err)
	}
	d := &Dataset{ds: ds, path: path}
	fail := func(err error) (*Dataset, error) {
		d.Close()
		return nil, fmt.Errorf("gdal: create %s: %w", path, err)
	}
	if err := ds.SetGeoTransform(gt, errh); err != nil {
		return fail(err)
	}
	if crs != "" {
		wkt, err := SRSWKT(crs)
		if err != nil {
			return fail(err)
		}
		if err := ds.SetProjection(wkt, errh); err != nil {
			return fail(err)
		}
	}
	if nd != nil {
		if err := ds.Bands()[0].SetNoData(*nd, errh); err != nil {
			return fail(err)
		}
	}
	return d, nil
}

// SetAlpha marks band i (0-based) as an alpha (coverage) band.
func (d *Dataset) SetAlpha(i int) error {
	bands := d.ds.Bands()
	if i < 0 || i >= len(bands) {
		return fmt.Errorf("gdal: band %d out of range (raster has %d)", i+1, len(bands))
	}
	return bands[i].SetColorInterp(godal.CIAlpha, errh)
}

// WriteBand writes src into band i (0-based) of a dataset made by Create, with its top-left
// pixel at (x, y).
func (d *Dataset) WriteBand(i, x, y int, src *raster.Band) error {
	if err := src.Validate(); err != nil {
		return err
	}
	return d.writeBand(i, x, y, src)
}
