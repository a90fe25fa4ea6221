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

// FinishZooms records that zooms zs are complete and appends lines to the parse log, in
// one statement: FinishZoom for each zoom and AppendLog for each line, without a round trip
// each (a parse finishing twelve levels at once spent 60 ms on them).
func (s *Store) FinishZooms(ctx context.Context, layerID int64, zs []int, lines []string) error {
	z32 := make([]int32, len(zs))
	for i, z := range zs {
		if z < 0 || z > 30 {
			return fmt.Errorf("pgstore: finish zoom of layer %d: zoom %d out of range 0..30", layerID, z)
		}
		z32[i] = int32(z)
	}
	stamped := make([]string, len(lines))
	for i, l := range lines {
		stamped[i] = logLine(l)
	}
	return s.parseUpdate(ctx, "finished zooms", layerID, fmt.Sprintf(`
		finished_zooms = ARRAY(SELECT DISTINCT unnest(finished_zooms || $2::int[]) ORDER BY 1),
		log = (log || $3::text[])[greatest(1, cardinality(log) + cardinality($3::text[]) + 1 - %d):]`, MaxLogLines),
		z32, stamped)
}
