package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// reduction matches a call of a function that reduces a whole tile to one number: such a
// formula must be evaluated over the whole tile even to answer one pixel.
var reduction = regexp.MustCompile(`\b(min|max|mean|median|std|sum)\s*\(`)

// PixelValue is the JSON answer of the pixel endpoint; Value is null for nodata or where
// no tile exists.
type PixelValue struct {
	X     float64  `json:"x"`
	Y     float64  `json:"y"`
	Value *float64 `json:"value"`
	// Hint, when set, says that x and y look like longitude and latitude and names the
	// point in EPSG:3857 metres (see lonLatHint). django-raster has no such field.
	Hint string `json:"hint,omitempty"`
}

// Pixel answers pixel/{x}/{y}: the formula's value at an EPSG:3857 point, at the deepest
// max zoom of the layers. Unlike django-raster, a nodata pixel and a point without tiles
// give "value": null (django-raster: the nodata number, and a 500), and a point that is
// outside the layers in metres but inside one in degrees gets a "hint".
func (s *Service) Pixel(ctx context.Context, r PixelRequest, c Client) *Response {
	vars, prog, z, err := s.formulaQuery(ctx, r.Query)
	if err != nil {
		return s.fail(ctx, "pixel", err)
	}
	out := PixelValue{X: r.X, Y: r.Y, Hint: lonLatHint(r.X, r.Y, vars)}
	t, fx, fy := tile.At(r.X, r.Y, z)
	perPixel := !reduction.MatchString(r.Query.Formula)
	if perPixel {
		bands, ok, err := s.pixelBands(ctx, vars, t, fx, fy)
		if err != nil {
			return s.fail(ctx, "pixel", err)
		}
		if ok {
			return s.pixelAnswer(ctx, out, bands, prog, 0)
		}
	}
	bands := map[string]*raster.Band{}
	fs, err := s.fetchAll(ctx, vars, t)
	if err != nil {
		return s.fail(ctx, "pixel", err)
	}
	for i, v := range vars {
		b := fs[i].band(v.Band)
		if b == nil {
			return jsonResponse(http.StatusOK, out)
		}
		bands[v.Name] = b
	}
	var w, h int
	for _, b := range bands {
		w, h = b.Width, b.Height
		break
	}
	i := pixelAt(fy, h)*w + pixelAt(fx, w)
	if perPixel {
		for n, b := range bands { // evaluate the one pixel
			size := b.Type.Size()
			bands[n] = &raster.Band{Type: b.Type, Width: 1, Height: 1, HasNoData: b.HasNoData, NoData: b.NoData,
				Data: b.Data[i*size : (i+1)*size]}
		}
		i = 0
	}
	return s.pixelAnswer(ctx, out, bands, prog, i)
}

// pixelAnswer evaluates the formula over bands and answers with its value at pixel i.
func (s *Service) pixelAnswer(ctx context.Context, out PixelValue, bands map[string]*raster.Band, prog *formula.Program, i int) *Response {
	res, err := render.Evaluate(render.Request{Bands: bands, Formula: prog})
	if err != nil {
		return s.fail(ctx, "pixel", err)
	}
	a := render.ResultArray(res, len(res.Values))
	if res.Scalar {
		i = 0
	}
	if i < len(a.Values) && (a.Mask == nil || !a.Mask[i]) && !math.IsNaN(a.Values[i]) && !math.IsInf(a.Values[i], 0) {
		v := a.Values[i]
		out.Value = &v
	}
	return jsonResponse(http.StatusOK, out)
}

// pixelReader is a Store that reads single pixels (pgstore does; see its TilePixelValues).
type pixelReader interface {
	TilePixelValues(ctx context.Context, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) ([]float64, []bool, error)
}

