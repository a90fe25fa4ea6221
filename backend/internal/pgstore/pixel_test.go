package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestTilePixelValues reads single pixels of two layers' tiles (nodata included, as stored)
// and compares them with the whole tiles; a missing tile or band is not found. Both ways of
// reading run: slices of the raster (tessera_rast_slice, which scripts/services.sh creates)
// and ST_Value.
func TestTilePixelValues(t *testing.T) {
	s, ctx := sliceStore(t)
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	var lvs []catalog.LayerVersion
	for i, name := range []string{"px1", "px2"} {
		lvs = append(lvs, publishedTile(t, s, name, z, tileBands(z, 32, float64(i))))
	}
	types := []raster.DataType{raster.Float32, raster.UInt16, raster.Byte} // the third band does not exist
	for _, slices := range []bool{true, false} {
		s.SetPixelSlices(slices)
		for _, c := range []struct{ fx, fy float64 }{{0, 0}, {0.5, 0.25}, {0.999, 0.999}, {1, 1}, {-0.5, 3}, {7.0 / 32, 0}} {
			col, row := min(31, max(0, int(c.fx*32))), min(31, max(0, int(c.fy*32)))
			layers := []catalog.LayerVersion{lvs[0], lvs[1], lvs[1], lvs[0]}
			bands := []int{0, 1, 0, 2}
			seeds := []float64{0, 1, 1, 0} // layer px1 was written with seed 0, px2 with 1
			reads := make([]catalog.PixelRead, len(layers))
			for i := range layers {
				reads[i] = catalog.PixelRead{Layer: layers[i], Band: bands[i], Types: types[:bands[i]+1]}
			}
			vals, ok, err := s.TilePixelValues(ctx, reads, z, c.fx, c.fy)
			if err != nil {
				t.Fatal(err)
			}
			for i := range layers {
				whole := tileBands(z, 32, seeds[i])
				if bands[i] >= len(whole) {
					if ok[i] {
						t.Errorf("slices %v, (%v, %v) read %d: band %d found, the tile has %d", slices, c.fx, c.fy, i, bands[i]+1, len(whole))
					}
					continue
				}
				want := whole[bands[i]].At(row*32 + col)
				if !ok[i] || vals[i] != want {
					t.Errorf("slices %v, (%v, %v) read %d (band %d): %v %v, want %v", slices, c.fx, c.fy, i, bands[i], vals[i], ok[i], want)
				}
			}
		}
		r := catalog.PixelRead{Band: 0, Types: types[:1]}
		r0, r1 := r, r
		r0.Layer, r1.Layer = lvs[0], lvs[1]
		vals, ok, err := s.TilePixelValues(ctx, []catalog.PixelRead{r0, r1}, tile.ZXY{Z: 3, X: 2, Y: 6}, 0.5, 0.5)
		if err != nil || ok[0] || ok[1] || vals[0] != 0 {
			t.Fatalf("slices %v: a tile not stored: %v %v %v", slices, vals, ok, err)
		}
		if _, _, err := s.TilePixelValues(ctx, []catalog.PixelRead{{Layer: lvs[0], Band: 1, Types: types[:1]}}, z, 0.5, 0.5); err == nil {
			t.Fatalf("slices %v: band 2 of a layer of one band type accepted", slices)
		}
	}
}

