package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgraster"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Limits of one WriteTiles call: MaxBatch tiles (django-raster's RASTER_BATCH_STEP_SIZE
// default is 500) and MaxBatchBytes of pixels.
const (
	MaxBatch      = 10000
	MaxBatchBytes = 1 << 30
)

// Tile is one tile to write: its address and its bands, all of the same square size.
type Tile struct {
	ZXY   tile.ZXY
	Bands []*raster.Band
}

// createTileIn makes the connection's COPY target once: a temporary view whose INSTEAD OF
// trigger inserts each row into tiles through ST_RastFromWKB (replacing the tile of the same
// address). Why not a staging table (as before): the rows went to disk twice, once into the
// temporary table's TOAST and once into tiles'; with the view each WKB goes from the COPY
// buffer straight into tiles, and the database's CPU per batch measured about half.
const createTileIn = `
	DO $$ BEGIN
		IF to_regclass('pg_temp.tessera_tile_in') IS NULL THEN
			CREATE FUNCTION pg_temp.tessera_tile_in() RETURNS trigger LANGUAGE plpgsql AS $f$
			BEGIN
				INSERT INTO tiles (layer_id, version, z, x, y, rast)
				VALUES (NEW.layer_id, NEW.version, NEW.z, NEW.x, NEW.y, ST_RastFromWKB(NEW.wkb))
				ON CONFLICT (layer_id, version, z, x, y) DO UPDATE SET rast = EXCLUDED.rast;
				RETURN NEW;
			END $f$;
			CREATE TEMP VIEW tessera_tile_in AS SELECT NULL::bigint AS layer_id, NULL::bigint AS version,
				NULL::smallint AS z, NULL::int AS x, NULL::int AS y, NULL::bytea AS wkb;
			CREATE TRIGGER tessera_tile_in INSTEAD OF INSERT ON tessera_tile_in
				FOR EACH ROW EXECUTE FUNCTION pg_temp.tessera_tile_in();
		END IF;
	END $$`

// WriteTiles writes a batch of tiles of one parse version with COPY: the tiles go as WKB
// into the connection's temporary view (createTileIn), whose trigger inserts each into tiles
// through ST_RastFromWKB, on one of at most MaxTileWriters connections. Writing a z/x/y
// again replaces it, so a retried task never duplicates tiles (within a batch the last tile
// of an address wins). Only the layer's latest parse version is writable; an older one gives
// ErrStaleVersion, so a task of an abandoned parse cannot mix its tiles into a newer one.
func (s *Store) WriteTiles(ctx context.Context, layerID, version int64, tiles []Tile) error {
	if len(tiles) == 0 {
		return nil
	}
	if len(tiles) > MaxBatch {
		return fmt.Errorf("pgstore: write tiles of layer %d: %d tiles in one batch, at most %d", layerID, len(tiles), MaxBatch)
	}
	if version <= 0 {
		return fmt.Errorf("pgstore: write tiles of layer %d: version %d: call BeginParse for a version", layerID, version)
	}
	// Check first: bad input fails before any database work. Later tiles of the same
	// address replace earlier ones, as ON CONFLICT cannot touch one row twice.
	total := 0
	for _, t := range tiles {
		for _, b := range t.Bands {
			if b != nil {
				total += 1 + b.Type.Size() + len(b.Data)
			}
		}
	}
	if total > MaxBatchBytes {
		return fmt.Errorf("pgstore: write tiles of layer %d: a batch of %d tiles holds %d MiB, at most %d MiB are allowed; write smaller batches", layerID, len(tiles), total>>20, MaxBatchBytes>>20)
	}
	src := &tileSource{layerID: layerID, version: version, i: -1, rasters: make([]*pgraster.Raster, 0, len(tiles))}
	at := make(map[tile.ZXY]int, len(tiles))
	for i, t := range tiles {
		if err := t.ZXY.Validate(); err != nil {
			return fmt.Errorf("pgstore: write tiles of layer %d: tile %d: %w", layerID, i, err)
		}
		if len(t.Bands) == 0 || t.Bands[0] == nil {
			return fmt.Errorf("pgstore: write tiles of layer %d: tile %v has no bands", layerID, t.ZXY)
		}
		size := t.Bands[0].Width
		if t.Bands[0].Height != size {
			return fmt.Errorf("pgstore: write tiles of layer %d: tile %v is %d×%d, tiles are square", layerID, t.ZXY, size, t.Bands[0].Height)
		}
		r := pgraster.ForTile(t.ZXY, size, t.Bands)
		if err := pgraster.Check(r); err != nil {
			return fmt.Errorf("pgstore: write tiles of layer %d: tile %v: %w", layerID, t.ZXY, err)
		}
		if j, ok := at[t.ZXY]; ok {
			src.rasters[j], src.addrs[j] = r, t.ZXY
			continue
		}
		at[t.ZXY] = len(src.rasters)
		src.rasters = append(src.rasters, r)
		src.addrs = append(src.addrs, t.ZXY)
	}
	// Address order, so concurrent writers of overlapping batches (a task and its retry)
	// lock tiles in the same order; a deadlock that happens anyway is retried.
	sort.Sort(src)

	var err error
	for attempt := 1; ; attempt++ {
		src.i = -1
		var conn *pgx.Conn
		if conn, err = s.tw.acquire(ctx, s); err != nil {
			break
		}
		err = s.writeBatch(ctx, conn, layerID, version, src)
		s.tw.release(conn)
		var pe *pgconn.PgError
		if attempt == 3 || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			break
		}
	}
	if err != nil {
		if errors.Is(err, ErrStaleVersion) {
			return fmt.Errorf("pgstore: write tiles of layer %d: %w", layerID, err)
		}
		return mapErr(err, fmt.Sprintf("write tiles of layer %d", layerID))
	}
	return nil
}

