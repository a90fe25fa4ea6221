//go:build js

package colormap

// cellsOn is false in the browser: in headless Chromium the page's NDVI tile rendered with a
// cell table took 2.05–2.25 ms against 1.61–1.77 by arithmetic (a three-stop colormap) and
// 1.54–1.58 against 1.43–1.49 (RdYlGn), measured in web/test/bench.mjs's page, although
// under node the same wasm build was faster with them (BenchmarkColorize: 4.2 against 12.4 ns
// a pixel). The browser is where the core runs, so it colours by arithmetic.
const cellsOn = false
