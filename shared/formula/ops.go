package formula

import "math"

// opcode is one elementwise operation of a compiled program.
//
// Inside a program a NaN value means nodata: domain errors (x/0, log(≤0), sqrt(<0), …)
// write NaN, NaN propagates through arithmetic, and the operations where it would not
// (comparisons, logic, pow, where, sign) test for it, so NaN never turns into a valid value.
// Nodata pixels of the inputs travel in masks beside the values, which keep the raw stored
// numbers (so ~x can show them through), or, when the formula has no ~ or unary +, as NaN
// substituted at load. Infinities (INF, overflow such as exp(1000)) are IEEE values in
// between, so x < INF, clamp(x, -INF, 0) and 1/exp(1000) = 0 work; a final value that is
// ±Inf or NaN is nodata.
type opcode uint8

const (
	opNone opcode = iota
	// binary
	opAdd
	opSub
	opMul
	opDiv
	opPow
	opEq
	opNe
	opGt
	opGe
	opLt
	opLe
	opAnd
	opOr
	opMin2
	opMax2
	// unary
	opNeg
	opNot
	opUnmask  // ~x, +x: the value with its nodata pixels made ordinary
	opIsNull  // x == NULL
	opNotNull // x != NULL
	opSin
	opCos
	opTan
	opLog
	opLog10
	opExp
	opAbs
	opInt
	opRound
	opSign
	opSqrt
	opFloor
	opCeil
	// ternary
	opWhere
	opClamp
)

// arity returns the number of operands of op.
func (op opcode) arity() int {
	switch {
	case op >= opAdd && op <= opMax2:
		return 2
	case op >= opNeg && op <= opCeil:
		return 1
	case op == opWhere || op == opClamp:
		return 3
	}
	return 0
}

var nan = math.NaN()

// The scalar definitions of the operations. Constant folding calls them and the kernels in
// kernels.go apply them (the compiler inlines them); the generated kernels
// (kernels_binary.go, kernels_fused.go) write them out, checked against them by
// TestAgainstReference. So a folded constant equals what the evaluator would compute.
//
// The hot ones are branch-free: nodata and boolean pixels are scattered over a tile, so a
// branch on them would be mispredicted often. A boolean becomes 0 or 1 through SETcc
// (b2u), and NaN is forced in by or-ing its bits (poison).

const (
	oneBits = 0x3FF0000000000000 // 1.0
	nanBits = 0x7FF8000000000000 // a quiet NaN; or-ed into any float64 it gives a NaN
)

// b2u is 1 for true, 0 for false, without a branch.
func b2u(b bool) uint64 {
	var u uint64
	if b {
		u = 1
	}
	return u
}

// b2f is 1.0 for true, 0.0 for false.
func b2f(b bool) float64 { return math.Float64frombits(-b2u(b) & oneBits) }

// poison returns v, or NaN when bad is 1.
func poison(v float64, bad uint64) float64 {
	return math.Float64frombits(math.Float64bits(v) | -bad&nanBits)
}

// ordered is 1 when neither a nor b is NaN: exactly one of a <= b and a > b holds then,
// neither otherwise.
func ordered(a, b float64) uint64 { return b2u(a <= b) | b2u(a > b) }

// fDiv is a/b, NaN (nodata) when b is 0.
func fDiv(a, b float64) float64 { return poison(a/b, b2u(b == 0)) }

// fPow is a^b, NaN (nodata) for 0 to a negative power, and NaN in, NaN out.
func fPow(a, b float64) float64 {
	if a != a || b != b || a == 0 && b < 0 {
		return nan // math.Pow(NaN, 0) is 1, and 0^-1 is a division by zero
	}
	return math.Pow(a, b)
}

// The comparisons and logical operators give 1 or 0, NaN when an operand is NaN.
func fEq(a, b float64) float64  { return poison(b2f(a == b), 1^ordered(a, b)) }
func fNe(a, b float64) float64  { return poison(b2f(a != b), 1^ordered(a, b)) }
func fGt(a, b float64) float64  { return poison(b2f(a > b), 1^ordered(a, b)) }
func fGe(a, b float64) float64  { return poison(b2f(a >= b), 1^ordered(a, b)) }
func fLt(a, b float64) float64  { return poison(b2f(a < b), 1^ordered(a, b)) }
func fLe(a, b float64) float64  { return poison(b2f(a <= b), 1^ordered(a, b)) }
func fAnd(a, b float64) float64 { return poison(b2f(b2u(a != 0)&b2u(b != 0) == 1), 1^ordered(a, b)) }
func fOr(a, b float64) float64  { return poison(b2f(b2u(a != 0)|b2u(b != 0) == 1), 1^ordered(a, b)) }
func fNot(a float64) float64    { return poison(b2f(a == 0), b2u(a != a)) }

