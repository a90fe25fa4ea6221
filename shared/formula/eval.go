package formula

import (
	"fmt"
	"math"
	"slices"
)

// blockSize is the number of pixels each operation processes at a time: small enough that
// a formula's registers stay in the L1/L2 cache, large enough that the per-instruction
// dispatch is negligible. Chosen by measurement (BenchmarkCompiled): against 512, 1024 is
// as fast natively and 5–10% faster under WebAssembly, where each kernel call and loop
// entry costs more; 2048 gains nothing more.
const blockSize = 1024

// state holds one evaluation's buffers; Program keeps them in a pool.
type state struct {
	vals    [][]float64 // each slot's values for the current block
	masks   [][]bool    // each slot's nodata mask for the current block, nil for none
	buf     [][]float64 // owned value buffers: scalars, stack registers, broadcast variables
	mbuf    [][]bool    // owned mask buffers: stack registers, broadcast variables
	sub     [][]float64 // per variable, the block with NaN at nodata pixels (modeNaN)
	hasMask []bool      // per slot, whether it carries a mask in the program being run
	outMask []bool      // per instruction, whether its result carries a mask
	arrays  []Array     // the variables of this evaluation, by slot
	bcast   []bool      // per variable slot: one value broadcast over the array
	cmask   []bool      // the union of the variables' masks of a block (modeStrict)
	collect []float64   // values gathered for median and std
	spare   []float64   // a block a fast kernel writes into instead of its operand (exec)
	exact   []bool      // per instruction, whether its fast kernel failed in this evaluation
	finite  bool        // the last exec ran a fast kernel: its values are finite
}

func (p *Program) newState() *state {
	nv := len(p.vars)
	st := &state{
		vals:    make([][]float64, p.nslots),
		masks:   make([][]bool, p.nslots),
		buf:     make([][]float64, p.nslots),
		mbuf:    make([][]bool, p.nslots),
		sub:     make([][]float64, nv),
		hasMask: make([]bool, p.nslots),
		outMask: make([]bool, len(p.code)),
		arrays:  make([]Array, nv),
		bcast:   make([]bool, nv),
		cmask:   make([]bool, blockSize),
		spare:   make([]float64, blockSize),
		exact:   make([]bool, len(p.code)),
	}
	for k, v := range p.consts {
		s := nv + k
		st.buf[s] = make([]float64, blockSize)
		fill(st.buf[s], v)
		st.vals[s] = st.buf[s]
	}
	for s := int(p.firstStack); s < p.nslots; s++ {
		st.buf[s] = make([]float64, blockSize)
		st.mbuf[s] = make([]bool, blockSize)
	}
	return st
}

