package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/redact"
	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
)

// The wiring asserts that the PostGIS store is what the server and the tile service read.
var (
	_ tiles.Store  = (*pgstore.Store)(nil)
	_ server.Store = (*pgstore.Store)(nil)
)

const serveUsage = `usage: tessera serve [--addr 127.0.0.1:8080] [--prefix /raster/] [--bench-routes]

Serves the tiles of the database of DATABASE_URL over HTTP (migrating it first).

Settings (flags win over the environment):
  --addr, TESSERA_ADDR                 listen address (127.0.0.1:8080)
  --prefix, TESSERA_PREFIX             path prefix of the raster routes (/raster/)
  --bench-routes                       add the load benchmark's HTTP-floor route
  DATABASE_URL                         PostgreSQL/PostGIS DSN
  TESSERA_ADMIN_TOKEN                  bearer token for writes (API keys in the database work too)
  TESSERA_PRIVATE_READS=1              reads need a token too
  TESSERA_CORS_ORIGINS                 comma-separated allowed origins, * for any, - for none (*)
  TESSERA_TRUSTED_PROXIES              comma-separated IP addresses and CIDR prefixes of the reverse
                                       proxies whose X-Forwarded-Proto and X-Forwarded-Host are
                                       believed (TileJSON's URLs), - for none (127.0.0.0/8,::1)
  TESSERA_TILE_CACHE_BYTES             decoded-tile cache size (268435456; 0 turns it off)
  TESSERA_RESPONSE_CACHE_BYTES         encoded-answer cache size (134217728; 0 turns it off)
  TESSERA_CACHE_CONTROL                Cache-Control of tile answers (public, max-age=60)
  TESSERA_MAX_UPLOAD                   largest upload in bytes (2147483648)
  TESSERA_LOG_LEVEL                    debug, info, warn or error (info)
  RASTER_EXPORT_MAX_PIXELS             largest export, width×height (100000000)
  REDIS_URL, TESSERA_QUEUE             set: the parses of uploads go to that Redis queue (tessera)
                                       for ` + "`tessera worker`" + ` processes; unset: they run in this process
  RASTER_WORKDIR and the other ingest settings: serve runs the parses of uploads, URL layers and
                                       reparses (with REDIS_URL too: workers only cut tiles), and
                                       RASTER_TILESIZE is its TileJSON's tileSize and exports' tiles;
                                       a bad one stops serve as a bad serve setting does
  GOGC, GOMEMLIMIT                     Go's garbage collector; unset, serve uses GC percent 400 and
                                       a soft memory limit of the two caches' sizes plus 2 GiB
                                       (at most 9/10 of a container's memory)`

// serveConfig is tessera serve's whole configuration, validated.
type serveConfig struct {
	Addr          string
	Prefix        string
	BenchRoutes   bool
	DatabaseURL   string
	AdminToken    string
	PrivateReads  bool
	CORSOrigins   []string
	TileCache     int64
	ResponseCache int64
	CacheControl  string
	MaxUpload     int64
	ExportMax     int64
	LogLevel      slog.Level
	// TrustedProxies are the peers believed in X-Forwarded-Proto and X-Forwarded-Host
	// (TESSERA_TRUSTED_PROXIES; nil: the server's default, loopback; empty: none).
	TrustedProxies []netip.Prefix
	// RedisURL, when set, sends the parses of uploads to the asynq queue Queue (as `tessera
	// ingest` does with REDIS_URL); empty, they run in this process. (Serve ignored
	// REDIS_URL, which the README says moves parses to workers.)
	RedisURL string
	Queue    string
	Ingest   ingest.Config
	// GC describes the garbage collector's settings (gc.go), set by runServe.
	GC string
}

