package tiles

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/geotiff"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// ExportRequest is export?layers=&formula=&zoom=&bbox=&colormap=&legend=&filename=&description=.
type ExportRequest struct {
	Query Query
	// Zoom, when set, is the export's zoom (default: the layers' deepest max zoom).
	Zoom *int
	// BBox, when set, is the region in EPSG:3857 (given as lon/lat: west,south,east,north);
	// default: the union of the layers' extents.
	BBox *tile.Bounds
	// Style is the colormap or legend written to COLORMAP.txt.
	Style       Style
	Filename    string
	Description string
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// ParseExport reads an export request.
func ParseExport(q url.Values) (ExportRequest, error) {
	var r ExportRequest
	var err error
	if r.Query, err = ParseQuery(q); err != nil {
		return r, err
	}
	if r.Query.RGB != nil {
		return r, paramErr("formula", "missing: an export needs a formula")
	}
	if r.Zoom, err = parseZoom(q.Get("zoom")); err != nil {
		return r, err
	}
	if s := q.Get("bbox"); s != "" {
		b, err := parseBBox(s)
		if err != nil {
			return r, err
		}
		r.BBox = &b
	}
	if r.Style, err = ParseStyle(q); err != nil {
		return r, err
	}
	r.Filename = "tessera_export"
	if f := q.Get("filename"); f != "" {
		f = strings.TrimSuffix(f, ".zip")
		if !safeName.MatchString(f) {
			return r, paramErr("filename", "%q: use 1 to 100 letters, digits, '.', '_' or '-'", clip(f))
		}
		r.Filename = f
	}
	r.Description = q.Get("description")
	return r, nil
}

func parseZoom(s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	z, err := strconv.Atoi(s)
	// Up to the deepest zoom a parse may produce (it stopped at 22, so a layer parsed deeper
	// could not be exported or counted at its own zoom).
	if err != nil || z < 0 || z > catalog.MaxParseZoom {
		return nil, paramErr("zoom", "%q: use an integer from 0 to %d", clip(s), catalog.MaxParseZoom)
	}
	return &z, nil
}

// parseBBox reads west,south,east,north in degrees and returns it in EPSG:3857.
func parseBBox(s string) (tile.Bounds, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return tile.Bounds{}, paramErr("bbox", "%q: use west,south,east,north in degrees", clip(s))
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return tile.Bounds{}, paramErr("bbox", "%q is not a number", clip(p))
		}
		v[i] = f
	}
	if v[0] < -180 || v[2] > 180 || v[1] < -90 || v[3] > 90 || !(v[2] > v[0]) || !(v[3] > v[1]) {
		return tile.Bounds{}, paramErr("bbox", "%q: need -180 ≤ west < east ≤ 180 and -90 ≤ south < north ≤ 90", clip(s))
	}
	return tile.LonLatBox(v[0], v[1], v[2], v[3]), nil
}

// region returns the requested bounds, else the union of the layers' extents.
func region(bbox *tile.Bounds, vars []boundVar) (tile.Bounds, error) {
	if bbox != nil {
		return *bbox, nil
	}
	var b tile.Bounds
	first := true
	for _, v := range vars {
		m := v.layer.Meta
		if m == nil || !(m.Extent[2] > m.Extent[0] && m.Extent[3] > m.Extent[1]) {
			continue
		}
		e := tile.Bounds{MinX: m.Extent[0], MinY: m.Extent[1], MaxX: m.Extent[2], MaxY: m.Extent[3]}
		if first {
			b, first = e, false
			continue
		}
		b = tile.Bounds{MinX: min(b.MinX, e.MinX), MinY: min(b.MinY, e.MinY), MaxX: max(b.MaxX, e.MaxX), MaxY: max(b.MaxY, e.MaxY)}
	}
	if first {
		return b, paramErr("bbox", "missing, and the layers have no extent yet (not parsed?)")
	}
	return b, nil
}

// evalTile evaluates the formula on one tile of every layer; ok is false when a layer has
// no data there.
func (s *Service) evalTile(ctx context.Context, vars []boundVar, j *job, t tile.ZXY) (values []float64, mask []bool, w, h int, ok bool, err error) {
	bands := make(map[string]*raster.Band, len(vars))
	fs, err := s.fetchAll(ctx, vars, t)
	if err != nil {
		return nil, nil, 0, 0, false, err
	}
	for i, v := range vars {
		b := fs[i].band(v.Band)
		if b == nil {
			return nil, nil, 0, 0, false, nil
		}
		bands[v.Name] = b
		w, h = b.Width, b.Height
	}
	prog, err := s.program(j.formula)
	if err != nil {
		return nil, nil, 0, 0, false, err
	}
	res, err := render.Evaluate(render.Request{Bands: bands, Formula: prog})
	if err != nil {
		return nil, nil, 0, 0, false, err
	}
	a := render.ResultArray(res, w*h)
	return a.Values, a.Mask, w, h, true, nil
}

