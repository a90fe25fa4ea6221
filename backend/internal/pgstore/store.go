// Package pgstore keeps Tessera's catalog and tiles in PostgreSQL/PostGIS: layers and their
// metadata, parse bookkeeping, legends, session colormaps, write tokens, and the tiles
// themselves as PostGIS rasters (SRID 3857) that users can still query with PostGIS SQL.
//
// Tiles carry a parse version. A parse (BeginParse) writes its tiles under a new version
// beside the one being served; Publish switches the layer to it and drops the others in one
// transaction, so a failed or running re-parse never blanks a layer. Why: django-raster
// deleted a layer's tiles before re-parsing, so the layer was empty or partial meanwhile.
//
// Errors: pgx.ErrNoRows becomes catalog.ErrNotFound and unique violations catalog.ErrConflict,
// so callers branch with errors.Is on the catalog sentinels only.
package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/migrations"
)

// DefaultDSN is the database Tessera uses when DATABASE_URL is not set (the one
// scripts/services.sh creates).
const DefaultDSN = "postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable"

// ErrStaleVersion is returned when tiles are written to, or a layer is switched to, a parse
// version that is no longer the layer's latest parse (a newer parse has begun since).
var ErrStaleVersion = errors.New("pgstore: stale parse version")

// ErrDSN: the database URL (DATABASE_URL) cannot be read; the commands answer it as a usage
// error (exit 2), where a database that does not answer is a failure (1).
var ErrDSN = errors.New("database URL (DATABASE_URL) is not a postgres:// URL or key=value string")

// Store is Tessera's PostGIS store. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	tw     tileWriter   // WriteTiles' connections (tiles.go)
	slices atomic.Int32 // whether pixel reads use tessera_rast_slice (pixel.go)
	// sliceMissing is when tessera_rast_slice was last found missing (Unix nanoseconds; 0:
	// it was not, or a probe is under way): a read SliceReprobe later probes again (pixel.go).
	sliceMissing   atomic.Int64
	sliceAnnounced atomic.Bool // the log said it is missing (and will say when it is found)
}

// Option adjusts how Open sets up the connection pool.
type Option func(*pgxpool.Config)

// WarmPool is the option for a tile server. Each connection loads PostGIS raster support as
// it opens: a PostgreSQL backend's first raster call loads the postgis_raster library and
// GDAL with it, 120 ms measured on PostgreSQL 15 / PostGIS 3.3 (the first
// `SELECT postgis_raster_lib_version()` of a session against the second). And the pool opens
// its connections in the background at start (MinConns = MaxConns, unless the URL sets a
// pool_min_conns above 0), so no tile request pays for either. The warming is best effort:
// on a database without postgis_raster yet (before the first migration) it does nothing, and
// the connections opened then stay cold. On a server that preloads postgis_raster
// (shared_preload_libraries, as scripts/services.sh sets it) the raster call costs under a
// millisecond and only the early opening matters.
func WarmPool() Option {
	return func(cfg *pgxpool.Config) {
		prev := cfg.AfterConnect
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			if prev != nil {
				if err := prev(ctx, conn); err != nil {
					return err
				}
			}
			_, _ = conn.Exec(ctx, `SELECT postgis_raster_lib_version()`)
			return nil
		}
		if cfg.MinConns == 0 {
			cfg.MinConns = cfg.MaxConns
		}
	}
}

// Open connects to the database at dsn (a postgres:// URL or key=value string) and checks
// that it answers. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w: %w", ErrDSN, err)
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &Store{pool: pool, tw: tileWriter{sem: make(chan struct{}, MaxTileWriters)}}, nil
}

// Close closes every connection.
func (s *Store) Close() {
	s.tw.close()
	s.pool.Close()
}

// Pool returns the connection pool, for callers that run their own SQL (tests, benchmarks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// migrateLock is the advisory lock key that serialises migrations ("tessera" in ASCII).
const migrateLock = 0x74657373657261

// Migrate applies every pending migration of the migrations package, through goose. serve,
// ingest and worker all migrate at start-up, possibly at the same moment: a PostgreSQL
// advisory lock makes them take turns (goose's own session locker polls every few
// seconds; pg_advisory_lock just waits), and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	// Fast path: every embedded migration is applied already (one cheap query, no lock, no
	// second connection for goose). Measured: goose's own check cost an ingest 60–100 ms.
	if ok, err := s.upToDate(ctx, conn); err == nil && ok {
		return nil
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))

	p, db, err := s.migrator()
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// upToDate reports whether every migration of the migrations package is recorded as
// applied in goose's version table.
func (s *Store) upToDate(ctx context.Context, conn *pgxpool.Conn) (bool, error) {
	want, err := embeddedVersions()
	if err != nil {
		return false, err
	}
	var applied []int64
	err = conn.QueryRow(ctx, `
		SELECT CASE WHEN to_regclass('goose_db_version') IS NULL THEN '{}'::bigint[]
		ELSE (SELECT coalesce(array_agg(DISTINCT version_id), '{}') FROM goose_db_version WHERE is_applied AND version_id > 0) END`).Scan(&applied)
	if err != nil {
		return false, err
	}
	have := make(map[int64]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	for _, v := range want {
		if !have[v] {
			return false, nil
		}
	}
	return true, nil
}

// embeddedVersions lists the versions of the embedded migrations (the numeric prefix of
// each NNNNN_name.sql file).
func embeddedVersions() ([]int64, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("pgstore: migration file %s has no version prefix", name)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("pgstore: no embedded migrations")
	}
	return out, nil
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Source  string
	Applied bool
}

// MigrationStatus lists the known migrations and which are applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, db, err := s.migrator()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migration status: %w", err)
	}
	out := make([]MigrationStatus, len(st))
	for i, m := range st {
		out[i] = MigrationStatus{Version: m.Source.Version, Source: m.Source.Path, Applied: m.State == goose.StateApplied}
	}
	return out, nil
}

// MigrateDown rolls back the latest applied migration and returns its version (0 when
// nothing was applied).
func (s *Store) MigrateDown(ctx context.Context) (int64, error) {
	p, db, err := s.migrator()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	r, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: migrate down: %w", err)
	}
	return r.Source.Version, nil
}

// migrator returns a goose provider over a database/sql handle sharing the pool's
// configuration; the caller closes db.
func (s *Store) migrator() (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("pgstore: migrations: %w", err)
	}
	return p, db, nil
}

// mapErr turns driver errors into catalog sentinels: no rows → catalog.ErrNotFound, a unique
// violation → catalog.ErrConflict, a foreign key violation → catalog.ErrNotFound (the row
// referred to does not exist). what names the object for the message.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", what, catalog.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("pgstore: %s: already exists (%s): %w", what, pe.Detail, catalog.ErrConflict)
		case "23503":
			return fmt.Errorf("pgstore: %s: refers to a missing row (%s): %w", what, pe.Detail, catalog.ErrNotFound)
		case "22021", "22P05":
			// A NUL in text (invalid_byte_sequence) or \u0000 in JSON (untranslatable_character):
			// any client can send either (%00 in a URL, \u0000 in a body); a 500 and an error
			// logged for each.
			return fmt.Errorf("pgstore: %s: %w", what, catalog.ErrUnstorable)
		case "23514", "22001", "22003":
			return fmt.Errorf("pgstore: %s: value rejected: %s", what, pe.Message)
		}
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}
