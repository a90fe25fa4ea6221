package tiles_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/geotiff"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

var update = flag.Bool("update", false, "rewrite golden files")

var _ tiles.Store = (*pgstore.Store)(nil)

type env struct {
	svc *tiles.Service
	fx  *tilestest.Fixture
	st  *pgstore.Store
}

func setup(t *testing.T) *env {
	t.Helper()
	st := dbtest.New(t)
	fx := tilestest.Seed(t, st)
	return &env{svc: tiles.New(st, tiles.Config{LayerTTL: -1}), fx: fx, st: st}
}

func (e *env) tile(t *testing.T, layer string, z tile.ZXY, ext, query string, c tiles.Client) *tiles.Response {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req, err := tiles.ParseTile(layer, strconv.Itoa(z.Z), strconv.Itoa(z.X), strconv.Itoa(z.Y), ext, q)
	if err != nil {
		t.Fatalf("ParseTile: %v", err)
	}
	return e.svc.Tile(context.Background(), req, c)
}

func (e *env) algebra(t *testing.T, z tile.ZXY, ext, query string, c tiles.Client) *tiles.Response {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req, err := tiles.ParseAlgebra(strconv.Itoa(z.Z), strconv.Itoa(z.X), strconv.Itoa(z.Y), ext, q)
	if err != nil {
		t.Fatalf("ParseAlgebra: %v", err)
	}
	return e.svc.Algebra(context.Background(), req, c)
}

// statsRequest parses the query of a stats request.
func statsRequest(t *testing.T, query string) tiles.StatsRequest {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req, err := tiles.ParseStats(q)
	if err != nil {
		t.Fatalf("ParseStats: %v", err)
	}
	return req
}

// exportRequest parses the query of an export request.
func exportRequest(t *testing.T, query string) tiles.ExportRequest {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req, err := tiles.ParseExport(q)
	if err != nil {
		t.Fatalf("ParseExport: %v", err)
	}
	return req
}

func ok(t *testing.T, r *tiles.Response, ctype string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.Status, r.Body)
	}
	if got := r.Header.Get("Content-Type"); got != ctype {
		t.Fatalf("Content-Type %q, want %q", got, ctype)
	}
}

// samePixels compares a PNG answer with the renderer's image, pixel by pixel; on failure the
// answer is written next to the test's temp dir for a look.
func samePixels(t *testing.T, body []byte, want *image.NRGBA) {
	t.Helper()
	got, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("answer is not a PNG: %v", err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, want %v", got.Bounds(), want.Bounds())
	}
	bad := 0
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			w := want.NRGBAAt(x, y)
			if g != w && !(g.A == 0 && w.A == 0) {
				if bad < 5 {
					t.Errorf("pixel (%d,%d) = %v, want %v", x, y, g, w)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		p := filepath.Join(os.TempDir(), strings.ReplaceAll(t.Name(), "/", "_")+".png")
		_ = os.WriteFile(p, body, 0o644)
		t.Errorf("%d pixels differ; answer written to %s", bad, p)
	}
}

func expected(t *testing.T, req render.Request) *render.Output {
	t.Helper()
	out, err := render.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compile(t *testing.T, src string) *formula.Program {
	t.Helper()
	p, err := formula.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImages(t *testing.T) {
	e := setup(t)
	fx := e.fx
	ramp := fx.Bands["ramp"][0]
	rampRange := &[2]float64{fx.Ramp.Bands[0].Min, fx.Ramp.Bands[0].Max}
	cont, err := colormap.Parse([]byte(`{'continuous': true, 'from': '#000080', 'over': 'ffffff', 'to': [128, 0, 0]}`))
	if err != nil {
		t.Fatal(err)
	}
	legendCM, err := fx.Legend.Colormap()
	if err != nil {
		t.Fatal(err)
	}
	viridis, err := colormap.Named("viridis")
	if err != nil {
		t.Fatal(err)
	}
	c3 := 3.0
	const classColours = `{"1": "#ff0000", "2": "#00ff0080", "3": "#0000ff", "9": "#ffffff"}`
	discrete, err := colormap.Parse([]byte(classColours))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		get     func() *tiles.Response
		want    render.Request
		agg     string
		palette bool // a palette PNG (colour type 3): the colours are a discrete colormap's
	}{
		{"tile grayscale over the layer's statistics",
			func() *tiles.Response { return e.tile(t, "ramp", tilestest.Home, "png", "", tiles.Client{}) },
			render.Request{Bands: map[string]*raster.Band{"x": ramp}, Formula: compile(t, "x"), Range: rampRange}, "", false},
		{"tile by file-name fragment with a named colormap",
			func() *tiles.Response {
				return e.tile(t, "ramp_float", tilestest.Home, "png", "colormap=viridis", tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"x": ramp}, Formula: compile(t, "x"), Colormap: viridis, Range: rampRange}, "", false},
		{"tile with the layer's own legend",
			func() *tiles.Response {
				return e.tile(t, strconv.FormatInt(fx.Classes.ID, 10), tilestest.Home, "png", "", tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"x": fx.Bands["classes"][0]}, Formula: compile(t, "x"), Colormap: legendCM,
				Range: &[2]float64{1, 3}}, `{"1":21930,"2":21930,"3":21420}`, true}, // 86, 86 and 84 columns of 255 rows
		{"tile with a discrete colormap",
			func() *tiles.Response {
				return e.tile(t, "classes", tilestest.Home, "png", "colormap="+url.QueryEscape(classColours), tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"x": fx.Bands["classes"][0]}, Formula: compile(t, "x"), Colormap: discrete,
				Range: &[2]float64{1, 3}}, `{"1":21930,"2":21930,"3":21420,"9":0}`, true},
		{"algebra with a legend by title and entries",
			func() *tiles.Response {
				return e.algebra(t, tilestest.Home, "png", "layers=x=classes&formula=x&legend=land%20COVER&entries=1,3", tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"x": fx.Bands["classes"][0]}, Formula: compile(t, "x"), Colormap: legendCM,
				Entries: []string{"1", "3"}}, `{"1":21930,"3":21420}`, true},
		{"algebra of three layers with a continuous colormap",
			func() *tiles.Response {
				return e.algebra(t, tilestest.Home, "png", "layers=a=ramp,b=const,c=classes&formula=(a%2Bb)*c&colormap="+url.QueryEscape(`{'continuous': true, 'from': '#000080', 'over': 'ffffff', 'to': [128, 0, 0]}`), tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"a": ramp, "b": fx.Bands["const"][0], "c": fx.Bands["classes"][0]},
				Formula: compile(t, "(a+b)*c"), Colormap: cont}, "", false},
		{"algebra with a legend by title, entries and contrast",
			func() *tiles.Response {
				return e.algebra(t, tilestest.Home, "png", "layers=x=classes&formula=x&legend=land%20COVER&entries=1,3&enhance_contrast=3", tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"x": fx.Bands["classes"][0]}, Formula: compile(t, "x"), Colormap: legendCM,
				Entries: []string{"1", "3"}, Enhance: render.Enhance{Contrast: &c3}}, `{"1":21930,"3":21420}`, true}, // the palette contrasted as the pixels
		{"algebra RGB with band accessors, scale and alpha",
			func() *tiles.Response {
				return e.algebra(t, tilestest.Home, "png", "layers=r:0=rgb,g:1=rgb,b:2=rgb&scale=0,255&alpha", tiles.Client{})
			},
			render.Request{Bands: map[string]*raster.Band{"r": fx.Bands["rgb"][0], "g": fx.Bands["rgb"][1], "b": fx.Bands["rgb"][2]},
				RGB: &render.RGB{Scale: &[2]float64{0, 255}, Alpha: true}}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.get()
			ok(t, r, "image/png")
			out := expected(t, tc.want)
			samePixels(t, r.Body, out.Image)
			if ct := r.Body[25]; (ct == 3) != tc.palette { // IHDR's colour type
				t.Errorf("PNG colour type %d, want a palette PNG (3): %v", ct, tc.palette)
			}
			if got := r.Header.Get("aggregation"); got != tc.agg {
				t.Errorf("aggregation header %q, want %q", got, tc.agg)
			}
			if r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") == "" {
				t.Errorf("no ETag or Cache-Control: %v", r.Header)
			}
		})
	}
}