// tileSource feeds COPY one tile at a time, encoding each into one reused buffer (pgx
// copies a row's values into its send buffer before asking for the next), so a batch is
// never held twice in memory, as bands and as WKB.
type tileSource struct {
	layerID int64
	version int64
	addrs   []tile.ZXY
	rasters []*pgraster.Raster
	i       int
	buf     []byte
}

func (t *tileSource) Len() int { return len(t.addrs) }
func (t *tileSource) Less(i, j int) bool {
	a, b := t.addrs[i], t.addrs[j]
	return cmp.Or(cmp.Compare(a.Z, b.Z), cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y)) < 0
}
func (t *tileSource) Swap(i, j int) {
	t.addrs[i], t.addrs[j] = t.addrs[j], t.addrs[i]
	t.rasters[i], t.rasters[j] = t.rasters[j], t.rasters[i]
}

// Next, Values and Err implement pgx.CopyFromSource.
func (t *tileSource) Next() bool { t.i++; return t.i < len(t.addrs) }
func (t *tileSource) Values() ([]any, error) {
	var err error
	if t.buf, err = pgraster.AppendEncode(t.buf[:0], t.rasters[t.i]); err != nil {
		return nil, err
	}
	a := t.addrs[t.i]
	return []any{t.layerID, t.version, int16(a.Z), int32(a.X), int32(a.Y), t.buf}, nil
}
func (t *tileSource) Err() error { return nil }

// MaxTileWriters is the number of connections WriteTiles writes through at most: batches
// written concurrently (asynq workers' tasks, an ingest's writers) take turns on them.
// Why so few: the first PostGIS raster call in a PostgreSQL backend loads postgis_raster and
// GDAL into it, measured 0.25–0.35 s of server CPU per connection, and the pool spread an
// ingest's batches over three backends (0.6 s of loading more for RGB.byte 400%, whose
// batches one connection writes as fast); two let a large ingest keep two of the database's
// cores busy.
const MaxTileWriters = 2

// tileWriter holds the connections of WriteTiles (at most MaxTileWriters), reused most
// recently released first, so a single writer always gets the same warm one.
type tileWriter struct {
	sem    chan struct{} // a slot per connection in use (made by Open)
	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
	// warming is closed when the connection PrepareTileWrites warms is ready (nil when
	// none is warming): a batch waits for it rather than open (and warm) another.
	warming chan struct{}
}

