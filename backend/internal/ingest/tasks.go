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
// (0, 0) is the top-left pixel of tile (OriginX, OriginY) at zoom Block.Z. More holds further
// levels cut by the same task (the small coarse levels go together, as django-raster runs
// zooms 0–9 in one task), so their tiles share COPY batches.
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
	Side int       `json:"side"`
	More []cutTask `json:"more,omitempty"`
}

func (c cutTask) id() string {
	b := c.Block
	id := fmt.Sprintf("layer%d-v%d-z%d-%d-%d-%d-%d", c.LayerID, c.Version, b.Z, b.MinX, b.MinY, b.MaxX, b.MaxY)
	if len(c.More) > 0 {
		id += fmt.Sprintf("+%d", len(c.More))
	}
	return id
}

func (c cutTask) task() (jobs.Task, error) {
	p, err := json.Marshal(c)
	return jobs.Task{Kind: TaskCut, ID: c.id(), Payload: p}, err
}

func (c cutTask) valid() bool {
	if c.TileSize < 1 || c.TileSize > 4096 || c.Block.Count() == 0 || c.DataBands < 1 || c.DataBands > 1024 ||
		c.Batch < 1 || c.Side < 1 || c.Side > 64 || len(c.More) > 64 || !validRange(c.Block) {
		return false
	}
	for _, m := range c.More {
		if len(m.More) > 0 || !m.valid() {
			return false
		}
	}
	return true
}

func validRange(r tile.Range) bool {
	return tile.ZXY{Z: r.Z, X: r.MinX, Y: r.MinY}.Validate() == nil && tile.ZXY{Z: r.Z, X: r.MaxX, Y: r.MaxY}.Validate() == nil &&
		r.MinX <= r.MaxX && r.MinY <= r.MaxY
}

// maxBlockBytes caps the pixels one block read holds (the parser plans 64 MiB at most).
const maxBlockBytes = 256 << 20

// maxBatchBytes caps the pixels a batch holds before it is written, whatever
// RASTER_BATCH_STEP_SIZE says (500 Float64 tiles would be 256 MiB).
const maxBatchBytes = 8 << 20

// batcher collects tiles and writes them in batches of at most Batch tiles and
// maxBatchBytes, reporting the tiles checked (written or skipped) as progress.
type batcher struct {
	store   TileStore
	c       cutTask
	tiles   []Tile
	bytes   int
	checked int64
}

func (b *batcher) add(ctx context.Context, t Tile) error {
	b.tiles = append(b.tiles, t)
	for _, band := range t.Bands {
		b.bytes += len(band.Data)
	}
	if len(b.tiles) >= b.c.Batch || b.bytes >= maxBatchBytes {
		return b.flush(ctx)
	}
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.tiles) > 0 {
		if err := b.store.WriteTiles(ctx, b.c.LayerID, b.c.Version, b.tiles); err != nil {
			if errors.Is(err, pgstore.ErrStaleVersion) {
				return jobs.Permanent(err)
			}
			return err
		}
		b.tiles, b.bytes = b.tiles[:0], 0
	}
	if b.checked > 0 {
		if err := b.store.AddProgress(ctx, b.c.LayerID, b.checked); err != nil {
			return err
		}
		b.checked = 0
	}
	return nil
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
		if !c.valid() {
			return jobs.Permanent(fmt.Errorf("ingest: task %s: invalid payload", t.ID))
		}
		bt := &batcher{store: store, c: c}
		for _, part := range append([]cutTask{c}, c.More...) {
			part.LayerID, part.Version = c.LayerID, c.Version
			if err := cutPart(ctx, bt, part); err != nil {
				return err
			}
		}
		return bt.flush(ctx)
	}
}