func TestJPEG(t *testing.T) {
	e := setup(t)
	r := e.tile(t, "ramp", tilestest.Home, "jpg", "", tiles.Client{})
	ok(t, r, "image/jpeg")
	img, _, err := image.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	// Pixel 0 is nodata: flattened onto black. The far end of the ramp is near white.
	if c := color.GrayModel.Convert(img.At(0, 0)).(color.Gray); c.Y > 10 {
		t.Errorf("nodata pixel = %v, want black", c)
	}
	if c := color.GrayModel.Convert(img.At(255, 255)).(color.Gray); c.Y < 240 {
		t.Errorf("last pixel = %v, want near white", c)
	}
}

// decodeRaw reads a .msgpack answer, gunzipping it when it says so.
func decodeRaw(t *testing.T, r *tiles.Response) *rawtile.Tile {
	t.Helper()
	body := r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := rawtile.Decode(body)
	if err != nil {
		t.Fatalf("answer is not a raw tile: %v", err)
	}
	return rt
}

func TestMsgPack(t *testing.T) {
	e := setup(t)
	fx := e.fx
	t.Run("algebra bands, golden for the wasm decoder", func(t *testing.T) {
		r := e.algebra(t, tilestest.Home, "msgpack", "layers=a=ramp,b=const&formula=a%2Bb", tiles.Client{})
		ok(t, r, tiles.MsgPack.ContentType())
		if r.Header.Get("Content-Encoding") != "" || r.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("headers %v", r.Header)
		}
		rt := decodeRaw(t, r)
		if rt.Tile != tilestest.Home || rt.Bounds != tilestest.Home.Bounds() || len(rt.Bands) != 2 {
			t.Fatalf("tile %v %v with %d bands", rt.Tile, rt.Bounds, len(rt.Bands))
		}
		for name, want := range map[string]*raster.Band{"a": fx.Bands["ramp"][0], "b": fx.Bands["const"][0]} {
			got := rt.Bands[name]
			if got.Type != want.Type || got.HasNoData != want.HasNoData || got.NoData != want.NoData || !bytes.Equal(got.Data, want.Data) {
				t.Errorf("band %s differs from the stored band", name)
			}
		}
		golden := filepath.Join("..", "..", "..", "shared", "rawtile", "testdata", "server-algebra.msgpack")
		if *update {
			if err := os.WriteFile(golden, r.Body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body, want) {
			t.Errorf("answer differs from %s (go test -update rewrites it)", golden)
		}
	})
	t.Run("algebra bands without a formula", func(t *testing.T) {
		// The browser evaluates the formula itself, so a raw tile needs only layers.
		withF := e.algebra(t, tilestest.Home, "msgpack", "layers=a=ramp,b=const&formula=a%2Bb", tiles.Client{})
		r := e.algebra(t, tilestest.Home, "msgpack", "layers=a=ramp,b=const", tiles.Client{})
		ok(t, r, tiles.MsgPack.ContentType())
		if !bytes.Equal(r.Body, withF.Body) {
			t.Errorf("the raw tile without a formula differs from the one with it")
		}
		if _, err := tiles.ParseAlgebra("4", "8", "5", "png", url.Values{"layers": {"a=ramp,b=const"}}); !errors.Is(err, render.ErrNoMode) {
			t.Errorf(".png without a formula nor r,g,b: %v, want render.ErrNoMode", err)
		}
	})
	t.Run("gzip when accepted", func(t *testing.T) {
		r := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{AcceptGzip: true})
		ok(t, r, tiles.MsgPack.ContentType())
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
		}
		rt := decodeRaw(t, r)
		if len(rt.Bands) != 1 || !bytes.Equal(rt.Bands["x"].Data, fx.Bands["ramp"][0].Data) {
			t.Errorf("tile endpoint raw band x differs")
		}
	})
	t.Run("over-zoom from the nearest coarser tile", func(t *testing.T) {
		home := fx.Bands["ramp"][0]
		parent := fx.ParentBands["ramp"][0]
		cases := []struct {
			z      tile.ZXY
			source func(c, r int) float64
		}{
			// Child (0,0) of Home: Home's top-left quadrant doubled.
			{tile.ZXY{Z: 5, X: 16, Y: 10}, func(c, r int) float64 { return home.At((r/2)*256 + c/2) }},
			// Child (1,1) at zoom 6 of Home's child (1,0): a quarter of a quadrant.
			{tile.ZXY{Z: 6, X: 35, Y: 21}, func(c, r int) float64 { return home.At((64+r/4)*256 + 192 + c/4) }},
			// A zoom-4 sibling of Home, cut from Parent's top-right quadrant.
			{tile.ZXY{Z: 4, X: 9, Y: 4}, func(c, r int) float64 { return parent.At((r/2)*256 + 128 + c/2) }},
		}
		for _, tc := range cases {
			rt := decodeRaw(t, e.tile(t, "ramp", tc.z, "msgpack", "", tiles.Client{}))
			b := rt.Bands["x"]
			for _, p := range [][2]int{{0, 0}, {1, 0}, {2, 3}, {255, 0}, {0, 255}, {255, 255}, {100, 37}} {
				if got, want := b.At(p[1]*256+p[0]), tc.source(p[0], p[1]); got != want {
					t.Errorf("%v pixel %v = %v, want %v", tc.z, p, got, want)
				}
			}
		}
	})
}

