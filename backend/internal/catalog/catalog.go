// Package catalog holds the records Tessera keeps about its rasters — layers, their band
// statistics, parse status and legends — as plain types shared by the ingest pipeline (which
// writes them), the PostGIS store (which keeps them) and the tile server (which reads them).
// It has no behaviour beyond validation and no storage of its own. Legends are
// shared/colormap's Legend type, since the browser needs them too.
package catalog

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tessera-gis/tessera/shared/raster"
)

// Sentinel errors that stores return and callers branch on with errors.Is.
var (
	// ErrNotFound: no layer, legend or tile matches.
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous: a layer reference (a file-name fragment) matches several layers.
	ErrAmbiguous = errors.New("ambiguous")
	// ErrConflict: a unique name is already taken.
	ErrConflict = errors.New("conflict")
	// ErrUnstorable: text the database cannot hold (a NUL character), in a name, a legend, a
	// session key or colormap: the request's fault, not the store's.
	ErrUnstorable = errors.New("text with a NUL character, which the database cannot store")
)

// MaxRefLen is the longest layer reference (an id, a name or a fragment of the source's file
// name, in tiles/{layer}, layers/{ref} and layers=) that resolves: a longer one matches no
// layer. A layer's name is at most as long (pgstore.MaxNameLen), and so is a file name on
// common file systems (255 bytes). The server and the store both check it (the server
// allowed 256 bytes in layers/{ref}/…, the store 1024 everywhere else).
const MaxRefLen = 256

// Datatype tells how a layer's pixel values are to be read, as django-raster's
// RasterLayer.datatype does.
type Datatype string

// The four django-raster datatypes (stored by these short codes, as django-raster does).
const (
	Continuous  Datatype = "co"
	Categorical Datatype = "ca"
	Mask        Datatype = "ma"
	RankOrdered Datatype = "ro"
)

// ParseDatatype accepts the short codes and the long names ("continuous", "categorical",
// "mask", "rank ordered"/"rank-ordered"/"rank_ordered").
func ParseDatatype(s string) (Datatype, error) {
	switch s {
	case "co", "continuous", "":
		return Continuous, nil
	case "ca", "categorical":
		return Categorical, nil
	case "ma", "mask":
		return Mask, nil
	case "ro", "rank ordered", "rank-ordered", "rank_ordered":
		return RankOrdered, nil
	}
	return "", fmt.Errorf("unknown datatype %q: use continuous, categorical, mask or rank-ordered", s)
}

// Status is a layer's parse status, numbered as django-raster numbers it.
type Status int

// The parse statuses.
const (
	Unparsed           Status = 0
	DownloadingFile    Status = 1
	ReprojectingRaster Status = 2
	CreatingTiles      Status = 3
	DroppingEmptyTiles Status = 4
	Finished           Status = 5
	Failed             Status = 6
)

var statusNames = [...]string{"UNPARSED", "DOWNLOADING_FILE", "REPROJECTING_RASTER", "CREATING_TILES", "DROPPING_EMPTY_TILES", "FINISHED", "FAILED"}

// String returns the status's django-raster name (FINISHED, FAILED, …).
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Layer is one ingested (or to be ingested) raster.
type Layer struct {
	ID          int64
	Name        string
	Description string
	Datatype    Datatype
	// Source is where the raster comes from: a local path, an http(s) URL or s3://bucket/key.
	Source string

	// Overrides; nil means "from the file".
	SRID    *int
	NoData  *float64
	MaxZoom *int

	NextHigher       bool
	BuildPyramid     bool
	StoreReprojected bool
	LegendID         *int64

	// ReprojectedPath is where the EPSG:3857 copy of the source is kept when
	// StoreReprojected is set ("" when there is none), so a re-parse can skip the warp.
	ReprojectedPath string

	// Version is the parse version whose tiles are being served; it changes when a re-parse
	// completes, so it feeds ETags.
	Version int64

	Meta   *Metadata  // nil until parsed
	Bands  []BandMeta // one per band, empty until parsed
	Parse  ParseStatus
	Create time.Time
	// Updated is when the layer's row last changed.
	Updated time.Time
}

