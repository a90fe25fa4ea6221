package formula

import "math"

// Function describes one function of the language. Functions returns the one table that
// the checker, the evaluator, docs/formula.md and the browser's formula editor all use.
type Function struct {
	Name string
	// MinArgs and MaxArgs bound the number of arguments; MaxArgs is -1 for variadic.
	MinArgs, MaxArgs int
	// Doc is a one-line description for documentation and editor suggestions.
	Doc string
	// Added marks a function django-raster does not have: there the name is a variable.
	Added bool
}

// reduction is a function that reduces a whole array to one number.
type reduction uint8

const (
	redNone reduction = iota
	redMin
	redMax
	redMean
	redMedian
	redStd
	redSum
)

// funcDef is a Function with how to evaluate it: op is the elementwise operation (for min
// and max, the one of two or more arguments), red the reduction of one argument.
type funcDef struct {
	Function
	op  opcode
	red reduction
}

// functions is the one function table.
var functions = [...]funcDef{
	{Function{"sin", 1, 1, "sine of x (radians)", false}, opSin, redNone},
	{Function{"cos", 1, 1, "cosine of x (radians)", false}, opCos, redNone},
	{Function{"tan", 1, 1, "tangent of x (radians)", false}, opTan, redNone},
	{Function{"log", 1, 1, "natural logarithm of x; nodata where x ≤ 0", false}, opLog, redNone},
	{Function{"log10", 1, 1, "base-10 logarithm of x; nodata where x ≤ 0 (Tessera addition)", true}, opLog10, redNone},
	{Function{"exp", 1, 1, "e raised to x", false}, opExp, redNone},
	{Function{"abs", 1, 1, "absolute value of x", false}, opAbs, redNone},
	{Function{"int", 1, 1, "x truncated toward zero", false}, opInt, redNone},
	{Function{"round", 1, 1, "x rounded to the nearest integer, halves to even (2.5 → 2)", false}, opRound, redNone},
	{Function{"sign", 1, 1, "-1, 0 or 1 as x is negative, zero or positive", false}, opSign, redNone},
	{Function{"sqrt", 1, 1, "square root of x; nodata where x < 0 (Tessera addition)", true}, opSqrt, redNone},
	{Function{"floor", 1, 1, "largest integer ≤ x (Tessera addition)", true}, opFloor, redNone},
	{Function{"ceil", 1, 1, "smallest integer ≥ x (Tessera addition)", true}, opCeil, redNone},
	{Function{"min", 1, -1, "min(x): smallest valid value of the whole array, one number; min(a, b, …): elementwise minimum (Tessera addition)", false}, opMin2, redMin},
	{Function{"max", 1, -1, "max(x): largest valid value of the whole array, one number; max(a, b, …): elementwise maximum (Tessera addition)", false}, opMax2, redMax},
	{Function{"mean", 1, 1, "mean of the valid values of the whole array, one number", false}, opNone, redMean},
	{Function{"median", 1, 1, "median of the valid values of the whole array, one number (nodata ignored: fix)", false}, opNone, redMedian},
	{Function{"std", 1, 1, "population standard deviation of the valid values of the whole array, one number", false}, opNone, redStd},
	{Function{"sum", 1, 1, "sum of the valid values of the whole array, one number", false}, opNone, redSum},
	{Function{"where", 3, 3, "where(c, a, b): a where c is true (non-zero), else b; nodata where c is nodata or the chosen value is (Tessera addition)", true}, opWhere, redNone},
	{Function{"clamp", 3, 3, "clamp(x, lo, hi): x limited to [lo, hi], i.e. min(max(x, lo), hi) (Tessera addition)", true}, opClamp, redNone},
}

// Functions returns the function table, in a fixed order.
func Functions() []Function {
	out := make([]Function, len(functions))
	for i, f := range functions {
		out[i] = f.Function
	}
	return out
}

func lookupFunc(name string) *funcDef {
	for i := range functions {
		if functions[i].Name == name {
			return &functions[i]
		}
	}
	return nil
}

// VarName reports whether a formula reads name as a variable: it lexes as a name (letters,
// digits and _, not starting with a digit, neither starting nor ending with _) and is neither
// a keyword (E, PI, TRUE, FALSE, INF, NULL) nor a function. It compiles nothing, so a caller
// can check every name of every request with it.
func VarName(name string) bool {
	if !isName(name) {
		return false
	}
	if _, ok := keyword(name); ok || name == "NULL" {
		return false
	}
	return lookupFunc(name) == nil
}

// AddedFunction reports whether name is a function django-raster does not have (Function.Added),
// a name django-raster formulas read as a variable.
func AddedFunction(name string) bool {
	f := lookupFunc(name)
	return f != nil && f.Added
}

// keyword returns the value of a named constant (case-sensitive: e is a variable). NULL
// is not a value; the parser handles it.
func keyword(name string) (float64, bool) {
	switch name {
	case "E":
		return math.E, true
	case "PI":
		return math.Pi, true
	case "TRUE":
		return 1, true
	case "FALSE":
		return 0, true
	case "INF":
		return math.Inf(1), true
	}
	return 0, false
}
