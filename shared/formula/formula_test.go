package formula

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/shared/raster"
)

// ND in an expected result marks a nodata pixel.
var ND = math.Inf(-1) // never a valid result value: results are finite

// testVars are the arrays most tests evaluate against: x has a nodata pixel (-9999, the
// last one), y has none, z has another nodata value, s is a one-value scalar.
func testVars() map[string]Array {
	return map[string]Array{
		"x": {Values: []float64{-1, 0.5, 2, 3, -9999}, Mask: []bool{false, false, false, false, true}, HasNoData: true, NoData: -9999},
		"y": {Values: []float64{2, 0, 2, -3, 1}},
		"z": {Values: []float64{0, 0, 1, 1, 255}, Mask: []bool{false, false, false, false, true}, HasNoData: true, NoData: 255},
		"s": {Values: []float64{10}},
		"e": {Values: []float64{1, 2, 3, 4, 5}},
	}
}

// got renders a result as values with ND at masked pixels.
func got(r Result) []float64 {
	out := slices.Clone(r.Values)
	for i := range out {
		if r.Mask != nil && r.Mask[i] {
			out[i] = ND
		}
	}
	return out
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && math.Abs(a[i]-b[i]) > 1e-12*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func eval(t *testing.T, src string, vars map[string]Array) Result {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	res, err := p.Eval(vars)
	if err != nil {
		t.Fatalf("Eval(%q): %v", src, err)
	}
	return res
}

// TestScalarFormulas covers every operator, unary operator, keyword, function and
// precedence rule on formulas without variables, which give one number.
func TestScalarFormulas(t *testing.T) {
	tests := []struct {
		name, src string
		want      float64 // ND: nodata
	}{
		// operators
		{"add", "1+2", 3},
		{"subtract", "7-10", -3},
		{"multiply", "2*3", 6},
		{"divide", "7/2", 3.5},
		{"power", "2^10", 1024},
		{"equal true", "3==3", 1},
		{"equal false", "3==2", 0},
		{"not equal", "3!=3", 0},
		{"greater", "3>2", 1},
		{"greater or equal", "2>=3", 0},
		{"less", "2<3", 1},
		{"less or equal", "3<=3", 1},
		{"and on numbers", "2&3", 1},
		{"and with zero", "2&0", 0},
		{"or of zeros", "0|0", 0},
		{"or on negative", "0|-1", 1},
		// unary
		{"negate", "-3", -3},
		{"double negation stacks", "--3", 3},
		{"not zero", "!0", 1},
		{"not non-zero", "!5", 0},
		{"negate not stacks (django-raster gave -a)", "-!0", -1},
		{"not negate", "!-2", 0},
		{"tilde on a number", "~3", 3},
		{"unary plus", "+3", 3},
		{"negate a parenthesis", "-(1+2)", -3},
		{"unary before a call", "-abs(-2)", -2},
		// precedence (fix)
		{"comparison below addition", "2+3>4", 1},
		{"multiplication before addition", "1+2*3", 7},
		{"parentheses", "(1+2)*3", 9},
		{"power above unary minus", "-2^2", -4},
		{"power right-associative", "2^3^2", 512},
		{"negative exponent", "2^-1", 0.5},
		{"and before or", "1|0&0", 1},
		{"comparison before and", "1<2&2<3", 1},
		{"division left-associative", "6/2/3", 1},
		{"subtraction left-associative", "8-2-1", 5},
		{"unary above multiplication", "2*-3", -6},
		{"not above addition", "!1+1", 1},
		{"comparisons left-associative", "3>2>1", 0},
		{"spaces and newlines separate tokens", " 1 +\n\t2 ", 3},
		{"number forms", "1. + .5 + 2.5e-3 + 1E2", 101.5025},
		// keywords
		{"E", "E", math.E},
		{"PI", "PI", math.Pi},
		{"TRUE", "TRUE", 1},
		{"FALSE", "FALSE", 0},
		{"INF above the largest number", "INF > 1e308", 1},
		{"minus INF", "-INF < -1e308", 1},
		{"INF alone is not a pixel value", "INF", ND},
		{"one over INF", "1/INF", 0},
		{"clamp with -INF", "clamp(5, -INF, 0)", 0},
		// functions
		{"sin", "sin(PI/2)", 1},
		{"cos", "cos(0)", 1},
		{"tan", "tan(PI/4)", math.Tan(math.Pi / 4)},
		{"log", "log(E)", 1},
		{"log10", "log10(1000)", 3},
		{"exp", "exp(1)", math.E},
		{"abs", "abs(-2.5)", 2.5},
		{"int truncates toward zero (negative)", "int(-2.7)", -2},
		{"int truncates toward zero", "int(2.7)", 2},
		{"round half to even down", "round(2.5)", 2},
		{"round half to even up", "round(3.5)", 4},
		{"round negative half", "round(-2.5)", -2},
		{"round", "round(2.6)", 3},
		{"sign negative", "sign(-3)", -1},
		{"sign zero", "sign(0)", 0},
		{"sign positive", "sign(0.1)", 1},
		{"sqrt", "sqrt(16)", 4},
		{"floor", "floor(-1.5)", -2},
		{"ceil", "ceil(-1.5)", -1},
		{"min elementwise", "min(3, 1, 2)", 1},
		{"max elementwise", "max(3, 1, 2)", 3},
		{"min of one number", "min(4)", 4},
		{"mean of one number", "mean(4)", 4},
		{"median of one number", "median(4)", 4},
		{"std of one number", "std(4)", 0},
		{"sum of one number", "sum(4)", 4},
		{"where true", "where(1, 2, 3)", 2},
		{"where false", "where(0, 2, 3)", 3},
		{"clamp high", "clamp(5, 0, 3)", 3},
		{"clamp low", "clamp(-1, 0, 3)", 0},
		{"clamp inside", "clamp(2, 0, 3)", 2},
		// domain errors are nodata (fix)
		{"divide by zero", "1/0", ND},
		{"zero by zero", "0/0", ND},
		{"log of zero", "log(0)", ND},
		{"log of negative", "log(-1)", ND},
		{"log10 of zero", "log10(0)", ND},
		{"sqrt of negative", "sqrt(-1)", ND},
		{"zero to a negative power", "0^-1", ND},
		{"fractional power of a negative", "(-8)^(1/3)", ND},
		{"overflow is nodata in the result", "exp(1000)", ND},
		{"overflow of a product", "1e200*1e200", ND},
		{"an overflow in between is an infinity", "1/exp(1000)", 0},
		{"an infinity compares", "exp(1000) > 1e308", 1},
		{"nodata propagates through division", "1/(1/0)", ND},
		{"nodata propagates through comparison", "(1/0) > 0", ND},
		{"nodata propagates through not", "!(1/0)", ND},
		{"nodata propagates through pow of zero", "(1/0)^0", ND},
		{"nodata condition", "where(1/0, 1, 2)", ND},
		{"unchosen nodata branch", "where(1, 5, 1/0)", 5},
		{"a domain error is NULL", "(1/0) == NULL", 1},
		{"a number is not NULL", "3 == NULL", 0},
		{"NULL on the left", "NULL != 3", 1},
		{"tilde cannot revive a domain error", "~(1/0)", ND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := eval(t, tt.src, nil)
			if !res.Scalar || len(res.Values) != 1 {
				t.Fatalf("%q: Scalar=%v with %d values, want one scalar", tt.src, res.Scalar, len(res.Values))
			}
			if g := got(res)[0]; g != tt.want && math.Abs(g-tt.want) > 1e-12 {
				t.Fatalf("%q = %v, want %v", tt.src, g, tt.want)
			}
		})
	}
	t.Run("every function has a test", func(t *testing.T) {
		for _, f := range Functions() {
			found := false
			for _, tt := range tests {
				found = found || strings.Contains(tt.src, f.Name+"(")
			}
			if !found {
				t.Errorf("function %s has no case in TestScalarFormulas", f.Name)
			}
		}
	})
}

