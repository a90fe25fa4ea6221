package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// TaskCut is the kind of the task that cuts one block of tiles of one zoom level out of that
// level's grid-aligned raster and writes the non-empty ones.
const TaskCut = "tessera:ingest:cut"

// TaskKinds lists the task kinds a worker must handle.
var TaskKinds = []string{TaskCut}

// Tile is one tile to write: its address and its bands.
type Tile = pgstore.Tile

// TileStore is what a cut task needs of the store.
type TileStore interface {
	// WriteTiles writes a batch of tiles of a parse version; writing a z/x/y again
	// replaces it, so retried tasks never duplicate tiles.
	WriteTiles(ctx context.Context, layerID, version int64, tiles []Tile) error
	// AddProgress adds to the layer's count of tiles done.
	AddProgress(ctx context.Context, layerID int64, delta int64) error
}

// cutTask is a cut task's payload. The raster at Path is aligned to the tile grid: its pixel
// (0, 0) is the top-left pixel of tile (OriginX, OriginY) at zoom Block.Z.
type cutTask struct {
	LayerID  int64      `json:"layer"`
	Version  int64      `json:"version"`
	Path     string     `json:"path"`
	Block    tile.Range `json:"block"`
	OriginX  int        `json:"ox"`
	OriginY  int        `json:"oy"`
	TileSize int        `json:"tilesize"`
	// DataBands is the number of bands to store; when Alpha is set the raster has one more,
	// the coverage band.
	DataBands int  `json:"bands"`
	Alpha     bool `json:"alpha"`
	Batch     int  `json:"batch"`
	// Side is the block, in tiles, read at once: a task covering more (one task per zoom
	// with RASTER_PARSE_SINGLE_TASK) works through it block by block, so memory stays bounded.
	Side int `json:"side"`
}

func (c cutTask) id() string {
	b := c.Block
	return fmt.Sprintf("layer%d-v%d-z%d-%d-%d-%d-%d", c.LayerID, c.Version, b.Z, b.MinX, b.MinY, b.MaxX, b.MaxY)
}

func (c cutTask) task() (jobs.Task, error) {
	p, err := json.Marshal(c)
	return jobs.Task{Kind: TaskCut, ID: c.id(), Payload: p}, err
}

// NewTaskHandler returns the handler of ingest tasks, for a jobs.Pool or a jobs.Worker.
func NewTaskHandler(store TileStore) jobs.Handler {
	return func(ctx context.Context, t jobs.Task) error {
		if t.Kind != TaskCut {
			return jobs.Permanent(fmt.Errorf("ingest: unknown task kind %q", t.Kind))
		}
		var c cutTask
		if err := json.Unmarshal(t.Payload, &c); err != nil {
			return jobs.Permanent(fmt.Errorf("ingest: task %s: bad payload: %w", t.ID, err))
		}
		if c.TileSize < 1 || c.Block.Count() == 0 || c.DataBands < 1 || c.Batch < 1 || c.Side < 1 {
			return jobs.Permanent(fmt.Errorf("ingest: task %s: invalid payload %+v", t.ID, c))
		}
		for _, b := range blocks(c.Block, c.Side) {
			part := c
			part.Block = b
			if _, err := cut(ctx, store, part); err != nil {
				return err
			}
			if err := store.AddProgress(ctx, c.LayerID, int64(b.Count())); err != nil {
				return err
			}
		}
		return nil
	}
}

// cut reads the block's window of every band at once, skips tiles whose every band is
// nodata (or not covered, by the alpha band), and writes the others in batches. It returns
// the number of tiles written.
func cut(ctx context.Context, store TileStore, c cutTask) (int, error) {
	if _, err := os.Stat(c.Path); err != nil {
		// A worker that does not share RASTER_WORKDIR with the coordinator: retrying on
		// another worker may work, so this is not permanent.
		return 0, fmt.Errorf("ingest: level raster %s: %w (is RASTER_WORKDIR shared with this worker?)", c.Path, err)
	}
	d, err := gdal.Open(c.Path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	in, err := d.Info()
	if err != nil {
		return 0, jobs.Permanent(err)
	}
	want := c.DataBands
	if c.Alpha {
		want++
	}
	if len(in.Bands) != want {
		return 0, jobs.Permanent(fmt.Errorf("ingest: %s has %d bands, task expects %d", c.Path, len(in.Bands), want))
	}
	T := c.TileSize
	b := c.Block
	bw, bh := (b.MaxX-b.MinX+1)*T, (b.MaxY-b.MinY+1)*T
	x0, y0 := (b.MinX-c.OriginX)*T, (b.MinY-c.OriginY)*T
	if x0 < 0 || y0 < 0 || x0+bw > in.Width || y0+bh > in.Height {
		return 0, jobs.Permanent(fmt.Errorf("ingest: block %+v lies outside %s (%dx%d)", b, c.Path, in.Width, in.Height))
	}
	bands := make([]*raster.Band, c.DataBands)
	tests := make([]emptyTest, c.DataBands)
	for i := range bands {
		bi := in.Bands[i]
		bands[i] = raster.New(bi.Type, bw, bh)
		bands[i].HasNoData, bands[i].NoData = bi.HasNoData, bi.NoData
		if err := d.ReadBand(i, x0, y0, bw, bh, bands[i], gdal.Nearest); err != nil {
			return 0, err
		}
		tests[i] = newEmptyTest(bi.Type, bi.HasNoData, bi.NoData)
	}
	var alpha *raster.Band
	if c.Alpha {
		alpha = raster.New(raster.Byte, bw, bh)
		if err := d.ReadBand(c.DataBands, x0, y0, bw, bh, alpha, gdal.Nearest); err != nil {
			return 0, err
		}
	}
	written := 0
	batch := make([]Tile, 0, min(c.Batch, b.Count()))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := store.WriteTiles(ctx, c.LayerID, c.Version, batch); err != nil {
			if errors.Is(err, pgstore.ErrStaleVersion) {
				return jobs.Permanent(err)
			}
			return err
		}
		written += len(batch)
		batch = batch[:0]
		return nil
	}
	for ty := b.MinY; ty <= b.MaxY; ty++ {
		for tx := b.MinX; tx <= b.MaxX; tx++ {
			px, py := (tx-b.MinX)*T, (ty-b.MinY)*T
			if alpha != nil && zeroWindow(alpha.Data, bw, px, py, T, T) {
				continue
			}
			empty := true
			for i, band := range bands {
				if !tests[i].empty(band.Data, bw, px, py, T, T) {
					empty = false
					break
				}
			}
			if empty {
				continue
			}
			t := Tile{ZXY: tile.ZXY{Z: b.Z, X: tx, Y: ty}, Bands: make([]*raster.Band, len(bands))}
			for i, band := range bands {
				t.Bands[i] = cutWindow(band, px, py, T, T)
			}
			batch = append(batch, t)
			if len(batch) >= c.Batch {
				if err := flush(); err != nil {
					return written, err
				}
			}
		}
	}
	return written, flush()
}
