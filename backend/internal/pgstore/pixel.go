package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgraster"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// SliceFunctionSQL creates tessera_rast_slice(raster, from, count): count bytes of a raster's
// serialized form from byte from (1-based, after the length word), read with PostgreSQL's
// own bytea substring, which de-toasts only the chunks holding them. Functions in the
// internal language can only be created by a superuser: scripts/services.sh runs this in
// every database with PostGIS raster and in template1; without it pixels are read with
// ST_Value and whole tiles with ST_AsBinary.
const SliceFunctionSQL = `CREATE OR REPLACE FUNCTION tessera_rast_slice(raster, int, int) RETURNS bytea
	AS 'bytea_substr' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE`

// pixelSliceSQL reads one value per row of l, from the rows of t that source joins in:
// the header's first 60 bytes give the tile's width, height and band count; the value's
// offset follows from them and the pixel sizes of the band and those before it (rt_serialize.c:
// a 64-byte header counting the length word, then per band a flags byte, padding to the pixel
// size, the nodata value, the pixels in native byte order, padding to 8 bytes). Each row also
// hands out the band's flags, padding and nodata value (for band 1 from the header's slice,
// which reads on to hold them), so that readSlices can check the band's pixel type and
// answer nodata for a band flagged all nodata. Parameters:
// $1–$3 the tile's z, x, y (for source); $4–$6 each read's layer id, version, band (1-based);
// $7 its pixel size, $8–$9 the bounds in $10 of the pixel sizes of the bands before it;
// $11, $12 the point's fractions of the tile's width and height.
func pixelSliceSQL(source string) string {
	return `
		SELECT l.i, tessera_rast_slice(t.rast,
			(o.band + 2 * l.ps
				+ (LEAST(g.h - 1, GREATEST(0, floor($12::float8 * g.h)::int))::bigint * g.w
				   + LEAST(g.w - 1, GREATEST(0, floor($11::float8 * g.w)::int))) * l.ps)::int,
			l.ps),
			CASE WHEN l.lo > l.hi THEN substring(g.hd FROM 61 FOR 2 * l.ps) ELSE tessera_rast_slice(t.rast, o.band::int, 2 * l.ps) END
		FROM unnest($4::bigint[], $5::bigint[], $6::int[], $7::int[], $8::int[], $9::int[]) WITH ORDINALITY AS l(id, version, band, ps, lo, hi, i)
		` + source + `
		CROSS JOIN LATERAL (
			SELECT hd, get_byte(hd, 56) + 256 * get_byte(hd, 57) AS w, get_byte(hd, 58) + 256 * get_byte(hd, 59) AS h,
				get_byte(hd, 2) + 256 * get_byte(hd, 3) AS nb
			FROM (SELECT tessera_rast_slice(t.rast, 1, 76) AS hd OFFSET 0) AS s) AS g
		CROSS JOIN LATERAL (
			SELECT 61 + coalesce((SELECT sum((2 * p + g.w::bigint * g.h * p + 7) / 8 * 8) FROM unnest(($10::int[])[l.lo:l.hi]) AS p), 0) AS band
		) AS o
		WHERE l.band <= g.nb`
}

var (
	pixelSliceQuery = pixelSliceSQL(`JOIN tiles t ON t.layer_id = l.id AND t.version = l.version AND t.z = $1 AND t.x = $2 AND t.y = $3`)
	// The probe: probeRaster, read as the tiles are.
	pixelSliceProbe = pixelSliceSQL(`CROSS JOIN (SELECT ` + probeRaster + ` AS rast
			WHERE $1::int2 IS NOT NULL AND $2::int IS NOT NULL AND $3::int IS NOT NULL) AS t`)
)

// probeRaster is the probe's raster: 3×3, a 16BUI band (nodata 0, 7 everywhere but 513 at
// column 2, row 1: 18 bytes, padded to 24) and a 32BF band (no nodata, 0.25 but 1.5 there).
const probeRaster = `ST_SetValue(ST_SetValue(ST_AddBand(ST_AddBand(
			ST_MakeEmptyRaster(3, 3, 0, 0, 1, -1, 0, 0, 3857), '16BUI'::text, 7, 0), '32BF'::text, 0.25, NULL),
			1, 3, 2, 513), 2, 3, 2, 1.5)`

// Whether TilePixelValues reads slices (see probeSlices).
const (
	slicesUnknown int32 = iota
	slicesOn
	slicesOff
)

