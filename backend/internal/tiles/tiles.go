// Package tiles is Tessera's tile service: django-raster's read endpoints (tiles, algebra,
// pixel, legend, export) plus the ones Tessera adds (raw .msgpack tiles, TileJSON, the layer
// catalog, statistics) as plain Go. Each endpoint has a typed request, parsed and validated
// from the URL's query by a Parse function, and a Service method that answers it with a
// Response (status, headers, body) — no HTTP framework types, so the echo handlers in
// backend/internal/server stay thin and the service is tested without a server.
//
// Errors map to status codes in one table (Status); bad input always gives 400 or 404 with
// a JSON body {"error": "…"} (formula errors add "pos": [start, end]), and a 500 body never
// carries internal text.
//
// The service reads tiles through the small Store interface (implemented by pgstore) and
// keeps two bounded in-memory caches: decoded tiles (by layer, parse version and z/x/y) and
// encoded answers (by ETag). ETags come from the layers' parse versions and the normalized
// request, so a re-parse changes every affected ETag.
package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Store is what the service reads: layers, tiles, legends and session colormaps.
// pgstore.Store implements it.
type Store interface {
	// Layer finds a layer by id, name or a fragment of its source's file name; the errors
	// wrap catalog.ErrNotFound or catalog.ErrAmbiguous.
	Layer(ctx context.Context, ref string) (catalog.Layer, error)
	// LayerByID returns one layer, or catalog.ErrNotFound.
	LayerByID(ctx context.Context, id int64) (catalog.Layer, error)
	// Layers returns every layer.
	Layers(ctx context.Context) ([]catalog.Layer, error)
	// Tile returns the bands of stored tile t, or catalog.ErrNotFound.
	Tile(ctx context.Context, layerID, version int64, t tile.ZXY) ([]*raster.Band, error)
	// NearestTile returns tile t, or its nearest stored ancestor, with all its bands;
	// catalog.ErrNotFound when neither exists.
	NearestTile(ctx context.Context, layerID, version int64, t tile.ZXY) (tile.ZXY, []*raster.Band, error)
	// Legend (by id) and LegendByRef (an id, else a case-insensitive title) return a legend
	// or catalog.ErrNotFound.
	Legend(ctx context.Context, id int64) (colormap.Legend, error)
	LegendByRef(ctx context.Context, ref string) (colormap.Legend, error)
	// SessionColormap returns the colormap JSON saved under key in a session, or
	// catalog.ErrNotFound.
	SessionColormap(ctx context.Context, session, key string) (json.RawMessage, error)
}

// Config tunes the service. The zero value of a field takes the default noted.
type Config struct {
	// TileCacheBytes bounds the decoded-tile cache (default 256 MiB; negative: off).
	TileCacheBytes int64
	// ResponseCacheBytes bounds the encoded-answer cache (default 128 MiB; negative: off).
	ResponseCacheBytes int64
	// LayerTTL is how long a resolved layer reference (and its parse version) and a
	// legend's compiled colormap are reused before the store is asked again (default 1s;
	// negative: always ask). A finished re-parse or a changed legend shows within this time.
	LayerTTL time.Duration
	// CacheControl is the Cache-Control header of tile answers (default
	// "public, max-age=60").
	CacheControl string
	// ExportMaxPixels bounds an export's width×height (django-raster's
	// RASTER_EXPORT_MAX_PIXELS, default 10000×10000).
	ExportMaxPixels int64
	// StatsMaxTiles bounds the tiles one statistics request reads (default 4096).
	StatsMaxTiles int
	// StatsKeepBytes bounds the formula values (with their areas) a histogram keeps from
	// its first pass for its second, which then evaluates no tile again (default 64 MiB;
	// negative: keep none). Past it the second pass evaluates the tiles again, so a large
	// region costs time, not memory.
	StatsKeepBytes int64
	// JPEGQuality is the quality of JPEG tiles (default 90).
	JPEGQuality int
	// TileSize is the tiles' width and height in pixels: the server's RASTER_TILESIZE, which
	// its uploads are cut with (default tile.DefaultSize, 256). TileJSON announces it, exports
	// lay their tiles out at it and the answers for tiles with no data have it.
	TileSize int
	// Logger receives internal errors (default slog.Default()).
	Logger *slog.Logger
	// OnCache, when set, is called on every cache lookup with the cache's name ("tile",
	// "response", "layer", "legend") and whether it hit; the server counts them as metrics.
	OnCache func(cache string, hit bool)
}

// Defaults of Config.
const (
	DefaultTileCacheBytes     = 256 << 20
	DefaultResponseCacheBytes = 128 << 20
	DefaultLayerTTL           = time.Second
	DefaultCacheControl       = "public, max-age=60"
	DefaultExportMaxPixels    = 10000 * 10000
	DefaultStatsMaxTiles      = 4096
	DefaultStatsKeepBytes     = 64 << 20
	DefaultJPEGQuality        = 90
)

