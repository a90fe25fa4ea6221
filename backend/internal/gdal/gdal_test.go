package gdal_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// shared returns a raster of the shared test data folder (testdatagen.SharedTestdata:
// $TESSERA_SHARED_TESTDATA, else module root + "/../shared/testdata"). The tests are in
// package gdal_test so that they can import testdatagen, which imports gdal.
func shared(t *testing.T, name string) string {
	t.Helper()
	dir, err := testdatagen.SharedTestdata()
	if err != nil {
		t.Skipf("shared test rasters not found (../shared/testdata): %v", err)
	}
	return filepath.Join(dir, name)
}

func TestInfo(t *testing.T) {
	tests := []struct {
		file          string
		w, h, bands   int
		typ           raster.DataType
		epsg          int
		nodata        float64
		hasNoData, gt bool
	}{
		{"django_raster_test.tif", 163, 174, 1, raster.Byte, 3086, 255, true, true},
		{"rasterio_RGB.byte.tif", 791, 718, 3, raster.Byte, 32618, 0, true, true},
		{"rasterio_float32.tif", 3, 2, 1, raster.Float32, 0, 0, false, true},
		{"rasterio_all-nodata.tif", 71, 2475, 4, raster.UInt16, 32628, 0, true, true},
		{"gdalautotest2_int16.tif", 20, 20, 1, raster.Int16, 26711, 0, false, true},
		{"gdalautotest2_epsg3857.tif", 1, 1, 1, raster.Byte, 3857, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d, err := gdal.Open(shared(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			in, err := d.Info()
			if err != nil {
				t.Fatal(err)
			}
			if in.Width != tc.w || in.Height != tc.h || len(in.Bands) != tc.bands {
				t.Fatalf("size %dx%dx%d, want %dx%dx%d", in.Width, in.Height, len(in.Bands), tc.w, tc.h, tc.bands)
			}
			if in.EPSG != tc.epsg {
				t.Errorf("EPSG %d, want %d", in.EPSG, tc.epsg)
			}
			if (in.WKT != "") != (tc.epsg != 0) {
				t.Errorf("WKT %q with EPSG %d", in.WKT, tc.epsg)
			}
			if in.HasGeoTransform != tc.gt {
				t.Errorf("HasGeoTransform %v, want %v", in.HasGeoTransform, tc.gt)
			}
			b := in.Bands[0]
			if b.Type != tc.typ || b.HasNoData != tc.hasNoData || (tc.hasNoData && b.NoData != tc.nodata) {
				t.Errorf("band 1 %+v, want type %s nodata %v/%v", b, tc.typ, tc.hasNoData, tc.nodata)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.tif")
	text := filepath.Join(dir, "text.tif")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(text, []byte("this is not a raster\n"), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing.tif"), empty, text} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			d, err := gdal.Open(p)
			if !errors.Is(err, gdal.ErrOpen) {
				d.Close()
				t.Fatalf("Open(%s) = %v, want ErrOpen", p, err)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, typ := range []raster.DataType{raster.Byte, raster.UInt16, raster.Int16, raster.UInt32, raster.Int32, raster.Float32, raster.Float64} {
		t.Run(typ.String(), func(t *testing.T) {
			w, h := 37, 23
			b1, b2 := raster.New(typ, w, h), raster.New(typ, w, h)
			b1.HasNoData, b1.NoData = true, 7
			b2.HasNoData, b2.NoData = true, 7
			for i := 0; i < w*h; i++ {
				b1.Set(i, float64(i%200))
				b2.Set(i, float64((i*7)%100))
			}
			p := filepath.Join(t.TempDir(), "rt.tif")
			gt := [6]float64{500000, 30, 0, 4000000, 0, -30}
			if err := gdal.WriteGeoTIFF(p, gdal.GeoTIFF{GeoTransform: gt, CRS: "EPSG:32633", Bands: []*raster.Band{b1, b2}, Compress: "DEFLATE", Predictor: true, BlockSize: 16}); err != nil {
				t.Fatal(err)
			}
			d, err := gdal.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			in, err := d.Info()
			if err != nil {
				t.Fatal(err)
			}
			if in.EPSG != 32633 || in.GeoTransform != gt || len(in.Bands) != 2 || in.Bands[0].Type != typ {
				t.Fatalf("info %+v", in)
			}
			if !in.Bands[0].HasNoData || in.Bands[0].NoData != 7 || !in.Bands[1].HasNoData || in.Bands[1].NoData != 7 {
				t.Errorf("nodata %+v", in.Bands)
			}
			for i, want := range []*raster.Band{b1, b2} {
				got := raster.New(typ, w, h)
				if err := d.ReadBand(i, 0, 0, w, h, got, gdal.Nearest); err != nil {
					t.Fatal(err)
				}
				if string(got.Data) != string(want.Data) {
					t.Fatalf("band %d differs after round trip", i+1)
				}
			}
			// A resampled read: 2x2 averages of a window.
			got := raster.New(raster.Float64, 2, 1)
			if err := d.ReadBand(0, 0, 0, 4, 2, got, gdal.Average); err != nil {
				t.Fatal(err)
			}
			// pixels (0,0),(1,0),(0,1),(1,1) = 0,1,37,38 → 19; (2,0),(3,0),(2,1),(3,1) = 2,3,39,40 → 21
			if got.At(0) != 19 || got.At(1) != 21 {
				t.Errorf("average read = %v %v, want 19 21", got.At(0), got.At(1))
			}
		})
	}
}

func TestTransform(t *testing.T) {
	xs, ys := []float64{0, 180, 10}, []float64{0, 0, 95}
	ok, err := gdal.Transform("EPSG:4326", "EPSG:3857", xs, ys)
	if err != nil {
		t.Fatal(err)
	}
	if !ok[0] || math.Abs(xs[0]) > 1e-6 || math.Abs(ys[0]) > 1e-6 {
		t.Errorf("(0,0) → %v %v %v", xs[0], ys[0], ok[0])
	}
	if !ok[1] || math.Abs(xs[1]-20037508.342789244) > 1e-3 {
		t.Errorf("(180,0) → %v %v", xs[1], ok[1])
	}
	if ok[2] {
		t.Errorf("latitude 95 transformed to %v %v", xs[2], ys[2])
	}
	if _, err := gdal.Transform("EPSG:999999", "EPSG:3857", nil, nil); !errors.Is(err, gdal.ErrCRS) {
		t.Errorf("unknown EPSG code: %v, want ErrCRS", err)
	}
	local := `LOCAL_CS["arbitrary",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]`
	if _, err := gdal.Transform(local, "EPSG:3857", []float64{1}, []float64{1}); !errors.Is(err, gdal.ErrTransform) {
		t.Errorf("local CRS to 3857: %v, want ErrTransform", err)
	}
}

// tileBlock is the EPSG:3857 bounds of the nx×ny tiles of zoom z whose top-left tile is
// (x0, y0).
func tileBlock(z, x0, y0, nx, ny int) [4]float64 {
	tl := tile.ZXY{Z: z, X: x0, Y: y0}.Bounds()
	br := tile.ZXY{Z: z, X: x0 + nx - 1, Y: y0 + ny - 1}.Bounds()
	return [4]float64{tl.MinX, br.MinY, br.MaxX, tl.MaxY}
}

func TestWarp(t *testing.T) {
	src, err := gdal.Open(shared(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// z11 tiles x 552–553, y 858–859 at 256 px.
	b := tileBlock(11, 552, 858, 2, 2)
	nd := 255.0
	out, err := gdal.Warp(src, filepath.Join(t.TempDir(), "w.tif"), gdal.WarpOptions{Bounds: b, Width: 512, Height: 512, DstNoData: []*float64{&nd}})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	in, err := out.Info()
	if err != nil {
		t.Fatal(err)
	}
	if in.EPSG != 3857 || in.Width != 512 || in.GeoTransform[0] != b[0] || math.Abs(in.GeoTransform[1]-tile.PixelSize(11, 256)) > 1e-9 {
		t.Fatalf("warped info %+v", in)
	}
	band := raster.New(raster.Byte, 512, 512)
	band.HasNoData, band.NoData = true, 255
	if err := out.ReadBand(0, 0, 0, 512, 512, band, gdal.Nearest); err != nil {
		t.Fatal(err)
	}
	valid, seen := 0, map[float64]bool{}
	for i := 0; i < band.Len(); i++ {
		if v := band.At(i); v != 255 {
			valid++
			seen[v] = true
		}
	}
	// 163×174 pixels of 113 m in 76 m pixels: about 2.2× as many valid pixels.
	if valid < 163*174*2 || valid > 163*174*3 {
		t.Errorf("%d valid pixels after warp", valid)
	}
	for v := range seen {
		switch v {
		case 0, 1, 2, 3, 4, 8, 9:
		default:
			t.Errorf("nearest warp produced value %v, not in the source", v)
		}
	}
}

// TestWarpNoSrcNoDataMask: nearest neighbour onto integer bands whose target nodata is the
// source's gives the same pixels without the source nodata mask (RGB.byte.tif, nodata 0,
// three bands, onto a grid a little finer than the source).
func TestWarpNoSrcNoDataMask(t *testing.T) {
	src, err := gdal.Open(shared(t, "rasterio_RGB.byte.tif"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// z11 tiles x 574–577, y 873–876 (the raster's upper-left corner) at 256 px.
	b := tileBlock(11, 574, 873, 4, 4)
	nd := 0.0
	read := func(noMask bool) ([3]*raster.Band, int) {
		out, err := gdal.Warp(src, filepath.Join(t.TempDir(), "w.tif"), gdal.WarpOptions{Bounds: b, Width: 1024, Height: 1024,
			DstNoData: []*float64{&nd, &nd, &nd}, NoSrcNoDataMask: noMask, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		var bands [3]*raster.Band
		zero := 0
		for i := range bands {
			bands[i] = raster.New(raster.Byte, 1024, 1024)
			if err := out.ReadBand(i, 0, 0, 1024, 1024, bands[i], gdal.Nearest); err != nil {
				t.Fatal(err)
			}
			for _, v := range bands[i].Data {
				if v == 0 {
					zero++
				}
			}
		}
		return bands, zero
	}
	masked, zm := read(false)
	unmasked, zu := read(true)
	if zm == 0 || zm == 3*1024*1024 {
		t.Fatalf("the window should hold both nodata and data: %d nodata pixels", zm)
	}
	for i := range masked {
		if string(masked[i].Data) != string(unmasked[i].Data) {
			t.Errorf("band %d differs without the source nodata mask (%d vs %d nodata pixels)", i+1, zm, zu)
		}
	}
}
