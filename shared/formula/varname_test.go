package formula

import "testing"

// TestVarName checks VarName against its definition: a name alone compiles to a formula of
// that one variable. It covers every function and keyword, and names the lexer refuses.
func TestVarName(t *testing.T) {
	names := []string{"E", "PI", "TRUE", "FALSE", "INF", "NULL", "e", "pi", "NaN", "x", "B1", "a_b",
		"_a", "a_", "_", "2", "2a", "1e5", "a.b", "a-b", "", "é", "x y", "True", "null", "inf"}
	for _, f := range Functions() {
		names = append(names, f.Name)
	}
	for _, n := range names {
		p, err := Compile(n)
		want := err == nil && len(p.Vars()) == 1 && p.Vars()[0] == n
		if got := VarName(n); got != want {
			t.Errorf("VarName(%q) = %v, but compiling it gives %v (err %v)", n, got, want, err)
		}
	}
	for _, f := range Functions() {
		want := map[string]bool{"log10": true, "sqrt": true, "floor": true, "ceil": true, "where": true, "clamp": true}[f.Name]
		if got := AddedFunction(f.Name); got != want {
			t.Errorf("AddedFunction(%q) = %v, want %v (django-raster has no such function)", f.Name, got, want)
		}
	}
	if AddedFunction("x") {
		t.Error(`AddedFunction("x") is true for a name that is no function`)
	}
}
