// Package formulabench measures the formula engine against the baseline the product owner
// named, github.com/Knetic/govaluate, evaluated pixel by pixel as a Go raster service
// without a compiled array engine would. It runs natively only (govaluate is not part of
// the browser build), on the same bands and formulas as shared/formula's benchmarks;
// scripts/bench-formula.sh prints the ratios.
package formulabench

import (
	"errors"
	"fmt"
	"math"

	"github.com/Knetic/govaluate"

	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

// Side is the tile side: the benchmarks evaluate 256×256 pixels.
const Side = 256

// Case is one benchmark formula in Tessera's syntax and translated for govaluate (^ → **,
// & and | → && and || over comparisons, whose booleans become 1 and 0).
type Case struct {
	Name      string
	Tessera   string
	Govaluate string
	// NoData tells whether the bands have about 5% nodata pixels.
	NoData bool
}

// Cases returns the benchmark formulas, the same as shared/formula's BenchmarkCompiled.
func Cases() []Case {
	return []Case{
		{"ndvi", "(b-a)/(b+a)", "(b-a)/(b+a)", false},
		{"six", "(a*2-b)/(a+b+1)>0.2&c!=0", "((a*2-b)/(a+b+1) > 0.2) && (c != 0)", true},
	}
}

// Band is a Float32 band of the benchmark tile: values from a fixed sequence (0 to 99.99)
// and, with nodata, about 5% nodata (-9999) pixels. It is the same sequence as
// shared/formula's benchBand, so both packages measure the same work.
func Band(seed uint32, nodata bool) *raster.Band {
	b := raster.New(raster.Float32, Side, Side)
	b.HasNoData, b.NoData = nodata, -9999
	for i := range Side * Side {
		h := (uint32(i) + seed*7919) * 2654435761
		v := float64(h%10000) / 100
		if nodata && (h>>16)%100 < 5 {
			v = -9999
		}
		b.Set(i, v)
	}
	return b
}

// Vars returns the bands a, b and c decoded for the formula engine.
func Vars(nodata bool) map[string]formula.Array {
	return map[string]formula.Array{
		"a": formula.ArrayFromBand(Band(1, nodata)),
		"b": formula.ArrayFromBand(Band(2, nodata)),
		"c": formula.ArrayFromBand(Band(3, nodata)),
	}
}

// pixel holds one pixel's variables for govaluate; Get boxes the value, as any
// govaluate parameter must be.
type pixel struct{ a, b, c float64 }

var errUnknownParameter = errors.New("formulabench: unknown parameter")

func (p *pixel) Get(name string) (any, error) {
	switch name {
	case "a":
		return p.a, nil
	case "b":
		return p.b, nil
	case "c":
		return p.c, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownParameter, name)
}

// Govaluate evaluates a formula pixel by pixel with govaluate, with Tessera's nodata rules
// applied in Go around each call: a nodata operand or a non-finite result is nodata.
type Govaluate struct {
	expr *govaluate.EvaluableExpression
}

// NewGovaluate parses a formula in govaluate's syntax.
func NewGovaluate(src string) (*Govaluate, error) {
	e, err := govaluate.NewEvaluableExpression(src)
	if err != nil {
		return nil, fmt.Errorf("formulabench: govaluate: %w", err)
	}
	return &Govaluate{expr: e}, nil
}

// Eval evaluates the formula over a, b and c into vals and mask (true = nodata), which
// must have one entry per pixel.
func (g *Govaluate) Eval(vars map[string]formula.Array, vals []float64, mask []bool) error {
	a, b, c := vars["a"], vars["b"], vars["c"]
	var p pixel
	for i := range vals {
		if masked(a, i) || masked(b, i) || masked(c, i) {
			vals[i], mask[i] = math.NaN(), true
			continue
		}
		p.a, p.b, p.c = a.Values[i], b.Values[i], c.Values[i]
		out, err := g.expr.Eval(&p)
		if err != nil {
			return fmt.Errorf("formulabench: govaluate at pixel %d: %w", i, err)
		}
		var v float64
		switch o := out.(type) {
		case float64:
			v = o
		case bool:
			if o {
				v = 1
			}
		default:
			return fmt.Errorf("formulabench: govaluate gave %T at pixel %d", out, i)
		}
		vals[i], mask[i] = v, math.IsNaN(v) || math.IsInf(v, 0)
	}
	return nil
}

func masked(a formula.Array, i int) bool { return a.Mask != nil && a.Mask[i] }
