package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Tiles returns the bands of the stored tiles of each layer at each address, in one query,
// keyed by layer and address; a layer that does not store an address has no entry for it
// (and a layer that stores none of them no entry at all).
//
// Why: an algebra tile reads the same address of several layers, and a scaled tile (@2x,
// @4x) the 4 or 16 children of its address for each; one query instead of one per layer and
// address saves a round trip, a backend's statement overhead and the reader's wake-ups for
// each.
func (s *Store) Tiles(ctx context.Context, layers []catalog.LayerVersion, addrs []tile.ZXY) (map[catalog.LayerVersion]map[tile.ZXY][]*raster.Band, error) {
	ids, versions := make([]int64, len(layers)), make([]int64, len(layers))
	for i, l := range layers {
		ids[i], versions[i] = l.ID, l.Version
	}
	zs, xs, ys := make([]int16, len(addrs)), make([]int32, len(addrs)), make([]int32, len(addrs))
	for i, t := range addrs {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
		}
		zs[i], xs[i], ys[i] = int16(t.Z), int32(t.X), int32(t.Y)
	}
	return withRaw(ctx, s, func(raw bool) (map[catalog.LayerVersion]map[tile.ZXY][]*raster.Band, error) {
		return s.tiles(ctx, raw, ids, versions, zs, xs, ys)
	})
}

// tiles reads every layer (ids, versions) at every address (zs, xs, ys). Several addresses:
// each pair is looked up in a LATERAL subquery with LIMIT 1 (the primary key holds at most
// one row), so the plan is one index lookup a pair whatever the table's size or the
// planner's guess of the arrays' lengths; as a plain join of the arrays, the bench
// database's 768 tiles were hashed from a sequential scan. One address (an algebra tile's
// layers): the join of the layers with the address as constants, as before the addresses
// were arrays; the LATERAL form took some 10 % more of PostgreSQL's CPU for a cold
// two-layer algebra tile.
func (s *Store) tiles(ctx context.Context, raw bool, ids, versions []int64, zs []int16, xs, ys []int32) (map[catalog.LayerVersion]map[tile.ZXY][]*raster.Band, error) {
	what := fmt.Sprintf("%d tile(s) of layers %v", len(zs), ids)
	var rows pgx.Rows
	var err error
	if len(zs) == 1 {
		rows, err = s.pool.Query(ctx, `
			SELECT t.layer_id, t.version, t.z, t.x, t.y, `+rastBytes(raw, "t.rast")+`
			FROM unnest($1::bigint[], $2::bigint[]) AS l(id, version)
			JOIN tiles t ON t.layer_id = l.id AND t.version = l.version AND t.z = $3 AND t.x = $4 AND t.y = $5`,
			ids, versions, zs[0], xs[0], ys[0])
	} else {
		rows, err = s.pool.Query(ctx, `
			SELECT l.id, l.version, a.z, a.x, a.y, `+rastBytes(raw, "t.rast")+`
			FROM unnest($1::bigint[], $2::bigint[]) AS l(id, version)
			CROSS JOIN unnest($3::smallint[], $4::int[], $5::int[]) AS a(z, x, y)
			CROSS JOIN LATERAL (
				SELECT rast FROM tiles
				WHERE layer_id = l.id AND version = l.version AND z = a.z AND x = a.x AND y = a.y
				LIMIT 1) t`,
			ids, versions, zs, xs, ys)
	}
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := make(map[catalog.LayerVersion]map[tile.ZXY][]*raster.Band, len(ids))
	for rows.Next() {
		var (
			lv   catalog.LayerVersion
			z    int16
			x, y int32
		)
		if err := rows.Scan(&lv.ID, &lv.Version, &z, &x, &y, nil); err != nil {
			return nil, mapErr(err, what)
		}
		at := tile.ZXY{Z: int(z), X: int(x), Y: int(y)}
		r, err := decodeColumn(rows, 5, raw)
		if err != nil {
			return nil, fmt.Errorf("pgstore: tile %v of layer %d: %w", at, lv.ID, err)
		}
		if out[lv] == nil {
			out[lv] = make(map[tile.ZXY][]*raster.Band, len(zs))
		}
		out[lv][at] = r.Bands
	}
	return out, mapErr(rows.Err(), what)
}