func TestMissingTile(t *testing.T) {
	e := setup(t)
	far := tile.ZXY{Z: 4, X: 0, Y: 0}
	r := e.tile(t, "ramp", far, "png", "", tiles.Client{})
	ok(t, r, "image/png")
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
		t.Fatalf("size %v", img.Bounds())
	}
	// One colour, transparent: a palette PNG (colour type 3, IHDR's byte 25) of 1-bit
	// indices (byte 24), some 130 bytes (the RGBA path's was 914, grey with a key 470).
	if r.Body[24] != 1 || r.Body[25] != 3 || len(r.Body) > 200 {
		t.Errorf("empty tile: bit depth %d, colour type %d, %d bytes; want a 1-bit palette PNG", r.Body[24], r.Body[25], len(r.Body))
	}
	for _, p := range [][2]int{{0, 0}, {128, 128}, {255, 255}} {
		if _, _, _, a := img.At(p[0], p[1]).RGBA(); a != 0 {
			t.Errorf("pixel %v not transparent", p)
		}
	}
	ok(t, e.tile(t, "ramp", far, "jpg", "", tiles.Client{}), "image/jpeg")
	// The empty .tif comes from a template written at each tile's bounds: the same bytes as
	// a fresh GeoTIFF of an all-NaN Float64 tile there.
	nan := math.NaN()
	blank := raster.New(raster.Float64, 256, 256)
	for i := range blank.Len() {
		blank.Set(i, nan)
	}
	for _, z := range []tile.ZXY{far, {Z: 9, X: 3, Y: 500}} {
		r := e.tile(t, "ramp", z, "tif", "", tiles.Client{})
		ok(t, r, "image/tiff")
		var want bytes.Buffer
		if err := geotiff.Write(&want, &geotiff.Image{Bands: []*raster.Band{blank}, Bounds: z.Bounds(), NoData: &nan, Deflate: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body, want.Bytes()) {
			t.Errorf("empty .tif of %v: %d bytes, differs from a fresh GeoTIFF's %d", z, len(r.Body), want.Len())
		}
	}
	if r := e.algebra(t, far, "msgpack", "layers=a=ramp,b=const&formula=a", tiles.Client{}); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Errorf(".msgpack of a missing tile: %d %q, want 204", r.Status, r.Body)
	}
}

func TestTIFF(t *testing.T) {
	dbtest.GDALTool(t, "gdalinfo")
	e := setup(t)
	r := e.algebra(t, tilestest.Home, "tif", "layers=a=ramp,b=const&formula=a*b", tiles.Client{})
	ok(t, r, "image/tiff")
	out, path := gdalJSON(t, r.Body)
	var gi struct {
		Size             []int     `json:"size"`
		GeoTransform     []float64 `json:"geoTransform"`
		CoordinateSystem struct {
			WKT string `json:"wkt"`
		} `json:"coordinateSystem"`
		Bands []struct {
			Type        string `json:"type"`
			NoDataValue any    `json:"noDataValue"`
		} `json:"bands"`
	}
	if err := json.Unmarshal(out, &gi); err != nil {
		t.Fatal(err)
	}
	b := tilestest.Home.Bounds()
	if len(gi.Size) != 2 || gi.Size[0] != 256 || len(gi.Bands) != 1 || gi.Bands[0].Type != "Float64" {
		t.Fatalf("gdalinfo: %s", out)
	}
	if math.Abs(gi.GeoTransform[0]-b.MinX) > 1e-6 || math.Abs(gi.GeoTransform[3]-b.MaxY) > 1e-6 || math.Abs(gi.GeoTransform[1]-b.Width()/256) > 1e-9 {
		t.Errorf("geotransform %v, tile bounds %v", gi.GeoTransform, b)
	}
	if !strings.Contains(gi.CoordinateSystem.WKT, `ID["EPSG",3857]`) {
		t.Errorf("not EPSG:3857")
	}
	// Values: pixel (c, r) = (r*256+c)*0.5*7; pixel 0 is nodata.
	prog := compile(t, "a*b")
	res, err := render.Evaluate(render.Request{Bands: map[string]*raster.Band{"a": e.fx.Bands["ramp"][0], "b": e.fx.Bands["const"][0]}, Formula: prog})
	if err != nil {
		t.Fatal(err)
	}
	nd := fmt.Sprint(gi.Bands[0].NoDataValue)
	for _, p := range [][2]int{{0, 0}, {1, 0}, {200, 100}, {255, 255}} {
		v, err := exec.Command("gdallocationinfo", "-valonly", path, strconv.Itoa(p[0]), strconv.Itoa(p[1])).Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSpace(string(v))
		i := p[1]*256 + p[0]
		if res.Mask != nil && res.Mask[i] {
			if g, _ := strconv.ParseFloat(got, 64); fmt.Sprint(g) != nd && !(math.IsNaN(g) && nd == "NaN") {
				t.Errorf("nodata pixel %v = %s, nodata is %s", p, got, nd)
			}
			continue
		}
		if g, err := strconv.ParseFloat(got, 64); err != nil || g != res.Values[i] || g != float64(i)*0.5*7 {
			t.Errorf("pixel %v = %s, want %v", p, got, res.Values[i])
		}
	}
}

