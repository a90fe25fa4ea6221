package formula

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated function table in docs/formula.md")

const (
	docPath  = "../../docs/formula.md"
	docBegin = "<!-- functions:begin (generated from formula.Functions) -->\n"
	docEnd   = "<!-- functions:end -->"
)

// functionTable is the Markdown table of Functions() that docs/formula.md holds.
func functionTable() string {
	var b strings.Builder
	b.WriteString("| function | arguments | description |\n|---|---|---|\n")
	for _, f := range Functions() {
		args := fmt.Sprint(f.MinArgs)
		switch {
		case f.MaxArgs < 0:
			args += " or more"
		case f.MaxArgs != f.MinArgs:
			args += fmt.Sprintf(" to %d", f.MaxArgs)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, args, f.Doc)
	}
	return b.String()
}

// TestFunctionsDoc fails when docs/formula.md's function table differs from Functions()
// (a function missing from the docs, a changed arity or description); -update rewrites it.
// The file is outside the package, which the WebAssembly test runner may not reach, so the
// test runs natively only.
func TestFunctionsDoc(t *testing.T) {
	if runtime.GOOS == "js" {
		t.Skip("docs/formula.md is checked by the native run")
	}
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, docBegin)
	j := strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q block", docPath, strings.TrimSpace(docBegin), docEnd)
	}
	got, want := doc[i+len(docBegin):j], functionTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(doc[:i+len(docBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, f := range Functions() {
		if !strings.Contains(got, "| `"+f.Name+"` |") {
			t.Errorf("function %s is missing from %s", f.Name, docPath)
		}
	}
	t.Errorf("%s's function table differs from Functions(); run go test ./shared/formula -run TestFunctionsDoc -update\n got:\n%s\nwant:\n%s", docPath, got, want)
}