// LayerVersion names one parse of a layer: the key of a store's answer to a read of several
// layers at once (pgstore's Tiles and TilePixelValues).
type LayerVersion struct{ ID, Version int64 }

// PixelRead is one value of a pixel query (pgstore's TilePixelValues): band Band (0-based)
// of layer Layer's tile, whose bands have, in order, the types Types (the catalog's band
// types, published with the tiles; at least Band+1 of them).
type PixelRead struct {
	Layer LayerVersion
	Band  int
	Types []raster.DataType
}

// The scopes of API keys: a read key reads (what TESSERA_PRIVATE_READS guards), a write key
// also writes (uploads, re-parses, deletes, legends). Stores keep them; the server checks them.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// MaxParseZoom is the deepest zoom a parse may produce (the bound of TESSERA_MAX_INGEST_ZOOM),
// and so the deepest zoom= that export and stats take.
const MaxParseZoom = 24

// CheckName reports why name cannot be a layer's name, or nil: it must not be blank, must be
// at most MaxRefLen bytes (longer could not be looked up) and must not hold a "/", which no
// tile URL (tiles/{layer}/{z}/{x}/{y}.png) or other layer route can carry: such a layer was
// made, and then could be reached by its id only.
func CheckName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("a layer name cannot be empty")
	case len(name) > MaxRefLen:
		return fmt.Errorf("a layer name is at most %d bytes; this one is %d", MaxRefLen, len(name))
	case strings.Contains(name, "/"):
		return fmt.Errorf("layer name %q holds a \"/\", which tile URLs cannot carry; use another character", name)
	}
	return nil
}

// DefaultName is the name of a layer made from source when none is given: the file name of a
// path or URL without its extension(s) (.tif, .tif.zip, .tif.gz; an "extension" of more than
// five letters is kept), "" when nothing is left. `tessera ingest` and uploads name layers so.
func DefaultName(source string) string {
	s, _, _ := strings.Cut(source, "?")
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	for _, ext := range []string{".zip", ".gz"} {
		s = strings.TrimSuffix(s, ext)
	}
	if e := filepath.Ext(s); e != "" && len(e) <= 6 {
		s = strings.TrimSuffix(s, e)
	}
	return s
}

// NewLayer returns a layer with django-raster's defaults: continuous, next_higher,
// build_pyramid and store_reprojected all on.
func NewLayer(name, source string) Layer {
	return Layer{Name: name, Source: source, Datatype: Continuous, NextHigher: true, BuildPyramid: true, StoreReprojected: true}
}

// Metadata is what the parser read off the raster.
type Metadata struct {
	// Origin, scale and skew of the source raster's geotransform, in its own CRS.
	OriginX, OriginY float64
	ScaleX, ScaleY   float64
	SkewX, SkewY     float64
	Width, Height    int
	BandCount        int
	SRID             int    // 0 when the CRS has no EPSG code
	WKT              string // the source CRS
	MaxZoom          int    // the layer's max zoom as parsed
	// Extent is the layer's extent in EPSG:3857: MinX, MinY, MaxX, MaxY.
	Extent [4]float64
}

// BandMeta holds one band's statistics.
type BandMeta struct {
	Index     int
	Type      raster.DataType
	HasNoData bool
	NoData    float64
	// Statistics over valid pixels; Count is the number of valid pixels (0 → no statistics).
	Count     int64
	Min, Max  float64
	Mean, Std float64
	Hist      []int64   // 100 bins…
	HistBins  []float64 // …whose 101 edges span floor(min)..ceil(max)
}

// ParseStatus is the progress and log of a layer's latest parse.
type ParseStatus struct {
	// Version is the parse version of the latest parse begun (0: never parsed); it equals
	// Layer.Version once that parse is published.
	Version       int64
	Status        Status
	Log           []string // "[YYYY-mm-dd HH:MM:SS] message" lines
	FinishedZooms []int
	TilesDone     int64
	TilesTotal    int64
	Updated       time.Time
}
