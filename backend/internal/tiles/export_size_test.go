package tiles_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestExportTileSize: a server whose tiles are 512 pixels (RASTER_TILESIZE=512) exports them
// at that size. The export laid tiles out at 256 pixels whatever the setting and answered
// 500 "tile of 512x512 pixels, want 256".
func TestExportTileSize(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const size = 512
	l := catalog.NewLayer("big", "big.tif")
	if err := e.st.CreateLayer(ctx, &l); err != nil {
		t.Fatal(err)
	}
	b := raster.New(raster.Float32, size, size)
	for i := range b.Len() {
		b.Set(i, float64(i%size))
	}
	v, err := e.st.BeginParse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.WriteTiles(ctx, l.ID, v, []pgstore.Tile{{ZXY: tilestest.Home, Bands: []*raster.Band{b}}}); err != nil {
		t.Fatal(err)
	}
	h := tilestest.Home.Bounds()
	meta := catalog.Metadata{OriginX: h.MinX, OriginY: h.MaxY, ScaleX: h.Width() / size, ScaleY: -h.Height() / size,
		Width: size, Height: size, BandCount: 1, SRID: 3857, MaxZoom: tilestest.Home.Z, Extent: [4]float64{h.MinX, h.MinY, h.MaxX, h.MaxY}}
	bm := []catalog.BandMeta{{Type: raster.Float32, Count: size * size, Min: 0, Max: size - 1, Mean: (size - 1) / 2.0}}
	if err := e.st.PublishWithMetadata(ctx, l.ID, v, meta, bm); err != nil {
		t.Fatal(err)
	}
	svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, TileSize: size})
	req := exportRequest(t, "layers=a=big&formula=a&zoom=4")
	r := svc.Export(ctx, req)
	if r.Status != 200 {
		t.Fatalf("export of 512-pixel tiles: %d %s", r.Status, r.Body)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "README.txt" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		readme, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(readme), "512 x 512 pixels, 1 of 1 tiles with data") {
			t.Errorf("README: %s", readme)
		}
	}
	// A server cut at 256 pixels cannot lay the 512-pixel tiles out: a 400 that says why.
	r = tiles.New(e.st, tiles.Config{LayerTTL: -1}).Export(ctx, req)
	if r.Status != 400 || !strings.Contains(string(r.Body), "RASTER_TILESIZE is 256") {
		t.Errorf("export of 512-pixel tiles by a 256 server: %d %s", r.Status, r.Body)
	}
}

// TestEmptyTileSize: a tile with no data is answered at the server's tile size: a 512-pixel
// server answered 256-pixel empty PNG and GeoTIFF tiles beside its 512-pixel ones.
func TestEmptyTileSize(t *testing.T) {
	dbtest.GDALTool(t, "gdalinfo")
	e := setup(t)
	for _, size := range []int{256, 512} {
		svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, TileSize: size})
		far := tile.ZXY{Z: 4, X: 0, Y: 0} // no data there nor at any coarser zoom
		for _, ext := range []string{"png", "jpg", "tif"} {
			req, err := tiles.ParseTile("ramp", "4", strconv.Itoa(far.X), strconv.Itoa(far.Y), ext, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			r := svc.Tile(context.Background(), req, tiles.Client{})
			if r.Status != 200 {
				t.Fatalf("%d-pixel server, empty .%s: %d %s", size, ext, r.Status, r.Body)
			}
			var w, h int
			if ext == "tif" {
				w, h = gdalSize(t, r.Body)
			} else {
				cfg, _, err := image.DecodeConfig(bytes.NewReader(r.Body))
				if err != nil {
					t.Fatalf(".%s: %v", ext, err)
				}
				w, h = cfg.Width, cfg.Height
			}
			if w != size || h != size {
				t.Errorf("%d-pixel server, empty .%s: %d×%d", size, ext, w, h)
			}
		}
	}
}

// gdalJSON is what `gdalinfo -json` says of a GeoTIFF, and the file it read.
func gdalJSON(t *testing.T, tif []byte) ([]byte, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tile.tif")
	if err := os.WriteFile(path, tif, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("gdalinfo", "-json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return out, path
}

// gdalSize is the width and height gdalinfo reads from a GeoTIFF.
func gdalSize(t *testing.T, tif []byte) (int, int) {
	t.Helper()
	out, _ := gdalJSON(t, tif)
	var gi struct {
		Size []int `json:"size"`
	}
	if err := json.Unmarshal(out, &gi); err != nil || len(gi.Size) != 2 {
		t.Fatalf("gdalinfo: %v %s", err, out)
	}
	return gi.Size[0], gi.Size[1]
}

// TestExportUnknownLegendReadsNoTile: an export whose legend= names no legend is a 404
// before any tile is read. The colormap was resolved after the whole export was read,
// evaluated and written, so a mistyped legend cost up to RASTER_EXPORT_MAX_PIXELS pixels of
// work before its 404.
func TestExportUnknownLegendReadsNoTile(t *testing.T) {
	e := setup(t)
	tileLookups := 0
	svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, OnCache: func(cache string, _ bool) {
		if cache == "tile" {
			tileLookups++
		}
	}})
	if r := svc.Export(context.Background(), exportRequest(t, "layers=a=ramp&formula=a&zoom=4&legend=no-such-legend")); r.Status != 404 {
		t.Fatalf("export with an unknown legend: %d %s, want 404", r.Status, r.Body)
	}
	if tileLookups != 0 {
		t.Errorf("%d tile lookups before the unknown legend's 404, want none", tileLookups)
	}
}

// TestExportSizeOverflow: the size check of a world export at zoom 24 and deeper
// (2^24 columns of 256 pixels, as many rows: 2^64 pixels) wrapped an int64 negative, passed,
// and the export panicked allocating the raster (a 500); every deep zoom is the 400 naming
// the limit.
func TestExportSizeOverflow(t *testing.T) {
	e := setup(t)
	for _, z := range []int{22, 23, catalog.MaxParseZoom} {
		r := e.svc.Export(context.Background(), exportRequest(t, "layers=a=ramp&formula=a&bbox=-180,-85,180,85&zoom="+strconv.Itoa(z)))
		if r.Status != 400 || !strings.Contains(string(r.Body), "Export raster too large.") || !strings.Contains(string(r.Body), "zoom "+strconv.Itoa(z)) {
			t.Errorf("zoom %d: %d %s", z, r.Status, r.Body)
		}
	}
}
