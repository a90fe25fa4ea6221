package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

// evalMaxInput bounds what eval reads from stdin.
const evalMaxInput = 64 << 20

const evalUsage = `usage: tessera eval < input.json

Reads {"formula": "(b - a) / (b + a)", "vars": {NAME: VALUE, …}} on stdin, where VALUE is
  a number                                     (a scalar, broadcast over the arrays),
  [numbers]                                    (null marks a nodata pixel), or
  {"data": [numbers or booleans], "mask": [booleans, true = nodata], "nodata": number}
and prints {"value": number} for a one-number result, else {"value": [numbers, null where
nodata]} (plus "nodata": N when a variable had a nodata value). NaN and infinities are
written as the strings "NaN", "Infinity" and "-Infinity", in and out.

A bad formula prints what the server answers for it, {"error": "…", "pos": [start, end]
(byte offsets, end exclusive), "snippet": "the formula\n   ^"}, and exits 2; other bad input
prints {"error": "…"} and exits 2.`

// runEval evaluates one formula on JSON input: the tool formula authors use to try a
// formula, and the oracle of the formula engine's cross-checks.
func runEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprintln(stderr, evalUsage)
			return 0
		}
		return evalFail(stdout, fmt.Errorf("eval takes no arguments (got %q); give the input as JSON on stdin", strings.Join(args, " ")))
	}
	out, err := evalJSON(stdin)
	if err != nil {
		return evalFail(stdout, err)
	}
	stdout.Write(out)
	return 0
}

// evalFail prints err as {"error": …} and returns 2. A formula error prints what the
// server's 400 holds for it: the message, "pos" and "snippet" (it printed Go's
// "formula: MSG at START:END" and no snippet, while the docs promised the server's object).
func evalFail(stdout io.Writer, err error) int {
	body := map[string]any{"error": err.Error()}
	var fe *formula.Error
	if errors.As(err, &fe) {
		body["error"] = fe.Msg
		body["pos"] = [2]int{fe.Start, fe.End}
		var src *evalFormulaError
		if errors.As(err, &src) {
			body["snippet"] = fe.Snippet(src.src)
		}
	}
	b, _ := json.Marshal(body)
	fmt.Fprintf(stdout, "%s\n", b)
	return 2
}

// evalFormulaError keeps the formula source with an error from compiling or evaluating it,
// for the snippet.
type evalFormulaError struct {
	src string
	err error
}

func (e *evalFormulaError) Error() string { return e.err.Error() }
func (e *evalFormulaError) Unwrap() error { return e.err }

type evalInput struct {
	Formula *string                    `json:"formula"`
	Vars    map[string]json.RawMessage `json:"vars"`
}

// evalNumber is a JSON number, or one of the strings "NaN", "Infinity", "-Infinity"
// (JSON has no literal for them), or null (nodata) where null is allowed.
type evalNumber struct {
	v    float64
	null bool
}

func (n *evalNumber) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "null":
		n.null = true
		return nil
	case "true":
		n.v = 1
		return nil
	case "false":
		n.v = 0
		return nil
	case `"NaN"`:
		n.v = math.NaN()
		return nil
	case `"Infinity"`:
		n.v = math.Inf(1)
		return nil
	case `"-Infinity"`:
		n.v = math.Inf(-1)
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		return fmt.Errorf("%s is not a number (the only strings allowed are \"NaN\", \"Infinity\" and \"-Infinity\")", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", s)
	}
	n.v = v
	return nil
}

type evalArray struct {
	Data   []evalNumber `json:"data"`
	Mask   []bool       `json:"mask"`
	NoData *evalNumber  `json:"nodata"`
}

