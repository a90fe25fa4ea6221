package tiles

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Limits on request parameters, so no query can make the service do unbounded work.
const (
	// MaxLayers is the most variables one `layers` parameter may name.
	MaxLayers = 16
	// MaxBand is the highest band index a variable may pick.
	MaxBand = 1023
	// MaxParam is the longest value of any one query parameter, in bytes.
	MaxParam = 8192
	// MaxEntries is the most keys `entries` may keep.
	MaxEntries = 256
)

// Format is an answer's format, from the URL's extension.
type Format string

// The formats of tile answers.
const (
	PNG     Format = "png"
	JPEG    Format = "jpg"
	TIFF    Format = "tif"
	MsgPack Format = "msgpack"
)

// ParseFormat reads a tile URL's extension.
func ParseFormat(ext string) (Format, error) {
	switch strings.ToLower(ext) {
	case "png":
		return PNG, nil
	case "jpg", "jpeg":
		return JPEG, nil
	case "tif", "tiff":
		return TIFF, nil
	case "msgpack":
		return MsgPack, nil
	}
	return "", paramErr("format", "unknown tile format %q: use png, jpg, tif or msgpack", ext)
}

// ContentType returns the format's media type.
func (f Format) ContentType() string {
	switch f {
	case PNG:
		return "image/png"
	case JPEG:
		return "image/jpeg"
	case TIFF:
		return "image/tiff"
	case MsgPack:
		return "application/vnd.tessera.rawtile+msgpack"
	}
	return "application/octet-stream"
}

// ParseZXY reads a tile address from its URL parts and checks it is on the grid.
func ParseZXY(z, x, y string) (tile.ZXY, error) {
	var t tile.ZXY
	for _, p := range []struct {
		name string
		s    string
		v    *int
	}{{"z", z, &t.Z}, {"x", x, &t.X}, {"y", y, &t.Y}} {
		n, err := strconv.Atoi(p.s)
		if err != nil {
			return t, paramErr(p.name, "%q is not an integer", clip(p.s))
		}
		*p.v = n
	}
	if err := t.Validate(); err != nil {
		return t, paramErr("z/x/y", "%s", strings.TrimPrefix(err.Error(), "tile: "))
	}
	return t, nil
}

