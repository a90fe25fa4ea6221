package formula

import (
	"math"
	"slices"
	"sync"
)

// instr is one operation of a compiled program: dst = op(a, b, c) over one block of
// pixels. Operands are slot numbers (see Program).
type instr struct {
	op      opcode
	dst     int32
	a, b, c int32 // unused operands are noSlot
	// bScalar: b is a scalar slot (one number for every pixel), which the binary kernels
	// keep in a register; cScalar likewise for c in a superinstruction.
	bScalar, cScalar bool
	// kern is set for a superinstruction (fuse.go): op2(op1(a, b), c) in one loop.
	kern fusedKernel
	// fast is the optimistic form of the kernel, if it has one (fastKernel).
	fast fastKernel
	// bin is the kernel of a binary operation that has one (binaryKernels).
	bin fusedKernel
}

const noSlot = -1 << 30

// prog is a straight-line program; its result is in slot out. A uniform program computes
// one number and runs over blocks of one value.
type prog struct {
	lo, hi  int // instructions code[lo:hi] of the Program
	out     int32
	uniform bool
	mode    mode
	vars    []int32 // the variable slots the program reads
}

// mode is how a program sees the nodata pixels of its variables.
type mode uint8

const (
	// modeStrict: every operation is nodata where an operand is, so the variables are
	// read raw, no mask travels, and a result pixel is nodata where any variable's pixel
	// is (or its value is not finite). The cheapest mode: most formulas.
	modeStrict mode = iota
	// modeNaN: the program tests for nodata (x == NULL, where) but has no ~ or unary +,
	// so the raw values at nodata pixels never matter; variables are loaded with NaN there
	// and NaN carries nodata.
	modeNaN
	// modeMask: the program has ~ or unary +; raw values and masks travel together.
	modeMask
)

// stage computes one number into the scalar slot dst before the main program runs: the
// reduction red of arg over the whole array, or (red == redNone) the uniform value of arg.
type stage struct {
	red reduction
	arg prog
	dst int32
}

// Program is a compiled formula. It is immutable and safe for concurrent use: each Eval
// takes its working buffers from a pool.
//
// Slots are the arrays instructions read and write, one block at a time: slots
// [0, len(vars)) are the variables, [len(vars), firstStack) scalars (constants and stage
// results, broadcast to a block), then the stack registers that hold intermediate values.
type Program struct {
	src        string
	vars       []string // sorted, distinct
	varSpan    [][2]int // first use of each variable in the source
	code       []instr
	stages     []stage
	main       prog
	consts     []float64 // value of each scalar slot (NaN for stage results until computed)
	firstStack int32
	nslots     int
	pool       sync.Pool // of *state
}

// Compile parses and checks a formula and compiles it. Errors are *Error values with the
// span of the offending source (errors.As). Any valid variable name is accepted: the
// caller (the server, against its layers) decides which exist, and Eval reports a missing
// one.
func Compile(src string) (*Program, error) {
	if len(src) > MaxSource {
		return nil, errAt(MaxSource, len(src), "formula is %d bytes long, at most %d are allowed", len(src), MaxSource)
	}
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	if err := check(root); err != nil {
		return nil, err
	}
	root = fold(root)
	p := &Program{src: src}
	collectVars(root, p)
	g := &generator{p: p, scalarOf: map[uint64]int32{}}
	g.main = g.genProg(root, root.uniform)
	g.finish()
	return p, nil
}

// Source returns the formula as given to Compile.
func (p *Program) Source() string { return p.src }

// Pixelwise reports whether each pixel of the result depends only on the same pixel of the
// variables: no reduction over the arrays (min, max, mean, median, std, sum of an array)
// and not one number. Then evaluating any split of the pixels into blocks, block by block,
// gives the whole evaluation's values and nodata pixel for pixel.
func (p *Program) Pixelwise() bool {
	if p.main.uniform {
		return false
	}
	for _, s := range p.stages {
		if s.red != redNone {
			return false
		}
	}
	return true
}

// Vars returns the sorted, distinct names of the variables the formula uses.
func (p *Program) Vars() []string { return slices.Clone(p.vars) }