// TestPixelSlicesEveryLayout reads random pixels of tiles of every band type, one to four
// bands and sizes whose bands need padding (5×3 bytes of a Byte band, 7×7 UInt16…), by
// slices and by ST_Value, and the whole tiles (Tile, Tiles, NearestTile) as stored bytes and
// as WKB, and compares them all with the written bands.
func TestPixelSlicesEveryLayout(t *testing.T) {
	s, ctx := sliceStore(t)
	all := []raster.DataType{raster.Byte, raster.Int8, raster.UInt16, raster.Int16, raster.UInt32, raster.Int32, raster.Float32, raster.Float64}
	rng := rand.New(rand.NewPCG(5, 6))
	z := tile.ZXY{Z: 4, X: 3, Y: 9}
	for k, size := range []int{1, 3, 5, 7, 16, 33, 256} {
		nb := 1 + k%4
		types := make([]raster.DataType, nb)
		bands := make([]*raster.Band, nb)
		for j := range bands {
			types[j] = all[rng.IntN(len(all))]
			b := raster.New(types[j], size, size)
			for i := range b.Len() {
				b.Set(i, float64(rng.IntN(120))-(float64(j)*7)+0.5*float64(i%2))
			}
			b.HasNoData, b.NoData = j%2 == 0, 3
			bands[j] = b
		}
		lv := publishedTile(t, s, fmt.Sprintf("layout%d", size), z, bands)
		var layout []string
		for _, ty := range types {
			layout = append(layout, ty.String())
		}
		for _, raw := range []bool{true, false} {
			s.SetPixelSlices(raw)
			one, err := s.Tile(ctx, lv.ID, lv.Version, z)
			if err != nil {
				t.Fatal(err)
			}
			many, err := s.Tiles(ctx, []catalog.LayerVersion{lv}, z)
			if err != nil {
				t.Fatal(err)
			}
			at, near, err := s.NearestTile(ctx, lv.ID, lv.Version, tile.ZXY{Z: z.Z + 2, X: z.X*4 + 1, Y: z.Y*4 + 3})
			if err != nil || at != z {
				t.Fatalf("NearestTile: %v at %v", err, at)
			}
			for name, got := range map[string][]*raster.Band{"Tile": one, "Tiles": many[lv], "NearestTile": near} {
				if len(got) != nb {
					t.Fatalf("%s, raw %v: %d bands, want %d", name, raw, len(got), nb)
				}
				for j, b := range got {
					w := bands[j]
					if b.Type != w.Type || b.Width != size || b.Height != size || b.HasNoData != w.HasNoData || (w.HasNoData && b.NoData != w.NoData) || string(b.Data) != string(w.Data) {
						t.Errorf("%s %d×%d %s, raw %v: band %d differs from the written one", name, size, size, strings.Join(layout, ","), raw, j+1)
					}
				}
			}
		}
		for range 12 {
			fx, fy := rng.Float64(), rng.Float64()
			col, row := int(fx*float64(size)), int(fy*float64(size))
			reads := make([]catalog.PixelRead, nb)
			for j := range reads {
				reads[j] = catalog.PixelRead{Layer: lv, Band: j, Types: types[:j+1]}
			}
			for _, slices := range []bool{true, false} {
				s.SetPixelSlices(slices)
				vals, ok, err := s.TilePixelValues(ctx, reads, z, fx, fy)
				if err != nil {
					t.Fatalf("%d×%d %s: %v", size, size, strings.Join(layout, ","), err)
				}
				for j := range reads {
					if want := bands[j].At(row*size + col); !ok[j] || vals[j] != want {
						t.Errorf("%d×%d %s, slices %v, band %d at (%d, %d): %v %v, want %v", size, size, strings.Join(layout, ","), slices, j+1, col, row, vals[j], ok[j], want)
					}
				}
			}
		}
	}
}

// TestSliceFunctionInServices: scripts/services.sh creates tessera_rast_slice with
// SliceFunctionSQL's text (whitespace aside), so the two do not drift apart.
func TestSliceFunctionInServices(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/services.sh")
	if err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if !strings.Contains(norm(string(b)), norm(pgstore.SliceFunctionSQL)) {
		t.Errorf("scripts/services.sh does not run pgstore.SliceFunctionSQL:\n%s", pgstore.SliceFunctionSQL)
	}
}

// TestProbeErrorIsRetried pins a bug: an error in the probe's second statement (here the
// request's context cancelled between the two) turned tessera_rast_slice off for good, so a
// request cancelled at the server's first read cost every later read the slices.
func TestProbeErrorIsRetried(t *testing.T) {
	s := dbtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	restore := pgstore.SetBeforeProbeWhole(cancel)
	on := s.PixelSlices(ctx)
	restore()
	if on {
		t.Fatal("the probe passed with its context cancelled")
	}
	if !s.PixelSlices(context.Background()) {
		t.Error("after a probe that failed with a cancelled context, the slices stay off")
	}
}

