package tiles

import (
	"context"
	"encoding/binary"
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
	// Past the layer's max zoom no tile is stored: t is cut from the one above it, whose
	// place at the max zoom (place) the cache may hold for t's siblings (below).
	past := pastMaxZoom(l, t)
	var place tileKey
	if past {
		place = tileKey{l.ID, l.Version, t.Ancestor(l.Meta.MaxZoom)}
	}
	flightKey := strconv.FormatInt(l.ID, 10) + "/" + strconv.FormatInt(l.Version, 10) + "/" + t.String()
	v, err, _ := s.flight.Do(flightKey, func() (any, error) {
		// The tile itself first: a primary-key lookup, cheaper than the ancestor search,
		// which runs only for tiles that are not stored (over-zoom, empty tiles). Past the
		// layer's max zoom, the place there above t, when the cache holds it: a sibling's
		// ancestor search put it there (below), so the 4^k tiles a map shows k zooms past
		// a layer's pixels read their one ancestor once, not each. (Should that tile be a
		// cut itself, of an empty tile's ancestor, cutting again gives the same pixels:
		// both cuts are nearest neighbour on the same power-of-two grid.)
		from := t
		var bands []*raster.Band
		err := catalog.ErrNotFound
		switch {
		case past:
			if f, ok := s.tiles.get(place); ok {
				if f.missing { // no data there nor above: none here either
					f := &fetched{missing: true}
					s.tiles.put(key, f)
					return f, nil
				}
				from, bands, err = place.t, f.bands, nil
			}
		case !notStored:
			bands, err = s.store.Tile(ctx, l.ID, l.Version, t)
		}
		if errors.Is(err, catalog.ErrNotFound) {
			from, bands, err = s.store.NearestTile(ctx, l.ID, l.Version, t)
			if err == nil && from != t {
				s.tiles.put(tileKey{l.ID, l.Version, from}, &fetched{bands: bands})
				if past && from.Z < place.t.Z {
					// Found above the max zoom (no tile stored there: the parse dropped it as
					// empty): the place at the max zoom, cut once, is what t's siblings look
					// for in the cache (above); without it each searched the store again.
					s.tiles.put(place, &fetched{bands: overzoomAll(bands, from, place.t)})
				}
			}
		}
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			f := &fetched{missing: true}
			s.tiles.put(key, f)
			if past {
				// The search found nothing at t's place at the max zoom nor above: that place
				// is missing too, and its other descendants are missing from the cache
				// (above) without a search each.
				s.tiles.put(place, f)
			}
			return f, nil
		case err != nil:
			return nil, fmt.Errorf("tiles: read tile %v of layer %d: %w", t, l.ID, err)
		}
		if from != t {
			bands = overzoomAll(bands, from, t)
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

// pastMaxZoom tells whether t is deeper than the layer's parse went (its metadata's max
// zoom), where no tile is stored: such a tile is cut from a coarser one, and asking for it
// first would be one query for nothing (a map zoomed in past a layer's pixels asks that for
// every tile).
func pastMaxZoom(l catalog.Layer, t tile.ZXY) bool {
	return l.Meta != nil && l.Meta.MaxZoom > 0 && t.Z > l.Meta.MaxZoom
}

// overzoomAll is overzoom of each band of tile from.
func overzoomAll(bands []*raster.Band, from, to tile.ZXY) []*raster.Band {
	cut := make([]*raster.Band, len(bands))
	for i, b := range bands {
		cut[i] = overzoom(b, from, to)
	}
	return cut
}

// overzoom cuts the part of band b (the tile from) that covers the deeper tile to, and
// resamples it to b's size by nearest neighbour, as django-raster does.
//
// Why the row and pixel loops below: a map zoomed past a layer's pixels asks for nothing but
// such tiles, and a memmove call a pixel took 250 µs a 256×256 Float32 tile, most of what the
// server spends on one. Consecutive rows that read the same source row (two in a row a zoom
// deeper, 2^k for k zooms) are one copy of the row before; a row is gathered with a load and
// a store of the pixel's width.
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
	rowBytes := w * size
	prev := -1
	for r := 0; r < h; r++ {
		sr := min(h-1, int((oy+(float64(r)+0.5)/float64(h))*float64(h)/scale))
		dst := out.Data[r*rowBytes : (r+1)*rowBytes : (r+1)*rowBytes]
		if sr == prev {
			copy(dst, out.Data[(r-1)*rowBytes:r*rowBytes])
			continue
		}
		prev = sr
		gatherRow(dst, b.Data[sr*rowBytes:(sr+1)*rowBytes:(sr+1)*rowBytes], cols, size)
	}
	return out
}

// gatherRow sets pixel c of dst to pixel cols[c] of src, pixels of size bytes.
func gatherRow(dst, src []byte, cols []int, size int) {
	switch size {
	case 1:
		for c, sc := range cols {
			dst[c] = src[sc]
		}
	case 2:
		for c, sc := range cols {
			binary.LittleEndian.PutUint16(dst[2*c:2*c+2:2*c+2], binary.LittleEndian.Uint16(src[2*sc:2*sc+2:2*sc+2]))
		}
	case 4:
		for c, sc := range cols {
			binary.LittleEndian.PutUint32(dst[4*c:4*c+4:4*c+4], binary.LittleEndian.Uint32(src[4*sc:4*sc+4:4*sc+4]))
		}
	case 8:
		for c, sc := range cols {
			binary.LittleEndian.PutUint64(dst[8*c:8*c+8:8*c+8], binary.LittleEndian.Uint64(src[8*sc:8*sc+8:8*sc+8]))
		}
	default:
		for c, sc := range cols {
			copy(dst[c*size:(c+1)*size], src[sc*size:(sc+1)*size])
		}
	}
}

// pixelAt returns the column (or row) of a tile of size pixels at fraction f of its size: a
// point on the right or bottom edge belongs to the last pixel.
func pixelAt(f float64, size int) int {
	return min(size-1, max(0, int(math.Floor(f*float64(size)))))
}

// fetchAll fetches tile t of every variable's layer, concurrently (each layer once), so a
// cold algebra tile waits for one round trip to PostGIS rather than one per layer.
func (s *Service) fetchAll(ctx context.Context, vars []boundVar, t tile.ZXY) ([]*fetched, error) {
	out := make([]*fetched, len(vars))
	first := map[int64]int{} // layer id → index of the first variable reading it
	var todo []int
	for i, v := range vars {
		if j, ok := first[v.layer.ID]; ok && vars[j].layer.Version == v.layer.Version {
			continue
		}
		first[v.layer.ID] = i
		todo = append(todo, i)
	}
	todo, notStored := s.fetchBatch(ctx, vars, todo, t, out)
	if len(todo) == 1 {
		f, err := s.fetch(ctx, vars[todo[0]].layer, t, notStored[todo[0]])
		if err != nil {
			return nil, err
		}
		out[todo[0]] = f
	} else if len(todo) > 1 {
		errs := make([]error, len(vars))
		var wg sync.WaitGroup
		for _, i := range todo {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				out[i], errs[i] = s.fetch(ctx, vars[i].layer, t, notStored[i])
			}(i)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	for i, v := range vars {
		if out[i] == nil {
			out[i] = out[first[v.layer.ID]]
		}
	}
	return out, nil
}

// tilesReader is a Store that reads one address of several layers in one query (pgstore
// does; see its Tiles).
type tilesReader interface {
	Tiles(ctx context.Context, layers []catalog.LayerVersion, t tile.ZXY) (map[catalog.LayerVersion][]*raster.Band, error)
}

// fetchBatch reads tile t of the layers of vars[todo] that are not cached in one query, when
// there are two or more, caching what it read into out (and the tile cache); it returns the
// variables still to fetch one by one: those whose layer does not store t itself (over-zoom,
// no tile; marked in notStored, by variable), and all of them when the store cannot batch or
// the query fails (the single fetches then report the error).
func (s *Service) fetchBatch(ctx context.Context, vars []boundVar, todo []int, t tile.ZXY, out []*fetched) (rest []int, notStored map[int]bool) {
	tr, ok := s.store.(tilesReader)
	if !ok || len(todo) < 2 {
		return todo, nil
	}
	var layers []catalog.LayerVersion
	var misses []int
	for _, i := range todo {
		l := vars[i].layer
		if f, hit := s.tiles.get(tileKey{l.ID, l.Version, t}); hit {
			s.hit("tile", true)
			out[i] = f
			continue
		}
		if l.Version <= 0 || pastMaxZoom(l, t) {
			continue // never parsed (fetch answers missing), or over-zoomed (fetch cuts it)
		}
		layers = append(layers, catalog.LayerVersion{ID: l.ID, Version: l.Version})
		misses = append(misses, i)
	}
	rest = make([]int, 0, len(todo))
	for _, i := range todo {
		if out[i] == nil && !slices.Contains(misses, i) {
			rest = append(rest, i)
		}
	}
	if len(misses) < 2 {
		return append(rest, misses...), nil
	}
	got, err := tr.Tiles(ctx, layers, t)
	if err != nil {
		return append(rest, misses...), nil
	}
	notStored = map[int]bool{}
	for _, i := range misses {
		l := vars[i].layer
		bands, ok := got[catalog.LayerVersion{ID: l.ID, Version: l.Version}]
		if !ok {
			rest = append(rest, i)
			notStored[i] = true
			continue
		}
		s.hit("tile", false)
		f := &fetched{bands: bands}
		s.tiles.put(tileKey{l.ID, l.Version, t}, f)
		out[i] = f
	}
	return rest, notStored
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