func (c Config) withDefaults() Config {
	if c.TileCacheBytes == 0 {
		c.TileCacheBytes = DefaultTileCacheBytes
	}
	if c.ResponseCacheBytes == 0 {
		c.ResponseCacheBytes = DefaultResponseCacheBytes
	}
	if c.LayerTTL == 0 {
		c.LayerTTL = DefaultLayerTTL
	}
	if c.CacheControl == "" {
		c.CacheControl = DefaultCacheControl
	}
	if c.ExportMaxPixels == 0 {
		c.ExportMaxPixels = DefaultExportMaxPixels
	}
	if c.StatsMaxTiles == 0 {
		c.StatsMaxTiles = DefaultStatsMaxTiles
	}
	if c.StatsKeepBytes == 0 {
		c.StatsKeepBytes = DefaultStatsKeepBytes
	}
	if c.JPEGQuality == 0 {
		c.JPEGQuality = DefaultJPEGQuality
	}
	if c.TileSize <= 0 {
		c.TileSize = tile.DefaultSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Service answers tile requests. It is safe for concurrent use.
type Service struct {
	store     Store
	cfg       Config
	tiles     *lru[tileKey, *fetched]
	responses *lru[string, *Response]
	programs  *lru[string, *formula.Program]
	flight    singleflight.Group
	// heavy bounds the exports and statistics computed at once: each may hold a large
	// raster or read thousands of tiles.
	heavy chan struct{}
	// gzips holds gzip writers (BestSpeed) for .msgpack answers: each new writer allocates
	// hundreds of kilobytes of compressor state. They are klauspost/compress's: on the demo's
	// tiles (uint16 scene, float32 terrain, byte land cover) twice as fast as compress/gzip's
	// BestSpeed for the same size within 2 % (docs/benchmarks.md, session 5).
	gzips sync.Pool
	// layers and styles keep resolved layer references and legends' colormaps for LayerTTL.
	layers *ttlMap[string, catalog.Layer]
	styles *ttlMap[string, resolvedStyle]
	// blanks holds the answers for tiles with no data, made once for each size asked for
	// (RASTER_TILESIZE times a scale): int → *emptyImages.
	blanks sync.Map
	// sessionCC is the Cache-Control of answers coloured by a session colormap
	// (sessionCacheControlFor cfg.CacheControl).
	sessionCC string
}

// New returns a service reading from store.
func New(store Store, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		store: store,
		cfg:   cfg,
		tiles: newLRU[tileKey](cfg.TileCacheBytes, func(f *fetched) int64 { return f.size() }),
		responses: newLRU[string](cfg.ResponseCacheBytes, func(r *Response) int64 {
			return int64(len(r.Body)) + 512
		}),
		programs:  newLRU[string](1<<20, func(p *formula.Program) int64 { return 4096 }),
		heavy:     make(chan struct{}, 2),
		sessionCC: sessionCacheControlFor(cfg.CacheControl),
	}
	s.layers = newTTLMap[string, catalog.Layer](cfg.LayerTTL, "layer", s.hit)
	s.styles = newTTLMap[string, resolvedStyle](cfg.LayerTTL, "legend", s.hit)
	return s
}

// Response is a service's answer: what the HTTP layer writes, as it is.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Client carries what a request's answer depends on besides its parameters.
type Client struct {
	// IfNoneMatch is the If-None-Match header: a matching ETag gives 304.
	IfNoneMatch string
	// AcceptGzip reports that the client accepts Content-Encoding gzip.
	AcceptGzip bool
	// Session is the client's session id (from its cookie), for store=session colormaps.
	Session string
	// BaseURL is the server's public URL up to and including the prefix
	// ("http://host:8080/raster/"), for the URLs TileJSON lists.
	BaseURL string
}

// ErrInvalid is matched (errors.Is) by every error for a bad request parameter; such
// errors are *ParamError.
var ErrInvalid = errors.New("tiles: invalid request")

// ErrTooLarge is returned for an export past ExportMaxPixels; its text is django-raster's.
var ErrTooLarge = errors.New("Export raster too large.") //nolint:staticcheck // django-raster's message, kept verbatim

// ParamError is a bad request parameter: its message names the parameter and what is
// allowed, and is shown to the client as it is.
type ParamError struct {
	Param string
	Msg   string
}

// Error returns "param: message", or the message alone when no parameter is named.
func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ParamError) Is(target error) bool { return target == ErrInvalid }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// statusTable maps error conditions to HTTP statuses, first match wins. Everything else is
// a 500 whose body says only "internal error". Why it differs from django-raster: there, many
// bad inputs (an ambiguous layer name, an unknown legend title, a bad colour, single-quoted
// colormap JSON) ended in 500; here every one is a 400 or 404 that names the problem.
var statusTable = []struct {
	err    error
	status int
}{
	{ErrInvalid, http.StatusBadRequest},
	{ErrTooLarge, http.StatusBadRequest},
	{catalog.ErrAmbiguous, http.StatusBadRequest},
	{catalog.ErrNotFound, http.StatusNotFound},
	{catalog.ErrUnstorable, http.StatusBadRequest},
	{formula.ErrMissingVar, http.StatusBadRequest},
	{colormap.ErrInvalid, http.StatusBadRequest},
	{colormap.ErrInvalidColor, http.StatusBadRequest},
	{colormap.ErrInvalidLegend, http.StatusBadRequest},
	{colormap.ErrUnknownName, http.StatusBadRequest},
	{render.ErrInvalid, http.StatusBadRequest},
	{render.ErrNoMode, http.StatusBadRequest},
	{tile.ErrOutOfRange, http.StatusBadRequest},
	{context.DeadlineExceeded, http.StatusServiceUnavailable},
	{context.Canceled, http.StatusServiceUnavailable},
}

