package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/raster"
)

// Size limits of layer fields (the schema enforces them too).
const (
	// MaxNameLen is catalog.MaxRefLen: a longer name could not be looked up.
	MaxNameLen        = catalog.MaxRefLen
	MaxDescriptionLen = 4096
	MaxSourceLen      = 4096
	// maxAmbiguousNames is how many matching layers an ambiguity error names.
	maxAmbiguousNames = 10
)

func validateLayer(l *catalog.Layer) error {
	if err := catalog.CheckName(l.Name); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	switch {
	case len(l.Description) > MaxDescriptionLen:
		return fmt.Errorf("pgstore: layer %q: description is %d bytes long, at most %d are allowed", l.Name, len(l.Description), MaxDescriptionLen)
	case len(l.Source) > MaxSourceLen:
		return fmt.Errorf("pgstore: layer %q: source is %d bytes long, at most %d are allowed", l.Name, len(l.Source), MaxSourceLen)
	case len(l.ReprojectedPath) > MaxSourceLen:
		return fmt.Errorf("pgstore: layer %q: reprojected path is %d bytes long, at most %d are allowed", l.Name, len(l.ReprojectedPath), MaxSourceLen)
	case l.SRID != nil && *l.SRID <= 0:
		return fmt.Errorf("pgstore: layer %q: srid %d must be positive", l.Name, *l.SRID)
	case l.MaxZoom != nil && (*l.MaxZoom < 0 || *l.MaxZoom > 30):
		return fmt.Errorf("pgstore: layer %q: max zoom %d must be 0..30", l.Name, *l.MaxZoom)
	}
	if l.Datatype == "" {
		l.Datatype = catalog.Continuous
	}
	if _, err := catalog.ParseDatatype(string(l.Datatype)); err != nil || len(l.Datatype) != 2 {
		return fmt.Errorf("pgstore: layer %q: unknown datatype %q: use co, ca, ma or ro", l.Name, l.Datatype)
	}
	return nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateLayer inserts l (with an empty parse status) and sets l.ID, l.Create and l.Updated.
// An empty Datatype becomes Continuous. A taken name gives catalog.ErrConflict, a missing
// legend catalog.ErrNotFound. Use catalog.NewLayer for django-raster's default flags.
func (s *Store) CreateLayer(ctx context.Context, l *catalog.Layer) error {
	if l == nil {
		return errors.New("pgstore: create layer: nil layer")
	}
	if err := validateLayer(l); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO layers (name, description, datatype, source, srid, nodata, max_zoom,
				next_higher, build_pyramid, store_reprojected, reprojected_path, legend_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			RETURNING id, created, updated`,
			l.Name, l.Description, string(l.Datatype), l.Source, l.SRID, l.NoData, l.MaxZoom,
			l.NextHigher, l.BuildPyramid, l.StoreReprojected, nullString(l.ReprojectedPath), l.LegendID,
		).Scan(&l.ID, &l.Create, &l.Updated)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO parse_status (layer_id) VALUES ($1)`, l.ID)
		return err
	})
	if err != nil {
		l.ID = 0
		return mapErr(err, fmt.Sprintf("create layer %q", l.Name))
	}
	l.Version = 0
	l.Parse = catalog.ParseStatus{Status: catalog.Unparsed, Updated: l.Create}
	return nil
}

// UpdateLayer stores l's name, description, datatype, source, overrides, flags, legend and
// reprojected path (not its metadata, parse status or version, which the parse owns).
func (s *Store) UpdateLayer(ctx context.Context, l *catalog.Layer) error {
	if l == nil {
		return errors.New("pgstore: update layer: nil layer")
	}
	if err := validateLayer(l); err != nil {
		return err
	}
	err := s.pool.QueryRow(ctx, `
		UPDATE layers SET name = $2, description = $3, datatype = $4, source = $5, srid = $6,
			nodata = $7, max_zoom = $8, next_higher = $9, build_pyramid = $10,
			store_reprojected = $11, reprojected_path = $12, legend_id = $13, updated = now()
		WHERE id = $1
		RETURNING updated`,
		l.ID, l.Name, l.Description, string(l.Datatype), l.Source, l.SRID, l.NoData, l.MaxZoom,
		l.NextHigher, l.BuildPyramid, l.StoreReprojected, nullString(l.ReprojectedPath), l.LegendID,
	).Scan(&l.Updated)
	return mapErr(err, fmt.Sprintf("update layer %d", l.ID))
}

