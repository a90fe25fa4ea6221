package tile

import (
	"errors"
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    ZXY
		want Bounds
	}{
		{"world", ZXY{0, 0, 0}, Bounds{-Origin, -Origin, Origin, Origin}},
		{"z1 north-west", ZXY{1, 0, 0}, Bounds{-Origin, 0, 0, Origin}},
		{"z1 south-east", ZXY{1, 1, 1}, Bounds{0, -Origin, Origin, 0}},
		// django-raster's docs example tile /raster/tiles/23/8/536/143.png
		{"z8 536/143", ZXY{8, 536, 143}, Bounds{
			-Origin + 536*WorldSize/256, Origin - 144*WorldSize/256,
			-Origin + 537*WorldSize/256, Origin - 143*WorldSize/256}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.t.Bounds()
			if !near(got.MinX, tc.want.MinX) || !near(got.MinY, tc.want.MinY) || !near(got.MaxX, tc.want.MaxX) || !near(got.MaxY, tc.want.MaxY) {
				t.Fatalf("Bounds(%v) = %+v, want %+v", tc.t, got, tc.want)
			}
		})
	}
	if !near(Origin, 20037508.342789244) {
		t.Fatalf("Origin = %v", Origin)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		t  ZXY
		ok bool
	}{
		{ZXY{0, 0, 0}, true}, {ZXY{3, 7, 7}, true}, {ZXY{3, 8, 0}, false}, {ZXY{3, 0, -1}, false},
		{ZXY{-1, 0, 0}, false}, {ZXY{31, 0, 0}, false}, {ZXY{30, 1<<30 - 1, 0}, true},
	} {
		t.Run(tc.t.String(), func(t *testing.T) {
			err := tc.t.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("error %v does not wrap ErrOutOfRange", err)
			}
		})
	}
}

func TestPixelSize(t *testing.T) {
	// django-raster's max-zoom example: 113.246 m pixels need zoom 11 at 256 px tiles
	// (76.437 m) since zoom 10 (152.874 m) is coarser.
	if got := PixelSize(11, 256); !near(math.Round(got*1000)/1000, 76.437) {
		t.Fatalf("PixelSize(11, 256) = %v", got)
	}
	if got := PixelSize(10, 256); got <= 113.246 {
		t.Fatalf("PixelSize(10, 256) = %v, want > 113.246", got)
	}
}

func TestParentAncestor(t *testing.T) {
	c := ZXY{11, 553, 859}
	if p := c.Parent(); p != (ZXY{10, 276, 429}) {
		t.Fatalf("Parent = %v", p)
	}
	if a := c.Ancestor(8); a != (ZXY{8, 69, 107}) {
		t.Fatalf("Ancestor(8) = %v", a)
	}
	if a := c.Ancestor(12); a != c {
		t.Fatalf("Ancestor(12) = %v", a)
	}
	if p := (ZXY{}).Parent(); p != (ZXY{}) {
		t.Fatalf("Parent of root = %v", p)
	}
}

func TestCovering(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     Bounds
		z     int
		want  Range
		count int
	}{
		{"whole world z2", Bounds{-Origin, -Origin, Origin, Origin}, 2, Range{2, 0, 0, 3, 3}, 16},
		{"exact tile edges do not spill", ZXY{3, 2, 5}.Bounds(), 3, Range{3, 2, 5, 2, 5}, 1},
		{"straddles four tiles", Bounds{-1, -1, 1, 1}, 1, Range{1, 0, 0, 1, 1}, 4},
		{"outside the world", Bounds{Origin + 1, 0, Origin + 2, 1}, 4, Range{}, 0},
		{"clipped to the grid", Bounds{-2 * Origin, -1, -Origin + 1, 1}, 1, Range{1, 0, 0, 0, 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Covering(tc.b, tc.z)
			if got.Count() != tc.count {
				t.Fatalf("Covering = %+v (count %d), want count %d", got, got.Count(), tc.count)
			}
			if tc.count > 0 && got != tc.want {
				t.Fatalf("Covering = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLonLatMercator(t *testing.T) {
	x, y := LonLatToMercator(180, 85.05112877980659)
	if !near(x, Origin) || math.Abs(y-Origin) > 1e-3 {
		t.Fatalf("corner = %v, %v", x, y)
	}
	lon, lat := MercatorToLonLat(LonLatToMercator(-80.5, 26.25))
	if math.Abs(lon+80.5) > 1e-9 || math.Abs(lat-26.25) > 1e-9 {
		t.Fatalf("round trip = %v, %v", lon, lat)
	}
}

// TestAt checks the tile holding a point and the point's place in it: a tile's north-west
// corner, its centre, the world's east and south edges and a point beyond the world.
func TestAt(t *testing.T) {
	z := 3
	b := ZXY{Z: z, X: 5, Y: 2}.Bounds()
	for _, tc := range []struct {
		name   string
		x, y   float64
		want   ZXY
		fx, fy float64
	}{
		{"north-west corner", b.MinX, b.MaxY, ZXY{Z: z, X: 5, Y: 2}, 0, 0},
		{"centre", (b.MinX + b.MaxX) / 2, (b.MinY + b.MaxY) / 2, ZXY{Z: z, X: 5, Y: 2}, 0.5, 0.5},
		{"east and south edge of the world", Origin, -Origin, ZXY{Z: z, X: 7, Y: 7}, 1, 1},
		{"beyond the west edge", -Origin - Span(z)/2, 0, ZXY{Z: z, X: 0, Y: 4}, -0.5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, fx, fy := At(tc.x, tc.y, z)
			if got != tc.want || !near(fx, tc.fx) || !near(fy, tc.fy) {
				t.Fatalf("At = %v, %v, %v; want %v, %v, %v", got, fx, fy, tc.want, tc.fx, tc.fy)
			}
		})
	}
}

func TestLonLatBox(t *testing.T) {
	b := LonLatBox(-10, 40, 20, 60)
	minX, minY := LonLatToMercator(-10, 40)
	maxX, maxY := LonLatToMercator(20, 60)
	if b != (Bounds{MinX: minX, MinY: minY, MaxX: maxX, MaxY: maxY}) {
		t.Errorf("LonLatBox = %+v", b)
	}
	// The whole world in degrees is the web-mercator square (latitudes clamped).
	if w := LonLatBox(-180, -90, 180, 90); math.Abs(w.MinX+Origin) > 1e-6 || math.Abs(w.MaxY-Origin) > 1e-6 || math.Abs(w.Width()-w.Height()) > 1e-6 {
		t.Errorf("world %+v", w)
	}
}
