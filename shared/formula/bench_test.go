package formula

import (
	"math"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

// The benchmark formulas, on 256×256 Float32 bands. backend/internal/formulabench runs the
// same formulas on the same bands with govaluate; scripts/bench-formula.sh prints the
// ratios.
const (
	benchSide = 256
	benchNDVI = "(b-a)/(b+a)"
	benchSix  = "(a*2-b)/(a+b+1)>0.2&c!=0"
)

// benchBand is a Float32 band with values from a fixed sequence and, when nodata is set,
// about 5% nodata (-9999) pixels.
func benchBand(seed uint32, nodata bool) *raster.Band {
	b := raster.New(raster.Float32, benchSide, benchSide)
	b.HasNoData, b.NoData = nodata, -9999
	for i := range benchSide * benchSide {
		h := (uint32(i) + seed*7919) * 2654435761
		v := float64(h%10000) / 100 // 0 .. 99.99
		if nodata && (h>>16)%100 < 5 {
			v = -9999
		}
		b.Set(i, v)
	}
	return b
}

func benchVars(nodata bool) map[string]Array {
	return map[string]Array{
		"a": ArrayFromBand(benchBand(1, nodata)),
		"b": ArrayFromBand(benchBand(2, nodata)),
		"c": ArrayFromBand(benchBand(3, nodata)),
	}
}

func reportPerPixel(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(benchSide*benchSide), "ns/px")
}

var benchCases = []struct {
	name, src string
	nodata    bool
}{
	{"ndvi", benchNDVI, false},
	{"six", benchSix, true},
	{"x", "a", true},
	{"reductions", "(a - mean(a)) / std(a)", true},
	{"unmask", "~a * 2 + b", true}, // the mask-carrying path
}

// BenchmarkCompiled evaluates the compiled formulas over a 256×256 tile into a reused
// result, like the hand loops: the cost of the engine itself.
func BenchmarkCompiled(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Compile(bc.src)
			if err != nil {
				b.Fatal(err)
			}
			vars := benchVars(bc.nodata)
			var res Result
			b.ReportAllocs()
			for b.Loop() {
				if err := p.EvalInto(&res, vars); err != nil {
					b.Fatal(err)
				}
			}
			reportPerPixel(b)
		})
	}
}

// BenchmarkEval is BenchmarkCompiled through Eval, which allocates each result as the
// renderer does (512 KiB of values per 256×256 tile, plus the mask).
func BenchmarkEval(b *testing.B) {
	for _, bc := range benchCases[:2] {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Compile(bc.src)
			if err != nil {
				b.Fatal(err)
			}
			vars := benchVars(bc.nodata)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(vars); err != nil {
					b.Fatal(err)
				}
			}
			reportPerPixel(b)
		})
	}
}

// handResult is the output of the hand-written loops, like a Result.
type handResult struct {
	vals []float64
	mask []bool
}

// handNDVI computes (b-a)/(b+a) as a hand-written Go loop, with the same nodata rules:
// the speed limit for the compiled program.
func handNDVI(out *handResult, a, b Array) {
	n := len(a.Values)
	out.vals = out.vals[:n]
	out.mask = out.mask[:n]
	av, bv := a.Values[:n], b.Values[:n]
	for i := range out.vals {
		x, y := av[i], bv[i]
		d := y + x
		v := (y - x) / d
		nd := d == 0 || v-v != 0 || a.Mask != nil && a.Mask[i] || b.Mask != nil && b.Mask[i]
		out.vals[i], out.mask[i] = v, nd
	}
}

// handSix computes (a*2-b)/(a+b+1)>0.2&c!=0 by hand, with the same nodata rules.
func handSix(out *handResult, a, b, c Array) {
	n := len(a.Values)
	out.vals = out.vals[:n]
	out.mask = out.mask[:n]
	av, bv, cv := a.Values[:n], b.Values[:n], c.Values[:n]
	for i := range out.vals {
		x, y, z := av[i], bv[i], cv[i]
		d := x + y + 1
		q := (x*2 - y) / d
		nd := d == 0 || q != q || a.Mask != nil && a.Mask[i] || b.Mask != nil && b.Mask[i] || c.Mask != nil && c.Mask[i]
		v := 0.0
		if q > 0.2 && z != 0 {
			v = 1
		}
		out.vals[i], out.mask[i] = v, nd
	}
}

// BenchmarkHandLoop runs the hand-written loops over the same tiles.
func BenchmarkHandLoop(b *testing.B) {
	out := &handResult{vals: make([]float64, benchSide*benchSide), mask: make([]bool, benchSide*benchSide)}
	b.Run("ndvi", func(b *testing.B) {
		v := benchVars(false)
		b.ReportAllocs()
		for b.Loop() {
			handNDVI(out, v["a"], v["b"])
		}
		reportPerPixel(b)
	})
	b.Run("six", func(b *testing.B) {
		v := benchVars(true)
		b.ReportAllocs()
		for b.Loop() {
			handSix(out, v["a"], v["b"], v["c"])
		}
		reportPerPixel(b)
	})
}

// TestHandLoopsAgree keeps the benchmark honest: the hand loops compute what the compiled
// formulas compute.
func TestHandLoopsAgree(t *testing.T) {
	out := &handResult{vals: make([]float64, benchSide*benchSide), mask: make([]bool, benchSide*benchSide)}
	for _, tc := range []struct {
		name, src string
		nodata    bool
		hand      func(v map[string]Array)
	}{
		{"ndvi", benchNDVI, false, func(v map[string]Array) { handNDVI(out, v["a"], v["b"]) }},
		{"six", benchSix, true, func(v map[string]Array) { handSix(out, v["a"], v["b"], v["c"]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := benchVars(tc.nodata)
			res := eval(t, tc.src, v)
			tc.hand(v)
			masked := 0
			for i := range out.vals {
				m := res.Mask != nil && res.Mask[i]
				if m != out.mask[i] || !m && res.Values[i] != out.vals[i] && !(math.IsNaN(res.Values[i])) {
					t.Fatalf("pixel %d: compiled %v (nodata %v), hand %v (nodata %v)", i, res.Values[i], m, out.vals[i], out.mask[i])
				}
				if m {
					masked++
				}
			}
			if tc.nodata && (masked < len(out.vals)/20 || masked > len(out.vals)/5) {
				t.Fatalf("%d of %d pixels nodata, want about 5%% per band", masked, len(out.vals))
			}
		})
	}
}