// TestArrayFormulas covers variables, nodata, broadcasting and reductions.
func TestArrayFormulas(t *testing.T) {
	tests := []struct {
		name, src string
		want      []float64
		scalar    bool
	}{
		{"a variable", "x", []float64{-1, 0.5, 2, 3, ND}, false},
		{"e is a variable, E the constant", "e*E/E", []float64{1, 2, 3, 4, 5}, false},
		{"nodata operand gives nodata", "x + y", []float64{1, 0.5, 4, 0, ND}, false},
		{"nodata of either side", "z * y", []float64{0, 0, 2, -3, ND}, false},
		{"division by a zero pixel", "x / y", []float64{-0.5, ND, 1, -1, ND}, false},
		{"log of non-positive pixels", "log(y)", []float64{math.Log(2), ND, math.Log(2), ND, 0}, false},
		{"sqrt of negative pixels", "sqrt(y)", []float64{math.Sqrt(2), 0, math.Sqrt(2), ND, 1}, false},
		{"range test (fix: conventional precedence)", "x>0&x<2", []float64{0, 1, 0, 0, ND}, false},
		{"or of comparisons", "x<0 | x>2", []float64{1, 0, 0, 1, ND}, false},
		{"not", "!z", []float64{1, 1, 0, 0, ND}, false},
		{"tilde shows the nodata value through", "~x", []float64{-1, 0.5, 2, 3, -9999}, false},
		{"plus shows the nodata value through", "+x", []float64{-1, 0.5, 2, 3, -9999}, false},
		{"tilde in arithmetic", "~x + 1", []float64{0, 1.5, 3, 4, -9998}, false},
		{"tilde only unmasks its operand", "~x + z", []float64{-1, 0.5, 3, 4, ND}, false},
		{"x == NULL", "x == NULL", []float64{0, 0, 0, 0, 1}, false},
		{"x != NULL", "x != NULL", []float64{1, 1, 1, 1, 0}, false},
		{"NULL == x", "NULL == x", []float64{0, 0, 0, 0, 1}, false},
		{"NULL test of an expression with a domain error", "(x/y) == NULL", []float64{0, 1, 0, 0, 1}, false},
		{"NULL test combined: nodata operand of | is nodata", "x == NULL | x > 2", []float64{0, 0, 0, 1, ND}, false},
		{"NULL test combined with where", "where(x == NULL, 1, x > 2)", []float64{0, 0, 0, 1, 1}, false},
		{"where fills nodata", "where(x == NULL, 0, x)", []float64{-1, 0.5, 2, 3, 0}, false},
		{"where with a nodata branch not chosen", "where(y > 0, x, 7)", []float64{-1, 7, 2, 7, ND}, false},
		{"where with a nodata condition", "where(z, 1, 2)", []float64{2, 2, 1, 1, ND}, false},
		{"clamp", "clamp(x, 0, 2)", []float64{0, 0.5, 2, 2, ND}, false},
		{"elementwise min", "min(x, y)", []float64{-1, 0, 2, -3, ND}, false},
		{"elementwise max of three", "max(x, y, 1)", []float64{2, 1, 2, 3, ND}, false},
		{"broadcast scalar variable", "x * s", []float64{-10, 5, 20, 30, ND}, false},
		{"broadcast constant", "y - 1", []float64{1, -1, 1, -4, 0}, false},
		{"round half to even", "round(x + 0.5)", []float64{0, 1, 2, 4, ND}, false},
		{"int", "int(x * 1.5)", []float64{-1, 0, 3, 4, ND}, false},
		{"sign", "sign(y)", []float64{1, 0, 1, -1, 1}, false},
		{"abs", "abs(y)", []float64{2, 0, 2, 3, 1}, false},
		{"power of pixels", "y ^ 2", []float64{4, 0, 4, 9, 1}, false},
		{"unary minus above power", "-y^2", []float64{-4, 0, -4, -9, -1}, false},
		// reductions over the valid pixels give one number
		{"min ignores nodata", "min(x)", []float64{-1}, true},
		{"max ignores nodata", "max(x)", []float64{3}, true},
		{"sum ignores nodata", "sum(x)", []float64{4.5}, true},
		{"mean ignores nodata", "mean(x)", []float64{1.125}, true},
		{"median ignores nodata (fix)", "median(x)", []float64{1.25}, true},
		{"median odd count", "median(y)", []float64{1}, true},
		{"std is the population std", "std(y)", []float64{math.Sqrt(3.44)}, true},
		{"reduction of an expression", "sum(x * 2) + 1", []float64{10}, true},
		{"reduction sees ~x", "sum(~x)", []float64{-9994.5}, true},
		{"reduction of domain errors skips them", "sum(1/y)", []float64{0.5 + 0.5 - 1.0/3 + 1}, true},
		{"nested reductions", "max(x - mean(x))", []float64{3 - 1.125}, true},
		{"reduction of nodata only", "sum(x == NULL & x)", []float64{ND}, true},
		{"reduction in a pixel formula", "x - mean(x)", []float64{-2.125, -0.625, 0.875, 1.875, ND}, false},
		{"hoisted uniform part", "x * (max(y) + 1)", []float64{-3, 1.5, 6, 9, ND}, false},
		{"scalar variable only", "s * 2", []float64{20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := eval(t, tt.src, testVars())
			if res.Scalar != tt.scalar {
				t.Fatalf("%q: Scalar = %v, want %v", tt.src, res.Scalar, tt.scalar)
			}
			if g := got(res); !sameValues(g, tt.want) {
				t.Fatalf("%q = %v, want %v", tt.src, g, tt.want)
			}
		})
	}
}

