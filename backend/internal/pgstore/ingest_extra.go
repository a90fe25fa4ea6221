package pgstore

import (
	"context"
	"fmt"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
)

// LayerByName returns the layer with exactly this name, or catalog.ErrNotFound. Unlike
// Layer it never matches ids or file-name fragments: `tessera ingest --name` re-parses the
// layer of that name and nothing else.
func (s *Store) LayerByName(ctx context.Context, name string) (catalog.Layer, error) {
	ls, err := s.queryLayers(ctx, layerSelect+` WHERE l.name = $1`, name)
	if err != nil {
		return catalog.Layer{}, mapErr(err, fmt.Sprintf("layer %q", name))
	}
	if len(ls) == 0 {
		return catalog.Layer{}, fmt.Errorf("pgstore: no layer named %q: %w", name, catalog.ErrNotFound)
	}
	return ls[0], nil
}
