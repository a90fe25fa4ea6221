//go:build js && wasm

package main

import "github.com/tessera-gis/tessera/shared/tile"

// coveringCount is how many zoom-z tiles cover the lon/lat box west, south, east, north, as
// the server's export counts them (tile.LonLatBox, then tile.Covering): the page picks an
// export's zoom with it instead of its own copy of the tile arithmetic.
func coveringCount(west, south, east, north float64, z int) int {
	return tile.Covering(tile.LonLatBox(west, south, east, north), z).Count()
}