// pixelBands reads the one pixel each variable needs at fractions fx, fy of tile t (see
// tile.At), straight from the store in one query, as 1×1 bands of the type and nodata the
// catalog gives the layer's band: a cold pixel query then moves a few numbers instead of whole
// tiles. ok is false when it cannot answer that way and the caller reads whole tiles: a tile
// already in the cache (cheaper), a tile not stored at t (cut from a coarser one, or none), a
// band missing from the tile or the catalog, or a store without pixel reads.
func (s *Service) pixelBands(ctx context.Context, vars []boundVar, t tile.ZXY, fx, fy float64) (map[string]*raster.Band, bool, error) {
	pr, isPR := s.store.(pixelReader)
	if !isPR {
		return nil, false, nil
	}
	type read struct {
		lv   catalog.LayerVersion
		band int
	}
	at := map[read]int{}
	var reads []catalog.PixelRead
	for _, v := range vars {
		if v.layer.Version <= 0 || v.Band >= len(v.layer.Bands) {
			return nil, false, nil
		}
		lv := catalog.LayerVersion{ID: v.layer.ID, Version: v.layer.Version}
		if _, cached := s.tiles.get(tileKey{lv.ID, lv.Version, t}); cached {
			return nil, false, nil
		}
		if _, dup := at[read{lv, v.Band}]; !dup {
			at[read{lv, v.Band}] = len(reads)
			types := make([]raster.DataType, v.Band+1)
			for k := range types {
				types[k] = v.layer.Bands[k].Type
			}
			reads = append(reads, catalog.PixelRead{Layer: lv, Band: v.Band, Types: types})
		}
	}
	vals, found, err := pr.TilePixelValues(ctx, reads, t, fx, fy)
	if err != nil {
		return nil, false, fmt.Errorf("tiles: read a pixel of tile %v: %w", t, err)
	}
	out := map[string]*raster.Band{}
	for _, v := range vars {
		i := at[read{catalog.LayerVersion{ID: v.layer.ID, Version: v.layer.Version}, v.Band}]
		if !found[i] { // not stored at t, or no such band
			return nil, false, nil
		}
		m := v.layer.Bands[v.Band]
		b := raster.New(m.Type, 1, 1)
		b.HasNoData, b.NoData = m.HasNoData, m.NoData
		b.Set(0, vals[i])
		out[v.Name] = b
	}
	return out, true, nil
}

// Legend answers legend/{id}: django-raster's legend JSON. A non-integer id is 404
// (django-raster: 500, since it passed the id to the database unchecked).
func (s *Service) Legend(ctx context.Context, id string) *Response {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return ErrorResponse(NotFound("legend %q not found", clip(id)))
	}
	lg, err := s.store.Legend(ctx, n)
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			err = NotFound("legend %d not found", n)
		}
		return s.fail(ctx, "legend", err)
	}
	js, err := lg.JSON()
	if err != nil {
		return s.fail(ctx, "legend", err)
	}
	return rawJSON(js)
}

// LayerLegend answers legend?layer=…: the legend of a layer (id, name or file name).
func (s *Service) LayerLegend(ctx context.Context, ref string) *Response {
	if ref == "" {
		return ErrorResponse(paramErr("layer", "missing: give legend/ID or legend?layer=LAYER"))
	}
	l, err := s.layer(ctx, ref)
	if err != nil {
		return s.fail(ctx, "legend", err)
	}
	if l.LegendID == nil {
		return ErrorResponse(NotFound("layer %q has no legend", clip(ref)))
	}
	return s.Legend(ctx, strconv.FormatInt(*l.LegendID, 10))
}

func rawJSON(b []byte) *Response {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &Response{Status: http.StatusOK, Header: h, Body: b}
}

// LayerJSON is a layer in the catalog answers.
type LayerJSON struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Datatype    catalog.Datatype `json:"datatype"`
	Source      string           `json:"source,omitempty"`
	Version     int64            `json:"version"`
	LegendID    *int64           `json:"legend,omitempty"`
	MaxZoom     int              `json:"max_zoom"`
	// Bounds is the extent in WGS84 degrees (west, south, east, north); Extent in EPSG:3857.
	Bounds   *[4]float64     `json:"bounds,omitempty"`
	Extent   *[4]float64     `json:"extent,omitempty"`
	Metadata *MetadataJSON   `json:"metadata,omitempty"`
	Bands    []BandJSON      `json:"bands"`
	Parse    ParseStatusJSON `json:"parse"`
	Created  time.Time       `json:"created"`
}

// MetadataJSON is what the parser read off the raster.
type MetadataJSON struct {
	Origin    [2]float64 `json:"origin"`
	Scale     [2]float64 `json:"scale"`
	Skew      [2]float64 `json:"skew"`
	Width     int        `json:"width"`
	Height    int        `json:"height"`
	BandCount int        `json:"band_count"`
	SRID      int        `json:"srid"`
	WKT       string     `json:"wkt,omitempty"`
}

