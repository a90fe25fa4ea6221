package formula

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzCompileEval checks, for any source: Compile never panics; a compile error is an
// *Error with 0 ≤ Start ≤ End ≤ len(src) whose Snippet works; a compiled program evaluates
// over arrays with nodata without panicking, gives one value per pixel (or one scalar)
// and agrees with the reference evaluator.
func FuzzCompileEval(f *testing.F) {
	for _, s := range []string{
		"x", "(b-a)/(b+a)", "x>0&x<2", "-2^2", "2^3^2", "~x + 1", "x == NULL", "where(x != NULL, x, 0)",
		"clamp(x, -INF, 0)", "min(a, b, 3)", "mean(x) - median(y) * std(x) + sum(y)", "log10(sqrt(abs(x)))",
		"round(x) + int(x) + floor(x) + ceil(x) + sign(x)", "sin(x)*cos(x)/tan(x)", "exp(x) ^ -1", "!-x",
		"a b", "a+", "a)", "foo(x)", "sin(x, 2)", "NULL", "_a", "2x", "1e999", "a**2", "(((x", "x × 2",
	} {
		f.Add(s)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		f.Add(randomFormula(rng, 4))
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) error %T %v, want *Error", src, err, err)
			}
			if e.Start < 0 || e.Start > e.End || e.End > len(src) {
				t.Fatalf("Compile(%q): span %d:%d outside 0..%d", src, e.Start, e.End, len(src))
			}
			if !strings.Contains(e.Snippet(src), "^") {
				t.Fatalf("Snippet without caret: %q", e.Snippet(src))
			}
			return
		}
		if len(src) > MaxSource {
			t.Fatalf("Compile accepted %d bytes", len(src))
		}
		const n = 40
		vars := map[string]Array{}
		for i, name := range p.Vars() {
			a := Array{Values: make([]float64, n), Mask: make([]bool, n), HasNoData: true, NoData: -1}
			for k := range n {
				a.Values[k] = float64((k*7+i*3)%11) - 5
				if (k+i)%6 == 0 {
					a.Values[k], a.Mask[k] = -1, true
				}
			}
			vars[name] = a
		}
		res, err := p.Eval(vars)
		if err != nil {
			t.Fatalf("Eval(%q): %v", src, err)
		}
		want, scalar := reference(t, src, vars, n)
		if res.Scalar != scalar || len(res.Values) != len(want) {
			t.Fatalf("%q: Scalar %v with %d values, want %v with %d", src, res.Scalar, len(res.Values), scalar, len(want))
		}
		for i, v := range got(res) {
			if v != want[i] && !(math.IsNaN(v) && math.IsNaN(want[i])) {
				t.Fatalf("%q pixel %d: %v, reference %v", src, i, v, want[i])
			}
			if (res.Mask == nil || !res.Mask[i]) && (math.IsNaN(v) || math.IsInf(v, 0)) {
				t.Fatalf("%q pixel %d: valid pixel holds %v", src, i, v)
			}
		}
	})
}
