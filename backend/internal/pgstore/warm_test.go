package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

// TestWarmPool checks that WarmPool opens the pool's connections at start and that each has
// PostGIS raster support (the postgis_raster library) loaded before any query of ours, while
// a plain Open's connection has not (unless the server preloads it for every backend). It
// looks at the backend's memory map, so it needs the database on this machine and /proc
// readable, as under make test.
func TestWarmPool(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t)
	ctx := context.Background()
	plain, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var pid int
	if err := plain.Pool().QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	// With postgis_raster in shared_preload_libraries (scripts/services.sh sets it) every
	// backend has it from the start: then the memory maps prove nothing, and the warm-up call
	// is checked through pg_stat_activity alone.
	preloaded := rasterLoaded(t, pid)

	warm, err := pgstore.Open(ctx, dsn, pgstore.WarmPool())
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	max := warm.Pool().Config().MaxConns
	for deadline := time.Now().Add(20 * time.Second); warm.Pool().Stat().TotalConns() < max; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the warm pool opened %d of its %d connections", warm.Pool().Stat().TotalConns(), max)
		}
	}
	// The pool's backends ran the warm-up call, with or without the preload: pg_stat_activity
	// keeps a session's last statement, and an idle pool connection has run nothing since,
	// except the one Open pinged after its warm-up ("-- ping").
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var warmed, pinged int32
		if err := plain.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE query = 'SELECT postgis_raster_lib_version()'),
				count(*) FILTER (WHERE query = '-- ping')
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&warmed, &pinged); err != nil {
			t.Fatal(err)
		}
		if warmed == max-1 && pinged == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the warm pool's %d backends ran the warm-up call last and %d the ping, want %d and 1", warmed, max, pinged, max-1)
		}
	}
	for range max { // every connection, each held so the next acquire takes another
		c, err := warm.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		var pid int
		if err := c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if !preloaded && !rasterLoaded(t, pid) {
			t.Errorf("backend %d of the warm pool has not loaded postgis_raster", pid)
		}
	}
}

// rasterLoaded reports whether PostgreSQL backend pid has the postgis_raster library mapped.
func rasterLoaded(t *testing.T, pid int) bool {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Skipf("cannot read the PostgreSQL backend's memory map (database elsewhere, or no permission): %v", err)
	}
	return strings.Contains(string(maps), "postgis_raster")
}