// parseScaledZXY reads a tile address whose y may end in a scale (@2x): the tile and the
// scale (1 without one).
func parseScaledZXY(z, x, y string) (tile.ZXY, int, error) {
	y, scale, err := splitScale(y)
	if err != nil {
		return tile.ZXY{}, 0, err
	}
	t, err := ParseZXY(z, x, y)
	if err == nil {
		err = checkScale(t, scale)
	}
	return t, scale, err
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// LayerVar is one entry of the `layers` parameter: the variable Name is band Band
// (0-based) of the layer Ref (an id, a name or a file-name fragment).
type LayerVar struct {
	Name string
	Band int
	Ref  string
}

var varName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ParseLayers reads the `layers` parameter: comma-separated `name=layer` or
// `name:band=layer` (band 0-based), e.g. `a=1,b:2=4`.
func ParseLayers(s string) ([]LayerVar, error) {
	if s == "" {
		return nil, paramErr("layers", "missing; give name=layer pairs, e.g. layers=a=1,b=2")
	}
	if len(s) > MaxParam {
		return nil, paramErr("layers", "%d bytes, at most %d", len(s), MaxParam)
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxLayers {
		return nil, paramErr("layers", "%d layers, at most %d", len(parts), MaxLayers)
	}
	out := make([]LayerVar, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		name, ref, ok := strings.Cut(p, "=")
		ref = strings.TrimSpace(ref)
		if !ok || ref == "" {
			return nil, paramErr("layers", "malformed entry %q: use name=layer or name:band=layer", clip(p))
		}
		v := LayerVar{Ref: ref}
		name, band, hasBand := strings.Cut(strings.TrimSpace(name), ":")
		if hasBand {
			b, err := strconv.Atoi(band)
			if err != nil || b < 0 || b > MaxBand {
				return nil, paramErr("layers", "malformed band %q in %q: a band index is an integer from 0 to %d", clip(band), clip(p), MaxBand)
			}
			v.Band = b
		}
		if !varName.MatchString(name) {
			return nil, paramErr("layers", "malformed name %q in %q: a name has letters, digits and _", clip(name), clip(p))
		}
		// A name that formulas read as something else is a variable no formula can use: the
		// layer bound to E was silently ignored and formula=E gave the constant 2.718…. The
		// functions Tessera added stay names here: django-raster reads them as variables, so a
		// front end may bind one its formula does not use.
		if !formula.VarName(name) && !formula.AddedFunction(name) {
			return nil, paramErr("layers", "%q cannot name a variable: formulas read it as a constant (E, PI, TRUE, FALSE, INF, NULL), a function or a number, or it starts or ends with _; use another name", clip(name))
		}
		if seen[name] {
			return nil, paramErr("layers", "name %q is given twice", name)
		}
		seen[name] = true
		v.Name = name
		out = append(out, v)
	}
	return out, nil
}

// Style is how a formula's result is coloured: the colormap, legend and enhancement
// parameters shared by the image endpoints.
type Style struct {
	// Colormap is the `colormap` parameter, parsed (nil when absent); ColormapSrc its text.
	Colormap    *colormap.Colormap
	ColormapSrc string
	// Legend is the `legend` parameter: a legend id or title, or with Session the key of a
	// colormap saved in the client's session.
	Legend  string
	Session bool
	// Entries, when not nil, keeps only these colormap keys.
	Entries []string
	// Enhance holds the enhance_* factors.
	Enhance render.Enhance
}

// ParseStyle reads colormap, legend, store, entries and enhance_* from a query.
func ParseStyle(q url.Values) (Style, error) {
	var st Style
	if err := checkLengths(q); err != nil {
		return st, err
	}
	if src := strings.TrimSpace(q.Get("colormap")); src != "" {
		cm, err := ParseColormap(src)
		if err != nil {
			return st, err
		}
		st.Colormap, st.ColormapSrc = cm, src
	}
	st.Legend = strings.TrimSpace(q.Get("legend"))
	switch store := q.Get("store"); store {
	case "", "database":
	case "session":
		st.Session = true
		if st.Legend == "" {
			return st, paramErr("store", "store=session needs legend=KEY, the key the colormap was saved under")
		}
	default:
		return st, paramErr("store", "%q: use database or session", clip(store))
	}
	if e, ok := q["entries"]; ok {
		st.Entries = []string{}
		for _, k := range strings.Split(strings.Join(e, ","), ",") {
			if k = strings.TrimSpace(k); k != "" {
				st.Entries = append(st.Entries, k)
			}
		}
		if len(st.Entries) > MaxEntries {
			return st, paramErr("entries", "%d keys, at most %d", len(st.Entries), MaxEntries)
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{
		{"enhance_color", &st.Enhance.Color},
		{"enhance_contrast", &st.Enhance.Contrast},
		{"enhance_brightness", &st.Enhance.Brightness},
		{"enhance_sharpness", &st.Enhance.Sharpness},
	} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > render.MaxFactor {
			return st, paramErr(f.name, "%q is not a factor; use a number from 0 to %d (1 leaves the image unchanged)", clip(s), render.MaxFactor)
		}
		*f.dst = &v
	}
	return st, nil
}

// ParseColormap reads a `colormap` parameter: a JSON object (double or single quotes) or
// the name of a named colormap ("viridis", "RdYlGn_r").
func ParseColormap(src string) (*colormap.Colormap, error) {
	if strings.HasPrefix(src, "{") {
		cm, err := colormap.Parse([]byte(src))
		if err != nil {
			return nil, paramErrWrap("colormap", err)
		}
		return cm, nil
	}
	cm, err := colormap.Named(src)
	if err != nil {
		return nil, paramErr("colormap", "%q is neither a JSON object nor a named colormap (%s)", clip(src), strings.Join(colormap.List(), ", "))
	}
	return cm, nil
}

// paramErrWrap names the parameter of an error from another package, keeping it matchable
// by errors.Is.
func paramErrWrap(param string, err error) error {
	return &wrappedParam{param: param, err: err}
}

type wrappedParam struct {
	param string
	err   error
}

// Error names the parameter once: colormap's errors already start with "colormap: ".
func (e *wrappedParam) Error() string {
	msg := clientMessage(e.err)
	if strings.HasPrefix(msg, e.param+": ") {
		return msg
	}
	return e.param + ": " + msg
}
func (e *wrappedParam) Unwrap() error { return e.err }

func checkLengths(q url.Values) error {
	for k, vs := range q {
		for _, v := range vs {
			if len(v) > MaxParam {
				return paramErr(clip(k), "%d bytes, at most %d", len(v), MaxParam)
			}
		}
	}
	return nil
}

// Query is what an algebra, pixel, export or statistics request computes: a formula over
// named layer bands, or in RGB mode three bands named r, g and b.
type Query struct {
	Layers  []LayerVar
	Formula string
	// RGB is set in RGB mode (no formula, and layers named r, g and b).
	RGB *render.RGB
}

// ParseQuery reads layers, formula, and for RGB mode scale and alpha. Without a formula and
// without r, g and b it gives render.ErrNoMode, django-raster's 400.
func ParseQuery(q url.Values) (Query, error) {
	var out Query
	if err := checkLengths(q); err != nil {
		return out, err
	}
	layers, err := ParseLayers(q.Get("layers"))
	if err != nil {
		return out, err
	}
	out.Layers = layers
	out.Formula = strings.TrimSpace(q.Get("formula"))
	if out.Formula != "" {
		return out, nil
	}
	names := map[string]bool{}
	for _, l := range layers {
		names[l.Name] = true
	}
	if !names["r"] || !names["g"] || !names["b"] {
		return out, render.ErrNoMode
	}
	rgb := &render.RGB{}
	if _, ok := q["alpha"]; ok {
		rgb.Alpha = true
	}
	if s := q.Get("scale"); s != "" {
		sc, err := parseScale(s)
		if err != nil {
			return out, err
		}
		rgb.Scale = sc
	}
	out.RGB = rgb
	return out, nil
}

func parseScale(s string) (*[2]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return nil, paramErr("scale", "%q: use scale=max or scale=min,max", clip(s))
	}
	var v []float64
	for _, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, paramErr("scale", "%q is not a number; use scale=max or scale=min,max", clip(p))
		}
		v = append(v, f)
	}
	sc := [2]float64{0, v[0]}
	if len(v) == 2 {
		sc = [2]float64{v[0], v[1]}
	}
	if !(sc[1] > sc[0]) {
		return nil, paramErr("scale", "%q: max must be above min", clip(s))
	}
	return &sc, nil
}

