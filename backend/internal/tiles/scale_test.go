package tiles_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
)

// scaled asks for tile z at a scale (y written as "Y@2x") from the tile endpoint (layer
// not empty) or the algebra endpoint.
func (e *env) scaled(t *testing.T, layer string, z tile.ZXY, scale, ext, query string, c tiles.Client) *tiles.Response {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	y := strconv.Itoa(z.Y) + "@" + scale
	if layer != "" {
		req, err := tiles.ParseTile(layer, strconv.Itoa(z.Z), strconv.Itoa(z.X), y, ext, q)
		if err != nil {
			t.Fatalf("ParseTile: %v", err)
		}
		return e.svc.Tile(context.Background(), req, c)
	}
	req, err := tiles.ParseAlgebra(strconv.Itoa(z.Z), strconv.Itoa(z.X), y, ext, q)
	if err != nil {
		t.Fatalf("ParseAlgebra: %v", err)
	}
	return e.svc.Algebra(context.Background(), req, c)
}

// resample is band b at n times its size, each pixel repeated n×n times (nearest neighbour).
func resample(b *raster.Band, n int) *raster.Band {
	out := raster.New(b.Type, b.Width*n, b.Height*n)
	out.HasNoData, out.NoData = b.HasNoData, b.NoData
	for i := 0; i < out.Len(); i++ {
		c, r := i%out.Width, i/out.Width
		out.Set(i, b.At((r/n)*b.Width+c/n))
	}
	return out
}

func TestScaledTiles(t *testing.T) {
	e := setup(t)
	fx := e.fx
	home, parent := fx.Bands["ramp"][0], fx.ParentBands["ramp"][0]
	rampRange := &[2]float64{fx.Ramp.Bands[0].Min, fx.Ramp.Bands[0].Max}

	t.Run("@2x and @4x of the deepest stored tile: its pixels repeated", func(t *testing.T) {
		for _, n := range []int{2, 4} {
			scale := strconv.Itoa(n) + "x"
			rt := decodeRaw(t, e.scaled(t, "ramp", tilestest.Home, scale, "msgpack", "", tiles.Client{}))
			b := rt.Bands["x"]
			if rt.Tile != tilestest.Home || rt.Bounds != tilestest.Home.Bounds() || rt.Width != 256*n || rt.Height != 256*n ||
				b.Width != 256*n || b.Type != home.Type || !b.HasNoData || b.NoData != home.NoData {
				t.Fatalf("@%s: tile %v %v, %d×%d, band %d×%d %v nodata %v %v", scale, rt.Tile, rt.Bounds, rt.Width, rt.Height,
					b.Width, b.Height, b.Type, b.HasNoData, b.NoData)
			}
			if want := resample(home, n); !bytes.Equal(b.Data, want.Data) {
				t.Errorf("@%s: the band is not Home's pixels repeated %d×%d times", scale, n, n)
			}
			r := e.scaled(t, "ramp", tilestest.Home, scale, "png", "", tiles.Client{})
			ok(t, r, "image/png")
			out := expected(t, render.Request{Bands: map[string]*raster.Band{"x": resample(home, n)}, Formula: compile(t, "x"), Range: rampRange})
			samePixels(t, r.Body, out.Image)
		}
	})

	t.Run("@2x of a coarser tile: its children side by side", func(t *testing.T) {
		rt := decodeRaw(t, e.scaled(t, "", tilestest.Parent, "2x", "msgpack", "layers=a=ramp,b=const", tiles.Client{}))
		a, b := rt.Bands["a"], rt.Bands["b"]
		if a.Width != 512 || a.Height != 512 || b.Width != 512 || b.Type != raster.UInt16 {
			t.Fatalf("bands %d×%d, %d×%d %v", a.Width, a.Height, b.Width, b.Height, b.Type)
		}
		// Home is Parent's child (0, 1): the bottom-left quadrant, the stored tile itself;
		// the top-right quadrant is child (1, 0), cut from Parent's top-right quadrant.
		for _, p := range [][2]int{{0, 0}, {1, 0}, {2, 3}, {255, 255}, {100, 37}} {
			c, r := p[0], p[1]
			if got, want := a.At((256+r)*512+c), home.At(r*256+c); got != want {
				t.Errorf("bottom-left pixel %v = %v, want Home's %v", p, got, want)
			}
			if got, want := a.At(r*512+256+c), parent.At((r/2)*256+128+c/2); got != want {
				t.Errorf("top-right pixel %v = %v, want Parent's %v", p, got, want)
			}
			if got := b.At(r*512 + c); got != 7 {
				t.Errorf("const pixel %v = %v, want 7", p, got)
			}
		}
		// The same through the PNG path: the bottom-left quadrant of the @2x algebra tile is
		// the @1x tile of Home, pixel for pixel.
		q := "layers=a=ramp,b=const&formula=a*b&colormap=viridis"
		big := decodePNG(t, e.scaled(t, "", tilestest.Parent, "2x", "png", q, tiles.Client{}))
		small := decodePNG(t, e.algebra(t, tilestest.Home, "png", q, tiles.Client{}))
		if big.Bounds().Dx() != 512 || big.Bounds().Dy() != 512 {
			t.Fatalf("@2x PNG is %v", big.Bounds())
		}
		for y := 0; y < 256; y++ {
			for x := 0; x < 256; x++ {
				if g, w := big.At(x, 256+y), small.At(x, y); g != w {
					t.Fatalf("@2x pixel (%d,%d) = %v, @1x Home (%d,%d) = %v", x, 256+y, g, x, y, w)
				}
			}
		}
	})

	t.Run("an ETag of its own", func(t *testing.T) {
		one := e.tile(t, "ramp", tilestest.Home, "png", "", tiles.Client{})
		two := e.scaled(t, "ramp", tilestest.Home, "2x", "png", "", tiles.Client{})
		if one.Header.Get("ETag") == two.Header.Get("ETag") || two.Header.Get("ETag") == "" {
			t.Errorf("ETags %q and %q", one.Header.Get("ETag"), two.Header.Get("ETag"))
		}
		if r := e.scaled(t, "ramp", tilestest.Home, "2x", "png", "", tiles.Client{IfNoneMatch: two.Header.Get("ETag")}); r.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", r.Status)
		}
	})

	t.Run("no data: the empty tile at the scale's size", func(t *testing.T) {
		far := tile.ZXY{Z: 4, X: 0, Y: 0}
		img := decodePNG(t, e.scaled(t, "ramp", far, "2x", "png", "", tiles.Client{}))
		if img.Bounds().Dx() != 512 || img.Bounds().Dy() != 512 {
			t.Fatalf("size %v", img.Bounds())
		}
		if _, _, _, a := img.At(300, 400).RGBA(); a != 0 {
			t.Errorf("not transparent")
		}
		if one := decodePNG(t, e.tile(t, "ramp", far, "png", "", tiles.Client{})); one.Bounds().Dx() != 256 {
			t.Errorf("@1x empty tile %v after the @2x one", one.Bounds())
		}
		if r := e.scaled(t, "", far, "2x", "msgpack", "layers=a=ramp", tiles.Client{}); r.Status != http.StatusNoContent {
			t.Errorf(".msgpack: %d, want 204", r.Status)
		}
	})

	t.Run("GeoTIFF: the tile's bounds in the scale's pixels", func(t *testing.T) {
		dbtest.GDALTool(t, "gdalinfo")
		r := e.scaled(t, "", tilestest.Home, "2x", "tif", "layers=a=ramp&formula=a", tiles.Client{})
		ok(t, r, "image/tiff")
		out, _ := gdalJSON(t, r.Body)
		var gi struct {
			Size         []int     `json:"size"`
			GeoTransform []float64 `json:"geoTransform"`
		}
		if err := json.Unmarshal(out, &gi); err != nil {
			t.Fatal(err)
		}
		b := tilestest.Home.Bounds()
		if len(gi.Size) != 2 || gi.Size[0] != 512 || gi.Size[1] != 512 ||
			math.Abs(gi.GeoTransform[0]-b.MinX) > 1e-6 || math.Abs(gi.GeoTransform[1]-b.Width()/512) > 1e-9 {
			t.Errorf("gdalinfo: size %v, geotransform %v; tile bounds %v", gi.Size, gi.GeoTransform, b)
		}
	})
}