// TestSliceFunctionDropped pins a bug: once the probe had found tessera_rast_slice, a drop of
// the function (a restore without it, a DBA's clean-up) failed every pixel and tile read
// until the server restarted. They now fall back to ST_Value and ST_AsBinary.
func TestSliceFunctionDropped(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	want := tileBands(z, 32, 0)
	lv := publishedTile(t, s, "dropped", z, want)
	reads := []catalog.PixelRead{{Layer: lv, Band: 0, Types: []raster.DataType{want[0].Type}}}
	read := func() {
		t.Helper()
		vals, ok, err := s.TilePixelValues(ctx, reads, z, 0.5, 0.5)
		if err != nil || !ok[0] || vals[0] != want[0].At(16*32+16) {
			t.Errorf("TilePixelValues: %v %v %v, want %v", vals, ok, err, want[0].At(16*32+16))
		}
		if got, err := s.Tile(ctx, lv.ID, lv.Version, z); err != nil {
			t.Errorf("Tile: %v", err)
		} else {
			sameBands(t, got, want)
		}
		if got, err := s.Tiles(ctx, []catalog.LayerVersion{lv}, z); err != nil {
			t.Errorf("Tiles: %v", err)
		} else {
			sameBands(t, got[lv], want)
		}
		if _, got, err := s.NearestTile(ctx, lv.ID, lv.Version, tile.ZXY{Z: 5, X: 8, Y: 20}); err != nil {
			t.Errorf("NearestTile: %v", err)
		} else {
			sameBands(t, got, want)
		}
	}
	if !s.PixelSlices(ctx) {
		t.Fatal("the database has no working tessera_rast_slice: run scripts/services.sh (as root)")
	}
	read()
	// The database's owner owns its public schema, so it may drop what is in it.
	if _, err := s.Pool().Exec(ctx, `DROP FUNCTION tessera_rast_slice(raster, int, int)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pixel", "tile", "tiles", "nearest"} {
		// Each read first, on a store that still believes in the slices.
		s.SetPixelSlices(true)
		t.Run(name, func(t *testing.T) {
			var err error
			switch name {
			case "pixel":
				_, _, err = s.TilePixelValues(ctx, reads, z, 0.5, 0.5)
			case "tile":
				_, err = s.Tile(ctx, lv.ID, lv.Version, z)
			case "tiles":
				_, err = s.Tiles(ctx, []catalog.LayerVersion{lv}, z)
			case "nearest":
				_, _, err = s.NearestTile(ctx, lv.ID, lv.Version, z)
			}
			if err != nil {
				t.Errorf("with tessera_rast_slice dropped: %v", err)
			}
			if s.PixelSlices(ctx) {
				t.Error("the slices are still on")
			}
		})
	}
	read()
}

// TestServicesSliceLoop runs the part of scripts/services.sh that creates tessera_rast_slice
// in every database, with psql replaced by a stub, and pins two bugs of its first version: a
// database name with a space was split into two names, and one with '=' was handed to psql -d
// as a connection string (here one naming another database). A database that does not
// answer (a test's, dropped since the listing) is skipped; the first version stopped the
// script when that happened between its check and its CREATE.
func TestServicesSliceLoop(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/services.sh")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	start := strings.Index(script, "# tessera_rast_slice (pgstore.SliceFunctionSQL")
	end := strings.Index(script, "# Redis on loopback only.")
	if start < 0 || end < start {
		t.Fatal("scripts/services.sh: the tessera_rast_slice part is not where this test looks for it")
	}
	names := []string{"tessera", "my db", "host=evil dbname=tessera", "gone", `it's\`}
	log := t.TempDir() + "/psql.log"
	stub := `set -euo pipefail
psql_admin() {
  local a
  case " $* " in
  *" -d "*)
    [ "$1" = -d ] || { echo "stub: -d is not first: $*" >&2; return 9; }
    printf '%s|%.20s\n' "$2" "$4" >>"$LOG"
    case "$2" in *gone*) return 2 ;; esac
    case "$4" in "SELECT 1 "*) echo 1 ;; SELECT*) echo t ;; esac ;;
  *" -0 "*) for a in "${NAMES[@]}"; do printf '%s\0' "$a"; done ;;
  *) for a in "${NAMES[@]}"; do printf '%s\n' "$a"; done ;;
  esac
}
`
	cmd := exec.Command("bash", "-c", stub+"NAMES=(\"$@\")\n"+script[start:end]+"echo finished\n", "bash")
	cmd.Args = append(cmd.Args, names...)
	cmd.Env = append(os.Environ(), "LOG="+log)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "finished") {
		t.Errorf("the loop stopped (%v):\n%s", err, out)
	}
	b, err = os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		conn, sql, _ := strings.Cut(line, "|")
		if strings.HasPrefix(sql, "CREATE") {
			created[conn] = true
		}
	}
	for _, want := range []string{`dbname='tessera'`, `dbname='my db'`, `dbname='host=evil dbname=tessera'`, `dbname='it\'s\\'`} {
		if !created[want] {
			t.Errorf("no CREATE with connection %s; created with: %v", want, created)
		}
	}
	if len(created) != 4 {
		t.Errorf("created with %v, want the 4 databases that answer", created)
	}
}