// DeleteLayer deletes a layer with its metadata, parse status and tiles.
func (s *Store) DeleteLayer(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM layers WHERE id = $1`, id)
	if err != nil {
		return mapErr(err, fmt.Sprintf("delete layer %d", id))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete layer %d: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// layerSelect reads a layer with its metadata and parse status; bands come separately.
const layerSelect = `
	SELECT l.id, l.name, l.description, l.datatype, l.source, l.srid, l.nodata, l.max_zoom,
		l.next_higher, l.build_pyramid, l.store_reprojected, coalesce(l.reprojected_path, ''),
		l.legend_id, l.version, l.parse_version, l.created, l.updated,
		m.layer_id IS NOT NULL, coalesce(m.origin_x, 0), coalesce(m.origin_y, 0),
		coalesce(m.scale_x, 0), coalesce(m.scale_y, 0), coalesce(m.skew_x, 0), coalesce(m.skew_y, 0),
		coalesce(m.width, 0), coalesce(m.height, 0), coalesce(m.band_count, 0), coalesce(m.srid, 0),
		coalesce(m.wkt, ''), coalesce(m.max_zoom, 0),
		coalesce(m.extent_min_x, 0), coalesce(m.extent_min_y, 0), coalesce(m.extent_max_x, 0), coalesce(m.extent_max_y, 0),
		coalesce(p.status, 0), coalesce(p.log, '{}'), coalesce(p.finished_zooms, '{}'),
		coalesce(p.tiles_done, 0), coalesce(p.tiles_total, 0), coalesce(p.updated, l.created)
	FROM layers l
	LEFT JOIN layer_metadata m ON m.layer_id = l.id
	LEFT JOIN parse_status p ON p.layer_id = l.id`

func scanLayer(row pgx.Row) (catalog.Layer, error) {
	var (
		l       catalog.Layer
		dt      string
		hasMeta bool
		m       catalog.Metadata
		st      int16
		zooms   []int32
	)
	err := row.Scan(&l.ID, &l.Name, &l.Description, &dt, &l.Source, &l.SRID, &l.NoData, &l.MaxZoom,
		&l.NextHigher, &l.BuildPyramid, &l.StoreReprojected, &l.ReprojectedPath,
		&l.LegendID, &l.Version, &l.Parse.Version, &l.Create, &l.Updated,
		&hasMeta, &m.OriginX, &m.OriginY, &m.ScaleX, &m.ScaleY, &m.SkewX, &m.SkewY,
		&m.Width, &m.Height, &m.BandCount, &m.SRID, &m.WKT, &m.MaxZoom,
		&m.Extent[0], &m.Extent[1], &m.Extent[2], &m.Extent[3],
		&st, &l.Parse.Log, &zooms, &l.Parse.TilesDone, &l.Parse.TilesTotal, &l.Parse.Updated)
	if err != nil {
		return l, err
	}
	l.Datatype = catalog.Datatype(dt)
	if hasMeta {
		l.Meta = &m
	}
	l.Parse.Status = catalog.Status(st)
	if len(zooms) > 0 {
		l.Parse.FinishedZooms = make([]int, len(zooms))
		for i, z := range zooms {
			l.Parse.FinishedZooms[i] = int(z)
		}
	}
	return l, nil
}

// LayerByID returns the layer with its metadata, band statistics and parse status, or an
// error wrapping catalog.ErrNotFound.
func (s *Store) LayerByID(ctx context.Context, id int64) (catalog.Layer, error) {
	ls, err := s.queryLayers(ctx, layerSelect+` WHERE l.id = $1`, id)
	if err != nil {
		return catalog.Layer{}, mapErr(err, fmt.Sprintf("layer %d", id))
	}
	if len(ls) == 0 {
		return catalog.Layer{}, fmt.Errorf("pgstore: layer %d: %w", id, catalog.ErrNotFound)
	}
	return ls[0], nil
}

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

// Layers returns every layer, by id, each with metadata, bands and parse status.
func (s *Store) Layers(ctx context.Context) ([]catalog.Layer, error) {
	ls, err := s.queryLayers(ctx, layerSelect+` ORDER BY l.id`)
	if err != nil {
		return nil, mapErr(err, "list layers")
	}
	return ls, nil
}

// queryLayers runs a layerSelect query and fills in the band metadata of every layer found.
//
// The layers and their bands are read in one read-only repeatable-read transaction, so from
// one snapshot: read apart, a publish committing between the two statements gave the old
// version with the new version's bands (and the pixel reads take a band's type and nodata
// from there).
func (s *Store) queryLayers(ctx context.Context, q string, args ...any) (ls []catalog.Layer, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		ls, err = queryLayersIn(ctx, tx, q, args...)
		return err
	})
	return ls, err
}

// testHookBetweenLayerQueries, when set (by tests), runs between queryLayers' two statements.
var testHookBetweenLayerQueries func()

func queryLayersIn(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]catalog.Layer, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Layer, error) { return scanLayer(r) })
	if err != nil || len(ls) == 0 {
		return ls, err
	}
	if testHookBetweenLayerQueries != nil {
		testHookBetweenLayerQueries()
	}
	ids := make([]int64, len(ls))
	at := make(map[int64]int, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
		at[l.ID] = i
	}
	rows, err = tx.Query(ctx, `
		SELECT layer_id, band, type, nodata, count, coalesce(min, 'NaN'), coalesce(max, 'NaN'),
			coalesce(mean, 'NaN'), coalesce(std, 'NaN'), hist, hist_bins
		FROM band_metadata WHERE layer_id = ANY($1) ORDER BY layer_id, band`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			b  catalog.BandMeta
			t  string
			nd *float64
		)
		if err := rows.Scan(&id, &b.Index, &t, &nd, &b.Count, &b.Min, &b.Max, &b.Mean, &b.Std, &b.Hist, &b.HistBins); err != nil {
			return nil, err
		}
		if b.Type, err = raster.ParseDataType(t); err != nil {
			return nil, fmt.Errorf("band %d of layer %d: %w", b.Index, id, err)
		}
		if nd != nil {
			b.HasNoData, b.NoData = true, *nd
		}
		if b.Count == 0 {
			b.Min, b.Max, b.Mean, b.Std = 0, 0, 0, 0
		}
		i := at[id]
		ls[i].Bands = append(ls[i].Bands, b)
	}
	return ls, rows.Err()
}

// Layer resolves a layer reference as the tile URLs use it: an integer id, else an exact
// name, else a fragment of the source's file name (django-raster matched a fragment of the
// uploaded file's name; Tessera also accepts the layer's name). A fragment matching several
// layers gives an error wrapping catalog.ErrAmbiguous that names them (django-raster: 500);
// no match gives catalog.ErrNotFound.
func (s *Store) Layer(ctx context.Context, ref string) (catalog.Layer, error) {
	if ref == "" {
		return catalog.Layer{}, fmt.Errorf("pgstore: empty layer reference: %w", catalog.ErrNotFound)
	}
	if len(ref) > catalog.MaxRefLen {
		return catalog.Layer{}, fmt.Errorf("pgstore: layer reference is %d bytes long, at most %d are allowed: %w", len(ref), catalog.MaxRefLen, catalog.ErrNotFound)
	}
	digits := strings.Trim(ref, "0123456789") == ""
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		l, err := s.LayerByID(ctx, id)
		if !errors.Is(err, catalog.ErrNotFound) {
			return l, err
		}
	}
	ls, err := s.queryLayers(ctx, layerSelect+` WHERE l.name = $1`, ref)
	if err != nil {
		return catalog.Layer{}, mapErr(err, fmt.Sprintf("layer %q", ref))
	}
	if len(ls) == 1 {
		return ls[0], nil
	}
	// A number is an id (or a name), never a file-name fragment, as django-raster reads an
	// integer reference: otherwise the id of a deleted layer would match every file name
	// holding that digit ("3" → scene_4326.tif, landcover_3857.tif: 400 "matches several").
	if digits {
		return catalog.Layer{}, fmt.Errorf("pgstore: no layer has the id or name %q: %w", ref, catalog.ErrNotFound)
	}
	// The file name is what follows the last '/' of a path or URL, without a query string.
	ls, err = s.queryLayers(ctx, layerSelect+`
		WHERE strpos(regexp_replace(split_part(l.source, '?', 1), '^.*/', ''), $1) > 0
		ORDER BY l.id LIMIT `+strconv.Itoa(maxAmbiguousNames+1), ref)
	if err != nil {
		return catalog.Layer{}, mapErr(err, fmt.Sprintf("layer %q", ref))
	}
	switch len(ls) {
	case 0:
		return catalog.Layer{}, fmt.Errorf("pgstore: no layer has the id, name or file name %q: %w", ref, catalog.ErrNotFound)
	case 1:
		return ls[0], nil
	}
	names := make([]string, 0, len(ls))
	for i, l := range ls {
		if i == maxAmbiguousNames {
			names = append(names, "…")
			break
		}
		names = append(names, fmt.Sprintf("%d %q (%s)", l.ID, l.Name, fileName(l.Source)))
	}
	return catalog.Layer{}, fmt.Errorf("pgstore: layer reference %q matches several layers: %s; use an id or a name: %w",
		ref, strings.Join(names, ", "), catalog.ErrAmbiguous)
}

func fileName(src string) string {
	src, _, _ = strings.Cut(src, "?")
	if i := strings.LastIndexByte(src, '/'); i >= 0 {
		return src[i+1:]
	}
	return src
}

// checkMetadata refuses metadata PublishWithMetadata cannot store.
func checkMetadata(layerID int64, m catalog.Metadata, bands []catalog.BandMeta) error {
	if m.Width < 0 || m.Height < 0 || m.BandCount < 0 || m.MaxZoom < 0 || m.MaxZoom > 30 {
		return fmt.Errorf("pgstore: metadata of layer %d: size %d×%d, %d bands, max zoom %d out of range", layerID, m.Width, m.Height, m.BandCount, m.MaxZoom)
	}
	if len(m.WKT) > 1<<16 {
		return fmt.Errorf("pgstore: metadata of layer %d: CRS WKT is %d bytes long, at most %d are allowed", layerID, len(m.WKT), 1<<16)
	}
	if len(bands) > 1<<16 {
		return fmt.Errorf("pgstore: metadata of layer %d: %d bands, at most %d are allowed", layerID, len(bands), 1<<16)
	}
	for i, b := range bands {
		if b.Type == raster.Unknown || b.Type.String() == "" {
			return fmt.Errorf("pgstore: metadata of layer %d: band %d has no data type", layerID, i)
		}
		if len(b.Hist) > 10000 || len(b.HistBins) > 10001 {
			return fmt.Errorf("pgstore: metadata of layer %d: band %d: histogram of %d bins, at most 10000 are allowed", layerID, i, len(b.Hist))
		}
	}
	return nil
}

// writeMetadata replaces the layer's metadata and band metadata within tx.
func writeMetadata(ctx context.Context, tx pgx.Tx, layerID int64, m catalog.Metadata, bands []catalog.BandMeta) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO layer_metadata (layer_id, origin_x, origin_y, scale_x, scale_y, skew_x, skew_y,
			width, height, band_count, srid, wkt, max_zoom,
			extent_min_x, extent_min_y, extent_max_x, extent_max_y)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (layer_id) DO UPDATE SET origin_x = EXCLUDED.origin_x, origin_y = EXCLUDED.origin_y,
			scale_x = EXCLUDED.scale_x, scale_y = EXCLUDED.scale_y, skew_x = EXCLUDED.skew_x,
			skew_y = EXCLUDED.skew_y, width = EXCLUDED.width, height = EXCLUDED.height,
			band_count = EXCLUDED.band_count, srid = EXCLUDED.srid, wkt = EXCLUDED.wkt,
			max_zoom = EXCLUDED.max_zoom, extent_min_x = EXCLUDED.extent_min_x,
			extent_min_y = EXCLUDED.extent_min_y, extent_max_x = EXCLUDED.extent_max_x,
			extent_max_y = EXCLUDED.extent_max_y, updated = now()`,
		layerID, m.OriginX, m.OriginY, m.ScaleX, m.ScaleY, m.SkewX, m.SkewY,
		m.Width, m.Height, m.BandCount, m.SRID, m.WKT, m.MaxZoom,
		m.Extent[0], m.Extent[1], m.Extent[2], m.Extent[3])
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM band_metadata WHERE layer_id = $1`, layerID); err != nil {
		return err
	}
	for i, b := range bands {
		var nd *float64
		if b.HasNoData {
			nd = &b.NoData
		}
		var mn, mx, mean, std *float64
		if b.Count > 0 {
			mn, mx, mean, std = finite(b.Min), finite(b.Max), finite(b.Mean), finite(b.Std)
		}
		hist, bins := b.Hist, b.HistBins
		if hist == nil {
			hist = []int64{}
		}
		if bins == nil {
			bins = []float64{}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO band_metadata (layer_id, band, type, nodata, count, min, max, mean, std, hist, hist_bins)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			layerID, i, b.Type.String(), nd, b.Count, mn, mx, mean, std, hist, bins); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE layers SET updated = now() WHERE id = $1`, layerID)
	return err
}

// finite returns &v, or nil for NaN and infinities (stored as NULL).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// now is the log clock; UTC, to the second, as django-raster's log lines are.
func now() time.Time { return time.Now().UTC() }
