package server

import (
	"github.com/labstack/echo/v4"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/tile"
)

// ClientConfig is the body of GET {prefix}config: what a client needs to know of the
// server's configuration to form requests the server accepts, and nothing about its data.
// django-raster has no such route; Tessera adds it so that its page (and any client) reads
// the limits instead of assuming the defaults.
type ClientConfig struct {
	// PrivateReads: the read routes need a bearer token (TESSERA_PRIVATE_READS).
	PrivateReads bool `json:"private_reads"`
	// TileSize is the tiles' width and height in pixels (RASTER_TILESIZE).
	TileSize int `json:"tile_size"`
	// MaxZoom is the deepest zoom of a tile address (tiles, algebra).
	MaxZoom int `json:"max_zoom"`
	// ExportMaxPixels bounds an export: its covering tiles at the export's zoom, counted at
	// TileSize pixels a side, may hold this many pixels (RASTER_EXPORT_MAX_PIXELS).
	ExportMaxPixels int64 `json:"export_max_pixels"`
	// ExportMaxZoom is the deepest zoom= an export or a statistics request takes.
	ExportMaxZoom int `json:"export_max_zoom"`
	// StatsMaxTiles bounds the tiles one statistics request reads.
	StatsMaxTiles int `json:"stats_max_tiles"`
	// FormulaMaxBytes is the longest formula accepted, in bytes.
	FormulaMaxBytes int `json:"formula_max_bytes"`
	// MaxVariables is the most variables one layers= binding may name.
	MaxVariables int `json:"max_variables"`
	// ScaledTileMaxBytes bounds what an @2x or @4x tile holds while it is made, per pixel of
	// the answer every stored band of each of its layers and 8 bytes a variable
	// (tiles.MaxScaledBytes).
	ScaledTileMaxBytes int64 `json:"scaled_tile_max_bytes"`
	// IngestMaxZoom is the deepest max_zoom an upload may ask for (TESSERA_MAX_INGEST_ZOOM).
	IngestMaxZoom int `json:"ingest_max_zoom"`
	// UploadMaxBytes bounds one uploaded file (TESSERA_MAX_UPLOAD).
	UploadMaxBytes int64 `json:"upload_max_bytes"`
}

// clientConfig is the server's ClientConfig: the tile service's limits as it applies them
// (its Config, defaults filled in; a server built without a service, in tests, reports the
// service's defaults) and the server's own.
func (s *Server) clientConfig() ClientConfig {
	tc := tiles.DefaultConfig()
	if s.svc != nil {
		tc = s.svc.Config()
	}
	return ClientConfig{
		PrivateReads:       s.cfg.PrivateReads,
		TileSize:           tc.TileSize,
		MaxZoom:            tile.MaxZoom,
		ExportMaxPixels:    tc.ExportMaxPixels,
		ExportMaxZoom:      catalog.MaxParseZoom,
		StatsMaxTiles:      tc.StatsMaxTiles,
		FormulaMaxBytes:    formula.MaxSource,
		MaxVariables:       tiles.MaxLayers,
		ScaledTileMaxBytes: tiles.MaxScaledBytes,
		IngestMaxZoom:      *s.cfg.MaxZoom,
		UploadMaxBytes:     s.cfg.MaxUpload,
	}
}

// config answers GET {prefix}config, public even with PrivateReads: it holds no data, and a
// client learns from it that reads need a token without being refused one. It is answered as
// TileJSON is (tiles.DocumentResponse: an ETag of its bytes, 304, no-cache): a server
// restarted with other settings is seen at the next load.
func (s *Server) config(c echo.Context) error {
	return write(c, tiles.DocumentResponse("application/json", s.configBody,
		tiles.Client{IfNoneMatch: c.Request().Header.Get("If-None-Match")}))
}