// TilePixelValues returns, for each read, the value of its band of stored tile t of its
// layer, at column floor(fx·width), row floor(fy·height) of the tile, clamped to it: fx
// and fy are the point's position in the tile as fractions of its size. ok[i] is false where
// the layer does not store t or the tile has no such band. The values are the stored ones,
// nodata included (of a band flagged all nodata, its nodata value, as ST_Value answers): the
// caller knows each band's type and nodata from the catalog, whose band metadata is
// published with the tiles (PublishWithMetadata).
//
// Why: a pixel query needs a few bytes of each tile. ST_Value de-toasts the whole raster,
// about 130 chunk reads and a 256 KB copy for a Float32 tile. Where the database has
// tessera_rast_slice (SliceFunctionSQL), the bytes of the pixel are read instead, with its
// header: two chunks of a tile stored uncompressed (pgbench, one Float32 tile: 13400–17200
// reads a second with ST_Value, 38800–52400 with two slices); a band after the first needs a
// third slice, for its flags. Of an lz4-compressed tile PostgreSQL still fetches every chunk
// and decompresses up to the slice (a 67 KB UInt16 tile: 6500–6600 against 7000–7600).
func (s *Store) TilePixelValues(ctx context.Context, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) (vals []float64, ok []bool, err error) {
	if err := t.Validate(); err != nil {
		return nil, nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	if math.IsNaN(fx) || math.IsNaN(fy) {
		return nil, nil, fmt.Errorf("pgstore: pixel position (%v, %v) is not a number", fx, fy)
	}
	// Beyond the tile the clamp in the query picks the edge pixel anyway; bounding the
	// fractions keeps floor(f·width) within an int.
	fx, fy = max(-1, min(2, fx)), max(-1, min(2, fy))
	for _, r := range reads {
		if r.Band < 0 || r.Band >= 1<<16 || r.Band >= len(r.Types) {
			return nil, nil, fmt.Errorf("pgstore: pixel of tile %v: band %d out of range (%d band types)", t, r.Band, len(r.Types))
		}
		for _, ty := range r.Types[:r.Band+1] {
			if ty.Size() == 0 {
				return nil, nil, fmt.Errorf("pgstore: pixel of tile %v: band type %v", t, ty)
			}
		}
	}
	if s.rawTiles(ctx) {
		vals, ok, err := s.pixelSlices(ctx, reads, t, fx, fy)
		if !s.sliceGone(err) && !errors.Is(err, errSliceType) {
			return vals, ok, err
		}
		// A tile whose band types are not the catalog's (a tile written by other means
		// than Tessera's): the offsets do not hold, ST_Value reads it as it is.
	}
	return s.pixelValues(ctx, reads, t, fx, fy)
}

// errSliceType: a tile's band is not of the type the catalog says (readSlices).
var errSliceType = errors.New("pgstore: band type of the tile differs from the catalog's")

// sliceGone reports whether err says tessera_rast_slice does not exist (any more: dropped, or
// a database restored without it, after the probe found it), and if so turns the slices off,
// so that the read that failed, and those after it, use ST_Value and ST_AsBinary instead of
// failing until the server restarts; a read SliceReprobe later looks for the function again.
func (s *Store) sliceGone(err error) bool {
	if !undefinedFunction(err) {
		return false
	}
	if s.slices.Swap(slicesOff) == slicesOn {
		s.sliceMissing.Store(timeNow().UnixNano())
		s.sliceAnnounced.Store(true)
		slog.Warn("pgstore: tessera_rast_slice has gone; tiles are read with ST_Value and ST_AsBinary until it is back", "err", err)
	}
	return true
}

// SliceReprobe is how long after tessera_rast_slice was found missing a read looks for it
// again, so that a function a superuser creates as migrations/README.md says (or restores)
// is used without a restart. A function that reads the probe wrongly is not looked at again.
const SliceReprobe = time.Minute

// timeNow is time.Now, replaced by tests.
var timeNow = time.Now

// withRaw runs read with raw as rawTiles says and, when that read finds tessera_rast_slice
// gone (sliceGone), once more without it: the fallback of every whole-tile read.
func withRaw[T any](ctx context.Context, s *Store, read func(raw bool) (T, error)) (T, error) {
	raw := s.rawTiles(ctx)
	v, err := read(raw)
	if raw && s.sliceGone(err) {
		return read(false)
	}
	return v, err
}

// undefinedFunction reports whether err is PostgreSQL's undefined_function (42883): here,
// no tessera_rast_slice in the database.
func undefinedFunction(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42883"
}

// rawTiles reports whether tiles are read through tessera_rast_slice, probing once (see
// probeSlices): the slices of TilePixelValues, the stored bytes of whole tiles (rastBytes).
func (s *Store) rawTiles(ctx context.Context) bool {
	switch s.slices.Load() {
	case slicesOn:
		return true
	case slicesUnknown:
		s.probeSlices(ctx)
	default:
		// Missing SliceReprobe ago: one read (the one that takes the time away) probes again.
		// The slices stay off while it does, so the reads meanwhile do not probe too (unknown
		// would send each to probe, as at the start). A probe that fails looks again
		// SliceReprobe later, not at the next read: a database failing it would have each
		// read probe and log.
		if at := s.sliceMissing.Load(); at != 0 && timeNow().UnixNano()-at >= int64(SliceReprobe) && s.sliceMissing.CompareAndSwap(at, 0) {
			if !s.probeSlices(ctx) {
				s.sliceMissing.CompareAndSwap(0, timeNow().UnixNano())
			}
		}
	}
	return s.slices.Load() == slicesOn
}

// probeSlices decides whether tiles are read through tessera_rast_slice: when it exists,
// reads the probe raster's values where pixelSliceSQL says they are, and hands out the whole
// probe raster in the form pgraster.DecodeSerialized reads, with the same values (the layout
// and byte order both assume). An error other than a missing function leaves the question
// open: probeSlices then returns false, and true when it decided.
func (s *Store) probeSlices(ctx context.Context) bool {
	reads := []catalog.PixelRead{
		{Band: 0, Types: []raster.DataType{raster.UInt16, raster.Float32}},
		{Band: 1, Types: []raster.DataType{raster.UInt16, raster.Float32}},
		{Band: 2, Types: []raster.DataType{raster.UInt16, raster.Float32, raster.Byte}},
	}
	vals, ok, err := s.readSlices(ctx, pixelSliceProbe, reads, tile.ZXY{}, 2.5/3, 1.5/3)
	switch {
	case undefinedFunction(err):
		s.slices.Store(slicesOff)
		s.sliceMissing.Store(timeNow().UnixNano())
		if !s.sliceAnnounced.Swap(true) { // once, not at each re-probe
			slog.Info("pgstore: pixel reads use ST_Value; a superuser can create tessera_rast_slice for reads of a few bytes (see migrations/README.md)")
		}
	case err != nil:
		slog.Warn("pgstore: probing tessera_rast_slice", "err", err)
		return false
	case !(ok[0] && ok[1] && !ok[2] && vals[0] == 513 && vals[1] == 1.5):
		s.slices.Store(slicesOff)
		slog.Warn("pgstore: tessera_rast_slice does not read the probe raster as expected; pixel reads use ST_Value", "values", vals, "found", ok)
	default:
		if testHookBeforeProbeWhole != nil {
			testHookBeforeProbeWhole()
		}
		// An error here, like one above, leaves the question open (false: the next read
		// probes, or a re-probe's next one SliceReprobe later): a cancelled request or a lost
		// connection must not turn the slices off for good.
		whole, err := s.probeWhole(ctx)
		switch {
		case err != nil:
			slog.Warn("pgstore: probing tessera_rast_slice", "err", err)
			return false
		case whole:
			s.slices.Store(slicesOn)
			if s.sliceAnnounced.Swap(false) {
				slog.Info("pgstore: tessera_rast_slice found; pixels and tiles are read in their stored form")
			}
		default:
			s.slices.Store(slicesOff)
			slog.Warn("pgstore: tessera_rast_slice hands out a raster pgraster does not read as built; tiles are read with ST_Value and ST_AsBinary")
		}
	}
	return true
}

// testHookBeforeProbeWhole, when set (by tests), runs between the probe's two statements.
var testHookBeforeProbeWhole func()

// probeWhole reports whether the probe raster's stored bytes decode to what it holds; err
// is that of the query.
func (s *Store) probeWhole(ctx context.Context) (bool, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT `+rastBytes(true, "rast")+` FROM (SELECT `+probeRaster+` AS rast) AS t`).Scan(&b)
	if err != nil {
		return false, err
	}
	r, err := pgraster.DecodeSerialized(b)
	if err != nil || r.Width != 3 || r.Height != 3 || r.SRID != 3857 || len(r.Bands) != 2 || r.ScaleY != -1 {
		slog.Warn("pgstore: probe raster", "err", err)
		return false, nil
	}
	b1, b2 := r.Bands[0], r.Bands[1]
	return b1.Type == raster.UInt16 && b1.HasNoData && b1.NoData == 0 && b1.At(5) == 513 && b1.At(0) == 7 &&
		b2.Type == raster.Float32 && b2.At(5) == 1.5 && b2.At(8) == 0.25, nil
}

func (s *Store) pixelSlices(ctx context.Context, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) ([]float64, []bool, error) {
	return s.readSlices(ctx, pixelSliceQuery, reads, t, fx, fy)
}

// readSlices runs query (pixelSliceSQL) for reads and decodes each value by its band type.
func (s *Store) readSlices(ctx context.Context, query string, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) ([]float64, []bool, error) {
	n := len(reads)
	ids, versions, nums := make([]int64, n), make([]int64, n), make([]int32, n)
	ps, lo, hi := make([]int32, n), make([]int32, n), make([]int32, n)
	var prev []int32
	for i, r := range reads {
		ids[i], versions[i], nums[i] = r.Layer.ID, r.Layer.Version, int32(r.Band+1)
		ps[i] = int32(r.Types[r.Band].Size())
		lo[i] = int32(len(prev) + 1) // PostgreSQL arrays are 1-based; lo > hi slices nothing
		for _, ty := range r.Types[:r.Band] {
			prev = append(prev, int32(ty.Size()))
		}
		hi[i] = int32(len(prev))
	}
	what := fmt.Sprintf("pixel of tile %v of layers %v", t, ids)
	rows, err := s.pool.Query(ctx, query, int16(t.Z), int32(t.X), int32(t.Y), ids, versions, nums, ps, lo, hi, prev, fx, fy)
	if err != nil {
		return nil, nil, mapErr(err, what)
	}
	defer rows.Close()
	vals, ok := make([]float64, n), make([]bool, n)
	for rows.Next() {
		var (
			i         int64
			raw, head []byte
		)
		if err := rows.Scan(&i, &raw, &head); err != nil {
			return nil, nil, mapErr(err, what)
		}
		if i < 1 || int(i) > n {
			return nil, nil, fmt.Errorf("pgstore: %s: row %d of %d", what, i, n)
		}
		r := reads[i-1]
		b := raster.New(r.Types[r.Band], 1, 1)
		if len(head) != 2*len(b.Data) {
			return nil, nil, fmt.Errorf("pgstore: %s: %d bytes of band head for a %v pixel", what, len(head), b.Type)
		}
		flags := pgraster.BandFlags(head[0])
		if ty, known := flags.Type(); !known || ty != b.Type {
			return nil, nil, fmt.Errorf("%w: %s: band %d, flags %#x, catalog type %v", errSliceType, what, r.Band+1, head[0], b.Type)
		}
		if flags.AllNoData() {
			raw = head[len(b.Data):] // PostGIS answers the nodata value for every pixel
		}
		if len(raw) != len(b.Data) {
			return nil, nil, fmt.Errorf("pgstore: %s: %d bytes for a %v pixel", what, len(raw), b.Type)
		}
		copy(b.Data, raw)
		vals[i-1], ok[i-1] = b.At(0), true
	}
	return vals, ok, mapErr(rows.Err(), what)
}

// pixelValues reads the values with ST_Value, which de-toasts each tile whole (the width and
// height come from the header, a slice read).
func (s *Store) pixelValues(ctx context.Context, reads []catalog.PixelRead, t tile.ZXY, fx, fy float64) ([]float64, []bool, error) {
	ids, versions, nums := make([]int64, len(reads)), make([]int64, len(reads)), make([]int32, len(reads))
	for i, r := range reads {
		ids[i], versions[i], nums[i] = r.Layer.ID, r.Layer.Version, int32(r.Band+1)
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
	vals, ok := make([]float64, len(reads)), make([]bool, len(reads))
	for rows.Next() {
		var (
			i     int64
			value *float64
		)
		if err := rows.Scan(&i, &value); err != nil {
			return nil, nil, mapErr(err, what)
		}
		if i < 1 || int(i) > len(reads) {
			return nil, nil, fmt.Errorf("pgstore: %s: row %d of %d", what, i, len(reads))
		}
		if value != nil {
			vals[i-1], ok[i-1] = *value, true
		}
	}
	return vals, ok, mapErr(rows.Err(), what)
}