func TestPixel(t *testing.T) {
	e := setup(t)
	b := tilestest.Home.Bounds()
	px := b.Width() / 256
	at := func(c, r int) (float64, float64) { return b.MinX + (float64(c)+0.5)*px, b.MaxY - (float64(r)+0.5)*px }
	tests := []struct {
		name  string
		c, r  int
		query string
		want  *float64
	}{
		{"value", 10, 2, "layers=a=ramp,b=const&formula=a*b", ptr(float64(2*256+10) * 0.5 * 7)},
		{"nodata is null", 0, 0, "layers=a=ramp&formula=a", nil},
		{"reduction over the tile", 5, 5, "layers=b=const&formula=b-mean(b)", ptr(0)},
		{"band accessor", 3, 9, "layers=g:1=rgb&formula=g", ptr(9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := at(tc.c, tc.r)
			q, _ := url.ParseQuery(tc.query)
			req, err := tiles.ParsePixel(fmt.Sprint(x), fmt.Sprint(y), q)
			if err != nil {
				t.Fatal(err)
			}
			r := e.svc.Pixel(context.Background(), req, tiles.Client{})
			ok(t, r, "application/json")
			var got tiles.PixelValue
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.X != x || got.Y != y || (got.Value == nil) != (tc.want == nil) || (got.Value != nil && *got.Value != *tc.want) {
				t.Errorf("got %s, want value %v", r.Body, fmtPtr(tc.want))
			}
		})
	}
	t.Run("no tile is null", func(t *testing.T) {
		q, _ := url.ParseQuery("layers=a=ramp&formula=a")
		req, err := tiles.ParsePixel("-19000000", "19000000", q)
		if err != nil {
			t.Fatal(err)
		}
		r := e.svc.Pixel(context.Background(), req, tiles.Client{})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"value":null`) {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})
}

func ptr(v float64) *float64 { return &v }

func fmtPtr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func TestConditional(t *testing.T) {
	e := setup(t)
	r := e.tile(t, "ramp", tilestest.Home, "png", "colormap=magma", tiles.Client{})
	ok(t, r, "image/png")
	etag := r.Header.Get("ETag")
	if r2 := e.tile(t, "ramp", tilestest.Home, "png", "colormap=magma", tiles.Client{IfNoneMatch: etag}); r2.Status != http.StatusNotModified || r2.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match: %d %v, want 304", r2.Status, r2.Header)
	}
	other := e.tile(t, "ramp", tilestest.Home, "png", "colormap=viridis", tiles.Client{IfNoneMatch: etag})
	if other.Status != http.StatusOK || other.Header.Get("ETag") == etag {
		t.Errorf("another colormap must change the ETag")
	}
	// A re-parse changes the version, hence the ETag.
	ctx := context.Background()
	v, err := e.st.BeginParse(ctx, e.fx.Ramp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.WriteTiles(ctx, e.fx.Ramp.ID, v, []pgstore.Tile{{ZXY: tilestest.Home, Bands: []*raster.Band{tilestest.RampBand()}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Publish(ctx, e.fx.Ramp.ID, v); err != nil {
		t.Fatal(err)
	}
	if r3 := e.tile(t, "ramp", tilestest.Home, "png", "colormap=magma", tiles.Client{IfNoneMatch: etag}); r3.Status != http.StatusOK || r3.Header.Get("ETag") == etag {
		t.Errorf("after a re-parse: %d %s, want 200 with a new ETag", r3.Status, r3.Header.Get("ETag"))
	}
}

func TestLegendAndCatalog(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	want, err := e.fx.Legend.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*tiles.Response{e.svc.Legend(ctx, strconv.FormatInt(e.fx.Legend.ID, 10)), e.svc.LayerLegend(ctx, "classes")} {
		ok(t, r, "application/json")
		if !bytes.Equal(r.Body, want) {
			t.Errorf("legend %s, want %s", r.Body, want)
		}
	}
	r := e.svc.Layers(ctx)
	ok(t, r, "application/json")
	var ls []tiles.LayerJSON
	if err := json.Unmarshal(r.Body, &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls) != 4 || ls[0].Name != "ramp" || ls[0].MaxZoom != 4 || ls[0].Parse.Status != "FINISHED" || len(ls[0].Bands) != 1 ||
		ls[0].Bands[0].Type != "Float32" || *ls[0].Bands[0].Max != float64(256*256-1)*0.5 || ls[0].Bounds == nil {
		t.Errorf("catalog: %s", r.Body)
	}
	r = e.svc.LayerTileJSON(ctx, "ramp", url.Values{"colormap": {"viridis"}}, tiles.Client{BaseURL: "http://h/raster/"})
	ok(t, r, "application/json")
	var tj tiles.TileJSON
	if err := json.Unmarshal(r.Body, &tj); err != nil {
		t.Fatal(err)
	}
	b := tilestest.Home.Bounds()
	w, s := tile.MercatorToLonLat(b.MinX, b.MinY)
	if tj.TileJSON != "3.0.0" || tj.MaxZoom != 4 || tj.Tiles[0] != "http://h/raster/tiles/ramp/{z}/{x}/{y}.png?colormap=viridis" ||
		math.Abs(tj.Bounds[0]-w) > 1e-9 || math.Abs(tj.Bounds[1]-s) > 1e-9 {
		t.Errorf("TileJSON %s", r.Body)
	}
	// tileSize, which MapLibre reads (its raster default, 512, drew 256-pixel tiles blurred):
	// the server's RASTER_TILESIZE.
	if !strings.Contains(string(r.Body), `"tileSize":256`) {
		t.Errorf("TileJSON without tileSize 256: %s", r.Body)
	}
	big := tiles.New(e.st, tiles.Config{LayerTTL: -1, TileSize: 512})
	if r := big.AlgebraTileJSON(ctx, url.Values{"layers": {"a=ramp"}, "formula": {"a"}}, tiles.Client{}); !strings.Contains(string(r.Body), `"tileSize":512`) {
		t.Errorf("TileJSON of a server with RASTER_TILESIZE 512: %s", r.Body)
	}
	r = e.svc.AlgebraTileJSON(ctx, url.Values{"layers": {"a=ramp,b=const"}, "formula": {"a+b"}, "format": {"msgpack"}}, tiles.Client{BaseURL: "/raster/"})
	ok(t, r, "application/json")
	if !strings.Contains(string(r.Body), `/raster/algebra/{z}/{x}/{y}.msgpack?formula=a%2Bb\u0026layers=a%3Dramp%2Cb%3Dconst`) {
		t.Errorf("algebra TileJSON %s", r.Body)
	}
}

func TestErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	type call func() *tiles.Response
	parseAlgebra := func(zxy, ext, query string) call {
		return func() *tiles.Response {
			q, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			p := strings.Split(zxy, "/")
			req, err := tiles.ParseAlgebra(p[0], p[1], p[2], ext, q)
			if err != nil {
				return tiles.ErrorResponse(err)
			}
			return e.svc.Algebra(ctx, req, tiles.Client{})
		}
	}
	parseTile := func(layer, zxy, ext, query string) call {
		return func() *tiles.Response {
			q, _ := url.ParseQuery(query)
			p := strings.Split(zxy, "/")
			req, err := tiles.ParseTile(layer, p[0], p[1], p[2], ext, q)
			if err != nil {
				return tiles.ErrorResponse(err)
			}
			return e.svc.Tile(ctx, req, tiles.Client{})
		}
	}
	tests := []struct {
		name   string
		call   call
		status int
		msg    string
		pos    *[2]int
	}{
		{"unknown layer", parseTile("nope", "4/8/5", "png", ""), 404, `layer "nope" not found`, nil},
		{"ambiguous file-name fragment", parseTile(".tif", "4/8/5", "png", ""), 400, "matches several layers", nil},
		{"unknown format", parseTile("ramp", "4/8/5", "gif", ""), 400, `unknown tile format "gif"`, nil},
		{"z out of range", parseTile("ramp", "31/0/0", "png", ""), 400, "zoom 31", nil},
		{"x out of range", parseTile("ramp", "2/4/0", "png", ""), 400, "x and y at zoom 2", nil},
		{"x not a number", parseTile("ramp", "2/a/0", "png", ""), 400, `x: "a" is not an integer`, nil},
		{"bad colormap JSON", parseTile("ramp", "4/8/5", "png", "colormap={'x>0':"), 400, "colormap: invalid colormap: not JSON", nil},
		{"unknown named colormap", parseTile("ramp", "4/8/5", "png", "colormap=nosuch"), 400, "neither a JSON object nor a named colormap", nil},
		{"bad colour", parseTile("ramp", "4/8/5", "png", "colormap={\"1\":\"#zzz\"}"), 400, "Invalid color, could not convert hex to rgb.", nil},
		{"bad formula key", parseTile("ramp", "4/8/5", "png", "colormap="+url.QueryEscape(`{"x >":"#fff"}`)), 400, `colormap: invalid colormap: key "x >": formula ends where a value is expected`, nil},
		{"bad formula key in algebra", parseAlgebra("4/8/5", "png", "layers=a=ramp&formula=a&colormap="+url.QueryEscape(`{"1":"#000","x > * 2":"#fff"}`)), 400, `key "x > * 2": expected a value`, nil},
		{"formula key in another variable", parseTile("ramp", "4/8/5", "png", "colormap="+url.QueryEscape(`{"y > 1":"#fff"}`)), 400, `key "y > 1": uses the variable "y"`, nil},
		{"bad enhance factor", parseTile("ramp", "4/8/5", "png", "enhance_color=abc"), 400, "enhance_color", nil},
		{"negative enhance factor", parseTile("ramp", "4/8/5", "png", "enhance_sharpness=-1"), 400, "enhance_sharpness", nil},
		{"unknown legend title", parseTile("ramp", "4/8/5", "png", "legend=nosuch"), 404, `legend "nosuch" not found`, nil},
		{"unknown session colormap", parseTile("ramp", "4/8/5", "png", "legend=k&store=session"), 404, "no colormap is saved", nil},
		{"bad store", parseTile("ramp", "4/8/5", "png", "legend=k&store=cookie"), 400, "store", nil},
		{"no formula nor rgb", parseAlgebra("4/8/5", "png", "layers=a=ramp"), 400, "Specify raster algebra formula or provide rgb layer keys.", nil},
		{"malformed layers", parseAlgebra("4/8/5", "png", "layers=a&formula=a"), 400, `malformed entry "a"`, nil},
		{"malformed band", parseAlgebra("4/8/5", "png", "layers=a:x=ramp&formula=a"), 400, "malformed band", nil},
		{"band past the layer's bands", parseAlgebra("4/8/5", "png", "layers=a:3=ramp&formula=a"), 400, "has 1 band(s)", nil},
		{"missing layers", parseAlgebra("4/8/5", "png", "formula=a"), 400, "layers: missing", nil},
		{"bad formula", parseAlgebra("4/8/5", "png", "layers=a=ramp&formula=a%2B%2B)"), 400, "", &[2]int{3, 4}},
		{"a + sent unescaped (a space)", parseAlgebra("4/8/5", "png", "layers=a=ramp&formula=(a-a)/(a+a)"), 400, `found "a" (in a URL's query a "+" is a space: write it %2B)`, &[2]int{9, 10}},
		{"undeclared variable", parseAlgebra("4/8/5", "png", "layers=a=ramp&formula=a%2Bzz"), 400, `Found an undeclared variable "zz" in formula.`, &[2]int{2, 4}},
		{"bad scale", parseAlgebra("4/8/5", "png", "layers=r=rgb,g=rgb,b=rgb&scale=5,1"), 400, "scale", nil},
		{"legend id not an integer", func() *tiles.Response { return e.svc.Legend(ctx, "abc") }, 404, `legend "abc" not found`, nil},
		{"legend id unknown", func() *tiles.Response { return e.svc.Legend(ctx, "999999") }, 404, "legend 999999 not found", nil},
		{"layer without legend", func() *tiles.Response { return e.svc.LayerLegend(ctx, "ramp") }, 404, "has no legend", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.call()
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
			}
			var body tiles.ErrorBody
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Error == "" {
				t.Fatalf("body %s is not {\"error\": …}", r.Body)
			}
			if !strings.Contains(body.Error, tc.msg) {
				t.Errorf("error %q does not contain %q", body.Error, tc.msg)
			}
			if p := tilestest.RepeatedPrefix(body.Error); p != "" {
				t.Errorf("error %q repeats its prefix %q", body.Error, p)
			}
			if tc.pos != nil && (body.Pos == nil || *body.Pos != *tc.pos) {
				t.Errorf("pos %v, want %v (body %s)", body.Pos, *tc.pos, r.Body)
			}
		})
	}
}

