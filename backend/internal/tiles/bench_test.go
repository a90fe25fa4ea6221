package tiles_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
)

// benchAlgebra renders the 3-layer algebra PNG of the fixture's home tile; with cold set the
// service keeps no cache, so each iteration reads PostGIS, decodes, renders and encodes.
func benchAlgebra(b *testing.B, cold bool, ext string) {
	st := dbtest.New(b)
	tilestest.Seed(b, st)
	cfg := tiles.Config{}
	if cold {
		cfg.TileCacheBytes, cfg.ResponseCacheBytes = -1, -1
	}
	svc := tiles.New(st, cfg)
	q, _ := url.ParseQuery("layers=a=ramp,b=const,c=classes&formula=(a%2Bb)*c&colormap=" +
		url.QueryEscape(`{"continuous":true,"from":"#000080","over":"#ffffff","to":"#800000"}`))
	h := tilestest.Home
	req, err := tiles.ParseAlgebra(strconv.Itoa(h.Z), strconv.Itoa(h.X), strconv.Itoa(h.Y), ext, q)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := svc.Algebra(ctx, req, tiles.Client{AcceptGzip: true}); r.Status != 200 {
			b.Fatalf("status %d %s", r.Status, r.Body)
		}
	}
}

func BenchmarkAlgebraPNGCold(b *testing.B)     { benchAlgebra(b, true, "png") }
func BenchmarkAlgebraPNGWarm(b *testing.B)     { benchAlgebra(b, false, "png") }
func BenchmarkAlgebraMsgPackCold(b *testing.B) { benchAlgebra(b, true, "msgpack") }
