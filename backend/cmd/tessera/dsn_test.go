package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
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