// evalJSON reads the input and returns the output line.
func evalJSON(stdin io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(stdin, evalMaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(raw) > evalMaxInput {
		return nil, fmt.Errorf("input is larger than %d bytes", evalMaxInput)
	}
	var in evalInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("input is not the expected JSON ({\"formula\": \"…\", \"vars\": {…}}): %w", err)
	}
	if dec.More() {
		return nil, errors.New("input has more than one JSON value; give one object")
	}
	if in.Formula == nil {
		return nil, errors.New(`input has no "formula"`)
	}
	prog, err := formula.Compile(*in.Formula)
	if err != nil {
		return nil, &evalFormulaError{*in.Formula, err}
	}
	vars := make(map[string]formula.Array, len(in.Vars))
	allScalar := true
	names := make([]string, 0, len(in.Vars))
	for name := range in.Vars {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic error messages
	for _, name := range names {
		a, scalar, err := evalVar(in.Vars[name])
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		vars[name] = a
		if slices.Contains(prog.Vars(), name) {
			allScalar = allScalar && scalar
		}
	}
	res, err := prog.Eval(vars)
	if err != nil {
		return nil, &evalFormulaError{*in.Formula, err}
	}
	var b bytes.Buffer
	b.WriteString(`{"value":`)
	if res.Scalar || allScalar && len(res.Values) == 1 {
		writeEvalValue(&b, res.Values[0], res.Mask != nil && res.Mask[0])
	} else {
		b.WriteByte('[')
		for i, v := range res.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			writeEvalValue(&b, v, res.Mask != nil && res.Mask[i])
		}
		b.WriteByte(']')
	}
	if res.HasNoData {
		b.WriteString(`,"nodata":`)
		writeEvalValue(&b, res.NoData, false)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// evalVar reads one variable: a number, an array or an object; scalar reports a plain
// number.
func evalVar(raw json.RawMessage) (a formula.Array, scalar bool, err error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return a, false, errors.New("empty value")
	}
	switch t[0] {
	case '[':
		var nums []evalNumber
		if err := json.Unmarshal(t, &nums); err != nil {
			return a, false, fmt.Errorf("want an array of numbers: %w", err)
		}
		a.Values = make([]float64, len(nums))
		for i, n := range nums {
			a.Values[i] = n.v
			if n.null {
				if a.Mask == nil {
					a.Mask = make([]bool, len(nums))
				}
				a.Values[i], a.Mask[i] = math.NaN(), true
			}
		}
		a.Mask = orMask(a.Mask, raster.Mask(a.Values, false, 0, nil))
		return a, false, nil
	case '{':
		var obj evalArray
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&obj); err != nil {
			return a, false, fmt.Errorf(`want {"data": [...], "mask": [...], "nodata": number}: %w`, err)
		}
		if obj.Data == nil {
			return a, false, errors.New(`the object has no "data"`)
		}
		if obj.Mask != nil && len(obj.Mask) != len(obj.Data) {
			return a, false, fmt.Errorf("mask has %d entries for %d values", len(obj.Mask), len(obj.Data))
		}
		a.Values = make([]float64, len(obj.Data))
		for i, n := range obj.Data {
			if n.null {
				return a, false, fmt.Errorf("data[%d] is null; mark nodata with mask or nodata", i)
			}
			a.Values[i] = n.v
		}
		if obj.NoData != nil {
			if obj.NoData.null {
				return a, false, errors.New("nodata is null; leave it out instead")
			}
			a.HasNoData, a.NoData = true, obj.NoData.v
		}
		a.Mask = orMask(raster.Mask(a.Values, a.HasNoData, a.NoData, nil), obj.Mask)
		return a, false, nil
	}
	var n evalNumber
	if err := json.Unmarshal(t, &n); err != nil {
		return a, false, fmt.Errorf("want a number, an array or an object: %w", err)
	}
	if n.null {
		return a, false, errors.New("null; give a number")
	}
	a.Values = []float64{n.v}
	a.Mask = raster.Mask(a.Values, false, 0, nil)
	return a, true, nil
}

// orMask is the union of two masks, either possibly nil (no nodata).
func orMask(m, extra []bool) []bool {
	if extra == nil || !slices.Contains(extra, true) {
		return m
	}
	if m == nil {
		return slices.Clone(extra)
	}
	for i, e := range extra {
		m[i] = m[i] || e
	}
	return m
}

// writeEvalValue writes v, null when nodata, the strings "NaN", "Infinity" and
// "-Infinity" for the values JSON cannot write.
func writeEvalValue(b *bytes.Buffer, v float64, nodata bool) {
	switch {
	case nodata:
		b.WriteString("null")
	case math.IsNaN(v):
		b.WriteString(`"NaN"`)
	case math.IsInf(v, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(v, -1):
		b.WriteString(`"-Infinity"`)
	default:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
}
