// Package web holds Tessera's browser map: a small ES-module app (src/, bundled by esbuild
// into dist/ by `make web`) that renders algebra tiles in the browser with the WebAssembly
// core, embedded here so that `tessera serve` answers it at "/".
//
// dist/ is a build output and is not committed (only dist/.gitkeep is), so a fresh clone
// compiles and vets before npm has run: Built then reports false and the server answers
// the page's routes with a JSON 404 saying how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Index is the name of the page inside Dist.
const Index = "index.html"

// Dist returns the built app: index.html, app.js, app.css, tessera.wasm, wasm_exec.js,
// the client kit tessera.js with its source map tessera.js.map and declarations
// tessera.d.ts, and the assets esbuild emitted. It holds no usable file when the app was not built.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // unreachable: "dist" is a valid, embedded directory
		panic(err)
	}
	return sub
}

// Built reports whether the app was built into this binary (dist/index.html exists).
func Built() bool {
	_, err := fs.Stat(Dist(), Index)
	return err == nil
}

// Files lists the built app's files (slash-separated paths inside Dist), dot files left out.
func Files() ([]string, error) {
	var out []string
	err := fs.WalkDir(Dist(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name()[0] == '.' && p != "." {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
