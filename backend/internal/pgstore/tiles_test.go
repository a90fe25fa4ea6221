package pgstore_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// tileBands returns two bands for tile t whose values depend on t and seed, so different
// tiles and re-writes hold different pixels.
func tileBands(t tile.ZXY, size int, seed float64) []*raster.Band {
	base := float64(t.Z*1000+t.X*10+t.Y) + seed
	return []*raster.Band{
		band(raster.Float32, size, true, -9999, func(i int) float64 {
			if i%7 == 0 {
				return -9999
			}
			return base + float64(i)/4
		}),
		band(raster.UInt16, size, false, 0, func(i int) float64 { return float64((i + int(seed)) % 65536) }),
	}
}

func TestWriteAndReadTiles(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "tiles", "t.tif")
	v, err := s.BeginParse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []tile.ZXY{{Z: 0, X: 0, Y: 0}, {Z: 1, X: 1, Y: 0}, {Z: 1, X: 0, Y: 1}, {Z: 5, X: 17, Y: 11}}
	batch := make([]pgstore.Tile, len(addrs))
	for i, a := range addrs {
		batch[i] = pgstore.Tile{ZXY: a, Bands: tileBands(a, 64, 0)}
	}
	if err := s.WriteTiles(ctx, l.ID, v, batch); err != nil {
		t.Fatal(err)
	}
	for _, tl := range batch {
		got, err := s.Tile(ctx, l.ID, v, tl.ZXY)
		if err != nil {
			t.Fatalf("Tile(%v): %v", tl.ZXY, err)
		}
		sameBands(t, got, tl.Bands)
	}
	counts, err := s.TileCount(ctx, l.ID, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 2 || counts[5] != 1 {
		t.Fatalf("TileCount = %v", counts)
	}

	// Idempotent: the same addresses again (a retried task) replace, never duplicate; within
	// one batch the last tile of an address wins.
	again := []pgstore.Tile{
		{ZXY: addrs[1], Bands: tileBands(addrs[1], 64, 1)},
		{ZXY: addrs[1], Bands: tileBands(addrs[1], 64, 2)},
		{ZXY: addrs[3], Bands: tileBands(addrs[3], 64, 3)},
	}
	if err := s.WriteTiles(ctx, l.ID, v, again); err != nil {
		t.Fatal(err)
	}
	if counts, _ = s.TileCount(ctx, l.ID, v); counts[1] != 2 || counts[5] != 1 {
		t.Fatalf("TileCount after re-write = %v", counts)
	}
	got, err := s.Tile(ctx, l.ID, v, addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	sameBands(t, got, again[1].Bands)

	if _, err := s.Tile(ctx, l.ID, v, tile.ZXY{Z: 2, X: 0, Y: 0}); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("missing tile: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Tile(ctx, l.ID, v+1, addrs[0]); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("tile of another version: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Tile(ctx, l.ID, v, tile.ZXY{Z: 1, X: 2, Y: 0}); err == nil || errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("out-of-grid address: err = %v, want a range error", err)
	}
	wkb, err := s.TileWKB(ctx, l.ID, v, addrs[0])
	if err != nil || len(wkb) < 61 || wkb[0] != 1 {
		t.Fatalf("TileWKB = %d bytes, %v", len(wkb), err)
	}

	// Deleting the layer deletes its tiles.
	if err := s.DeleteLayer(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM tiles`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tiles left after DeleteLayer (%v)", n, err)
	}
}

func TestWriteTilesRejects(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "bad", "b.tif")
	v, err := s.BeginParse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	ok := tileBands(tile.ZXY{}, 16, 0)
	oddSize := []*raster.Band{band(raster.Byte, 16, false, 0, func(int) float64 { return 1 }), band(raster.Byte, 8, false, 0, func(int) float64 { return 1 })}
	byteND := []*raster.Band{band(raster.Byte, 16, true, -9999, func(int) float64 { return 1 })}
	short := []*raster.Band{{Type: raster.Byte, Width: 16, Height: 16, Data: make([]byte, 10)}}
	// Bands claiming more bytes than the limit (sharing one backing array: the check comes
	// before any encoding).
	big := &raster.Band{Type: raster.Float64, Width: 4096, Height: 4096, Data: make([]byte, 4096*4096*8)}
	hugeBatch := make([]pgstore.Tile, 9)
	for i := range hugeBatch {
		hugeBatch[i] = pgstore.Tile{ZXY: tile.ZXY{Z: 4, X: i}, Bands: []*raster.Band{big}}
	}
	for _, tc := range []struct {
		name    string
		layer   int64
		version int64
		tiles   []pgstore.Tile
		want    error
	}{
		{"version 0", l.ID, 0, []pgstore.Tile{{Bands: ok}}, nil},
		{"stale version", l.ID, v + 1, []pgstore.Tile{{Bands: ok}}, pgstore.ErrStaleVersion},
		{"missing layer", 9999, v, []pgstore.Tile{{Bands: ok}}, catalog.ErrNotFound},
		{"no bands", l.ID, v, []pgstore.Tile{{}}, nil},
		{"bad address", l.ID, v, []pgstore.Tile{{ZXY: tile.ZXY{Z: 1, X: 5}, Bands: ok}}, tile.ErrOutOfRange},
		{"bands of different sizes", l.ID, v, []pgstore.Tile{{Bands: oddSize}}, nil},
		{"nodata outside the type", l.ID, v, []pgstore.Tile{{Bands: byteND}}, nil},
		{"short data", l.ID, v, []pgstore.Tile{{Bands: short}}, nil},
		{"batch too large", l.ID, v, make([]pgstore.Tile, pgstore.MaxBatch+1), nil},
		{"batch too many bytes", l.ID, v, hugeBatch, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.WriteTiles(ctx, tc.layer, tc.version, tc.tiles)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if counts, err := s.TileCount(ctx, l.ID, v); err != nil || len(counts) != 0 {
		t.Fatalf("rejected batches left tiles: %v, %v", counts, err)
	}
}

// TestPublish follows a layer through a parse, a re-parse that fails and one that succeeds:
// the served tiles change only when a parse is published.
func TestPublish(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "pub", "p.tif")
	a, b := tile.ZXY{Z: 2, X: 1, Y: 1}, tile.ZXY{Z: 2, X: 2, Y: 1}
	write := func(v int64, seed float64, zs ...tile.ZXY) {
		t.Helper()
		var batch []pgstore.Tile
		for _, z := range zs {
			batch = append(batch, pgstore.Tile{ZXY: z, Bands: tileBands(z, 32, seed)})
		}
		if err := s.WriteTiles(ctx, l.ID, v, batch); err != nil {
			t.Fatal(err)
		}
	}
	served := func() int64 {
		t.Helper()
		got, err := s.LayerByID(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Version
	}
	countAll := func() int {
		var n int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM tiles WHERE layer_id = $1`, l.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	v1, _ := s.BeginParse(ctx, l.ID)
	write(v1, 1, a, b)
	if served() != 0 {
		t.Fatal("a version is served before Publish")
	}
	if err := s.Publish(ctx, l.ID, v1); err != nil {
		t.Fatal(err)
	}
	if served() != v1 {
		t.Fatalf("served %d, want %d", served(), v1)
	}

	// A re-parse that fails half-way: v1 keeps serving, untouched.
	v2, _ := s.BeginParse(ctx, l.ID)
	write(v2, 2, a)
	if served() != v1 {
		t.Fatalf("served %d during a re-parse, want %d", served(), v1)
	}
	got, err := s.Tile(ctx, l.ID, v1, b)
	if err != nil {
		t.Fatal(err)
	}
	sameBands(t, got, tileBands(b, 32, 1))

	// The next parse drops v2's partial tiles (never published) but not v1's.
	v3, _ := s.BeginParse(ctx, l.ID)
	if v3 <= v2 {
		t.Fatalf("BeginParse gave %d after %d", v3, v2)
	}
	if n := countAll(); n != 2 {
		t.Fatalf("%d tiles after a new parse began, want v1's 2", n)
	}
	// A task of the abandoned parse can neither write nor publish.
	if err := s.WriteTiles(ctx, l.ID, v2, []pgstore.Tile{{ZXY: b, Bands: tileBands(b, 32, 2)}}); !errors.Is(err, pgstore.ErrStaleVersion) {
		t.Fatalf("write to an abandoned version: err = %v, want ErrStaleVersion", err)
	}
	if err := s.Publish(ctx, l.ID, v2); !errors.Is(err, pgstore.ErrStaleVersion) {
		t.Fatalf("publish of an abandoned version: err = %v, want ErrStaleVersion", err)
	}

	write(v3, 3, a, b)
	if err := s.Publish(ctx, l.ID, v3); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, l.ID, v3); err != nil {
		t.Fatalf("publishing again: %v", err)
	}
	if served() != v3 || countAll() != 2 {
		t.Fatalf("after publish: served %d, %d tiles; want %d and 2", served(), countAll(), v3)
	}
	if _, err := s.Tile(ctx, l.ID, v1, a); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("v1 tile after v3 was published: err = %v, want ErrNotFound", err)
	}
	got, err = s.Tile(ctx, l.ID, v3, a)
	if err != nil {
		t.Fatal(err)
	}
	sameBands(t, got, tileBands(a, 32, 3))

	if err := s.Publish(ctx, 123456, 1); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("publish of a missing layer: err = %v, want ErrNotFound", err)
	}
}

