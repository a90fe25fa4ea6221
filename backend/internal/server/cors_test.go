package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/server"
)

// TestCORSCredentials: a page on another origin can use session colormaps (store=session)
// when TESSERA_CORS_ORIGINS lists its origin. The browser sends the session cookie, on the
// POST that saves the colormap and on the tiles, only when the answers name the origin and
// say Access-Control-Allow-Credentials: true; Tessera never said it, so such a page's
// colormap was saved under a cookie the browser dropped and every tile was a 404.
func TestCORSCredentials(t *testing.T) {
	const origin = "http://app.example.test"
	e := setupWith(t, 0, func(c *server.Config) { c.CORSOrigins = []string{origin, "http://other.example.test"} })
	pre, _ := e.do(t, call{method: http.MethodOptions, path: "/raster/session/colormap", header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != origin || pre.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v, want 204 naming %s with credentials", pre.StatusCode, pre.Header, origin)
	}
	resp, body := e.do(t, call{method: http.MethodPost, path: "/raster/session/colormap", ctype: "application/json",
		body: `{"key":"mine","colormap":{"continuous":true,"from":"#000","to":"#fff"}}`, header: map[string]string{"Origin": origin}})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("save: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	cookie := sessionCookie(t, resp)
	tile, body := e.do(t, call{path: "/raster/tiles/ramp/4/8/5.png?legend=mine&store=session", header: map[string]string{"Origin": origin, "Cookie": cookie}})
	if tile.StatusCode != 200 || tile.Header.Get("Access-Control-Allow-Origin") != origin || tile.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("tile: %d %s %v", tile.StatusCode, body, tile.Header)
	}
	if vary := strings.Join(tile.Header.Values("Vary"), ","); !strings.Contains(vary, "Origin") {
		t.Errorf("Vary %q: an answer naming the origin must vary on it", vary)
	}
	// An origin not listed gets no CORS headers.
	other, _ := e.do(t, call{path: "/raster/layers", header: map[string]string{"Origin": "http://evil.example.test"}})
	if other.Header.Get("Access-Control-Allow-Origin") != "" || other.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("unlisted origin: %v", other.Header)
	}
	// With "*" (the default) there are no credentials: browsers refuse them with "*".
	star := setup(t, 0)
	r, _ := star.do(t, call{path: "/raster/layers", header: map[string]string{"Origin": origin}})
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("origins *: %v", r.Header)
	}
	// With "*" the answer is the same with or without an Origin (the CORS headers included,
	// so a cached answer to an <img> tag serves a fetch() too), and Vary: Origin would only
	// split a CDN's cache per embedding site. A .msgpack answer still varies on
	// Accept-Encoding.
	for _, path := range []string{"/raster/tiles/ramp/4/8/5.png", "/raster/tiles/ramp/4/8/5.msgpack"} {
		var cors [2]string
		for k, hdr := range []map[string]string{{"Origin": origin}, {}} {
			r, _ := star.do(t, call{path: path, header: hdr})
			vary := strings.Join(r.Header.Values("Vary"), ",")
			if r.StatusCode != 200 || strings.Contains(vary, "Origin") {
				t.Errorf("origins *, %s, %v: %d, Vary %q", path, hdr, r.StatusCode, vary)
			}
			if strings.HasSuffix(path, ".msgpack") && !strings.Contains(vary, "Accept-Encoding") {
				t.Errorf("origins *, %s: Vary %q lacks Accept-Encoding", path, vary)
			}
			cors[k] = r.Header.Get("Access-Control-Allow-Origin") + " | " + r.Header.Get("Access-Control-Expose-Headers")
		}
		if cors[0] != cors[1] || !strings.HasPrefix(cors[0], "* | ") || !strings.Contains(cors[0], "ETag") {
			t.Errorf("origins *, %s: CORS headers with an Origin %q, without %q", path, cors[0], cors[1])
		}
	}
}

// TestCORSAnyOriginWithOthers: TESSERA_CORS_ORIGINS=http://app.example.test,* is "*". echo
// named the listed origin to its requests and "*" to the others, but corsAnyOrigin took
// Vary: Origin back, so a cache keeping the answer to app.example.test handed it, naming
// that origin, to another site's fetch(), which the browser then refused.
func TestCORSAnyOriginWithOthers(t *testing.T) {
	e := setupWith(t, 0, func(c *server.Config) { c.CORSOrigins = []string{"http://app.example.test", "*"} })
	for _, origin := range []string{"http://app.example.test", "http://other.example.test", ""} {
		hdr := map[string]string{}
		if origin != "" {
			hdr["Origin"] = origin
		}
		r, _ := e.do(t, call{path: "/raster/tiles/ramp/4/8/5.png", header: hdr})
		acao, vary := r.Header.Get("Access-Control-Allow-Origin"), strings.Join(r.Header.Values("Vary"), ",")
		if r.StatusCode != 200 || acao != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" || strings.Contains(vary, "Origin") {
			t.Errorf("Origin %q: %d, Allow-Origin %q, Allow-Credentials %q, Vary %q: want 200, *, none, no Origin",
				origin, r.StatusCode, acao, r.Header.Get("Access-Control-Allow-Credentials"), vary)
		}
	}
}
