package colormap

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

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
				mask := make([]bool, len(vals))
				for i := range mask {
					mask[i] = i%97 == 5
				}
				for _, m := range [][]bool{nil, mask} {
					want := make([]uint8, 4*len(vals))
					got := bytes.Repeat([]uint8{7}, 4*len(vals)) // every byte must be written
					c.continuous(want, vals, m, lo, hi)
					tab.apply(c, got, vals, m)
					for i := range vals {
						if !bytes.Equal(got[4*i:4*i+4], want[4*i:4*i+4]) {
							t.Fatalf("%s over %v, %d cells: value %v (cell %d, entry %#x) coloured %v, arithmetic %v",
								js, r, n, vals[i], tab.cell(min(max(vals[i], lo), hi)), tab.cells[tab.cell(min(max(vals[i], lo), hi))], got[4*i:4*i+4], want[4*i:4*i+4])
						}
					}
				}
			}
		}
	}
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

	for i := range 3 * maxCellTables {
		w, err := c.WithRange(float64(i), float64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Colorize(first[:400], formula.Array{Values: vals[:100]}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cellCache.mu.Lock()
	n := len(cellCache.entries)
	cellCache.mu.Unlock()
	if n > maxCellTables {
		t.Errorf("%d cell entries, want at most %d", n, maxCellTables)
	}
}

// TestColorizeCellsConcurrently colours from several goroutines at once while the table of
// their colormap and range is counted towards, built and published (go test -race).
func TestColorizeCellsConcurrently(t *testing.T) {
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
