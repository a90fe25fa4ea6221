package tiles_test

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
)

// TestWMTSTileSize checks the capabilities document's matrices under RASTER_TILESIZE: the
// tile size the server cuts and serves, and scale denominators that keep a pixel's ground
// size (559082264.0287178 / 2^z for 256-pixel tiles, half that for 512). The well-known
// GoogleMapsCompatible scale set is named for 256-pixel tiles only: its scales are theirs.
func TestWMTSTileSize(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, tt := range []struct {
		size      int
		wellKnown string
	}{
		{256, "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"},
		{512, ""},
		{1024, ""},
	} {
		t.Run(strconv.Itoa(tt.size), func(t *testing.T) {
			svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, TileSize: tt.size})
			for _, r := range []*tiles.Response{
				svc.LayerWMTS(ctx, "ramp", url.Values{}, tiles.Client{BaseURL: "http://h/raster/"}),
				svc.AlgebraWMTS(ctx, url.Values{"layers": {"a=ramp"}, "formula": {"a"}}, tiles.Client{BaseURL: "http://h/raster/"}),
			} {
				ok(t, r, "application/xml")
				doc, err := tilestest.ParseWMTS(r.Body)
				if err != nil {
					t.Fatal(err)
				}
				if len(doc.MatrixSets) != 1 || len(doc.MatrixSets[0].Matrices) != 5 {
					t.Fatalf("want one matrix set of 5 matrices (zooms 0..4): %s", r.Body)
				}
				ms := doc.MatrixSets[0]
				if ms.WellKnown != tt.wellKnown {
					t.Errorf("WellKnownScaleSet %q, want %q", ms.WellKnown, tt.wellKnown)
				}
				for z, m := range ms.Matrices {
					want := 559082264.0287178 / math.Exp2(float64(z)) * 256 / float64(tt.size)
					if math.Abs(m.ScaleDenominator-want) > want*1e-12 || m.TileWidth != tt.size || m.TileHeight != tt.size || m.MatrixWidth != 1<<z {
						t.Errorf("matrix %d: %+v, want scale %v, %d-pixel tiles, %d a side", z, m, want, tt.size, 1<<z)
					}
				}
			}
		})
	}
}

// TestWMTSOGCKeys pins the capabilities of a URL a client added the OGC key-value parameters
// to (OWSLib adds service=WMTS&request=GetCapabilities&version=1.0.0): they were kept in
// every tile URL of the document (….png?colormap=viridis&request=GetCapabilities&…); the
// document is now the one of the URL without them, ETag included. TileJSON's tile_scale, which
// a WMTS document's 256-pixel matrices cannot follow, is dropped likewise.
func TestWMTSOGCKeys(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	c := tiles.Client{BaseURL: "http://h/raster/"}
	ogc := func(q url.Values) url.Values {
		out := url.Values{"SERVICE": {"WMTS"}, "request": {"GetCapabilities"}, "Version": {"1.0.0"}, "tile_scale": {"2"}}
		for k, v := range q {
			out[k] = v
		}
		return out
	}
	layer := url.Values{"colormap": {"viridis"}}
	algebra := url.Values{"layers": {"a=ramp"}, "formula": {"a+1"}}
	for _, tt := range []struct {
		name       string
		plain, kvp *tiles.Response
	}{
		{"layer", e.svc.LayerWMTS(ctx, "ramp", layer, c), e.svc.LayerWMTS(ctx, "ramp", ogc(layer), c)},
		{"algebra", e.svc.AlgebraWMTS(ctx, algebra, c), e.svc.AlgebraWMTS(ctx, ogc(algebra), c)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok(t, tt.plain, "application/xml")
			ok(t, tt.kvp, "application/xml")
			doc, err := tilestest.ParseWMTS(tt.kvp.Body)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := doc.Layers[0].ResourceURLs[0].Template
			if strings.Contains(strings.ToLower(tmpl), "request=") || strings.Contains(tmpl, "tile_scale") || strings.Contains(strings.ToLower(doc.MetadataURL.Href), "service=") {
				t.Errorf("template %q, ServiceMetadataURL %q keep the OGC parameters", tmpl, doc.MetadataURL.Href)
			}
			if string(tt.kvp.Body) != string(tt.plain.Body) || tt.kvp.Header.Get("ETag") != tt.plain.Header.Get("ETag") {
				t.Errorf("the document differs from the one without the OGC parameters:\n%s", tt.kvp.Body)
			}
		})
	}
}
