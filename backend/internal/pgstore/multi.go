package pgstore

import (
	"context"
	"fmt"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Tiles returns the bands of stored tile t of each layer, in one query; a layer that does
// not store t is absent from the map.
//
// Why: an algebra tile reads the same address of several layers; one query instead of one
// per layer saves a round trip, a backend's statement overhead and the reader's wake-ups per
// layer.
func (s *Store) Tiles(ctx context.Context, layers []catalog.LayerVersion, t tile.ZXY) (map[catalog.LayerVersion][]*raster.Band, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	ids, versions := make([]int64, len(layers)), make([]int64, len(layers))
	for i, l := range layers {
		ids[i], versions[i] = l.ID, l.Version
	}
	return withRaw(ctx, s, func(raw bool) (map[catalog.LayerVersion][]*raster.Band, error) {
		return s.tiles(ctx, raw, ids, versions, t)
	})
}

func (s *Store) tiles(ctx context.Context, raw bool, ids, versions []int64, t tile.ZXY) (map[catalog.LayerVersion][]*raster.Band, error) {
	what := fmt.Sprintf("tile %v of layers %v", t, ids)
	rows, err := s.pool.Query(ctx, `
		SELECT t.layer_id, t.version, `+rastBytes(raw, "t.rast")+`
		FROM unnest($1::bigint[], $2::bigint[]) AS l(id, version)
		JOIN tiles t ON t.layer_id = l.id AND t.version = l.version AND t.z = $3 AND t.x = $4 AND t.y = $5`,
		ids, versions, int16(t.Z), int32(t.X), int32(t.Y))
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := make(map[catalog.LayerVersion][]*raster.Band, len(ids))
	for rows.Next() {
		var lv catalog.LayerVersion
		if err := rows.Scan(&lv.ID, &lv.Version, nil); err != nil {
			return nil, mapErr(err, what)
		}
		r, err := decodeColumn(rows, 2, raw)
		if err != nil {
			return nil, fmt.Errorf("pgstore: tile %v of layer %d: %w", t, lv.ID, err)
		}
		out[lv] = r.Bands
	}
	return out, mapErr(rows.Err(), what)
}
