package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
)

// BenchmarkParseTerrain parses a 2048×2048 float32 UTM terrain (full pyramid) into PostGIS
// in process; scripts/bench-ingest.sh measures the 8000×8000 one end to end.
func BenchmarkParseTerrain(b *testing.B) {
	src := filepath.Join(b.TempDir(), "terrain.tif")
	if err := testdatagen.WriteTerrain(src, 2048, 2048); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var tiles int64
	for i := 0; i < b.N; i++ {
		l := catalog.NewLayer(fmt.Sprintf("terrain %d", i), src)
		l.StoreReprojected = false
		if err := e.store.CreateLayer(ctx, &l); err != nil {
			b.Fatal(err)
		}
		res, err := e.parser.Parse(ctx, l.ID)
		if err != nil {
			b.Fatal(err)
		}
		tiles += res.Tiles
	}
	b.ReportMetric(float64(tiles)/b.Elapsed().Seconds(), "tiles/s")
}