// TestNoDataMatching pins the isclose rule and NaN nodata through ArrayFromBand.
func TestNoDataMatching(t *testing.T) {
	tests := []struct {
		name   string
		typ    raster.DataType
		nodata float64
		vals   []float64
		want   []float64
	}{
		{"isclose: 100.0005 is nodata 100", raster.Float64, 100, []float64{100.0005, 100.002, 99, 100}, []float64{ND, 100.002, 99, ND}},
		{"float32 rounding of -3.4e38", raster.Float32, -3.4e38, []float64{-3.4e38, 5, 0}, []float64{ND, 5, 0}},
		{"NaN nodata matches NaN", raster.Float32, math.NaN(), []float64{math.NaN(), 1, 2}, []float64{ND, 1, 2}},
		{"NaN is nodata whatever the nodata value", raster.Float64, -1, []float64{math.NaN(), -1, 2}, []float64{ND, ND, 2}},
		{"integer band", raster.Int16, 0, []float64{0, 1, -5}, []float64{ND, 1, -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := raster.FromFloat64(tt.typ, len(tt.vals), 1, tt.vals, nil, true, tt.nodata)
			a := ArrayFromBand(b)
			if !a.HasNoData || !(a.NoData == tt.nodata || math.IsNaN(tt.nodata) && math.IsNaN(a.NoData)) {
				t.Fatalf("ArrayFromBand nodata = %v %v, want %v", a.HasNoData, a.NoData, tt.nodata)
			}
			res := eval(t, "b", map[string]Array{"b": a})
			g := got(res)
			for i := range g { // float32 storage rounds the valid values
				if tt.typ == raster.Float32 && g[i] != ND {
					g[i] = float64(float32(g[i]))
					tt.want[i] = float64(float32(tt.want[i]))
				}
			}
			if !sameValues(g, tt.want) {
				t.Fatalf("b = %v, want %v", g, tt.want)
			}
		})
	}
}

