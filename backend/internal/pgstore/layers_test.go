package pgstore_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/raster"
)

func ptr[T any](v T) *T { return &v }

func TestMigrate(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations known")
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied after Migrate", m.Version, m.Source)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	// Down and up again: the Down sections must work.
	for range st {
		if _, err := s.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown: %v", err)
		}
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('layers', 'tiles')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d tables left after migrating down", n)
	}
	if v, err := s.MigrateDown(ctx); err != nil || v != 0 {
		t.Fatalf("MigrateDown with nothing applied = %d, %v; want 0, nil", v, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after down: %v", err)
	}
	newLayer(t, s, "after-remigrate", "a.tif")
}

func TestLayerCRUD(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()

	l := catalog.NewLayer("elevation", "/data/elevation.tif")
	l.Description = "a DEM"
	if err := s.CreateLayer(ctx, &l); err != nil {
		t.Fatal(err)
	}
	if l.ID <= 0 || l.Create.IsZero() {
		t.Fatalf("CreateLayer set ID %d, Create %v", l.ID, l.Create)
	}
	got, err := s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "elevation" || got.Description != "a DEM" || got.Datatype != catalog.Continuous ||
		!got.NextHigher || !got.BuildPyramid || !got.StoreReprojected || got.SRID != nil || got.NoData != nil ||
		got.MaxZoom != nil || got.LegendID != nil || got.Version != 0 || got.Meta != nil || len(got.Bands) != 0 ||
		got.Parse.Status != catalog.Unparsed || len(got.Parse.Log) != 0 || !got.Create.Equal(l.Create) {
		t.Fatalf("LayerByID after create = %+v", got)
	}

	dup := catalog.NewLayer("elevation", "/other.tif")
	if err := s.CreateLayer(ctx, &dup); !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
	}

	lg := colormap.Legend{Title: "Heights", Entries: []colormap.LegendEntry{{Name: "low", Expression: "1", Color: "#000000", Code: "1"}}}
	if err := s.CreateLegend(ctx, &lg); err != nil {
		t.Fatal(err)
	}
	l.Datatype = catalog.Categorical
	l.SRID, l.NoData, l.MaxZoom = ptr(3086), ptr(-9999.0), ptr(12)
	l.NextHigher, l.BuildPyramid, l.StoreReprojected = false, false, false
	l.LegendID = &lg.ID
	l.Source = "https://example.com/elevation.tif"
	l.ReprojectedPath = "/work/elevation-3857.tif"
	if err := s.UpdateLayer(ctx, &l); err != nil {
		t.Fatal(err)
	}
	got, err = s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Datatype != catalog.Categorical || *got.SRID != 3086 || *got.NoData != -9999 || *got.MaxZoom != 12 ||
		got.NextHigher || got.BuildPyramid || got.StoreReprojected || *got.LegendID != lg.ID ||
		got.Source != l.Source || got.ReprojectedPath != l.ReprojectedPath {
		t.Fatalf("LayerByID after update = %+v", got)
	}

	// Deleting the legend unsets it on the layer.
	if err := s.DeleteLegend(ctx, lg.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LayerByID(ctx, l.ID); got.LegendID != nil {
		t.Fatalf("legend id %d kept after the legend was deleted", *got.LegendID)
	}
	l.LegendID = ptr(int64(987654))
	if err := s.UpdateLayer(ctx, &l); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("update with a missing legend: err = %v, want ErrNotFound", err)
	}
	l.LegendID = nil

	other := newLayer(t, s, "other", "o.tif")
	other.Name = "elevation"
	if err := s.UpdateLayer(ctx, &other); !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("rename onto a taken name: err = %v, want ErrConflict", err)
	}
	missing := catalog.NewLayer("ghost", "")
	missing.ID = 424242
	if err := s.UpdateLayer(ctx, &missing); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("update of a missing layer: err = %v, want ErrNotFound", err)
	}

	ls, err := s.Layers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].ID != l.ID || ls[1].ID != other.ID {
		t.Fatalf("Layers = %d layers, want elevation and other", len(ls))
	}

	if err := s.DeleteLayer(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LayerByID(ctx, l.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("LayerByID after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteLayer(ctx, l.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("second DeleteLayer: err = %v, want ErrNotFound", err)
	}
}

func TestCreateLayerRejects(t *testing.T) {
	s := dbtest.New(t)
	for _, tc := range []struct {
		name string
		edit func(*catalog.Layer)
		want string
	}{
		{"empty name", func(l *catalog.Layer) { l.Name = " " }, "name cannot be empty"},
		{"long name", func(l *catalog.Layer) { l.Name = strings.Repeat("n", 257) }, "at most 256"},
		{"a / in the name", func(l *catalog.Layer) { l.Name = "a/b" }, "tile URLs cannot carry"},
		{"long source", func(l *catalog.Layer) { l.Source = strings.Repeat("s", 5000) }, "source is 5000 bytes"},
		{"bad datatype", func(l *catalog.Layer) { l.Datatype = "continuous" }, "unknown datatype"},
		{"max zoom", func(l *catalog.Layer) { l.MaxZoom = ptr(31) }, "max zoom 31"},
		{"srid", func(l *catalog.Layer) { l.SRID = ptr(-4) }, "srid -4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := catalog.NewLayer("x", "x.tif")
			tc.edit(&l)
			err := s.CreateLayer(context.Background(), &l)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if l.ID != 0 {
				t.Fatalf("ID set to %d on failure", l.ID)
			}
		})
	}
}

