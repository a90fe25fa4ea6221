package colormap

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/shared/formula"
)

// cellColormaps are the colormaps the cell-table tests colour with: stops with and without
// alpha, grey ones (continuousGrey's paths), named tables.
var cellColormaps = []string{
	`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`,
	`{"continuous": true, "from": "#12345678", "over": "#fedcba98", "to": "#00ff0080"}`,
	`{"continuous": true, "from": "#000000", "to": "#ffffff"}`,
	`{"continuous": true, "from": "#10101080", "over": "#e0e0e080", "to": "#40404080"}`,
	`{"continuous": true, "from": "#ff0000", "to": "#fe0000"}`,
	`viridis`,
	`magma_r`,
}

// TestCellTableMatchesContinuous colours values through cell tables and by continuous's
// arithmetic and wants the same bytes: random values, both sides of every cell boundary,
// the range's ends and what lies outside it.
func TestCellTableMatchesContinuous(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	ranges := [][2]float64{{600, 1500}, {-3, 7}, {0.5, 0.75}, {-1e-300, 1e-300}, {1e15, 1e15 + 3}, {-5e307, 5e307}, {0, 1}}
	for _, js := range cellColormaps {
		c, err := Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ranges {
			for _, n := range []int{cellCount, 37} {
				lo, hi := r[0], r[1]
				tab := c.buildCells(lo, hi, n)
				if tab == nil {
					t.Fatalf("%s over %v: no table of %d cells", js, r, n)
				}
				var vals []float64
				for range 20000 {
					vals = append(vals, lo+rng.Float64()*(hi-lo))
				}
				for j := 1; j < n; j++ {
					b := tab.lastBelow(j)
					if tab.cell(b) >= j || (b < hi && tab.cell(math.Nextafter(b, math.Inf(1))) < j) {
						t.Fatalf("%s over %v: lastBelow(%d) = %v is not the last value below cell %d", js, r, j, b, j)
					}
					for _, v := range []float64{b, math.Nextafter(b, math.Inf(-1)), math.Nextafter(b, math.Inf(1)), math.Nextafter(math.Nextafter(b, math.Inf(1)), math.Inf(1))} {
						vals = append(vals, v)
					}
				}
				for _, v := range []float64{lo, hi, math.Nextafter(lo, math.Inf(-1)), math.Nextafter(lo, math.Inf(1)),
					math.Nextafter(hi, math.Inf(-1)), math.Nextafter(hi, math.Inf(1)), math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
					lo - (hi-lo)/2, hi + (hi-lo)/2, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64} {
					vals = append(vals, v)
				}
				if err := sameAsContinuous(c, tab, vals, 97, lo, hi); err != nil {
					t.Fatalf("%s over %v, %d cells: %v", js, r, n, err)
				}
			}
		}
	}
}

// sameAsContinuous colours vals through tab and by continuous, without a mask and with every
// every-th value masked, and returns an error naming the first value whose bytes differ.
func sameAsContinuous(c *Colormap, tab *cellTable, vals []float64, every int, lo, hi float64) error {
	mask := make([]bool, len(vals))
	for i := range mask {
		mask[i] = i%every == every/2
	}
	for _, m := range [][]bool{nil, mask} {
		want := make([]uint8, 4*len(vals))
		got := bytes.Repeat([]uint8{7}, 4*len(vals)) // every byte must be written
		c.continuous(want, vals, m, lo, hi)
		tab.apply(c, got, vals, m)
		for i, v := range vals {
			if !bytes.Equal(got[4*i:4*i+4], want[4*i:4*i+4]) {
				j := int((v - lo) * tab.scale)
				entry := "none"
				if j >= 0 && j < len(tab.cells) {
					entry = fmt.Sprintf("%#x (mixed %#x)", tab.cells[j], tab.mixed)
				}
				return fmt.Errorf("value %v (%#x, cell %d, entry %s, masked %v) coloured %v, arithmetic %v",
					v, math.Float64bits(v), j, entry, m != nil && m[i], got[4*i:4*i+4], want[4*i:4*i+4])
			}
		}
	}
	return nil
}