// TestOutputNoData pins the output nodata rule: the alphabetically first variable with a
// nodata value, whatever the order of the operands (fix).
func TestOutputNoData(t *testing.T) {
	tests := []struct {
		name, src string
		has       bool
		nodata    float64
	}{
		{"x before z", "x + z", true, -9999},
		{"order does not matter", "z + x", true, -9999},
		{"the only variable with nodata", "y * z", true, 255},
		{"no variable has nodata", "y / y", false, 0},
		{"variables inside reductions count", "mean(z) + y", true, 255},
		{"constants have none", "1/0", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := eval(t, tt.src, testVars())
			if res.HasNoData != tt.has || res.NoData != tt.nodata {
				t.Fatalf("%q: nodata %v %v, want %v %v", tt.src, res.HasNoData, res.NoData, tt.has, tt.nodata)
			}
			for i, m := range res.Mask {
				want := math.NaN()
				if tt.has {
					want = tt.nodata
				}
				if m && !(res.Values[i] == want || math.IsNaN(want) && math.IsNaN(res.Values[i])) {
					t.Errorf("masked pixel %d holds %v, want %v", i, res.Values[i], want)
				}
			}
		})
	}
	t.Run("no mask when no pixel is nodata", func(t *testing.T) {
		if res := eval(t, "y + 1", testVars()); res.Mask != nil {
			t.Fatalf("Mask = %v, want nil", res.Mask)
		}
		if res := eval(t, "x == NULL", testVars()); res.Mask != nil {
			t.Fatalf("x == NULL: Mask = %v, want nil", res.Mask)
		}
	})
}

