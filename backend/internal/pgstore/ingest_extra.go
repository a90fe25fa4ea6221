package pgstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

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

// WarmUp opens up to n connections of the pool at once (at most the pool's size) and has
// each load PostGIS raster, so that a parse's concurrent tile writers find them ready. Call
// it in a goroutine at start-up; errors are ignored (the writers report their own).
//
// Why: a new server process costs tens of milliseconds, and loading the PostGIS raster
// library into it (which registers every GDAL driver) 0.1–0.3 s more; measured, the first
// tile write of each connection took 0.5–0.8 s of an ingest's critical path.
func (s *Store) WarmUp(ctx context.Context, n int) {
	n = min(n, int(s.pool.Config().MaxConns))
	conns := make([]*pgxpool.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.pool.Acquire(ctx)
			if err != nil {
				return
			}
			conns[i] = c
			c.Exec(ctx, `SELECT postgis_raster_lib_version()`)
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Release()
		}
	}
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
