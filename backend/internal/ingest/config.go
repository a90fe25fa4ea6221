package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
)

// Config is the ingest pipeline's configuration. ConfigFromEnv reads it from the
// environment with django-raster's setting names where django-raster has one.
type Config struct {
	// WorkDir (RASTER_WORKDIR) holds downloads, the EPSG:3857 copies and the pyramid levels
	// while a parse runs. With asynq workers on several machines it must be shared (the
	// same path everywhere). Default: $TMPDIR/tessera-workdir (a name a stray `go build -o /tmp/tessera` cannot take).
	WorkDir string
	// TileSize (RASTER_TILESIZE) is the tile width and height in pixels (256).
	TileSize int
	// BatchSize (RASTER_BATCH_STEP_SIZE) is the number of tiles written per COPY (500).
	BatchSize int
	// BlockTiles (TESSERA_BLOCK_TILES) is the side, in tiles, of the block one task reads at
	// once (8: 8×8 tiles, at most 64 MiB per block whatever the bands).
	BlockTiles int
	// SingleTask (RASTER_PARSE_SINGLE_TASK) cuts each zoom level as one task.
	SingleTask bool
	// MaxSourceBytes (TESSERA_MAX_SOURCE_BYTES) caps a download or an archive's
	// uncompressed content (2 GiB).
	MaxSourceBytes int64
	// MaxPixels (TESSERA_MAX_SOURCE_PIXELS) caps width×height of a source raster and of its
	// EPSG:3857 copy (4·10⁹).
	MaxPixels int64
	// MaxZoom (TESSERA_MAX_INGEST_ZOOM) is the deepest zoom a parse may produce (19, as in
	// django-raster); a --max-zoom override above it is refused.
	MaxZoom int
	// HTTPTimeout (TESSERA_HTTP_TIMEOUT, a Go duration) bounds a whole download (30m).
	HTTPTimeout time.Duration
	// S3 settings: RASTER_S3_ENDPOINT_URL (e.g. http://127.0.0.1:9000; empty = AWS),
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or
	// AWS_DEFAULT_REGION), and TESSERA_S3_REQUESTER_PAYS=1 for requester-pays buckets.
	S3Endpoint     string
	S3AccessKey    string
	S3SecretKey    string
	S3SessionToken string
	S3Region       string
	S3RequesterPay bool
	// WarpMemoryMB (TESSERA_WARP_MEMORY_MB) is GDAL's working memory for a warp (16;
	// measured: more is no faster and only raises the peak memory).
	WarpMemoryMB int
	// WarpThreads (TESSERA_WARP_THREADS) is the number of warp threads (all CPUs).
	WarpThreads int
	// Stream (TESSERA_INGEST_STREAM, true) makes an in-process parse of a raster with
	// nodata (and two full-width rows of tiles within 64 MiB) build and write its pyramid in
	// one streamed pass (stream.go) instead of level files and cut tasks; false keeps the
	// tasks, as parses through Redis do.
	Stream bool
}

