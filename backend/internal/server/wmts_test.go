package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// wmtsOf reads a capabilities answer: 200, application/xml, one layer and one matrix set.
func wmtsOf(t *testing.T, resp *http.Response, body []byte) tilestest.WMTS {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type %q, want application/xml", ct)
	}
	w, err := tilestest.ParseWMTS(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(w.Layers) != 1 || len(w.MatrixSets) != 1 || len(w.Layers[0].ResourceURLs) != 1 {
		t.Fatalf("%d layers, %d matrix sets, want 1 each with one ResourceURL:\n%s", len(w.Layers), len(w.MatrixSets), body)
	}
	return w
}

// tileJSONOf reads a TileJSON answer.
func tileJSONOf(t *testing.T, e *env, path string) tiles.TileJSON {
	t.Helper()
	resp, body := e.do(t, call{path: path})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	var tj tiles.TileJSON
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	return tj
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestWMTS checks tiles/{layer}/WMTSCapabilities.xml and algebra/WMTSCapabilities.xml
// against the layers they describe and the TileJSON of the same request: identifiers,
// bounds, the tile URL template (absolute, the query kept), one matrix per zoom to the max
// zoom at the GoogleMapsCompatible scales.
func TestWMTS(t *testing.T) {
	e := setup(t, 0)
	fx := e.fx
	// A layer not parsed yet, max zoom 6 and no extent: algebra over it and ramp goes to
	// zoom 6, within ramp's bounds.
	deep := catalog.NewLayer("deep", "/data/deep.tif")
	six := 6
	deep.MaxZoom = &six
	if err := e.st.CreateLayer(context.Background(), &deep); err != nil {
		t.Fatal(err)
	}
	ext := fx.Ramp.Meta.Extent
	w, s := tile.MercatorToLonLat(ext[0], ext[1])
	east, n := tile.MercatorToLonLat(ext[2], ext[3])
	rampBounds := [4]float64{w, s, east, n}
	world := [4]float64{-180, -85.0511287798066, 180, 85.0511287798066}
	worldExtent := [4]float64{-tile.Origin, -tile.Origin, tile.Origin, tile.Origin}
	id := strconv.FormatInt(fx.Ramp.ID, 10)
	const style = "colormap=viridis&enhance_contrast=1.5"
	tests := []struct {
		name, path, tileJSON string
		identifier, title    string
		abstract             string
		bounds, extent       [4]float64
		maxZoom              int
		format               string
	}{
		{"layer by name", "/raster/tiles/ramp/WMTSCapabilities.xml?" + style, "/raster/tiles/ramp.json?" + style,
			"ramp", "ramp", "", rampBounds, ext, 4, "image/png"},
		{"layer by id", "/raster/tiles/" + id + "/WMTSCapabilities.xml?" + style, "/raster/tiles/" + id + ".json?" + style,
			"ramp", "ramp", "", rampBounds, ext, 4, "image/png"},
		{"layer by file name fragment", "/raster/tiles/ramp_float/WMTSCapabilities.xml", "/raster/tiles/ramp_float.json",
			"ramp", "ramp", "", rampBounds, ext, 4, "image/png"},
		{"jpg", "/raster/tiles/classes/WMTSCapabilities.xml?format=jpg", "/raster/tiles/classes.json?format=jpg",
			"classes", "classes", "", rampBounds, ext, 4, "image/jpeg"},
		{"a layer without extent", "/raster/tiles/deep/WMTSCapabilities.xml", "/raster/tiles/deep.json",
			"deep", "deep", "", world, worldExtent, 6, "image/png"},
		{"algebra", "/raster/algebra/WMTSCapabilities.xml?layers=a=ramp,b=const&formula=a%2Bb&" + style,
			"/raster/algebra.json?layers=a=ramp,b=const&formula=a%2Bb&" + style,
			"algebra", "algebra", "a+b", rampBounds, ext, 4, "image/png"},
		{"algebra: the deepest layer's zoom", "/raster/algebra/WMTSCapabilities.xml?layers=a=ramp,b=deep&formula=a*b&format=png",
			"/raster/algebra.json?layers=a=ramp,b=deep&formula=a*b&format=png",
			"algebra", "algebra", "a*b", rampBounds, ext, 6, "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, call{path: tt.path})
			doc := wmtsOf(t, resp, body)
			if doc.Version != "1.0.0" || doc.ServiceType != "OGC WMTS" || !strings.Contains(doc.ServiceTitle, tt.title) {
				t.Errorf("version %q, service %q %q", doc.Version, doc.ServiceType, doc.ServiceTitle)
			}
			l := doc.Layers[0]
			if l.Identifier != tt.identifier || l.Title != tt.title || l.Abstract != tt.abstract {
				t.Errorf("layer %q %q %q, want %q %q %q", l.Identifier, l.Title, l.Abstract, tt.identifier, tt.title, tt.abstract)
			}
			got, err := l.WGS84.Corners()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !near(got[i], tt.bounds[i], 1e-9) {
					t.Errorf("WGS84BoundingBox %v, want %v", got, tt.bounds)
					break
				}
			}
			got, err = l.BBox.Corners()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !near(got[i], tt.extent[i], 1e-6) || l.BBox.CRS != "urn:ogc:def:crs:EPSG::3857" {
					t.Errorf("BoundingBox %s %v, want EPSG:3857 %v", l.BBox.CRS, got, tt.extent)
					break
				}
			}
			if len(l.Styles) != 1 || !l.Styles[0].IsDefault || l.Styles[0].Identifier != "default" {
				t.Errorf("styles %+v, want one default", l.Styles)
			}
			if len(l.Formats) != 1 || l.Formats[0] != tt.format {
				t.Errorf("formats %v, want %s", l.Formats, tt.format)
			}
			if len(l.MatrixLinks) != 1 || l.MatrixLinks[0] != "GoogleMapsCompatible" {
				t.Errorf("TileMatrixSetLink %v", l.MatrixLinks)
			}
			// The template is TileJSON's tile URL with WMTS's placeholders: absolute, the
			// query kept but format.
			tj := tileJSONOf(t, e, tt.tileJSON)
			want := strings.NewReplacer("{z}", "{TileMatrix}", "{x}", "{TileCol}", "{y}", "{TileRow}").Replace(tj.Tiles[0])
			ru := l.ResourceURLs[0]
			if ru.Template != want || ru.Format != tt.format || ru.ResourceType != "tile" {
				t.Errorf("ResourceURL %+v, want template %s format %s", ru, want, tt.format)
			}
			if !strings.HasPrefix(ru.Template, e.ts.URL+"/raster/") || strings.Contains(ru.Template, "format=") {
				t.Errorf("template %s: want absolute, under %s/raster/, without format=", ru.Template, e.ts.URL)
			}
			if strings.Contains(tt.path, "colormap") && !strings.Contains(ru.Template, "?colormap=viridis&enhance_contrast=1.5") {
				t.Errorf("template %s lost the query", ru.Template)
			}
			if tj.Bounds != tt.bounds {
				t.Errorf("TileJSON bounds %v, the document's %v", tj.Bounds, tt.bounds)
			}
			// The document's own URL, its query as asked (re-encoded).
			self, err := url.Parse(doc.MetadataURL.Href)
			if err != nil {
				t.Fatal(err)
			}
			asked, _ := url.Parse(e.ts.URL + tt.path)
			if self.Scheme+"://"+self.Host+self.Path != e.ts.URL+asked.Path || self.Query().Encode() != asked.Query().Encode() {
				t.Errorf("ServiceMetadataURL %s, want %s", doc.MetadataURL.Href, asked)
			}
			ms := doc.MatrixSets[0]
			if ms.Identifier != "GoogleMapsCompatible" || ms.SupportedCRS != "urn:ogc:def:crs:EPSG::3857" ||
				ms.WellKnown != "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible" {
				t.Errorf("matrix set %q %q %q", ms.Identifier, ms.SupportedCRS, ms.WellKnown)
			}
			if len(ms.Matrices) != tt.maxZoom+1 {
				t.Fatalf("%d matrices, want %d (zooms 0..%d)", len(ms.Matrices), tt.maxZoom+1, tt.maxZoom)
			}
			for z, m := range ms.Matrices {
				want := 559082264.0287178 / math.Exp2(float64(z))
				if m.Identifier != strconv.Itoa(z) || !near(m.ScaleDenominator, want, want*1e-12) ||
					m.TopLeftCorner != "-20037508.3427892 20037508.3427892" || m.TileWidth != 256 || m.TileHeight != 256 ||
					m.MatrixWidth != 1<<z || m.MatrixHeight != 1<<z {
					t.Errorf("matrix %d: %+v, want scale %v, %d×%d tiles of 256", z, m, want, 1<<z, 1<<z)
				}
			}
		})
	}
}

