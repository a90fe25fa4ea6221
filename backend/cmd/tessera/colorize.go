package main

import (
	"fmt"
	"io"
)

// runColorize is implemented with the colormap package (issue 2).
func runColorize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "tessera colorize: not built yet")
	return 1
}
