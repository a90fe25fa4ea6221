package formula

import "math"

// exec runs one instruction over the len(r) pixels of the block, writing the values into
// r (the destination register, or the result) and then, withMask, the nodata mask. r may be
// one of the operands' registers; every loop reads index i of its operands before writing
// index i. st.finite tells afterwards whether a fast kernel computed the block, whose
// values are then all finite (it sums its result or gives 0 and 1). *exact is set once the
// instruction's fast kernel failed in this evaluation (NaN or infinities tend to come in
// regions, or at every nodata pixel in modeNaN), so that the following blocks go to the
// exact kernel directly.
func (st *state) exec(in *instr, withMask bool, r []float64, exact *bool) {
	st.finite = false
	m := len(r)
	a := st.vals[in.a][:m]
	ma := st.masks[in.a]
	var b, c []float64
	var mb, mc []bool
	if in.b != noSlot {
		b, mb = st.vals[in.b][:m], st.masks[in.b]
	}
	if in.c != noSlot {
		c, mc = st.vals[in.c][:m], st.masks[in.c]
	}
	var mr []bool
	if withMask {
		mr = st.mbuf[in.dst][:m]
	}
	var y, z float64
	if in.bScalar {
		y = st.vals[in.b][0]
	}
	if in.cScalar {
		z = st.vals[in.c][0]
	}
	if in.fast != nil && !withMask && !*exact {
		if y != y || z != z { // each of these operations gives NaN for a NaN operand
			fill(r, nan)
			st.vals[in.dst], st.masks[in.dst] = r, nil
			return
		}
		// A fast kernel that fails leaves garbage in its destination, so it must not
		// write over an operand: it writes into the spare buffer, which then becomes the
		// destination register's.
		w := r
		if same(r, a) || same(r, b) || same(r, c) {
			w = st.spare[:m]
		}
		if in.fast(w, a, b, c, y, z) {
			if !same(w, r) {
				st.buf[in.dst], st.spare = st.spare, st.buf[in.dst]
			}
			st.vals[in.dst], st.masks[in.dst] = w, nil
			st.finite = true
			return
		}
		*exact = true
	}
	if in.kern != nil { // a superinstruction; no mask travels
		if y != y || z != z { // every fused operation gives NaN for a NaN operand
			fill(r, nan)
		} else {
			in.kern(r, a, b, c, y, z)
		}
		st.vals[in.dst], st.masks[in.dst] = r, nil
		return
	}
	if in.bin != nil {
		if y != y { // each of these operations gives NaN for a NaN operand
			fill(r, nan)
		} else {
			in.bin(r, a, b, c, y, z)
		}
		st.finish(in, withMask, r, mr, ma, mb, mc)
		return
	}
	switch in.op {
	case opPow:
		b = b[:len(r)]
		for i := range r {
			r[i] = fPow(a[i], b[i])
		}
	case opMin2:
		b = b[:len(r)]
		for i := range r {
			r[i] = min(a[i], b[i])
		}
	case opMax2:
		b = b[:len(r)]
		for i := range r {
			r[i] = max(a[i], b[i])
		}
	case opNeg:
		for i := range r {
			r[i] = -a[i]
		}
	case opNot:
		for i := range r { // as fNot
			x := a[i]
			r[i] = math.Float64frombits(-b2u(x == 0)&oneBits | -b2u(x != x)&nanBits)
		}
	case opUnmask:
		copy(r, a)
	case opIsNull, opNotNull:
		flip := b2u(in.op == opNotNull)
		if ma == nil {
			for i := range r {
				r[i] = b2f(b2u(a[i] != a[i])^flip == 1)
			}
		} else {
			ma = ma[:len(r)]
			for i := range r {
				r[i] = b2f((b2u(ma[i])|b2u(a[i] != a[i]))^flip == 1)
			}
		}
	case opSin:
		for i := range r {
			r[i] = math.Sin(a[i])
		}
	case opCos:
		for i := range r {
			r[i] = math.Cos(a[i])
		}
	case opTan:
		for i := range r {
			r[i] = math.Tan(a[i])
		}
	case opLog:
		for i := range r {
			r[i] = fLog(a[i])
		}
	case opLog10:
		for i := range r {
			r[i] = fLog10(a[i])
		}
	case opExp:
		for i := range r {
			r[i] = math.Exp(a[i])
		}
	case opAbs:
		for i := range r {
			r[i] = math.Abs(a[i])
		}
	case opInt:
		for i := range r {
			r[i] = math.Trunc(a[i])
		}
	case opRound:
		for i := range r {
			r[i] = math.RoundToEven(a[i])
		}
	case opSign:
		for i := range r {
			r[i] = fSign(a[i])
		}
	case opSqrt:
		for i := range r {
			r[i] = math.Sqrt(a[i])
		}
	case opFloor:
		for i := range r {
			r[i] = math.Floor(a[i])
		}
	case opCeil:
		for i := range r {
			r[i] = math.Ceil(a[i])
		}
	case opWhere:
		b, c = b[:len(r)], c[:len(r)]
		if withMask { // nodata where c is, else where the chosen value is
			for i := range r {
				cond, x, y := a[i], b[i], c[i]
				var mk bool
				if cond != 0 {
					mk = mb != nil && mb[i]
				} else {
					mk = mc != nil && mc[i]
				}
				mr[i] = mk || ma != nil && ma[i]
				r[i] = fWhere(cond, x, y)
			}
			st.vals[in.dst], st.masks[in.dst] = r, mr
			return
		}
		for i := range r { // as fWhere
			cond := a[i]
			pick := -b2u(cond != 0)
			r[i] = math.Float64frombits(math.Float64bits(b[i])&pick | math.Float64bits(c[i])&^pick | -b2u(cond != cond)&nanBits)
		}
	case opClamp:
		b, c = b[:len(r)], c[:len(r)]
		for i := range r {
			r[i] = fClamp(a[i], b[i], c[i])
		}
	}
	st.finish(in, withMask, r, mr, ma, mb, mc)
}

// same reports whether two blocks start at the same value.
func same(x, y []float64) bool { return len(x) > 0 && len(y) > 0 && &x[0] == &y[0] }

// finish records r as the destination's values and, withMask, its mask: the union of the
// operands' masks.
func (st *state) finish(in *instr, withMask bool, r []float64, mr, ma, mb, mc []bool) {
	st.vals[in.dst] = r
	if !withMask {
		st.masks[in.dst] = nil
		return
	}
	orMasks(mr, ma, mb, mc)
	st.masks[in.dst] = mr
}

// orMasks sets mr to the union of the masks that are not nil (at least one is).
func orMasks(mr, ma, mb, mc []bool) {
	var ms [3][]bool
	k := 0
	for _, m := range [3][]bool{ma, mb, mc} {
		if m != nil {
			ms[k] = m[:len(mr)]
			k++
		}
	}
	switch k {
	case 1:
		copy(mr, ms[0])
	case 2:
		x, y := ms[0], ms[1]
		for i := range mr {
			mr[i] = x[i] || y[i]
		}
	case 3:
		x, y, z := ms[0], ms[1], ms[2]
		for i := range mr {
			mr[i] = x[i] || y[i] || z[i]
		}
	}
}
