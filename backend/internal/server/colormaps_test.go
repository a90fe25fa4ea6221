package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/shared/colormap"
)

// TestColormapNames: GET colormaps lists the colormap registry's names (the web map fills
// its select from it), each usable as a name and reversed; it is a read route, so private
// reads need the token. It needs no store.
func TestColormapNames(t *testing.T) {
	do := func(srv *server.Server, method, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/raster/colormaps", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	srv := server.New(nil, nil, nil, nil, server.Config{Prefix: "/raster/"})
	rec := do(srv, http.MethodGet, "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET colormaps: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var body struct {
		Colormaps []string `json:"colormaps"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if want := colormap.List(); len(want) == 0 || !slices.Equal(body.Colormaps, want) {
		t.Fatalf("colormaps %v, want the registry's %v", body.Colormaps, want)
	}
	for _, n := range body.Colormaps {
		for _, name := range []string{n, n + "_r"} {
			if _, err := colormap.Named(name); err != nil {
				t.Errorf("listed name %q: %v", name, err)
			}
		}
	}
	if rec := do(srv, http.MethodHead, ""); rec.Code != http.StatusOK {
		t.Errorf("HEAD colormaps: %d", rec.Code)
	}
	private := server.New(nil, nil, nil, nil, server.Config{Prefix: "/raster/", PrivateReads: true, AdminToken: adminToken})
	if rec := do(private, http.MethodGet, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("private reads without a token: %d, want 401", rec.Code)
	}
	if rec := do(private, http.MethodGet, adminToken); rec.Code != http.StatusOK {
		t.Errorf("private reads with the token: %d, want 200", rec.Code)
	}
}