// String prints the configuration with its secrets redacted.
func (c serveConfig) String() string {
	token := "(none)"
	if c.AdminToken != "" {
		token = "(set, redacted)"
	}
	parses := "in-process"
	if c.RedisURL != "" {
		parses = fmt.Sprintf("redis %s queue %q", redact.Secret(c.RedisURL), c.Queue)
	}
	proxies := c.TrustedProxies
	if proxies == nil {
		proxies = server.DefaultTrustedProxies()
	}
	return fmt.Sprintf("addr=%s prefix=%s database=%s admin_token=%s private_reads=%v cors=%v trusted_proxies=%v tile_size=%d tile_cache=%d response_cache=%d cache_control=%q max_upload=%d export_max_pixels=%d log_level=%s bench_routes=%v parses=%s gc=%q",
		c.Addr, c.Prefix, redact.Secret(c.DatabaseURL), token, c.PrivateReads, c.CORSOrigins, proxies, c.Ingest.TileSize, c.TileCache, c.ResponseCache,
		c.CacheControl, c.MaxUpload, c.ExportMax, c.LogLevel, c.BenchRoutes, parses, c.GC)
}

// loadServeConfig reads flags then the environment; every error names the setting and what
// it accepts.
func loadServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	c := serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, serveUsage) }
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("TESSERA_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.Prefix, "prefix", env("TESSERA_PREFIX", "/raster/"), "path prefix")
	fs.BoolVar(&c.BenchRoutes, "bench-routes", false, "add the HTTP-floor benchmark route")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, a...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("--addr/TESSERA_ADDR", "%q is not host:port", c.Addr)
	}
	if !strings.HasPrefix(c.Prefix, "/") {
		bad("--prefix/TESSERA_PREFIX", "%q must start with /", c.Prefix)
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	c.DatabaseURL = env("DATABASE_URL", pgstore.DefaultDSN)
	c.AdminToken = getenv("TESSERA_ADMIN_TOKEN")
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("TESSERA_ADMIN_TOKEN", "has %d characters; use at least 16", len(c.AdminToken))
	}
	boolEnv := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(name, "%q: use 1/0 or true/false", v)
			}
			*dst = b
		}
	}
	boolEnv("TESSERA_PRIVATE_READS", &c.PrivateReads)
	switch v := env("TESSERA_CORS_ORIGINS", "*"); v {
	case "-":
	default:
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				if o != "*" && !validOrigin(o) {
					bad("TESSERA_CORS_ORIGINS", "%q: origins are *, or http(s)://host[:port] as a browser sends it (lower case, no path, no wildcard)", o)
				}
				c.CORSOrigins = append(c.CORSOrigins, o)
			}
		}
	}
	if v := strings.TrimSpace(getenv("TESSERA_TRUSTED_PROXIES")); v != "" {
		p, err := server.ParseTrustedProxies(v)
		if err != nil {
			bad("TESSERA_TRUSTED_PROXIES", "%v", err)
		}
		c.TrustedProxies = p
	}
	intEnv := func(name string, def int64, dst *int64) {
		*dst = def
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				bad(name, "%q: use a whole number ≥ 0", v)
			}
			*dst = n
		}
	}
	intEnv("TESSERA_TILE_CACHE_BYTES", tiles.DefaultTileCacheBytes, &c.TileCache)
	intEnv("TESSERA_RESPONSE_CACHE_BYTES", tiles.DefaultResponseCacheBytes, &c.ResponseCache)
	intEnv("TESSERA_MAX_UPLOAD", 2<<30, &c.MaxUpload)
	intEnv("RASTER_EXPORT_MAX_PIXELS", tiles.DefaultExportMaxPixels, &c.ExportMax)
	if c.MaxUpload == 0 {
		bad("TESSERA_MAX_UPLOAD", "must be above 0")
	}
	if c.ExportMax == 0 {
		bad("RASTER_EXPORT_MAX_PIXELS", "must be above 0")
	}
	c.CacheControl = env("TESSERA_CACHE_CONTROL", tiles.DefaultCacheControl)
	if err := c.LogLevel.UnmarshalText([]byte(env("TESSERA_LOG_LEVEL", "info"))); err != nil {
		bad("TESSERA_LOG_LEVEL", "%q: use debug, info, warn or error", getenv("TESSERA_LOG_LEVEL"))
	}
	c.RedisURL, c.Queue = redisSettings(getenv)
	ic, err := ingest.ConfigFromEnv(getenv)
	if err != nil {
		// Serve needs them: it runs the parses that uploads, URL layers and reparses start
		// (with REDIS_URL too, the source is opened and warped here; workers cut the tiles),
		// and RASTER_TILESIZE is its TileJSON's tileSize and the tile size of its exports.
		// Starting without them would turn the first upload into a failed parse.
		errs = append(errs, fmt.Errorf("ingest settings (serve parses uploads and registered URLs with them; see tessera ingest --help): %w", err))
	}
	c.Ingest = ic
	return c, errors.Join(errs...)
}

