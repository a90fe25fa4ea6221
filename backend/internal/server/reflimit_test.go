package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
)

// TestLayerRefLimit checks that every route taking a layer reference resolves one of
// catalog.MaxRefLen bytes and refuses one byte more with a 404 that does not quote it: the
// server's layers/{ref}/… allowed 256 bytes while the store, behind layers/{ref} and the tile
// routes, allowed 1024, so a 257-byte fragment of a file name found a layer on one route only.
func TestLayerRefLimit(t *testing.T) {
	e := setup(t, 0)
	ctx := context.Background()
	named := catalog.NewLayer(strings.Repeat("n", catalog.MaxRefLen), "http://127.0.0.1:1/named.tif")
	file := catalog.NewLayer("long file", "http://127.0.0.1:1/"+strings.Repeat("f", 2*catalog.MaxRefLen)+".tif")
	for _, l := range []*catalog.Layer{&named, &file} {
		if err := e.st.CreateLayer(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	atLimit := strings.Repeat("f", catalog.MaxRefLen)
	past := strings.Repeat("f", catalog.MaxRefLen+1)
	for _, tc := range []struct {
		name, path string
		status     int
		want       string
	}{
		{"name at the limit", "/raster/layers/" + named.Name, 200, fmt.Sprintf(`"id":%d`, named.ID)},
		{"name at the limit, status", "/raster/layers/" + named.Name + "/status", 200, `"status":"UNPARSED"`},
		{"fragment at the limit", "/raster/layers/" + atLimit, 200, fmt.Sprintf(`"id":%d`, file.ID)},
		{"fragment at the limit, status", "/raster/layers/" + atLimit + "/status", 200, `"status":"UNPARSED"`},
		{"fragment at the limit, TileJSON", "/raster/tiles/" + atLimit + ".json", 200, `"tilejson"`},
		{"past the limit", "/raster/layers/" + past, 404, "not found"},
		{"past the limit, status", "/raster/layers/" + past + "/status", 404, "not found"},
		{"past the limit, TileJSON", "/raster/tiles/" + past + ".json", 404, "not found"},
		{"past the limit, layers=", "/raster/stats?layers=x=" + past + "&formula=x", 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.do(t, call{path: tc.path})
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Errorf("GET %s…: %d %.200s; want %d with %s", tc.path[:40], resp.StatusCode, b, tc.status, tc.want)
			}
			if tc.status == 404 && strings.Contains(string(b), past) {
				t.Errorf("the 404 quotes the whole reference: %.200s", b)
			}
		})
	}
}