// TestPixelAllNoDataBand pins two bugs of the slice reads. A band flagged all nodata
// (ST_SetBandIsNoData, which leaves the pixels as they were) read its stored pixel by slice,
// its nodata value by ST_Value; whole tiles read the stored pixels both ways, where PostGIS
// answers nodata. And a tile whose band types are not the catalog's was read at the wrong
// offset by slice, where ST_Value reads it as it is.
func TestPixelAllNoDataBand(t *testing.T) {
	s, ctx := sliceStore(t)
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	bands := append(tileBands(z, 32, 0), band(raster.Int16, 32, true, -3, func(i int) float64 { return float64(i%50) - 20 }))
	lv := publishedTile(t, s, "allnodata", z, bands)
	if _, err := s.Pool().Exec(ctx, `UPDATE tiles SET rast = ST_SetBandIsNoData(ST_SetBandIsNoData(rast, 1), 3) WHERE layer_id = $1`, lv.ID); err != nil {
		t.Fatal(err)
	}
	types := []raster.DataType{raster.Float32, raster.UInt16, raster.Int16}
	const col, row = 9, 20
	px := row*32 + col
	want := []float64{-9999, bands[1].At(px), -3}
	reads := []catalog.PixelRead{{Layer: lv, Band: 0, Types: types[:1]}, {Layer: lv, Band: 1, Types: types[:2]}, {Layer: lv, Band: 2, Types: types}}
	// Band 2 said to be of Bytes: a catalog that does not match the tile.
	wrong := catalog.PixelRead{Layer: lv, Band: 1, Types: []raster.DataType{raster.Float32, raster.Byte}}
	for _, slices := range []bool{true, false} {
		s.SetPixelSlices(slices)
		vals, ok, err := s.TilePixelValues(ctx, reads, z, (col+0.5)/32, (row+0.5)/32)
		if err != nil {
			t.Fatalf("slices %v: %v", slices, err)
		}
		for i := range reads {
			if !ok[i] || vals[i] != want[i] {
				t.Errorf("slices %v, band %d: %v %v, want %v", slices, i+1, vals[i], ok[i], want[i])
			}
		}
		vals, ok, err = s.TilePixelValues(ctx, []catalog.PixelRead{wrong}, z, (col+0.5)/32, (row+0.5)/32)
		if err != nil || !ok[0] || vals[0] != want[1] {
			t.Errorf("slices %v, band 2 with a catalog type that is not the tile's: %v %v %v, want %v", slices, vals, ok, err, want[1])
		}
		got, err := s.Tile(ctx, lv.ID, lv.Version, z)
		if err != nil {
			t.Fatalf("slices %v: %v", slices, err)
		}
		for i, g := range got {
			for k := range g.Len() {
				w := bands[i].At(k)
				if i != 1 {
					w = want[i]
				}
				if g.At(k) != w {
					t.Errorf("slices %v: Tile's band %d pixel %d: %v, want %v", slices, i+1, k, g.At(k), w)
					break
				}
			}
		}
	}
}

// sliceStore is a new test database's store, failing the test unless its slice reads work:
// scripts/services.sh creates tessera_rast_slice in template1, which the database copies.
func sliceStore(t *testing.T) (*pgstore.Store, context.Context) {
	t.Helper()
	s := dbtest.New(t)
	ctx := context.Background()
	if !s.PixelSlices(ctx) {
		t.Fatal("the database has no working tessera_rast_slice: run scripts/services.sh (as root), which creates it")
	}
	return s, ctx
}

