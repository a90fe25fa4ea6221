package gdal

// #cgo pkg-config: gdal
// #include <gdal.h>
import "C"

import (
	"os"
	"strconv"
)

// DefaultCacheMB is the size of GDAL's block cache unless GDAL_CACHEMAX says otherwise.
// GDAL's own default is 5% of the machine's memory, which on a big machine lets one ingest
// hold more than a gigabyte of cached blocks; Tessera reads every block once, in order, so
// a small cache loses nothing (measured: 16 MB ingests the 8000×8000 benchmark raster as
// fast as 64 MB, with 100 MB less peak memory).
const DefaultCacheMB = 16

// setCacheMax sets GDAL's block cache size (godal does not expose it).
func setCacheMax() {
	mb := DefaultCacheMB
	if v := os.Getenv("GDAL_CACHEMAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return // a percentage or other form GDAL parses itself
		}
		mb = n
	}
	C.GDALSetCacheMax64(C.GIntBig(mb) << 20)
}
