package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/server"
)

// TestMetricsMethodLabel: a request with a made-up method is counted under method="other".
// Its own name made a new series each time, kept for the process's life, so any client
// could grow /metrics without bound.
func TestMetricsMethodLabel(t *testing.T) {
	e := setup(t, 0)
	for _, m := range []string{"XYZ1", "XYZ2", "PROPFIND"} {
		if resp, _ := e.do(t, call{method: m, path: "/raster/layers"}); resp.StatusCode != 405 {
			t.Errorf("%s: %d, want 405", m, resp.StatusCode)
		}
	}
	e.do(t, call{method: "DELETE", path: "/raster/layers"})
	_, body := e.do(t, call{path: "/metrics"})
	for _, bad := range []string{`method="XYZ1"`, `method="XYZ2"`, `method="PROPFIND"`} {
		if bytes.Contains(body, []byte(bad)) {
			t.Errorf("metrics have a series with %s", bad)
		}
	}
	for _, want := range []string{
		`tessera_http_request_duration_seconds_count{method="other",route="/raster/layers",status="4xx"} 3`,
		`tessera_http_request_duration_seconds_count{method="DELETE",route="/raster/layers",status="4xx"} 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestMetricsCountPanics: a handler's panic is a 500 that the latency histogram counts and
// the request log shows. The recoverer ran outside the observer, so a panicking request
// left no series and no request line: an alert on the 5xx rate never saw it.
func TestMetricsCountPanics(t *testing.T) {
	srv := server.New(nil, nil, nil, nil, server.Config{}) // no store: /healthz panics
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := do("/healthz"); rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("/healthz without a store: %d %s, want a JSON 500", rec.Code, rec.Body)
	}
	want := `tessera_http_request_duration_seconds_count{method="GET",route="/healthz",status="5xx"} 1`
	if body := do("/metrics").Body.String(); !strings.Contains(body, want) {
		t.Errorf("metrics lack %s", want)
	}
}