func decodePNG(t *testing.T, r *tiles.Response) image.Image {
	t.Helper()
	ok(t, r, "image/png")
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestScaleErrors(t *testing.T) {
	for _, tc := range []struct{ z, y, want string }{
		{"4", "5@3x", `"@3x" is not a tile scale`},
		{"4", "5@8x", `"@8x" is not a tile scale`},
		{"4", "5@0x", `"@0x" is not a tile scale`},
		{"4", "5@2", `"@2" is not a tile scale`},
		{"4", "5@x", `"@x" is not a tile scale`},
		{"4", "5@-2x", `"@-2x" is not a tile scale`},
		{"4", "5@2x@2x", `"5@2x" is not an integer`},
		{"30", "5@2x", "@2x of zoom 30 reads zoom 31, deeper than 30"},
		{"29", "5@4x", "@4x of zoom 29 reads zoom 31, deeper than 30"},
	} {
		for _, parse := range []func() error{
			func() error { _, err := tiles.ParseTile("ramp", tc.z, "1", tc.y, "png", nil); return err },
			func() error {
				_, err := tiles.ParseAlgebra(tc.z, "1", tc.y, "png", url.Values{"layers": {"a=1"}, "formula": {"a"}})
				return err
			},
		} {
			err := parse()
			r := tiles.ErrorResponse(err)
			if err == nil || r.Status != http.StatusBadRequest || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("z %s y %s: %v (%d %s), want 400 with %q", tc.z, tc.y, err, r.Status, r.Body, tc.want)
			}
		}
	}
	for _, y := range []string{"5", "5@1x", "5@2x", "5@4x"} {
		if _, err := tiles.ParseTile("ramp", "28", "1", y, "png", nil); err != nil {
			t.Errorf("y %s: %v", y, err)
		}
	}
}