func fill[T any](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

// Eval evaluates the formula over the variables, which must include every name of Vars
// (others are ignored). Arrays of one value broadcast; all others must have one length,
// which the result has, unless the formula gives one number (Result.Scalar).
//
// A missing variable gives an *Error matching ErrMissingVar whose message is
// django-raster's, Found an undeclared variable "X" in formula.; arrays of different
// lengths give an error matching ErrLength. Eval is safe for concurrent use.
func (p *Program) Eval(vars map[string]Array) (Result, error) {
	var res Result
	err := p.EvalInto(&res, vars)
	return res, err
}

// EvalInto is Eval writing into *res and reusing the capacity of res.Values and res.Mask,
// for callers that evaluate tile after tile into the same buffers (the benchmarks, value
// counts over many tiles). The buffers must not be those of a variable. On error *res is
// unchanged.
func (p *Program) EvalInto(res *Result, vars map[string]Array) error {
	st, _ := p.pool.Get().(*state)
	if st == nil {
		st = p.newState()
	}
	defer p.release(st)
	n, err := p.bind(st, vars)
	if err != nil {
		return err
	}
	for i := range p.stages {
		p.runStage(st, &p.stages[i], n)
	}
	valBuf, maskBuf := res.Values, res.Mask
	*res = Result{}
	for i := range p.vars { // the output nodata rule: see Result
		if a := st.arrays[i]; a.HasNoData {
			res.HasNoData, res.NoData = true, a.NoData
			break
		}
	}
	fillv := math.NaN()
	if res.HasNoData {
		fillv = res.NoData
	}
	pr := &p.main
	if pr.uniform {
		p.run(st, pr, 1)
		v := st.vals[pr.out][0]
		res.Scalar = true
		res.Values = grow(valBuf, 1)
		res.Values[0] = v
		if v-v != 0 { // NaN or ±Inf
			res.Values[0] = fillv
			res.Mask = grow(maskBuf, 1)
			res.Mask[0] = true
		}
		return nil
	}
	p.maskFlags(st, pr)
	res.Values = grow(valBuf, n)
	direct := pr.hi > pr.lo // the last instruction writes into res.Values
	fillBits := math.Float64bits(fillv)
	nodata := 0
	var inMasks [8][]bool
	for off := 0; off < n; off += blockSize {
		m := min(blockSize, n-off)
		dst := res.Values[off : off+m]
		p.setBlock(st, pr, off, m)
		finite := false // known to be: the last instruction ran a fast kernel
		if direct {
			p.runInto(st, pr, m, dst)
			finite = st.finite
		} else {
			copy(dst, st.vals[pr.out][:m])
		}
		// The input nodata of the block: the variables' masks (modeStrict) or the result's
		// mask (modeMask).
		ins := inMasks[:0]
		switch pr.mode {
		case modeStrict:
			ins = st.varMasks(ins, pr)
		case modeMask:
			if mk := st.masks[pr.out]; mk != nil {
				ins = append(ins, mk)
			}
		}
		if len(ins) == 0 { // nodata only where a value is not finite: rare, so branch
			if finite || allFinite(dst) {
				continue
			}
			for i, v := range dst {
				if v-v != 0 { // NaN or ±Inf
					res.Mask = markNoData(res.Mask, maskBuf, n)
					res.Mask[off+i] = true
					dst[i] = fillv
					nodata++
				}
			}
			continue
		}
		res.Mask = markNoData(res.Mask, maskBuf, n)
		nodata += finalize(dst, res.Mask[off:off+m], ins, fillBits, finite)
	}
	if nodata == 0 {
		res.Mask = nil
	}
	return nil
}

// grow returns s resized to n, reallocated when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// markNoData returns mask, or when it is nil a cleared mask of n pixels, from buf when
// large enough.
func markNoData(mask, buf []bool, n int) []bool {
	if mask == nil {
		mask = grow(buf, n)
		clear(mask)
	}
	return mask
}

// release drops the references to the caller's arrays and returns st to the pool.
func (p *Program) release(st *state) {
	for i := range p.vars {
		st.arrays[i] = Array{}
		st.vals[i], st.masks[i] = nil, nil
	}
	for s := int(p.firstStack); s < p.nslots; s++ { // may point into the caller's result
		st.vals[s], st.masks[s] = nil, nil
	}
	clear(st.exact)
	p.pool.Put(st)
}

// bind checks the variables and records them in st; it returns the array length.
func (p *Program) bind(st *state, vars map[string]Array) (int, error) {
	var missing *Error
	for i, name := range p.vars {
		a, ok := vars[name]
		if !ok {
			sp := p.varSpan[i]
			if missing == nil || sp[0] < missing.Start {
				missing = &Error{Msg: fmt.Sprintf("Found an undeclared variable %q in formula.", name), Start: sp[0], End: sp[1], wrapped: ErrMissingVar}
			}
			continue
		}
		st.arrays[i] = a
	}
	if missing != nil {
		return 0, missing
	}
	n, first := -1, ""
	for i, name := range p.vars {
		a := st.arrays[i]
		l := len(a.Values)
		if a.Mask != nil && len(a.Mask) != l {
			return 0, fmt.Errorf("%w: variable %q has %d values and %d mask entries", ErrLength, name, l, len(a.Mask))
		}
		if l == 1 {
			continue
		}
		if n < 0 {
			n, first = l, name
		} else if l != n {
			return 0, fmt.Errorf("%w: variable %q has %d values, variable %q has %d", ErrLength, first, n, name, l)
		}
	}
	if n < 0 {
		n = 1
	}
	for i := range p.vars {
		a := st.arrays[i]
		st.bcast[i] = len(a.Values) == 1 && n != 1
		if !st.bcast[i] {
			continue
		}
		if st.buf[i] == nil {
			st.buf[i], st.mbuf[i] = make([]float64, blockSize), make([]bool, blockSize)
		}
		fill(st.buf[i], a.Values[0])
		if a.Mask != nil {
			fill(st.mbuf[i], a.Mask[0])
		}
	}
	return n, nil
}

// maskFlags decides which instructions of pr produce a nodata mask: in modeMask, those
// with an operand that has one, except ~x, +x and the NULL tests, which clear it; in the
// other modes none.
func (p *Program) maskFlags(st *state, pr *prog) {
	for i := range p.vars {
		st.hasMask[i] = pr.mode == modeMask && st.arrays[i].Mask != nil
	}
	for s := len(p.vars); s < p.nslots; s++ {
		st.hasMask[s] = false
	}
	for i := pr.lo; i < pr.hi; i++ {
		in := &p.code[i]
		out := false
		switch in.op {
		case opUnmask, opIsNull, opNotNull:
		default:
			for _, s := range [3]int32{in.a, in.b, in.c} {
				if s != noSlot && st.hasMask[s] {
					out = true
				}
			}
		}
		st.outMask[i] = out
		st.hasMask[in.dst] = out
	}
}

// setBlock points the variable slots pr uses at pixels [off, off+m), as pr's mode wants
// them: raw with masks (modeStrict, modeMask) or with NaN at nodata pixels (modeNaN).
func (p *Program) setBlock(st *state, pr *prog, off, m int) {
	for _, i := range pr.vars {
		a := st.arrays[i]
		var vals []float64
		var mask []bool
		if st.bcast[i] {
			vals = st.buf[i][:m]
			if a.Mask != nil {
				mask = st.mbuf[i][:m]
			}
		} else {
			vals = a.Values[off : off+m]
			if a.Mask != nil {
				mask = a.Mask[off : off+m]
			}
		}
		if pr.mode == modeNaN && mask != nil {
			if st.sub[i] == nil {
				st.sub[i] = make([]float64, blockSize)
			}
			r := st.sub[i][:m]
			for k, v := range vals {
				r[k] = poison(v, b2u(mask[k]))
			}
			vals, mask = r, nil
		}
		st.vals[i], st.masks[i] = vals, mask
	}
}

// varMasks appends to dst the current block's masks of the variables pr reads that have
// one: in modeStrict, a pixel is nodata where one of them is.
func (st *state) varMasks(dst [][]bool, pr *prog) [][]bool {
	for _, v := range pr.vars {
		if mk := st.masks[v]; mk != nil {
			dst = append(dst, mk)
		}
	}
	return dst
}

// run executes the instructions of pr over one block of m pixels.
func (p *Program) run(st *state, pr *prog, m int) {
	for i := pr.lo; i < pr.hi; i++ {
		st.exec(&p.code[i], st.outMask[i], st.buf[p.code[i].dst][:m], &st.exact[i])
	}
}

// runInto is run with the last instruction writing into out, saving a copy.
func (p *Program) runInto(st *state, pr *prog, m int, out []float64) {
	last := pr.hi - 1
	for i := pr.lo; i < last; i++ {
		st.exec(&p.code[i], st.outMask[i], st.buf[p.code[i].dst][:m], &st.exact[i])
	}
	st.exec(&p.code[last], st.outMask[last], out, &st.exact[last])
}

// runStage computes a stage's number into its scalar slot.
func (p *Program) runStage(st *state, s *stage, n int) {
	var v float64
	pr := &s.arg
	switch {
	case pr.uniform:
		p.maskFlags(st, pr)
		p.run(st, pr, 1)
		v = st.vals[pr.out][0]
		if s.red != redNone {
			v = reduceConst(s.red, v)
		}
	default:
		p.maskFlags(st, pr)
		r := reducer{red: s.red, vals: st.collect[:0]}
		r.start()
		var ins [8][]bool
		for off := 0; off < n; off += blockSize {
			m := min(blockSize, n-off)
			p.setBlock(st, pr, off, m)
			p.run(st, pr, m)
			mask := st.masks[pr.out] // modeMask; nil in modeNaN
			if pr.mode == modeStrict {
				mask = nil
				if k := st.varMasks(ins[:0], pr); len(k) > 0 {
					mask = st.cmask[:m]
					unionMasks(mask, k)
				}
			}
			r.add(st.vals[pr.out][:m], mask)
		}
		v = r.result()
		st.collect = r.vals[:0]
	}
	fill(st.buf[s.dst], v)
}

// reducer accumulates a reduction over the valid (unmasked, not NaN) values.
type reducer struct {
	red       reduction
	n         int
	sum, comp float64 // Neumaier's compensated sum
	lo, hi    float64
	vals      []float64 // median and std
}

func (r *reducer) start() { r.lo, r.hi = math.Inf(1), math.Inf(-1) }

func (r *reducer) add(vals []float64, mask []bool) {
	for i, v := range vals {
		if v != v || mask != nil && mask[i] {
			continue
		}
		r.n++
		switch r.red {
		case redMin:
			r.lo = min(r.lo, v)
		case redMax:
			r.hi = max(r.hi, v)
		case redSum, redMean:
			t := r.sum + v
			if math.Abs(r.sum) >= math.Abs(v) {
				r.comp += (r.sum - t) + v
			} else {
				r.comp += (v - t) + r.sum
			}
			r.sum = t
		default:
			r.vals = append(r.vals, v)
		}
	}
}

// result returns the reduction, NaN (nodata) when no value was valid.
func (r *reducer) result() float64 {
	if r.n == 0 {
		return math.NaN()
	}
	switch r.red {
	case redMin:
		return r.lo
	case redMax:
		return r.hi
	case redSum, redMean:
		s := r.sum
		if s-s == 0 { // the compensation is NaN once an infinity was added
			s += r.comp
		}
		if r.red == redMean {
			s /= float64(r.n)
		}
		return s
	case redMedian:
		slices.Sort(r.vals)
		k := len(r.vals) / 2
		if len(r.vals)%2 == 1 {
			return r.vals[k]
		}
		return r.vals[k-1]/2 + r.vals[k]/2
	case redStd: // population standard deviation, two passes
		var s float64
		for _, v := range r.vals {
			s += v
		}
		mean := s / float64(len(r.vals))
		var ss float64
		for _, v := range r.vals {
			ss += (v - mean) * (v - mean)
		}
		return math.Sqrt(ss / float64(len(r.vals)))
	}
	return math.NaN()
}

// reduceConst is the reduction of a single value (a constant or a uniform expression):
// the value itself, 0 for std, NaN (nodata) for a NaN.
func reduceConst(red reduction, v float64) float64 {
	if v != v {
		return v
	}
	if red == redStd {
		return v - v // 0, or NaN for ±Inf as the two-pass formula gives
	}
	return v
}