// TestWMTSHTTP checks what the capabilities answers share with TileJSON's and the tiles':
// ETag and 304, HEAD, CORS, Vary on the forwarding headers and a reverse proxy's host in the
// URLs, private reads, and the errors.
func TestWMTSHTTP(t *testing.T) {
	e := setup(t, 0)
	const path = "/raster/tiles/ramp/WMTSCapabilities.xml?colormap=viridis"
	resp, body := e.do(t, call{path: path})
	wmtsOf(t, resp, body)
	etag := resp.Header.Get("ETag")
	t.Run("ETag and 304", func(t *testing.T) {
		if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("ETag %q, Cache-Control %q, want an entity tag and no-cache", etag, resp.Header.Get("Cache-Control"))
		}
		r, b := e.do(t, call{path: path, header: map[string]string{"If-None-Match": etag}})
		if r.StatusCode != http.StatusNotModified || len(b) != 0 || r.Header.Get("ETag") != etag {
			t.Errorf("revalidation: %d %q ETag %q, want 304 with the ETag", r.StatusCode, b, r.Header.Get("ETag"))
		}
		// Another query is another document.
		r, _ = e.do(t, call{path: "/raster/tiles/ramp/WMTSCapabilities.xml", header: map[string]string{"If-None-Match": etag}})
		if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == etag {
			t.Errorf("another query: %d ETag %q, want 200 and another tag", r.StatusCode, r.Header.Get("ETag"))
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		r, b := e.do(t, call{method: http.MethodHead, path: path})
		if r.StatusCode != http.StatusOK || len(b) != 0 || r.Header.Get("Content-Length") != strconv.Itoa(len(body)) ||
			r.Header.Get("Content-Type") != "application/xml" || r.Header.Get("ETag") != etag {
			t.Errorf("HEAD: %d, %d bytes, Content-Length %s, %s, ETag %s", r.StatusCode, len(b), r.Header.Get("Content-Length"),
				r.Header.Get("Content-Type"), r.Header.Get("ETag"))
		}
	})
	t.Run("CORS", func(t *testing.T) {
		r, _ := e.do(t, call{path: path, header: map[string]string{"Origin": "https://qgis.example"}})
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("Access-Control-Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("behind a reverse proxy", func(t *testing.T) {
		for _, p := range []string{path, "/raster/algebra/WMTSCapabilities.xml?layers=a=ramp&formula=a"} {
			r, b := e.do(t, call{path: p, header: map[string]string{"X-Forwarded-Host": "maps.example.com", "X-Forwarded-Proto": "https"}})
			doc := wmtsOf(t, r, b)
			if tmpl := doc.Layers[0].ResourceURLs[0].Template; !strings.HasPrefix(tmpl, "https://maps.example.com/raster/") {
				t.Errorf("template %s, want it under https://maps.example.com/raster/", tmpl)
			}
			if href := doc.MetadataURL.Href; !strings.HasPrefix(href, "https://maps.example.com/raster/") {
				t.Errorf("ServiceMetadataURL %s", href)
			}
			vary := strings.Join(r.Header.Values("Vary"), ",")
			for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Ssl"} {
				if !strings.Contains(vary, h) {
					t.Errorf("%s: Vary %q lacks %s", p, vary, h)
				}
			}
		}
	})
	// A bad request's answer is the one TileJSON gives the same query, with the message.
	errs := []struct {
		name, path, tileJSON string
		status               int
		msg                  string
	}{
		{"unknown layer", "/raster/tiles/nosuch/WMTSCapabilities.xml", "/raster/tiles/nosuch.json", 404, "not found"},
		{"bad formula", "/raster/algebra/WMTSCapabilities.xml?layers=a=ramp&formula=a*(", "/raster/algebra.json?layers=a=ramp&formula=a*(", 400, ""},
		{"unknown layer in algebra", "/raster/algebra/WMTSCapabilities.xml?layers=a=nosuch&formula=a", "/raster/algebra.json?layers=a=nosuch&formula=a", 404, "not found"},
		{"bad colormap", "/raster/tiles/ramp/WMTSCapabilities.xml?colormap=nosuchmap", "/raster/tiles/ramp.json?colormap=nosuchmap", 400, "colormap"},
		{"bad format", "/raster/tiles/ramp/WMTSCapabilities.xml?format=gif", "/raster/tiles/ramp.json?format=gif", 400, "format"},
		{"a format no WMTS client draws", "/raster/tiles/ramp/WMTSCapabilities.xml?format=msgpack", "", 400, "png or jpg"},
		{"another file under a layer", "/raster/tiles/ramp/capabilities.xml", "", 404, "no such endpoint"},
		{"another file under algebra", "/raster/algebra/WMTSCapabilities.json?layers=a=ramp&formula=a", "", 404, "no such endpoint"},
		{"the name in another case", "/raster/tiles/ramp/wmtscapabilities.xml", "", 404, "the capabilities document is WMTSCapabilities.xml"},
		{"the name in another case under algebra", "/raster/algebra/WMTSCAPABILITIES.XML?layers=a=ramp&formula=a", "", 404, "the capabilities document is WMTSCapabilities.xml"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r, b := e.do(t, call{path: tt.path})
			var eb tiles.ErrorBody
			if r.StatusCode != tt.status || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &eb) != nil ||
				eb.Error == "" || !strings.Contains(eb.Error, tt.msg) {
				t.Fatalf("%d %s %s, want %d with a JSON error naming %q", r.StatusCode, r.Header.Get("Content-Type"), b, tt.status, tt.msg)
			}
			if tt.tileJSON != "" {
				if tr, tb := e.do(t, call{path: tt.tileJSON}); tr.StatusCode != r.StatusCode || !bytes.Equal(tb, b) {
					t.Errorf("TileJSON answers %d %s, WMTS %d %s", tr.StatusCode, tb, r.StatusCode, b)
				}
			}
		})
	}
	t.Run("private reads", func(t *testing.T) {
		p := setupWith(t, 0, func(c *server.Config) { c.PrivateReads = true })
		for _, u := range []string{path, "/raster/algebra/WMTSCapabilities.xml?layers=a=ramp&formula=a"} {
			if r, b := p.do(t, call{path: u}); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s without a token: %d %s", u, r.StatusCode, b)
			}
			if r, b := p.do(t, call{path: u, header: auth}); r.StatusCode != http.StatusOK {
				t.Errorf("%s with the token: %d %s", u, r.StatusCode, b)
			}
		}
	})
}

