package tiles

import (
	"errors"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

func TestStitchMissing(t *testing.T) {
	band := func(v float64, nodata bool) *raster.Band {
		b := raster.New(raster.Int16, 3, 2)
		b.HasNoData, b.NoData = nodata, -9
		for i := range b.Len() {
			b.Set(i, v+float64(i))
		}
		return b
	}
	// Children (0,0) and (1,1) present, (1,0) and (0,1) missing: nodata there.
	out, err := stitch([]*raster.Band{band(10, true), nil, nil, band(20, true)}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if out.Width != 6 || out.Height != 4 || out.Type != raster.Int16 || !out.HasNoData || out.NoData != -9 {
		t.Fatalf("%d×%d %v nodata %v %v", out.Width, out.Height, out.Type, out.HasNoData, out.NoData)
	}
	want := []float64{
		10, 11, 12, -9, -9, -9,
		13, 14, 15, -9, -9, -9,
		-9, -9, -9, 20, 21, 22,
		-9, -9, -9, 23, 24, 25,
	}
	for i, w := range want {
		if got := out.At(i); got != w {
			t.Errorf("pixel %d = %v, want %v", i, got, w)
		}
	}
	// A band without nodata cannot mark a missing child: the variable is missing.
	if _, err := stitch([]*raster.Band{band(10, false), nil, nil, band(20, false)}, 2); !errors.Is(err, errNoChild) {
		t.Errorf("missing child without nodata: %v, want errNoChild", err)
	}
	// No child at all: missing, no error.
	if b, err := stitch(make([]*raster.Band, 4), 2); b != nil || err != nil {
		t.Errorf("all missing: %v, %v", b, err)
	}
	// Children of different sizes are an error, not a wrong image.
	odd := raster.New(raster.Int16, 2, 2)
	if _, err := stitch([]*raster.Band{band(1, true), odd, band(1, true), band(1, true)}, 2); err == nil {
		t.Errorf("children of different sizes stitched")
	}
}
