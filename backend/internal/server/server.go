// Package server is Tessera's HTTP server: thin echo handlers over the tile service
// (backend/internal/tiles) and the catalog writes (layers, legends, session colormaps),
// with the middleware every route shares — structured request logs (log/slog), CORS,
// bearer-token auth for writes, Prometheus metrics — plus /healthz and /metrics.
//
// Handlers only translate: they read the path and query into the service's typed request
// (its Parse functions), call the service and write its Response as it is. Every error
// answer, including the router's own 404 and 405, is JSON {"error": "…"}.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/shared/colormap"
)

// Store is what the server's handlers read and write besides the tile service's reads.
// pgstore.Store implements it.
type Store interface {
	tiles.Store
	CreateLayer(ctx context.Context, l *catalog.Layer) error
	DeleteLayer(ctx context.Context, id int64) error
	Legends(ctx context.Context) ([]colormap.Legend, error)
	CreateLegend(ctx context.Context, l *colormap.Legend) error
	UpdateLegend(ctx context.Context, l *colormap.Legend) error
	DeleteLegend(ctx context.Context, id int64) error
	SetSessionColormap(ctx context.Context, session, key string, cm json.RawMessage) error
	// APIKeyScope is the scope ("read" or "write") of the API key whose token this is, ""
	// for none.
	APIKeyScope(ctx context.Context, token string) (string, error)
}

// ParseFunc parses a layer's raster into tiles (ingest.Parser.Parse, wired in main); the
// server runs it in the background after an upload or a URL registration.
type ParseFunc func(ctx context.Context, layerID int64) error

// Config is the server's part of `tessera serve`'s configuration.
type Config struct {
	// Prefix is the path every raster route lives under ("/raster/").
	Prefix string
	// AdminToken is the bearer token that allows writes ("" : only database API keys).
	AdminToken string
	// PrivateReads makes reads need a token too (default: reads are public).
	PrivateReads bool
	// CORSOrigins are the origins allowed to call the API from a browser ("*" for any;
	// empty: no CORS headers).
	CORSOrigins []string
	// UploadDir is where uploaded rasters are streamed to; MaxUpload bounds one upload.
	UploadDir string
	// WorkDir is the parses' RASTER_WORKDIR, whose kept reprojections (store_reprojected)
	// a layer's delete removes with it ("" : they stay).
	WorkDir   string
	MaxUpload int64
	// BenchRoutes adds bench/floor/…: the HTTP floor of the load benchmark, answering the
	// same bytes as an algebra tile from memory.
	BenchRoutes bool
	// EventsMaxDuration bounds one Server-Sent Events stream (default 1 hour);
	// EventsPoll is how often it polls the parse status (default 500ms).
	EventsMaxDuration time.Duration
	EventsPoll        time.Duration
	// MaxZoom is the deepest max_zoom a new layer may ask for: the parse's limit
	// (TESSERA_MAX_INGEST_ZOOM; nil means its default, 19 — 0 is a limit, zoom 0 only).
	// Past it the upload is a 400, not a layer whose parse then fails.
	MaxZoom *int
	// TrustedProxies are the direct peers whose X-Forwarded-Proto and X-Forwarded-Host are
	// believed, for the scheme and host of TileJSON's absolute URLs
	// (TESSERA_TRUSTED_PROXIES, ParseTrustedProxies). nil means DefaultTrustedProxies, the
	// loopback addresses; an empty, non-nil list trusts no peer.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
}

// Server is the HTTP server.
type Server struct {
	cfg     Config
	store   Store
	svc     *tiles.Service
	parse   ParseFunc
	metrics *Metrics
	echo    *echo.Echo
	log     *slog.Logger
	proxies *proxies

	// parses tracks background parses, so Wait can let them finish or see them cancelled.
	parses      sync.WaitGroup
	parseCtx    context.Context
	cancelParse context.CancelFunc

	floorMu sync.Mutex
	floor   map[string]*tiles.Response

	// configBody is GET {prefix}config's JSON (clientConfig), made in New: the configuration
	// does not change while the server runs.
	configBody []byte
}

