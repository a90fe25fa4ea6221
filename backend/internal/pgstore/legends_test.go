package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/colormap"
)

func TestLegends(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	lc := colormap.Legend{Title: "Landcover", Description: "classes", Entries: []colormap.LegendEntry{
		{Name: "Water", Description: "open water", Expression: "10", Color: "#0000ff", Code: "10"},
		{Name: "Forest", Expression: "2", Color: "#00ff00", Code: "2"},
		{Name: "Steep", Expression: "(x > 30) & (x <= 90)", Color: "#ff000080", Code: "3"},
	}}
	if err := s.CreateLegend(ctx, &lc); err != nil {
		t.Fatal(err)
	}
	if lc.ID <= 0 {
		t.Fatalf("ID %d", lc.ID)
	}
	got, err := s.Legend(ctx, lc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lc) {
		t.Fatalf("Legend = %+v\nwant %+v", got, lc)
	}
	for _, title := range []string{"Landcover", "landCOVER"} {
		if got, err := s.LegendByTitle(ctx, title); err != nil || got.ID != lc.ID {
			t.Fatalf("LegendByTitle(%q) = %d, %v", title, got.ID, err)
		}
	}
	if _, err := s.LegendByTitle(ctx, "Land"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown title: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Legend(ctx, 5555); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}

	dup := colormap.Legend{Title: "LANDCOVER"}
	if err := s.CreateLegend(ctx, &dup); !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("title taken in another case: err = %v, want ErrConflict", err)
	}

	// A second legend reusing a semantics name shares it; an empty description keeps the
	// semantics' description.
	other := colormap.Legend{Title: "Water only", Entries: []colormap.LegendEntry{{Name: "Water", Expression: "1", Color: "00f", Code: "1"}}}
	if err := s.CreateLegend(ctx, &other); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Legend(ctx, other.ID); got.Entries[0].Description != "open water" {
		t.Fatalf("shared semantics description = %q", got.Entries[0].Description)
	}
	var nsem int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM legend_semantics`).Scan(&nsem); err != nil || nsem != 3 {
		t.Fatalf("%d semantics, want 3 (%v)", nsem, err)
	}

	lc.Title = "Land cover 2020"
	lc.Entries = lc.Entries[1:]
	if err := s.UpdateLegend(ctx, &lc); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Legend(ctx, lc.ID); !reflect.DeepEqual(got, lc) {
		t.Fatalf("after update = %+v\nwant %+v", got, lc)
	}
	all, err := s.Legends(ctx)
	if err != nil || len(all) != 2 || all[0].ID != lc.ID || len(all[0].Entries) != 2 || all[1].ID != other.ID || len(all[1].Entries) != 1 {
		t.Fatalf("Legends = %+v, %v", all, err)
	}
	missing := colormap.Legend{ID: 4242, Title: "nope"}
	if err := s.UpdateLegend(ctx, &missing); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("update of a missing legend: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteLegend(ctx, lc.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLegend(ctx, lc.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("second delete: err = %v, want ErrNotFound", err)
	}
	var nent int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM legend_entries WHERE legend_id = $1`, lc.ID).Scan(&nent); err != nil || nent != 0 {
		t.Fatalf("%d entries left after delete", nent)
	}
}

func TestCreateLegendRejects(t *testing.T) {
	s := dbtest.New(t)
	e := func(name, expr, color string) colormap.LegendEntry {
		return colormap.LegendEntry{Name: name, Expression: expr, Color: color, Code: "1"}
	}
	for _, tc := range []struct {
		name string
		l    colormap.Legend
		want string
	}{
		{"no title", colormap.Legend{Title: "  "}, "title is empty"},
		{"long title", colormap.Legend{Title: strings.Repeat("t", 300)}, "at most 256"},
		{"bad colour", colormap.Legend{Title: "c", Entries: []colormap.LegendEntry{e("a", "1", "#zzz")}}, "entry 1"},
		{"no entry name", colormap.Legend{Title: "n", Entries: []colormap.LegendEntry{e("", "1", "#fff")}}, "entry 1 has no name"},
		{"empty expression", colormap.Legend{Title: "x", Entries: []colormap.LegendEntry{e("a", "1", "#fff"), e("b", "", "#fff")}}, "entry 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			err := s.CreateLegend(context.Background(), &l)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if ls, err := s.Legends(context.Background()); err != nil || len(ls) != 0 {
		t.Fatalf("rejected legends stored: %v, %v", ls, err)
	}
}

func TestSessionColormaps(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	// Key order matters (later keys win) and must survive: "b" before "a".
	cm := json.RawMessage(`{"b": "#ff0000",  "a": "#00ff00", "(x > 1)": [1, 2, 3]}`)
	if err := s.SetSessionColormap(ctx, "sess-1", "mine", cm); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionColormap(ctx, "sess-1", "mine")
	if err != nil || string(got) != string(cm) {
		t.Fatalf("SessionColormap = %s, %v; want %s", got, err, cm)
	}
	if _, err := s.SessionColormap(ctx, "sess-2", "mine"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("another session's key: err = %v, want ErrNotFound", err)
	}
	repl := json.RawMessage(`{"continuous": true, "from": "#000", "to": "#fff"}`)
	if err := s.SetSessionColormap(ctx, "sess-1", "mine", repl); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.SessionColormap(ctx, "sess-1", "mine"); string(got) != string(repl) {
		t.Fatalf("after replace = %s", got)
	}
	for _, tc := range []struct {
		name, session, key string
		cm                 json.RawMessage
	}{
		{"invalid JSON", "s", "k", json.RawMessage(`{"a": `)},
		{"too large", "s", "k", json.RawMessage(`"` + strings.Repeat("x", pgstore.MaxSessionColormap) + `"`)},
		{"empty key", "s", "", json.RawMessage(`{}`)},
		{"empty session", "", "k", json.RawMessage(`{}`)},
		{"long key", "s", strings.Repeat("k", 300), json.RawMessage(`{}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.SetSessionColormap(ctx, tc.session, tc.key, tc.cm); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestLegendByRef: a reference is an id, else a title; a title of digits is found when no
// legend has that id, and an id wins over a title that spells it.
func TestLegendByRef(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	entries := []colormap.LegendEntry{{Name: "one", Expression: "1", Color: "#ff0000", Code: "1"}}
	a := colormap.Legend{Title: "Classes", Entries: entries}
	if err := s.CreateLegend(ctx, &a); err != nil {
		t.Fatal(err)
	}
	digits := colormap.Legend{Title: "987654", Entries: entries}
	if err := s.CreateLegend(ctx, &digits); err != nil {
		t.Fatal(err)
	}
	// A legend titled with a's id: the id names a, not it.
	spellsID := colormap.Legend{Title: strconv.FormatInt(a.ID, 10), Entries: entries}
	if err := s.CreateLegend(ctx, &spellsID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want int64
	}{
		{strconv.FormatInt(a.ID, 10), a.ID},
		{"cLASSES", a.ID},
		{"987654", digits.ID},
		{strconv.FormatInt(spellsID.ID, 10), spellsID.ID},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			if got, err := s.LegendByRef(ctx, tc.ref); err != nil || got.ID != tc.want {
				t.Fatalf("LegendByRef(%q) = %d, %v; want %d", tc.ref, got.ID, err, tc.want)
			}
		})
	}
	for _, ref := range []string{"999999999", "Nope", ""} {
		if _, err := s.LegendByRef(ctx, ref); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("LegendByRef(%q): %v; want ErrNotFound", ref, err)
		}
	}
}
