package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
	"github.com/tessera-gis/tessera/web"
)

// TestWebRoutes checks the embedded browser map's routes. The page's files need no store,
// so the server runs without one. Which branch runs depends on whether `make web` built
// web/dist before this test binary was compiled; make test builds it first.
func TestWebRoutes(t *testing.T) {
	srv := server.New(nil, nil, nil, nil, server.Config{Prefix: "/api/"})
	do := func(method, path string, hdr ...string) *http.Response {
		req := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec.Result()
	}
	errorOf := func(t *testing.T, res *http.Response) string {
		t.Helper()
		var body struct{ Error string }
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatalf("error body is not JSON: %v", err)
		}
		return body.Error
	}

	if !web.Built() {
		t.Run("not built", func(t *testing.T) {
			res := do("GET", "/")
			if res.StatusCode != http.StatusNotFound || !strings.Contains(errorOf(t, res), "make web") {
				t.Errorf("GET / on an unbuilt binary: %d, want 404 saying to run make web", res.StatusCode)
			}
		})
		return
	}
	files, err := web.Files()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("index with the prefix", func(t *testing.T) {
		res := do("GET", "/")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !bytes.Contains(body, []byte(`<meta name="tessera-prefix" content="/api/">`)) {
			t.Errorf("the page does not carry the server's prefix /api/")
		}
	})
	t.Run("every embedded file", func(t *testing.T) {
		for _, name := range files {
			want, _ := fs.ReadFile(web.Dist(), name)
			res := do("GET", "/"+name)
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Errorf("%s: status %d", name, res.StatusCode)
			} else if name != web.Index && !bytes.Equal(got, want) {
				t.Errorf("%s: body differs from the embedded file", name)
			}
		}
	})
	t.Run("content types", func(t *testing.T) {
		// The kit's declarations and source map: .ts was text/vnd.trolltech.linguist from
		// Debian's mime.types, and .map sniffed as text/plain.
		for name, want := range map[string]string{"tessera.wasm": "application/wasm", "app.js": "text/javascript", "app.css": "text/css", "wasm_exec.js": "text/javascript", "tessera.js": "text/javascript",
			"tessera.d.ts": "application/typescript", "tessera.js.map": "application/json"} {
			if res := do("HEAD", "/"+name); !strings.HasPrefix(res.Header.Get("Content-Type"), want) {
				t.Errorf("%s: Content-Type %q, want %s", name, res.Header.Get("Content-Type"), want)
			}
		}
	})
	t.Run("etag and gzip", func(t *testing.T) {
		res := do("GET", "/app.js", "Accept-Encoding", "gzip")
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("app.js not gzipped for a client accepting it")
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(zr)
		want, _ := fs.ReadFile(web.Dist(), "app.js")
		if !bytes.Equal(got, want) {
			t.Errorf("gunzipped app.js differs from the embedded file")
		}
		// Accept-Encoding weights (RFC 9110 §12.5.3): q=0 in any spelling refuses gzip (q=0.0
		// and Q=0 were taken as accepting it); x-gzip is gzip.
		for ae, want := range map[string]string{"gzip;q=0": "", "gzip;q=0.0": "", "gzip; Q=0": "", "gzip;q=0.000, br": "",
			"gzip;q=0.5": "gzip", "br, gzip;q=1.0": "gzip", "x-gzip": "gzip", "identity": ""} {
			if res := do("GET", "/app.js", "Accept-Encoding", ae); res.Header.Get("Content-Encoding") != want {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", ae, res.Header.Get("Content-Encoding"), want)
			}
		}
		// The gzip and identity answers have tags of their own (they shared one, so a cache
		// holding the gzip bytes could revalidate them for a client without gzip).
		gzTag := res.Header.Get("ETag")
		etag := do("GET", "/app.js").Header.Get("ETag")
		if etag == "" || gzTag == "" || etag == gzTag {
			t.Fatalf("app.js ETags identity %q, gzip %q: want two different tags", etag, gzTag)
		}
		if res := do("GET", "/app.js", "If-None-Match", gzTag); res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "" {
			t.Errorf("identity request with the gzip tag: %d %q, want 200 identity", res.StatusCode, res.Header.Get("Content-Encoding"))
		}
		if res := do("GET", "/app.js", "If-None-Match", gzTag, "Accept-Encoding", "gzip"); res.StatusCode != http.StatusNotModified || res.Header.Get("ETag") != gzTag {
			t.Errorf("gzip revalidation: %d %q, want 304 %s", res.StatusCode, res.Header.Get("ETag"), gzTag)
		}
		// RFC 9110 §13.1.2: *, lists and weak tags match; a tag matches whole (the handler
		// once used strings.Contains, which ignored * and matched tags glued together).
		for _, tc := range []struct {
			header string
			want   int
		}{
			{etag, http.StatusNotModified},
			{"*", http.StatusNotModified},
			{`"other", ` + etag, http.StatusNotModified},
			{"W/" + etag, http.StatusNotModified},
			{`"other"`, http.StatusOK},
			{`"` + etag[1:len(etag)-2] + `"`, http.StatusOK},
			{`"x"` + etag, http.StatusOK},
		} {
			if res := do("GET", "/app.js", "If-None-Match", tc.header); res.StatusCode != tc.want {
				t.Errorf("If-None-Match %q: %d, want %d", tc.header, res.StatusCode, tc.want)
			}
		}
	})
	t.Run("other paths keep JSON errors", func(t *testing.T) {
		if res := do("GET", "/nope.js"); res.StatusCode != 404 || errorOf(t, res) == "" {
			t.Errorf("GET /nope.js: %d, want a JSON 404", res.StatusCode)
		}
		if res := do("POST", "/"); res.StatusCode != 405 || errorOf(t, res) == "" {
			t.Errorf("POST /: %d, want a JSON 405", res.StatusCode)
		}
	})
}

// TestUploadFormDatatypes checks that every datatype the map's upload form offers is one
// POST layers accepts (the form sent "rank", which the server refused with a 400).
func TestUploadFormDatatypes(t *testing.T) {
	root, err := testdatagen.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "web", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	sel := regexp.MustCompile(`(?s)<select\b[^>]*\bname="datatype"[^>]*>(.*?)</select>`).FindSubmatch(page)
	if sel == nil {
		t.Fatal(`web/index.html has no <select name="datatype">`)
	}
	opts := regexp.MustCompile(`<option value="([^"]*)"`).FindAllSubmatch(sel[1], -1)
	if len(opts) != 4 {
		t.Errorf("the datatype select has %d options, want the 4 datatypes", len(opts))
	}
	for _, o := range opts {
		if _, err := catalog.ParseDatatype(string(o[1])); err != nil {
			t.Errorf("option %q: %v", o[1], err)
		}
	}
}