// cutPart opens one level's raster, checks that the task's range lies inside it, and cuts
// the range block by block.
func cutPart(ctx context.Context, bt *batcher, c cutTask) error {
	if _, err := os.Stat(c.Path); err != nil {
		// A worker that does not share RASTER_WORKDIR with the coordinator: retrying on
		// another worker may work, so this is not permanent.
		return fmt.Errorf("ingest: level raster %s: %w (is RASTER_WORKDIR shared with this worker?)", c.Path, err)
	}
	d, err := gdal.Open(c.Path)
	if err != nil {
		return jobs.Permanent(err)
	}
	defer d.Close()
	in, err := d.Info()
	if err != nil {
		return jobs.Permanent(err)
	}
	want := c.DataBands
	if c.Alpha {
		want++
	}
	if len(in.Bands) != want {
		return jobs.Permanent(fmt.Errorf("ingest: %s has %d bands, task expects %d", c.Path, len(in.Bands), want))
	}
	T, b := int64(c.TileSize), c.Block
	if b.MinX < c.OriginX || b.MinY < c.OriginY ||
		int64(b.MaxX-c.OriginX+1)*T > int64(in.Width) || int64(b.MaxY-c.OriginY+1)*T > int64(in.Height) {
		return jobs.Permanent(fmt.Errorf("ingest: tiles %+v lie outside %s (%dx%d)", b, c.Path, in.Width, in.Height))
	}
	var buf rowBuffers
	for _, blk := range blocks(b, c.Side) {
		// One row of tiles of the block at a time: the same reads of whole GeoTIFF blocks,
		// an eighth of the memory of reading the block at once, into the same buffers.
		for y := blk.MinY; y <= blk.MaxY; y++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := c
			p.Block = blk
			p.Block.MinY, p.Block.MaxY = y, y
			if err := cut(ctx, bt, d, in, p, &buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// rowBuffers holds the pixels of one row of tiles between the rows a cut task reads: the
// rows of a part are the same size (a narrower last block needs less), so the buffers are
// made once, not per row. cut copies every tile it keeps out of them.
type rowBuffers struct {
	bands [][]byte
	alpha []byte
}

// sized returns b resliced to n bytes, or a new slice when b is too small. The caller
// overwrites all n bytes (a read of the whole window), so old contents do not matter.
func sized(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// cut reads the block's window of every band of d at once (into buf), skips tiles whose
// every band is nodata (or not covered, by the alpha band), and hands copies of the others
// to the batcher.
func cut(ctx context.Context, bt *batcher, d *gdal.Dataset, in gdal.Info, c cutTask, buf *rowBuffers) error {
	T := c.TileSize
	b := c.Block
	bw, bh := (b.MaxX-b.MinX+1)*T, (b.MaxY-b.MinY+1)*T
	x0, y0 := (b.MinX-c.OriginX)*T, (b.MinY-c.OriginY)*T
	bpp := 0
	for _, bi := range in.Bands {
		bpp += bi.Type.Size()
	}
	if int64(bw)*int64(bh)*int64(bpp) > maxBlockBytes {
		return jobs.Permanent(fmt.Errorf("ingest: block %+v of %s needs more than %d MiB", b, c.Path, maxBlockBytes>>20))
	}
	bands := make([]*raster.Band, c.DataBands)
	tests := make([]emptyTest, c.DataBands)
	if len(buf.bands) < c.DataBands {
		buf.bands = make([][]byte, c.DataBands)
	}
	for i := range bands {
		bi := in.Bands[i]
		buf.bands[i] = sized(buf.bands[i], bw*bh*bi.Type.Size())
		bands[i] = &raster.Band{Type: bi.Type, Width: bw, Height: bh, Data: buf.bands[i], HasNoData: bi.HasNoData, NoData: bi.NoData}
		if err := d.ReadBand(i, x0, y0, bw, bh, bands[i], gdal.Nearest); err != nil {
			return err
		}
		tests[i] = newEmptyTest(bi.Type, bi.HasNoData, bi.NoData)
	}
	var alpha *raster.Band
	if c.Alpha {
		buf.alpha = sized(buf.alpha, bw*bh)
		alpha = &raster.Band{Type: raster.Byte, Width: bw, Height: bh, Data: buf.alpha}
		if err := d.ReadBand(c.DataBands, x0, y0, bw, bh, alpha, gdal.Nearest); err != nil {
			return err
		}
	}
	for ty := b.MinY; ty <= b.MaxY; ty++ {
		for tx := b.MinX; tx <= b.MaxX; tx++ {
			bt.checked++
			px, py := (tx-b.MinX)*T, (ty-b.MinY)*T
			if alpha != nil && zeroWindow(alpha.Data, bw, px, py, T, T) {
				continue
			}
			if allEmpty(tests, bands, bw, px, py, T) {
				continue
			}
			t := Tile{ZXY: tile.ZXY{Z: b.Z, X: tx, Y: ty}, Bands: make([]*raster.Band, len(bands))}
			for i, band := range bands {
				t.Bands[i] = cutWindow(band, px, py, T, T)
			}
			if err := bt.add(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}
