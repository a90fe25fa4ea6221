package geotiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

type gdalInfo struct {
	Size             []int     `json:"size"`
	GeoTransform     []float64 `json:"geoTransform"`
	CoordinateSystem struct {
		WKT string `json:"wkt"`
	} `json:"coordinateSystem"`
	Metadata map[string]map[string]string `json:"metadata"`
	Bands    []struct {
		Type                string `json:"type"`
		NoDataValue         any    `json:"noDataValue"`
		ColorInterpretation string `json:"colorInterpretation"`
	} `json:"bands"`
}

func info(t *testing.T, path string) gdalInfo {
	t.Helper()
	out, err := exec.Command(dbtest.GDALTool(t, "gdalinfo"), "-json", path).Output()
	if err != nil {
		t.Fatalf("gdalinfo: %v", err)
	}
	var gi gdalInfo
	if err := json.Unmarshal(out, &gi); err != nil {
		t.Fatalf("gdalinfo output: %v", err)
	}
	return gi
}

// valuesAt asks gdallocationinfo for band b (1-based) at the pixels (col,row), in one run
// (the points go on its standard input).
func valuesAt(t *testing.T, path string, b int, pts [][2]int) []string {
	t.Helper()
	var in strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&in, "%d %d\n", p[0], p[1])
	}
	cmd := exec.Command(dbtest.GDALTool(t, "gdallocationinfo"), "-valonly", "-b", strconv.Itoa(b), path)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gdallocationinfo: %v", err)
	}
	vals := strings.Fields(string(out))
	if len(vals) != len(pts) {
		t.Fatalf("gdallocationinfo gave %d values for %d points: %q", len(vals), len(pts), out)
	}
	return vals
}

func ramp(typ raster.DataType, w, h, k int) *raster.Band {
	b := raster.New(typ, w, h)
	for i := 0; i < w*h; i++ {
		b.Set(i, float64((i+k*3)%120))
	}
	return b
}

