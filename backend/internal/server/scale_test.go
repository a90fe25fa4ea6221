package server_test

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// TestScaledTileRoutes: @2x reaches the tile service through both tile routes (echo's
// :file parameter holds "5@2x.png"), and a bad scale is a 400 in JSON.
func TestScaledTileRoutes(t *testing.T) {
	e := setup(t, 0)
	for _, path := range []string{"/raster/tiles/ramp/4/8/5@2x.png", "/raster/algebra/4/8/5@2x.png?layers=a=ramp&formula=a"} {
		resp, body := e.do(t, call{path: path})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil || img.Bounds().Dx() != 512 || img.Bounds().Dy() != 512 {
			t.Errorf("%s: %v, %v", path, err, img.Bounds())
		}
	}
	resp, body := e.do(t, call{path: "/raster/tiles/ramp/4/8/5@3x.png"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"error":"scale: \"@3x\" is not a tile scale`) {
		t.Errorf("@3x: %d %s", resp.StatusCode, body)
	}
}