// check reports NULL outside a comparison and marks uniform nodes.
func check(n *node) error {
	if n.kind == nNull {
		return errAt(n.start, n.end, "NULL can only be compared with == or != (x == NULL, x != NULL)")
	}
	uniform := n.kind != nVar
	for _, a := range n.args {
		if err := check(a); err != nil {
			return err
		}
		uniform = uniform && a.uniform
	}
	n.uniform = uniform || n.kind == nReduce
	return nil
}

// fold replaces operations on constants by their value, computed by the same scalar
// functions the evaluator's kernels use.
func fold(n *node) *node {
	allConst := true
	for i, a := range n.args {
		n.args[i] = fold(a)
		allConst = allConst && n.args[i].kind == nConst
	}
	if n.kind == nOp && n.op == opDiv && !allConst && n.args[1].kind == nConst && powerOfTwo(n.args[1].val) {
		// x / 2^k is x · 2^-k, bit for bit: 2^-k is exact, so both are x·2^-k correctly
		// rounded (NaN, infinities and signed zeros alike), and a multiplication is a
		// fraction of a division's time ((a+b)/2 and c/4 of the tile benchmarks).
		d := n.args[1]
		n.op, n.name = opMul, "*"
		n.args[1] = &node{kind: nConst, val: 1 / d.val, start: d.start, end: d.end, uniform: true}
	}
	if !allConst || len(n.args) == 0 {
		return n
	}
	v := math.NaN()
	switch n.kind {
	case nReduce:
		v = reduceConst(n.red, n.args[0].val)
	case nOp:
		a := n.args
		switch n.op.arity() {
		case 1:
			v = scalar1(n.op, a[0].val)
		case 2:
			v = scalar2(n.op, a[0].val, a[1].val)
		case 3:
			v = scalar3(n.op, a[0].val, a[1].val, a[2].val)
		}
	}
	return &node{kind: nConst, val: v, start: n.start, end: n.end, uniform: true}
}

// powerOfTwo reports whether v is ±2^k for some integer k whose 1/v is a float64 too
// (exactly, then: not 2^-1074 … 2^-1024, whose inverse overflows).
func powerOfTwo(v float64) bool {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) || math.IsInf(1/v, 0) {
		return false
	}
	frac, _ := math.Frexp(math.Abs(v))
	return frac == 0.5
}

