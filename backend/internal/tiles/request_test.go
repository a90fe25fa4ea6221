package tiles

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestParseLayersUnusableNames: a variable that formulas read as something else is refused
// with a 400 naming it. layers=E=scene was accepted and the layer ignored: formula=E gave
// e = 2.718… everywhere.
func TestParseLayersUnusableNames(t *testing.T) {
	tests := []struct {
		name, layers string
		ok           bool
	}{
		{"ordinary names", "a=1,n:3=scene,x_1=2,Red=3,e=4,pi=5", true},
		{"the constant E", "E=scene", false},
		{"the constant PI after a good name", "a=1,PI=2", false},
		{"TRUE", "TRUE=1", false},
		{"INF", "INF=1", false},
		{"NULL", "NULL=1", false},
		{"a function name", "sin=1", false},
		{"a function Tessera added (a variable to django-raster)", "sqrt=1,where=2,clamp:1=3", true},
		{"a reduction's name", "mean:2=1", false},
		{"a number", "2=1", false},
		{"a leading digit", "2a=1", false},
		{"a leading underscore", "_a=1", false},
		{"a trailing underscore", "a_=1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLayers(tc.layers)
			if tc.ok {
				if err != nil {
					t.Fatalf("ParseLayers(%q): %v", tc.layers, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cannot name a variable") {
				t.Fatalf("ParseLayers(%q): %v; want ErrInvalid saying the name cannot name a variable", tc.layers, err)
			}
		})
	}
}

// TestRequestZoom: export and stats take zoom= up to catalog.MaxParseZoom (24), the deepest a parse
// may produce; they stopped at 22, so a layer parsed at 23 or 24 could not be exported or
// counted at its own zoom.
func TestRequestZoom(t *testing.T) {
	for _, c := range []struct {
		zoom string
		ok   bool
	}{{"0", true}, {"22", true}, {"23", true}, {"24", true}, {"25", false}, {"-1", false}, {"x", false}} {
		q := url.Values{"layers": {"a=1"}, "formula": {"a"}, "zoom": {c.zoom}}
		if _, err := ParseExport(q); (err == nil) != c.ok {
			t.Errorf("export zoom=%s: %v", c.zoom, err)
		}
		if _, err := ParseStats(q); (err == nil) != c.ok {
			t.Errorf("stats zoom=%s: %v", c.zoom, err)
		}
	}
}