// validOrigin reports whether o is an origin as a browser sends it in Origin:
// http(s)://host[:port], lower case, nothing more. echo's CORS middleware reads '*' and '?'
// in a listed origin as wildcards, and listed origins get Access-Control-Allow-Credentials:
// "https://*" named every https page with credentials. An origin with a path or a capital
// letter never matched a browser's and its page was refused without a word.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Port() != "0" &&
		!strings.ContainsAny(o, "*?") && o == u.Scheme+"://"+u.Host && o == strings.ToLower(o)
}

// runServe is `tessera serve`.
func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	cfg, err := loadServeConfig(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "tessera serve: %v\n", err)
		return 2
	}
	cfg.GC = applyGC(gcSettings(os.Getenv, cfg.TileCache, cfg.ResponseCache, containerMemory(os.ReadFile)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, stdout, stderr)
}

// serve runs the server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("tessera serve: starting", "config", cfg.String())
	st, code := openMigrated(ctx, "serve", cfg.DatabaseURL, stderr, pgstore.WarmPool())
	if st == nil {
		return code
	}
	defer st.Close()

	var runner ingest.Runner
	if cfg.RedisURL != "" {
		q, idle := openQueue("serve", cfg.RedisURL, cfg.Queue, "check REDIS_URL, or unset it to parse uploads in this process", stderr)
		if q == nil {
			return 1
		}
		defer q.Close()
		runner = q
		if idle {
			log.Warn("tessera serve: no `tessera worker` serves the queue yet: parses of uploads wait until one starts", "queue", cfg.Queue)
		}
	} else {
		pool := jobs.NewPool(jobs.DefaultConcurrency(), ingest.NewTaskHandler(st))
		defer pool.Close()
		runner = pool
	}
	parser, err := ingest.New(st, runner, cfg.Ingest)
	if err != nil {
		fmt.Fprintf(stderr, "tessera serve: %v\n", err)
		return 2
	}
	parse := func(ctx context.Context, id int64) error {
		_, err := parser.Parse(ctx, id)
		return err
	}

	metrics := server.NewMetrics()
	orCache := func(n int64) int64 {
		if n == 0 {
			return -1 // 0 in the environment turns the cache off
		}
		return n
	}
	svc := tiles.New(st, tiles.Config{
		TileCacheBytes: orCache(cfg.TileCache), ResponseCacheBytes: orCache(cfg.ResponseCache),
		CacheControl: cfg.CacheControl, ExportMaxPixels: cfg.ExportMax, Logger: log, OnCache: metrics.CacheHook,
		TileSize: cfg.Ingest.TileSize,
	})
	srv := server.New(st, svc, parse, metrics, server.Config{
		Prefix: cfg.Prefix, AdminToken: cfg.AdminToken, PrivateReads: cfg.PrivateReads, CORSOrigins: cfg.CORSOrigins,
		UploadDir: server.UploadDir(cfg.Ingest.WorkDir), WorkDir: cfg.Ingest.WorkDir, MaxUpload: cfg.MaxUpload, BenchRoutes: cfg.BenchRoutes, Logger: log,
		MaxZoom: &cfg.Ingest.MaxZoom, TrustedProxies: cfg.TrustedProxies,
	})
	defer srv.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "tessera serve: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "tessera serve: listening on http://%s%s\n", ln.Addr(), cfg.Prefix)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "tessera serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("tessera serve: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		log.Warn("tessera serve: shutdown", "err", err)
	}
	return 0
}
