package tiles

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Scales a tile URL may ask for with @Nx: tiles/{layer}/{z}/{x}/{y}@2x.png is the area of
// tile z/x/y in twice the pixels (512×512 at RASTER_TILESIZE 256), for high-density screens
// and for MapLibre sources of tileSize 512, as TiTiler's and Mapbox's @2x tiles are. Only
// powers of two: such a tile is its children at zoom z+1 (z+2 for @4x) put side by side, so
// its pixels are the stored pixels of that zoom, or cut from a coarser tile as over-zoomed
// tiles are.
const MaxScale = 4

// splitScale reads the optional @Nx suffix of a tile URL's y ("5@2x"): y without it and the
// scale, 1 without a suffix.
func splitScale(y string) (string, int, error) {
	at := strings.LastIndexByte(y, '@')
	if at < 0 {
		return y, 1, nil
	}
	s := y[at+1:]
	n, ok := parseTileScale(strings.TrimSuffix(s, "x"))
	if !strings.HasSuffix(s, "x") || !ok {
		return y, 0, paramErr("scale", "%q is not a tile scale: use @2x or @4x after y (z/x/y@2x.png)", clip("@"+s))
	}
	return y[:at], n, nil
}

// parseTileScale reads a scale as a URL's @Nx and TileJSON's tile_scale give it: 1, 2 or 4.
func parseTileScale(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= MaxScale && n&(n-1) == 0
}

// scaleLevels is log2 of scale: how many zooms deeper a tile of this scale reads.
func scaleLevels(scale int) int {
	k := 0
	for ; scale > 1; scale >>= 1 {
		k++
	}
	return k
}

// checkScale checks that tile t at scale has children to read: z + log2(scale) ≤ tile.MaxZoom.
func checkScale(t tile.ZXY, scale int) error {
	if z := t.Z + scaleLevels(scale); z > tile.MaxZoom {
		return paramErr("scale", "@%dx of zoom %d reads zoom %d, deeper than %d", scale, t.Z, z, tile.MaxZoom)
	}
	return nil
}

// MaxScaledBytes bounds what a scaled tile (@2x, @4x) holds while it is made, counted per
// pixel of the answer: every band of each of its layers as stored (a stored tile is read
// whole, all its bands) and 8 bytes for each variable (its value as the formula reads it, a
// float64). Past it the request is a 400. At RASTER_TILESIZE 256 it takes @4x of four Float64
// layers and @2x of sixteen; its value is a .msgpack answer's limit (rawtile.MaxSize), so a
// scaled .msgpack is always one the browser's decoder reads. Why: a scaled tile reads
// scale² times an @1x tile's pixels, and @4x over sixteen Float64 layers held some 400 MB
// for one request (eight at once 1.9 GB, a MapLibre map's worth of tiles); an @1x tile is not
// bounded so, its cost being the layers' own.
const MaxScaledBytes = rawtile.MaxSize

// scaledBytes is what a tile of size pixels a side at scale holds per MaxScaledBytes, for the
// layers of its variables (one entry a variable, the same layer repeated as often as it is
// named), and how many distinct layers those are.
func scaledBytes(layers []catalog.Layer, size, scale int) (n int64, distinct int) {
	var perPixel int64
	seen := map[int64]bool{}
	for _, l := range layers {
		perPixel += 8
		if seen[l.ID] {
			continue
		}
		seen[l.ID] = true
		for _, b := range l.Bands {
			perPixel += int64(b.Type.Size())
		}
	}
	side := int64(size) * int64(scale)
	return side * side * perPixel, len(seen)
}

// checkScaledBytes refuses a scale above 1 whose tile would hold more than MaxScaledBytes
// (scaledBytes): an error for param (the URL's scale, TileJSON's tile_scale) naming what the
// tile would hold and what to change.
func checkScaledBytes(param string, layers []catalog.Layer, size, scale int) error {
	if scale <= 1 {
		return nil
	}
	n, distinct := scaledBytes(layers, size, scale)
	if n <= MaxScaledBytes {
		return nil
	}
	side := size * scale
	return paramErr(param, "@%dx would hold %d MiB (%d×%d pixels, each with the stored bands of %d layer(s) and 8 bytes for each of %d variable(s)), more than the %d MiB a scaled tile may hold: use a lower scale or fewer layers",
		scale, (n+1<<20-1)>>20, side, side, distinct, len(layers), MaxScaledBytes>>20)
}