// New builds the server and its routes. parse may be nil (uploads then answer 503).
func New(store Store, svc *tiles.Service, parse ParseFunc, metrics *Metrics, cfg Config) *Server {
	if cfg.Prefix == "" {
		cfg.Prefix = "/raster/"
	}
	if cfg.MaxZoom == nil {
		z := ingest.DefaultConfig().MaxZoom // the parse's own default
		cfg.MaxZoom = &z
	}
	if cfg.EventsMaxDuration <= 0 {
		cfg.EventsMaxDuration = time.Hour
	}
	if cfg.EventsPoll <= 0 {
		cfg.EventsPoll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if metrics == nil {
		metrics = NewMetrics()
	}
	s := &Server{cfg: cfg, store: store, svc: svc, parse: parse, metrics: metrics, log: cfg.Logger,
		proxies: newProxies(cfg.TrustedProxies), floor: map[string]*tiles.Response{}}
	s.parseCtx, s.cancelParse = context.WithCancel(context.Background())
	s.configBody, _ = json.Marshal(s.clientConfig()) // plain fields: it cannot fail
	s.echo = s.routes()
	return s
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Close cancels running background parses and waits for them to stop.
func (s *Server) Close() {
	s.cancelParse()
	s.parses.Wait()
}

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// c.Scheme() believes X-Forwarded-Proto, and c.RealIP() X-Forwarded-For, under the rule
	// publicHost applies to X-Forwarded-Host (echo's own defaults trust every private peer,
	// and any client's X-Forwarded-For).
	e.SchemeExtractor = s.proxies.schemeExtractor()
	e.IPExtractor = s.proxies.ipExtractor()
	e.Pre(decodedPath)
	// The observer outside the recoverer: a panic is then a 500 it logs and counts.
	e.Use(s.observe, s.recoverer)
	if len(s.cfg.CORSOrigins) > 0 {
		origins := s.cfg.CORSOrigins
		anyOrigin := slices.Contains(origins, "*")
		if anyOrigin {
			// "*" with other origins is "*": echo would name a listed origin to it and "*"
			// to the rest, while corsAnyOrigin takes Vary: Origin back, so a cache could
			// hand one site's answer, naming it, to another site's fetch().
			origins = []string{"*"}
		}
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  origins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
			AllowHeaders:  []string{"Authorization", "Content-Type", "If-None-Match"},
			ExposeHeaders: exposeHeaders,
			// Credentials, the session cookie of store=session colormaps, for listed origins
			// only: a page on another origin (django-raster's front end, its host changed)
			// saves its colormap with fetch(…, {credentials: "include"}) and sends the cookie
			// with its tiles, which a browser allows only when the answer names the origin
			// and says Access-Control-Allow-Credentials. With "*" browsers refuse
			// credentials whatever the server says.
			AllowCredentials: !anyOrigin,
			MaxAge:           3600,
		}))
		if anyOrigin {
			e.Use(corsAnyOrigin(strings.Join(exposeHeaders, ",")))
		}
	}
	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))

	// Auth is per route, not per group: an echo group's middleware would also run for
	// unknown paths under the prefix, turning their 404 into a 401.
	p := strings.TrimSuffix(s.cfg.Prefix, "/")
	read := func(path string, h echo.HandlerFunc) {
		e.GET(p+path, h, s.readAuth)
		e.HEAD(p+path, h, s.readAuth)
	}
	read("/tiles/:layer/:z/:x/:file", s.tile)
	read("/tiles/:file", s.layerTileJSON)
	read("/tiles/:layer/:file", s.layerWMTS)
	read("/algebra/:z/:x/:file", s.algebra)
	read("/algebra.json", s.algebraTileJSON)
	read("/algebra/:file", s.algebraWMTS)
	read("/pixel/:x/:y", s.pixel)
	read("/pixel/:x/:y/", s.pixel)
	read("/legend/:id", s.legend)
	read("/legend/:id/", s.legend)
	read("/legend", s.legendQuery)
	read("/legend/", s.legendQuery)
	read("/legends", s.legends)
	read("/colormaps", s.colormaps)
	// Public whatever PrivateReads: it says whether reads need a token (config.go).
	e.GET(p+"/config", s.config)
	e.HEAD(p+"/config", s.config)
	read("/export", s.export)
	read("/export/", s.export)
	read("/stats", s.stats)
	read("/layers", s.layers)
	read("/layers/:id", s.layer)
	read("/layers/:id/status", s.status)
	e.GET(p+"/layers/:id/events", s.events, s.streamAuth) // a stream: no HEAD
	e.POST(p+"/session/colormap", s.setSessionColormap, s.readAuth)
	e.POST(p+"/layers", s.createLayer, s.requireAuth)
	e.POST(p+"/layers/:id/parse", s.reparse, s.requireAuth)
	e.DELETE(p+"/layers/:id", s.deleteLayer, s.requireAuth)
	e.POST(p+"/legend", s.createLegend, s.requireAuth)
	e.PUT(p+"/legend/:id", s.updateLegend, s.requireAuth)
	e.DELETE(p+"/legend/:id", s.deleteLegend, s.requireAuth)
	if s.cfg.BenchRoutes {
		read("/bench/floor/:z/:x/:file", s.benchFloor)
	}
	s.webRoutes(e)
	return e
}

