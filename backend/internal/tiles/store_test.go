package tiles

import "github.com/tessera-gis/tessera/backend/internal/pgstore"

// The store the server runs on has the optional reads the service looks for: a change of
// signature on either side would otherwise silently turn them off.
var (
	_ pixelReader = (*pgstore.Store)(nil)
	_ tilesReader = (*pgstore.Store)(nil)
)
