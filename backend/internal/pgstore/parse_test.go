package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

var stamped = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] `)

func TestParseBookkeeping(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "parse", "p.tif")

	v, err := s.BeginParse(ctx, l.ID)
	if err != nil || v != 1 {
		t.Fatalf("BeginParse = %d, %v; want 1", v, err)
	}
	if err := s.SetStatus(ctx, l.ID, catalog.DownloadingFile, "Started parsing raster."); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, l.ID, catalog.CreatingTiles, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLog(ctx, l.ID, "Finished parsing at zoom level 11."); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProgress(ctx, l.ID, 5, 1000); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if err := s.AddProgress(ctx, l.ID, 2); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, z := range []int{11, 3, 11, 0, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.FinishZoom(ctx, l.ID, z); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	got, err := s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Parse
	if p.Status != catalog.CreatingTiles || p.Version != 1 || p.TilesDone != 5+8*25*2 || p.TilesTotal != 1000 {
		t.Fatalf("parse = %+v", p)
	}
	if !reflect.DeepEqual(p.FinishedZooms, []int{0, 3, 11}) {
		t.Fatalf("finished zooms %v, want [0 3 11]", p.FinishedZooms)
	}
	if len(p.Log) != 2 || !stamped.MatchString(p.Log[0]) || p.Log[0][22:] != "Started parsing raster." ||
		p.Log[1][22:] != "Finished parsing at zoom level 11." {
		t.Fatalf("log = %q", p.Log)
	}
	if got.Version != 0 {
		t.Fatalf("served version %d before any publish", got.Version)
	}

	// A new parse resets the status and gets a higher version.
	v2, err := s.BeginParse(ctx, l.ID)
	if err != nil || v2 != 2 {
		t.Fatalf("second BeginParse = %d, %v; want 2", v2, err)
	}
	got, _ = s.LayerByID(ctx, l.ID)
	if p := got.Parse; p.Status != catalog.Unparsed || len(p.Log) != 0 || len(p.FinishedZooms) != 0 || p.TilesDone != 0 || p.TilesTotal != 0 || p.Version != 2 {
		t.Fatalf("after BeginParse: %+v", p)
	}
}

func TestParseLogLimit(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "chatty", "c.tif")
	for i := range pgstore.MaxLogLines + 5 {
		if err := s.AppendLog(ctx, l.ID, fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	long := make([]byte, pgstore.MaxLogLine+100)
	for i := range long {
		long[i] = 'a'
	}
	if err := s.SetStatus(ctx, l.ID, catalog.Failed, string(long)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.LayerByID(ctx, l.ID)
	lg := got.Parse.Log
	if len(lg) != pgstore.MaxLogLines {
		t.Fatalf("%d log lines kept, want %d", len(lg), pgstore.MaxLogLines)
	}
	if lg[0][22:] != "line 6" || lg[len(lg)-2][22:] != fmt.Sprintf("line %d", pgstore.MaxLogLines+4) {
		t.Fatalf("kept lines %q … %q", lg[0], lg[len(lg)-2])
	}
	if last := lg[len(lg)-1]; len(last) > 22+pgstore.MaxLogLine+len("…") {
		t.Fatalf("long line kept at %d bytes", len(last))
	}
}

func TestParseErrors(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "p", "p.tif")
	const missing = 909090
	for _, tc := range []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"begin missing", func() error { _, err := s.BeginParse(ctx, missing); return err }, catalog.ErrNotFound},
		{"status missing", func() error { return s.SetStatus(ctx, missing, catalog.Failed, "x") }, catalog.ErrNotFound},
		{"log missing", func() error { return s.AppendLog(ctx, missing, "x") }, catalog.ErrNotFound},
		{"progress missing", func() error { return s.SetProgress(ctx, missing, 1, 2) }, catalog.ErrNotFound},
		{"add progress missing", func() error { return s.AddProgress(ctx, missing, 1) }, catalog.ErrNotFound},
		{"finish zoom missing", func() error { return s.FinishZoom(ctx, missing, 1) }, catalog.ErrNotFound},
		{"unknown status", func() error { return s.SetStatus(ctx, l.ID, catalog.Status(9), "") }, nil},
		{"negative progress", func() error { return s.SetProgress(ctx, l.ID, -1, 2) }, nil},
		{"zoom out of range", func() error { return s.FinishZoom(ctx, l.ID, 31) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
