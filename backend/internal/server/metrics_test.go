package server_test

import (
	"bytes"
	"testing"
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
