package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/geotiff"
	"github.com/tessera-gis/tessera/backend/internal/pngenc"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// job is one image answer to compute: a tile or an algebra request, bound to its layers.
type job struct {
	kind    string
	t       tile.ZXY
	scale   int // 1, 2 or 4 (@2x, @4x): the answer has scale times the tile size's pixels
	format  Format
	vars    []boundVar
	formula string
	rgb     *render.RGB
	style   Style
	// rng is the range the tile endpoint takes from the layer's band statistics.
	rng *[2]float64
	// layerLegend is the tile endpoint's fallback: the layer's own legend.
	layerLegend *int64
}

// Tile answers tiles/{layer}/{z}/{x}/{y}.{format}: the formula x on band 0 of the layer,
// coloured by the colormap or legend asked for, else the layer's legend, else grayscale over
// the band's statistics.
func (s *Service) Tile(ctx context.Context, r TileRequest, c Client) *Response {
	l, err := s.layer(ctx, r.Layer)
	if err != nil {
		return s.fail(ctx, "tile", err)
	}
	j := &job{kind: "tile", t: r.Tile, scale: r.Scale, format: r.Format, formula: "x", style: r.Style,
		vars: []boundVar{{LayerVar: LayerVar{Name: "x", Ref: r.Layer}, layer: l}}, layerLegend: l.LegendID}
	if len(l.Bands) > 0 && l.Bands[0].Count > 0 && l.Bands[0].Max >= l.Bands[0].Min {
		j.rng = &[2]float64{l.Bands[0].Min, l.Bands[0].Max}
	}
	return s.image(ctx, j, c)
}

// Algebra answers algebra/{z}/{x}/{y}.{format}: a formula over named layer bands, or an RGB
// composition. When any of the layers has no data at the tile (nor at a coarser zoom to cut it
// from), the answer is the empty tile: every result pixel would be nodata anyway.
func (s *Service) Algebra(ctx context.Context, r AlgebraRequest, c Client) *Response {
	vars, err := s.bind(ctx, r.Query.Layers)
	if err != nil {
		return s.fail(ctx, "algebra", err)
	}
	j := &job{kind: "algebra", t: r.Tile, scale: r.Scale, format: r.Format, vars: vars, formula: r.Query.Formula, rgb: r.Query.RGB, style: r.Style}
	return s.image(ctx, j, c)
}

// program compiles a formula, reusing compiled programs.
func (s *Service) program(src string) (*formula.Program, error) {
	if p, ok := s.programs.get(src); ok {
		return p, nil
	}
	p, err := formula.Compile(src)
	if err != nil {
		return nil, &formulaSource{src: src, err: err}
	}
	s.programs.put(src, p)
	return p, nil
}

