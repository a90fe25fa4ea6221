//go:build js && wasm

package main

import (
	"fmt"

	"github.com/tessera-gis/tessera/shared/tile"
)

// coveringCount is how many zoom-z tiles cover the lon/lat box west, south, east, north, as
// the server's export counts them (tile.LonLatBox, then tile.Covering): the page picks an
// export's zoom with it instead of its own copy of the tile arithmetic.
// A zoom outside 0..tile.MaxZoom is an error (a negative one panicked in tile.Covering's
// shift, ending the module for the page).
func coveringCount(west, south, east, north float64, z int) (int, error) {
	if z < 0 || z > tile.MaxZoom {
		return 0, fmt.Errorf("coveringCount: zoom %d is not in 0..%d", z, tile.MaxZoom)
	}
	return tile.Covering(tile.LonLatBox(west, south, east, north), z).Count(), nil
}