// TestSliceFunctionReprobed: a server that found no tessera_rast_slice (a superuser had not
// created it yet, or it was dropped) looks for it again SliceReprobe later, so the function
// created as migrations/README.md says is used without a restart; before, only a restart did.
func TestSliceFunctionReprobed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	defer pgstore.SetClock(func() time.Time { return now })()

	// The function is in the database, but the store found it missing a while ago.
	s := dbtest.New(t)
	s.SetSliceMissing(now)
	now = now.Add(pgstore.SliceReprobe - time.Second)
	if s.PixelSlices(ctx) {
		t.Fatal("probed again before SliceReprobe had passed")
	}
	now = now.Add(time.Second)
	if !s.PixelSlices(ctx) {
		t.Fatal("SliceReprobe after the function was found missing, a read did not find it")
	}
	if !s.SliceMissingSince().IsZero() {
		t.Errorf("found, but still marked missing since %v", s.SliceMissingSince())
	}

	// Dropped: off at the read that fails, still off (and reads answering) at the next
	// re-probe, which marks it missing again from then.
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	want := tileBands(z, 32, 0)
	lv := publishedTile(t, s, "reprobed", z, want)
	if _, err := s.Pool().Exec(ctx, `DROP FUNCTION tessera_rast_slice(raster, int, int)`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Tile(ctx, lv.ID, lv.Version, z); err != nil {
		t.Fatalf("Tile with the function dropped: %v", err)
	} else {
		sameBands(t, got, want)
	}
	if s.PixelSlices(ctx) || !s.SliceMissingSince().Equal(now) {
		t.Fatalf("after the drop: slices %v, missing since %v, want off since %v", s.PixelSlices(ctx), s.SliceMissingSince(), now)
	}
	now = now.Add(pgstore.SliceReprobe)
	if got, err := s.Tile(ctx, lv.ID, lv.Version, z); err != nil {
		t.Fatalf("Tile at the re-probe: %v", err)
	} else {
		sameBands(t, got, want)
	}
	if s.PixelSlices(ctx) || !s.SliceMissingSince().Equal(now) {
		t.Errorf("after the re-probe: slices %v, missing since %v, want off since %v", s.PixelSlices(ctx), s.SliceMissingSince(), now)
	}
}

// TestSliceReprobeOnce pins a bug: the read that took the re-probe's time turned the slices
// from off to unknown while it probed, so every read arriving meanwhile probed too (each
// read at the minute's turn, on a busy server). Now one read probes and the others read
// without the function until it has decided.
func TestSliceReprobeOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	defer pgstore.SetClock(func() time.Time { return now })()
	s := dbtest.New(t)
	s.SetSliceMissing(now.Add(-pgstore.SliceReprobe))

	var probes atomic.Int32
	release := make(chan struct{})
	defer pgstore.SetBeforeProbeWhole(func() {
		if probes.Add(1) == 1 {
			<-release
		}
	})()
	found := make(chan bool)
	go func() { found <- s.PixelSlices(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); probes.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("no re-probe started")
		}
	}
	for range 8 {
		s.PixelSlices(ctx) // reads during the re-probe
	}
	close(release)
	if !<-found {
		t.Error("the re-probe did not find the function")
	}
	if n := probes.Load(); n != 1 {
		t.Errorf("%d probes at one re-probe, want 1", n)
	}
}

// TestSliceReprobeError: a re-probe that fails (here its request is cancelled) leaves the
// function missing, looked for again SliceReprobe later; not at the next read (on a database
// that keeps failing the probe, each read would probe and log), nor never.
func TestSliceReprobeError(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	defer pgstore.SetClock(func() time.Time { return now })()
	s := dbtest.New(t)
	s.SetSliceMissing(now.Add(-pgstore.SliceReprobe))
	ctx, cancel := context.WithCancel(context.Background())
	restore := pgstore.SetBeforeProbeWhole(cancel)
	on := s.PixelSlices(ctx)
	restore()
	if on {
		t.Fatal("the re-probe passed with its context cancelled")
	}
	if !s.SliceMissingSince().Equal(now) {
		t.Fatalf("after a re-probe that failed, missing since %v, want %v", s.SliceMissingSince(), now)
	}
	if s.PixelSlices(context.Background()) {
		t.Fatal("probed again at the next read")
	}
	now = now.Add(pgstore.SliceReprobe)
	if !s.PixelSlices(context.Background()) {
		t.Error("not found SliceReprobe after the re-probe that failed")
	}
}
