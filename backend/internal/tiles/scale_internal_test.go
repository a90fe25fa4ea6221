package tiles

import (
	"errors"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
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

// TestScaledBytes: what a scaled tile holds per MaxScaledBytes, and where it is refused. The
// bound was missing: @4x over sixteen Float64 layers held some 400 MB for one request.
func TestScaledBytes(t *testing.T) {
	layer := func(id int64, bands int, dt raster.DataType) catalog.Layer {
		l := catalog.Layer{ID: id}
		for i := range bands {
			l.Bands = append(l.Bands, catalog.BandMeta{Index: i, Type: dt})
		}
		return l
	}
	// vars is n variables: of n Float64 layers, or of the one layer l named n times.
	vars := func(n int, l *catalog.Layer) []catalog.Layer {
		ls := make([]catalog.Layer, n)
		for i := range ls {
			if l != nil {
				ls[i] = *l
			} else {
				ls[i] = layer(int64(i+1), 1, raster.Float64)
			}
		}
		return ls
	}
	scene, class, cube := layer(1, 4, raster.UInt16), layer(1, 1, raster.Byte), layer(1, 64, raster.Float64)
	tests := []struct {
		name        string
		layers      []catalog.Layer
		size, scale int
		want        int64 // bytes
		refused     bool
	}{
		{"@1x is not bounded", vars(16, nil), 256, 1, 256 * 256 * 16 * 16, false},
		{"@2x of sixteen Float64 layers: the limit itself", vars(16, nil), 256, 2, 64 << 20, false},
		{"@4x of four Float64 layers: the limit itself", vars(4, nil), 256, 4, 64 << 20, false},
		{"@4x of five Float64 layers", vars(5, nil), 256, 4, 80 << 20, true},
		{"@4x of sixteen Float64 layers", vars(16, nil), 256, 4, 256 << 20, true},
		{"NDVI of a four-band UInt16 scene @4x: its layer read once", vars(2, &scene), 256, 4, 1 << 20 * (8 + 16), false},
		{"one band named nine times @4x: 8 bytes a name", vars(9, &class), 256, 4, 1 << 20 * (1 + 72), true},
		{"one of 64 Float64 bands @2x: every band is read", vars(1, &cube), 256, 2, 512 * 512 * (64*8 + 8), true},
		{"RASTER_TILESIZE 1024 @2x of one Float32 layer", []catalog.Layer{layer(1, 1, raster.Float32)}, 1024, 2, 2048 * 2048 * 12, false},
		{"RASTER_TILESIZE 4096 @2x of one Byte layer", vars(1, &class), 4096, 2, 8192 * 8192 * 9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := scaledBytes(tt.layers, tt.size, tt.scale); got != tt.want {
				t.Errorf("scaledBytes = %d, want %d", got, tt.want)
			}
			err := checkScaledBytes("scale", tt.layers, tt.size, tt.scale)
			if tt.refused != (err != nil) {
				t.Fatalf("checkScaledBytes: %v, want refused %v", err, tt.refused)
			}
			if err != nil && (!errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "scale: @") ||
				!strings.Contains(err.Error(), "more than the 64 MiB a scaled tile may hold")) {
				t.Errorf("error %q", err)
			}
		})
	}
}