func TestLayerRef(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	a := newLayer(t, s, "alpha", "/data/rasters/landcover_2020.tif")
	b := newLayer(t, s, "beta", "https://example.com/files/landcover_2021.tif?sig=abc")
	c := newLayer(t, s, "gamma", "s3://bucket/dir/elevation.tif")
	d := newLayer(t, s, "999999", "numbered.tif")
	scene := newLayer(t, s, "digits1", "scene_7777.tif")
	newLayer(t, s, "digits2", "landcover_7777.tif")
	// The reference limit: a name of catalog.MaxRefLen bytes resolves, and so does a fragment of
	// that length of a longer file name; one byte more is refused (the store took 1024 bytes
	// where the server's layers/{ref} took 256, so the fragment resolved only on some routes).
	longName := newLayer(t, s, strings.Repeat("n", catalog.MaxRefLen), "long_name.tif")
	longFile := newLayer(t, s, "long file", "https://example.com/"+strings.Repeat("f", 2*catalog.MaxRefLen)+".tif")

	for _, tc := range []struct {
		ref  string
		want int64
		err  error
	}{
		{ref: itoa(a.ID), want: a.ID},
		{ref: "beta", want: b.ID},
		{ref: "elevation", want: c.ID},
		{ref: "landcover_2021", want: b.ID},
		{ref: "999999", want: d.ID},             // not an id, but a name
		{ref: "777", err: catalog.ErrNotFound},  // a number is an id or a name, never a fragment
		{ref: "7777", err: catalog.ErrNotFound}, // (django-raster reads integers as ids)
		{ref: "scene_7", want: scene.ID},        // not only digits: a fragment
		{ref: "landcover", err: catalog.ErrAmbiguous},
		{ref: "rasters", err: catalog.ErrNotFound}, // a directory, not the file name
		{ref: "sig", err: catalog.ErrNotFound},     // the query string is not part of the name
		{ref: "ALPHA", err: catalog.ErrNotFound},   // names are exact
		{ref: "", err: catalog.ErrNotFound},
		{ref: "12345678901234567890", err: catalog.ErrNotFound},
		{ref: strings.Repeat("x", 2000), err: catalog.ErrNotFound},
		{ref: longName.Name, want: longName.ID},
		{ref: strings.Repeat("f", catalog.MaxRefLen), want: longFile.ID},
		{ref: strings.Repeat("f", catalog.MaxRefLen+1), err: catalog.ErrNotFound},
	} {
		t.Run(tc.ref[:min(len(tc.ref), 20)], func(t *testing.T) {
			l, err := s.Layer(ctx, tc.ref)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Layer(%q) err = %v, want %v", tc.ref, err, tc.err)
				}
				return
			}
			if err != nil || l.ID != tc.want {
				t.Fatalf("Layer(%q) = %d, %v; want %d", tc.ref, l.ID, err, tc.want)
			}
		})
	}
	// LayerByName (tessera ingest --name) matches names only.
	for ref, want := range map[string]int64{"alpha": a.ID, "999999": d.ID, "landcover": 0, itoa(b.ID): 0, "": 0} {
		l, err := s.LayerByName(ctx, ref)
		if want == 0 && !errors.Is(err, catalog.ErrNotFound) || want != 0 && (err != nil || l.ID != want) {
			t.Errorf("LayerByName(%q) = %d, %v; want %d", ref, l.ID, err, want)
		}
	}
	_, err := s.Layer(ctx, "landcover")
	for _, name := range []string{`"alpha"`, `"beta"`, "landcover_2020.tif", "landcover_2021.tif"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("ambiguity error %q does not name %s", err, name)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestMetadata(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "meta", "m.tif")
	m := catalog.Metadata{
		OriginX: 500000, OriginY: 4200000, ScaleX: 30, ScaleY: -30, SkewX: 0.5, SkewY: -0.25,
		Width: 8000, Height: 6000, BandCount: 2, SRID: 32633, WKT: `PROJCS["WGS 84 / UTM zone 33N"]`, MaxZoom: 12,
		Extent: [4]float64{1.1e6, 4.6e6, 1.4e6, 4.9e6},
	}
	hist := make([]int64, 100)
	bins := make([]float64, 101)
	for i := range hist {
		hist[i] = int64(i * 3)
	}
	for i := range bins {
		bins[i] = float64(i) / 10
	}
	bands := []catalog.BandMeta{
		{Index: 0, Type: raster.Float32, HasNoData: true, NoData: math.NaN(), Count: 1234, Min: -1.5, Max: 10, Mean: 3.25, Std: 1.75, Hist: hist, HistBins: bins},
		{Index: 1, Type: raster.Byte, Count: 0},
	}
	publish := func(layerID int64, m catalog.Metadata, bands []catalog.BandMeta) error {
		v, err := s.BeginParse(ctx, layerID)
		if err != nil {
			v = 1 // a missing layer: the publish itself must say so
		}
		return s.PublishWithMetadata(ctx, layerID, v, m, bands)
	}
	if err := publish(l.ID, m, bands); err != nil {
		t.Fatal(err)
	}
	got, err := s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta == nil || *got.Meta != m {
		t.Fatalf("Meta = %+v, want %+v", got.Meta, m)
	}
	if len(got.Bands) != 2 {
		t.Fatalf("%d bands", len(got.Bands))
	}
	b0 := got.Bands[0]
	if b0.Index != 0 || b0.Type != raster.Float32 || !b0.HasNoData || !math.IsNaN(b0.NoData) || b0.Count != 1234 ||
		b0.Min != -1.5 || b0.Max != 10 || b0.Mean != 3.25 || b0.Std != 1.75 || !reflect.DeepEqual(b0.Hist, hist) || !reflect.DeepEqual(b0.HistBins, bins) {
		t.Fatalf("band 0 = %+v", b0)
	}
	if b1 := got.Bands[1]; b1.Index != 1 || b1.Type != raster.Byte || b1.HasNoData || b1.Count != 0 || len(b1.Hist) != 0 {
		t.Fatalf("band 1 = %+v", b1)
	}

	// Replacing drops the old bands.
	m.BandCount = 1
	if err := publish(l.ID, m, bands[1:]); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LayerByID(ctx, l.ID); len(got.Bands) != 1 || got.Bands[0].Type != raster.Byte || got.Meta.BandCount != 1 {
		t.Fatalf("after replace: meta %+v, bands %+v", got.Meta, got.Bands)
	}
	// Layers fills bands too.
	ls, err := s.Layers(ctx)
	if err != nil || len(ls) != 1 || len(ls[0].Bands) != 1 || ls[0].Meta == nil {
		t.Fatalf("Layers = %+v, %v", ls, err)
	}
	if err := publish(777777, m, nil); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("metadata of a missing layer: err = %v, want ErrNotFound", err)
	}
	m.MaxZoom = 40
	if err := publish(l.ID, m, nil); err == nil {
		t.Fatal("max zoom 40 accepted")
	}
}

// TestMigrateConcurrently starts several processes' worth of Migrate at once on an empty
// database, as serve, ingest and workers do at start-up: all succeed, each migration once.
func TestMigrateConcurrently(t *testing.T) {
	s, dsn := dbtest.NewWithDSN(t)
	ctx := context.Background()
	for {
		v, err := s.MigrateDown(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v == 0 {
			break
		}
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			other, err := pgstore.Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer other.Close()
			errs <- other.Migrate(ctx)
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Fatalf("migration %d not applied", m.Version)
		}
	}
	newLayer(t, s, "after", "a.tif")
}
