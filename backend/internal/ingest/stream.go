package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// The streamed parse: an in-process parse (jobs.Pool runner) of a raster with nodata makes
// the whole pyramid in one pass over the max zoom's raster, one row of tiles at a time,
// top to bottom: each row is cut into tiles, counted into the statistics, and its 2×2
// reduction goes into the next coarser level, which cuts and reduces its own rows as they
// complete. Tiles go to the database on a writer goroutine meanwhile, in the same COPY
// batches as the cut tasks'. The tiles are those of the task path (the same reduce, the same
// nodata, the same empty-tile rule; TestStreamMatchesTasks compares them).
//
// Why: the task path writes every coarser level to a GeoTIFF and reads each level back
// (the max zoom twice more for the statistics); for RGB.byte.tif at 400% that file traffic
// was 0.6 s of the 1.8 s ingest, and the database only started after the first level was
// cut. Parses through Redis keep the level files, which their workers read.

// maxStreamRowBytes caps the pixels of the max zoom's pending rows (two rows of tiles, all
// bands) that a streamed parse holds; a wider raster is cut by tasks in blocks instead, so
// memory stays bounded whatever the width.
const maxStreamRowBytes = 64 << 20

// streamFits reports whether the max zoom's range rng of tiles of T pixels, with bands of
// types, is narrow enough to stream.
func streamFits(rng tile.Range, T int, types []raster.DataType) bool {
	bpp := 0
	for _, t := range types {
		bpp += t.Size()
	}
	return 2*int64(T)*int64(rng.MaxX-rng.MinX+1)*int64(T)*int64(bpp) <= maxStreamRowBytes
}

// streamBand is the layout of one band of a level.
type streamBand struct {
	typ       raster.DataType
	hasNoData bool
	noData    float64
}

// streamLevel is one zoom level of a streamed pyramid.
type streamLevel struct {
	z      int
	rng    tile.Range
	T      int
	w      int // width in pixels
	rows   int // rows of tiles
	bands  []streamBand
	tests  []emptyTest
	valid  []validity // which of this level's pixels count when reducing into parent
	mode   bool
	parent *streamLevel
	// pend holds, per band, the (at most two) rows of tiles of this level below the
	// parent's row being filled: slot 0 is this level's tile row pendC0, slot 1 the next.
	pend   [][]byte
	pendC0 int
	pendOK [2]bool
	// next is the tile row expected next (rows skipped are filled with nodata).
	next int
	// out holds the row being produced of a level without a parent, per band.
	out []*raster.Band
	// fill is one row of tiles of nodata, per band (made when needed).
	fill []*raster.Band
}

// streamer runs a streamed parse's pyramid and hands the tiles to emit.
type streamer struct {
	levels []*streamLevel // [0] is the max zoom
	emit   func(t Tile) error
	check  func() // counts a tile checked (written or skipped)
	// free holds the pixel buffers of written tiles for the next tiles to reuse: the
	// heap then stays at the batches in flight (fresh buffers cost a page fault per 4 KiB,
	// expensive on this virtual machine, and GC cycles).
	mu   sync.Mutex
	free [][]byte
}

// cutTile copies the T×T window at column px of a row of tiles into a (reused) buffer.
func (s *streamer) cutTile(src *raster.Band, px, T int, b streamBand) *raster.Band {
	size := src.Type.Size()
	n := T * T * size
	var buf []byte
	s.mu.Lock()
	if k := len(s.free); k > 0 && len(s.free[k-1]) == n {
		buf, s.free = s.free[k-1], s.free[:k-1]
	}
	s.mu.Unlock()
	if buf == nil {
		buf = make([]byte, n)
	}
	for r := 0; r < T; r++ {
		o := (r*src.Width + px) * size
		copy(buf[r*T*size:(r+1)*T*size], src.Data[o:o+T*size])
	}
	return &raster.Band{Type: src.Type, Width: T, Height: T, Data: buf, HasNoData: b.hasNoData, NoData: b.noData}
}

// recycle takes back the buffers of tiles that are written.
func (s *streamer) recycle(tiles []Tile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tiles {
		for _, b := range t.Bands {
			s.free = append(s.free, b.Data)
		}
	}
}

func newStreamLevel(z int, rng tile.Range, T int, bands []streamBand, mode bool) *streamLevel {
	l := &streamLevel{z: z, rng: rng, T: T, w: (rng.MaxX - rng.MinX + 1) * T, rows: rng.MaxY - rng.MinY + 1, bands: bands, mode: mode}
	for _, b := range bands {
		e := newEmptyTest(b.typ, b.hasNoData, b.noData)
		l.tests = append(l.tests, e)
		l.valid = append(l.valid, newValidity(e))
	}
	return l
}

