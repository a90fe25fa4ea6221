package pgstore

import (
	"context"
	"fmt"
	"math"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgraster"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TilePixels returns one pixel of every band of stored tile t of each layer, as 1×1 bands (the
// tile's pixel type and nodata, the stored value), in one query; a layer that does not store t
// is absent from the map. The pixel is column floor(fx·width), row floor(fy·height) of the
// tile, clamped to it: fx and fy are the point's position in the tile as fractions of its size.
// A layer with a band whose value PostGIS does not give is absent too.
//
// Why: a pixel query needs a few bytes of each tile; PostgreSQL reads them with ST_Value in
// about 0.1 ms, where handing out the whole 256 KB raster costs about 1 ms.
func (s *Store) TilePixels(ctx context.Context, layers []catalog.LayerVersion, t tile.ZXY, fx, fy float64) (map[catalog.LayerVersion][]*raster.Band, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	if math.IsNaN(fx) || math.IsNaN(fy) {
		return nil, fmt.Errorf("pgstore: pixel position (%v, %v) is not a number", fx, fy)
	}
	// Beyond the tile the clamp in the query picks the edge pixel anyway; bounding the
	// fractions keeps floor(f·width) within an int.
	fx, fy = max(-1, min(2, fx)), max(-1, min(2, fy))
	ids, versions := make([]int64, len(layers)), make([]int64, len(layers))
	for i, l := range layers {
		ids[i], versions[i] = l.ID, l.Version
	}
	what := fmt.Sprintf("pixel of tile %v of layers %v", t, ids)
	rows, err := s.pool.Query(ctx, `
		SELECT t.layer_id, t.version, ST_BandPixelType(rast, b), ST_BandNoDataValue(rast, b),
			ST_Value(rast, b,
				LEAST(ST_Width(rast) - 1, GREATEST(0, floor($6::float8 * ST_Width(rast))::int)) + 1,
				LEAST(ST_Height(rast) - 1, GREATEST(0, floor($7::float8 * ST_Height(rast))::int)) + 1,
				false)
		FROM unnest($1::bigint[], $2::bigint[]) AS l(id, version)
		JOIN tiles t ON t.layer_id = l.id AND t.version = l.version AND t.z = $3 AND t.x = $4 AND t.y = $5
		CROSS JOIN LATERAL generate_series(1, ST_NumBands(rast)) AS b
		ORDER BY t.layer_id, t.version, b`,
		ids, versions, int16(t.Z), int32(t.X), int32(t.Y), fx, fy)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := map[catalog.LayerVersion][]*raster.Band{}
	skip := map[catalog.LayerVersion]bool{}
	for rows.Next() {
		var (
			layer  catalog.LayerVersion
			name   string
			nodata *float64
			value  *float64
		)
		if err := rows.Scan(&layer.ID, &layer.Version, &name, &nodata, &value); err != nil {
			return nil, mapErr(err, what)
		}
		typ, ok := pgraster.TypeOfPixelType(name)
		if !ok || value == nil || skip[layer] {
			// A band PostGIS cannot give a value for here: leave the layer out, and the caller
			// reads its whole tile.
			skip[layer] = true
			delete(out, layer)
			continue
		}
		b := raster.New(typ, 1, 1)
		if nodata != nil {
			b.HasNoData, b.NoData = true, *nodata
		}
		b.Set(0, *value)
		out[layer] = append(out[layer], b)
	}
	return out, mapErr(rows.Err(), what)
}
