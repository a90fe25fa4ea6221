//go:build js && wasm

// Command wasm is Tessera's WebAssembly module: the shared core (formula engine, colormaps,
// renderer, raw tile codec) compiled for the browser. It exposes its functions on the global
// object `tessera`; the web app loads it with wasm_exec.js.
//
//	tessera.tileBounds(z, x, y)               → [minx, miny, maxx, maxy] (EPSG:3857)
//	tessera.decodeTile(bytes)                 → {z, x, y, bounds, width, height,
//	                                             bands: {name: {type, nodata}}}
//	tessera.render(bytes, formula, colormap, options?)
//	                                          → {width, height, rgba: Uint8ClampedArray,
//	                                             counts: {key: n} | null}
//	tessera.compile(formula, names?)          → {vars: [...]}
//	tessera.checkColormap(colormap)           → {} or {error}
//	tessera.coveringCount(w, s, e, n, z)      → the number of zoom-z tiles covering a
//	                                             lon/lat box, as the server's export counts
//
// bytes is a Uint8Array holding a .msgpack raw tile; colormap is JSON or a named colormap
// ("" for grayscale); options may hold entries (array), range ([min, max]), scale
// ([min, max]), alpha (bool) and enhance ({color, contrast, brightness, sharpness}).
// Every function answers {error: "…"} on bad input; formula errors add pos: [start, end]
// and snippet, exactly as the server's 400 body. checkColormap gives the error render would
// give for the colormap, without a tile, so a client checks it once when its parameters are
// set.
package main

import (
	"errors"
	"syscall/js"

	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/render"
	"github.com/tessera-gis/tessera/shared/tile"
	"github.com/tessera-gis/tessera/shared/tileview"
)

func errorValue(err error) js.Value {
	m := map[string]any{"error": err.Error()}
	var fe *tileview.FormulaError
	if errors.As(err, &fe) {
		m["error"] = fe.Msg
		m["pos"] = []any{fe.Start, fe.End}
		m["snippet"] = fe.Snippet
	}
	return js.ValueOf(m)
}

func bytesArg(v js.Value) ([]byte, error) {
	if v.Type() != js.TypeObject || v.Get("byteLength").Type() != js.TypeNumber {
		return nil, errors.New("the tile must be a Uint8Array")
	}
	n := v.Get("byteLength").Int()
	if n > rawtile.MaxSize {
		return nil, errors.New("the tile is larger than a raw tile may be")
	}
	scratch = scratchFor(scratch, n)
	js.CopyBytesToGo(scratch, v)
	return scratch, nil
}

// scratch holds the tile bytes of the current call, reused by the next: decoded tiles alias
// their input (rawtile.Decode) and no call keeps one after it returns, so a render copies
// its 256 KiB of bands into the same memory each time instead of allocating it; scratchFor
// drops it for a tile that needs under a quarter of it. The module runs on one thread, so
// calls never overlap.
var scratch []byte

func pair(v js.Value) *[2]float64 {
	if v.Type() != js.TypeObject || v.Length() != 2 {
		return nil
	}
	return &[2]float64{v.Index(0).Float(), v.Index(1).Float()}
}

func options(v js.Value) tileview.Options {
	var o tileview.Options
	if v.Type() != js.TypeObject {
		return o
	}
	if e := v.Get("entries"); e.Type() == js.TypeObject {
		o.Entries = []string{}
		for i := 0; i < e.Length(); i++ {
			o.Entries = append(o.Entries, e.Index(i).String())
		}
	}
	o.Range, o.Scale = pair(v.Get("range")), pair(v.Get("scale"))
	o.Alpha = v.Get("alpha").Truthy()
	if en := v.Get("enhance"); en.Type() == js.TypeObject {
		f := func(k string) *float64 {
			if x := en.Get(k); x.Type() == js.TypeNumber {
				return render.Factor(x.Float())
			}
			return nil
		}
		o.Enhance = render.Enhance{Color: f("color"), Contrast: f("contrast"), Brightness: f("brightness"), Sharpness: f("sharpness")}
	}
	return o
}

// numbers returns the arguments as float64 when they are n numbers: js.Value's Int and Float
// panic on any other type, and a panic ends the module for the whole page.
func numbers(args []js.Value, n int) ([]float64, bool) {
	if len(args) != n {
		return nil, false
	}
	out := make([]float64, n)
	for i, a := range args {
		if a.Type() != js.TypeNumber {
			return nil, false
		}
		out[i] = a.Float()
	}
	return out, true
}