// TestPublishWithMetadata: a parse's metadata reaches the catalog with its tiles, in the same
// transaction; a parse that is overtaken before its publish leaves the served version's metadata.
func TestPublishWithMetadata(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "pubmeta", "pm.tif")
	meta := func(maxZoom int, nodata float64) (catalog.Metadata, []catalog.BandMeta) {
		return catalog.Metadata{Width: 10, Height: 10, BandCount: 1, SRID: 3857, MaxZoom: maxZoom},
			[]catalog.BandMeta{{Type: raster.Float32, HasNoData: true, NoData: nodata}}
	}
	check := func(wantVersion int64, wantZoom int, wantNoData float64) {
		t.Helper()
		got, err := s.LayerByID(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != wantVersion || got.Meta == nil || got.Meta.MaxZoom != wantZoom ||
			len(got.Bands) != 1 || got.Bands[0].NoData != wantNoData {
			t.Fatalf("served version %d, metadata %+v, bands %+v; want version %d, max zoom %d, nodata %v",
				got.Version, got.Meta, got.Bands, wantVersion, wantZoom, wantNoData)
		}
	}
	v1, _ := s.BeginParse(ctx, l.ID)
	m, b := meta(3, -1)
	if err := s.PublishWithMetadata(ctx, l.ID, v1, m, b); err != nil {
		t.Fatal(err)
	}
	check(v1, 3, -1)

	// v2 is overtaken by v3 before it publishes: its metadata never shows.
	v2, _ := s.BeginParse(ctx, l.ID)
	v3, _ := s.BeginParse(ctx, l.ID)
	m, b = meta(5, -2)
	if err := s.PublishWithMetadata(ctx, l.ID, v2, m, b); !errors.Is(err, pgstore.ErrStaleVersion) {
		t.Fatalf("publish of an overtaken parse: err = %v, want ErrStaleVersion", err)
	}
	check(v1, 3, -1)

	// Metadata that cannot be stored fails the publish, and nothing changes.
	m, b = meta(31, -3)
	if err := s.PublishWithMetadata(ctx, l.ID, v3, m, b); err == nil {
		t.Fatal("max zoom 31 published")
	}
	check(v1, 3, -1)
	m, b = meta(6, -3)
	if err := s.PublishWithMetadata(ctx, l.ID, v3, m, b); err != nil {
		t.Fatal(err)
	}
	check(v3, 6, -3)
}

