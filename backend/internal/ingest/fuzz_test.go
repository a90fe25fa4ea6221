package ingest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/shared/tile"
)

// FuzzTaskPayload feeds arbitrary payloads to the task handler: a bad payload (Redis is a
// trust boundary of sorts: anyone who can enqueue can send one) must end in an error,
// never a panic or a huge allocation.
func FuzzTaskPayload(f *testing.F) {
	good, _ := json.Marshal(cutTask{LayerID: 1, Version: 1, Path: "/nonexistent.tif", Block: tile.Range{Z: 3, MinX: 1, MinY: 1, MaxX: 2, MaxY: 2},
		TileSize: 256, DataBands: 1, Batch: 500, Side: 8})
	f.Add(good)
	f.Add([]byte(`{"layer":1,"version":1,"path":"/etc/hostname","block":{"Z":30,"MinX":0,"MinY":0,"MaxX":1073741823,"MaxY":1073741823},"tilesize":4096,"bands":1024,"batch":1,"side":64}`))
	f.Add([]byte(`{"more":[{"more":[]}]}`))
	f.Add([]byte(`not json`))
	h := NewTaskHandler(&fakeTiles{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		err := h(context.Background(), jobs.Task{Kind: TaskCut, ID: "fuzz", Payload: payload})
		if err == nil {
			t.Fatalf("payload %q accepted", payload)
		}
	})
}