// BandJSON is one band's type, nodata and statistics.
type BandJSON struct {
	Index    int       `json:"index"`
	Type     string    `json:"type"`
	NoData   *float64  `json:"nodata"`
	Count    int64     `json:"count"`
	Min      *float64  `json:"min,omitempty"`
	Max      *float64  `json:"max,omitempty"`
	Mean     *float64  `json:"mean,omitempty"`
	Std      *float64  `json:"std,omitempty"`
	Hist     []int64   `json:"hist,omitempty"`
	HistBins []float64 `json:"hist_bins,omitempty"`
}

// ParseStatusJSON is a layer's parse progress and log.
type ParseStatusJSON struct {
	Status        string    `json:"status"`
	Code          int       `json:"code"`
	Version       int64     `json:"version"`
	Log           []string  `json:"log"`
	FinishedZooms []int     `json:"finished_zooms"`
	TilesDone     int64     `json:"tiles_done"`
	TilesTotal    int64     `json:"tiles_total"`
	Updated       time.Time `json:"updated"`
}

func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ParseJSON is a layer's parse status as the catalog answers show it.
func ParseJSON(p catalog.ParseStatus) ParseStatusJSON {
	out := ParseStatusJSON{Status: p.Status.String(), Code: int(p.Status), Version: p.Version, Log: p.Log,
		FinishedZooms: p.FinishedZooms, TilesDone: p.TilesDone, TilesTotal: p.TilesTotal, Updated: p.Updated}
	if out.Log == nil {
		out.Log = []string{}
	}
	if out.FinishedZooms == nil {
		out.FinishedZooms = []int{}
	}
	return out
}

// publicSource is what the catalog shows of a layer's source: a local path's file name
// only (not the server's directories), a URL without credentials or query (which may hold
// a signature).
func publicSource(src string) string {
	if u, err := url.Parse(src); err == nil && u.Scheme != "" && u.Host != "" {
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		return u.String()
	}
	return path.Base(filepath.ToSlash(src))
}

// NewLayerJSON converts a catalog layer for the catalog answers.
func NewLayerJSON(l catalog.Layer) LayerJSON {
	out := LayerJSON{ID: l.ID, Name: l.Name, Description: l.Description, Datatype: l.Datatype, Source: publicSource(l.Source),
		Version: l.Version, LegendID: l.LegendID, MaxZoom: maxZoom(l), Bands: []BandJSON{}, Parse: ParseJSON(l.Parse),
		Created: l.Create}
	if m := l.Meta; m != nil {
		out.Metadata = &MetadataJSON{Origin: [2]float64{m.OriginX, m.OriginY}, Scale: [2]float64{m.ScaleX, m.ScaleY},
			Skew: [2]float64{m.SkewX, m.SkewY}, Width: m.Width, Height: m.Height, BandCount: m.BandCount, SRID: m.SRID, WKT: m.WKT}
		if e := m.Extent; e[2] > e[0] && e[3] > e[1] {
			ext := e
			out.Extent = &ext
			w, sth := tile.MercatorToLonLat(e[0], e[1])
			east, n := tile.MercatorToLonLat(e[2], e[3])
			out.Bounds = &[4]float64{w, sth, east, n}
		}
	}
	for _, b := range l.Bands {
		bj := BandJSON{Index: b.Index, Type: b.Type.String(), Count: b.Count, Hist: b.Hist, HistBins: b.HistBins}
		if b.HasNoData {
			bj.NoData = finitePtr(b.NoData)
		}
		if b.Count > 0 {
			bj.Min, bj.Max, bj.Mean, bj.Std = finitePtr(b.Min), finitePtr(b.Max), finitePtr(b.Mean), finitePtr(b.Std)
		}
		out.Bands = append(out.Bands, bj)
	}
	return out
}

// Layers answers the layer catalog: every layer with metadata, band statistics and parse
// status.
func (s *Service) Layers(ctx context.Context) *Response {
	ls, err := s.store.Layers(ctx)
	if err != nil {
		return s.fail(ctx, "layers", err)
	}
	out := make([]LayerJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, NewLayerJSON(l))
	}
	return jsonResponse(http.StatusOK, out)
}

