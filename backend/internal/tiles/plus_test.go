package tiles

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

// TestPlusHint pins the error of formula=a+b sent unescaped: the query decodes the "+" to a
// space, and the formula's own message ("missing operator before \"b\"") named no plus, so
// curl and desktop GIS users were left guessing. The hint follows only the errors the parser
// marks with formula.ErrSpaceBetweenOperands: an operand after spaces that follow an operand,
// and a name that is no function before spaces and "(" (formula=a+(b) reads as a call of
// "a", "unknown function", which had no hint).
func TestPlusHint(t *testing.T) {
	tests := []struct {
		name, src string
		hint      bool
	}{
		{"a b", "a b", true},
		{"two spaces", "a  b", true},
		{"inside parentheses", "(n-r)/(n r)", true},
		{"after a parenthesis", "(a) (b)", true},
		{"a number", "a 2", true},
		{"no space", "a++)", false},
		{"an operator before the space", "a + * b", false},
		{"unknown variable", "a+zz", false},
		{"empty", "", false},
		{"unmatched parenthesis after a space", "a )", false},
		{"in a call", "max(a b)", true},
		{"a name before a parenthesis", "a (b)", true}, // formula=a+(b): unknown function "a"
		{"a name before a parenthesis in a call", "max(a, n  (r - b))", true},
		{"a name called", "a(b)", false},
		{"a name, a tab and a parenthesis", "a\t(b)", false},
		{"a tab", "a\tb", false},
		// A lexer's error after a space is no operand where an operator was expected (the
		// text scan that preceded formula.ErrSpaceBetweenOperands hinted at these).
		{"a malformed number after a space", "a 2x", false},
		{"a number out of range after a space", "a 1e999", false},
		{"a name starting with _ after a space", "1 _a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := formula.Compile(tt.src)
			if err == nil {
				err = checkVars(p, tt.src, map[string]bool{"a": true, "b": true, "n": true, "r": true})
			} else {
				err = &formulaSource{src: tt.src, err: err}
			}
			if err == nil {
				t.Fatalf("%q compiles", tt.src)
			}
			r := ErrorResponse(err)
			var body ErrorBody
			if err := json.Unmarshal(r.Body, &body); err != nil || r.Status != 400 {
				t.Fatalf("status %d, body %s", r.Status, r.Body)
			}
			if got := strings.HasSuffix(body.Error, plusHint); got != tt.hint {
				t.Errorf("%q: error %q, hint %v, want %v", tt.src, body.Error, got, tt.hint)
			}
			var fe *formula.Error
			if errors.As(err, &fe) && !strings.HasPrefix(body.Error, fe.Msg) {
				t.Errorf("error %q does not start with the formula's message %q", body.Error, fe.Msg)
			}
		})
	}
}