// fillRow returns a row of tiles of level l holding only its nodata value (0 without one),
// as downsample writes where no finer pixel is valid.
func (l *streamLevel) fillRow() []*raster.Band {
	if l.fill == nil {
		l.fill = make([]*raster.Band, len(l.bands))
		for i, b := range l.bands {
			f := 0.0
			if b.hasNoData {
				f = b.noData
			}
			l.fill[i] = raster.New(b.typ, l.w, l.T)
			if f != 0 {
				for k := range l.w * l.T {
					l.fill[i].Set(k, f)
				}
			}
		}
	}
	return l.fill
}

// catchUp pushes rows of nodata for the rows of l before ty that never came (rows of a
// coarser level without any finer row below them).
func (s *streamer) catchUp(l *streamLevel, ty int) error {
	for l.next < ty {
		if err := s.row(l, l.next, l.fillRow()); err != nil {
			return err
		}
	}
	return nil
}

// slot returns the bands of tile row ty of level l where row wants them (the pending
// slot its parent reduces from), so producers write there and row copies nothing.
func (l *streamLevel) slot(ty int) []*raster.Band {
	if l.parent == nil {
		if l.out == nil {
			l.out = make([]*raster.Band, len(l.bands))
			for i, b := range l.bands {
				l.out[i] = raster.New(b.typ, l.w, l.T)
				l.out[i].HasNoData, l.out[i].NoData = b.hasNoData, b.noData
			}
		}
		return l.out
	}
	c0 := 2*((l.rng.MinY+ty)>>1) - l.rng.MinY
	l.pendAt(c0)
	k := ty - c0
	out := make([]*raster.Band, len(l.bands))
	for i, b := range l.bands {
		n := l.T * l.w * b.typ.Size()
		out[i] = &raster.Band{Type: b.typ, Width: l.w, Height: l.T, Data: l.pend[i][k*n : (k+1)*n : (k+1)*n],
			HasNoData: b.hasNoData, NoData: b.noData}
	}
	return out
}

// pendAt makes the pending pair the rows c0 and c0+1, emptying it when it held another.
func (l *streamLevel) pendAt(c0 int) {
	if l.pend == nil {
		l.pend = make([][]byte, len(l.bands))
		for i, b := range l.bands {
			l.pend[i] = make([]byte, 2*l.T*l.w*b.typ.Size())
		}
		l.pendC0, l.pendOK = c0, [2]bool{}
	}
	if l.pendC0 != c0 {
		l.pendC0, l.pendOK = c0, [2]bool{}
	}
}

// finish pushes the rows of nodata that remain, level by level, so every parent row is
// produced.
func (s *streamer) finish() error {
	for _, l := range s.levels {
		if err := s.catchUp(l, l.rows); err != nil {
			return err
		}
	}
	return nil
}

func (s *streamer) row(l *streamLevel, ty int, bands []*raster.Band) error {
	l.next = ty + 1
	T := l.T
	// Cut the row's tiles.
	y := l.rng.MinY + ty
	for tx := l.rng.MinX; tx <= l.rng.MaxX; tx++ {
		s.check()
		px := (tx - l.rng.MinX) * T
		if allEmpty(l.tests, bands, l.w, px, 0, T) {
			continue
		}
		t := Tile{ZXY: tile.ZXY{Z: l.z, X: tx, Y: y}, Bands: make([]*raster.Band, len(bands))}
		for i, b := range bands {
			t.Bands[i] = s.cutTile(b, px, T, l.bands[i])
		}
		if err := s.emit(t); err != nil {
			return err
		}
	}
	p := l.parent
	if p == nil {
		return nil
	}
	// The parent row of this row, and its first child row (may be −1: only the second
	// child lies in this level's range).
	pyAbs := (l.rng.MinY + ty) >> 1
	c0 := 2*pyAbs - l.rng.MinY
	l.pendAt(c0)
	slot := ty - c0
	for i, b := range bands {
		n := T * l.w * l.bands[i].typ.Size()
		if dst := l.pend[i][slot*n : (slot+1)*n]; &dst[0] != &b.Data[0] {
			copy(dst, b.Data[:n])
		}
	}
	l.pendOK[slot] = true
	if slot == 0 && ty+1 < l.rows {
		return nil // the second child is still to come
	}
	return s.reduceInto(l, pyAbs)
}

