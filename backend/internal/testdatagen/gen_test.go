package testdatagen

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// TestRegenerate checks that Generate reproduces the committed samples: the same pixels,
// georeferencing and nodata (and, with the same GDAL, the same bytes).
func TestRegenerate(t *testing.T) {
	committed, err := ProjectTestdata()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range Samples {
		t.Run(name, func(t *testing.T) {
			a, b := filepath.Join(committed, name), filepath.Join(dir, name)
			ab, err := os.ReadFile(a)
			if err != nil {
				t.Fatalf("committed sample: %v (run tessera gendata --out testdata)", err)
			}
			bb, _ := os.ReadFile(b)
			if st, _ := os.Stat(b); st.Size() > 300<<10 {
				t.Errorf("%s is %d bytes, over the 300 KiB budget", name, st.Size())
			}
			if bytes.Equal(ab, bb) {
				return
			}
			t.Logf("%s: bytes differ (another GDAL version?); comparing pixels", name)
			pa, ia := readAll(t, a)
			pb, ib := readAll(t, b)
			if ia.GeoTransform != ib.GeoTransform || ia.EPSG != ib.EPSG || len(pa) != len(pb) {
				t.Fatalf("georeferencing differs: %+v vs %+v", ia, ib)
			}
			for i := range pa {
				if !bytes.Equal(pa[i].Data, pb[i].Data) || pa[i].NoData != pb[i].NoData {
					t.Fatalf("band %d differs", i+1)
				}
			}
		})
	}
}

func readAll(t *testing.T, p string) ([]*raster.Band, gdal.Info) {
	t.Helper()
	d, err := gdal.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in, err := d.Info()
	if err != nil {
		t.Fatal(err)
	}
	var out []*raster.Band
	for i, bi := range in.Bands {
		b := raster.New(bi.Type, in.Width, in.Height)
		b.HasNoData, b.NoData = bi.HasNoData, bi.NoData
		if err := d.ReadBand(i, 0, 0, in.Width, in.Height, b, gdal.Nearest); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out, in
}

// TestSamplesContent checks what the samples promise: types, CRSs, nodata, value ranges.
func TestSamplesContent(t *testing.T) {
	dir, err := ProjectTestdata()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("terrain", func(t *testing.T) {
		bands, in := readAll(t, filepath.Join(dir, Terrain))
		if in.EPSG != 32633 || bands[0].Type != raster.Float32 || bands[0].NoData != TerrainNoData {
			t.Fatalf("info %+v", in)
		}
		vals, mask := bands[0].Decode(nil, nil)
		holes, lo, hi := 0, math.Inf(1), math.Inf(-1)
		for i, v := range vals {
			if mask != nil && mask[i] {
				holes++
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if holes == 0 || holes > len(vals)/4 || lo < 300 || hi > 2700 || hi-lo < 1000 {
			t.Errorf("%d holes, range %v..%v", holes, lo, hi)
		}
	})
	t.Run("scene NDVI", func(t *testing.T) {
		bands, in := readAll(t, filepath.Join(dir, Scene))
		if in.EPSG != 4326 || len(bands) != 4 || bands[0].Type != raster.UInt16 {
			t.Fatalf("info %+v", in)
		}
		lo, hi := 1.0, -1.0
		for i := 0; i < bands[2].Len(); i++ {
			r, n := bands[2].At(i), bands[3].At(i)
			if r == 0 {
				continue
			}
			ndvi := (n - r) / (n + r)
			lo, hi = math.Min(lo, ndvi), math.Max(hi, ndvi)
		}
		if lo > -0.2 || hi < 0.6 {
			t.Errorf("NDVI range %v..%v, want water below -0.2 and vegetation above 0.6", lo, hi)
		}
	})
	t.Run("land cover", func(t *testing.T) {
		bands, in := readAll(t, filepath.Join(dir, LandCover))
		if in.EPSG != 3857 || bands[0].Type != raster.Byte || bands[0].NoData != 0 {
			t.Fatalf("info %+v", in)
		}
		seen := map[byte]int{}
		for _, v := range bands[0].Data {
			seen[v]++
		}
		for c := byte(0); c <= 6; c++ {
			if seen[c] == 0 {
				t.Errorf("class %d absent", c)
			}
		}
		if len(seen) != 7 {
			t.Errorf("values %v, want 0..6", seen)
		}
	})
}