// TestCompileErrors checks the message and the span of every kind of compile error.
func TestCompileErrors(t *testing.T) {
	long := strings.Repeat("1+", MaxSource/2) + "1"
	deep := strings.Repeat("(", MaxDepth+1) + "1" + strings.Repeat(")", MaxDepth+1)
	unary := strings.Repeat("-", MaxDepth+1) + "1"
	power := strings.Repeat("2^", MaxDepth+1) + "1"
	many := strings.Repeat("a+", MaxNodes/2+1) + "a"
	tests := []struct {
		name, src  string
		msg        string
		start, end int
	}{
		{"empty", "", "empty formula", 0, 0},
		{"only spaces", "   ", "empty formula", 0, 3},
		{"missing operator between names (fix)", "a b", `missing operator before "b"`, 2, 3},
		{"missing operator before a number", "a 2", `missing operator before "2"`, 2, 3},
		{"trailing operator (fix)", "a+", "formula ends where a value is expected", 2, 2},
		{"trailing parenthesis (fix)", "a)", `unmatched ")"`, 1, 2},
		{"unclosed parenthesis", "(a+b", `expected ")" to close the "(" at 0, found the end of the formula`, 4, 4},
		{"unknown function", "foo(x)", `unknown function "foo"`, 0, 3},
		{"variable called like a function", "x(2)", `unknown function "x"`, 0, 1},
		{"too many arguments", "sin(x, 2)", "sin takes 1 argument, got 2", 0, 9},
		{"too few arguments", "clamp(x, 1)", "clamp takes 3 arguments, got 2", 0, 11},
		{"no arguments", "min()", "min takes at least 1 argument, got 0", 0, 5},
		{"function without call", "sum + 1", `"sum" is a function; call it as sum(…)`, 0, 3},
		{"NULL alone", "NULL", "NULL can only be compared", 0, 4},
		{"NULL in arithmetic", "x + NULL", `not with "+"`, 4, 8},
		{"NULL in a call", "abs(NULL)", "NULL can only be compared", 4, 8},
		{"NULL against NULL", "NULL == NULL", "NULL compared with NULL", 0, 12},
		{"name starting with _", "_a + 1", `the name "_a" starts or ends with "_"`, 0, 2},
		{"name ending with _", "1 + a_", `the name "a_" starts or ends with "_"`, 4, 6},
		{"name starting with a digit", "2x", `malformed number "2x" (a name cannot start with a digit; write 2*x`, 0, 2},
		{"name after a fraction", "2.5x_1", `malformed number "2.5x_1" (a name cannot start with a digit`, 0, 6},
		// These were told that a name cannot start with a digit.
		{"malformed number", "1.2.3", `malformed number "1.2.3" (a number has one decimal point at most, before any exponent)`, 0, 5},
		{"two decimal points in a row", "a + 1..2", `malformed number "1..2" (a number has one decimal point`, 4, 8},
		{"decimal point in an exponent", "1e3.5", `malformed number "1e3.5" (a number has one decimal point`, 0, 5},
		{"number out of range", "1e999", "out of range", 0, 5},
		{"number too long", strings.Repeat("1", MaxNumber+1), "characters long", 0, MaxNumber + 1},
		{"python power", "a**2", `unknown operator "**"; write ^`, 1, 3},
		{"C and", "a && b", `unknown operator "&&"`, 2, 4},
		{"C or", "a || b", `unknown operator "||"`, 2, 4},
		{"assignment", "a = 1", `unknown operator "="; write ==`, 2, 3},
		{"unexpected character", "a $ b", `unexpected character "$"`, 2, 3},
		{"non-ASCII character", "a × b", `unexpected character "×"`, 2, 4},
		{"comma outside a call", "a, b", `unexpected "," after the end`, 1, 2},
		{"missing argument", "min(a,)", `expected a value, found ")"`, 6, 7},
		{"bad separator in a call", "min(a b)", `expected "," or ")" in the call of min, found "b"`, 6, 7},
		{"operator without left operand", "* 2", `expected a value, found "*"`, 0, 1},
		{"source too long", long, "bytes long", MaxSource, len(long)},
		{"parentheses too deep", deep, "nests deeper than 64", MaxDepth, MaxDepth + 1},
		{"unary too deep", unary, "nests deeper than 64", MaxDepth - 1, MaxDepth},        // the 64th minus, inside the formula's level
		{"powers too deep", power, "nests deeper than 64", 2*MaxDepth - 1, 2 * MaxDepth}, // the 64th ^
		{"too many nodes", many, "more than 1024 parts", 1023, 1024},                     // the 512th +, the 1025th node
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%.40q) error = %v, want *Error", tt.src, err)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.msg)
			}
			if e.Start != tt.start || e.End != tt.end {
				t.Errorf("span = %d:%d, want %d:%d (%s)", e.Start, e.End, tt.start, tt.end, e.Msg)
			}
			if want := fmt.Sprintf("at %d:%d", e.Start, e.End); !strings.HasPrefix(e.Error(), "formula: ") || !strings.HasSuffix(e.Error(), want) {
				t.Errorf("Error() = %q, want formula: … %s", e.Error(), want)
			}
		})
	}
}

