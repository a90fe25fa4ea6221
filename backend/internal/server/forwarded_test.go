package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestTileJSONBehindProxy: TileJSON's tile URLs are absolute, so behind a reverse proxy
// they must name the host the browser asked for. A proxy that passes its upstream's
// address as Host (nginx's default) says the real one in X-Forwarded-Host, which was
// ignored: the URLs pointed at the proxy's upstream, unreachable from the browser.
func TestTileJSONBehindProxy(t *testing.T) {
	e := setup(t, 0)
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
		// Without X-Forwarded-Proto echo reads the scheme from the other headers too: each
		// changes the answer, so each must be in Vary (below).
		{"X-Forwarded-Ssl", map[string]string{"X-Forwarded-Ssl": "on"}, "https://" + own + "/raster/tiles/ramp/"},
		{"X-Url-Scheme", map[string]string{"X-Url-Scheme": "https"}, "https://" + own + "/raster/tiles/ramp/"},
		{"X-Forwarded-Protocol", map[string]string{"X-Forwarded-Protocol": "https"}, "https://" + own + "/raster/tiles/ramp/"},
		// echo's Scheme says wss for X-Forwarded-Proto: wss; the tile URLs said wss:// too.
		{"wss is https", map[string]string{"X-Forwarded-Proto": "wss"}, "https://" + own + "/raster/tiles/ramp/"},
		{"ws is http", map[string]string{"X-Forwarded-Proto": "ws"}, "http://" + own + "/raster/tiles/ramp/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, call{path: "/raster/tiles/ramp.json?colormap=viridis", header: tc.header})
			if got := firstTile(t, resp.StatusCode, body); !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "{z}/{x}/{y}.png?colormap=viridis") {
				t.Errorf("tiles %s, want %s…{z}/{x}/{y}.png?colormap=viridis", got, tc.want)
			}
		})
	}
	// A trusted proxy may pass a client's headers on: a shared cache must key the answer
	// on them, or one client's X-Forwarded-Host reaches every map that loads the TileJSON
	// after it. Vary named X-Forwarded-Host and X-Forwarded-Proto only, while a client's
	// X-Forwarded-Ssl: on, passed on by a proxy that sets no X-Forwarded-Proto, made the
	// URLs https:// for every map behind such a cache.
	t.Run("the answers vary on the forwarding headers", func(t *testing.T) {
		for _, path := range []string{"/raster/tiles/ramp.json", "/raster/algebra.json?layers=a=ramp&formula=a"} {
			resp, body := e.do(t, call{path: path, header: map[string]string{"X-Forwarded-Host": "evil.example"}})
			var vary []string
			for _, v := range resp.Header.Values("Vary") {
				for _, name := range strings.Split(v, ",") {
					vary = append(vary, http.CanonicalHeaderKey(strings.TrimSpace(name)))
				}
			}
			for _, want := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Protocol", "X-Forwarded-Ssl", "X-Url-Scheme"} {
				if resp.StatusCode != 200 || !slices.Contains(vary, want) {
					t.Errorf("%s: %d %.100s, Vary %q: want %s", path, resp.StatusCode, body, vary, want)
				}
			}
		}
	})
	t.Run("a peer on a public address is not believed", func(t *testing.T) {
		if got := tileJSONFrom(t, e, "203.0.113.9:41000", map[string]string{"X-Forwarded-Host": "evil.example"}); !strings.HasPrefix(got, "http://tessera.example/raster/algebra/") {
			t.Errorf("tiles %s, want the request's own host", got)
		}
	})
}