// DefaultConfig returns the defaults listed on Config.
func DefaultConfig() Config {
	return Config{
		WorkDir:        filepath.Join(os.TempDir(), "tessera-workdir"),
		TileSize:       256,
		BatchSize:      500,
		BlockTiles:     8,
		MaxSourceBytes: 2 << 30,
		MaxPixels:      4_000_000_000,
		MaxZoom:        19,
		HTTPTimeout:    30 * time.Minute,
		WarpMemoryMB:   16,
		WarpThreads:    0,
		Stream:         true,
	}
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("ingest: invalid setting")

// ConfigFromEnv reads the configuration from getenv (os.Getenv in main), starting from
// DefaultConfig. An invalid value gives an error naming the variable and what it accepts; the
// Config returned with it still holds every setting that was read (RASTER_WORKDIR always,
// which `tessera delete` relies on).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	integer := func(name string, dst *int, lo, hi int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%w %s=%q: want an integer in %d..%d", ErrConfig, name, v, lo, hi))
			return
		}
		*dst = n
	}
	int64v := func(name string, dst *int64, lo int64) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo {
			errs = append(errs, fmt.Errorf("%w %s=%q: want an integer ≥ %d", ErrConfig, name, v, lo))
			return
		}
		*dst = n
	}
	boolean := func(name string, dst *bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w %s=%q: want true or false (1 or 0)", ErrConfig, name, v))
			return
		}
		*dst = b
	}
	str("RASTER_WORKDIR", &c.WorkDir)
	integer("RASTER_TILESIZE", &c.TileSize, 16, 4096)
	integer("RASTER_BATCH_STEP_SIZE", &c.BatchSize, 1, 100000)
	boolean("RASTER_PARSE_SINGLE_TASK", &c.SingleTask)
	integer("TESSERA_BLOCK_TILES", &c.BlockTiles, 1, 64)
	int64v("TESSERA_MAX_SOURCE_BYTES", &c.MaxSourceBytes, 1)
	int64v("TESSERA_MAX_SOURCE_PIXELS", &c.MaxPixels, 1)
	integer("TESSERA_MAX_INGEST_ZOOM", &c.MaxZoom, 0, catalog.MaxParseZoom)
	if v := strings.TrimSpace(getenv("TESSERA_HTTP_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%w TESSERA_HTTP_TIMEOUT=%q: want a positive duration such as 10m", ErrConfig, v))
		} else {
			c.HTTPTimeout = d
		}
	}
	str("RASTER_S3_ENDPOINT_URL", &c.S3Endpoint)
	str("AWS_ACCESS_KEY_ID", &c.S3AccessKey)
	str("AWS_SECRET_ACCESS_KEY", &c.S3SecretKey)
	str("AWS_SESSION_TOKEN", &c.S3SessionToken)
	str("AWS_DEFAULT_REGION", &c.S3Region)
	str("AWS_REGION", &c.S3Region)
	boolean("TESSERA_S3_REQUESTER_PAYS", &c.S3RequesterPay)
	integer("TESSERA_WARP_MEMORY_MB", &c.WarpMemoryMB, 16, 65536)
	integer("TESSERA_WARP_THREADS", &c.WarpThreads, 0, 1024)
	boolean("TESSERA_INGEST_STREAM", &c.Stream)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks the settings' ranges.
func (c Config) Validate() error {
	var errs []error
	if c.WorkDir == "" {
		errs = append(errs, fmt.Errorf("%w RASTER_WORKDIR: empty", ErrConfig))
	}
	if c.TileSize < 16 || c.TileSize > 4096 {
		errs = append(errs, fmt.Errorf("%w RASTER_TILESIZE=%d: want 16..4096", ErrConfig, c.TileSize))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("%w RASTER_BATCH_STEP_SIZE=%d: want ≥ 1", ErrConfig, c.BatchSize))
	}
	if c.BlockTiles < 1 || c.BlockTiles > 64 {
		errs = append(errs, fmt.Errorf("%w block of %d tiles: want 1..64", ErrConfig, c.BlockTiles))
	}
	if c.MaxZoom < 0 || c.MaxZoom > catalog.MaxParseZoom {
		errs = append(errs, fmt.Errorf("%w TESSERA_MAX_INGEST_ZOOM=%d: want 0..%d", ErrConfig, c.MaxZoom, catalog.MaxParseZoom))
	}
	if c.S3Endpoint != "" && !strings.HasPrefix(c.S3Endpoint, "http://") && !strings.HasPrefix(c.S3Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("%w RASTER_S3_ENDPOINT_URL=%q: want an http:// or https:// URL", ErrConfig, c.S3Endpoint))
	}
	if (c.S3AccessKey == "") != (c.S3SecretKey == "") {
		errs = append(errs, fmt.Errorf("%w: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither", ErrConfig))
	}
	return errors.Join(errs...)
}

// String prints the configuration with the S3 secrets redacted.
func (c Config) String() string {
	red := func(s string) string {
		if s == "" {
			return ""
		}
		return "<redacted>"
	}
	return fmt.Sprintf("workdir=%s tilesize=%d batch=%d block=%d single_task=%v max_bytes=%d max_pixels=%d max_zoom=%d s3_endpoint=%q s3_key=%s s3_secret=%s s3_region=%q requester_pays=%v",
		c.WorkDir, c.TileSize, c.BatchSize, c.BlockTiles, c.SingleTask, c.MaxSourceBytes, c.MaxPixels, c.MaxZoom,
		c.S3Endpoint, red(c.S3AccessKey), red(c.S3SecretKey), c.S3Region, c.S3RequesterPay)
}