func TestNearestTile(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "near", "n.tif")
	v, _ := s.BeginParse(ctx, l.ID)
	deep := tile.ZXY{Z: 9, X: 300, Y: 200}
	z3, z6 := deep.Ancestor(3), deep.Ancestor(6)
	other6 := tile.ZXY{Z: 6, X: z6.X + 1, Y: z6.Y} // a sibling, not an ancestor
	var batch []pgstore.Tile
	for _, a := range []tile.ZXY{z3, z6, other6} {
		batch = append(batch, pgstore.Tile{ZXY: a, Bands: tileBands(a, 16, 0)})
	}
	if err := s.WriteTiles(ctx, l.ID, v, batch); err != nil {
		t.Fatal(err)
	}
	// A z8 tile under z3 but under neither stored z6 tile: its z6 ancestor differs from z6
	// in both x and y.
	far6 := tile.ZXY{Z: 6, X: z3.X*8 + (z6.X-z3.X*8+4)%8, Y: z3.Y*8 + (z6.Y-z3.Y*8+4)%8}
	farOnly := tile.ZXY{Z: 8, X: far6.X*4 + 1, Y: far6.Y*4 + 2}
	if farOnly.Ancestor(3) != z3 || farOnly.Ancestor(6) == z6 || farOnly.Ancestor(6) == other6 {
		t.Fatalf("test setup: %v is not under z3 only", farOnly)
	}
	for _, tc := range []struct {
		name string
		in   tile.ZXY
		want tile.ZXY
		err  error
	}{
		{"itself", z6, z6, nil},
		{"nearest ancestor", deep, z6, nil},
		{"child of the z6 tile", tile.ZXY{Z: 7, X: z6.X * 2, Y: z6.Y*2 + 1}, z6, nil},
		{"only a far ancestor", farOnly, z3, nil},
		{"no ancestor", tile.ZXY{Z: 4, X: 0, Y: 0}, tile.ZXY{}, catalog.ErrNotFound},
		{"above the stored zooms", tile.ZXY{Z: 2, X: z3.X / 2, Y: z3.Y / 2}, tile.ZXY{}, catalog.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			at, bands, err := s.NearestTile(ctx, l.ID, v, tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || at != want {
				t.Fatalf("NearestTile(%v) = %v, %v; want %v", tc.in, at, err, want)
			}
			sameBands(t, bands, tileBands(want, 16, 0))
		})
	}
}