func TestWriteReadByGDAL(t *testing.T) {
	z := tile.ZXY{Z: 5, X: 17, Y: 11}
	bounds := z.Bounds()
	tests := []struct {
		typ     raster.DataType
		bands   int
		w, h    int
		deflate bool
		nodata  *float64
		rgb     bool
	}{
		{raster.Float64, 1, 256, 256, false, ptr(-9999), false},
		{raster.Float64, 1, 300, 700, true, ptr(math.NaN()), false},
		{raster.Float32, 2, 64, 32, false, nil, false},
		{raster.Byte, 3, 256, 256, true, nil, true},
		{raster.Int16, 1, 10, 10, false, ptr(-1), false},
		{raster.UInt16, 4, 17, 5, true, ptr(0), false},
		{raster.Int32, 1, 3, 3, false, nil, false},
		{raster.UInt32, 1, 3, 3, false, nil, false},
		{raster.Int8, 1, 3, 3, false, nil, false},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s_%dx%dx%d_deflate=%v", tc.typ, tc.w, tc.h, tc.bands, tc.deflate)
		t.Run(name, func(t *testing.T) {
			img := &Image{Bounds: bounds, NoData: tc.nodata, RGB: tc.rgb, Deflate: tc.deflate}
			for k := 0; k < tc.bands; k++ {
				img.Bands = append(img.Bands, ramp(tc.typ, tc.w, tc.h, k))
			}
			var buf bytes.Buffer
			if err := Write(&buf, img); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "out.tif")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			gi := info(t, path)
			if len(gi.Size) != 2 || gi.Size[0] != tc.w || gi.Size[1] != tc.h {
				t.Errorf("size = %v, want %dx%d", gi.Size, tc.w, tc.h)
			}
			wantGT := []float64{bounds.MinX, bounds.Width() / float64(tc.w), 0, bounds.MaxY, 0, -bounds.Height() / float64(tc.h)}
			for i := range wantGT {
				if len(gi.GeoTransform) != 6 || math.Abs(gi.GeoTransform[i]-wantGT[i]) > 1e-6 {
					t.Fatalf("geoTransform = %v, want %v", gi.GeoTransform, wantGT)
				}
			}
			if !strings.Contains(gi.CoordinateSystem.WKT, `ID["EPSG",3857]`) {
				t.Errorf("CRS is not EPSG:3857: %s", gi.CoordinateSystem.WKT)
			}
			if len(gi.Bands) != tc.bands {
				t.Fatalf("%d bands, want %d", len(gi.Bands), tc.bands)
			}
			for _, b := range gi.Bands {
				// GDAL before 3.7 reports a signed 8-bit band as Byte (PIXELTYPE=SIGNEDBYTE).
				if b.Type != tc.typ.String() && !(tc.typ == raster.Int8 && b.Type == "Byte") {
					t.Errorf("band type %s, want %s", b.Type, tc.typ)
				}
				switch {
				case tc.nodata == nil && b.NoDataValue != nil:
					t.Errorf("nodata %v, want none", b.NoDataValue)
				case tc.nodata != nil && math.IsNaN(*tc.nodata) && b.NoDataValue != "NaN":
					t.Errorf("nodata %v, want NaN", b.NoDataValue)
				case tc.nodata != nil && !math.IsNaN(*tc.nodata) && b.NoDataValue != *tc.nodata:
					t.Errorf("nodata %v, want %v", b.NoDataValue, *tc.nodata)
				}
			}
			if tc.rgb && (gi.Bands[0].ColorInterpretation != "Red" || gi.Bands[2].ColorInterpretation != "Blue") {
				t.Errorf("colour interpretation %s..%s, want Red..Blue", gi.Bands[0].ColorInterpretation, gi.Bands[2].ColorInterpretation)
			}
			// Values: corners and the middle of every band.
			pts := [][2]int{{0, 0}, {tc.w - 1, 0}, {tc.w / 2, tc.h / 2}, {tc.w - 1, tc.h - 1}}
			for k := 0; k < tc.bands; k++ {
				for j, v := range valuesAt(t, path, k+1, pts) {
					p := pts[j]
					want := img.Bands[k].At(p[1]*tc.w + p[0])
					got, err := strconv.ParseFloat(v, 64)
					if err != nil || got != want {
						t.Errorf("band %d pixel %v = %v (%v), want %v", k+1, p, got, err, want)
					}
				}
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func TestWriteInvalid(t *testing.T) {
	b := tile.ZXY{Z: 1}.Bounds()
	tests := []struct {
		name string
		img  Image
	}{
		{"no bands", Image{Bounds: b}},
		{"mixed types", Image{Bounds: b, Bands: []*raster.Band{raster.New(raster.Byte, 2, 2), raster.New(raster.Int16, 2, 2)}}},
		{"mixed sizes", Image{Bounds: b, Bands: []*raster.Band{raster.New(raster.Byte, 2, 2), raster.New(raster.Byte, 2, 3)}}},
		{"short data", Image{Bounds: b, Bands: []*raster.Band{{Type: raster.Byte, Width: 2, Height: 2, Data: []byte{1}}}}},
		{"empty size", Image{Bounds: b, Bands: []*raster.Band{raster.New(raster.Byte, 0, 2)}}},
		{"empty bounds", Image{Bands: []*raster.Band{raster.New(raster.Byte, 2, 2)}}},
		{"rgb of one band", Image{Bounds: b, RGB: true, Bands: []*raster.Band{raster.New(raster.Byte, 2, 2)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, &tc.img); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Write = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestTemplate: a template written at some bounds is byte for byte Write of its image at
// those bounds — compressed or not, one band or several, at tiles of several zooms — and
// refuses what Write refuses.
func TestTemplate(t *testing.T) {
	nan := math.NaN()
	allNaN := raster.New(raster.Float64, 256, 256)
	for i := range allNaN.Len() {
		allNaN.Set(i, nan)
	}
	tests := []struct {
		name string
		img  Image
	}{
		{"empty tile: Float64 NaN, deflate", Image{Bands: []*raster.Band{allNaN}, NoData: &nan, Deflate: true}},
		{"ramp, raw", Image{Bands: []*raster.Band{ramp(raster.Int16, 300, 70, 3)}, NoData: ptr(-1)}},
		{"RGB, deflate", Image{Bands: []*raster.Band{ramp(raster.Byte, 64, 64, 0), ramp(raster.Byte, 64, 64, 1), ramp(raster.Byte, 64, 64, 2)}, RGB: true, Deflate: true}},
	}
	at := []tile.ZXY{{Z: 0}, {Z: 3, X: 1, Y: 6}, {Z: 17, X: 70000, Y: 45000}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := NewTemplate(&tc.img)
			if err != nil {
				t.Fatal(err)
			}
			for _, z := range at {
				img := tc.img
				img.Bounds = z.Bounds()
				var want, got bytes.Buffer
				if err := Write(&want, &img); err != nil {
					t.Fatal(err)
				}
				if err := tpl.Write(&got, z.Bounds()); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("at %v: the template wrote %d bytes that differ from Write's %d", z, got.Len(), want.Len())
				}
			}
		})
	}
	if _, err := NewTemplate(&Image{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewTemplate without bands = %v, want ErrInvalid", err)
	}
	tpl, err := NewTemplate(&tests[0].img)
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.Write(&bytes.Buffer{}, tile.Bounds{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Template.Write at empty bounds = %v, want ErrInvalid", err)
	}
}

func TestFormatNoData(t *testing.T) {
	for in, want := range map[float64]string{-9999: "-9999", 0.5: "0.5", math.Inf(-1): "-inf", -3.4028234663852886e+38: "-3.4028234663852886e+38"} {
		if got := FormatNoData(in); got != want {
			t.Errorf("FormatNoData(%v) = %q, want %q", in, got, want)
		}
	}
	if got := FormatNoData(math.NaN()); got != "nan" {
		t.Errorf("FormatNoData(NaN) = %q", got)
	}
}

func BenchmarkWriteTile(b *testing.B) {
	img := &Image{Bounds: tile.ZXY{Z: 3, X: 1, Y: 1}.Bounds(), Bands: []*raster.Band{ramp(raster.Float64, 256, 256, 0)}, NoData: ptr(-1)}
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io_discard{}, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteTileDeflate: a .tif tile as the tile server writes it (Float64, deflated).
func BenchmarkWriteTileDeflate(b *testing.B) {
	img := &Image{Bounds: tile.ZXY{Z: 3, X: 1, Y: 1}.Bounds(), Bands: []*raster.Band{ramp(raster.Float64, 256, 256, 0)}, NoData: ptr(-1), Deflate: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io_discard{}, img); err != nil {
			b.Fatal(err)
		}
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

// emptyTile is the tile server's all-nodata .tif tile: 256×256 Float64 NaN, deflated.
func emptyTile() *Image {
	nan := math.NaN()
	b := raster.New(raster.Float64, 256, 256)
	for i := range b.Len() {
		b.Set(i, nan)
	}
	return &Image{Bounds: tile.ZXY{Z: 10, X: 500, Y: 300}.Bounds(), Bands: []*raster.Band{b}, NoData: &nan, Deflate: true}
}

// BenchmarkWriteEmptyTile: an empty .tif tile encoded from scratch, as Write does.
func BenchmarkWriteEmptyTile(b *testing.B) {
	img := emptyTile()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io_discard{}, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTemplateEmptyTile: the same file from a template (its strips compressed once).
func BenchmarkTemplateEmptyTile(b *testing.B) {
	img := emptyTile()
	tpl, err := NewTemplate(img)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := tpl.Write(io_discard{}, img.Bounds); err != nil {
			b.Fatal(err)
		}
	}
}