// checkVars gives the formula's positioned error for a variable no layer is named so.
func checkVars(p *formula.Program, src string, names map[string]bool) error {
	missing := false
	for _, v := range p.Vars() {
		if !names[v] {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	vars := map[string]formula.Array{}
	for n := range names {
		vars[n] = formula.Array{Values: []float64{1}}
	}
	_, err := p.Eval(vars)
	if err == nil {
		err = paramErr("formula", "uses a variable that layers does not name")
	}
	return &formulaSource{src: src, err: err}
}

// resolvedStyle is a job's colormap and the key it adds to the ETag. session marks a
// colormap read from the client's session (store=session), whose answer is the client's own.
type resolvedStyle struct {
	cm      *colormap.Colormap
	key     string
	session bool
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// colormap resolves the job's colormap: the colormap parameter, else the legend (or session
// colormap), else for the tile endpoint the layer's legend; nil means grayscale.
func (s *Service) colormap(ctx context.Context, j *job, c Client) (resolvedStyle, error) {
	st := j.style
	switch {
	case st.Colormap != nil:
		return resolvedStyle{cm: st.Colormap, key: "colormap:" + st.ColormapSrc}, nil
	case st.Legend != "" && st.Session:
		if c.Session == "" {
			return resolvedStyle{}, NotFound("no colormap is saved in this session under %q (the request has no session cookie)", clip(st.Legend))
		}
		raw, err := s.store.SessionColormap(ctx, c.Session, st.Legend)
		if err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				return resolvedStyle{}, NotFound("no colormap is saved in this session under %q", clip(st.Legend))
			}
			return resolvedStyle{}, err
		}
		cm, err := colormap.Parse(raw)
		if err != nil {
			return resolvedStyle{}, paramErrWrap("legend", err)
		}
		return resolvedStyle{cm: cm, key: "session:" + hashOf(raw), session: true}, nil
	case st.Legend != "":
		return s.cachedStyle("ref:"+st.Legend, func() (resolvedStyle, error) {
			lg, err := s.legend(ctx, st.Legend)
			if err != nil {
				return resolvedStyle{}, err
			}
			return s.legendStyle(lg)
		})
	case j.layerLegend != nil:
		return s.cachedStyle("id:"+strconv.FormatInt(*j.layerLegend, 10), func() (resolvedStyle, error) {
			lg, err := s.store.Legend(ctx, *j.layerLegend)
			if errors.Is(err, catalog.ErrNotFound) {
				return resolvedStyle{key: "gray"}, nil
			}
			if err != nil {
				return resolvedStyle{}, err
			}
			return s.legendStyle(lg)
		})
	}
	return resolvedStyle{key: "gray"}, nil
}

func (s *Service) legendStyle(lg colormap.Legend) (resolvedStyle, error) {
	cm, err := lg.Colormap()
	if err != nil {
		return resolvedStyle{}, paramErrWrap("legend", err)
	}
	js, err := lg.JSON()
	if err != nil {
		return resolvedStyle{}, paramErrWrap("legend", err)
	}
	return resolvedStyle{cm: cm, key: "legend:" + hashOf(js)}, nil
}

// cachedStyle reuses a legend's compiled colormap for LayerTTL (a changed legend shows
// within that time, as a re-parsed layer does); errors are not kept.
func (s *Service) cachedStyle(key string, load func() (resolvedStyle, error)) (resolvedStyle, error) {
	if st, ok := s.styles.get(key); ok {
		return st, nil
	}
	st, err := load()
	if err != nil {
		return st, err
	}
	s.styles.put(key, st)
	return st, nil
}

// legend finds a legend by id, else by title (case-insensitive).
func (s *Service) legend(ctx context.Context, ref string) (colormap.Legend, error) {
	lg, err := s.store.LegendByRef(ctx, ref)
	if errors.Is(err, catalog.ErrNotFound) {
		return lg, NotFound("legend %q not found", clip(ref))
	}
	return lg, err
}

// etag builds the job's entity tag from everything its answer depends on.
func (j *job) etag(styleKey string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%v|%s|%q|", j.kind, j.t, j.format, j.formula)
	if j.scale > 1 {
		fmt.Fprintf(&b, "@%dx|", j.scale)
	}
	for _, v := range j.vars {
		fmt.Fprintf(&b, "%s:%d=%d@%d,", v.Name, v.Band, v.layer.ID, v.layer.Version)
	}
	if j.rgb != nil {
		fmt.Fprintf(&b, "|rgb:%v:%v", j.rgb.Alpha, j.rgb.Scale != nil)
		if j.rgb.Scale != nil {
			fmt.Fprintf(&b, ":%v", *j.rgb.Scale)
		}
	}
	fmt.Fprintf(&b, "|%s|%q|%v", styleKey, j.style.Entries, j.style.Entries != nil)
	for _, f := range []*float64{j.style.Enhance.Color, j.style.Enhance.Contrast, j.style.Enhance.Brightness, j.style.Enhance.Sharpness} {
		if f != nil {
			fmt.Fprintf(&b, "|%v", *f)
		} else {
			b.WriteString("|-")
		}
	}
	if j.rng != nil {
		fmt.Fprintf(&b, "|%v", *j.rng)
	}
	return `"` + hashOf([]byte(b.String())) + `"`
}

// sessionCacheControl is the Cache-Control of an answer coloured by a session colormap
// (store=session). The same URL gives each session its own colours, so a shared cache
// (a CDN, a proxy) must not keep it, and the session's colormap can be replaced under the
// same key at any time (django-raster's set_session_colormap), so the browser revalidates
// every use: with the ETag, an unchanged colormap costs a 304.
const sessionCacheControl = "private, no-cache"

// sessionCacheControlFor is the Cache-Control of a session's answers under the tiles'
// Cache-Control cc (TESSERA_CACHE_CONTROL): sessionCacheControl, or "private, no-store" when
// cc forbids storing tiles at all, so the session's answers are never kept where other tiles
// are not. New works it out once.
func sessionCacheControlFor(cc string) string {
	if hasDirective(cc, "no-store") {
		return "private, no-store"
	}
	return sessionCacheControl
}

// sessionCache sets the Cache-Control (sessionCacheControlFor) and Vary of an answer that
// depends on the client's session cookie (a session-coloured tile, or the 404 saying the
// session has no such colormap).
func (s *Service) sessionCache(h http.Header) {
	h.Set("Cache-Control", s.sessionCC)
	h.Add("Vary", "Cookie")
}

// hasDirective reports whether the Cache-Control value cc has the directive name (RFC 9111
// §5.2: case-insensitive, comma-separated, optionally with an argument).
func hasDirective(cc, name string) bool {
	for _, d := range strings.Split(cc, ",") {
		d, _, _ = strings.Cut(d, "=")
		if strings.EqualFold(strings.TrimSpace(d), name) {
			return true
		}
	}
	return false
}

// GzipETag is the entity tag of the gzip-encoded answer whose identity answer has etag. RFC
// 9110 §8.8.3: a strong validator differs between representations, content codings
// included; with one tag for both, a cache holding the gzip bytes could revalidate them
// with a client that does not accept gzip and hand them over after the 304.
func GzipETag(etag string) string {
	return strings.TrimSuffix(etag, `"`) + `-gzip"`
}

// cacheHeaders sets the headers a cache needs on a 200 or 304 answer: ETag, Cache-Control,
// and Vary for what else the answer depends on (Accept-Encoding for .msgpack, which may be
// gzipped; Cookie for a session colormap). RFC 9110 §15.4.5: a 304 carries them too.
func (s *Service) cacheHeaders(h http.Header, etag string, f Format, style resolvedStyle) {
	h.Set("ETag", etag)
	h.Set("Cache-Control", s.cfg.CacheControl)
	if f == MsgPack {
		h.Add("Vary", "Accept-Encoding")
	}
	if style.session {
		s.sessionCache(h)
	}
}

func (s *Service) notModified(etag string, f Format, style resolvedStyle) *Response {
	h := http.Header{}
	s.cacheHeaders(h, etag, f, style)
	return &Response{Status: http.StatusNotModified, Header: h}
}

// image answers a tile or algebra job: conditional request, response cache, then render.
func (s *Service) image(ctx context.Context, j *job, c Client) *Response {
	var prog *formula.Program
	names := map[string]bool{}
	for _, v := range j.vars {
		names[v.Name] = true
	}
	if j.scale > 1 {
		layers := make([]catalog.Layer, len(j.vars))
		for i, v := range j.vars {
			layers[i] = v.layer
		}
		if err := checkScaledBytes("scale", layers, s.cfg.TileSize, j.scale); err != nil {
			return s.fail(ctx, j.kind, err)
		}
	}
	if j.formula != "" {
		p, err := s.program(j.formula)
		if err != nil {
			return s.fail(ctx, j.kind, err)
		}
		if err := checkVars(p, j.formula, names); err != nil {
			return s.fail(ctx, j.kind, err)
		}
		prog = p
	}
	var style resolvedStyle
	if j.format == PNG || j.format == JPEG {
		var err error
		if style, err = s.colormap(ctx, j, c); err != nil {
			r := s.fail(ctx, j.kind, err)
			if j.style.Session {
				// The error may be this session's (no cookie, no such key): no shared
				// cache may hand it to another session, nor keep it past the save.
				s.sessionCache(r.Header)
			}
			return r
		}
	}
	etag := j.etag(style.key)
	gz := c.AcceptGzip && j.format == MsgPack
	if gz {
		etag = GzipETag(etag)
	}
	if MatchesETag(c.IfNoneMatch, etag) {
		return s.notModified(etag, j.format, style)
	}
	cacheKey := etag
	if r, ok := s.responses.get(cacheKey); ok {
		s.hit("response", true)
		return r
	}
	s.hit("response", false)
	r, err := s.renderJob(ctx, j, prog, style.cm, gz)
	if err != nil {
		return s.fail(ctx, j.kind, err)
	}
	s.cacheHeaders(r.Header, etag, j.format, style)
	s.responses.put(cacheKey, r)
	return r
}

// jobBands returns each variable's band at the job's tile, nil where its layer has none
// there: the tile's own bands, or at a scale above 1 its descendants' put side by side.
func (s *Service) jobBands(ctx context.Context, j *job) ([]*raster.Band, error) {
	if j.scale > 1 {
		return s.scaledBands(ctx, j.vars, j.t, j.scale)
	}
	fs, err := s.fetchAll(ctx, j.vars, j.t)
	if err != nil {
		return nil, err
	}
	out := make([]*raster.Band, len(j.vars))
	for i, v := range j.vars {
		out[i] = fs[i].band(v.Band)
	}
	return out, nil
}

func (s *Service) renderJob(ctx context.Context, j *job, prog *formula.Program, cm *colormap.Colormap, gz bool) (*Response, error) {
	bands := make(map[string]*raster.Band, len(j.vars))
	found, err := s.jobBands(ctx, j)
	if err != nil {
		return nil, err
	}
	for i, v := range j.vars {
		if found[i] == nil {
			return s.empty(j)
		}
		bands[v.Name] = found[i]
	}
	h := http.Header{}
	h.Set("Content-Type", j.format.ContentType())
	var buf bytes.Buffer
	switch j.format {
	case MsgPack:
		var w, ht int
		for _, b := range bands {
			w, ht = b.Width, b.Height
			break
		}
		data, err := rawtile.Encode(&rawtile.Tile{Tile: j.t, Bounds: j.t.Bounds(), Width: w, Height: ht, Bands: bands})
		if err != nil {
			return nil, err
		}
		if gz {
			buf.Grow(len(data) / 2)
			zw, _ := s.gzips.Get().(*gzip.Writer)
			if zw == nil {
				zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			} else {
				zw.Reset(&buf)
			}
			_, err := zw.Write(data)
			if err == nil {
				err = zw.Close()
			}
			s.gzips.Put(zw)
			if err != nil {
				return nil, err
			}
			h.Set("Content-Encoding", "gzip")
			data = buf.Bytes()
		}
		return &Response{Status: http.StatusOK, Header: h, Body: data}, nil
	case TIFF:
		img, err := s.tiffImage(j, prog, bands)
		if err != nil {
			return nil, err
		}
		if err := geotiff.Write(&buf, img); err != nil {
			return nil, err
		}
	default:
		out, err := render.Render(render.Request{Bands: bands, Formula: prog, RGB: j.rgb, Colormap: cm,
			Entries: j.style.Entries, Range: j.rng, Enhance: j.style.Enhance})
		if err != nil {
			return nil, err
		}
		if out.Counts != nil {
			agg, err := out.Counts.MarshalJSON()
			if err != nil {
				return nil, err
			}
			h.Set("aggregation", string(agg))
		}
		if j.format == JPEG {
			err = render.EncodeJPEG(&buf, out.Image, s.cfg.JPEGQuality)
		} else { // a palette PNG when the colours are a discrete colormap's (out.Palette), else as few bytes a pixel as hold them
			err = pngenc.EncodePalette(&buf, out.Image, out.Palette())
		}
		out.Release() // the encoded bytes are all that is kept
		if err != nil {
			return nil, err
		}
	}
	return &Response{Status: http.StatusOK, Header: h, Body: buf.Bytes()}, nil
}

// tiffImage is the raw answer of a TIFF tile: the formula's result as one Float64 band, or in
// RGB mode the r, g and b bands' values as three Float64 bands, without colours (as
// django-raster writes them).
func (s *Service) tiffImage(j *job, prog *formula.Program, bands map[string]*raster.Band) (*geotiff.Image, error) {
	img := &geotiff.Image{Bounds: j.t.Bounds(), Deflate: true}
	if prog == nil {
		var nd *float64
		for _, n := range []string{"r", "g", "b"} {
			b := bands[n]
			vals, mask := b.Decode(nil, nil)
			if b.HasNoData && nd == nil {
				v := b.NoData
				nd = &v
			}
			img.Bands = append(img.Bands, raster.FromFloat64(raster.Float64, b.Width, b.Height, vals, mask, nd != nil, deref(nd)))
		}
		img.NoData = nd
		return img, nil
	}
	res, err := render.Evaluate(render.Request{Bands: bands, Formula: prog})
	if err != nil {
		return nil, err
	}
	var w, h int
	for _, b := range bands {
		w, h = b.Width, b.Height
		break
	}
	a := render.ResultArray(res, w*h)
	nd := math.NaN()
	if res.HasNoData {
		nd = res.NoData
	}
	img.Bands = []*raster.Band{raster.FromFloat64(raster.Float64, w, h, a.Values, a.Mask, true, nd)}
	img.NoData = &nd
	return img, nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// emptyImages are the answers for a tile with no data (Service.empty) at one size, made once.
type emptyImages struct {
	once      sync.Once
	png, jpeg []byte
	tiff      *geotiff.Template // an all-NaN Float64 tile, written at each tile's bounds
	err       error
}

// empty is the answer for a tile with no data here nor at any coarser zoom: a transparent
// image of the server's tile size, RASTER_TILESIZE, times the job's scale (black for JPEG,
// all-nodata for TIFF), and 204 for .msgpack.
func (s *Service) empty(j *job) (*Response, error) {
	size := s.cfg.TileSize * max(1, j.scale)
	v, ok := s.blanks.Load(size)
	if !ok { // the first of this size: LoadOrStore alone allocated an emptyImages every call
		v, _ = s.blanks.LoadOrStore(size, &emptyImages{})
	}
	e := v.(*emptyImages)
	e.once.Do(func() {
		img := image.NewNRGBA(image.Rect(0, 0, size, size))
		var p, q bytes.Buffer
		if e.err = pngenc.EncodePalette(&p, img, []color.NRGBA{{}}); e.err != nil { // a 1-bit palette PNG
			return
		}
		if e.err = render.EncodeJPEG(&q, img, 90); e.err != nil {
			return
		}
		e.png, e.jpeg = p.Bytes(), q.Bytes()
		nan := math.NaN()
		b := raster.New(raster.Float64, size, size)
		for i := 0; i < b.Len(); i++ {
			b.Set(i, nan)
		}
		e.tiff, e.err = geotiff.NewTemplate(&geotiff.Image{Bands: []*raster.Band{b},
			Bounds: tile.ZXY{}.Bounds(), NoData: &nan, Deflate: true})
	})
	if e.err != nil {
		return nil, e.err
	}
	h := http.Header{}
	switch j.format {
	case MsgPack:
		return &Response{Status: http.StatusNoContent, Header: h}, nil
	case PNG:
		h.Set("Content-Type", PNG.ContentType())
		return &Response{Status: http.StatusOK, Header: h, Body: e.png}, nil
	case JPEG:
		h.Set("Content-Type", JPEG.ContentType())
		return &Response{Status: http.StatusOK, Header: h, Body: e.jpeg}, nil
	}
	var buf bytes.Buffer
	if err := e.tiff.Write(&buf, j.t.Bounds()); err != nil {
		return nil, err
	}
	h.Set("Content-Type", TIFF.ContentType())
	return &Response{Status: http.StatusOK, Header: h, Body: buf.Bytes()}, nil
}
