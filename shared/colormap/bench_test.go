package colormap

import (
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

func benchValues() formula.Array {
	vals := make([]float64, 256*256)
	for i := range vals {
		vals[i] = float64(i%509) / 5
	}
	return formula.Array{Values: vals}
}

// BenchmarkColorize colours a 256×256 tile with each kind of colormap that needs no formula.
func BenchmarkColorize(b *testing.B) {
	x := benchValues()
	pix := make([]uint8, 4*len(x.Values))
	for _, bc := range []struct{ name, colormap string }{
		{"continuous_over", `{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`},
		{"continuous_over_range", `{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000", "range": [10, 90]}`},
		{"grey_range", `{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [10, 90]}`},
		{"named", `viridis`},
		{"named_range", `{"continuous": true, "name": "viridis", "range": [10, 90]}`},
		{"discrete_numbers", `{"1": "#ff0000", "2": "#00ff00", "3": "#0000ff", "4": "#ffff00", "5": "#00ffff"}`},
	} {
		c, err := Parse([]byte(bc.colormap))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.Colorize(pix, x, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x.Values)), "ns/pixel")
		})
	}
}

// BenchmarkColorizeArithmetic is continuous_over_range and grey_range coloured pixel by pixel,
// as before the cell tables (cells.go) and for the first tiles of a colormap: their
// baseline.
func BenchmarkColorizeArithmetic(b *testing.B) {
	x := benchValues()
	pix := make([]uint8, 4*len(x.Values))
	for _, bc := range []struct{ name, colormap string }{
		{"continuous_over_range", `{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`},
		{"grey_range", `{"continuous": true, "from": "#000000", "to": "#ffffff"}`},
	} {
		c, err := Parse([]byte(bc.colormap))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.continuous(pix, x.Values, x.Mask, 10, 90)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x.Values)), "ns/pixel")
		})
	}
}

// BenchmarkBuildCells is the cost of one cell table, paid once per colormap and range after
// cellsAfter pixels.
func BenchmarkBuildCells(b *testing.B) {
	c, err := Parse([]byte(`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if c.buildCells(600, 1500, cellCount) == nil {
			b.Fatal("no table")
		}
	}
}
