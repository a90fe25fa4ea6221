package formulabench

import (
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

// TestGovaluateAgrees checks that the baseline computes what the compiled program computes,
// on every pixel of the benchmark tile, so the ratio compares equal work.
func TestGovaluateAgrees(t *testing.T) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			vars := Vars(c.NoData)
			p, err := formula.Compile(c.Tessera)
			if err != nil {
				t.Fatal(err)
			}
			want, err := p.Eval(vars)
			if err != nil {
				t.Fatal(err)
			}
			g, err := NewGovaluate(c.Govaluate)
			if err != nil {
				t.Fatal(err)
			}
			vals, mask := make([]float64, Side*Side), make([]bool, Side*Side)
			if err := g.Eval(vars, vals, mask); err != nil {
				t.Fatal(err)
			}
			nodata := 0
			for i := range vals {
				wm := want.Mask != nil && want.Mask[i]
				if mask[i] != wm || !wm && vals[i] != want.Values[i] {
					t.Fatalf("pixel %d: govaluate %v (nodata %v), compiled %v (nodata %v)", i, vals[i], mask[i], want.Values[i], wm)
				}
				if wm {
					nodata++
				}
			}
			if c.NoData && nodata == 0 {
				t.Fatal("no nodata pixel: the nodata path is not compared")
			}
		})
	}
}

// BenchmarkGovaluate evaluates the benchmark formulas over a 256×256 tile with govaluate,
// one call per pixel.
func BenchmarkGovaluate(b *testing.B) {
	for _, c := range Cases() {
		b.Run(c.Name, func(b *testing.B) {
			vars := Vars(c.NoData)
			g, err := NewGovaluate(c.Govaluate)
			if err != nil {
				b.Fatal(err)
			}
			vals, mask := make([]float64, Side*Side), make([]bool, Side*Side)
			b.ReportAllocs()
			for b.Loop() {
				if err := g.Eval(vars, vals, mask); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(Side*Side), "ns/px")
		})
	}
}
