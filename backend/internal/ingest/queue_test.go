package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TestQueueMatchesInProcess parses one raster in process and through Redis with two asynq
// workers, and compares every tile's decoded bands.
func TestQueueMatchesInProcess(t *testing.T) {
	url := dbtest.RedisURL(t)
	local := newEnv(t, nil, func(c *ingest.Config) { c.BlockTiles = 2 })
	ctx := context.Background()
	src := shared(t, "rasterio_RGB.byte.tif")
	l1, res1, err := local.ingest(t, "in process", src, nil)
	if err != nil {
		t.Fatal(err)
	}

	queue := fmt.Sprintf("test-ingest-%d-%d", os.Getpid(), time.Now().UnixNano())
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	var ran [2]atomic.Int64
	for i := range 2 {
		h := ingest.NewTaskHandler(local.store)
		w, err := jobs.NewWorker(url, jobs.WorkerOptions{Queue: queue, Concurrency: 1, Kinds: ingest.TaskKinds, Logger: quiet},
			func(ctx context.Context, tk jobs.Task) error { ran[i].Add(1); return h(ctx, tk) })
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Shutdown()
	}
	q, err := jobs.NewQueue(url, queue)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Poll = 20 * time.Millisecond
	cfg := local.cfg
	p, err := ingest.New(local.store, q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l2 := catalog.NewLayer("through redis", src)
	if err := local.store.CreateLayer(ctx, &l2); err != nil {
		t.Fatal(err)
	}
	res2, err := p.Parse(ctx, l2.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Which worker takes which task is up to asynq (jobs' tests check that both work);
	// here every task must have run somewhere.
	t.Logf("tasks per worker: %d and %d", ran[0].Load(), ran[1].Load())
	if ran[0].Load()+ran[1].Load() == 0 {
		t.Error("no task ran on the workers")
	}
	if res1.MaxZoom != res2.MaxZoom || fmt.Sprint(res1.TilesPerZoom) != fmt.Sprint(res2.TilesPerZoom) {
		t.Fatalf("in process %d %v, queue %d %v", res1.MaxZoom, res1.TilesPerZoom, res2.MaxZoom, res2.TilesPerZoom)
	}
	l2, _ = local.store.LayerByID(ctx, l2.ID)
	rows, err := local.store.Pool().Query(ctx, `SELECT z, x, y FROM tiles WHERE layer_id = $1 AND version = $2`, l1.ID, l1.Version)
	if err != nil {
		t.Fatal(err)
	}
	var all []tile.ZXY
	for rows.Next() {
		var z tile.ZXY
		rows.Scan(&z.Z, &z.X, &z.Y)
		all = append(all, z)
	}
	rows.Close()
	if int64(len(all)) != res1.Tiles || len(all) == 0 {
		t.Fatalf("%d tiles listed, %d counted", len(all), res1.Tiles)
	}
	for _, z := range all {
		a, err := local.store.Tile(ctx, l1.ID, l1.Version, z)
		if err != nil {
			t.Fatal(err)
		}
		b, err := local.store.Tile(ctx, l2.ID, l2.Version, z)
		if err != nil {
			t.Fatalf("tile %v missing from the queue parse: %v", z, err)
		}
		if len(a) != 3 || len(b) != 3 {
			t.Fatalf("tile %v: %d and %d bands", z, len(a), len(b))
		}
		for i := range a {
			if a[i].Type != b[i].Type || a[i].NoData != b[i].NoData || !bytes.Equal(a[i].Data, b[i].Data) {
				t.Fatalf("tile %v band %d differs between in-process and queue parses", z, i)
			}
		}
	}
}