// TestTilesArePostGISRasters checks that stored tiles answer PostGIS's own raster SQL.
func TestTilesArePostGISRasters(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "sql", "s.tif")
	v, _ := s.BeginParse(ctx, l.ID)
	at := tile.ZXY{Z: 4, X: 8, Y: 5}
	const size = 256
	bands := []*raster.Band{
		band(raster.Float32, size, true, -9999, func(i int) float64 {
			if i < size { // the first row is nodata
				return -9999
			}
			return float64(i%size) + 0.5
		}),
		band(raster.Int16, size, true, -1, func(i int) float64 { return float64(i / size) }),
		band(raster.Byte, size, false, 0, func(i int) float64 { return float64(i % 251) }),
	}
	if err := s.WriteTiles(ctx, l.ID, v, []pgstore.Tile{{ZXY: at, Bands: bands}}); err != nil {
		t.Fatal(err)
	}
	b := at.Bounds()
	px := b.Width() / size
	// The centre of pixel (col 10, row 20).
	x, y := b.MinX+10.5*px, b.MaxY-20.5*px
	var (
		v1, ulx, uly, sx  float64
		v2, v3            int
		srid, w, h, nb    int
		pt1, pt2, pt3     string
		nd1, nd2          float64
		nd3               *float64
		count             int64
		minV, maxV, meanV float64
		rowNoData         *float64
	)
	err := s.Pool().QueryRow(ctx, `
		SELECT ST_Value(rast, 1, ST_SetSRID(ST_MakePoint($6, $7), 3857)),
			ST_Value(rast, 2, ST_SetSRID(ST_MakePoint($6, $7), 3857))::int,
			ST_Value(rast, 3, ST_SetSRID(ST_MakePoint($6, $7), 3857))::int,
			ST_Value(rast, 1, 1, 1),
			ST_UpperLeftX(rast), ST_UpperLeftY(rast), ST_ScaleX(rast), ST_SRID(rast),
			ST_Width(rast), ST_Height(rast), ST_NumBands(rast),
			ST_BandPixelType(rast, 1), ST_BandPixelType(rast, 2), ST_BandPixelType(rast, 3),
			ST_BandNoDataValue(rast, 1), ST_BandNoDataValue(rast, 2), ST_BandNoDataValue(rast, 3),
			(ST_SummaryStats(rast, 1)).count, (ST_SummaryStats(rast, 1)).min,
			(ST_SummaryStats(rast, 1)).max, (ST_SummaryStats(rast, 1)).mean
		FROM tiles WHERE layer_id = $1 AND version = $2 AND z = $3 AND x = $4 AND y = $5`,
		l.ID, v, at.Z, at.X, at.Y, x, y).Scan(&v1, &v2, &v3, &rowNoData, &ulx, &uly, &sx, &srid, &w, &h, &nb,
		&pt1, &pt2, &pt3, &nd1, &nd2, &nd3, &count, &minV, &maxV, &meanV)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != 10.5 || v2 != 20 || v3 != (20*size+10)%251 {
		t.Errorf("ST_Value = %v, %v, %v; want 10.5, 20, %d", v1, v2, v3, (20*size+10)%251)
	}
	if rowNoData != nil {
		t.Errorf("ST_Value of a nodata pixel = %v, want NULL", *rowNoData)
	}
	if ulx != b.MinX || uly != b.MaxY || math.Abs(sx-px) > 1e-9 || srid != 3857 || w != size || h != size || nb != 3 {
		t.Errorf("georeference: ul (%v, %v) scale %v srid %d %d×%d %d bands", ulx, uly, sx, srid, w, h, nb)
	}
	if pt1 != "32BF" || pt2 != "16BSI" || pt3 != "8BUI" || nd1 != -9999 || nd2 != -1 || nd3 != nil {
		t.Errorf("pixel types %s %s %s, nodata %v %v %v", pt1, pt2, pt3, nd1, nd2, nd3)
	}
	// Band 1: size-1 valid rows of 0.5 … 255.5.
	if count != int64(size*(size-1)) || minV != 0.5 || maxV != 255.5 || math.Abs(meanV-128) > 1e-9 {
		t.Errorf("ST_SummaryStats = count %d min %v max %v mean %v", count, minV, maxV, meanV)
	}
}