func TestRepeatedPrefix(t *testing.T) {
	for msg, want := range map[string]string{
		`colormap: colormap: invalid`: "colormap",
		`legend: colormap: invalid legend "T": entry 1 (name "a", code "1"): expression: colormap: invalid colormap: key "x": bad`: "colormap",
		`colormap: invalid colormap: key "x >": formula: formula ends where a value is expected at 3:3`:                            "formula",
		`colormap: invalid colormap: key "x >": formula ends where a value is expected at 3:3`:                                     "",
		`legend "nosuch" not found`: "",
	} {
		if got := tilestest.RepeatedPrefix(msg); got != want {
			t.Errorf("tilestest.RepeatedPrefix(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestStatusTable(t *testing.T) {
	if s := tiles.Status(io.EOF); s != 500 {
		t.Errorf("an unknown error gives %d, want 500", s)
	}
	r := tiles.ErrorResponse(fmt.Errorf("db password is hunter2: %w", io.EOF))
	if r.Status != 500 || strings.Contains(string(r.Body), "hunter2") {
		t.Errorf("500 body leaks: %s", r.Body)
	}
}

// TestConcurrent hammers one service from many goroutines (run with -race): identical
// requests must give identical bodies whether they hit the caches, share a store read or
// race to fill them.
func TestConcurrent(t *testing.T) {
	e := setup(t)
	e.svc = tiles.New(e.st, tiles.Config{LayerTTL: time.Second, TileCacheBytes: 3 << 20, ResponseCacheBytes: 1 << 20})
	queries := []struct {
		z   tile.ZXY
		ext string
		q   string
	}{
		{tilestest.Home, "png", "layers=a=ramp,b=const,c=classes&formula=a*b%2Bc&colormap=viridis"},
		{tilestest.Home, "msgpack", "layers=a=ramp,b=const&formula=a"},
		{tile.ZXY{Z: 5, X: 17, Y: 11}, "png", "layers=x=classes&formula=x&legend=Land%20cover"},
		{tile.ZXY{Z: 4, X: 9, Y: 4}, "tif", "layers=a=ramp&formula=a*2"},
	}
	want := make([][]byte, len(queries))
	for i, q := range queries {
		r := e.algebra(t, q.z, q.ext, q.q, tiles.Client{})
		ok(t, r, r.Header.Get("Content-Type"))
		want[i] = r.Body
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				k := (g + i) % len(queries)
				q := queries[k]
				qv, _ := url.ParseQuery(q.q)
				req, err := tiles.ParseAlgebra(strconv.Itoa(q.z.Z), strconv.Itoa(q.z.X), strconv.Itoa(q.z.Y), q.ext, qv)
				if err != nil {
					errs <- err.Error()
					return
				}
				r := e.svc.Algebra(context.Background(), req, tiles.Client{})
				if r.Status != 200 || !bytes.Equal(r.Body, want[k]) {
					errs <- fmt.Sprintf("query %d: status %d, body differs: %v", k, r.Status, !bytes.Equal(r.Body, want[k]))
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// wholeTiles hides pgstore's TilePixelValues, so the service answers pixels from whole tiles.
type wholeTiles struct{ tiles.Store }

// countingPixels counts the single-pixel reads of pgstore.
type countingPixels struct {
	*pgstore.Store
	n int
}

func (c *countingPixels) TilePixelValues(ctx context.Context, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) ([]float64, []bool, error) {
	c.n++
	return c.Store.TilePixelValues(ctx, reads, t, fx, fy)
}

// TestPixelReadsOnePixel checks that answering a pixel from PostgreSQL (pgstore's
// TilePixelValues, which reads slices of the raster here) gives what
// the whole tile gives, at pixel centres, on pixel and tile edges and outside the data.
func TestPixelReadsOnePixel(t *testing.T) {
	e := setup(t)
	counted := &countingPixels{Store: e.st}
	fast := tiles.New(counted, tiles.Config{LayerTTL: -1, TileCacheBytes: -1, ResponseCacheBytes: -1})
	slow := tiles.New(wholeTiles{e.st}, tiles.Config{LayerTTL: -1, TileCacheBytes: -1, ResponseCacheBytes: -1})
	b := tilestest.Home.Bounds()
	px := b.Width() / 256
	var points [][2]float64
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 40; i++ {
		points = append(points, [2]float64{b.MinX + rng.Float64()*b.Width(), b.MinY + rng.Float64()*b.Height()})
	}
	for _, c := range []int{0, 1, 127, 255, 256} { // pixel and tile edges
		points = append(points, [2]float64{b.MinX + float64(c)*px, b.MaxY - float64(c)*px})
	}
	points = append(points, [2]float64{b.MinX - 3*px, b.MaxY + 2*px}, [2]float64{-19000000, 19000000})
	queries := []string{
		"layers=a=ramp,b=const&formula=a*b",
		"layers=a=ramp&formula=a",
		"layers=a=ramp_float&formula=a/3",
		"layers=g:1=rgb,r:0=rgb&formula=g-r",
		"layers=x=classes&formula=x",
	}
	for _, query := range queries {
		q, _ := url.ParseQuery(query)
		for _, p := range points {
			req, err := tiles.ParsePixel(fmt.Sprint(p[0]), fmt.Sprint(p[1]), q)
			if err != nil {
				t.Fatal(err)
			}
			got := fast.Pixel(context.Background(), req, tiles.Client{})
			want := slow.Pixel(context.Background(), req, tiles.Client{})
			if got.Status != 200 || string(got.Body) != string(want.Body) {
				t.Errorf("%s at (%v, %v): one pixel gives %d %s, the whole tile %d %s", query, p[0], p[1], got.Status, got.Body, want.Status, want.Body)
			}
		}
	}
	if counted.n == 0 {
		t.Error("no pixel was read with TilePixelValues")
	}
}

// oneByOne hides pgstore's Tiles, so the service reads each layer's tile on its own.
type oneByOne struct{ tiles.Store }

// countingTiles counts pgstore's batched tile reads (n), and the single reads of a tile a
// batched read has just found a layer without (again).
type countingTiles struct {
	*pgstore.Store
	n, again int
	absent   map[string]bool // layer/version/z/x/y a batched read found no tile at
	misses   int             // how many such it found
}

func (c *countingTiles) Tiles(ctx context.Context, layers []catalog.LayerVersion, t tile.ZXY) (map[catalog.LayerVersion][]*raster.Band, error) {
	c.n++
	got, err := c.Store.Tiles(ctx, layers, t)
	for _, l := range layers {
		if _, ok := got[l]; !ok && err == nil {
			if c.absent == nil {
				c.absent = map[string]bool{}
			}
			c.absent[fmt.Sprint(l.ID, l.Version, t)] = true
			c.misses++
		}
	}
	return got, err
}

func (c *countingTiles) Tile(ctx context.Context, layerID, version int64, t tile.ZXY) ([]*raster.Band, error) {
	if c.absent[fmt.Sprint(layerID, version, t)] {
		c.again++
	}
	return c.Store.Tile(ctx, layerID, version, t)
}

// TestAlgebraBatchedReads checks that reading an algebra tile's layers in one query gives the
// answers one read per layer gives: at a stored tile, an over-zoomed one (cut from an
// ancestor), a stored tile's sibling without data, and with a layer bound twice.
func TestAlgebraBatchedReads(t *testing.T) {
	e := setup(t)
	counted := &countingTiles{Store: e.st}
	cfg := tiles.Config{LayerTTL: -1, TileCacheBytes: -1, ResponseCacheBytes: -1}
	batched := &env{svc: tiles.New(counted, cfg), fx: e.fx, st: e.st}
	single := &env{svc: tiles.New(oneByOne{e.st}, cfg), fx: e.fx, st: e.st}
	deeper := tile.ZXY{Z: tilestest.Home.Z + 2, X: tilestest.Home.X*4 + 1, Y: tilestest.Home.Y*4 + 2}
	sibling := tile.ZXY{Z: tilestest.Home.Z, X: tilestest.Home.X + 1, Y: tilestest.Home.Y}
	queries := []string{
		"layers=a=ramp,b=const,c=classes&formula=(a%2Bb)*c",
		"layers=a=ramp,b=ramp_float&formula=a-b&colormap=viridis",
		"layers=r:0=rgb,g:1=rgb,x=const&formula=r%2Bg%2Bx",
	}
	for _, at := range []tile.ZXY{tilestest.Home, deeper, sibling} {
		for _, q := range queries {
			for _, ext := range []string{"png", "msgpack"} {
				clear(counted.absent) // what one request's batched read found
				got := batched.algebra(t, at, ext, q, tiles.Client{})
				want := single.algebra(t, at, ext, q, tiles.Client{})
				if want.Status != 200 && want.Status != 204 {
					t.Fatalf("%v %s .%s: %d %s", at, q, ext, want.Status, want.Body)
				}
				if got.Status != want.Status || !bytes.Equal(got.Body, want.Body) {
					t.Errorf("%v %s .%s: batched %d (%d bytes), one by one %d (%d bytes)", at, q, ext, got.Status, len(got.Body), want.Status, len(want.Body))
				}
			}
		}
	}
	if counted.n == 0 {
		t.Error("no batched read happened")
	}
	// A layer the batched read found without the tile goes straight to the ancestor search.
	if counted.misses == 0 {
		t.Error("no batched read found a layer without the tile")
	}
	if counted.again != 0 {
		t.Errorf("%d single reads of a tile a batched read found missing", counted.again)
	}
}

// TestCacheHeaders pins what a cache between the server and the browser needs. The gzip and
// identity .msgpack answers once shared one strong ETag, so a cache holding the gzip bytes
// could revalidate them for a client without gzip; a session-coloured tile was "public",
// so a CDN could hand one session's colours to another, and a browser kept showing a
// replaced session colormap for max-age.
func TestCacheHeaders(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	vary := func(r *tiles.Response) string { return strings.Join(r.Header.Values("Vary"), ",") }

	t.Run("msgpack gzip and identity", func(t *testing.T) {
		plain := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{})
		gz := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{AcceptGzip: true})
		ok(t, plain, tiles.MsgPack.ContentType())
		ok(t, gz, tiles.MsgPack.ContentType())
		pt, gt := plain.Header.Get("ETag"), gz.Header.Get("ETag")
		if pt == "" || gt == "" || pt == gt {
			t.Fatalf("ETags identity %s, gzip %s: want two different tags", pt, gt)
		}
		if r := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{IfNoneMatch: gt}); r.Status != http.StatusOK {
			t.Errorf("identity request with the gzip answer's tag: %d, want 200", r.Status)
		}
		if r := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{IfNoneMatch: pt, AcceptGzip: true}); r.Status != http.StatusOK {
			t.Errorf("gzip request with the identity answer's tag: %d, want 200", r.Status)
		}
		for name, tc := range map[string]struct {
			tag string
			gz  bool
		}{"identity": {pt, false}, "gzip": {gt, true}} {
			r := e.tile(t, "ramp", tilestest.Home, "msgpack", "", tiles.Client{IfNoneMatch: tc.tag, AcceptGzip: tc.gz})
			if r.Status != http.StatusNotModified || r.Header.Get("ETag") != tc.tag || vary(r) != "Accept-Encoding" {
				t.Errorf("%s revalidation: %d ETag %s Vary %q, want 304 %s Vary Accept-Encoding", name, r.Status, r.Header.Get("ETag"), vary(r), tc.tag)
			}
		}
	})

	t.Run("session colormap", func(t *testing.T) {
		const session = "0123456789abcdef0123456789abcdef"
		if err := e.st.SetSessionColormap(ctx, session, "mine", json.RawMessage(`{"continuous": true, "from": "#000", "to": "#fff"}`)); err != nil {
			t.Fatal(err)
		}
		r := e.tile(t, "ramp", tilestest.Home, "png", "legend=mine&store=session", tiles.Client{Session: session})
		ok(t, r, "image/png")
		if cc := r.Header.Get("Cache-Control"); cc != "private, no-cache" || vary(r) != "Cookie" {
			t.Errorf("Cache-Control %q, Vary %q: want private, no-cache and Vary Cookie", cc, vary(r))
		}
		r = e.tile(t, "ramp", tilestest.Home, "png", "legend=mine&store=session", tiles.Client{Session: session, IfNoneMatch: r.Header.Get("ETag")})
		if cc := r.Header.Get("Cache-Control"); r.Status != http.StatusNotModified || cc != "private, no-cache" || vary(r) != "Cookie" {
			t.Errorf("revalidation: %d Cache-Control %q Vary %q, want 304 private, no-cache, Cookie", r.Status, cc, vary(r))
		}
		// Other colormaps keep the configured Cache-Control.
		r = e.tile(t, "ramp", tilestest.Home, "png", "colormap=viridis", tiles.Client{Session: session})
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=60" || vary(r) != "" {
			t.Errorf("colormap=viridis: Cache-Control %q Vary %q, want the default and no Vary", cc, vary(r))
		}
	})

	// The 404s of a session colormap depend on the cookie too (none sent, or no such key in
	// this session): they were cacheable by default (RFC 9111 §4.2.2) with no Vary, so a
	// shared cache could answer a session that has the colormap with another's 404.
	t.Run("session colormap errors", func(t *testing.T) {
		for name, c := range map[string]tiles.Client{"no cookie": {}, "no such key": {Session: "fedcba9876543210fedcba9876543210"}} {
			r := e.tile(t, "ramp", tilestest.Home, "png", "legend=mine&store=session", c)
			if cc := r.Header.Get("Cache-Control"); r.Status != http.StatusNotFound || cc != "private, no-cache" || vary(r) != "Cookie" {
				t.Errorf("%s: %d Cache-Control %q Vary %q, want 404 private, no-cache, Cookie", name, r.Status, cc, vary(r))
			}
		}
	})

	// TESSERA_CACHE_CONTROL no-store: nothing is stored, the session's tiles included (they
	// were "private, no-cache", which lets the browser store them).
	t.Run("session colormap under no-store", func(t *testing.T) {
		const session = "0123456789abcdef0123456789abcdef"
		if err := e.st.SetSessionColormap(ctx, session, "mine", json.RawMessage(`{"continuous": true, "from": "#000", "to": "#fff"}`)); err != nil {
			t.Fatal(err)
		}
		svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, CacheControl: "No-Store"})
		req, err := tiles.ParseTile("ramp", strconv.Itoa(tilestest.Home.Z), strconv.Itoa(tilestest.Home.X), strconv.Itoa(tilestest.Home.Y), "png",
			url.Values{"legend": {"mine"}, "store": {"session"}})
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]tiles.Client{"tile": {Session: session}, "error": {}} {
			r := svc.Tile(ctx, req, c)
			if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" || vary(r) != "Cookie" {
				t.Errorf("%s: %d Cache-Control %q Vary %q, want private, no-store and Vary Cookie", name, r.Status, cc, vary(r))
			}
		}
	})
}