// acquire returns a connection for one batch, opening one when none is idle; release
// gives it back.
func (w *tileWriter) acquire(ctx context.Context, s *Store) (*pgx.Conn, error) {
	w.mu.Lock()
	warming := w.warming
	w.mu.Unlock()
	if warming != nil {
		select {
		case <-warming:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return w.take(ctx, s)
}

// take is acquire without waiting for a warming connection.
func (w *tileWriter) take(ctx context.Context, s *Store) (*pgx.Conn, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		c := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return c, nil
	}
	w.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		<-w.sem
		return nil, err
	}
	return c, nil
}

// release returns a connection taken by acquire; a broken one is dropped, so the next
// batch opens a new one.
func (w *tileWriter) release(c *pgx.Conn) {
	w.mu.Lock()
	switch {
	case c.IsClosed():
	case w.closed:
		c.Close(context.Background())
	default:
		w.idle = append(w.idle, c)
	}
	w.mu.Unlock()
	<-w.sem
}

func (w *tileWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, c := range w.idle {
		c.Close(context.Background())
	}
	w.idle = nil
}

// PrepareTileWrites opens a connection WriteTiles writes through and loads PostGIS raster
// into its server process, so that a parse can do this on the database's core while it
// reprojects, instead of before its first batch.
func (s *Store) PrepareTileWrites(ctx context.Context) error {
	w := &s.tw
	done := make(chan struct{})
	w.mu.Lock()
	if w.warming != nil || len(w.idle) > 0 {
		w.mu.Unlock()
		return nil // warming or warm already
	}
	w.warming = done
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.warming = nil
		w.mu.Unlock()
		close(done)
	}()
	conn, err := w.take(ctx, s)
	if err == nil {
		_, err = conn.Exec(ctx, `SELECT postgis_raster_lib_version()`)
		if err == nil {
			// The COPY target too (its first batch then skips compiling the trigger).
			_, err = conn.Exec(ctx, createTileIn)
		}
		s.tw.release(conn)
	}
	return mapErr(err, "prepare tile writes")
}

// writeBatch is one transaction of WriteTiles: COPY the tiles (layer, version, z, x, y,
// WKB) into the connection's tessera_tile_in view, whose trigger upserts them into tiles.
func (s *Store) writeBatch(ctx context.Context, conn *pgx.Conn, layerID, version int64, src *tileSource) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// FOR SHARE: concurrent writers proceed together, BeginParse and Publish wait.
		var current int64
		if err := tx.QueryRow(ctx, `SELECT parse_version FROM layers WHERE id = $1 FOR SHARE`, layerID).Scan(&current); err != nil {
			return err
		}
		if version != current {
			return fmt.Errorf("version %d, the latest parse is %d: %w", version, current, ErrStaleVersion)
		}
		if _, err := tx.Exec(ctx, createTileIn); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tessera_tile_in"}, []string{"layer_id", "version", "z", "x", "y", "wkb"}, src)
		return err
	})
}

// Publish makes version the layer's served version and deletes the tiles of every other
// version, in one transaction. Only the latest parse can be published (else
// ErrStaleVersion); publishing it again is harmless. A failed re-parse never calls
// Publish, so the old tiles keep serving.
func (s *Store) Publish(ctx context.Context, layerID, version int64) error {
	return s.publish(ctx, layerID, version, nil)
}

// PublishWithMetadata is Publish that also stores the parse's metadata, replacing the
// earlier one, in the same transaction: the only way metadata is written. m is the parser's
// reading of the raster; bands[i] holds the type, nodata and statistics of band i (0-based,
// as Layer.Bands returns it with Index = i; its Index field is not used), and the statistics
// of a band with Count 0 are not kept. Metadata out of range (a max zoom above 30, a
// histogram of more than 10000 bins, …) is refused and nothing is published. Why: the catalog's metadata (extent, max zoom, each band's type, nodata and
// statistics) must describe the served version; stored apart (SetMetadata, before), a parse
// that failed or was overtaken after its metadata and before its publish left its metadata
// over the old tiles, and a re-parse showed its metadata before its tiles served.
func (s *Store) PublishWithMetadata(ctx context.Context, layerID, version int64, m catalog.Metadata, bands []catalog.BandMeta) error {
	if err := checkMetadata(layerID, m, bands); err != nil {
		return err
	}
	return s.publish(ctx, layerID, version, func(tx pgx.Tx) error { return writeMetadata(ctx, tx, layerID, m, bands) })
}