// TestWriteTilesConcurrent has workers write overlapping batches at once (a task and its
// retry running together): no error, no duplicate, every tile stored.
func TestWriteTilesConcurrent(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "conc", "c.tif")
	v, _ := s.BeginParse(ctx, l.ID)
	const n = 40
	all := make([]pgstore.Tile, n)
	for i := range all {
		z := tile.ZXY{Z: 6, X: i % 8, Y: i / 8}
		all[i] = pgstore.Tile{ZXY: z, Bands: tileBands(z, 16, 0)}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := slices.Clone(all)
			rand.New(rand.NewPCG(uint64(w), 7)).Shuffle(n, func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for k := 0; k < n; k += 10 {
				if err := s.WriteTiles(ctx, l.ID, v, mine[k:k+10]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	counts, err := s.TileCount(ctx, l.ID, v)
	if err != nil || counts[6] != n || len(counts) != 1 {
		t.Fatalf("TileCount = %v, %v; want %d at zoom 6", counts, err, n)
	}
	for _, tl := range all {
		got, err := s.Tile(ctx, l.ID, v, tl.ZXY)
		if err != nil {
			t.Fatal(err)
		}
		sameBands(t, got, tl.Bands)
	}
}

// TestLayerOneSnapshot: a publish committing between the two statements that read a layer
// (its row, then its bands) must not mix the old version with the new version's bands.
func TestLayerOneSnapshot(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	l := newLayer(t, s, "snap", "snap.tif")
	meta := catalog.Metadata{Width: 10, Height: 10, BandCount: 1, SRID: 3857, MaxZoom: 3}
	band := func(nd float64) []catalog.BandMeta {
		return []catalog.BandMeta{{Type: raster.Float32, HasNoData: true, NoData: nd}}
	}
	v1, _ := s.BeginParse(ctx, l.ID)
	if err := s.PublishWithMetadata(ctx, l.ID, v1, meta, band(-1)); err != nil {
		t.Fatal(err)
	}
	v2, _ := s.BeginParse(ctx, l.ID)
	once := false
	restore := pgstore.SetBetweenLayerQueries(func() {
		if once {
			return
		}
		once = true
		if err := s.PublishWithMetadata(ctx, l.ID, v2, meta, band(-2)); err != nil {
			t.Error(err)
		}
	})
	defer restore()
	got, err := s.LayerByID(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !once {
		t.Fatal("the hook did not run")
	}
	if len(got.Bands) != 1 || (got.Version == v1) != (got.Bands[0].NoData == -1) {
		t.Fatalf("version %d with band nodata %v: v%d's bands have nodata -1, v%d's -2", got.Version, got.Bands, v1, v2)
	}
	if got, _ := s.LayerByID(ctx, l.ID); got.Version != v2 || got.Bands[0].NoData != -2 {
		t.Fatalf("after the publish: version %d, bands %+v; want %d with nodata -2", got.Version, got.Bands, v2)
	}
}