// decodedPath has echo route on the request's decoded path, so that path parameters (a
// layer's name in tiles/{layer}/…, layers/{ref}) arrive unescaped. echo routes on URL.RawPath
// when Go keeps one, which it does when the path escapes a character that need not be
// (encodeURIComponent's %2B for "+", %26 for "&"), and then hands the parameters over still
// escaped: tiles/S2%20B4%2BB8.json looked for a layer named "S2%20B4%2BB8" while
// tiles/S2%20B4+B8.json found "S2 B4+B8". A path with an escaped "/" keeps its raw form:
// decoded, it would have other segments (and no layer name holds a "/").
func decodedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := c.Request().URL; u.RawPath != "" && !strings.Contains(strings.ToLower(u.RawPath), "%2f") {
			u.RawPath = ""
		}
		return next(c)
	}
}

// errorJSON writes {"error": msg} with status, and Cache-Control: no-store.
func errorJSON(c echo.Context, status int, msg string) error {
	c.Response().Header().Set("Cache-Control", "no-store") // as tiles.ErrorResponse
	return c.JSON(status, tiles.ErrorBody{Error: msg})
}

// errorHandler answers errors that reach echo (unknown routes, methods, panics) as JSON.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	status, msg := http.StatusInternalServerError, "internal error"
	if errors.As(err, &he) {
		status = he.Code
		if status < 500 {
			msg = fmt.Sprint(he.Message)
			if status == http.StatusNotFound {
				msg = "no such endpoint: " + c.Request().URL.Path
			}
		}
	}
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "server: request failed", "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Cache-Control", "no-store") // as errorJSON
		_ = c.NoContent(status)
		return
	}
	_ = errorJSON(c, status, msg)
}

// recoverer turns a panic into a logged 500: a bug must not take the server down.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// observe logs each request and records its latency per route.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.Latency.WithLabelValues(route, methodLabel(c.Request().Method), strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request().Context(), level, "request", "method", c.Request().Method, "path", c.Request().URL.Path,
			"route", route, "status", status, "bytes", c.Response().Size, "duration", d)
		return nil
	}
}

