package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
)

func runEvalCLI(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(append([]string{"eval"}, args...), strings.NewReader(input), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEvalCommand(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalar formula", `{"formula": "2+3>4"}`, `{"value":1}`},
		{"power and unary", `{"formula": "-2^2 + 2^3^2"}`, `{"value":508}`},
		{"number variables give a number", `{"formula": "x * 2", "vars": {"x": 5}}`, `{"value":10}`},
		{"ndvi over arrays", `{"formula": "(b - a) / (b + a)", "vars": {"a": [1, 2, 0], "b": [3, 2, 0]}}`, `{"value":[0.5,0,null]}`},
		{"null marks nodata", `{"formula": "x + 1", "vars": {"x": [1, null, 3]}}`, `{"value":[2,null,4]}`},
		{"object with nodata (isclose)", `{"formula": "x", "vars": {"x": {"data": [100.0005, 5], "nodata": 100}}}`, `{"value":[null,5],"nodata":100}`},
		{"object with mask and booleans", `{"formula": "x == NULL", "vars": {"x": {"data": [true, false, true], "mask": [false, false, true]}}}`, `{"value":[0,0,1]}`},
		{"tilde shows nodata through", `{"formula": "~x", "vars": {"x": {"data": [1, -9999], "nodata": -9999}}}`, `{"value":[1,-9999],"nodata":-9999}`},
		{"scalar broadcasts", `{"formula": "x * s", "vars": {"x": [1, 2], "s": 3}}`, `{"value":[3,6]}`},
		{"reduction gives a number", `{"formula": "median(x)", "vars": {"x": [5, 1, null, 3]}}`, `{"value":3}`},
		{"NaN string input is nodata", `{"formula": "x", "vars": {"x": [1, "NaN"]}}`, `{"value":[1,null]}`},
		{"Infinity strings in", `{"formula": "x < INF", "vars": {"x": ["Infinity", "-Infinity", 1]}}`, `{"value":[0,1,1]}`},
		{"an infinite result is nodata", `{"formula": "x * 2", "vars": {"x": ["Infinity"]}}`, `{"value":[null]}`},
		{"division by zero is nodata", `{"formula": "1/0"}`, `{"value":null}`},
		{"NaN nodata written as a string", `{"formula": "x", "vars": {"x": {"data": [1, "NaN"], "nodata": "NaN"}}}`, `{"value":[1,null],"nodata":"NaN"}`},
		{"unused variables are ignored", `{"formula": "1", "vars": {"q": [1, 2, 3]}}`, `{"value":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEvalCLI(t, tt.in)
			if code != 0 || strings.TrimSpace(out) != tt.want {
				t.Fatalf("exit %d, stdout %q (stderr %q), want 0 and %s", code, out, errOut, tt.want)
			}
		})
	}
}

func TestEvalCommandErrors(t *testing.T) {
	tests := []struct {
		name, in string
		text     string
		pos      *[2]int
	}{
		{"syntax error with position", `{"formula": "a b"}`, `missing operator before \"b\"`, &[2]int{2, 3}},
		{"unknown function", `{"formula": "foo(x)", "vars": {"x": 1}}`, `unknown function \"foo\"`, &[2]int{0, 3}},
		{"arity", `{"formula": "clamp(x, 1)"}`, "clamp takes 3 arguments, got 2", &[2]int{0, 11}},
		{"missing variable: django-raster's message and its position", `{"formula": "a + q", "vars": {"a": 1}}`, `Found an undeclared variable \"q\" in formula.`, &[2]int{4, 5}},
		{"lengths differ", `{"formula": "a + b", "vars": {"a": [1, 2], "b": [1, 2, 3]}}`, `variable \"a\" has 2 values, variable \"b\" has 3`, nil},
		{"bad JSON", `{"formula": `, "input is not the expected JSON", nil},
		{"two JSON values", `{"formula": "1"} {}`, "more than one JSON value", nil},
		{"unknown key", `{"formula": "1", "var": {}}`, `unknown field \"var\"`, nil},
		{"no formula", `{"vars": {}}`, `no \"formula\"`, nil},
		{"bad number string", `{"formula": "x", "vars": {"x": ["abc"]}}`, `variable \"x\": want an array of numbers`, nil},
		{"mask length", `{"formula": "x", "vars": {"x": {"data": [1, 2], "mask": [true]}}}`, "mask has 1 entries for 2 values", nil},
		{"object without data", `{"formula": "x", "vars": {"x": {"mask": []}}}`, `no \"data\"`, nil},
		{"null scalar", `{"formula": "x", "vars": {"x": null}}`, "null; give a number", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := runEvalCLI(t, tt.in)
			if code != 2 {
				t.Fatalf("exit %d (stdout %q), want 2", code, out)
			}
			var body struct {
				Error string  `json:"error"`
				Pos   *[2]int `json:"pos"`
			}
			if err := json.Unmarshal([]byte(out), &body); err != nil {
				t.Fatalf("stdout %q is not JSON: %v", out, err)
			}
			if !strings.Contains(out, tt.text) {
				t.Errorf("error %q does not contain %s", body.Error, tt.text)
			}
			if (body.Pos == nil) != (tt.pos == nil) || body.Pos != nil && *body.Pos != *tt.pos {
				t.Errorf("pos = %v, want %v", body.Pos, tt.pos)
			}
		})
	}
	t.Run("input size limit", func(t *testing.T) {
		big := `{"formula": "1", "vars": {"x": [` + strings.Repeat("1,", evalMaxInput/2) + `1]}}`
		code, out, _ := runEvalCLI(t, big)
		if code != 2 || !strings.Contains(out, "larger than") {
			t.Fatalf("exit %d, stdout %.200q; want 2 and a size error", code, out)
		}
	})
	t.Run("arguments are refused", func(t *testing.T) {
		if code, out, _ := runEvalCLI(t, `{}`, "x"); code != 2 || !strings.Contains(out, "takes no arguments") {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
	})
	t.Run("help", func(t *testing.T) {
		if code, _, errOut := runEvalCLI(t, "", "-h"); code != 0 || !strings.Contains(errOut, "usage: tessera eval") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestEvalErrorIsTheServers checks that a bad formula gives the same JSON object on `tessera
// eval`'s stdout as in the server's 400 answer (docs/formula.md says so; eval printed Go's
// "formula: … at START:END" and no snippet): the same position and snippet, and the same
// message, which the server may follow with a hint that holds for URLs only (a formula's "+"
// sent unescaped reaches it as a space).
func TestEvalErrorIsTheServers(t *testing.T) {
	store := dbtest.New(t)
	tilestest.Seed(t, store)
	svc := tiles.New(store, tiles.Config{})
	for _, src := range []string{"a b", "(a-b)/(a+", "a + q", "a ** 2"} {
		t.Run(src, func(t *testing.T) {
			code, out, _ := runEvalCLI(t, fmt.Sprintf(`{"formula": %q, "vars": {"a": 1, "b": 2}}`, src))
			if code != 2 {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			req, err := tiles.ParseAlgebra("4", "8", "5", "png", url.Values{"layers": {"a=ramp,b=const"}, "formula": {src}})
			if err != nil {
				t.Fatal(err)
			}
			server := svc.Algebra(context.Background(), req, tiles.Client{})
			type answer struct {
				Error   string `json:"error"`
				Pos     []int  `json:"pos"`
				Snippet string `json:"snippet"`
			}
			var cli, srv answer
			errCLI, errSrv := json.Unmarshal([]byte(out), &cli), json.Unmarshal(server.Body, &srv)
			urlHint := strings.HasPrefix(srv.Error, cli.Error+" (in a URL's query")
			if server.Status != 400 || errCLI != nil || errSrv != nil || cli.Error == "" ||
				(srv.Error != cli.Error && !urlHint) || fmt.Sprint(cli.Pos) != fmt.Sprint(srv.Pos) || cli.Snippet != srv.Snippet {
				t.Errorf("eval prints %s\nthe server answers %d %s", strings.TrimSpace(out), server.Status, server.Body)
			}
			if urlHint != (src == "a b") {
				t.Errorf("%q: the server's URL hint %v", src, urlHint)
			}
		})
	}
}