func (s *Store) publish(ctx context.Context, layerID, version int64, also func(pgx.Tx) error) error {
	if version <= 0 {
		return fmt.Errorf("pgstore: publish layer %d: version %d: call BeginParse for a version", layerID, version)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var current int64
		if err := tx.QueryRow(ctx, `SELECT parse_version FROM layers WHERE id = $1 FOR UPDATE`, layerID).Scan(&current); err != nil {
			return err
		}
		if version != current {
			return fmt.Errorf("version %d, the latest parse is %d: %w", version, current, ErrStaleVersion)
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE layers SET version = $2, updated = now() WHERE id = $1`, layerID, version); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM tiles WHERE layer_id = $1 AND version <> $2`, layerID, version)
		return err
	})
	if errors.Is(err, ErrStaleVersion) {
		return fmt.Errorf("pgstore: publish layer %d: %w", layerID, err)
	}
	return mapErr(err, fmt.Sprintf("publish layer %d", layerID))
}

// TileCount returns the number of stored tiles of a version per zoom.
func (s *Store) TileCount(ctx context.Context, layerID, version int64) (map[int]int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT z, count(*) FROM tiles WHERE layer_id = $1 AND version = $2 GROUP BY z`, layerID, version)
	if err != nil {
		return nil, mapErr(err, fmt.Sprintf("tile count of layer %d", layerID))
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var (
			z int16
			n int64
		)
		if err := rows.Scan(&z, &n); err != nil {
			return nil, mapErr(err, fmt.Sprintf("tile count of layer %d", layerID))
		}
		out[int(z)] = n
	}
	return out, mapErr(rows.Err(), fmt.Sprintf("tile count of layer %d", layerID))
}

// TileWKB returns a stored tile as PostGIS raster WKB, or catalog.ErrNotFound.
func (s *Store) TileWKB(ctx context.Context, layerID, version int64, t tile.ZXY) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	var wkb []byte
	err := s.pool.QueryRow(ctx, `
		SELECT ST_AsBinary(rast) FROM tiles
		WHERE layer_id = $1 AND version = $2 AND z = $3 AND x = $4 AND y = $5`,
		layerID, version, int16(t.Z), int32(t.X), int32(t.Y)).Scan(&wkb)
	if err != nil {
		return nil, mapErr(err, fmt.Sprintf("tile %v of layer %d version %d", t, layerID, version))
	}
	return wkb, nil
}

// Tile returns the bands of a stored tile, or catalog.ErrNotFound.
func (s *Store) Tile(ctx context.Context, layerID, version int64, t tile.ZXY) ([]*raster.Band, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	return withRaw(ctx, s, func(raw bool) ([]*raster.Band, error) { return s.tile(ctx, raw, layerID, version, t) })
}

func (s *Store) tile(ctx context.Context, raw bool, layerID, version int64, t tile.ZXY) ([]*raster.Band, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+rastBytes(raw, "rast")+` FROM tiles
		WHERE layer_id = $1 AND version = $2 AND z = $3 AND x = $4 AND y = $5`,
		layerID, version, int16(t.Z), int32(t.X), int32(t.Y))
	if err != nil {
		return nil, mapErr(err, fmt.Sprintf("tile %v of layer %d version %d", t, layerID, version))
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, mapErr(orNoRows(rows.Err()), fmt.Sprintf("tile %v of layer %d version %d", t, layerID, version))
	}
	r, err := decodeColumn(rows, 0, raw)
	if err != nil {
		return nil, fmt.Errorf("pgstore: tile %v of layer %d: %w", t, layerID, err)
	}
	return r.Bands, nil
}

func orNoRows(err error) error {
	if err == nil {
		return pgx.ErrNoRows
	}
	return err
}

// rastBytes is the SQL expression that hands out raster column col: its stored bytes (after
// the length word) when raw, through tessera_rast_slice, else its WKB. decodeColumn reads
// either.
//
// Why the stored bytes: ST_AsBinary converts each tile to WKB, a second 256 KB copy in the
// server for a Float32 tile; three such tiles a second came 1942–1989 times with ST_AsBinary,
// 2147–2195 with the slice (4 clients, pgx, the bench database).
func rastBytes(raw bool, col string) string {
	if raw {
		return "tessera_rast_slice(" + col + ", 1, 2147483647)"
	}
	return "ST_AsBinary(" + col + ")"
}

// decodeColumn decodes the raster in column i of the current row (rastBytes(raw, …))
// straight from the driver's buffer (the decoders copy the pixels), saving the copy a Scan
// into []byte makes.
func decodeColumn(rows pgx.Rows, i int, raw bool) (*pgraster.Raster, error) {
	decode := pgraster.Decode
	if raw {
		decode = pgraster.DecodeSerialized
	}
	if rows.FieldDescriptions()[i].Format == pgx.BinaryFormatCode {
		return decode(rows.RawValues()[i])
	}
	var b []byte
	if err := rows.Scan(&b); err != nil {
		return nil, err
	}
	return decode(b)
}

// NearestTile returns tile t if it is stored, else its nearest stored ancestor (the tile a
// server cuts an over-zoomed tile from), with one query; catalog.ErrNotFound when neither t
// nor any ancestor is stored.
func (s *Store) NearestTile(ctx context.Context, layerID, version int64, t tile.ZXY) (tile.ZXY, []*raster.Band, error) {
	if err := t.Validate(); err != nil {
		return tile.ZXY{}, nil, fmt.Errorf("pgstore: tile %v: %w", t, err)
	}
	zs := make([]int16, 0, t.Z+1)
	xs := make([]int32, 0, t.Z+1)
	ys := make([]int32, 0, t.Z+1)
	for z := t.Z; z >= 0; z-- {
		a := t.Ancestor(z)
		zs, xs, ys = append(zs, int16(a.Z)), append(xs, int32(a.X)), append(ys, int32(a.Y))
	}
	var at tile.ZXY
	bands, err := withRaw(ctx, s, func(raw bool) (bands []*raster.Band, err error) {
		at, bands, err = s.nearestTile(ctx, raw, layerID, version, t, zs, xs, ys)
		return bands, err
	})
	return at, bands, err
}

func (s *Store) nearestTile(ctx context.Context, raw bool, layerID, version int64, t tile.ZXY, zs []int16, xs, ys []int32) (tile.ZXY, []*raster.Band, error) {
	// The raster's bytes outside the LIMIT: in a full pyramid every ancestor exists, and
	// de-toasting each of them before picking the deepest cost one tile read per zoom.
	rows, err := s.pool.Query(ctx, `
		SELECT `+rastBytes(raw, "n.rast")+`, n.z, n.x, n.y FROM (
			SELECT t.z, t.x, t.y, t.rast
			FROM unnest($3::smallint[], $4::int[], $5::int[]) AS a(z, x, y)
			JOIN tiles t ON t.layer_id = $1 AND t.version = $2 AND t.z = a.z AND t.x = a.x AND t.y = a.y
			ORDER BY t.z DESC LIMIT 1) n`, layerID, version, zs, xs, ys)
	what := fmt.Sprintf("tile %v or an ancestor, layer %d version %d", t, layerID, version)
	if err != nil {
		return tile.ZXY{}, nil, mapErr(err, what)
	}
	defer rows.Close()
	if !rows.Next() {
		return tile.ZXY{}, nil, mapErr(orNoRows(rows.Err()), what)
	}
	var (
		z    int16
		x, y int32
	)
	if err := rows.Scan(nil, &z, &x, &y); err != nil {
		return tile.ZXY{}, nil, mapErr(err, what)
	}
	at := tile.ZXY{Z: int(z), X: int(x), Y: int(y)}
	r, err := decodeColumn(rows, 0, raw)
	if err != nil {
		return tile.ZXY{}, nil, fmt.Errorf("pgstore: tile %v of layer %d: %w", at, layerID, err)
	}
	return at, r.Bands, nil
}
