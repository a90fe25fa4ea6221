//go:build js && wasm

package main

// scratchFor returns a buffer of n bytes for a tile, reusing buf when it is large enough and
// not much larger: a buffer holding more than four times what the tile needs is dropped for
// a new one of n bytes, so that one huge tile (rawtile.MaxSize is 64 MiB) does not keep its
// memory for the rest of the page's life while ordinary tiles need a few hundred KiB.
// Tiles of similar sizes (a layer's one-band and four-band tiles) share one buffer.
func scratchFor(buf []byte, n int) []byte {
	if n <= cap(buf) && n >= cap(buf)/4 {
		return buf[:n]
	}
	return make([]byte, n)
}
