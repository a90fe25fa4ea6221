package tiles

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tessera-gis/tessera/shared/tile"
)

// lonLatHint is the pixel answer's hint for a point sent in degrees instead of EPSG:3857
// metres (pixel/11.58/48.14 for Munich, which in metres is a point off West Africa): when
// (x, y) lies outside the extent of every layer of the request that has one, but (x, y)
// read as longitude and latitude lies inside one's, it names that layer and the path of the
// point in metres. "" otherwise, and when no layer has an extent yet (none parsed). The
// answer itself stays django-raster's, a 200 with "value": null (reference §pixel).
func lonLatHint(x, y float64, vars []boundVar) string {
	if math.Abs(x) > worldBounds[2] || math.Abs(y) > worldBounds[3] {
		return ""
	}
	mx, my := tile.LonLatToMercator(x, y)
	in := ""
	for _, v := range vars {
		m := v.layer.Meta
		if m == nil || !(m.Extent[2] > m.Extent[0]) {
			continue
		}
		if extentHolds(m.Extent, x, y) {
			return ""
		}
		if in == "" && extentHolds(m.Extent, mx, my) {
			in = v.layer.Name
		}
	}
	if in == "" {
		return ""
	}
	px, py := strconv.FormatFloat(mx, 'f', 2, 64), strconv.FormatFloat(my, 'f', 2, 64)
	return fmt.Sprintf("x and y are EPSG:3857 metres, and (%v, %v) is outside the layers' extent; "+
		"read as longitude and latitude it is in layer %q: ask for pixel/%s/%s (the same point in metres)", x, y, in, px, py)
}

// extentHolds tells whether the EPSG:3857 extent e (MinX, MinY, MaxX, MaxY) holds the point,
// edges included.
func extentHolds(e [4]float64, x, y float64) bool {
	return e[0] <= x && x <= e[2] && e[1] <= y && y <= e[3]
}
