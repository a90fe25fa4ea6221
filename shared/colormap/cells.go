package colormap

import (
	"encoding/binary"
	"math"
	"sync"
)

// A continuous colormap over a known range (its own, or the caller's) colours every tile of
// a map with the same function of the value. After a few tiles it is coloured through a
// cell table instead of per-pixel arithmetic, natively (the browser colours by arithmetic:
// cells_js.go): the range is cut into cellCount cells by cell(v) = int((v−lo)·scale); a
// cell whose every value gets one colour holds that colour, the others ("mixed", the ~1.5 %
// where a channel steps) are computed as before. The bytes are those of the arithmetic,
// for every value:
//
//   - cell is monotone in v, so cell j is an interval of float64 values, from first(j),
//     its smallest value (searched to the last ulp), up to first(j+1) excluded;
//   - within one segment (or, for a named colormap, one table index) every channel is a
//     monotone function of v: t = (v−lo)/span, s = t·nseg, f = s−k and base+f·step are
//     each monotone in the one before (rounding keeps order), and truncation too;
//   - so when first(j) and first(j+1) fall in the same segment with the same colour,
//     every value between them has that colour.
//
// BenchmarkColorize/continuous_over_range 1.7 ns a pixel, against 3.1 by arithmetic
// (BenchmarkColorizeArithmetic); BenchmarkBuildCells 1.3 ms (wasm under node: 4.2 and 12.4
// ns a pixel, 3.9 ms a build). 2^16 cells rather than 2^14: the mixed cells' pixels (6 % of
// a smooth tile's with 2^14, each ~20 ns) made BenchmarkRenderAlgebra2 4.5–4.7 ns a pixel,
// 4.1–4.3 with 2^16.
const (
	cellCount = 1 << 16
	// cellsAfter is how many pixels a colormap and range colour by arithmetic before their
	// table is built (eight 256×256 tiles): building costs about as much as colouring five
	// or six by arithmetic, here and in wasm, so one-off renders never pay for it.
	cellsAfter = 8 * cellCount
	// maxCellTables bounds the tables kept (256 KiB each) and maxCellCounts the colormaps
	// and ranges still counting towards one; past either, the least recently used of its
	// kind goes, so a burst of one-off ranges (a range slider dragged) never evicts a table.
	maxCellTables = 16
	maxCellCounts = 256
)

// cellTable is the cell table of one colormap over [lo, hi]: each cell holds its colour
// (R in the lowest byte, as the pixels are stored), or mixed, a value no constant cell
// holds, for a cell whose pixels are computed one by one.
type cellTable struct {
	lo, hi, scale float64
	cells         []uint32
	mixed         uint32
}

// cellKey names a colormap (cellKey, made once per colormap) and a range.
type cellKey struct {
	colormap string
	lo, hi   float64
}

type cellEntry struct {
	pixels   int    // coloured by arithmetic so far
	used     uint64 // cellCache.tick at its last use
	building bool   // its table is built or being built: it counts among the tables
	done     bool   // built (table may be nil: a range no table can cut, not tried again)
	table    *cellTable
}

var cellCache = struct {
	mu      sync.Mutex
	entries map[cellKey]*cellEntry
	tick    uint64
	tables  int // entries building
}{entries: map[cellKey]*cellEntry{}}

// cells returns the cell table of c over [lo, hi] when one is built, counting n pixels
// towards building it otherwise (the call that reaches cellsAfter builds it, then returns
// it). It returns nil for a colormap without a key, a range no table can cut, and in the
// browser (cellsOn).
func (c *Colormap) cells(lo, hi float64, n int) *cellTable {
	if !cellsOn || c.cellKey == "" || !(hi > lo) {
		return nil
	}
	k := cellKey{c.cellKey, lo, hi}
	cc := &cellCache
	cc.mu.Lock()
	cc.tick++
	e := cc.entries[k]
	if e == nil {
		if len(cc.entries)-cc.tables >= maxCellCounts {
			evictCells(false)
		}
		e = &cellEntry{}
		cc.entries[k] = e
	}
	e.used = cc.tick
	if e.building {
		t := e.table
		cc.mu.Unlock()
		return t
	}
	e.pixels += n
	if e.pixels < cellsAfter {
		cc.mu.Unlock()
		return nil
	}
	if cc.tables >= maxCellTables {
		evictCells(true)
	}
	e.building = true
	cc.tables++
	cc.mu.Unlock()

	t := c.buildCells(lo, hi, cellCount)
	cc.mu.Lock()
	e.table, e.done = t, true
	cc.mu.Unlock()
	return t
}

