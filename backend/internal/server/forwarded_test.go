package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTileJSONBehindProxy: TileJSON's tile URLs are absolute, so behind a reverse proxy
// they must name the host the browser asked for. A proxy that passes its upstream's
// address as Host (nginx's default) says the real one in X-Forwarded-Host, which was
// ignored: the URLs pointed at the proxy's upstream, unreachable from the browser.
func TestTileJSONBehindProxy(t *testing.T) {
	e := setup(t, 0)
	tilesOf := func(t *testing.T, resp *http.Response, body []byte) string {
		t.Helper()
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var tj struct{ Tiles []string }
		if err := json.Unmarshal(body, &tj); err != nil || len(tj.Tiles) != 1 {
			t.Fatalf("TileJSON %s: %v", body, err)
		}
		return tj.Tiles[0]
	}
	own := strings.TrimPrefix(e.ts.URL, "http://")
	cases := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"no proxy", nil, "http://" + own + "/raster/tiles/ramp/"},
		{"host and proto", map[string]string{"X-Forwarded-Host": "maps.example.com", "X-Forwarded-Proto": "https"}, "https://maps.example.com/raster/tiles/ramp/"},
		{"host with port", map[string]string{"X-Forwarded-Host": "maps.example.com:8443"}, "http://maps.example.com:8443/raster/tiles/ramp/"},
		{"a chain: the nearest proxy's value", map[string]string{"X-Forwarded-Host": "client-said.example, maps.example.com"}, "http://maps.example.com/raster/tiles/ramp/"},
		{"not a host", map[string]string{"X-Forwarded-Host": "evil.example/x?y="}, "http://" + own + "/raster/tiles/ramp/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, call{path: "/raster/tiles/ramp.json?colormap=viridis", header: tc.header})
			if got := tilesOf(t, resp, body); !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "{z}/{x}/{y}.png?colormap=viridis") {
				t.Errorf("tiles %s, want %s…{z}/{x}/{y}.png?colormap=viridis", got, tc.want)
			}
		})
	}
	// A trusted proxy may pass a client's headers on: a shared cache must key the answer
	// on them, or one client's X-Forwarded-Host reaches every map that loads the TileJSON
	// after it.
	t.Run("the answers vary on the forwarding headers", func(t *testing.T) {
		for _, path := range []string{"/raster/tiles/ramp.json", "/raster/algebra.json?layers=a=ramp&formula=a"} {
			resp, body := e.do(t, call{path: path, header: map[string]string{"X-Forwarded-Host": "evil.example"}})
			vary := strings.Join(resp.Header.Values("Vary"), ",")
			if resp.StatusCode != 200 || !strings.Contains(vary, "X-Forwarded-Host") || !strings.Contains(vary, "X-Forwarded-Proto") {
				t.Errorf("%s: %d %.100s, Vary %q: want X-Forwarded-Host and X-Forwarded-Proto", path, resp.StatusCode, body, vary)
			}
		}
	})
	t.Run("a peer on a public address is not believed", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "http://tessera.example/raster/algebra.json?layers=a=ramp&formula=a", nil)
		req.RemoteAddr = "203.0.113.9:41000"
		req.Header.Set("X-Forwarded-Host", "evil.example")
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		if got := tilesOf(t, rec.Result(), rec.Body.Bytes()); !strings.HasPrefix(got, "http://tessera.example/raster/algebra/") {
			t.Errorf("tiles %s, want the request's own host", got)
		}
	})
}