// TestCellTableUseful: a table of mostly mixed cells would colour by arithmetic with a
// lookup on top. The bench colormap (three stops, two channels stepping 255 times in each
// segment) leaves at most ~1020 of the 65536 cells mixed.
func TestCellTableUseful(t *testing.T) {
	c, err := Parse([]byte(`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`))
	if err != nil {
		t.Fatal(err)
	}
	tab := c.buildCells(600, 1500, cellCount)
	mixed := 0
	for _, e := range tab.cells {
		if e == tab.mixed {
			mixed++
		}
	}
	if mixed > 1100 || mixed < 500 {
		t.Errorf("%d of %d cells mixed; want the ~1020 where a channel steps", mixed, len(tab.cells))
	}
}

// TestColorizeBuildsCells: Colorize with a known range switches to the cell table after
// cellsAfter pixels, with the same bytes; a range taken from the data builds none; the
// cache stays bounded.
func TestColorizeBuildsCells(t *testing.T) {
	if !cellsOn {
		t.Skip("cell tables are off in the browser build (cells_js.go); TestCellsOff checks that")
	}
	c, err := Parse([]byte(`{"continuous": true, "from": "#00ff00", "over": "#ffffff", "to": "#ff00ff", "range": [-40, 80]}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, 256*256)
	for i := range vals {
		vals[i] = -50 + 140*math.Sin(float64(i)/777)
	}
	x := formula.Array{Values: vals}
	first := make([]uint8, 4*len(vals))
	if _, err := c.Colorize(first, x, nil); err != nil {
		t.Fatal(err)
	}
	key := cellKey{c.cellKey, -40, 80}
	entry := func() *cellEntry {
		cellCache.mu.Lock()
		defer cellCache.mu.Unlock()
		return cellCache.entries[key]
	}
	if e := entry(); e == nil || e.table != nil || e.pixels != len(vals) {
		t.Fatalf("after one tile: entry %+v, want %d pixels counted and no table", e, len(vals))
	}
	for i := 0; i < cellsAfter/len(vals)+1; i++ {
		pix := make([]uint8, 4*len(vals))
		if _, err := c.Colorize(pix, x, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pix, first) {
			t.Fatalf("tile %d differs from the first", i+2)
		}
	}
	if e := entry(); e == nil || e.table == nil {
		t.Fatalf("after %d pixels: no cell table (%+v)", cellsAfter+len(vals), e)
	}

	// The layer's range passed by the caller counts as known; the data's own does not.
	g := Grayscale()
	for range 3 {
		if _, err := g.Colorize(first, x, nil); err != nil {
			t.Fatal(err)
		}
	}
	cellCache.mu.Lock()
	for k := range cellCache.entries {
		if k.colormap == g.cellKey {
			t.Errorf("a cell entry for a range from the data: %+v", k)
		}
	}
	cellCache.mu.Unlock()
	if _, err := g.Colorize(first, x, &[2]float64{-90, 90}); err != nil {
		t.Fatal(err)
	}
	cellCache.mu.Lock()
	_, ok := cellCache.entries[cellKey{g.cellKey, -90, 90}]
	cellCache.mu.Unlock()
	if !ok {
		t.Error("no cell entry for the caller's range")
	}

}

// TestCellCacheEviction: the cache holds at most maxCellTables tables and maxCellCounts
// counting entries; the least recently used goes, and a burst of one-off ranges (a range
// slider dragged) evicts no table.
func TestCellCacheEviction(t *testing.T) {
	if !cellsOn {
		t.Skip("cell tables are off in the browser build (cells_js.go); TestCellsOff checks that")
	}
	c, err := Parse([]byte(`{"continuous": true, "from": "#102030", "to": "#f0e0d0"}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, cellsAfter) // one call reaches the threshold
	for i := range vals {
		vals[i] = float64(i) / float64(len(vals))
	}
	pix := make([]uint8, 4*len(vals))
	colour := func(lo, hi float64, n int) {
		t.Helper()
		w, err := c.WithRange(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Colorize(pix[:4*n], formula.Array{Values: vals[:n]}, nil); err != nil {
			t.Fatal(err)
		}
	}
	table := func(lo, hi float64) *cellTable {
		cellCache.mu.Lock()
		defer cellCache.mu.Unlock()
		if e := cellCache.entries[cellKey{c.cellKey, lo, hi}]; e != nil {
			return e.table
		}
		return nil
	}
	counts := func() (tables, counting int) {
		cellCache.mu.Lock()
		defer cellCache.mu.Unlock()
		for _, e := range cellCache.entries {
			if e.building {
				tables++
			} else {
				counting++
			}
		}
		if tables != cellCache.tables {
			t.Errorf("%d entries building, the cache counts %d", tables, cellCache.tables)
		}
		return tables, counting
	}

	colour(0, 1, len(vals)) // the popular one
	popular := table(0, 1)
	if popular == nil {
		t.Fatal("no table after cellsAfter pixels")
	}
	for i := range 3 * maxCellCounts { // one-off ranges
		colour(0, 1+float64(i+1)/1024, 100)
	}
	if tables, counting := counts(); tables > maxCellTables || counting > maxCellCounts {
		t.Errorf("%d tables, %d counting entries; want at most %d and %d", tables, counting, maxCellTables, maxCellCounts)
	}
	if table(0, 1) != popular {
		t.Error("one-off ranges evicted a table")
	}
	for i := range 2 * maxCellTables { // more tables than kept, the popular one used between
		colour(-1-float64(i), 1, len(vals))
		colour(0, 1, 100)
	}
	if tables, _ := counts(); tables > maxCellTables {
		t.Errorf("%d tables, want at most %d", tables, maxCellTables)
	}
	if table(0, 1) != popular {
		t.Error("the most recently used table was evicted")
	}
	if table(-1, 1) != nil || table(-float64(2*maxCellTables), 1) == nil {
		t.Error("not the least recently used tables evicted")
	}
}

// TestColorizeCellsConcurrently colours from several goroutines at once while the table of
// their colormap and range is counted towards, built and published (go test -race).
func TestColorizeCellsConcurrently(t *testing.T) {
	if !cellsOn {
		t.Skip("cell tables are off in the browser build (cells_js.go); TestCellsOff checks that")
	}
	c, err := Parse([]byte(`{"continuous": true, "from": "#336699", "over": "#ffcc00", "to": "#000000", "range": [3, 33]}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = 2 + 32*float64(i)/4096
	}
	want := make([]uint8, 4*len(vals))
	c.continuous(want, vals, nil, 3, 33)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			pix := make([]uint8, 4*len(vals))
			for range 3 * cellsAfter / len(vals) / 8 {
				if _, err := c.Colorize(pix, formula.Array{Values: vals}, nil); err != nil {
					errs <- err.Error()
					return
				}
				if !bytes.Equal(pix, want) {
					errs <- "pixels differ from continuous's"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	cellCache.mu.Lock()
	e := cellCache.entries[cellKey{c.cellKey, 3, 33}]
	cellCache.mu.Unlock()
	if e == nil || e.table == nil {
		t.Fatalf("no table after %d pixels: %+v", 3*cellsAfter, e)
	}
}

// FuzzCellTable is the adversary of the cell tables: any colormap (two or three stops with
// alpha, grey ones, a named table), any range continuous accepts (any float64 bits: ±0,
// subnormal, huge, a few ulps wide), few cells or cellCount; apply must give continuous's
// bytes for the values given, the range's ends and what lies just outside them, the values
// on both sides of the cell boundaries near them (all boundaries with few cells), and every
// value of a range of at most 4096 float64 values. lastBelow must be what its comment says,
// and a build must not take pathologically long.
//
// Inputs: mode%5 picks the colormap (0, 1: two or three stops c0, c1, c2 as 0xRRGGBBAA; 2,
// 3: the same made grey with c0's alpha; 4: named table c0 % len(List()), reversed if c1
// is odd); mode&0x80 makes hi the float64 hiBits%2^24 values after lo; cells is 1 + (n>>1)%64
// for an odd n, cellCount for an even one.
func FuzzCellTable(f *testing.F) {
	// Seed values: a third and half of the range (where the middle stop is), a value of
	// about 2 and a NaN.
	at := func(lo, hi, t float64) uint64 { return math.Float64bits(lo + (hi-lo)*t) }
	for _, s := range []struct {
		mode       uint8
		c0, c1, c2 uint32
		lo, hi     uint64
		n          uint32
	}{
		{1, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(600), math.Float64bits(1500), 0},
		{1, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(600), math.Float64bits(1500), 7},
		{1, 0x12345678, 0xfedcba98, 0x00ff0080, math.Float64bits(-3), math.Float64bits(7), 0},
		{0, 0x000000ff, 0xffffffff, 0, math.Float64bits(0.5), math.Float64bits(0.75), 0},
		{0, 0xff0000ff, 0xfe0000ff, 0, math.Float64bits(-1e-300), math.Float64bits(1e-300), 0},
		{2, 0x10101080, 0xe0e0e080, 0, math.Float64bits(-1), math.Float64bits(1e-300), 0},
		{3, 0x10101080, 0xe0e0e080, 0x40404080, math.Float64bits(-5e307), math.Float64bits(5e307), 0},
		{3, 0x00000000, 0xffffffff, 0x00000000, math.Float64bits(-5e307), math.Float64bits(5e307), 5}, // 3 cells: scale near the smallest normal
		{3, 0x000000ff, 0xffffffff, 0x000000ff, math.Float64bits(-1), math.Float64bits(1), 13},        // 7 cells, the middle one across the peak: one colour at both ends, not inside
		{4, 0, 0, 0, math.Float64bits(0), math.Float64bits(1), 0},                                     // viridis
		{4, 1, 1, 0, math.Float64bits(-1), math.Float64bits(math.Copysign(0, -1)), 0},                 // magma_r up to −0
		{4, 12, 0, 0, math.Float64bits(1e15), math.Float64bits(1e15 + 3), 0},                          // greys: 25 values
		{0x80, 0x000000ff, 0xffffffff, 0, math.Float64bits(1), 1, 0},                                  // [1, nextafter(1)]
		{0x81, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(-1e-320), 5000, 0},                // subnormals across ±0
		{0x81, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(math.Copysign(0, -1)), 3000, 9},
		{0x84, 3, 0, 0, 1, 4000, 0},
		{0x82, 0x00000000, 0xffffffff, 0, math.Float64bits(math.MaxFloat64) - 4000, 4000, 0},
		{0, 0x000000ff, 0xffffffff, 0, math.Float64bits(math.Copysign(0, -1)), 0, 0}, // [−0, +0]: no table
		{1, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(-math.MaxFloat64), math.Float64bits(math.MaxFloat64), 0},
		{1, 0x0000ffff, 0xffffffff, 0xff0000ff, math.Float64bits(-math.MaxFloat64 / 2), math.Float64bits(math.MaxFloat64 / 2), 0},
		{0, 0x000000ff, 0xffffffff, 0, math.Float64bits(-1e16), math.Float64bits(1), 0},
		{1, 0xff000000, 0x00ff00ff, 0x0000ff00, math.Float64bits(0x1p-1022), math.Float64bits(0x1p-1021), 0},
	} {
		lo, hi := math.Float64frombits(s.lo), math.Float64frombits(s.hi)
		f.Add(s.mode, s.c0, s.c1, s.c2, s.lo, s.hi, s.n, at(lo, hi, 1./3), at(lo, hi, 0.5), uint64(1)<<62, uint64(0xfff0_0000_0000_0001))
	}
	f.Fuzz(func(t *testing.T, mode uint8, c0, c1, c2 uint32, loBits, hiBits uint64, n uint32, v0, v1, v2, v3 uint64) {
		lo, hi := math.Float64frombits(loBits), math.Float64frombits(hiBits)
		if mode&0x80 != 0 {
			o := ordered(lo) + int64(hiBits%(1<<24))
			if o > ordered(math.MaxFloat64) {
				t.Skip()
			}
			hi = unordered(o)
		}
		if checkRange(lo, hi) != nil {
			t.Skip()
		}
		rgba := func(u uint32) color.NRGBA {
			return color.NRGBA{uint8(u >> 24), uint8(u >> 16), uint8(u >> 8), uint8(u)}
		}
		grey := func(u uint32) color.NRGBA {
			return color.NRGBA{uint8(u >> 24), uint8(u >> 24), uint8(u >> 24), uint8(c0)}
		}
		var c *Colormap
		switch mode % 5 {
		case 0:
			c, _ = NewContinuous(rgba(c0), nil, rgba(c1), nil)
		case 1:
			over := rgba(c1)
			c, _ = NewContinuous(rgba(c0), &over, rgba(c2), nil)
		case 2:
			c, _ = NewContinuous(grey(c0), nil, grey(c1), nil)
		case 3:
			over := grey(c1)
			c, _ = NewContinuous(grey(c0), &over, grey(c2), nil)
		default:
			name := List()[c0%uint32(len(List()))]
			if c1%2 == 1 {
				name += "_r"
			}
			var err error
			if c, err = Named(name); err != nil {
				t.Fatal(err)
			}
		}
		cells := cellCount
		if n%2 == 1 {
			cells = 1 + int(n>>1%64)
		}
		what := fmt.Sprintf("colormap %q %v over [%v, %v] (%#x, %#x), %d cells", c.cellKey, c.lut != nil, lo, hi, math.Float64bits(lo), math.Float64bits(hi), cells)

		start := time.Now()
		tab := c.buildCells(lo, hi, cells)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: built in %v", what, d)
		}
		span := hi - lo
		if tab == nil {
			// Only a span or scale that is not a normal finite number leaves a range uncut.
			if scale := float64(cells) / span; span > 0 && !math.IsInf(span, 0) && scale >= 0x1p-1022 && !math.IsInf(scale, 0) {
				t.Fatalf("%s: no table", what)
			}
			return
		}
		if len(tab.cells) != cells+1 {
			t.Fatalf("%s: %d cells", what, len(tab.cells))
		}
		for _, j := range []int{0, cells - 1, cells} {
			if tab.cells[j] != tab.mixed {
				t.Fatalf("%s: cell %d holds %#x, not mixed", what, j, tab.cells[j])
			}
		}

		up := func(v float64) float64 { return math.Nextafter(v, math.Inf(1)) }
		down := func(v float64) float64 { return math.Nextafter(v, math.Inf(-1)) }
		vals := []float64{lo, up(lo), up(up(lo)), down(lo), down(down(lo)), hi, up(hi), up(up(hi)), down(hi), down(down(hi)),
			math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64,
			math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, lo - span/2, hi + span/2}
		olo, ohi := ordered(lo), ordered(hi)
		count := uint64(ohi-olo) + 1 // float64 values in [lo, hi] (both zeros as one)
		boundaries := map[int]bool{}
		for _, u := range []uint64{v0, v1, v2, v3} {
			vals = append(vals, math.Float64frombits(u), lo+float64(u>>11)*0x1p-53*span, unordered(olo+int64(u%count)))
			boundaries[1+int(u%uint64(cells))] = true
		}
		if cells <= 64 {
			for j := 1; j < cells; j++ {
				boundaries[j] = true
			}
		}
		for _, v := range vals {
			if v >= lo && v <= hi {
				j := tab.cell(v)
				boundaries[j-1], boundaries[j], boundaries[j+1] = true, true, true
			}
		}
		for j := range boundaries {
			if j < 1 || j >= cells {
				continue
			}
			b := tab.lastBelow(j)
			if !(b >= lo && b <= hi) || tab.cell(b) >= j || (b < hi && tab.cell(up(b)) < j) {
				t.Fatalf("%s: lastBelow(%d) = %v (%#x) is not the last value below cell %d", what, j, b, math.Float64bits(b), j)
			}
			vals = append(vals, b, down(b), up(b), up(up(b)))
		}
		if count <= 1<<12 {
			for o := olo; o <= ohi; o++ {
				vals = append(vals, unordered(o))
				if o == 0 {
					vals = append(vals, math.Copysign(0, -1))
				}
			}
		}

		if err := sameAsContinuous(c, tab, vals, 3, lo, hi); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	})
}

// TestCellKeyNamesTheColouring: the cell cache is keyed by cellKey and the range, so two
// colormaps with one key must colour every value alike (a WithRange copy, the same stops
// parsed twice, a name in another case), and colormaps that colour differently (a stop's
// alpha, a reversed table) must have different keys.
func TestCellKeyNamesTheColouring(t *testing.T) {
	var cms []*Colormap
	add := func(c *Colormap, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		cms = append(cms, c)
	}
	for _, js := range append(cellColormaps,
		`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0001"}`,
		`{"continuous": true, "from": "#12345679", "over": "#fedcba98", "to": "#00ff0080"}`,
		`{"continuous": true, "from": "#000000", "over": "#808080", "to": "#ffffff"}`,
		`{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [0, 5]}`,
		`{"continuous": true, "name": "Viridis", "range": [-1, 1]}`,
		`VIRIDIS`, `viridis_r`) {
		c, err := Parse([]byte(js))
		add(c, err)
		add(c.WithRange(-7, 9))
	}
	add(Grayscale(), nil)
	for _, name := range List() {
		add(Named(name))
		add(Named(name + "_r"))
	}
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = -1 + 4*float64(i)/float64(len(vals)-1)
	}
	pix := make([][]uint8, len(cms))
	for i, c := range cms {
		if c.cellKey == "" {
			t.Fatalf("colormap %d has no cell key", i)
		}
		pix[i] = make([]uint8, 4*len(vals))
		c.continuous(pix[i], vals, nil, -1, 3)
	}
	same := 0
	for i := range cms {
		for j := range i {
			if cms[i].cellKey == cms[j].cellKey {
				same++
				if !bytes.Equal(pix[i], pix[j]) {
					t.Errorf("colormaps %d and %d share the cell key %q but colour differently", j, i, cms[i].cellKey)
				}
			}
		}
	}
	if same < len(cellColormaps)+4 { // the WithRange copies, grey with a range, two viridis
		t.Errorf("%d pairs of colormaps share a key; want the copies and the renamed", same)
	}
}

// TestCellsOff: where cell tables are off (the browser build), Colorize never builds one and
// colours by arithmetic.
func TestCellsOff(t *testing.T) {
	if cellsOn {
		t.Skip("cell tables are on in this build; TestColorizeBuildsCells checks them")
	}
	c, err := Parse([]byte(`{"continuous": true, "from": "#00ff00", "to": "#ff00ff", "range": [0, 1]}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, cellsAfter+1)
	for i := range vals {
		vals[i] = float64(i) / float64(len(vals))
	}
	pix, want := make([]uint8, 4*len(vals)), make([]uint8, 4*len(vals))
	for range 2 {
		if _, err := c.Colorize(pix, formula.Array{Values: vals}, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.continuous(want, vals, nil, 0, 1)
	if !bytes.Equal(pix, want) {
		t.Error("pixels differ from continuous's")
	}
	cellCache.mu.Lock()
	n := len(cellCache.entries)
	cellCache.mu.Unlock()
	if n != 0 {
		t.Errorf("%d cell entries with cell tables off", n)
	}
}
