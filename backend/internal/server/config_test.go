package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
)

// defaultConfig is GET config's answer for a server and tile service with every default (the
// test servers' upload limit, 1 MiB, aside).
var defaultConfig = server.ClientConfig{PrivateReads: false, TileSize: 256, MaxZoom: 30, ExportMaxPixels: 10000 * 10000,
	ExportMaxZoom: 24, StatsMaxTiles: 4096, FormulaMaxBytes: 4096, MaxVariables: 16, ScaledTileMaxBytes: 64 << 20, IngestMaxZoom: 19, UploadMaxBytes: 1 << 20}

// TestConfigValues: GET config reports the configuration the server and its tile service
// were built with, their defaults filled in. It needs no store.
func TestConfigValues(t *testing.T) {
	zoom := 12
	tests := []struct {
		name string
		svc  *tiles.Service
		cfg  server.Config
		want func(*server.ClientConfig)
	}{
		{"defaults", tiles.New(nil, tiles.Config{}), server.Config{MaxUpload: 1 << 20}, func(*server.ClientConfig) {}},
		{"no tile service: its defaults", nil, server.Config{MaxUpload: 1 << 20}, func(*server.ClientConfig) {}},
		{"configured", tiles.New(nil, tiles.Config{ExportMaxPixels: 5 << 20, TileSize: 512, StatsMaxTiles: 100}),
			server.Config{PrivateReads: true, AdminToken: adminToken, MaxZoom: &zoom, MaxUpload: 3 << 30},
			func(c *server.ClientConfig) {
				c.PrivateReads, c.ExportMaxPixels, c.TileSize, c.StatsMaxTiles, c.IngestMaxZoom, c.UploadMaxBytes = true, 5<<20, 512, 100, 12, 3<<30
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server.New(nil, tt.svc, nil, nil, tt.cfg)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/raster/config", nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("GET config: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var got server.ClientConfig
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			want := defaultConfig
			tt.want(&want)
			if got != want {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestConfig: GET config against the real store, on a server with the defaults and on one
// with another export limit and private reads. It is public (no token even with private reads,
// whose other reads are refused), has CORS as every route, an ETag of its bytes with no-cache
// and a 304 for a client that has them, and its export limit and scaled tiles' bound are the
// ones the export and the tiles apply.
func TestConfig(t *testing.T) {
	get := func(t *testing.T, e *env, method string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		return e.do(t, call{method: method, path: "/raster/config", header: header})
	}
	tests := []struct {
		name      string
		exportMax int64
		private   bool
	}{
		{"defaults", 0, false},
		{"another export limit, private reads", 3 * 256 * 256, true},
	}
	etags := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setupWith(t, tt.exportMax, func(c *server.Config) { c.PrivateReads = tt.private })
			resp, body := get(t, e, http.MethodGet, map[string]string{"Origin": "http://app.example.test"})
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(etag, `"`) ||
				resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("GET config: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			etags[etag] = true
			var got server.ClientConfig
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			want := defaultConfig
			want.PrivateReads = tt.private
			if tt.exportMax != 0 {
				want.ExportMaxPixels = tt.exportMax
			}
			if got != want {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}

			if r, b := get(t, e, http.MethodGet, map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified ||
				len(b) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("revalidated: %d %q %v, want 304 with the ETag", r.StatusCode, b, r.Header)
			}
			if r, b := get(t, e, http.MethodHead, nil); r.StatusCode != http.StatusOK || len(b) != 0 ||
				r.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
				t.Errorf("HEAD: %d %q %v", r.StatusCode, b, r.Header)
			}
			// The other reads: refused without a token when private.
			r, _ := e.do(t, call{path: "/raster/layers"})
			if wantStatus := map[bool]int{false: 200, true: 401}[tt.private]; r.StatusCode != wantStatus {
				t.Errorf("GET layers without a token: %d, want %d", r.StatusCode, wantStatus)
			}

			// An export over the reported limit is refused naming that limit: the route reports
			// the limit the export checks.
			// (Zoom 6 over most of the world: some 250 M pixels, past either limit.)
			r, b := e.do(t, call{path: "/raster/export?layers=a=ramp&formula=a&zoom=6&bbox=-170,-80,170,80", header: auth})
			m := regexp.MustCompile(`more than RASTER_EXPORT_MAX_PIXELS \((\d+)\)`).FindSubmatch(b)
			if r.StatusCode != http.StatusBadRequest || m == nil || string(m[1]) != fmt.Sprint(got.ExportMaxPixels) {
				t.Errorf("export past the limit %d: %d %s", got.ExportMaxPixels, r.StatusCode, b)
			}
			// A scaled tile past the reported bound likewise: @4x of eight variables of ramp
			// (one Float32 band) would hold 68 MiB.
			r, b = e.do(t, call{path: "/raster/algebra/4/8/5@4x.png?layers=a=ramp,b=ramp,c=ramp,d=ramp,e=ramp,f=ramp,g=ramp,h=ramp&formula=a", header: auth})
			m = regexp.MustCompile(`would hold 68 MiB .*, more than the (\d+) MiB a scaled tile may hold`).FindSubmatch(b)
			if r.StatusCode != http.StatusBadRequest || m == nil || string(m[1]) != fmt.Sprint(got.ScaledTileMaxBytes>>20) {
				t.Errorf("@4x past the bound %d: %d %s", got.ScaledTileMaxBytes, r.StatusCode, b)
			}
		})
	}
	if len(etags) != len(tests) {
		t.Errorf("the servers' configs share an ETag: %v", etags)
	}
}