// TestSpaceBetweenOperands checks which compile errors match ErrSpaceBetweenOperands: an
// operand where an operator was expected, after spaces that follow an operand, at each of
// the parser's three sites (after the formula's end, before a ")" and in a call), and not
// where no "+" decoded to a space could have stood.
func TestSpaceBetweenOperands(t *testing.T) {
	tests := []struct {
		name, src string
		want      bool
	}{
		{"two names", "a b", true},
		{"two numbers", "2 3", true},
		{"two spaces", "a  b", true},
		{"a call after a name", "a sum(b)", true},
		{"parenthesised operands", "(a) (b)", true},
		{"after an operator", "a * b c", true},
		{"before a closing parenthesis", "(n-r)/(n r)", true},
		{"a parenthesis before a closing one", "((a) (b))", true},
		{"in a call", "max(a b)", true},
		{"a number in a call", "max(a, 2 3)", true},
		{"a parenthesis in a call", "max(2 (b))", true},
		{"no space after a parenthesis", "(a)(b)", false},
		{"a number running into a name", "2a", false}, // a malformed number
		{"a tab", "a\tb", false},
		{"a line break", "a\nb", false},
		{"a name called", "a(b", false},                                  // unknown function "a"
		{"a name called after a space", "a (b)", true},                   // unknown function "a": a+(b)
		{"a name called after two spaces", "x  (2)", true},               // unknown function "x"
		{"a keyword called after a space", "b * PI (2)", true},           // unknown function "PI": PI+(2)
		{"a name called after a space in a call", "max(a, b (c))", true}, // unknown function "b"
		{"a name called after a tab", "a\t(b)", false},
		{"a name called with nothing between", "a(b)", false},
		{"a unary-only operator", "a !b", false}, // unexpected "!" after the end
		{"a comma in parentheses", "(a ,", false},
		{"the end in parentheses", "(a ", false},
		{"the end in a call", "max(a ", false},
		{"an unmatched parenthesis", "a )", false},
		{"a missing value", "a + * b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) error = %v, want *Error", tt.src, err)
			}
			if got := errors.Is(err, ErrSpaceBetweenOperands); got != tt.want {
				t.Errorf("Compile(%q) = %v: matches ErrSpaceBetweenOperands %v, want %v", tt.src, err, got, tt.want)
			}
			if errors.Is(err, ErrMissingVar) {
				t.Errorf("Compile(%q) = %v matches ErrMissingVar", tt.src, err)
			}
		})
	}
	// A function's call with spaces before its "(" is a call, not an error.
	for _, src := range []string{"max (a, b)", "abs  (a) + min (a, 2)"} {
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q) = %v, want a call", src, err)
		}
	}
	// A "+" lost before a sign leaves a formula that compiles (a+-b sent unescaped is a -b):
	// no error, so nothing to mark.
	for _, src := range []string{"a -b", "a  -b", "a +b"} {
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q) = %v, want no error", src, err)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		name, src  string
		start, end int
		want       string
	}{
		{"span", "a + foo(b)", 4, 7, "a + foo(b)\n    ^^^"},
		{"end of input", "a +", 3, 3, "a +\n   ^"},
		{"second line", "a +\n  b c", 8, 9, "  b c\n    ^"},
		{"tab kept for alignment", "\ta b", 3, 4, "\ta b\n\t  ^"},
		{"non-ASCII counted as one column", "é + $", 5, 6, "é + $\n    ^"},
		{"out of range clamped", "ab", 5, 9, "ab\n  ^"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Error{Msg: "m", Start: tt.start, End: tt.end}
			if got := e.Snippet(tt.src); got != tt.want {
				t.Fatalf("Snippet = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEvalErrors checks a missing variable and arrays of different lengths.
func TestEvalErrors(t *testing.T) {
	t.Run("missing variable", func(t *testing.T) {
		p, err := Compile("x + q * w + q")
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Eval(map[string]Array{"x": {Values: []float64{1}}})
		if !errors.Is(err, ErrMissingVar) {
			t.Fatalf("err = %v, want ErrMissingVar", err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Msg != `Found an undeclared variable "q" in formula.` || e.Start != 4 || e.End != 5 {
			t.Fatalf("err = %#v, want the first missing variable q at 4:5 with django-raster's message", err)
		}
	})
	tests := []struct {
		name string
		vars map[string]Array
		text string
	}{
		{"lengths differ", map[string]Array{"a": {Values: make([]float64, 3)}, "b": {Values: make([]float64, 4)}}, `variable "a" has 3 values, variable "b" has 4`},
		{"mask length differs", map[string]Array{"a": {Values: make([]float64, 3), Mask: make([]bool, 2)}, "b": {Values: make([]float64, 3)}}, `variable "a" has 3 values and 2 mask entries`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile("a + b")
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Eval(tt.vars)
			if !errors.Is(err, ErrLength) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want ErrLength naming %s", err, tt.text)
			}
		})
	}
	t.Run("unused variables are ignored", func(t *testing.T) {
		res := eval(t, "a", map[string]Array{"a": {Values: []float64{1, 2}}, "b": {Values: []float64{1, 2, 3}}})
		if !sameValues(res.Values, []float64{1, 2}) {
			t.Fatalf("a = %v", res.Values)
		}
	})
	t.Run("empty arrays", func(t *testing.T) {
		res := eval(t, "a + 1", map[string]Array{"a": {Values: []float64{}}})
		if len(res.Values) != 0 || res.Scalar {
			t.Fatalf("a + 1 over nothing = %+v", res)
		}
		res = eval(t, "mean(a)", map[string]Array{"a": {Values: []float64{}}})
		if !res.Scalar || res.Mask == nil || !res.Mask[0] {
			t.Fatalf("mean of nothing = %+v, want a nodata scalar", res)
		}
	})
}

func TestVarsAndSource(t *testing.T) {
	const src = "b + a * mean(c) - b + e + E + PI"
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Vars(); !slices.Equal(got, []string{"a", "b", "c", "e"}) {
		t.Fatalf("Vars = %v", got)
	}
	if p.Source() != src {
		t.Fatalf("Source = %q", p.Source())
	}
	p.Vars()[0] = "changed"
	if p.Vars()[0] != "a" {
		t.Fatal("Vars returned the program's own slice")
	}
}

// TestLongArrays evaluates across block boundaries and against a per-pixel loop.
func TestLongArrays(t *testing.T) {
	const n = 3*blockSize + 17
	a := Array{Values: make([]float64, n), Mask: make([]bool, n), HasNoData: true, NoData: -1}
	b := Array{Values: make([]float64, n)}
	for i := range n {
		a.Values[i] = float64(i%97) - 3
		if i%13 == 0 {
			a.Values[i], a.Mask[i] = -1, true
		}
		b.Values[i] = float64(i%7) - 2
	}
	res := eval(t, "where(a == NULL, 1, (a*2 - b) / (a + b) > 0.2)", map[string]Array{"a": a, "b": b})
	for i := range n {
		x, y := a.Values[i], b.Values[i]
		want := b2f((x*2-y)/(x+y) > 0.2)
		nodata := !a.Mask[i] && x+y == 0
		if a.Mask[i] {
			want = 1
		}
		if nodata != (res.Mask != nil && res.Mask[i]) || !nodata && res.Values[i] != want {
			t.Fatalf("pixel %d (a=%v b=%v): %v mask %v, want %v nodata %v", i, x, y, res.Values[i], res.Mask != nil && res.Mask[i], want, nodata)
		}
	}
}

// TestConcurrentEval runs one program from many goroutines (go test -race checks the
// pool and the shared program).
func TestConcurrentEval(t *testing.T) {
	p, err := Compile("(x - mean(x)) / (std(x) + y) + median(y)")
	if err != nil {
		t.Fatal(err)
	}
	vars := testVars()
	want, err := p.Eval(vars)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				v := vars
				if (g+i)%2 == 1 { // another length, so buffers must not leak between runs
					v = map[string]Array{"x": {Values: []float64{1, 2, 3}}, "y": {Values: []float64{1}}}
				}
				res, err := p.Eval(v)
				if err != nil {
					errs <- err
					return
				}
				if (g+i)%2 == 0 && !sameValues(got(res), got(want)) {
					errs <- fmt.Errorf("got %v, want %v", got(res), got(want))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestFunctionsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Functions() {
		if seen[f.Name] || f.Doc == "" || f.MinArgs < 1 || f.MaxArgs != -1 && f.MaxArgs < f.MinArgs {
			t.Errorf("bad entry %+v", f)
		}
		seen[f.Name] = true
	}
	for _, name := range []string{"sin", "cos", "tan", "log", "exp", "abs", "int", "round", "sign", "min", "max", "mean", "median", "std", "sum", "sqrt", "floor", "ceil", "log10", "where", "clamp"} {
		if !seen[name] {
			t.Errorf("function %s missing from Functions()", name)
		}
	}
	Functions()[0].Name = "changed"
	if Functions()[0].Name == "changed" {
		t.Error("Functions returned the table itself")
	}
}

// TestModes pins which nodata mode each kind of formula compiles to (the reference test
// checks that all three give the same results).
func TestModes(t *testing.T) {
	tests := []struct {
		src  string
		want mode
	}{
		{"(b-a)/(b+a)", modeStrict},
		{"a", modeStrict},
		{"x - mean(x)", modeStrict},
		{"a == NULL", modeNaN},
		{"where(a > 0, a, b)", modeNaN},
		{"~a + b", modeMask},
		{"where(a == NULL, 0, +a)", modeMask},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if p.main.mode != tt.want {
				t.Fatalf("mode %d, want %d", p.main.mode, tt.want)
			}
		})
	}
}

// TestDivisionByPowerOfTwo: fold turns x / 2^k into x · 2^-k; every value, subnormals,
// infinities, NaN and signed zeros included, must come out as Go's x / 2^k bit for bit, for
// every power of two from the smallest subnormal to the largest (those whose inverse
// overflows stay divisions), and for divisors that are not powers of two.
func TestDivisionByPowerOfTwo(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 3, 0.1, -7.25, 1e308, -1e308, math.MaxFloat64,
		math.SmallestNonzeroFloat64, 5e-324 * 3, 2.2250738585072014e-308, 1.5e-310, math.Inf(1), math.Inf(-1), math.NaN(), 123456789.123}
	for i := range 200 {
		xs = append(xs, math.Float64frombits(uint64(i)*0x9E3779B97F4A7C15))
	}
	vals := Array{Values: xs}
	var divisors []float64
	for k := -1074; k <= 1023; k++ {
		divisors = append(divisors, math.Ldexp(1, k), -math.Ldexp(1, k))
	}
	divisors = append(divisors, 3, 0.1, -6, 1e-310)
	for _, d := range divisors {
		src := fmt.Sprintf("x / %s", strconvFloat(d))
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		res, err := p.Eval(map[string]Array{"x": vals})
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			want := x / d
			if res.Mask != nil && res.Mask[i] { // not finite: nodata
				if !math.IsNaN(want) && !math.IsInf(want, 0) {
					t.Fatalf("%s: x = %v gives nodata, want %v", src, x, want)
				}
				continue
			}
			if got := res.Values[i]; math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s: x = %v (%#x) gives %v (%#x), want %v (%#x)", src, x, math.Float64bits(x), got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
	}
}

// TestDivisionByPowerOfTwoFolded: the rewrite happens (a multiplication left in the tree),
// and only for powers of two with an exact inverse.
func TestDivisionByPowerOfTwoFolded(t *testing.T) {
	for src, want := range map[string]opcode{
		"x / 4": opMul, "(a + b) / 2": opMul, "x / (-0.125)": opMul, "x / 3": opDiv, "x / 0": opDiv,
		"x / 4.9406564584124654e-324": opDiv, "x / 8.98846567431158e307": opMul, "4 / x": opDiv,
	} {
		root, err := parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(root); err != nil {
			t.Fatal(err)
		}
		if got := fold(root).op; got != want {
			t.Errorf("%s: folded to op %v, want %v", src, got, want)
		}
	}
}

// strconvFloat writes d so that the lexer reads it back exactly.
func strconvFloat(d float64) string {
	s := strconv.FormatFloat(math.Abs(d), 'g', -1, 64)
	if d < 0 {
		return "(-" + s + ")"
	}
	return s
}
