package ingest

import (
	"math"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/tile"
)

// MaxZoomForScale returns django-raster's max zoom for a source pixel of scale metres (in
// EPSG:3857) and tiles of tileSize pixels: the smallest zoom in 1..19 whose pixel is no
// larger than the source pixel (19 when every zoom's pixel is larger), one less when
// nextHigher is false. Kept exactly as django-raster computes it (reference §2).
func MaxZoomForScale(scale float64, tileSize int, nextHigher bool) int {
	z := 19
	for i := 1; i <= 18; i++ {
		if scale-tile.PixelSize(i, tileSize) >= 0 {
			z = i
			break
		}
	}
	if !nextHigher {
		z--
	}
	return z
}

// webMercator is EPSG:3857, the tile grid's CRS.
const webMercator = "EPSG:3857"

// sourcePixelSize is django-raster's measure of one source pixel in EPSG:3857 metres: |scale x|
// for a raster already in EPSG:3857, else the length of a one-pixel step in x from the centre
// of the raster's extent, transformed to EPSG:3857.
func sourcePixelSize(gt [6]float64, width, height int, crs string, epsg int) (float64, error) {
	if epsg == 3857 {
		return math.Abs(gt[1]), nil
	}
	// django-raster's GDALRaster.extent: origin and origin + size·scale, skew ignored.
	x0, x1 := gt[0], gt[0]+float64(width)*gt[1]
	y0, y1 := gt[3], gt[3]+float64(height)*gt[5]
	xc := math.Min(x0, x1) + math.Abs(x1-x0)/2
	yc := math.Min(y0, y1) + math.Abs(y1-y0)/2
	xs, ys := []float64{xc, xc + gt[1]}, []float64{yc, yc}
	ok, err := gdal.Transform(crs, webMercator, xs, ys)
	if err != nil {
		return 0, err
	}
	if !ok[0] || !ok[1] {
		return 0, gdal.ErrTransform
	}
	d := math.Hypot(xs[1]-xs[0], ys[1]-ys[0])
	if !(d > 0) || math.IsInf(d, 0) {
		return 0, gdal.ErrTransform
	}
	return d, nil
}

// mercatorExtent returns the raster's extent in EPSG:3857: its outline (densified, 32 points
// a side, so curved edges count) is transformed to longitude/latitude, latitudes are clamped
// to web mercator's ±85.0511°, and the result is projected. Points that fail to transform are
// ignored; ok is false when none transformed.
func mercatorExtent(gt [6]float64, width, height int, crs string, epsg int) (tile.Bounds, bool, error) {
	const n = 32
	var cols, rows []float64
	for i := 0; i <= n; i++ {
		f := float64(i) / n
		cols = append(cols, f*float64(width), f*float64(width), 0, float64(width))
		rows = append(rows, 0, float64(height), f*float64(height), f*float64(height))
	}
	xs, ys := make([]float64, len(cols)), make([]float64, len(cols))
	for i := range cols {
		xs[i] = gt[0] + cols[i]*gt[1] + rows[i]*gt[2]
		ys[i] = gt[3] + cols[i]*gt[4] + rows[i]*gt[5]
	}
	b := tile.Bounds{MinX: math.Inf(1), MinY: math.Inf(1), MaxX: math.Inf(-1), MaxY: math.Inf(-1)}
	okAll := make([]bool, len(xs))
	if epsg == 3857 {
		for i := range okAll {
			okAll[i] = true
		}
	} else {
		var err error
		okAll, err = gdal.Transform(crs, "EPSG:4326", xs, ys)
		if err != nil {
			return b, false, err
		}
	}
	any := false
	for i := range xs {
		if !okAll[i] {
			continue
		}
		x, y := xs[i], ys[i]
		if epsg != 3857 {
			x, y = tile.LonLatToMercator(x, y)
		}
		x = math.Max(-tile.Origin, math.Min(tile.Origin, x))
		y = math.Max(-tile.Origin, math.Min(tile.Origin, y))
		b.MinX, b.MaxX = math.Min(b.MinX, x), math.Max(b.MaxX, x)
		b.MinY, b.MaxY = math.Min(b.MinY, y), math.Max(b.MaxY, y)
		any = true
	}
	return b, any, nil
}

// level is one zoom level of the pyramid: the tiles it covers and the raster (aligned to
// the tile grid: its top-left pixel is the top-left of tile (Range.MinX, Range.MinY)) they
// are cut from.
type level struct {
	Range tile.Range
	Path  string
}

// bounds is the extent of a tile range in EPSG:3857.
func rangeBounds(r tile.Range) tile.Bounds {
	tl := tile.ZXY{Z: r.Z, X: r.MinX, Y: r.MinY}.Bounds()
	br := tile.ZXY{Z: r.Z, X: r.MaxX, Y: r.MaxY}.Bounds()
	return tile.Bounds{MinX: tl.MinX, MinY: br.MinY, MaxX: br.MaxX, MaxY: tl.MaxY}
}

// blocks splits r into blocks of at most side×side tiles, row by row.
func blocks(r tile.Range, side int) []tile.Range {
	var out []tile.Range
	for y := r.MinY; y <= r.MaxY; y += side {
		for x := r.MinX; x <= r.MaxX; x += side {
			out = append(out, tile.Range{Z: r.Z, MinX: x, MinY: y, MaxX: min(x+side-1, r.MaxX), MaxY: min(y+side-1, r.MaxY)})
		}
	}
	return out
}