func fLog(a float64) float64 {
	if !(a > 0) {
		return nan
	}
	return math.Log(a)
}

func fLog10(a float64) float64 {
	if !(a > 0) {
		return nan
	}
	return math.Log10(a)
}

func fSign(a float64) float64 {
	switch {
	case a > 0:
		return 1
	case a < 0:
		return -1
	case a == 0:
		return 0
	}
	return nan
}

// fWhere is a where c is non-zero, else b; NaN when c is NaN.
func fWhere(c, a, b float64) float64 {
	pick := -b2u(c != 0)
	v := math.Float64frombits(math.Float64bits(a)&pick | math.Float64bits(b)&^pick)
	return poison(v, b2u(c != c))
}

func fClamp(x, lo, hi float64) float64 {
	return min(max(x, lo), hi) // Go's min and max propagate NaN
}

// scalar1 applies a unary operation to one value (x's mask is not known here: opUnmask is
// the identity and opIsNull tests for NaN).
func scalar1(op opcode, a float64) float64 {
	switch op {
	case opNeg:
		return -a
	case opNot:
		return fNot(a)
	case opUnmask:
		return a
	case opIsNull:
		return b2f(a != a)
	case opNotNull:
		return b2f(a == a)
	case opSin:
		return math.Sin(a)
	case opCos:
		return math.Cos(a)
	case opTan:
		return math.Tan(a)
	case opLog:
		return fLog(a)
	case opLog10:
		return fLog10(a)
	case opExp:
		return math.Exp(a)
	case opAbs:
		return math.Abs(a)
	case opInt:
		return math.Trunc(a)
	case opRound:
		return math.RoundToEven(a)
	case opSign:
		return fSign(a)
	case opSqrt:
		return math.Sqrt(a)
	case opFloor:
		return math.Floor(a)
	case opCeil:
		return math.Ceil(a)
	}
	return nan
}

// scalar2 applies a binary operation to two values.
func scalar2(op opcode, a, b float64) float64 {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return fDiv(a, b)
	case opPow:
		return fPow(a, b)
	case opEq:
		return fEq(a, b)
	case opNe:
		return fNe(a, b)
	case opGt:
		return fGt(a, b)
	case opGe:
		return fGe(a, b)
	case opLt:
		return fLt(a, b)
	case opLe:
		return fLe(a, b)
	case opAnd:
		return fAnd(a, b)
	case opOr:
		return fOr(a, b)
	case opMin2:
		return min(a, b)
	case opMax2:
		return max(a, b)
	}
	return nan
}

// scalar3 applies a ternary operation to three values.
func scalar3(op opcode, a, b, c float64) float64 {
	if op == opWhere {
		return fWhere(a, b, c)
	}
	return fClamp(a, b, c)
}

// binaryOp returns the operation of a binary operator token and its precedence (higher
// binds tighter): | < & < comparisons < + - < * / < unary < ^, which is right-associative
// (why: django-raster had three levels, + - < the rest < ^, so 2+3>4 was 2 and x>0&x<2
// was ((x>0)&x)<2; Tessera follows the usual order). ok is false for other tokens.
func binaryOp(text string) (op opcode, prec int, ok bool) {
	switch text {
	case "|":
		return opOr, 1, true
	case "&":
		return opAnd, 2, true
	case "==":
		return opEq, 3, true
	case "!=":
		return opNe, 3, true
	case ">":
		return opGt, 3, true
	case ">=":
		return opGe, 3, true
	case "<":
		return opLt, 3, true
	case "<=":
		return opLe, 3, true
	case "+":
		return opAdd, 4, true
	case "-":
		return opSub, 4, true
	case "*":
		return opMul, 5, true
	case "/":
		return opDiv, 5, true
	case "^":
		return opPow, precPow, true
	}
	return opNone, 0, false
}

// The precedence of the unary operators (above * and /) and of ^ (above unary: -2^2 is
// -(2^2) = -4; why: django-raster bound unary tighter, giving 4).
const (
	precUnary = 6
	precPow   = 7
)
