package server_test

import "testing"

// TestErrorsNotCached: error answers say Cache-Control: no-store. Without it a shared cache
// keeps a 404 by default (RFC 9111 §4.2.2): a layer's tiles stayed 404 there after the layer
// was created.
func TestErrorsNotCached(t *testing.T) {
	e := setup(t, 0)
	for _, path := range []string{
		"/raster/tiles/nosuchlayer/4/8/5.png",                 // unknown layer (tiles)
		"/raster/algebra/4/8/5.png?layers=a=ramp&formula=a*(", // bad formula
		"/raster/no/such/endpoint",                            // echo's router
	} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := e.do(t, call{method: method, path: path})
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: %d %s, Cache-Control %q", method, path, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
			}
		}
	}
}
