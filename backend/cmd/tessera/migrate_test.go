package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
)

func TestMigrateCommand(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t) // already migrated
	t.Setenv("DATABASE_URL", dsn)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"migrate"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		out     string // substring of stdout
		errText string // substring of stderr
	}{
		{"status", []string{"status"}, 0, "00001  applied  00001_schema.sql", ""},
		{"down", []string{"down"}, 0, "rolled back migration 00001", ""},
		{"status after down", []string{"status"}, 0, "00001  pending  00001_schema.sql", ""},
		{"down with nothing applied", []string{"down"}, 0, "nothing to roll back", ""},
		{"up", nil, 0, "00001  applied", ""},
		{"up again", []string{"up"}, 0, "00001  applied", ""},
		{"unknown action", []string{"sideways"}, 2, "", `unknown action "sideways"`},
		{"two actions", []string{"up", "down"}, 2, "", "one action expected"},
		{"help", []string{"-h"}, 0, "", "usage: tessera migrate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errText := run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errText, tc.errText) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errText, tc.code, tc.out, tc.errText)
			}
		})
	}

	t.Run("unreachable database", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "postgres://tessera:tessera@127.0.0.1:1/tessera?sslmode=disable&connect_timeout=2")
		code, _, errText := run("status")
		if code != 1 || !strings.Contains(errText, "127.0.0.1:1") || !strings.Contains(errText, "DATABASE_URL") {
			t.Fatalf("exit %d, stderr %q", code, errText)
		}
	})
	t.Run("malformed DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "postgres://%zz")
		code, _, errText := run("status")
		if code != 1 || !strings.Contains(errText, "database URL") {
			t.Fatalf("exit %d, stderr %q", code, errText)
		}
	})
}