// TestWMTSWithGDAL opens the capabilities documents with GDAL's WMTS driver, a real client
// (QGIS reads WMTS through the same driver's logic), and reads tile Home, at the layers' max
// zoom, out of the deepest matrix, which the driver exposes as the full-resolution raster:
// every pixel must be the server's own PNG of that tile.
func TestWMTSWithGDAL(t *testing.T) {
	e := setup(t, 0)
	home := tilestest.Home
	hb := home.Bounds()
	zxy := strconv.Itoa(home.Z) + "/" + strconv.Itoa(home.X) + "/" + strconv.Itoa(home.Y)
	tests := []struct{ name, capabilities, tile string }{
		{"layer", "/raster/tiles/ramp/WMTSCapabilities.xml?colormap=viridis", "/raster/tiles/ramp/" + zxy + ".png?colormap=viridis"},
		// GDAL splits a WMTS: name at commas (WMTS:url,layer=…): the layers list's commas
		// are written %2C.
		{"algebra", "/raster/algebra/WMTSCapabilities.xml?layers=r:0=rgb%2Cg:1=rgb%2Cb:2=rgb&alpha",
			"/raster/algebra/" + zxy + ".png?layers=r:0=rgb,g:1=rgb,b:2=rgb&alpha"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The driver caches tiles on disk (./gdalwmscache by default): a directory of
			// the test's own, so nothing lands in the package and no run reads another's.
			ds, err := gdal.Open("WMTS:"+e.ts.URL+tt.capabilities, "GDAL_DEFAULT_WMS_CACHE_PATH="+t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			in, err := ds.Info()
			if err != nil {
				t.Fatal(err)
			}
			gt := in.GeoTransform
			size := float64(tilestest.Size)
			if in.EPSG != 3857 || len(in.Bands) != 4 || !near(gt[1], hb.Width()/size, 1e-6) || !near(gt[5], -hb.Height()/size, 1e-6) {
				t.Fatalf("EPSG:%d, %d bands, geotransform %v: want EPSG:3857, RGBA, zoom %d's pixels", in.EPSG, len(in.Bands), gt, home.Z)
			}
			col := int(math.Round((hb.MinX - gt[0]) / gt[1]))
			row := int(math.Round((hb.MaxY - gt[3]) / gt[5]))
			if col < 0 || row < 0 || col+tilestest.Size > in.Width || row+tilestest.Size > in.Height {
				t.Fatalf("tile %v at pixel (%d, %d) is outside the %d×%d raster", home, col, row, in.Width, in.Height)
			}
			got := image.NewNRGBA(image.Rect(0, 0, tilestest.Size, tilestest.Size))
			for i := 0; i < 4; i++ {
				b := raster.New(raster.Byte, tilestest.Size, tilestest.Size)
				if err := ds.ReadBand(i, col, row, tilestest.Size, tilestest.Size, b, gdal.Nearest); err != nil {
					t.Fatal(err)
				}
				for k, v := range b.Data {
					got.Pix[4*k+i] = v
				}
			}
			resp, body := e.do(t, call{path: tt.tile})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("tile: %d %s", resp.StatusCode, body)
			}
			want, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for y := 0; y < tilestest.Size; y++ {
				for x := 0; x < tilestest.Size; x++ {
					g := got.NRGBAAt(x, y)
					w := color.NRGBAModel.Convert(want.At(x, y)).(color.NRGBA)
					// A transparent pixel's colour is nobody's (as samePixels in the
					// tiles tests).
					if g != w && !(g.A == 0 && w.A == 0) {
						if bad < 5 {
							t.Errorf("pixel (%d,%d): GDAL %v, the tile %v", x, y, g, w)
						}
						bad++
					}
				}
			}
			if bad > 0 {
				var buf bytes.Buffer
				_ = png.Encode(&buf, got)
				p := filepath.Join(os.TempDir(), strings.ReplaceAll(t.Name(), "/", "_")+".png")
				_ = os.WriteFile(p, buf.Bytes(), 0o644)
				t.Errorf("%d pixels differ; GDAL's read written to %s", bad, p)
			}
		})
	}
}
