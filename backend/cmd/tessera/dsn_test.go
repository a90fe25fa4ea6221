package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestBadDatabaseURL: a DATABASE_URL that cannot be read is a setting to correct, exit 2 as a
// bad flag, with a message that names DATABASE_URL; a database that does not answer stays a
// failure, exit 1. Both were 1. tessera serve, which opens it with its own options, too.
func TestBadDatabaseURL(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("RASTER_WORKDIR", t.TempDir())
	for _, c := range []struct {
		dsn  string
		code int
	}{
		{"postgres://%zz", 2},
		{"host=127.0.0.1 port=notaport", 2},
		{"postgres://tessera:tessera@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", 1},
	} {
		t.Setenv("DATABASE_URL", c.dsn)
		for _, args := range [][]string{{"delete", "x"}, {"migrate", "status"}} {
			code, _, errText := runCmd(args...)
			if code != c.code || !strings.Contains(errText, "DATABASE_URL") {
				t.Errorf("%s with DATABASE_URL=%q: exit %d, stderr %q; want %d", args[0], c.dsn, code, errText, c.code)
			}
		}
		cfg, err := loadServeConfig(nil, os.Getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		if code := serve(context.Background(), cfg, io.Discard, &errb); code != c.code || !strings.Contains(errb.String(), "DATABASE_URL") {
			t.Errorf("serve with DATABASE_URL=%q: exit %d, stderr %q; want %d", c.dsn, code, errb.String(), c.code)
		}
	}
}

// TestMigrationFails: a database that opens but cannot be migrated (here goose's version
// table has none of its columns) stops serve and key, as every command that migrates
// (openMigrated), with exit 1 and pgstore's error said once; serve migrated by hand and
// printed "tessera serve: migrate: pgstore: migrate: …".
func TestMigrationFails(t *testing.T) {
	dsn := cliEnv(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP TABLE goose_db_version; CREATE TABLE goose_db_version (x int)`); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, cmd string, code int, errText string) {
		t.Helper()
		if code != 1 || !strings.Contains(errText, "tessera "+cmd+": pgstore: migrate: ") || strings.Count(errText, "migrate: ") != 1 {
			t.Errorf("exit %d, stderr %q; want 1 and \"tessera %s: pgstore: migrate: …\" once", code, errText, cmd)
		}
	}
	t.Run("serve", func(t *testing.T) {
		cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, os.Getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		code := serve(ctx, cfg, io.Discard, &errb)
		check(t, "serve", code, errb.String())
	})
	t.Run("key", func(t *testing.T) {
		code, _, errText := runCmd("key", "list")
		check(t, "key", code, errText)
	})
}
