// Package tileview is the browser's half of the raw tile: it decodes a `.msgpack` tile
// (shared/rawtile) and renders it with a formula and a colormap through shared/render — the
// same code the server runs for its PNG tiles, so a tile coloured in the browser equals the
// server's pixel for pixel. The WebAssembly module (wasm/) exposes it to JavaScript.
package tileview

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/render"
)

// Options say how to render a raw tile; they mirror the algebra endpoint's parameters.
type Options struct {
	// Formula over the tile's band names; "" with bands r, g and b selects RGB mode.
	Formula string
	// Colormap is a colormap as JSON (single quotes accepted) or a named colormap; ""
	// means grayscale.
	Colormap string
	// Entries, when not nil, keeps only these keys of a discrete colormap.
	Entries []string
	// Range is the value range for continuous colormaps and grayscale (e.g. the layer's
	// statistics, as the server's tile endpoint uses); nil: the tile's own range.
	Range *[2]float64
	// Scale and Alpha are RGB mode's scale and alpha.
	Scale *[2]float64
	Alpha bool
	// Enhance holds the enhance_* factors.
	Enhance render.Enhance
}

// Image is a rendered tile: Width×Height non-premultiplied RGBA pixels (what a canvas's
// ImageData holds) and, for discrete colormaps, the pixel count per key.
type Image struct {
	Width, Height int
	RGBA          []byte
	Counts        colormap.Counts
	// Tile is the decoded tile the image was rendered from.
	Tile *rawtile.Tile

	out *render.Output
}

// Release hands the image's pixel and value buffers back to the renderer for the next
// render; RGBA must not be used after it. The browser calls it once the pixels are copied
// out: a render then allocates about a quarter of what it did (BenchmarkRenderNDVI), which
// matters under WebAssembly, where the Go heap is collected on the page's only thread.
func (im *Image) Release() {
	if im == nil || im.out == nil {
		return
	}
	im.out.Release()
	im.out, im.RGBA = nil, nil
}

// FormulaError is a formula error with its position, for the browser's formula box: the
// same message and span the server's 400 body carries.
type FormulaError struct {
	Msg        string
	Start, End int
	Snippet    string
}

// Error returns "formula: MSG at START:END", as formula.Error does.
func (e *FormulaError) Error() string {
	return fmt.Sprintf("formula: %s at %d:%d", e.Msg, e.Start, e.End)
}

// Compile checks a formula against the names a tile offers, returning a *FormulaError for
// a syntax error or an unknown name.
func Compile(src string, names []string) (*formula.Program, error) {
	p, err := formula.Compile(src)
	if err != nil {
		return nil, positioned(src, err)
	}
	vars := map[string]formula.Array{}
	for _, n := range names {
		vars[n] = formula.Array{Values: []float64{1}}
	}
	if _, err := p.Eval(vars); err != nil {
		return nil, positioned(src, err)
	}
	return p, nil
}

func positioned(src string, err error) error {
	var fe *formula.Error
	if errors.As(err, &fe) {
		return &FormulaError{Msg: fe.Msg, Start: fe.Start, End: fe.End, Snippet: fe.Snippet(src)}
	}
	return err
}

// Check compiles a formula for the browser's formula box and returns the variables it uses;
// with names not nil it also checks that every variable is one of them. Errors are
// *FormulaError.
func Check(src string, names []string) ([]string, error) {
	if names != nil {
		p, err := Compile(src, names)
		if err != nil {
			return nil, err
		}
		return p.Vars(), nil
	}
	p, err := formula.Compile(src)
	if err != nil {
		return nil, positioned(src, err)
	}
	return p.Vars(), nil
}

// Colormap parses a colormap as Render reads Options.Colormap, through the same cache:
// trimmed, "" is nil (grayscale), text starting with "{" is JSON (single quotes too),
// anything else a colormap's name. The core's checkColormap answers with it.
func Colormap(src string) (*colormap.Colormap, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, nil
	}
	return parsed.colormap(src)
}

// Render decodes a raw tile and renders it. The image's Tile shares data's bytes (see
// rawtile.Decode).
func Render(data []byte, o Options) (*Image, error) {
	t, err := rawtile.Decode(data)
	if err != nil {
		return nil, err
	}
	req := render.Request{Bands: t.Bands, Entries: o.Entries, Range: o.Range, Enhance: o.Enhance}
	cm, err := Colormap(o.Colormap)
	if err != nil {
		return nil, err
	}
	req.Colormap = cm
	if f := strings.TrimSpace(o.Formula); f != "" {
		names := make([]string, 0, len(t.Bands))
		for n := range t.Bands {
			names = append(names, n)
		}
		slices.Sort(names)
		p, err := parsed.program(f, names)
		if err != nil {
			return nil, err
		}
		req.Formula = p
	} else {
		req.RGB = &render.RGB{Scale: o.Scale, Alpha: o.Alpha}
	}
	out, err := render.Render(req)
	if err != nil {
		return nil, err
	}
	return &Image{Width: out.Image.Rect.Dx(), Height: out.Image.Rect.Dy(), RGBA: out.Image.Pix, Counts: out.Counts, Tile: t, out: out}, nil
}

// parsed keeps the formulas and colormaps Render used last, compiled: re-colouring a screen
// renders every tile with the same ones, and compiling them for each tile was 15% of a
// render (BenchmarkRenderNDVI's profile). Both are immutable, so sharing them is safe. It
// holds at most maxParsed of each and forgets them all when full; errors are not kept.
var parsed = parseCache{programs: map[string]*formula.Program{}, colormaps: map[string]*colormap.Colormap{}}

const maxParsed = 32

type parseCache struct {
	mu        sync.Mutex
	programs  map[string]*formula.Program
	colormaps map[string]*colormap.Colormap
}

// program is Compile(src, names) through the cache; names are sorted.
func (c *parseCache) program(src string, names []string) (*formula.Program, error) {
	return through(&c.mu, c.programs, programKey(src, names), func() (*formula.Program, error) { return Compile(src, names) })
}

// through returns m[key], or makes it and keeps it (m, guarded by mu, holds at most maxParsed
// entries and is emptied when full); an error is returned and not kept.
func through[T any](mu *sync.Mutex, m map[string]T, key string, build func() (T, error)) (T, error) {
	mu.Lock()
	v, ok := m[key]
	mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	mu.Lock()
	if len(m) >= maxParsed {
		clear(m)
	}
	m[key] = v
	mu.Unlock()
	return v, nil
}

// programKey is the cache key of a formula over a set of band names: each string with its
// length in front, since a band name (and a formula) may hold any byte, a separator too.
func programKey(src string, names []string) string {
	n := len(src) + 4
	for _, s := range names {
		n += len(s) + 4
	}
	var b strings.Builder
	b.Grow(n)
	var num [20]byte
	put := func(s string) {
		b.Write(strconv.AppendInt(num[:0], int64(len(s)), 10))
		b.WriteByte(':')
		b.WriteString(s)
	}
	put(src)
	for _, s := range names {
		put(s)
	}
	return b.String()
}

// colormap parses src, JSON or a colormap's name, through the cache.
func (c *parseCache) colormap(src string) (*colormap.Colormap, error) {
	return through(&c.mu, c.colormaps, src, func() (*colormap.Colormap, error) {
		if strings.HasPrefix(src, "{") {
			return colormap.Parse([]byte(src))
		}
		return colormap.Named(src)
	})
}
