package tiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestPixelLonLatHint: pixel/{x}/{y} with longitude and latitude instead of EPSG:3857
// metres (pixel/11.58/48.14) answered {"x":11.58,"y":48.14,"value":null} and no word of the
// mistake. The answer stays (200, null), with a "hint" naming the point in metres when the
// point is outside every layer in metres but inside one in degrees; no hint otherwise.
func TestPixelLonLatHint(t *testing.T) {
	e := setup(t)
	home := tilestest.Home.Bounds() // the seeded layers' extent: lon 0–22.5°, lat 41–55.8°
	mx, my := tile.LonLatToMercator(11.58, 48.14)
	metres := "pixel/" + strconv.FormatFloat(mx, 'f', 2, 64) + "/" + strconv.FormatFloat(my, 'f', 2, 64)
	tests := []struct {
		name, x, y, query string
		hint              []string // substrings of the hint; nil: no hint
	}{
		{"degrees in a layer", "11.58", "48.14", "layers=a=ramp&formula=a",
			[]string{"EPSG:3857 metres", "(11.58, 48.14)", `layer "ramp"`, metres}},
		{"two layers: the first named", "11.58", "48.14", "layers=b=const,a=ramp&formula=a%2Bb",
			[]string{`layer "const"`, metres}},
		{"the metres the hint names", strconv.FormatFloat(mx, 'f', 2, 64), strconv.FormatFloat(my, 'f', 2, 64), "layers=a=ramp&formula=a", nil},
		{"a point in the layer", fmt.Sprint((home.MinX + home.MaxX) / 2), fmt.Sprint((home.MinY + home.MaxY) / 2), "layers=a=ramp&formula=a", nil},
		{"outside both readings", "100", "10", "layers=a=ramp&formula=a", nil},
		{"no longitude", "-19000000", "19000000", "layers=a=ramp&formula=a", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			req, err := tiles.ParsePixel(tc.x, tc.y, q)
			if err != nil {
				t.Fatal(err)
			}
			r := e.svc.Pixel(context.Background(), req, tiles.Client{})
			ok(t, r, "application/json")
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			hint, has := got["hint"].(string)
			if has != (tc.hint != nil) {
				t.Fatalf("%s: hint %v, want %v", r.Body, has, tc.hint != nil)
			}
			for _, s := range tc.hint {
				if !strings.Contains(hint, s) {
					t.Errorf("hint %q lacks %q", hint, s)
				}
			}
			if has && got["value"] != nil {
				t.Errorf("%s: want value null", r.Body)
			}
		})
	}
}
