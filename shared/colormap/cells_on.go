//go:build !js

package colormap

// cellsOn: cell tables are built (cells.go). Natively they colour 1.6–2× as fast as the
// arithmetic (BenchmarkColorize, BenchmarkRenderAlgebra2); see cells_js.go for the browser.
const cellsOn = true