func TestTileJSONScale(t *testing.T) {
	e := setup(t)
	c := tiles.Client{BaseURL: "http://tessera.test/raster/"}
	for _, tc := range []struct {
		get  func(q url.Values) *tiles.Response
		want string
	}{
		{func(q url.Values) *tiles.Response { return e.svc.LayerTileJSON(context.Background(), "ramp", q, c) },
			"http://tessera.test/raster/tiles/ramp/{z}/{x}/{y}@2x.png?colormap=viridis"},
		{func(q url.Values) *tiles.Response {
			q.Set("layers", "a=ramp")
			q.Set("formula", "a")
			return e.svc.AlgebraTileJSON(context.Background(), q, c)
		}, "http://tessera.test/raster/algebra/{z}/{x}/{y}@2x.png?colormap=viridis&formula=a&layers=a%3Dramp"},
	} {
		r := tc.get(url.Values{"tile_scale": {"2"}, "colormap": {"viridis"}})
		var tj tiles.TileJSON
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &tj) != nil {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		// The layer's max zoom is 4 (tilestest.Home): its pixels are in @2x tiles of zoom 3.
		if len(tj.Tiles) != 1 || tj.Tiles[0] != tc.want || tj.TileSize != 512 || tj.MaxZoom != 3 {
			t.Errorf("tiles %q, tileSize %d, maxzoom %d; want %q, 512, 3", tj.Tiles, tj.TileSize, tj.MaxZoom, tc.want)
		}
		if r := tc.get(url.Values{"tile_scale": {"4"}}); !strings.Contains(string(r.Body), `"maxzoom":2,`) || !strings.Contains(string(r.Body), `"tileSize":1024`) {
			t.Errorf("tile_scale=4: %s", r.Body)
		}
		for _, bad := range []string{"3", "8", "0", "x"} {
			if r := tc.get(url.Values{"tile_scale": {bad}}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "tile_scale") {
				t.Errorf("tile_scale=%s: %d %s", bad, r.Status, r.Body)
			}
		}
		if r := tc.get(url.Values{}); !strings.Contains(string(r.Body), `"tileSize":256`) || !strings.Contains(string(r.Body), `"maxzoom":4,`) || strings.Contains(string(r.Body), "@") {
			t.Errorf("without tile_scale: %s", r.Body)
		}
	}
}

// TestScaledTileBound: a scaled tile past MaxScaledBytes is a 400 naming the bound, on both
// tile routes and in every format, and TileJSON refuses the tile_scale whose tiles would be
// refused; @1x is not bounded so. Ramp is one Float32 band: at @4x (1024×1024 pixels) seven
// variables of it hold 60 MiB, eight 68 MiB. Without the bound the eight were rendered.
func TestScaledTileBound(t *testing.T) {
	e := setup(t)
	layers := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("v" + strconv.Itoa(i) + "=ramp")
		}
		return "layers=" + b.String() + "&formula=v0"
	}
	for _, ext := range []string{"png", "jpg", "tif", "msgpack"} {
		r := e.scaled(t, "", tilestest.Parent, "4x", ext, layers(8), tiles.Client{})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body),
			`"error":"scale: @4x would hold 68 MiB (1024×1024 pixels, each with the stored bands of 1 layer(s) and 8 bytes for each of 8 variable(s)), more than the 64 MiB a scaled tile may hold: use a lower scale or fewer layers"`) {
			t.Errorf("@4x.%s of 8 variables: %d %s", ext, r.Status, r.Body)
		}
		if r.Header.Get("ETag") != "" {
			t.Errorf("@4x.%s of 8 variables has an ETag", ext)
		}
	}
	for _, tc := range []struct{ scale, query string }{{"4x", layers(7)}, {"2x", layers(16)}, {"1x", layers(16)}} {
		if r := e.scaled(t, "", tilestest.Parent, tc.scale, "png", tc.query, tiles.Client{}); r.Status != http.StatusOK {
			t.Errorf("@%s of %s: %d %s", tc.scale, tc.query, r.Status, r.Body)
		}
	}
	if r := e.scaled(t, "ramp", tilestest.Parent, "4x", "png", "", tiles.Client{}); r.Status != http.StatusOK {
		t.Errorf("tile route @4x: %d %s", r.Status, r.Body)
	}

	c := tiles.Client{BaseURL: "http://tessera.test/raster/"}
	for _, tc := range []struct {
		scale, query string
		status       int
	}{{"4", layers(8), http.StatusBadRequest}, {"4", layers(7), http.StatusOK}, {"2", layers(16), http.StatusOK}} {
		q, err := url.ParseQuery(tc.query + "&tile_scale=" + tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		r := e.svc.AlgebraTileJSON(context.Background(), q, c)
		if r.Status != tc.status || (tc.status == http.StatusBadRequest && !strings.Contains(string(r.Body), `"error":"tile_scale: @4x would hold 68 MiB`)) {
			t.Errorf("algebra.json?tile_scale=%s&%s: %d %s", tc.scale, tc.query, r.Status, r.Body)
		}
	}
}
