package tiles

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// layer resolves a layer reference, reusing an answer younger than LayerTTL.
func (s *Service) layer(ctx context.Context, ref string) (catalog.Layer, error) {
	if l, ok := s.layers.get(ref); ok {
		return l, nil
	}
	l, err := s.store.Layer(ctx, ref)
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return l, NotFound("layer %q not found", clip(ref))
		}
		return l, err
	}
	s.layers.put(ref, l)
	return l, nil
}

// boundVar is a `layers` entry with its layer resolved.
type boundVar struct {
	LayerVar
	layer catalog.Layer
}

func (s *Service) bind(ctx context.Context, vars []LayerVar) ([]boundVar, error) {
	out := make([]boundVar, len(vars))
	for i, v := range vars {
		l, err := s.layer(ctx, v.Ref)
		if err != nil {
			return nil, err
		}
		if l.Meta != nil && l.Meta.BandCount > 0 && v.Band >= l.Meta.BandCount {
			return nil, paramErr("layers", "%s:%d: layer %d (%q) has %d band(s), numbered from 0", v.Name, v.Band, l.ID, l.Name, l.Meta.BandCount)
		}
		out[i] = boundVar{LayerVar: v, layer: l}
	}
	return out, nil
}

// maxZoom is the layer's deepest zoom: the parsed max zoom, else the override, else 0.
func maxZoom(l catalog.Layer) int {
	switch {
	case l.Meta != nil && l.Meta.MaxZoom > 0:
		return l.Meta.MaxZoom
	case l.MaxZoom != nil:
		return *l.MaxZoom
	}
	return 0
}

type tileKey struct {
	layer, version int64
	t              tile.ZXY
}

// fetched is one layer's tile at a requested address: its bands (cut from a coarser tile
// when over-zoomed), or missing.
type fetched struct {
	bands   []*raster.Band
	missing bool
}

func (f *fetched) size() int64 {
	n := int64(128)
	for _, b := range f.bands {
		n += int64(len(b.Data)) + 64
	}
	return n
}

// band returns band i, or nil when the tile is missing or has no such band.
func (f *fetched) band(i int) *raster.Band {
	if f.missing || i >= len(f.bands) {
		return nil
	}
	return f.bands[i]
}

// fetch returns the layer's bands at t, from the cache or the store; concurrent fetches of
// one tile share a single store read. notStored says the store is known not to hold t itself
// (a batched read just found none), so only the ancestor search runs.
func (s *Service) fetch(ctx context.Context, l catalog.Layer, t tile.ZXY, notStored bool) (*fetched, error) {
	key := tileKey{l.ID, l.Version, t}
	if f, ok := s.tiles.get(key); ok {
		s.hit("tile", true)
		return f, nil
	}
	s.hit("tile", false)
	if l.Version <= 0 { // never parsed: no tiles
		return &fetched{missing: true}, nil
	}
	flightKey := strconv.FormatInt(l.ID, 10) + "/" + strconv.FormatInt(l.Version, 10) + "/" + t.String()
	v, err, _ := s.flight.Do(flightKey, func() (any, error) {
		// The tile itself first: a primary-key lookup, cheaper than the ancestor search,
		// which runs only for tiles that are not stored (over-zoom, empty tiles).
		from := t
		var bands []*raster.Band
		err := catalog.ErrNotFound
		if !notStored {
			bands, err = s.store.Tile(ctx, l.ID, l.Version, t)
		}
		if errors.Is(err, catalog.ErrNotFound) {
			from, bands, err = s.store.NearestTile(ctx, l.ID, l.Version, t)
		}
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			f := &fetched{missing: true}
			s.tiles.put(key, f)
			return f, nil
		case err != nil:
			return nil, fmt.Errorf("tiles: read tile %v of layer %d: %w", t, l.ID, err)
		}
		if from != t {
			cut := make([]*raster.Band, len(bands))
			for i, b := range bands {
				cut[i] = overzoom(b, from, t)
			}
			bands = cut
		}
		f := &fetched{bands: bands}
		s.tiles.put(key, f)
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*fetched), nil
}

// overzoom cuts the part of band b (the tile from) that covers the deeper tile to, and
// resamples it to b's size by nearest neighbour, as django-raster does.
func overzoom(b *raster.Band, from, to tile.ZXY) *raster.Band {
	w, h := b.Width, b.Height
	out := &raster.Band{Type: b.Type, Width: w, Height: h, HasNoData: b.HasNoData, NoData: b.NoData,
		Data: make([]byte, len(b.Data))}
	scale := math.Ldexp(1, to.Z-from.Z) // to is scale×scale times smaller
	// Offset of to inside from, in units of to's size.
	ox := float64(to.X) - float64(from.X)*scale
	oy := float64(to.Y) - float64(from.Y)*scale
	size := b.Type.Size()
	cols := make([]int, w)
	for c := range cols {
		cols[c] = min(w-1, int((ox+(float64(c)+0.5)/float64(w))*float64(w)/scale))
	}
	for r := 0; r < h; r++ {
		sr := min(h-1, int((oy+(float64(r)+0.5)/float64(h))*float64(h)/scale))
		src := b.Data[sr*w*size : (sr+1)*w*size]
		dst := out.Data[r*w*size : (r+1)*w*size]
		for c, sc := range cols {
			copy(dst[c*size:(c+1)*size], src[sc*size:(sc+1)*size])
		}
	}
	return out
}

// pixelAt returns the column (or row) of a tile of size pixels at fraction f of its size: a
// point on the right or bottom edge belongs to the last pixel.
func pixelAt(f float64, size int) int {
	return min(size-1, max(0, int(math.Floor(f*float64(size)))))
}

