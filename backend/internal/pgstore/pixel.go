package pgstore

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TilePixelValues returns, for each i, the value of band bands[i] (0-based) of stored tile t
// of layers[i], at column floor(fx·width), row floor(fy·height) of the tile, clamped to it: fx
// and fy are the point's position in the tile as fractions of its size. ok[i] is false where
// the layer does not store t or the tile has no such band. The values are the stored ones,
// nodata included: the caller knows each band's type and nodata from the catalog, whose band
// metadata is published with the tiles (PublishWithMetadata).
//
// Why: a pixel query needs a few bytes of each tile. PostgreSQL de-toasts the whole raster
// for each raster function that reads band data (ST_Value, but also ST_BandPixelType and
// ST_BandNoDataValue), about 130 chunk reads and a 256 KB copy each; asking for ST_Value alone
// reads each tile once (the width and height come from the header, a slice read). Handing out
// the whole 256 KB raster instead costs about ten times as much.
func (s *Store) TilePixelValues(ctx context.Context, layers []catalog.LayerVersion, bands []int, t tile.ZXY, fx, fy float64) (vals []float64, ok []bool, err error) {
	if err := t.Validate(); err != nil {
		return nil, nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	if len(bands) != len(layers) {
		return nil, nil, fmt.Errorf("pgstore: pixel of tile %v: %d layers and %d bands", t, len(layers), len(bands))
	}
	if math.IsNaN(fx) || math.IsNaN(fy) {
		return nil, nil, fmt.Errorf("pgstore: pixel position (%v, %v) is not a number", fx, fy)
	}
	// Beyond the tile the clamp in the query picks the edge pixel anyway; bounding the
	// fractions keeps floor(f·width) within an int.
	fx, fy = max(-1, min(2, fx)), max(-1, min(2, fy))
	ids, versions, nums := make([]int64, len(layers)), make([]int64, len(layers)), make([]int32, len(layers))
	for i, l := range layers {
		if bands[i] < 0 || bands[i] >= 1<<16 {
			return nil, nil, fmt.Errorf("pgstore: pixel of tile %v: band %d out of range", t, bands[i])
		}
		ids[i], versions[i], nums[i] = l.ID, l.Version, int32(bands[i]+1)
	}
	what := fmt.Sprintf("pixel of tile %v of layers %v", t, ids)
	rows, err := s.pool.Query(ctx, `
		SELECT l.i, ST_Value(rast, l.band,
				LEAST(ST_Width(rast) - 1, GREATEST(0, floor($7::float8 * ST_Width(rast))::int)) + 1,
				LEAST(ST_Height(rast) - 1, GREATEST(0, floor($8::float8 * ST_Height(rast))::int)) + 1,
				false)
		FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS l(id, version, band, i)
		JOIN tiles t ON t.layer_id = l.id AND t.version = l.version AND t.z = $4 AND t.x = $5 AND t.y = $6
		WHERE l.band <= ST_NumBands(rast)`,
		ids, versions, nums, int16(t.Z), int32(t.X), int32(t.Y), fx, fy)
	if err != nil {
		return nil, nil, mapErr(err, what)
	}
	defer rows.Close()
	vals, ok = make([]float64, len(layers)), make([]bool, len(layers))
	for rows.Next() {
		var (
			i     int64
			value *float64
		)
		if err := rows.Scan(&i, &value); err != nil {
			return nil, nil, mapErr(err, what)
		}
		if i < 1 || int(i) > len(layers) {
			return nil, nil, fmt.Errorf("pgstore: %s: row %d of %d", what, i, len(layers))
		}
		if value != nil {
			vals[i-1], ok[i-1] = *value, true
		}
	}
	return vals, ok, mapErr(rows.Err(), what)
}
