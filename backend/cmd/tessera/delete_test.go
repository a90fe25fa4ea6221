package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDeleteCommand(t *testing.T) {
	dsn := cliEnv(t)
	src := sharedRaster(t, "django_raster_test.tif")
	code, o, errText := ingestJSON(t, src, "--name", "to_delete")
	if code != 0 || o.Tiles == 0 {
		t.Fatalf("ingest: exit %d, %+v, stderr %q", code, o, errText)
	}
	code, kept, errText := ingestJSON(t, src, "--name", "kept")
	if code != 0 || kept.Tiles == 0 {
		t.Fatalf("ingest: exit %d, %+v, stderr %q", code, kept, errText)
	}
	tilesOf := func(id int64) int {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM tiles WHERE layer_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	keptCopy := func(id int64) string {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var p string
		if err := conn.QueryRow(context.Background(), `SELECT reprojected_path FROM layers WHERE id = $1`, id).Scan(&p); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("layer %d: no kept reprojection: %v", id, err)
		}
		return p
	}
	deletedCopy, keptLayerCopy := keptCopy(o.ID), keptCopy(kept.ID)

	steps := []struct {
		name    string
		args    []string
		code    int
		out     string
		errText string
	}{
		{"no layer named", nil, 2, "", "name the layers to delete"},
		{"by name", []string{"to_delete"}, 0, `deleted layer "to_delete"`, ""},
		{"again", []string{"to_delete"}, 1, "", `no layer "to_delete"`},
		// Every name is looked up before any layer goes: a typo among several names deleted
		// the layers named before it ("kept" here), then stopped.
		{"a name not found deletes none", []string{"kept", "no_such_layer"}, 1, "", `no layer "no_such_layer"`},
		{"nothing deleted is said", []string{"kept", "no_such_layer"}, 1, "", "nothing deleted"},
		{"help", []string{"-h"}, 0, "", "usage: tessera delete"},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errText := runCmd(append([]string{"delete"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errText, tc.errText) || tc.code != 0 && out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errText, tc.code, tc.out, tc.errText)
			}
		})
	}
	// The file of an upload (in RASTER_WORKDIR/uploads) goes with its layer; a raster named
	// by a path stays.
	up := filepath.Join(os.Getenv("RASTER_WORKDIR"), "uploads", "1234-up.tif")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(up), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(up, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, ou, errText := ingestJSON(t, up, "--name", "uploaded"); code != 0 || ou.Tiles == 0 {
		t.Fatalf("ingest of the upload: exit %d, %+v, stderr %q", code, ou, errText)
	}
	// A second layer of the same file keeps it while it lives (the file went with the first
	// layer deleted, the second's raster with it).
	if code, ou, errText := ingestJSON(t, up, "--name", "uploaded_twin"); code != 0 || ou.Tiles == 0 {
		t.Fatalf("second ingest of the upload: exit %d, %+v, stderr %q", code, ou, errText)
	}
	if code, out, errText := runCmd("delete", "uploaded_twin"); code != 0 || !strings.Contains(out, `deleted layer "uploaded_twin"`) {
		t.Fatalf("delete of the upload's second layer: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	if _, err := os.Stat(up); err != nil {
		t.Fatalf("the upload's file went with one of its two layers: %v", err)
	}
	// A bad ingest setting that delete does not use keeps no file (the files stayed, unsaid).
	t.Setenv("RASTER_TILESIZE", "x")
	if code, out, errText := runCmd("delete", "uploaded"); code != 0 || !strings.Contains(out, `deleted layer "uploaded"`) {
		t.Fatalf("delete of the upload's layer: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	if _, err := os.Stat(up); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the upload's file is still there after its layer was deleted: %v", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("the raster named by a path went with its layer: %v", err)
	}
	// The deleted layer's EPSG:3857 copy kept for re-parses goes too (it stayed in
	// RASTER_WORKDIR/reprojected: 359 MB for an 8000² float32 raster); the other layer's stays.
	if _, err := os.Stat(deletedCopy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted layer's kept reprojection is still there: %v", err)
	}
	if _, err := os.Stat(keptLayerCopy); err != nil {
		t.Errorf("the other layer's kept reprojection went: %v", err)
	}
	if n := tilesOf(o.ID); n != 0 {
		t.Errorf("%d tiles of the deleted layer are left", n)
	}
	if n := tilesOf(kept.ID); int64(n) != kept.Tiles {
		t.Errorf("the other layer has %d tiles after the delete, want its %d", n, kept.Tiles)
	}
}