func str(args []js.Value, i int) string {
	if i < len(args) && args[i].Type() == js.TypeString {
		return args[i].String()
	}
	return ""
}

// checkColormap parses a colormap as tileview.Render does (tileview.Colormap), which also
// keeps it parsed for the first render. TestCheckColormap holds it to Render.
func checkColormap(src string) error {
	_, err := tileview.Colormap(src)
	return err
}

func main() {
	api := js.Global().Get("Object").New()
	api.Set("tileBounds", js.FuncOf(func(this js.Value, args []js.Value) any {
		v, ok := numbers(args, 3)
		if !ok {
			return js.ValueOf(map[string]any{"error": "tileBounds(z, x, y) takes three numbers"})
		}
		t := tile.ZXY{Z: int(v[0]), X: int(v[1]), Y: int(v[2])}
		if err := t.Validate(); err != nil {
			return js.ValueOf(map[string]any{"error": err.Error()})
		}
		b := t.Bounds()
		return js.ValueOf([]any{b.MinX, b.MinY, b.MaxX, b.MaxY})
	}))
	api.Set("decodeTile", js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) < 1 {
			return js.ValueOf(map[string]any{"error": "decodeTile(bytes) takes a Uint8Array"})
		}
		data, err := bytesArg(args[0])
		if err != nil {
			return errorValue(err)
		}
		t, err := rawtile.Decode(data)
		if err != nil {
			return errorValue(err)
		}
		bands := map[string]any{}
		for n, b := range t.Bands {
			var nd any
			if b.HasNoData {
				nd = b.NoData
			}
			bands[n] = map[string]any{"type": b.Type.String(), "nodata": nd}
		}
		return js.ValueOf(map[string]any{"z": t.Tile.Z, "x": t.Tile.X, "y": t.Tile.Y,
			"bounds": []any{t.Bounds.MinX, t.Bounds.MinY, t.Bounds.MaxX, t.Bounds.MaxY},
			"width":  t.Width, "height": t.Height, "bands": bands})
	}))
	api.Set("render", js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) < 1 {
			return js.ValueOf(map[string]any{"error": "render(bytes, formula, colormap, options) needs the tile's bytes"})
		}
		data, err := bytesArg(args[0])
		if err != nil {
			return errorValue(err)
		}
		o := js.Undefined()
		if len(args) > 3 {
			o = args[3]
		}
		opt := options(o)
		opt.Formula, opt.Colormap = str(args, 1), str(args, 2)
		img, err := tileview.Render(data, opt)
		if err != nil {
			return errorValue(err)
		}
		rgba := js.Global().Get("Uint8ClampedArray").New(len(img.RGBA))
		js.CopyBytesToJS(rgba, img.RGBA)
		img.Release() // the pixels are in JavaScript now; the next render reuses the buffers
		var counts any
		if img.Counts != nil {
			m := map[string]any{}
			for _, c := range img.Counts {
				m[c.Key] = c.N
			}
			counts = m
		}
		return js.ValueOf(map[string]any{"width": img.Width, "height": img.Height, "rgba": rgba, "counts": counts})
	}))
	api.Set("compile", js.FuncOf(func(this js.Value, args []js.Value) any {
		var names []string
		if len(args) > 1 && args[1].Type() == js.TypeObject {
			names = []string{}
			for i := 0; i < args[1].Length(); i++ {
				names = append(names, args[1].Index(i).String())
			}
		}
		vars, err := tileview.Check(str(args, 0), names)
		if err != nil {
			return errorValue(err)
		}
		out := make([]any, len(vars))
		for i, v := range vars {
			out[i] = v
		}
		return js.ValueOf(map[string]any{"vars": out})
	}))
	api.Set("coveringCount", js.FuncOf(func(this js.Value, args []js.Value) any {
		v, ok := numbers(args, 5)
		if !ok {
			return js.ValueOf(map[string]any{"error": "coveringCount(west, south, east, north, z) takes five numbers"})
		}
		n, err := coveringCount(v[0], v[1], v[2], v[3], int(v[4]))
		if err != nil {
			return errorValue(err)
		}
		return n
	}))
	api.Set("checkColormap", js.FuncOf(func(this js.Value, args []js.Value) any {
		if err := checkColormap(str(args, 0)); err != nil {
			return errorValue(err)
		}
		return js.ValueOf(map[string]any{})
	}))
	js.Global().Set("tessera", api)
	select {}
}
