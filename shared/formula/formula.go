// Package formula is Tessera's raster algebra: the formula language of django-raster
// (reference §3), compiled once and evaluated over whole arrays of pixels, on the server and
// in the browser (the package compiles to WebAssembly and imports only the standard library
// and shared/raster).
//
// Compile runs four phases: lex, parse (precedence climbing from one table, an AST whose
// nodes carry byte spans), check (names and arity against the one function table that
// Functions returns) and code generation (constant folding, then a flat program over array
// registers). Program.Eval runs that program over blocks of pixels, so each operation is a
// tight loop over a few hundred values that stay in cache, with no per-pixel allocation,
// interface call or closure.
//
// Where Tessera deliberately differs from django-raster, the doc comment says why:
// conventional precedence, stacking unary operators, spaces that separate tokens, trailing
// text that is an error, median ignoring nodata, domain errors that are always nodata, one
// order-independent output nodata rule and errors with positions. docs/formula.md holds the
// grammar and docs/compatibility.md lists the differences.
package formula

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tessera-gis/tessera/shared/raster"
)

// Limits on a formula, so that hostile input cannot exhaust the stack or the memory.
const (
	// MaxSource is the longest formula accepted, in bytes.
	MaxSource = 4096
	// MaxDepth is the deepest nesting of parentheses, function calls, unary operators and
	// exponents.
	MaxDepth = 64
	// MaxNodes is the largest number of AST nodes (values, operators and calls).
	MaxNodes = 1024
	// MaxNumber is the longest number literal, in bytes.
	MaxNumber = 64
)

// Array is one variable's values. Values at masked positions hold the raw stored value, so
// that ~x and +x can show the nodata number through. An array of one value is a scalar that
// broadcasts against longer arrays.
type Array struct {
	Values []float64
	// Mask marks nodata pixels (true = nodata); nil means no pixel is nodata. When not nil
	// it has one entry per value.
	Mask []bool
	// HasNoData tells whether NoData is the array's nodata number; the output nodata rule
	// (see Result) reads it.
	HasNoData bool
	NoData    float64
}

// ArrayFromBand decodes a band into an Array. A pixel is nodata when it matches the band's
// nodata value by numpy's isclose rule or is NaN (see raster.Band.Decode).
func ArrayFromBand(b *raster.Band) Array {
	vals, mask := b.Decode(nil, nil)
	return Array{Values: vals, Mask: mask, HasNoData: b.HasNoData, NoData: b.NoData}
}

// Result is what a formula gives.
//
// Output nodata rule: HasNoData and NoData are those of the alphabetically first variable
// of the formula (Program.Vars order) whose Array has HasNoData set; when none has, the
// result has no nodata number. The rule does not depend on the order of the operands
// (why: django-raster took the nodata of the leftmost operand that had nodata pixels, so
// a+b and b+a could differ). Masked pixels hold NoData in Values when HasNoData is set,
// else NaN; a result can have masked pixels and no nodata number (1/x where x is 0), and a
// writer that needs one must choose it.
type Result struct {
	// Values holds one value per pixel, or a single value when Scalar is set. Booleans are
	// 1 and 0.
	Values []float64
	// Mask marks nodata pixels (true = nodata); nil when no result pixel is nodata.
	Mask []bool
	// Scalar reports that the formula gave one number (it uses no variable, or variables
	// only inside reductions such as mean(x)); the caller fills the tile with it.
	Scalar    bool
	HasNoData bool
	NoData    float64
}

// ErrMissingVar is matched (errors.Is) by the error Eval returns when the formula uses a
// variable that was not supplied. The error is also an *Error with the variable's position
// and django-raster's message, Found an undeclared variable "X" in formula.
var ErrMissingVar = errors.New("formula: missing variable")

// ErrSpaceBetweenOperands is matched (errors.Is) by the compile error of an operand that
// stands where an operator was expected and is separated from the operand before it by
// spaces only: "a b", "2 3", "(a) (b)" ("missing operator before …"), "(a b)" (expected ")"
// …) and "max(a b)" (expected "," or ")" …). The error is at the second operand's first
// token (a number, a name or "("); the first ends with a number, a name or ")". It is also
// matched by the error of "a (b)", a name that is no function followed by spaces and "(":
// the parser reads a call there, so the error is "unknown function" at the name. Callers
// that take formulas from a URL's query use it to say that "+" decodes to a space there,
// so formula=a+b sent unescaped arrives as "a b", and a+(b) as "a (b)". It is not matched
// when nothing separates the two ("(a)(b)", "a(b)"), when a tab or a line break does (no
// "+" decodes to one), or when an operator follows the spaces ("a !b"); a function's call
// with a space, "max (a, b)", is valid, and "a -b" is no error at all.
var ErrSpaceBetweenOperands = errors.New("formula: space between operands")

// ErrLength is matched (errors.Is) by the error Eval returns when two variables have
// different numbers of values (neither being a one-value scalar), or a mask's length
// differs from its values'. The message names the variables.
var ErrLength = errors.New("formula: arrays of different lengths")

// Error is a compile error (and the missing variable error of Eval), with the span of the
// source it is about: byte offsets, End exclusive, 0 ≤ Start ≤ End ≤ len(src). An error at
// the end of the formula has Start == End == len(src).
type Error struct {
	Msg        string
	Start, End int
	wrapped    error
}

// Error returns "formula: MSG at START:END" with byte offsets, End exclusive.
func (e *Error) Error() string {
	return fmt.Sprintf("formula: %s at %d:%d", e.Msg, e.Start, e.End)
}

// Unwrap returns the sentinel the error matches, if any (ErrMissingVar,
// ErrSpaceBetweenOperands).
func (e *Error) Unwrap() error { return e.wrapped }

// Snippet returns the line of src that holds the error and a line of carets under its span
// (one caret at least), for the server's error body and the browser's formula box:
//
//	a + b c
//	      ^
func (e *Error) Snippet(src string) string {
	start := min(max(e.Start, 0), len(src))
	end := min(max(e.End, start), len(src))
	ls := strings.LastIndexByte(src[:start], '\n') + 1
	le := len(src)
	if i := strings.IndexByte(src[start:], '\n'); i >= 0 {
		le = start + i
	}
	end = min(end, le)
	line := src[ls:le]
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	for _, r := range src[ls:start] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	n := max(utf8.RuneCountInString(src[start:end]), 1)
	b.WriteString(strings.Repeat("^", n))
	return b.String()
}

func errAt(start, end int, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Start: start, End: end}
}
