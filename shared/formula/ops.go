package formula

import "math"

// opcode is one elementwise operation of a compiled program.
//
// Inside a program a NaN value means nodata: domain errors (x/0, log(≤0), sqrt(<0), …)
// and overflows (an infinite result of finite operands, exp(1000)) write NaN, NaN propagates through arithmetic, and the operations where it would not
// (comparisons, logic, pow, where, sign) test for it, so NaN never turns into a valid value.
// Nodata pixels of the inputs travel in masks beside the values, which keep the raw stored
// numbers (so ~x can show them through). The INF keyword's infinities are values in
// between (x < INF, clamp(x, -INF, 0)); a final value that is ±Inf or NaN is nodata.
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

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// The scalar definitions of the operations. The kernels in eval.go apply the same
// functions (the compiler inlines them), and constant folding calls them, so a folded
// constant equals what the evaluator would compute.

// finite2 returns v, or NaN (nodata) when v overflowed: it is infinite or NaN while both
// operands are finite. An infinite operand (the INF keyword) may give an infinite value.
func finite2(v, a, b float64) float64 {
	if v-v != 0 && a-a == 0 && b-b == 0 {
		return nan
	}
	return v
}

func fAdd(a, b float64) float64 { return finite2(a+b, a, b) }
func fSub(a, b float64) float64 { return finite2(a-b, a, b) }
func fMul(a, b float64) float64 { return finite2(a*b, a, b) }

func fDiv(a, b float64) float64 {
	if b == 0 {
		return nan
	}
	return finite2(a/b, a, b)
}

func fPow(a, b float64) float64 {
	if a != a || b != b || a == 0 && b < 0 {
		return nan // math.Pow(NaN, 0) is 1, and 0^-1 is a division by zero
	}
	return finite2(math.Pow(a, b), a, b)
}

func fExp(a float64) float64 {
	return finite2(math.Exp(a), a, 0)
}

func fCmp(op opcode, a, b float64) float64 {
	if a != a || b != b {
		return nan
	}
	switch op {
	case opEq:
		return b2f(a == b)
	case opNe:
		return b2f(a != b)
	case opGt:
		return b2f(a > b)
	case opGe:
		return b2f(a >= b)
	case opLt:
		return b2f(a < b)
	}
	return b2f(a <= b)
}

func fAnd(a, b float64) float64 {
	if a != a || b != b {
		return nan
	}
	return b2f(a != 0 && b != 0)
}

func fOr(a, b float64) float64 {
	if a != a || b != b {
		return nan
	}
	return b2f(a != 0 || b != 0)
}

func fNot(a float64) float64 {
	if a != a {
		return nan
	}
	return b2f(a == 0)
}

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

func fWhere(c, a, b float64) float64 {
	if c != c {
		return nan
	}
	if c != 0 {
		return a
	}
	return b
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
		return fExp(a)
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
		return fAdd(a, b)
	case opSub:
		return fSub(a, b)
	case opMul:
		return fMul(a, b)
	case opDiv:
		return fDiv(a, b)
	case opPow:
		return fPow(a, b)
	case opEq, opNe, opGt, opGe, opLt, opLe:
		return fCmp(op, a, b)
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