// methodLabel is the method label of a request's metrics: the method when it is one of
// RFC 9110's (or PATCH), else "other". net/http accepts any token as a method, and each
// label value is a series kept for the process's life: a client sending made-up methods
// grew /metrics without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// token returns the request's bearer token.
func token(c echo.Context) string {
	h := c.Request().Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// scope returns what the request's bearer token allows: "write" for TESSERA_ADMIN_TOKEN and
// write keys, "read" for read keys, "" without a valid token.
func (s *Server) scope(c echo.Context) (string, error) {
	t := token(c)
	if t == "" {
		return "", nil
	}
	// The SHA-256 digests are compared, not the tokens: ConstantTimeCompare returns at once
	// for slices of different lengths, so a client timing it could learn the admin token's.
	if s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(digest(t), digest(s.cfg.AdminToken)) == 1 {
		return catalog.ScopeWrite, nil
	}
	if len(t) > 256 {
		return "", nil
	}
	return s.store.APIKeyScope(c.Request().Context(), t)
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// requireAuth lets a request through with a token for writes: TESSERA_ADMIN_TOKEN or a write
// key. A read key gets a 403 saying so.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return s.auth(next, true)
}

// auth lets a request through with a valid token, a write token when write is set.
func (s *Server) auth(next echo.HandlerFunc, write bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		scope, err := s.scope(c)
		if err != nil {
			return err
		}
		switch {
		case scope == catalog.ScopeWrite, scope == catalog.ScopeRead && !write:
			return next(c)
		case scope == catalog.ScopeRead:
			// RFC 6750 §3: a token that does not enable the request gets the challenge too,
			// with the error code of a token whose scope is too small.
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="tessera", error="insufficient_scope"`)
			return errorJSON(c, http.StatusForbidden, "this API key only reads: writes need TESSERA_ADMIN_TOKEN or a write key (tessera key create NAME)")
		}
		if token(c) != "" {
			// A token was sent but is wrong: say so, rather than ask for one (RFC 6750 §3.1's
			// invalid_token; a request without one gets no error code).
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="tessera", error="invalid_token"`)
			return errorJSON(c, http.StatusUnauthorized, "the bearer token is not valid: send TESSERA_ADMIN_TOKEN or an API key as Authorization: Bearer TOKEN")
		}
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="tessera"`)
		return errorJSON(c, http.StatusUnauthorized, "this request needs a bearer token: Authorization: Bearer TOKEN (TESSERA_ADMIN_TOKEN or an API key)")
	}
}

func (s *Server) readAuth(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.PrivateReads {
		return s.auth(next, false)
	}
	return next
}

// streamAuth is readAuth for the Server-Sent Events stream. A browser's EventSource cannot
// send an Authorization header, so with PrivateReads the stream also takes the token as the
// access_token query parameter. Only there: elsewhere a token in a URL would end up in
// caches, proxies' logs and Referer headers, and every other read can send the header.
func (s *Server) streamAuth(next echo.HandlerFunc) echo.HandlerFunc {
	if !s.cfg.PrivateReads {
		return next
	}
	auth := s.auth(next, false)
	return func(c echo.Context) error {
		r := c.Request()
		if t := c.QueryParam("access_token"); t != "" && r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+t)
		}
		return auth(c)
	}
}

func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.Layers(ctx); err != nil {
		s.log.ErrorContext(ctx, "server: health check", "err", err)
		return errorJSON(c, http.StatusServiceUnavailable, "database unavailable")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// sessionCookie is the cookie that names a client's session (for store=session colormaps).
const sessionCookie = "tessera_session"

// client collects what an answer depends on besides the parameters, BaseURL aside
// (tileJSONClient).
func (s *Server) client(c echo.Context) tiles.Client {
	r := c.Request()
	cl := tiles.Client{
		IfNoneMatch: r.Header.Get("If-None-Match"),
		AcceptGzip:  acceptsGzip(r.Header.Get("Accept-Encoding")),
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && validSession(ck.Value) {
		cl.Session = ck.Value
	}
	return cl
}

// tileJSONClient is client with BaseURL, which only the tile documents (TileJSON, WMTS
// capabilities) read: the forwarding headers are read for them (and an untrusted peer's
// logged) there, not on every tile request.
func (s *Server) tileJSONClient(c echo.Context) tiles.Client {
	cl := s.client(c)
	cl.BaseURL = s.baseURL(c)
	return cl
}

// baseURL is the server's public URL up to and including the prefix, for TileJSON's
// absolute tile URLs: the scheme and host of a trusted proxy's forwarding headers, else the
// request's own.
func (s *Server) baseURL(c echo.Context) string {
	r := c.Request()
	host := r.Host
	if s.proxies.trusts(r.RemoteAddr) {
		host = publicHost(r)
	} else {
		s.proxies.ignored(r, func(msg string, args ...any) { s.log.WarnContext(r.Context(), msg, args...) })
	}
	// echo's Scheme says ws or wss when a proxy's header does; the tiles are fetched over
	// HTTP.
	scheme := c.Scheme()
	switch scheme {
	case "ws":
		scheme = "http"
	case "wss":
		scheme = "https"
	}
	return scheme + "://" + host + s.cfg.Prefix
}

// publicHost is the host a client asked for, for the absolute URLs TileJSON lists, when
// the request comes from a trusted proxy (proxies.trusts, the rule c.Scheme() applies to
// X-Forwarded-Proto): the X-Forwarded-Host a reverse proxy sets when it passes its own
// address as Host (nginx's default), its last value, the one the nearest proxy set; else,
// or when that value is not a host[:port], the request's Host.
func publicHost(r *http.Request) string {
	xfh := r.Header.Values("X-Forwarded-Host")
	if len(xfh) == 0 {
		return r.Host
	}
	last := xfh[len(xfh)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	last = strings.TrimSpace(last)
	if !validHost(last) {
		return r.Host
	}
	return last
}

// validHost reports whether h is a host name or IP literal with an optional port: letters,
// digits, '.', '-', '_', ':' and brackets, at most 255 bytes; nothing that would change a
// URL's path, query or user part.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// acceptsGzip reports whether an Accept-Encoding value accepts gzip (or x-gzip, its
// equivalent) with a weight above 0 (RFC 9110 §12.5.3; the weight's name is
// case-insensitive and q=0.0 or q=0.000 refuse it as q=0 does). An unreadable weight
// refuses too: the identity answer is good for every client.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && !strings.EqualFold(name, "x-gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

// write sends a service answer as it is.
func write(c echo.Context, r *tiles.Response) error {
	// Copy, never share, the answer's header slices (cached answers are shared between
	// requests), and add to Vary rather than replace what middleware (CORS) put there.
	h := c.Response().Header()
	for k, v := range r.Header {
		if k == "Vary" {
			for _, x := range v {
				h.Add(k, x)
			}
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	if r.Status == http.StatusNoContent || r.Status == http.StatusNotModified {
		return c.NoContent(r.Status)
	}
	// The length is known: say it, so the answer goes out in one piece rather than chunked
	// and clients can show download progress; a HEAD answer gives the GET answer's length.
	h.Set("Content-Length", strconv.Itoa(len(r.Body)))
	if c.Request().Method == http.MethodHead {
		return c.NoContent(r.Status)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return c.Blob(r.Status, ct, r.Body)
}

// splitFile splits "5.png" into "5" and "png".
func splitFile(f string) (string, string) {
	i := strings.LastIndexByte(f, '.')
	if i < 0 {
		return f, ""
	}
	return f[:i], f[i+1:]
}

func (s *Server) tile(c echo.Context) error {
	y, ext := splitFile(c.Param("file"))
	req, err := tiles.ParseTile(c.Param("layer"), c.Param("z"), c.Param("x"), y, ext, c.QueryParams())
	if err != nil {
		return write(c, tiles.ErrorResponse(err))
	}
	return write(c, s.svc.Tile(c.Request().Context(), req, s.client(c)))
}

// tileJSONVary marks a TileJSON (or WMTS capabilities) answer as depending on the
// forwarding headers its URLs take the host and scheme from: a trusted proxy may pass a
// client's on, or several proxies with their own names may front the server, and a shared
// cache that keeps an answer without Cache-Control (Varnish's default TTL) would otherwise
// hand one client's host to every map. The scheme comes from X-Forwarded-Proto or, without
// it, from the other headers echo's Scheme reads (X-Forwarded-Protocol, X-Forwarded-Ssl,
// X-Url-Scheme), which a proxy that sets no X-Forwarded-Proto passes on from any client:
// each of them can change the answer, so each is named.
func tileJSONVary(c echo.Context) {
	h := c.Response().Header()
	for _, name := range forwardingHeaders {
		h.Add(echo.HeaderVary, name)
	}
}

func (s *Server) layerTileJSON(c echo.Context) error {
	tileJSONVary(c)
	name, ext := splitFile(c.Param("file"))
	if ext != "json" {
		return write(c, tiles.ErrorResponse(tiles.NotFound("no such endpoint %s: a layer's TileJSON is tiles/LAYER.json", c.Request().URL.Path)))
	}
	return write(c, s.svc.LayerTileJSON(c.Request().Context(), name, c.QueryParams(), s.tileJSONClient(c)))
}

func (s *Server) algebra(c echo.Context) error {
	y, ext := splitFile(c.Param("file"))
	req, err := tiles.ParseAlgebra(c.Param("z"), c.Param("x"), y, ext, c.QueryParams())
	if err != nil {
		return write(c, tiles.ErrorResponse(err))
	}
	return write(c, s.svc.Algebra(c.Request().Context(), req, s.client(c)))
}

func (s *Server) algebraTileJSON(c echo.Context) error {
	tileJSONVary(c)
	return write(c, s.svc.AlgebraTileJSON(c.Request().Context(), c.QueryParams(), s.tileJSONClient(c)))
}

// layerWMTS answers tiles/{layer}/WMTSCapabilities.xml; any other file there is an unknown
// route's 404.
func (s *Server) layerWMTS(c echo.Context) error {
	if c.Param("file") != tiles.WMTSFile {
		return wmtsNotFound(c)
	}
	tileJSONVary(c)
	return write(c, s.svc.LayerWMTS(c.Request().Context(), c.Param("layer"), c.QueryParams(), s.tileJSONClient(c)))
}

// algebraWMTS answers algebra/WMTSCapabilities.xml; any other file there is an unknown
// route's 404.
func (s *Server) algebraWMTS(c echo.Context) error {
	if c.Param("file") != tiles.WMTSFile {
		return wmtsNotFound(c)
	}
	tileJSONVary(c)
	return write(c, s.svc.AlgebraWMTS(c.Request().Context(), c.QueryParams(), s.tileJSONClient(c)))
}

// wmtsNotFound is the 404 of a file under tiles/{layer}/ or algebra/ other than the WMTS
// capabilities: an unknown route's, or, for the capabilities' name in another case
// (wmtscapabilities.xml), one that gives the name as it is.
func wmtsNotFound(c echo.Context) error {
	if strings.EqualFold(c.Param("file"), tiles.WMTSFile) {
		return write(c, tiles.ErrorResponse(tiles.NotFound("no such endpoint %s: the capabilities document is %s (the case matters)", c.Request().URL.Path, tiles.WMTSFile)))
	}
	return echo.ErrNotFound
}

func (s *Server) pixel(c echo.Context) error {
	req, err := tiles.ParsePixel(c.Param("x"), c.Param("y"), c.QueryParams())
	if err != nil {
		return write(c, tiles.ErrorResponse(err))
	}
	return write(c, s.svc.Pixel(c.Request().Context(), req, s.client(c)))
}

func (s *Server) legend(c echo.Context) error {
	return write(c, s.svc.Legend(c.Request().Context(), c.Param("id")))
}

func (s *Server) legendQuery(c echo.Context) error {
	return write(c, s.svc.LayerLegend(c.Request().Context(), c.QueryParam("layer")))
}

// colormaps answers the named colormaps, {"colormaps": ["viridis", …]}, from the registry
// of package colormap (each also exists reversed with the suffix "_r"), so the web map's list
// cannot drift from what the server and the WebAssembly core accept. django-raster has no
// named colormaps; Tessera adds them and this route.
func (s *Server) colormaps(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]string{"colormaps": colormap.List()})
}

func (s *Server) layers(c echo.Context) error {
	return write(c, s.svc.Layers(c.Request().Context()))
}

func (s *Server) layer(c echo.Context) error {
	return write(c, s.svc.Layer(c.Request().Context(), c.Param("id")))
}

// benchFloor is the load benchmark's HTTP floor: the first request of a URL computes the
// algebra answer, later ones get the same bytes from a map — no layer lookup, no cache, no
// ETag — so it measures what HTTP alone costs on this server.
func (s *Server) benchFloor(c echo.Context) error {
	key := c.Request().URL.RequestURI()
	s.floorMu.Lock()
	r, ok := s.floor[key]
	s.floorMu.Unlock()
	if !ok {
		y, ext := splitFile(c.Param("file"))
		req, err := tiles.ParseAlgebra(c.Param("z"), c.Param("x"), y, ext, c.QueryParams())
		if err != nil {
			return write(c, tiles.ErrorResponse(err))
		}
		r = s.svc.Algebra(c.Request().Context(), req, tiles.Client{AcceptGzip: acceptsGzip(c.Request().Header.Get("Accept-Encoding"))})
		s.floorMu.Lock()
		if len(s.floor) < 64 {
			s.floor[key] = r
		}
		s.floorMu.Unlock()
	}
	return write(c, r)
}

// corsAnyOrigin, for origins "*", makes every answer the same whatever the Origin header:
// echo's CORS middleware names "*" and the exposed headers only to requests with an Origin
// and so adds Vary: Origin to every answer, which keeps a cache from handing an answer
// fetched without Origin (an <img> tag) to a fetch() that needs the CORS headers, but splits a
// CDN's or a browser's cache per embedding site. Here the answers to requests without Origin
// carry the same headers, and Vary: Origin is taken back. It runs inside the CORS middleware,
// before the handler adds its own Vary values (Accept-Encoding).
func corsAnyOrigin(expose string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			if c.Request().Header.Get(echo.HeaderOrigin) == "" {
				h.Set(echo.HeaderAccessControlAllowOrigin, "*")
				h.Set(echo.HeaderAccessControlExposeHeaders, expose)
			}
			if vs := h.Values(echo.HeaderVary); len(vs) > 0 {
				kept := make([]string, 0, len(vs))
				for _, v := range vs {
					if !strings.EqualFold(v, echo.HeaderOrigin) {
						kept = append(kept, v)
					}
				}
				if len(kept) == 0 {
					h.Del(echo.HeaderVary)
				} else {
					h[echo.HeaderVary] = kept
				}
			}
			return next(c)
		}
	}
}

// exposeHeaders are the answer headers a page on another origin may read.
var exposeHeaders = []string{"ETag", "aggregation", "Content-Disposition"}
