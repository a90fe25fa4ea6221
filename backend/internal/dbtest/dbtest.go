// Package dbtest gives tests a throw-away PostgreSQL/PostGIS database: New creates a fresh
// database on the server of DATABASE_URL (from template1, which has postgis and
// postgis_raster), migrates it, returns a pgstore.Store on it and drops it when the test
// ends. Packages testing against the same server therefore never see each other's rows.
//
// When the server is unreachable the test is skipped, or fails when
// TESSERA_REQUIRE_SERVICES=1 (as `make test` sets it): under make test a missing service is
// a failure, never a silent skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/redact"
)

// Prefix starts the name of every database New creates.
const Prefix = "tessera_test_"

// staleAfter is the age past which New drops databases left behind by killed test runs.
const staleAfter = 12 * time.Hour

// ServerDSN returns DATABASE_URL, or pgstore.DefaultDSN when it is not set.
func ServerDSN() string {
	if v := os.Getenv("DATABASE_URL"); v != "" {
		return v
	}
	return pgstore.DefaultDSN
}

// Required reports whether tests must fail rather than skip without the services
// (TESSERA_REQUIRE_SERVICES=1).
func Required() bool { return os.Getenv("TESSERA_REQUIRE_SERVICES") == "1" }

// Unavailable skips the test, or fails it when services are required, saying why.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		tb.Fatalf("%s (TESSERA_REQUIRE_SERVICES=1; run scripts/services.sh)", msg)
	}
	tb.Skipf("%s (set TESSERA_REQUIRE_SERVICES=1 to fail instead; scripts/services.sh starts it)", msg)
}

// DSN returns the server's DSN after checking that it answers (skipping or failing the test
// otherwise), for tests that only run SQL and need no schema.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := ServerDSN()
	conn := connect(tb, dsn)
	conn.Close(context.Background())
	return dsn
}

func connect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		Unavailable(tb, "dbtest: PostgreSQL at %s is unreachable: %v", redact.Secret(dsn), err)
	}
	return conn
}

// New creates a fresh, migrated database and returns a store on it; the store is closed and
// the database dropped when the test ends.
func New(tb testing.TB) *pgstore.Store {
	tb.Helper()
	st, _ := NewWithDSN(tb)
	return st
}

// NewWithDSN is New also returning the new database's DSN, for tests that open their own
// connections (another process, a second store).
func NewWithDSN(tb testing.TB) (*pgstore.Store, string) {
	tb.Helper()
	server := ServerDSN()
	admin := connect(tb, server)
	ctx := context.Background()
	defer admin.Close(ctx)

	dropStale(ctx, tb, admin)

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	name := fmt.Sprintf("%s%d_%s", Prefix, time.Now().Unix(), hex.EncodeToString(rnd[:]))
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		_, err = admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE template1`)
		var pe *pgconn.PgError
		// 55006: template1 is in use by another session (e.g. services.sh); retry.
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("dbtest: create database %s: %v (the role needs CREATEDB; scripts/services.sh grants it)", name, err)
	}
	tb.Cleanup(func() { drop(tb, server, name) })

	dsn, err := withDatabase(server, name)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	tb.Cleanup(st.Close) // runs before the drop (cleanups run last-in first-out)
	if err := st.Migrate(ctx); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	return st, dsn
}

func drop(tb testing.TB, server, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Errorf("dbtest: drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	// Without FORCE first: DROP DATABASE stops autovacuum workers itself, while FORCE needs
	// the right to signal them (pg_signal_backend), which the tessera role lacks. FORCE
	// only as a last resort, for connections a test leaked.
	q := `DROP DATABASE IF EXISTS ` + pgx.Identifier{name}.Sanitize()
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, q)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" || attempt == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		if _, ferr := conn.Exec(ctx, q+` WITH (FORCE)`); ferr != nil {
			tb.Errorf("dbtest: drop database %s: %v; with FORCE: %v", name, err, ferr)
		}
	}
}

// dropStale drops test databases older than staleAfter, left by killed test runs; it never
// fails the test.
func dropStale(ctx context.Context, tb testing.TB, admin *pgx.Conn) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'tessera\_test\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(n, Prefix), "_")
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{n}.Sanitize()); err == nil {
			tb.Logf("dbtest: dropped stale test database %s", n)
		}
	}
}

// withDatabase returns dsn pointing at database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // key=value form: the last dbname wins
}
