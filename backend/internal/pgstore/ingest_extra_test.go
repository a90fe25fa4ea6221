package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

// TestFinishZooms records several zooms (some twice, some already finished) and their log
// lines in one call, and checks the log keeps only the latest MaxLogLines lines.
func TestFinishZooms(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "finishzooms", "f.tif")
	if err := s.AppendLog(ctx, l.ID, "Started parsing raster."); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishZoom(ctx, l.ID, 11); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishZooms(ctx, l.ID, []int{5, 11, 0, 5}, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Parse.FinishedZooms, []int{0, 5, 11}) {
		t.Fatalf("finished zooms %v, want [0 5 11]", got.Parse.FinishedZooms)
	}
	log := got.Parse.Log
	if len(log) != 3 || log[0][22:] != "Started parsing raster." || log[1][22:] != "a" || log[2][22:] != "b" || !stamped.MatchString(log[2]) {
		t.Fatalf("log = %q", log)
	}

	many := make([]string, pgstore.MaxLogLines)
	for i := range many {
		many[i] = fmt.Sprint("line ", i)
	}
	if err := s.FinishZooms(ctx, l.ID, nil, many); err != nil {
		t.Fatal(err)
	}
	got, err = s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	log = got.Parse.Log
	if len(log) != pgstore.MaxLogLines || log[0][22:] != "line 0" || log[len(log)-1][22:] != fmt.Sprint("line ", pgstore.MaxLogLines-1) {
		t.Fatalf("log of %d lines from %q to %q", len(log), log[0], log[len(log)-1])
	}

	if err := s.FinishZooms(ctx, l.ID, []int{31}, nil); err == nil {
		t.Fatal("zoom 31 accepted")
	}
	if err := s.FinishZooms(ctx, l.ID+1000, []int{1}, []string{"x"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("missing layer: err = %v, want ErrNotFound", err)
	}
}
