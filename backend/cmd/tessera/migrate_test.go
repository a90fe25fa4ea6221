package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/migrations"
)

func TestMigrateCommand(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t) // already migrated
	t.Setenv("DATABASE_URL", dsn)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"migrate"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	type step struct {
		name    string
		args    []string
		code    int
		out     []string // substrings of stdout
		errText string   // substring of stderr
	}
	var applied, pending []string
	for i, f := range files {
		applied = append(applied, fmt.Sprintf("%05d  applied  %s", i+1, f))
		pending = append(pending, fmt.Sprintf("%05d  pending  %s", i+1, f))
	}
	steps := []step{{"status", []string{"status"}, 0, applied, ""}}
	for i := len(files); i >= 1; i-- {
		steps = append(steps, step{fmt.Sprintf("down %d", i), []string{"down"}, 0, []string{fmt.Sprintf("rolled back migration %05d", i)}, ""})
	}
	steps = append(steps,
		step{"status after down", []string{"status"}, 0, pending, ""},
		step{"down with nothing applied", []string{"down"}, 0, []string{"nothing to roll back"}, ""},
		step{"up", nil, 0, applied, ""},
		step{"up again", []string{"up"}, 0, applied, ""},
		step{"unknown action", []string{"sideways"}, 2, nil, `unknown action "sideways"`},
		step{"two actions", []string{"up", "down"}, 2, nil, "one action expected"},
		step{"help", []string{"-h"}, 0, nil, "usage: tessera migrate"},
	)
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errText := run(tc.args...)
			ok := code == tc.code && strings.Contains(errText, tc.errText)
			for _, o := range tc.out {
				ok = ok && strings.Contains(out, o)
			}
			if !ok {
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
		if code != 2 || !strings.Contains(errText, "database URL") { // a setting to correct: 2, as a bad flag
			t.Fatalf("exit %d, stderr %q", code, errText)
		}
	})
}
