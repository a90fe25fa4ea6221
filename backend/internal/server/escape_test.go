package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
)

// TestEscapedLayerName pins a layer name escaped in a path as encodeURIComponent and
// Python's quote(name, safe="") escape it: "S2 B4+B8 & co" as S2%20B4%2BB8%20%26%20co was a
// 404 on every tiles/{layer} and layers/{ref} route (echo routed on the raw path, its
// parameters still escaped), while S2%20B4+B8%20&%20co, escaped only where needed, was found.
func TestEscapedLayerName(t *testing.T) {
	e := setup(t, 0)
	const name = "S2 B4+B8 & co"
	l := catalog.NewLayer(name, "/data/s2.tif")
	if err := e.st.CreateLayer(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	full := strings.ReplaceAll(url.QueryEscape(name), "+", "%20") // S2%20B4%2BB8%20%26%20co
	least := url.PathEscape(name)                                 // S2%20B4+B8%20&%20co
	for _, ref := range []string{full, least, strings.ReplaceAll(full, "%2B", "%2b")} {
		t.Run(ref, func(t *testing.T) {
			resp, body := e.do(t, call{path: "/raster/tiles/" + ref + ".json"})
			var tj tiles.TileJSON
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tj) != nil || tj.Name != name {
				t.Errorf("TileJSON: %d %s", resp.StatusCode, body)
			}
			resp, body = e.do(t, call{path: "/raster/tiles/" + ref + "/WMTSCapabilities.xml"})
			if doc := wmtsOf(t, resp, body); doc.Layers[0].Identifier != name {
				t.Errorf("WMTS identifier %q, want %q", doc.Layers[0].Identifier, name)
			}
			resp, body = e.do(t, call{path: "/raster/layers/" + ref})
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"S2 B4+B8 \u0026 co"`) {
				t.Errorf("layer: %d %s", resp.StatusCode, body)
			}
		})
	}
	// An escaped "/" is no layer's (names cannot hold one) and no other route's segment.
	for _, path := range []string{"/raster/tiles/ramp%2F4.json", "/raster/tiles/ramp%2f4/8/5.png", "/raster/layers/1%2Fstatus"} {
		if resp, body := e.do(t, call{path: path}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d %s, want 404", path, resp.StatusCode, body)
		}
	}
}