// TileRequest is tiles/{layer}/{z}/{x}/{y}.{format} (or {y}@2x.{format}): formula x on the
// layer's band 0.
type TileRequest struct {
	Layer  string
	Tile   tile.ZXY
	Scale  int // 1, 2 or 4: the answer has Scale times RASTER_TILESIZE pixels a side
	Format Format
	Style  Style
}

// ParseTile reads a tile request from its URL parts and query.
func ParseTile(layer, z, x, y, ext string, q url.Values) (TileRequest, error) {
	r := TileRequest{Layer: layer}
	var err error
	if r.Format, err = ParseFormat(ext); err != nil {
		return r, err
	}
	if r.Tile, r.Scale, err = parseScaledZXY(z, x, y); err != nil {
		return r, err
	}
	if layer == "" || len(layer) > MaxParam {
		return r, paramErr("layer", "missing or too long")
	}
	r.Style, err = ParseStyle(q)
	return r, err
}

// AlgebraRequest is algebra/{z}/{x}/{y}.{format} (or {y}@2x.{format}).
type AlgebraRequest struct {
	Tile   tile.ZXY
	Scale  int // as TileRequest's
	Format Format
	Query  Query
	Style  Style
}

// ParseAlgebra reads an algebra request from its URL parts and query.
func ParseAlgebra(z, x, y, ext string, q url.Values) (AlgebraRequest, error) {
	var r AlgebraRequest
	var err error
	if r.Format, err = ParseFormat(ext); err != nil {
		return r, err
	}
	if r.Tile, r.Scale, err = parseScaledZXY(z, x, y); err != nil {
		return r, err
	}
	if r.Query, err = ParseQuery(q); err != nil {
		// A raw tile carries the bands, not a result: the browser brings its own formula, so
		// .msgpack needs only layers (django-raster has no .msgpack; its other formats keep
		// the 400).
		if !(errors.Is(err, render.ErrNoMode) && r.Format == MsgPack) {
			return r, err
		}
	}
	r.Style, err = ParseStyle(q)
	return r, err
}

// PixelRequest is pixel/{x}/{y}: the query's value at a point in EPSG:3857.
type PixelRequest struct {
	X, Y  float64
	Query Query
}

// ParsePixel reads a pixel request. The point must lie in the EPSG:3857 world.
func ParsePixel(x, y string, q url.Values) (PixelRequest, error) {
	var r PixelRequest
	for _, p := range []struct {
		name string
		s    string
		v    *float64
	}{{"x", x, &r.X}, {"y", y, &r.Y}} {
		f, err := strconv.ParseFloat(p.s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return r, paramErr(p.name, "%q is not a number (EPSG:3857 metres)", clip(p.s))
		}
		if math.Abs(f) > tile.Origin {
			return r, paramErr(p.name, "%v is outside the EPSG:3857 world (±%.2f)", f, tile.Origin)
		}
		*p.v = f
	}
	var err error
	r.Query, err = ParseQuery(q)
	if err == nil && r.Query.RGB != nil {
		err = paramErr("formula", "missing: a pixel query needs a formula")
	}
	return r, err
}
