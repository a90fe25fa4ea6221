package main

import (
	"fmt"
	"io"
)

// runEval is implemented with the formula engine (issue 2).
func runEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "tessera eval: not built yet")
	return 1
}