// fetchAll fetches tile t of every variable's layer (fetchGrid at one address).
func (s *Service) fetchAll(ctx context.Context, vars []boundVar, t tile.ZXY) ([]*fetched, error) {
	out, err := s.fetchGrid(ctx, vars, []tile.ZXY{t})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// fetchGrid fetches every variable's layer at each address (out[a][v]), each layer once:
// the cache's misses of stored tiles in one query when there are two or more (fetchBatch,
// so a cold algebra tile, or a scaled tile's children, wait for one round trip to PostGIS
// rather than one per layer and address), the rest concurrently through fetch.
func (s *Service) fetchGrid(ctx context.Context, vars []boundVar, addrs []tile.ZXY) ([][]*fetched, error) {
	out := make([][]*fetched, len(addrs))
	for a := range out {
		out[a] = make([]*fetched, len(vars))
	}
	first := map[int64]int{} // layer id → index of the first variable reading it
	var distinct []int
	for i, v := range vars {
		if j, ok := first[v.layer.ID]; ok && vars[j].layer.Version == v.layer.Version {
			continue
		}
		first[v.layer.ID] = i
		distinct = append(distinct, i)
	}
	rest := s.fetchBatch(ctx, vars, distinct, addrs, out)
	if len(rest) == 1 {
		r := rest[0]
		f, err := s.fetch(ctx, vars[r.v].layer, addrs[r.a], r.notStored)
		if err != nil {
			return nil, err
		}
		out[r.a][r.v] = f
	} else if len(rest) > 1 {
		errs := make([]error, len(rest))
		var wg sync.WaitGroup
		for k, r := range rest {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[r.a][r.v], errs[k] = s.fetch(ctx, vars[r.v].layer, addrs[r.a], r.notStored)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	for _, fs := range out {
		for i, v := range vars {
			if fs[i] == nil {
				fs[i] = fs[first[v.layer.ID]]
			}
		}
	}
	return out, nil
}

// tilesReader is a Store that reads several layers at several addresses in one query
// (pgstore does; see its Tiles).
type tilesReader interface {
	Tiles(ctx context.Context, layers []catalog.LayerVersion, addrs []tile.ZXY) (map[catalog.LayerVersion]map[tile.ZXY][]*raster.Band, error)
}

// pending is a tile still to fetch: variable v's layer at address a; notStored says a
// batched read has just found the store without it, so fetch goes to the ancestor search.
type pending struct {
	a, v      int
	notStored bool
}

// fetchBatch looks up the layers of vars[distinct] at each address in the tile cache and
// reads the misses in one query when there are two or more, filling out (and the cache); it
// returns the tiles still to fetch one by one: those a layer does not store itself
// (over-zoom, no tile; marked notStored), a layer never parsed, and every miss when the store
// cannot batch or the query fails (the single fetches then report the error).
func (s *Service) fetchBatch(ctx context.Context, vars []boundVar, distinct []int, addrs []tile.ZXY, out [][]*fetched) (rest []pending) {
	tr, ok := s.store.(tilesReader)
	if !ok || len(distinct)*len(addrs) < 2 {
		for a := range addrs {
			for _, v := range distinct {
				rest = append(rest, pending{a: a, v: v})
			}
		}
		return rest
	}
	var misses []pending
	var layers []catalog.LayerVersion
	var at []tile.ZXY
	for a, t := range addrs {
		for _, v := range distinct {
			l := vars[v].layer
			if f, hit := s.tiles.get(tileKey{l.ID, l.Version, t}); hit {
				s.hit("tile", true)
				out[a][v] = f
				continue
			}
			if l.Version <= 0 { // never parsed: fetch answers missing
				rest = append(rest, pending{a: a, v: v})
				continue
			}
			misses = append(misses, pending{a: a, v: v})
			lv := catalog.LayerVersion{ID: l.ID, Version: l.Version}
			if !slices.Contains(layers, lv) {
				layers = append(layers, lv)
			}
			if !slices.Contains(at, t) {
				at = append(at, t)
			}
		}
	}
	if len(misses) < 2 {
		return append(rest, misses...)
	}
	// Every missing layer at every missing address: a cached tile among them (a layer
	// cached at one address and not at another) is read again, and not used.
	got, err := tr.Tiles(ctx, layers, at)
	if err != nil {
		return append(rest, misses...)
	}
	for _, m := range misses {
		l, t := vars[m.v].layer, addrs[m.a]
		bands, ok := got[catalog.LayerVersion{ID: l.ID, Version: l.Version}][t]
		if !ok {
			m.notStored = true
			rest = append(rest, m)
			continue
		}
		s.hit("tile", false)
		f := &fetched{bands: bands}
		s.tiles.put(tileKey{l.ID, l.Version, t}, f)
		out[m.a][m.v] = f
	}
	return rest
}

// formulaQuery binds a formula query's layers and compiles its formula, checking that every
// variable names a layer; z is the deepest max zoom of the layers, where pixel, export and
// statistics requests read by default.
func (s *Service) formulaQuery(ctx context.Context, q Query) (vars []boundVar, prog *formula.Program, z int, err error) {
	if vars, err = s.bind(ctx, q.Layers); err != nil {
		return nil, nil, 0, err
	}
	if prog, err = s.program(q.Formula); err != nil {
		return nil, nil, 0, err
	}
	names := map[string]bool{}
	for _, v := range vars {
		names[v.Name] = true
		z = max(z, maxZoom(v.layer))
	}
	if err = checkVars(prog, q.Formula, names); err != nil {
		return nil, nil, 0, err
	}
	return vars, prog, z, nil
}