// reduceInto makes parent row pyAbs (absolute tile row) of l.parent from l's pending rows
// and pushes it.
func (s *streamer) reduceInto(l *streamLevel, pyAbs int) error {
	p, T := l.parent, l.T
	c0 := l.pendC0
	fh := l.rows * T
	offX, offY := l.rng.MinX*T-2*p.rng.MinX*T, l.rng.MinY*T-2*p.rng.MinY*T
	oy := (pyAbs - p.rng.MinY) * T
	fy0, fy1 := max(0, 2*oy-offY), min(fh, 2*(oy+T)-offY)
	for slot := 0; slot < 2; slot++ {
		lo, hi := (c0+slot)*T, (c0+slot+1)*T
		if fy0 < hi && fy1 > lo && !l.pendOK[slot] {
			return fmt.Errorf("ingest: stream: zoom %d row %d: child row %d missing", p.z, pyAbs, c0+slot)
		}
	}
	g := grid2x2{fw: l.w, fy0: fy0, fy1: fy1, offX: offX, offY: offY, ow: p.w, oy: oy, n: T}
	pty := pyAbs - p.rng.MinY
	if err := s.catchUp(p, pty); err != nil {
		return err
	}
	out := p.slot(pty)
	for i, b := range l.bands {
		size := b.typ.Size()
		start := (fy0 - c0*T) * l.w * size
		end := (fy1 - c0*T) * l.w * size
		fine := &raster.Band{Type: b.typ, Width: l.w, Height: fy1 - fy0, Data: l.pend[i][start:max(start, end)]}
		fill := 0.0
		if b.hasNoData {
			fill = b.noData
		}
		reduceBand(fine, out[i], g, l.valid[i], fill, l.mode, nil)
	}
	l.pendOK = [2]bool{}
	return s.row(p, pty, out)
}

// streamLevels lays out the levels maxZ…minZ of a streamed parse of the warped raster
// described by in: the max zoom has the warped bands' own types and nodata; each coarser
// level, as downsample writes it, the first band's type and nodata for every band.
func streamLevels(in gdal.Info, ranges map[int]tile.Range, maxZ, minZ, T int, mode bool) []*streamLevel {
	top := make([]streamBand, len(in.Bands))
	for i, b := range in.Bands {
		top[i] = streamBand{typ: b.Type, hasNoData: b.HasNoData, noData: b.NoData}
	}
	var levels []*streamLevel
	bands := top
	for z := maxZ; z >= minZ; z-- {
		l := newStreamLevel(z, ranges[z], T, bands, mode)
		if n := len(levels); n > 0 {
			levels[n-1].parent = l
		}
		levels = append(levels, l)
		coarser := make([]streamBand, len(bands))
		for i := range coarser {
			coarser[i] = bands[0]
		}
		bands = coarser
	}
	return levels
}

// streamBatch is a batch of tiles for the writer, with the tiles checked since the last.
type streamBatch struct {
	tiles   []Tile
	checked int64
}

