package pgstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgraster"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// benchBatch returns n distinct 256×256 tiles at zoom 12 of one Float32 band with nodata,
// with smooth terrain-like values (compressible as real tiles are).
func benchBatch(n, offset int) []pgstore.Tile {
	out := make([]pgstore.Tile, n)
	for i := range out {
		k := offset + i
		z := tile.ZXY{Z: 12, X: k % 4096, Y: k / 4096}
		out[i] = pgstore.Tile{ZXY: z, Bands: []*raster.Band{band(raster.Float32, 256, true, -9999, func(p int) float64 {
			return float64(k) + float64(p%256)*0.37 + float64(p/256)*0.11
		})}}
	}
	return out
}

// BenchmarkWriteTiles writes batches of 100 Float32 256×256 tiles (26 MB) and reports
// tiles/s.
func BenchmarkWriteTiles(b *testing.B) {
	s := dbtest.New(b)
	ctx := context.Background()
	l := catalog.NewLayer("bench", "b.tif")
	if err := s.CreateLayer(ctx, &l); err != nil {
		b.Fatal(err)
	}
	v, err := s.BeginParse(ctx, l.ID)
	if err != nil {
		b.Fatal(err)
	}
	const per, nbatch = 100, 6
	// Distinct addresses for nbatch batches; after those, the loop re-writes them, as a
	// retried parse would (the ON CONFLICT path).
	batches := make([][]pgstore.Tile, nbatch)
	for i := range batches {
		batches[i] = benchBatch(per, per*i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(per * 256 * 256 * 4))
	i := 0
	for b.Loop() {
		if err := s.WriteTiles(ctx, l.ID, v, batches[i%nbatch]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(per*b.N)/b.Elapsed().Seconds(), "tiles/s")
}

// BenchmarkWriteTilesBaseline writes the same batches the way django-raster's bulk_create
// does: one INSERT with a VALUES row per tile, each raster sent as hex WKB text. It is the
// baseline scripts/bench-storage.sh compares BenchmarkWriteTiles with.
func BenchmarkWriteTilesBaseline(b *testing.B) {
	s := dbtest.New(b)
	ctx := context.Background()
	l := catalog.NewLayer("bench", "b.tif")
	if err := s.CreateLayer(ctx, &l); err != nil {
		b.Fatal(err)
	}
	const per, nbatch = 100, 6
	type prepared struct {
		sql  string
		args []any
	}
	batches := make([]prepared, nbatch)
	for i := range batches {
		var (
			q    strings.Builder
			args = []any{l.ID}
		)
		q.WriteString(`INSERT INTO tiles (layer_id, version, z, x, y, rast) VALUES `)
		for k, t := range benchBatch(per, per*i) {
			wkb, err := pgraster.Encode(pgraster.ForTile(t.ZXY, 256, t.Bands))
			if err != nil {
				b.Fatal(err)
			}
			if k > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($1, 1, $%d, $%d, $%d, $%d::raster)", n+1, n+2, n+3, n+4)
			args = append(args, t.ZXY.Z, t.ZXY.X, t.ZXY.Y, hex.EncodeToString(wkb))
		}
		q.WriteString(` ON CONFLICT (layer_id, version, z, x, y) DO UPDATE SET rast = EXCLUDED.rast`)
		batches[i] = prepared{q.String(), args}
	}
	b.ReportAllocs()
	b.SetBytes(int64(per * 256 * 256 * 4))
	i := 0
	for b.Loop() {
		p := batches[i%nbatch]
		if _, err := s.Pool().Exec(ctx, p.sql, p.args...); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(per*b.N)/b.Elapsed().Seconds(), "tiles/s")
}

// BenchmarkTile reads and decodes one stored tile, as the tile server does per request.
func BenchmarkTile(b *testing.B) {
	s := dbtest.New(b)
	ctx := context.Background()
	l := catalog.NewLayer("bench", "b.tif")
	if err := s.CreateLayer(ctx, &l); err != nil {
		b.Fatal(err)
	}
	v, _ := s.BeginParse(ctx, l.ID)
	batch := benchBatch(64, 0)
	if err := s.WriteTiles(ctx, l.ID, v, batch); err != nil {
		b.Fatal(err)
	}
	// A full pyramid above them: over-zoomed reads find an ancestor at every zoom.
	var above []pgstore.Tile
	seen := map[tile.ZXY]bool{}
	for _, t := range batch {
		for z := range t.ZXY.Z {
			a := t.ZXY.Ancestor(z)
			if !seen[a] {
				seen[a] = true
				above = append(above, pgstore.Tile{ZXY: a, Bands: t.Bands})
			}
		}
	}
	if err := s.WriteTiles(ctx, l.ID, v, above); err != nil {
		b.Fatal(err)
	}
	b.Run("Tile", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Tile(ctx, l.ID, v, batch[i%len(batch)].ZXY); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("NearestTile", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			// Three zooms below a stored z12 tile (with all its ancestors stored): the
			// server's over-zoom path.
			z := batch[i%len(batch)].ZXY
			deep := tile.ZXY{Z: z.Z + 3, X: z.X*8 + 5, Y: z.Y*8 + 2}
			at, _, err := s.NearestTile(ctx, l.ID, v, deep)
			if err != nil || at != z {
				b.Fatalf("NearestTile = %v, %v", at, err)
			}
			i++
		}
	})
}
