package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTileJSONRevalidation: TileJSON answers carry an ETag of their bytes and no-cache, and a
// client sending the ETag back gets 304 (as the capabilities documents do), for a layer and for
// an algebra query; another query is another document.
func TestTileJSONRevalidation(t *testing.T) {
	e := setup(t, 0)
	for _, path := range []string{"/raster/tiles/ramp.json?colormap=viridis", "/raster/algebra.json?layers=a=ramp&formula=a*2"} {
		resp, body := e.do(t, call{path: path})
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") != "no-cache" ||
			resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"tiles":`) {
			t.Fatalf("%s: %d, ETag %q, Cache-Control %q, %s: %.80s", path, resp.StatusCode, etag,
				resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"), body)
		}
		r, b := e.do(t, call{path: path, header: map[string]string{"If-None-Match": etag}})
		if r.StatusCode != http.StatusNotModified || len(b) != 0 || r.Header.Get("ETag") != etag {
			t.Errorf("%s revalidated: %d %q ETag %q, want 304 with the ETag", path, r.StatusCode, b, r.Header.Get("ETag"))
		}
		r, _ = e.do(t, call{path: path + "&format=jpg", header: map[string]string{"If-None-Match": etag}})
		if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == etag {
			t.Errorf("%s&format=jpg: %d ETag %q, want 200 and another tag", path, r.StatusCode, r.Header.Get("ETag"))
		}
	}
}