// streamParse makes and writes the pyramid of the warped raster at path (zooms maxZ…minZ,
// ranges per zoom) in one pass and returns the band statistics of the max zoom.
//
// With strips the rows come from the warp itself as it goes (the warped raster is written
// to path meanwhile); else from the warped raster at path.
func (p *Parser) streamParse(ctx context.Context, r *run, path string, strips *stripWarp, ranges map[int]tile.Range, maxZ, minZ int, mode bool) (_ []catalog.BandMeta, err error) {
	var d *gdal.Dataset
	var in gdal.Info
	if strips != nil {
		defer func() {
			if ferr := strips.finish(err == nil); ferr != nil && err == nil {
				err = ferr
			}
		}()
		w := strips.w
		in = gdal.Info{Width: w.Width(), Height: w.Height()}
		for _, nd := range w.NoData() {
			in.Bands = append(in.Bands, gdal.BandInfo{Type: w.Type(), HasNoData: true, NoData: nd})
		}
	} else {
		// GTIFF_DIRECT_IO: rows go from the (uncompressed) file straight into the pending
		// rows, past GDAL's block cache: measured 10-15 MB less peak memory, less CPU.
		if d, err = gdal.Open(path, "GTIFF_DIRECT_IO=YES"); err != nil {
			return nil, err
		}
		defer d.Close()
		if in, err = d.Info(); err != nil {
			return nil, err
		}
	}
	T := p.cfg.TileSize
	levels := streamLevels(in, ranges, maxZ, minZ, T, mode)
	top := levels[0]
	if in.Width != top.w || in.Height != top.rows*T {
		return nil, fmt.Errorf("ingest: stream: %s is %d×%d, zoom %d needs %d×%d", path, in.Width, in.Height, maxZ, top.w, top.rows*T)
	}

	// The writer: batches go to the store one at a time while the next fills.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One writer, or two when the pyramid holds more than 128 MiB of pixels: a second
	// database connection costs a PostGIS load (0.25-0.35 s of server CPU), which pays only
	// when there is that much to write (the 8000×8000 float32 benchmark: 2 s faster).
	var pixels int64
	for _, l := range levels {
		bpp := 0
		for _, b := range l.bands {
			bpp += b.typ.Size()
		}
		pixels += int64(l.rows) * int64(l.w) * int64(T) * int64(bpp)
	}
	writers := 1
	if pixels > 128<<20 {
		writers = 2
	}
	batches := make(chan streamBatch)
	werr := make(chan error, writers)
	s := &streamer{levels: levels}
	for range writers {
		go func() {
			var err error
			for b := range batches {
				if err != nil {
					s.recycle(b.tiles)
					continue
				}
				if len(b.tiles) > 0 {
					tracef("writing %d tiles", len(b.tiles))
					err = p.store.WriteTiles(ctx, r.layer.ID, r.version, b.tiles)
					s.recycle(b.tiles)
					tracef("written")
				}
				if err == nil && b.checked > 0 {
					err = p.store.AddProgress(ctx, r.layer.ID, b.checked)
				}
				if err != nil {
					cancel()
				}
			}
			werr <- err
		}()
	}
	var cur streamBatch
	curBytes := 0
	send := func() error {
		select {
		case batches <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur, curBytes = streamBatch{}, 0
		return nil
	}
	s.check = func() { cur.checked++ }
	s.emit = func(t Tile) error {
		cur.tiles = append(cur.tiles, t)
		for _, b := range t.Bands {
			curBytes += len(b.Data)
		}
		if len(cur.tiles) >= p.cfg.BatchSize || curBytes >= maxBatchBytes {
			return send()
		}
		// A writer waiting for work takes what there is: the database starts on the
		// first row of tiles instead of the first full batch.
		select {
		case batches <- cur:
			cur, curBytes = streamBatch{}, 0
		default:
		}
		return nil
	}

	// Statistics: bands of at most 16 bits are counted per value during the pass; others
	// take bandStatistics' two passes over the file afterwards.
	counts := make([][]int64, len(in.Bands))
	countAll := true
	for i, b := range in.Bands {
		counts[i] = valueCounts(b.Type)
		countAll = countAll && counts[i] != nil
	}

	// Bands counted per value need nothing more; others take bandStatistics' passes over
	// the file, on the other core meanwhile.
	type statsResult struct {
		bands []catalog.BandMeta
		err   error
	}
	statsDone := make(chan statsResult, 1)
	if !countAll && strips == nil {
		go func() {
			bm, err := bandStatistics(ctx, path, len(in.Bands), false)
			statsDone <- statsResult{bm, err}
		}()
	}

	serr := func() error {
		for ty := 0; ty < top.rows; ty++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			strip := top.slot(ty)
			if strips != nil {
				if err := strips.w.Strip(ty*T, T, strip); err != nil {
					return warpFailed(err)
				}
			}
			for i := range strip {
				if strips == nil {
					if err := d.ReadBand(i, 0, ty*T, top.w, T, strip[i], gdal.Nearest); err != nil {
						return err
					}
				}
				if countAll {
					countStrip(strip[i], counts[i], nil)
				}
			}
			if err := s.row(top, ty, strip); err != nil {
				return err
			}
		}
		if err := s.finish(); err != nil {
			return err
		}
		if len(cur.tiles) > 0 || cur.checked > 0 {
			return send()
		}
		return nil
	}()
	close(batches)
	var wErr error
	for range writers {
		if err := <-werr; err != nil && wErr == nil {
			wErr = err
		}
	}
	if serr != nil && wErr == nil {
		wErr = serr
	}
	if !countAll && strips != nil && wErr == nil {
		// The statistics read the warped raster, complete now.
		if wErr = strips.finish(true); wErr == nil {
			bm, err := bandStatistics(ctx, path, len(in.Bands), false)
			statsDone <- statsResult{bm, err}
		}
	}
	if !countAll && (strips == nil || wErr == nil) {
		if wErr != nil {
			cancel() // the statistics are not needed any more
		}
		st := <-statsDone
		if wErr == nil {
			wErr = st.err
		}
		if wErr != nil {
			return nil, wErr
		}
		tracef("stream done")
		return st.bands, nil
	}
	if wErr != nil {
		return nil, wErr
	}
	tracef("stream done")
	mom := make([]moments, len(in.Bands))
	hist := make([][]int64, len(in.Bands))
	for i, b := range in.Bands {
		mom[i], hist[i] = fromCounts(counts[i], b.Type, newValidity(newEmptyTest(b.Type, b.HasNoData, b.NoData)))
	}
	return bandMetas(in, mom, hist), nil
}