func collectVars(root *node, p *Program) {
	first := map[string][2]int{}
	var walk func(n *node)
	walk = func(n *node) {
		if n.kind == nVar {
			if s, ok := first[n.name]; !ok || n.start < s[0] {
				first[n.name] = [2]int{n.start, n.end}
			}
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(root)
	for name := range first {
		p.vars = append(p.vars, name)
	}
	slices.Sort(p.vars)
	for _, name := range p.vars {
		p.varSpan = append(p.varSpan, first[name])
	}
}

// generator turns the AST into programs. While generating, stack registers are numbered
// -1, -2, …; finish moves them after the scalar slots.
type generator struct {
	p        *Program
	main     prog
	progs    [][]instr        // code of each program, by program number
	scalarOf map[uint64]int32 // constant value bits → scalar slot
	nstack   int
}

func (g *generator) varSlot(name string) int32 {
	i, _ := slices.BinarySearch(g.p.vars, name)
	return int32(i)
}

func (g *generator) constSlot(v float64) int32 {
	bits := math.Float64bits(v)
	if s, ok := g.scalarOf[bits]; ok {
		return s
	}
	s := int32(len(g.p.vars) + len(g.p.consts))
	g.p.consts = append(g.p.consts, v)
	g.scalarOf[bits] = s
	return s
}

func (g *generator) newScalar() int32 {
	s := int32(len(g.p.vars) + len(g.p.consts))
	g.p.consts = append(g.p.consts, math.NaN())
	return s
}

// genProg generates the program computing n; uniform programs hoist nothing.
func (g *generator) genProg(n *node, uniform bool) prog {
	idx := len(g.progs)
	g.progs = append(g.progs, nil)
	out := g.gen(n, idx, 0, uniform)
	return prog{lo: idx, out: out, uniform: uniform} // lo holds the program number until finish
}

func stack(sp int) int32 { return int32(-1 - sp) }

// gen emits the code of n into program pi, using stack registers from sp up, and returns
// the slot holding n's value.
func (g *generator) gen(n *node, pi, sp int, uniform bool) int32 {
	switch {
	case n.kind == nConst:
		return g.constSlot(n.val)
	case n.kind == nVar:
		return g.varSlot(n.name)
	case n.kind == nReduce || n.uniform && !uniform:
		st := stage{red: n.red}
		if n.kind == nReduce {
			st.arg = g.genProg(n.args[0], n.args[0].uniform)
		} else {
			st.red = redNone
			st.arg = g.genProg(n, true)
		}
		st.dst = g.newScalar()
		g.p.stages = append(g.p.stages, st)
		return st.dst
	}
	in := instr{op: n.op, a: noSlot, b: noSlot, c: noSlot}
	next := sp
	ops := [3]*int32{&in.a, &in.b, &in.c}
	for i, a := range n.args {
		s := g.gen(a, pi, next, uniform)
		*ops[i] = s
		if s < 0 {
			next++
		}
	}
	nv := int32(len(g.p.vars))
	if n.op.arity() == 2 && in.a >= nv && in.b < nv { // a number on the left: put it right
		if sw, ok := swapped(in.op); ok {
			in.op, in.a, in.b = sw, in.b, in.a
		}
	}
	in.bScalar = n.op.arity() == 2 && in.b >= nv
	if n.op.arity() == 2 {
		in.bin = binaryKernels[fastKey{in.op, in.bScalar}]
	}
	in.dst = stack(sp)
	g.nstack = max(g.nstack, next, sp+1)
	g.progs[pi] = append(g.progs[pi], in)
	return in.dst
}

// finish lays the programs out in one code slice and renumbers the stack registers.
func (g *generator) finish() {
	p := g.p
	p.firstStack = int32(len(p.vars) + len(p.consts))
	p.nslots = int(p.firstStack) + g.nstack
	reloc := func(s int32) int32 {
		if s < 0 && s > noSlot {
			return p.firstStack + (-1 - s)
		}
		return s
	}
	nv := int32(len(p.vars))
	place := func(pr *prog) {
		code := g.progs[pr.lo]
		pr.lo = len(p.code)
		used := make([]bool, nv)
		pr.mode = modeStrict
		for _, in := range code {
			in.dst, in.a, in.b, in.c = reloc(in.dst), reloc(in.a), reloc(in.b), reloc(in.c)
			p.code = append(p.code, in)
			for _, s := range [3]int32{in.a, in.b, in.c} {
				if s >= 0 && s < nv {
					used[s] = true
				}
			}
			switch in.op {
			case opUnmask:
				pr.mode = modeMask
			case opIsNull, opNotNull, opWhere:
				pr.mode = max(pr.mode, modeNaN)
			}
		}
		if pr.mode != modeMask { // no mask travels: pairs of operations can share a loop
			fused := fuse(p.code[pr.lo:], nv, p.firstStack)
			p.code = append(p.code[:pr.lo], fused...)
		}
		pr.hi = len(p.code)
		pr.out = reloc(pr.out)
		if pr.out >= 0 && pr.out < nv {
			used[pr.out] = true
		}
		for i, u := range used {
			if u {
				pr.vars = append(pr.vars, int32(i))
			}
		}
	}
	for i := range p.stages {
		place(&p.stages[i].arg)
	}
	place(&g.main)
	p.main = g.main
}

// swapped returns the operation that gives the same result with the operands exchanged
// (2 < x is x > 2), for the operations that have one.
func swapped(op opcode) (opcode, bool) {
	switch op {
	case opAdd, opMul, opEq, opNe, opAnd, opOr:
		return op, true
	case opGt:
		return opLt, true
	case opGe:
		return opLe, true
	case opLt:
		return opGt, true
	case opLe:
		return opGe, true
	}
	return op, false
}