// Status returns the HTTP status for err: the first condition of the table it matches,
// 400 for formula errors, else 500.
func Status(err error) int {
	var fe *formula.Error
	if errors.As(err, &fe) {
		return http.StatusBadRequest
	}
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			return row.status
		}
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Error string `json:"error"`
	// Pos is the formula error's byte span [start, end), when the error is a formula's.
	Pos *[2]int `json:"pos,omitempty"`
	// Snippet shows the formula with carets under the span.
	Snippet string `json:"snippet,omitempty"`
}

// ErrorResponse turns err into an answer: its status from Status and a JSON body. 4xx bodies
// carry the error's message; 5xx bodies only "internal error" (the error itself is logged by
// the caller).
func ErrorResponse(err error) *Response {
	status := Status(err)
	body := ErrorBody{Error: "internal error"}
	switch {
	case status == http.StatusServiceUnavailable:
		body.Error = "request cancelled or timed out"
	case status < 500:
		body.Error = clientMessage(err)
		// A request formula's error: its message, span and snippet. (Formula errors from
		// elsewhere, e.g. a legend's expressions, keep their full message: their span is
		// not in the request's formula.)
		var fe *formula.Error
		var src *formulaSource
		if errors.As(err, &src) && errors.As(err, &fe) {
			body.Error = fe.Msg
			if errors.Is(fe, formula.ErrSpaceBetweenOperands) {
				body.Error += plusHint
			}
			body.Pos = &[2]int{fe.Start, fe.End}
			body.Snippet = fe.Snippet(src.src)
		}
	}
	r := jsonResponse(status, body)
	// An error is no answer to keep: a shared cache would otherwise hold a 404 by default
	// (RFC 9111 §4.2.2) past the layer's creation, or a 503 past the overload.
	r.Header.Set("Cache-Control", "no-store")
	return r
}

// clientMessage is the text a client sees for a 4xx error: the error's message without the
// Go package prefix of storage errors ("pgstore: ").
func clientMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"pgstore: ", "tiles: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// plusHint follows a formula error that a "+" sent unescaped would explain: a URL's query
// decodes "+" to a space (application/x-www-form-urlencoded), so formula=a+b reaches the
// server as "a b", whose error ("missing operator before \"b\"") names no plus at all. The
// parser marks those errors (formula.ErrSpaceBetweenOperands: two operands with only
// spaces between them where an operator was expected).
const plusHint = ` (in a URL's query a "+" is a space: write it %2B)`

// formulaSource wraps a formula error with the source it is about, for the snippet.
type formulaSource struct {
	src string
	err error
}

func (e *formulaSource) Error() string { return e.err.Error() }
func (e *formulaSource) Unwrap() error { return e.err }

func jsonResponse(status int, v any) *Response {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"error":"internal error"}`)
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &Response{Status: status, Header: h, Body: body}
}

// fail logs an internal error and returns its answer; bad-input errors are not logged.
func (s *Service) fail(ctx context.Context, what string, err error) *Response {
	r := ErrorResponse(err)
	if r.Status >= 500 {
		s.cfg.Logger.ErrorContext(ctx, "tiles: "+what, "err", err)
	}
	return r
}

func (s *Service) hit(cache string, ok bool) {
	if s.cfg.OnCache != nil {
		s.cfg.OnCache(cache, ok)
	}
}

// CacheStats reports the entries and bytes of the decoded-tile and response caches.
func (s *Service) CacheStats() (tiles, tileBytes, responses, responseBytes int64) {
	n, b := s.tiles.stats()
	m, c := s.responses.stats()
	return int64(n), b, int64(m), c
}

// NotFound returns an error with the given message that matches catalog.ErrNotFound, so it
// answers 404 with exactly that message.
func NotFound(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == catalog.ErrNotFound }

// acquire takes one of the slots for heavy requests, or fails when ctx ends first.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.heavy <- struct{}{}:
		return func() { <-s.heavy }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
