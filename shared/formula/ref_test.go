package formula

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refValue is one pixel's value in the reference evaluator: the raw value and whether it
// is nodata.
type refValue struct {
	v  float64
	nd bool
}

// refEval is a deliberately simple tree-walking evaluator, one pixel at a time, over the
// unfolded AST. The compiled programs (folding, hoisting, stages, registers, blocks, masks)
// must agree with it exactly. It shares only the scalar definitions of the operations,
// which the table tests pin.
type refEval struct {
	vars map[string]Array
	n    int
	memo map[*node]refValue // reductions, computed once
}

func (r *refEval) at(n *node, px int) refValue {
	switch n.kind {
	case nConst:
		return refValue{n.val, math.IsNaN(n.val)}
	case nVar:
		a := r.vars[n.name]
		i := px
		if len(a.Values) == 1 {
			i = 0
		}
		v := a.Values[i]
		return refValue{v, a.Mask != nil && a.Mask[i] || math.IsNaN(v)}
	case nReduce:
		if v, ok := r.memo[n]; ok {
			return v
		}
		v := r.reduce(n)
		r.memo[n] = v
		return v
	}
	args := make([]refValue, len(n.args))
	nd := false
	for i, a := range n.args {
		args[i] = r.at(a, px)
		nd = nd || args[i].nd
	}
	var v float64
	switch n.op {
	case opIsNull:
		return refValue{b2f(args[0].nd), false}
	case opNotNull:
		return refValue{b2f(!args[0].nd), false}
	case opUnmask:
		return refValue{args[0].v, math.IsNaN(args[0].v)}
	case opWhere:
		v = scalar3(n.op, args[0].v, args[1].v, args[2].v)
		chosen := args[2].nd
		if args[0].v != 0 {
			chosen = args[1].nd
		}
		return refValue{v, args[0].nd || chosen || math.IsNaN(v)}
	}
	switch len(args) {
	case 1:
		v = scalar1(n.op, args[0].v)
	case 2:
		v = scalar2(n.op, args[0].v, args[1].v)
	case 3:
		v = scalar3(n.op, args[0].v, args[1].v, args[2].v)
	}
	return refValue{v, nd || math.IsNaN(v)}
}

func (r *refEval) reduce(n *node) refValue {
	arg := n.args[0]
	var vals []float64
	if arg.uniform {
		if x := r.at(arg, 0); !x.nd {
			vals = append(vals, x.v)
		}
	} else {
		for px := range r.n {
			if x := r.at(arg, px); !x.nd {
				vals = append(vals, x.v)
			}
		}
	}
	red := reducer{red: n.red}
	red.start()
	red.add(vals, nil)
	v := red.result()
	return refValue{v, math.IsNaN(v)}
}

// reference evaluates src with refEval: the values with ND at nodata pixels.
func reference(t testing.TB, src string, vars map[string]Array, n int) (vals []float64, scalar bool) {
	root, err := parse(src)
	if err != nil {
		t.Fatalf("parse(%q): %v", src, err)
	}
	if err := check(root); err != nil {
		t.Fatalf("check(%q): %v", src, err)
	}
	p := &Program{}
	collectVars(root, p)
	all1 := true
	for _, v := range p.vars {
		all1 = all1 && len(vars[v].Values) == 1
	}
	if all1 { // only one-value variables: one value
		n = 1
	}
	r := &refEval{vars: vars, n: n, memo: map[*node]refValue{}}
	if root.uniform {
		n = 1
	}
	out := make([]float64, n)
	for px := range n {
		x := r.at(root, px)
		if x.nd || math.IsInf(x.v, 0) {
			x.v = ND
		}
		out[px] = x.v
	}
	return out, root.uniform
}

// randomFormula writes a random formula over a, b and c with every operator and function.
func randomFormula(rng *rand.Rand, depth int) string {
	leaf := func() string {
		switch rng.IntN(8) {
		case 0:
			return []string{"0", "1", "2.5", ".5", "1e-3", "3."}[rng.IntN(6)]
		case 1:
			return []string{"E", "PI", "TRUE", "FALSE", "INF"}[rng.IntN(5)]
		case 2:
			return []string{"s", "s", "t"}[rng.IntN(3)]
		default:
			return []string{"a", "b", "c"}[rng.IntN(3)]
		}
	}
	if depth <= 0 {
		return leaf()
	}
	sub := func() string { return randomFormula(rng, depth-1-rng.IntN(2)) }
	switch rng.IntN(10) {
	case 0:
		return leaf()
	case 1, 2, 3:
		ops := []string{"+", "-", "*", "/", "^", "==", "!=", ">", ">=", "<", "<=", "&", "|"}
		return sub() + " " + ops[rng.IntN(len(ops))] + " " + sub()
	case 4:
		return []string{"-", "!", "~", "+"}[rng.IntN(4)] + sub()
	case 5:
		return "(" + sub() + ")"
	case 6:
		return "(" + sub() + []string{" == NULL)", " != NULL)"}[rng.IntN(2)]
	default:
		f := functions[rng.IntN(len(functions))]
		k := f.MinArgs
		if f.MaxArgs < 0 {
			k += rng.IntN(3)
		}
		args := make([]string, k)
		for i := range args {
			args[i] = sub()
		}
		return f.Name + "(" + strings.Join(args, ", ") + ")"
	}
}

// randomArrays returns a, b, c of n values with some nodata (c has none), the scalar s and
// the nodata scalar t.
func randomArrays(rng *rand.Rand, n int) map[string]Array {
	vars := map[string]Array{}
	for _, name := range []string{"a", "b", "c"} {
		a := Array{Values: make([]float64, n)}
		if name != "c" {
			a.Mask, a.HasNoData, a.NoData = make([]bool, n), true, -9999
		}
		for i := range n {
			a.Values[i] = float64(rng.IntN(9)-4) / float64(1+rng.IntN(2))
			if a.Mask != nil && rng.IntN(10) == 0 {
				a.Values[i], a.Mask[i] = -9999, true
			}
		}
		vars[name] = a
	}
	vars["s"] = Array{Values: []float64{float64(rng.IntN(5) - 2)}}
	vars["t"] = Array{Values: []float64{-9999}, Mask: []bool{true}, HasNoData: true, NoData: -9999} // a nodata scalar
	return vars
}

var refSeed, refRounds uint64 = 1, 1000

// TestAgainstReference compares compiled programs with the reference evaluator on random
// formulas and arrays that span several blocks.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(refSeed, 2))
	const n = 2*blockSize + 37
	vars := randomArrays(rng, n)
	for i := range int(refRounds) {
		src := randomFormula(rng, 1+i%7)
		p, err := Compile(src)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && strings.Contains(e.Msg, "nests deeper") {
				continue
			}
			t.Fatalf("Compile(%q): %v", src, err)
		}
		res, err := p.Eval(vars)
		if err != nil {
			t.Fatalf("Eval(%q): %v", src, err)
		}
		want, scalar := reference(t, src, vars, n)
		if res.Scalar != scalar {
			t.Fatalf("%q: Scalar = %v, want %v", src, res.Scalar, scalar)
		}
		g := got(res)
		if len(g) != len(want) {
			t.Fatalf("%q: %d values, want %d", src, len(g), len(want))
		}
		for px := range g {
			if g[px] != want[px] && !(math.IsNaN(g[px]) && math.IsNaN(want[px])) {
				t.Fatalf("%q pixel %d: got %v, reference %v", src, px, g[px], want[px])
			}
		}
	}
}
