// Package tile holds the web-mercator tile grid: z/x/y addresses in the XYZ scheme (y counted
// from the north, as Leaflet, OpenLayers and django-raster use it) and their bounds in
// EPSG:3857 metres.
//
// Spec: the XYZ / "slippy map" tiling over EPSG:3857, whose square world spans
// ±π·6378137 metres on both axes; zoom z has 2^z × 2^z tiles.
package tile

import (
	"errors"
	"fmt"
	"math"
)

// EarthRadius is the WGS84 semi-major axis that EPSG:3857 uses as its sphere radius.
const EarthRadius = 6378137.0

// WorldSize is the width (and height) of the EPSG:3857 world in metres.
const WorldSize = 2 * math.Pi * EarthRadius

// Origin is the distance from the centre of the world to its edges: the world spans
// [-Origin, Origin] on both axes.
const Origin = WorldSize / 2

// MaxZoom is the deepest zoom Tessera accepts in an address (2^30 tiles a side still fits an
// int32 x or y).
const MaxZoom = 30

// DefaultSize is the tile size in pixels, django-raster's RASTER_TILESIZE default.
const DefaultSize = 256

// ZXY addresses one tile.
type ZXY struct{ Z, X, Y int }

// ErrOutOfRange is wrapped by Validate for addresses outside the grid.
var ErrOutOfRange = errors.New("tile: address out of range")

// String formats the address as z/x/y.
func (t ZXY) String() string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }

// Validate checks 0 ≤ z ≤ MaxZoom and 0 ≤ x, y < 2^z.
func (t ZXY) Validate() error {
	if t.Z < 0 || t.Z > MaxZoom {
		return fmt.Errorf("%w: zoom %d is not in 0..%d", ErrOutOfRange, t.Z, MaxZoom)
	}
	n := 1 << t.Z
	if t.X < 0 || t.X >= n || t.Y < 0 || t.Y >= n {
		return fmt.Errorf("%w: x and y at zoom %d must be in 0..%d, got x=%d y=%d", ErrOutOfRange, t.Z, n-1, t.X, t.Y)
	}
	return nil
}

// Bounds is a rectangle in EPSG:3857 metres.
type Bounds struct{ MinX, MinY, MaxX, MaxY float64 }

// Width is MaxX − MinX.
func (b Bounds) Width() float64 { return b.MaxX - b.MinX }

// Height is MaxY − MinY.
func (b Bounds) Height() float64 { return b.MaxY - b.MinY }

// Intersects reports whether the two rectangles overlap with a non-zero area.
func (b Bounds) Intersects(o Bounds) bool {
	return b.MinX < o.MaxX && o.MinX < b.MaxX && b.MinY < o.MaxY && o.MinY < b.MaxY
}

// Span is the width of one tile at zoom z in metres.
func Span(z int) float64 { return WorldSize / float64(uint64(1)<<uint(z)) }

// Bounds returns the tile's extent in EPSG:3857.
func (t ZXY) Bounds() Bounds {
	s := Span(t.Z)
	minx := -Origin + float64(t.X)*s
	maxy := Origin - float64(t.Y)*s
	return Bounds{MinX: minx, MinY: maxy - s, MaxX: minx + s, MaxY: maxy}
}

// PixelSize is the size of one pixel at zoom z for tiles of size pixels, in metres.
func PixelSize(z, size int) float64 { return Span(z) / float64(size) }

// Parent returns the tile one zoom up that contains t (t itself at zoom 0).
func (t ZXY) Parent() ZXY {
	if t.Z == 0 {
		return t
	}
	return ZXY{t.Z - 1, t.X >> 1, t.Y >> 1}
}

// Ancestor returns the tile at zoom z ≤ t.Z that contains t.
func (t ZXY) Ancestor(z int) ZXY {
	if z >= t.Z {
		return t
	}
	d := uint(t.Z - z)
	return ZXY{z, t.X >> d, t.Y >> d}
}

// Range is an inclusive block of tiles at one zoom.
type Range struct{ Z, MinX, MinY, MaxX, MaxY int }

// Count is the number of tiles in the range (0 when empty).
func (r Range) Count() int {
	if r.MaxX < r.MinX || r.MaxY < r.MinY {
		return 0
	}
	return (r.MaxX - r.MinX + 1) * (r.MaxY - r.MinY + 1)
}

// Covering returns the tiles at zoom z that intersect b with a non-zero area, clipped to the
// grid. The result may be empty (Count() == 0).
func Covering(b Bounds, z int) Range {
	s := Span(z)
	n := 1 << z
	// A tiny epsilon keeps a bound lying exactly on a tile edge from pulling in the
	// neighbouring tile through floating-point noise.
	const eps = 1e-9
	minx := int(math.Floor((b.MinX+Origin)/s + eps))
	maxx := int(math.Ceil((b.MaxX+Origin)/s-eps)) - 1
	miny := int(math.Floor((Origin-b.MaxY)/s + eps))
	maxy := int(math.Ceil((Origin-b.MinY)/s-eps)) - 1
	clamp := func(v int) int { return min(max(v, 0), n-1) }
	r := Range{Z: z, MinX: clamp(minx), MinY: clamp(miny), MaxX: clamp(maxx), MaxY: clamp(maxy)}
	if maxx < 0 || maxy < 0 || minx >= n || miny >= n || maxx < minx || maxy < miny {
		r.MaxX, r.MaxY = r.MinX-1, r.MinY-1
	}
	return r
}

// At returns the tile at zoom z holding the EPSG:3857 point (x, y), and the point's position
// in it as fractions fx, fy of its size (0 at the west and north edges). A point beyond the
// world's edge belongs to the edge tile (its fractions then fall outside [0, 1)).
func At(x, y float64, z int) (t ZXY, fx, fy float64) {
	n := 1 << z
	span := Span(z)
	fx = (x + Origin) / span
	fy = (Origin - y) / span
	tx := min(n-1, max(0, int(math.Floor(fx))))
	ty := min(n-1, max(0, int(math.Floor(fy))))
	return ZXY{Z: z, X: tx, Y: ty}, fx - float64(tx), fy - float64(ty)
}

// LonLatToMercator converts WGS84 degrees to EPSG:3857 metres. Latitudes are clamped to the
// web-mercator limit (about ±85.0511°).
func LonLatToMercator(lon, lat float64) (x, y float64) {
	const limit = 85.05112877980659
	lat = math.Max(-limit, math.Min(limit, lat))
	x = lon * math.Pi / 180 * EarthRadius
	y = math.Log(math.Tan(math.Pi/4+lat*math.Pi/360)) * EarthRadius
	return x, y
}

// LonLatBox is the EPSG:3857 bounds of the WGS84 box west, south, east, north (degrees): what
// the server's export and statistics take a bbox= as, and the page's export zoom counts tiles
// over (wasm's coveringCount).
func LonLatBox(west, south, east, north float64) Bounds {
	minX, minY := LonLatToMercator(west, south)
	maxX, maxY := LonLatToMercator(east, north)
	return Bounds{MinX: minX, MinY: minY, MaxX: maxX, MaxY: maxY}
}

// MercatorToLonLat converts EPSG:3857 metres to WGS84 degrees.
func MercatorToLonLat(x, y float64) (lon, lat float64) {
	lon = x / EarthRadius * 180 / math.Pi
	lat = (2*math.Atan(math.Exp(y/EarthRadius)) - math.Pi/2) * 180 / math.Pi
	return lon, lat
}