// errNoChild says a child of a scaled tile is missing for a layer band without nodata: no
// value can mark its pixels as empty, so the answer is the empty tile.
var errNoChild = errors.New("tiles: a child tile is missing for a band without nodata")

// scaledBands returns each variable's band at tile t in scale times its pixels: the bands of
// t's descendants log2(scale) zooms deeper, read concurrently (each through fetchAll, so one
// query for all layers at a child) and put side by side. A child a layer does not store (nor
// any coarser tile to cut it from) is nodata; when it is missing for every child, or the band
// has no nodata, the variable is missing (nil), and the answer is the empty tile.
func (s *Service) scaledBands(ctx context.Context, vars []boundVar, t tile.ZXY, scale int) ([]*raster.Band, error) {
	k := scaleLevels(scale)
	n := 1 << k
	children := make([][]*fetched, n*n)
	errs := make([]error, n*n)
	var wg sync.WaitGroup
	for i := range children {
		c := tile.ZXY{Z: t.Z + k, X: t.X<<k + i%n, Y: t.Y<<k + i/n}
		wg.Add(1)
		go func() {
			defer wg.Done()
			children[i], errs[i] = s.fetchAll(ctx, vars, c)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]*raster.Band, len(vars))
	for v := range vars {
		parts := make([]*raster.Band, n*n)
		for i, fs := range children {
			parts[i] = fs[v].band(vars[v].Band)
		}
		b, err := stitch(parts, n)
		if errors.Is(err, errNoChild) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[v] = b
	}
	return out, nil
}

// stitch puts n×n bands of one layer (row-major, nil where missing) side by side: one band of
// n times their width and height, nodata where one is missing. All missing: nil, no error.
func stitch(parts []*raster.Band, n int) (*raster.Band, error) {
	var first *raster.Band
	missing := false
	for _, p := range parts {
		if p == nil {
			missing = true
		} else if first == nil {
			first = p
		}
	}
	if first == nil {
		return nil, nil
	}
	if missing && !first.HasNoData {
		return nil, errNoChild
	}
	w, h, size := first.Width, first.Height, first.Type.Size()
	out := raster.New(first.Type, w*n, h*n)
	out.HasNoData, out.NoData = first.HasNoData, first.NoData
	var ndRow []byte // a child's row of nodata, made when a child is missing
	rowBytes := w * size
	for i, p := range parts {
		if p != nil && (p.Type != first.Type || p.Width != w || p.Height != h) {
			return nil, errors.New("tiles: the child tiles of a scaled tile differ in type or size")
		}
		if p == nil && ndRow == nil {
			nd := raster.New(first.Type, w, 1)
			for c := 0; c < w; c++ {
				nd.Set(c, first.NoData)
			}
			ndRow = nd.Data
		}
		x0, y0 := i%n*w, i/n*h
		for r := 0; r < h; r++ {
			dst := out.Data[((y0+r)*w*n+x0)*size:][:rowBytes]
			if p == nil {
				copy(dst, ndRow)
			} else {
				copy(dst, p.Data[r*rowBytes:][:rowBytes])
			}
		}
	}
	return out, nil
}

// withTileScale reads a TileJSON request's tile_scale (TiTiler's name for it): 2 or 4 make
// the document's tile URLs ask for @2x or @4x tiles and its tileSize that many times
// RASTER_TILESIZE (size), for MapLibre's 512-pixel sources and high-density screens. The
// parameter itself leaves the tile URLs' query. A scale whose tiles would be refused
// (checkScaledBytes) is refused here, rather than on every tile.
func (src tileSource) withTileScale(size int) (tileSource, error) {
	v := src.query.Get("tile_scale")
	if v == "" {
		return src, nil
	}
	n, ok := parseTileScale(v)
	if !ok {
		return src, paramErr("tile_scale", "%q: use 1, 2 or 4", clip(v))
	}
	if err := checkScaledBytes("tile_scale", src.layers, size, n); err != nil {
		return src, err
	}
	src.scale, src.query = n, cloneWithout(src.query, "tile_scale")
	return src, nil
}