// Export answers export?…: a zip of the formula's result as a Float64 GeoTIFF in
// EPSG:3857 over the tiles covering the region at the zoom, README.txt and COLORMAP.txt.
// Pixels without data (missing tiles included: django-raster wrote 0 there) are nodata,
// NaN. The size check counts the covering tiles' pixels against ExportMaxPixels. At most two
// exports and statistics requests run at once; others wait for a slot.
func (s *Service) Export(ctx context.Context, r ExportRequest) *Response {
	release, err := s.acquire(ctx)
	if err != nil {
		return s.fail(ctx, "export", err)
	}
	defer release()
	vars, _, z, err := s.formulaQuery(ctx, r.Query)
	if err != nil {
		return s.fail(ctx, "export", err)
	}
	if r.Zoom != nil {
		z = *r.Zoom
	}
	b, err := region(r.BBox, vars)
	if err != nil {
		return s.fail(ctx, "export", err)
	}
	rng := tile.Covering(b, z)
	size := s.cfg.TileSize // the size the server's layers are cut at (RASTER_TILESIZE)
	cols, rows := rng.MaxX-rng.MinX+1, rng.MaxY-rng.MinY+1
	if rng.Count() == 0 {
		return s.fail(ctx, "export", paramErr("bbox", "covers no tile"))
	}
	// In float64: at zoom 24 and deeper a world's pixels (2^64 and more) wrap an int64
	// negative, which passed the check and panicked allocating the raster (a 500).
	if float64(cols)*float64(size)*float64(rows)*float64(size) > float64(s.cfg.ExportMaxPixels) {
		// django-raster's message first (clients may match it), then the size, the limit and
		// what to change: its bare message left the user guessing.
		return s.fail(ctx, "export", fmt.Errorf("%w The export would be %d×%d pixels at zoom %d, more than RASTER_EXPORT_MAX_PIXELS (%d): use a lower zoom= or a smaller bbox=.",
			ErrTooLarge, cols*size, rows*size, z, s.cfg.ExportMaxPixels))
	}
	// The colormap (COLORMAP.txt) is resolved before the tiles are read: an unknown legend=
	// is a 404 without reading and evaluating up to RASTER_EXPORT_MAX_PIXELS pixels first.
	cm, err := s.colormap(ctx, &job{style: r.Style}, Client{})
	if err != nil {
		return s.fail(ctx, "export", err)
	}
	W, H := cols*size, rows*size
	out := raster.New(raster.Float64, W, H)
	nan := math.NaN()
	for i := 0; i < out.Len(); i++ {
		out.Set(i, nan)
	}
	j := &job{formula: r.Query.Formula}
	tilesWithData := 0
	for ty := rng.MinY; ty <= rng.MaxY; ty++ {
		for tx := rng.MinX; tx <= rng.MaxX; tx++ {
			if err := ctx.Err(); err != nil {
				return s.fail(ctx, "export", err)
			}
			vals, mask, w, h, ok, err := s.evalTile(ctx, vars, j, tile.ZXY{Z: z, X: tx, Y: ty})
			if err != nil {
				return s.fail(ctx, "export", err)
			}
			if !ok {
				continue
			}
			if w != size || h != size {
				// A layer cut at another size than RASTER_TILESIZE says (ingested with another
				// setting): the export cannot lay its tiles out on one grid.
				return s.fail(ctx, "export", paramErr("layers", "a layer's tiles are %d×%d pixels where this server's RASTER_TILESIZE is %d: export layers cut at the server's tile size", w, h, size))
			}
			// A tile counts as one with data (README.txt) when its result has a valid pixel:
			// over a pyramid, every address is answered, cut from the zoom-0 tile if need be,
			// and a bbox far from the layer counted all its tiles as having data.
			valid := false
			ox, oy := (tx-rng.MinX)*size, (ty-rng.MinY)*size
			for r := 0; r < h; r++ {
				for c := 0; c < w; c++ {
					i := r*w + c
					if mask == nil || !mask[i] {
						out.Set((oy+r)*W+ox+c, vals[i])
						valid = true
					}
				}
			}
			if valid {
				tilesWithData++
			}
		}
	}
	first := tile.ZXY{Z: z, X: rng.MinX, Y: rng.MinY}.Bounds()
	last := tile.ZXY{Z: z, X: rng.MaxX, Y: rng.MaxY}.Bounds()
	extent := tile.Bounds{MinX: first.MinX, MinY: last.MinY, MaxX: last.MaxX, MaxY: first.MaxY}

	// The entries carry the export's time: zip.Writer.Create leaves the DOS date 0, which
	// unzip lists as 1980-00-00 and Go reads as 1979-11-30.
	created := time.Now().UTC()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// The GeoTIFF's strips are deflated already, yet the entry is deflated too: a stored
	// entry written as a stream carries a data descriptor, which streaming readers (Java's
	// ZipInputStream) refuse. klauspost's BestSpeed passes incompressible data through as
	// stored blocks quickly, where archive/zip's default compressor spent time for nothing.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	fw, err := createEntry(zw, r.Filename+".tif", created)
	if err == nil {
		err = geotiff.Write(fw, &geotiff.Image{Bands: []*raster.Band{out}, Bounds: extent, NoData: &nan, Deflate: true})
	}
	if err != nil {
		return s.fail(ctx, "export", err)
	}
	var readme strings.Builder
	fmt.Fprintf(&readme, "Tessera raster export\n=====================\n\n")
	if r.Description != "" {
		fmt.Fprintf(&readme, "%s\n\n", r.Description)
	}
	fmt.Fprintf(&readme, "Created:  %s\nFile:     %s.tif (GeoTIFF, Float64, EPSG:3857, nodata NaN)\n", created.Format(time.RFC3339), r.Filename)
	fmt.Fprintf(&readme, "Formula:  %s\nLayers:\n", r.Query.Formula)
	for _, v := range vars {
		fmt.Fprintf(&readme, "  %s = layer %d %q, band %d (parse version %d)\n", v.Name, v.layer.ID, v.layer.Name, v.Band, v.layer.Version)
	}
	fmt.Fprintf(&readme, "Zoom:     %d (pixel size %.4f m)\nExtent:   %.3f %.3f %.3f %.3f (EPSG:3857)\nSize:     %d x %d pixels, %d of %d tiles with data\n",
		z, extent.Width()/float64(W), millimetres(extent.MinX), millimetres(extent.MinY), millimetres(extent.MaxX), millimetres(extent.MaxY), W, H, tilesWithData, rng.Count())
	if err := addFile(zw, "README.txt", readme.String(), created); err != nil {
		return s.fail(ctx, "export", err)
	}
	if err := addFile(zw, "COLORMAP.txt", describeColormap(cm.cm, r.Style.ColormapSrc), created); err != nil {
		return s.fail(ctx, "export", err)
	}
	if err := zw.Close(); err != nil {
		return s.fail(ctx, "export", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+r.Filename+`.zip"`)
	return &Response{Status: http.StatusOK, Header: h, Body: buf.Bytes()}
}

// createEntry adds a deflated entry named name, dated modified, to the export's zip.
func createEntry(zw *zip.Writer, name string, modified time.Time) (io.Writer, error) {
	return zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
}

// addFile adds a text entry to the export's zip (createEntry).
func addFile(zw *zip.Writer, name, text string, modified time.Time) error {
	w, err := createEntry(zw, name, modified)
	if err != nil {
		return err
	}
	_, err = w.Write([]byte(text))
	return err
}

// describeColormap writes a colormap as COLORMAP.txt: one "key: #colour" line per discrete
// entry, or the continuous colormap's description followed by src, the colormap= parameter
// it was read from (its colours: a colormap from one colour to another has no name to give).
func describeColormap(cm *colormap.Colormap, src string) string {
	if cm == nil {
		return "No colormap or legend was given; the values are raw formula results.\n"
	}
	var b strings.Builder
	if cm.Kind() == colormap.Discrete {
		b.WriteString("Discrete colormap: expression: colour (#RRGGBB, or #RRGGBBAA when not opaque)\n\n")
		for _, e := range cm.Entries() {
			fmt.Fprintf(&b, "%s: %s\n", e.Key, colormap.Hex(e.Color))
		}
		return b.String()
	}
	b.WriteString("Continuous colormap")
	if n := cm.Name(); n != "" {
		fmt.Fprintf(&b, " %q", n)
	}
	if lo, hi, ok := cm.Range(); ok {
		fmt.Fprintf(&b, " over the range %v to %v", lo, hi)
	}
	b.WriteString("\n")
	if src != "" {
		fmt.Fprintf(&b, "\nAs given (colormap=): %s\n", src)
	}
	return b.String()
}

// millimetres rounds a coordinate to the README's three decimals, a value that rounds to
// zero from below (an edge on the equator or the prime meridian a rounding below it) to 0,
// which %.3f would print -0.000.
func millimetres(v float64) float64 { return math.Round(v*1000)/1000 + 0 }