// Layer answers layers/{ref}: one layer of the catalog.
func (s *Service) Layer(ctx context.Context, ref string) *Response {
	l, err := s.store.Layer(ctx, ref)
	if err != nil {
		return s.fail(ctx, "layer", err)
	}
	return jsonResponse(http.StatusOK, NewLayerJSON(l))
}

// TileJSON is the TileJSON 3.0.0 document of a layer or an algebra query
// (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0).
type TileJSON struct {
	TileJSON    string     `json:"tilejson"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Scheme      string     `json:"scheme"`
	Tiles       []string   `json:"tiles"`
	MinZoom     int        `json:"minzoom"`
	MaxZoom     int        `json:"maxzoom"`
	Bounds      [4]float64 `json:"bounds"`
	Center      [3]float64 `json:"center"`
	// TileSize is not a TileJSON 3.0.0 key (the spec allows others) but MapLibre reads it
	// when the source does not say tileSize: without it a raster source takes 512, draws
	// each 256-pixel tile over 512 screen pixels and asks for tiles a zoom too coarse.
	TileSize int `json:"tileSize"`
}

// tileJSONFormat is the tile format a TileJSON or WMTS document points at (default png).
func tileJSONFormat(q url.Values) (Format, error) {
	if f := q.Get("format"); f != "" {
		return ParseFormat(f)
	}
	return PNG, nil
}

// tileSource is what a tile document (TileJSON, WMTS capabilities) describes: a layer's
// tiles or an algebra query's, with the format and query its tile URLs keep.
type tileSource struct {
	name, desc string
	layers     []catalog.Layer
	format     Format
	// path is where the tiles live under the base URL, before /{z}/{x}/{y}: "tiles/REF" or
	// "algebra".
	path string
	// query is the request's query without format, kept in every tile URL so a map client
	// gets the same styling (colormap, legend, entries…).
	query url.Values
	// scale is TileJSON's tile_scale: its tile URLs ask for @2x or @4x tiles (0 or 1: none).
	scale int
}

// layerSource resolves tiles/{layer}.json's and tiles/{layer}/WMTSCapabilities.xml's
// request: format, style and the layer (id, name or file name fragment).
func (s *Service) layerSource(ctx context.Context, ref string, q url.Values) (tileSource, error) {
	f, err := tileJSONFormat(q)
	if err != nil {
		return tileSource{}, err
	}
	if _, err := ParseStyle(q); err != nil {
		return tileSource{}, err
	}
	l, err := s.layer(ctx, ref)
	if err != nil {
		return tileSource{}, err
	}
	return tileSource{name: l.Name, desc: l.Description, layers: []catalog.Layer{l}, format: f,
		path: "tiles/" + url.PathEscape(ref), query: cloneWithout(q, "format")}, nil
}

// algebraSource resolves algebra.json's and algebra/WMTSCapabilities.xml's request: format,
// layers, formula (compiled, so a bad one is a 400 here rather than on every tile), style
// and the layers it names.
func (s *Service) algebraSource(ctx context.Context, q url.Values) (tileSource, error) {
	f, err := tileJSONFormat(q)
	if err != nil {
		return tileSource{}, err
	}
	query, err := ParseQuery(q)
	if err != nil {
		return tileSource{}, err
	}
	if _, err := ParseStyle(q); err != nil {
		return tileSource{}, err
	}
	if query.Formula != "" {
		// Through the service's cache of compiled formulas: the document's tiles, which
		// follow at once, find the program compiled.
		if _, err := s.program(query.Formula); err != nil {
			return tileSource{}, err
		}
	}
	vars, err := s.bind(ctx, query.Layers)
	if err != nil {
		return tileSource{}, err
	}
	ls := make([]catalog.Layer, len(vars))
	for i, v := range vars {
		ls[i] = v.layer
	}
	return tileSource{name: "algebra", desc: query.Formula, layers: ls, format: f, path: "algebra",
		query: cloneWithout(q, "format")}, nil
}

// tileURL is the source's tile URL under base with z, x and y as given: the placeholders
// of a TileJSON or WMTS template.
func (src tileSource) tileURL(base, z, x, y string) string {
	if src.scale > 1 {
		y += "@" + strconv.Itoa(src.scale) + "x"
	}
	return base + src.path + "/" + z + "/" + x + "/" + y + "." + string(src.format) + encodeQuery(src.query)
}

// maxZoom is the deepest max zoom of the source's layers, the zoom pixel and algebra
// answers read.
func (src tileSource) maxZoom() int {
	z := 0
	for _, l := range src.layers {
		z = max(z, maxZoom(l))
	}
	return z
}

// extent is the union of the source's layers' extents in EPSG:3857 metres (west, south,
// east, north); ok is false when no layer has one (not parsed yet).
func (src tileSource) extent() (e [4]float64, ok bool) {
	for _, l := range src.layers {
		if l.Meta == nil || !(l.Meta.Extent[2] > l.Meta.Extent[0]) {
			continue
		}
		le := l.Meta.Extent
		if !ok {
			e, ok = le, true
			continue
		}
		e = [4]float64{min(e[0], le[0]), min(e[1], le[1]), max(e[2], le[2]), max(e[3], le[3])}
	}
	return e, ok
}

// worldBounds is the web-mercator world in WGS84 degrees (west, south, east, north).
var worldBounds = [4]float64{-180, -85.0511287798066, 180, 85.0511287798066}

// lonLatBounds is an extent (tileSource.extent) in WGS84 degrees (west, south, east,
// north), the world when there is none (ok false).
func lonLatBounds(e [4]float64, ok bool) [4]float64 {
	if !ok {
		return worldBounds
	}
	w, sth := tile.MercatorToLonLat(e[0], e[1])
	east, n := tile.MercatorToLonLat(e[2], e[3])
	return [4]float64{w, sth, east, n}
}

// tileJSONFor is the TileJSON of src under base. With a tile_scale its maxzoom is the
// layers' less log2(scale): an @2x tile holds the pixels of the zoom below it, so the
// layers' own pixels end one zoom earlier (MapLibre over-zooms in the browser past it,
// rather than asking the server for tiles cut from coarser ones).
func (s *Service) tileJSONFor(src tileSource, base string) TileJSON {
	tj := TileJSON{TileJSON: "3.0.0", Name: src.name, Description: src.desc, Scheme: "xyz",
		Tiles: []string{src.tileURL(base, "{z}", "{x}", "{y}")}, TileSize: s.cfg.TileSize * max(1, src.scale),
		MaxZoom: max(0, src.maxZoom()-scaleLevels(src.scale)), Bounds: lonLatBounds(src.extent())}
	tj.Center = [3]float64{(tj.Bounds[0] + tj.Bounds[2]) / 2, (tj.Bounds[1] + tj.Bounds[3]) / 2, float64(max(0, tj.MaxZoom-3))}
	return tj
}

// LayerTileJSON answers tiles/{layer}.json. The tile URLs keep the query (colormap, legend…)
// so a map client gets the same styling; format= picks the tile format (default png).
func (s *Service) LayerTileJSON(ctx context.Context, ref string, q url.Values, c Client) *Response {
	src, err := s.layerSource(ctx, ref, q)
	if err == nil {
		src, err = src.withTileScale(s.cfg.TileSize)
	}
	if err != nil {
		return s.fail(ctx, "tilejson", err)
	}
	return tileJSONResponse(s.tileJSONFor(src, c.BaseURL), c)
}

// tileJSONResponse answers TileJSON as the capabilities documents are answered
// (DocumentResponse): an ETag of its bytes, 304 to a client that has them, no-cache.
func tileJSONResponse(tj TileJSON, c Client) *Response {
	body, err := json.Marshal(tj)
	if err != nil {
		return jsonResponse(http.StatusOK, tj) // its 500
	}
	return DocumentResponse("application/json", body, c)
}

// AlgebraTileJSON answers algebra.json?layers=…&formula=…: TileJSON for an algebra query.
func (s *Service) AlgebraTileJSON(ctx context.Context, q url.Values, c Client) *Response {
	src, err := s.algebraSource(ctx, q)
	if err == nil {
		src, err = src.withTileScale(s.cfg.TileSize)
	}
	if err != nil {
		return s.fail(ctx, "tilejson", err)
	}
	return tileJSONResponse(s.tileJSONFor(src, c.BaseURL), c)
}

func cloneWithout(q url.Values, drop string) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k != drop {
			out[k] = v
		}
	}
	return out
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