// evictCells removes the least recently used entry holding a built table (tables) or still
// counting (!tables); tables being built stay. cellCache.mu is held.
func evictCells(tables bool) {
	cc := &cellCache
	var victim cellKey
	var oldest *cellEntry
	for k, e := range cc.entries {
		if e.building != tables || (tables && !e.done) {
			continue
		}
		if oldest == nil || e.used < oldest.used {
			victim, oldest = k, e
		}
	}
	if oldest != nil {
		delete(cc.entries, victim)
		if tables {
			cc.tables--
		}
	}
}

// buildCells cuts [lo, hi] into n cells; nil when the range is too narrow or too wide for
// cell's arithmetic (a span or scale that is not a normal finite number).
func (c *Colormap) buildCells(lo, hi float64, n int) *cellTable {
	span := hi - lo
	scale := float64(n) / span
	if !(span > 0) || math.IsInf(span, 0) || math.IsInf(scale, 0) || scale < 0x1p-1022 {
		return nil
	}
	t := &cellTable{lo: lo, hi: hi, scale: scale, cells: make([]uint32, n+1)}
	// Cell j holds the values from first(j), the smallest value whose cell is j, up to
	// first(j+1), excluded: one colour for the whole closed interval (same segment, same
	// colour at both ends) makes it constant. One evaluation a boundary. Cells 0, n−1 and n
	// stay mixed (see apply), and so do those past a first(j) beyond hi.
	constant := make([]bool, n+1)
	used := map[uint32]bool{} // the constant cells' colours (inserted on change: few)
	var last uint32
	prevK, prevC := c.at(lo, lo, hi)
	for j := 1; j < n; j++ {
		f := nextUp(t.lastBelow(j))
		if f > hi {
			break
		}
		k, col := c.at(f, lo, hi)
		if j >= 2 && k == prevK && col == prevC { // cell j−1 is constant
			t.cells[j-1], constant[j-1] = col, true
			if len(used) == 0 || col != last {
				used[col], last = true, col
			}
		}
		prevK, prevC = k, col
	}
	for used[t.mixed] { // at most n colours are used: one of n+1 values is free
		t.mixed++
	}
	for j, isConstant := range constant {
		if !isConstant {
			t.cells[j] = t.mixed
		}
	}
	return t
}

// nextUp and nextDown are the finite float64 values after and before x (math.Nextafter
// without its NaN and infinity cases: 4 % of a build).
func nextUp(x float64) float64 {
	switch {
	case x > 0:
		return math.Float64frombits(math.Float64bits(x) + 1)
	case x < 0:
		return math.Float64frombits(math.Float64bits(x) - 1)
	}
	return math.SmallestNonzeroFloat64
}

func nextDown(x float64) float64 { return -nextUp(-x) }

// cell is the cell of a value v in [lo, hi] (hi's may be n; it is counted in n−1).
func (t *cellTable) cell(v float64) int {
	return min(int((v-t.lo)*t.scale), len(t.cells)-2)
}

// lastBelow returns the largest value in [lo, hi] whose cell is below j (j ≥ 1, so lo is
// one): from the cell's nominal start, a few ulps either way, else a bisection over the
// ordered float64 values.
func (t *cellTable) lastBelow(j int) float64 {
	g := min(max(t.lo+float64(j)/t.scale, t.lo), t.hi)
	for range 16 {
		if t.cell(g) >= j {
			g = nextDown(g)
			continue
		}
		next := nextUp(g)
		if next > t.hi || t.cell(next) >= j {
			return g
		}
		g = next
	}
	a, b := ordered(t.lo), ordered(t.hi) // cell(a) < j; the answer is in [a, b]
	for a < b {
		m := a + int64((uint64(b)-uint64(a)+1)/2) // b−a may not fit an int64
		if t.cell(unordered(m)) < j {
			a = m
		} else {
			b = m - 1
		}
	}
	return unordered(a)
}

