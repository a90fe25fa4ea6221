package formula

import (
	"fmt"
	"math"
	"slices"
)

// blockSize is the number of pixels each operation processes at a time: small enough that
// a formula's registers stay in the L1/L2 cache, large enough that the per-instruction
// dispatch is negligible.
const blockSize = 512

// state holds one evaluation's buffers; Program keeps them in a pool.
type state struct {
	vals    [][]float64 // each slot's values for the current block
	masks   [][]bool    // each slot's nodata mask for the current block, nil for none
	buf     [][]float64 // owned value buffers: scalars, stack registers, broadcast variables
	mbuf    [][]bool    // owned mask buffers: stack registers, broadcast variables
	hasMask []bool      // per slot, whether it carries a mask in this evaluation
	outMask []bool      // per instruction, whether its result carries a mask
	arrays  []Array     // the variables of this evaluation, by slot
	bcast   []bool      // per variable slot: one value broadcast over the array
	collect []float64   // values gathered for median and std
	// nanMode: the formula has no ~ or unary +, so raw values at nodata pixels never
	// matter; variables are loaded with NaN at their nodata pixels and no mask travels.
	nanMode bool
}

func (p *Program) newState() *state {
	nv := len(p.vars)
	st := &state{
		vals:    make([][]float64, p.nslots),
		masks:   make([][]bool, p.nslots),
		buf:     make([][]float64, p.nslots),
		mbuf:    make([][]bool, p.nslots),
		hasMask: make([]bool, p.nslots),
		outMask: make([]bool, len(p.code)),
		arrays:  make([]Array, nv),
		bcast:   make([]bool, nv),
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
// counts over many tiles). On error *res is unchanged.
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
	p.maskFlags(st)
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
	if p.main.uniform {
		p.run(st, &p.main, 1)
		v := st.vals[p.main.out][0]
		res.Scalar = true
		res.Values = grow(valBuf, 1)
		res.Values[0] = v
		if v-v != 0 { // NaN or ±Inf
			res.Values[0] = fillv
			res.Mask = markNoData(nil, maskBuf, 1, 0)
		}
		return nil
	}
	res.Values = grow(valBuf, n)
	direct := p.main.hi > p.main.lo // the last instruction writes into res.Values
	for off := 0; off < n; off += blockSize {
		m := min(blockSize, n-off)
		dst := res.Values[off : off+m]
		p.setBlock(st, off, m)
		if direct {
			p.runInto(st, &p.main, m, dst)
		} else {
			copy(dst, st.vals[p.main.out][:m])
		}
		mask := st.masks[p.main.out]
		if mask == nil {
			for i, v := range dst {
				if v-v != 0 { // NaN or ±Inf
					res.Mask = markNoData(res.Mask, maskBuf, n, off+i)
					dst[i] = fillv
				}
			}
			continue
		}
		mask = mask[:len(dst)]
		for i, v := range dst {
			if v-v != 0 || mask[i] {
				res.Mask = markNoData(res.Mask, maskBuf, n, off+i)
				dst[i] = fillv
			}
		}
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

// markNoData sets mask[i]; on the first nodata pixel the mask of n pixels is made, from buf
// when large enough.
func markNoData(mask, buf []bool, n, i int) []bool {
	if mask == nil {
		mask = grow(buf, n)
		clear(mask)
	}
	mask[i] = true
	return mask
}

// release drops the references to the caller's arrays and returns st to the pool.
func (p *Program) release(st *state) {
	for i := range p.vars {
		st.arrays[i] = Array{}
		if !st.bcast[i] {
			st.vals[i], st.masks[i] = nil, nil
		}
	}
	for s := int(p.firstStack); s < p.nslots; s++ { // may point into the caller's result
		st.vals[s], st.masks[s] = nil, nil
	}
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
	st.nanMode = !p.unmask
	for i := range p.vars {
		a := st.arrays[i]
		st.hasMask[i] = a.Mask != nil && !st.nanMode
		st.bcast[i] = len(a.Values) == 1 && n != 1
		if a.Mask != nil && st.nanMode || st.bcast[i] {
			if st.buf[i] == nil {
				st.buf[i], st.mbuf[i] = make([]float64, blockSize), make([]bool, blockSize)
			}
		}
		if !st.bcast[i] {
			continue
		}
		v := a.Values[0]
		st.vals[i], st.masks[i] = st.buf[i], nil
		switch {
		case a.Mask == nil:
		case st.nanMode:
			if a.Mask[0] {
				v = math.NaN()
			}
		default:
			fill(st.mbuf[i], a.Mask[0])
			st.masks[i] = st.mbuf[i]
		}
		fill(st.buf[i], v)
	}
	return n, nil
}

// maskFlags decides, for this evaluation, which instructions produce a nodata mask: those
// with an operand that has one, except ~x, +x and the NULL tests, which clear it.
func (p *Program) maskFlags(st *state) {
	for s := len(p.vars); s < p.nslots; s++ {
		st.hasMask[s] = false
	}
	flags := func(pr *prog) {
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
	for i := range p.stages {
		flags(&p.stages[i].arg)
	}
	flags(&p.main)
}

// setBlock points the variable slots at pixels [off, off+m).
func (p *Program) setBlock(st *state, off, m int) {
	for i := range p.vars {
		if st.bcast[i] {
			continue
		}
		a := st.arrays[i]
		vals := a.Values[off : off+m]
		switch {
		case a.Mask == nil:
			st.vals[i], st.masks[i] = vals, nil
		case st.nanMode: // NaN at the nodata pixels
			r, mask := st.buf[i][:m], a.Mask[off:off+m]
			mask = mask[:len(vals)]
			for k, v := range vals {
				r[k] = poison(v, b2u(mask[k]))
			}
			st.vals[i], st.masks[i] = r, nil
		default:
			st.vals[i], st.masks[i] = vals, a.Mask[off:off+m]
		}
	}
}

// run executes the instructions of pr over one block of m pixels.
func (p *Program) run(st *state, pr *prog, m int) {
	for i := pr.lo; i < pr.hi; i++ {
		st.exec(&p.code[i], st.outMask[i], st.buf[p.code[i].dst][:m])
	}
}

// runInto is run with the last instruction writing into out, saving a copy.
func (p *Program) runInto(st *state, pr *prog, m int, out []float64) {
	last := pr.hi - 1
	for i := pr.lo; i < last; i++ {
		st.exec(&p.code[i], st.outMask[i], st.buf[p.code[i].dst][:m])
	}
	st.exec(&p.code[last], st.outMask[last], out)
}

// runStage computes a stage's number into its scalar slot.
func (p *Program) runStage(st *state, s *stage, n int) {
	var v float64
	switch {
	case s.arg.uniform:
		p.run(st, &s.arg, 1)
		v = st.vals[s.arg.out][0]
		if s.red != redNone {
			v = reduceConst(s.red, v)
		}
	default:
		r := reducer{red: s.red, vals: st.collect[:0]}
		r.start()
		for off := 0; off < n; off += blockSize {
			m := min(blockSize, n-off)
			p.setBlock(st, off, m)
			p.run(st, &s.arg, m)
			r.add(st.vals[s.arg.out][:m], st.masks[s.arg.out])
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
