package gdal_test

import (
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// TestStripWarperMatchesWarp: the strip warper gives Warp's pixels, byte for byte, in strips
// of one row of tiles, and writes the same GeoTIFF.
func TestStripWarperMatchesWarp(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		z        int
		x0, y0   int // the grid's top-left tile
		nx, ny   int
		T, memMB int
	}{
		// RGB.byte.tif on the zoom-11 grid its ingest uses, and on zoom 12 (4× the pixels,
		// several chunks with 16 MB of warp memory).
		{"RGB.byte z11", "rasterio_RGB.byte.tif", 11, 574, 873, 4, 4, 256, 16},
		{"RGB.byte z12, small warp memory", "rasterio_RGB.byte.tif", 12, 1148, 1746, 8, 7, 256, 16},
		{"RGB.byte z12, tiles of 100", "rasterio_RGB.byte.tif", 12, 1148, 1746, 9, 8, 100, 16},
		{"RGB.byte z13, many chunks", "rasterio_RGB.byte.tif", 13, 2296, 3492, 16, 14, 256, 16},
		{"django test raster", "django_raster_test.tif", 11, 552, 858, 2, 2, 256, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := shared(t, tc.file)
			src, err := gdal.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			in, err := src.Info()
			if err != nil {
				t.Fatal(err)
			}
			W, H := tc.nx*tc.T, tc.ny*tc.T
			nd := make([]*float64, len(in.Bands))
			for i, b := range in.Bands {
				v := b.NoData
				if !b.HasNoData {
					t.Skip("the strip warper needs nodata on every band")
				}
				nd[i] = &v
			}
			o := gdal.WarpOptions{Bounds: tileBlock(tc.z, tc.x0, tc.y0, tc.nx, tc.ny),
				Width: W, Height: H, DstNoData: nd, NoSrcNoDataMask: true, Threads: 2, MemoryMB: tc.memMB, BlockSize: 16 * (tc.T / 16)}
			if o.BlockSize == 0 || tc.T%16 != 0 {
				o.BlockSize = 256
			}
			dir := t.TempDir()
			whole, err := gdal.Warp(src, filepath.Join(dir, "whole.tif"), o)
			if err != nil {
				t.Fatal(err)
			}
			defer whole.Close()
			sw, err := gdal.NewStripWarper(path, filepath.Join(dir, "strips.tif"), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(sw.Chunks()) < 1 {
				t.Fatal("no chunks")
			}
			valid := 0
			for y := 0; y < H; y += tc.T {
				bands := make([]*raster.Band, sw.Bands())
				for i := range bands {
					bands[i] = raster.New(sw.Type(), W, tc.T)
					bands[i].HasNoData, bands[i].NoData = true, *nd[i]
				}
				if err := sw.Strip(y, tc.T, bands); err != nil {
					t.Fatal(err)
				}
				for i, b := range bands {
					want := raster.New(sw.Type(), W, tc.T)
					if err := whole.ReadBand(i, 0, y, W, tc.T, want, gdal.Nearest); err != nil {
						t.Fatal(err)
					}
					for k := range want.Data {
						if b.Data[k] != want.Data[k] {
							t.Fatalf("band %d row %d col %d: strip %d, whole warp %d (chunks %v)", i+1, y+k/W, k%W, b.Data[k], want.Data[k], sw.Chunks())
						}
						if want.Data[k] != byte(*nd[i]) {
							valid++
						}
					}
				}
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			if valid == 0 {
				t.Fatal("the grid holds no valid pixel: a test of nothing")
			}
			// The GeoTIFF written is Warp's.
			kept, err := gdal.Open(filepath.Join(dir, "strips.tif"))
			if err != nil {
				t.Fatal(err)
			}
			defer kept.Close()
			ki, _ := kept.Info()
			wi, _ := whole.Info()
			if ki.Width != wi.Width || ki.Height != wi.Height || ki.GeoTransform != wi.GeoTransform || ki.EPSG != wi.EPSG || len(ki.Bands) != len(wi.Bands) {
				t.Fatalf("written %+v, Warp's %+v", ki, wi)
			}
			for i := range ki.Bands {
				a, b := raster.New(sw.Type(), W, H), raster.New(sw.Type(), W, H)
				if err := kept.ReadBand(i, 0, 0, W, H, a, gdal.Nearest); err != nil {
					t.Fatal(err)
				}
				if err := whole.ReadBand(i, 0, 0, W, H, b, gdal.Nearest); err != nil {
					t.Fatal(err)
				}
				if string(a.Data) != string(b.Data) || ki.Bands[i].NoData != wi.Bands[i].NoData {
					t.Fatalf("band %d of the written GeoTIFF differs from Warp's", i+1)
				}
			}
			t.Logf("%d chunks: %v", len(sw.Chunks()), sw.Chunks())
		})
	}
}
