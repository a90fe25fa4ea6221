package dbtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
)

func TestNewIsFreshAndDropped(t *testing.T) {
	ctx := context.Background()
	var names []string
	for _, sub := range []string{"first", "second"} {
		t.Run(sub, func(t *testing.T) {
			s, dsn := dbtest.NewWithDSN(t)
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(u.Path, "/")
			if !strings.HasPrefix(name, dbtest.Prefix) {
				t.Fatalf("database %q lacks the prefix %q", name, dbtest.Prefix)
			}
			names = append(names, name)
			var layers, postgis int
			if err := s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM layers), (SELECT count(*) FROM pg_extension WHERE extname IN ('postgis', 'postgis_raster'))`).Scan(&layers, &postgis); err != nil {
				t.Fatalf("migrated schema: %v", err)
			}
			if layers != 0 || postgis != 2 {
				t.Fatalf("%d layers, %d of postgis/postgis_raster", layers, postgis)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v, want two different ones", names)
	}
	conn, err := pgx.Connect(ctx, dbtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d of %v still exist after their tests ended", left, names)
	}
}
