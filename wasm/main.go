//go:build js && wasm

// Command wasm is Tessera's WebAssembly module: the shared core (formula engine, colormaps,
// renderer, raw tile codec) compiled for the browser. It exposes its functions on the global
// object `tessera`; the web app loads it with wasm_exec.js.
package main

import (
	"syscall/js"

	"github.com/tessera-gis/tessera/shared/tile"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("tileBounds", js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) != 3 {
			return js.ValueOf(map[string]any{"error": "tileBounds(z, x, y) takes three numbers"})
		}
		t := tile.ZXY{Z: args[0].Int(), X: args[1].Int(), Y: args[2].Int()}
		if err := t.Validate(); err != nil {
			return js.ValueOf(map[string]any{"error": err.Error()})
		}
		b := t.Bounds()
		return js.ValueOf([]any{b.MinX, b.MinY, b.MaxX, b.MaxY})
	}))
	js.Global().Set("tessera", api)
	select {}
}
