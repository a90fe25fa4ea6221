package tiles_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// brokenStore knows one layer but fails every tile read with an internal error, as a
// database that went away would.
type brokenStore struct{}

var errSecret = errors.New("connection to 10.0.0.7 failed: password authentication for user admin")

func (brokenStore) Layer(context.Context, string) (catalog.Layer, error) {
	return catalog.Layer{ID: 1, Name: "l", Version: 1}, nil
}
func (brokenStore) LayerByID(context.Context, int64) (catalog.Layer, error) {
	return catalog.Layer{}, errSecret
}
func (brokenStore) Layers(context.Context) ([]catalog.Layer, error) { return nil, errSecret }
func (brokenStore) Tile(context.Context, int64, int64, tile.ZXY) ([]*raster.Band, error) {
	return nil, errSecret
}
func (brokenStore) NearestTile(context.Context, int64, int64, tile.ZXY) (tile.ZXY, []*raster.Band, error) {
	return tile.ZXY{}, nil, errSecret
}
func (brokenStore) Legend(context.Context, int64) (colormap.Legend, error) {
	return colormap.Legend{}, errSecret
}
func (brokenStore) LegendByRef(context.Context, string) (colormap.Legend, error) {
	return colormap.Legend{}, errSecret
}
func (brokenStore) SessionColormap(context.Context, string, string) (json.RawMessage, error) {
	return nil, errSecret
}

// TestInternalErrors: a failing store gives 500 with a body that says nothing internal,
// and the error goes to the log.
func TestInternalErrors(t *testing.T) {
	var logs bytes.Buffer
	svc := tiles.New(brokenStore{}, tiles.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	req, err := tiles.ParseTile("l", "3", "1", "1", "png", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery("layers=a=l&formula=a")
	preq, err := tiles.ParsePixel("0", "0", q)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*tiles.Response{
		"tile":    svc.Tile(ctx, req, tiles.Client{}),
		"pixel":   svc.Pixel(ctx, preq, tiles.Client{}),
		"layers":  svc.Layers(ctx),
		"legend":  svc.Legend(ctx, "3"),
		"session": svc.Tile(ctx, tiles.TileRequest{Layer: "l", Tile: tile.ZXY{Z: 1}, Format: tiles.PNG, Style: tiles.Style{Legend: "k", Session: true}}, tiles.Client{Session: "0123456789abcdef0123456789abcdef"}),
	} {
		if r.Status != 500 || string(r.Body) != `{"error":"internal error"}` {
			t.Errorf("%s: %d %s, want 500 {\"error\":\"internal error\"}", name, r.Status, r.Body)
		}
	}
	if !strings.Contains(logs.String(), "password authentication") {
		t.Errorf("the internal error was not logged: %s", logs.String())
	}
}