// ordered maps float64 values to integers in the same order (both zeros to 0).
func ordered(f float64) int64 {
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return -int64(b &^ (1 << 63))
	}
	return int64(b)
}

func unordered(o int64) float64 {
	if o < 0 {
		return math.Float64frombits(uint64(-o) | 1<<63)
	}
	return math.Float64frombits(uint64(o))
}

// at is the colour of one value v in [lo, hi] and the segment (or table index) it falls
// in, by the operations continuous uses for each pixel.
func (c *Colormap) at(v, lo, hi float64) (int, uint32) {
	span := hi - lo
	t := 0.0
	if span > 0 {
		t = (v - lo) / span
	}
	if c.lut != nil {
		k := min(int(t*float64(len(c.lut))), len(c.lut)-1)
		col := c.lut[k]
		return k, uint32(col.R) | uint32(col.G)<<8 | uint32(col.B)<<16 | uint32(col.A)<<24
	}
	segs := c.segs
	s := t * float64(len(segs))
	k := min(int(s), len(segs)-1)
	f := s - float64(k)
	g := &segs[k]
	r, gr, b := uint8(g.base[0]+f*g.step[0]), uint8(g.base[1]+f*g.step[1]), uint8(g.base[2]+f*g.step[2])
	a := uint8(255)
	if !c.opaque {
		a = uint8(g.base[3] + f*g.step[3])
	}
	return k, uint32(r) | uint32(gr)<<8 | uint32(b)<<16 | uint32(a)<<24
}

// apply colours vals as continuous does over the table's range.
//
// One unsigned comparison of the cell index refuses what lies far outside the range, NaN
// and ±Inf (an out-of-range conversion gives a huge or negative int, or 0 where it
// saturates, as on wasm); cells 0 and n−1 and the extra cell n, where the index of a value
// just outside the range may land, are mixed, so those values get continuous's own tests.
func (t *cellTable) apply(c *Colormap, pix []uint8, vals []float64, mask []bool) {
	lo, hi, scale, cells, mixed := t.lo, t.hi, t.scale, t.cells, t.mixed
	nc := uint(len(cells))
	out := pix[:4*len(vals)]
	for len(vals) > 0 {
		// Four pixels a step when all four fall in constant cells (a loop step costs about
		// as much as a pixel's work here: BenchmarkRenderAlgebra2 3.16–3.23 → 2.83–3.02 ns a
		// pixel), else each by itself.
		if len(vals) >= 4 && len(out) >= 16 {
			w, o := vals[:4:4], out[:16:16]
			j0, j1 := uint(int((w[0]-lo)*scale)), uint(int((w[1]-lo)*scale))
			j2, j3 := uint(int((w[2]-lo)*scale)), uint(int((w[3]-lo)*scale))
			if j0 < nc && j1 < nc && j2 < nc && j3 < nc {
				e0, e1, e2, e3 := cells[j0], cells[j1], cells[j2], cells[j3]
				if e0 != mixed && e1 != mixed && e2 != mixed && e3 != mixed {
					binary.LittleEndian.PutUint32(o[0:4], e0)
					binary.LittleEndian.PutUint32(o[4:8], e1)
					binary.LittleEndian.PutUint32(o[8:12], e2)
					binary.LittleEndian.PutUint32(o[12:16], e3)
					vals, out = vals[4:], out[16:]
					continue
				}
			}
		}
		w := vals[:min(4, len(vals))]
		for _, v := range w {
			var col uint32 // transparent
			if j := uint(int((v - lo) * scale)); j < nc {
				if e := cells[j]; e != mixed {
					col = e
				} else if v >= lo && v <= hi {
					_, col = c.at(v, lo, hi)
				}
			}
			binary.LittleEndian.PutUint32(out, col)
			out = out[4:]
		}
		vals = vals[len(w):]
	}
	for i, m := range mask {
		if m {
			binary.LittleEndian.PutUint32(pix[4*i:], 0)
		}
	}
}
