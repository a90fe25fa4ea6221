// Package render is Tessera's one renderer: bands, a formula (or an RGB composition), a
// colormap and enhancements in, an RGBA image and per-key pixel counts out. The server's
// PNG/JPEG tiles and the browser's canvas both come from Render, so they agree pixel for
// pixel.
//
// The steps are exported too: Evaluate gives the raw formula result (the server writes its
// TIFF tiles from it, without colours), Colorize colours a result, ComposeRGB builds an RGB
// image, Enhance.Apply applies PIL's ImageEnhance factors and Flatten prepares a JPEG.
package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
	"sync"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

// ErrInvalid is matched (errors.Is) by the errors a bad request gives: missing or
// mismatched bands, a bad scale, bad enhancement factors. The server answers them with 400.
var ErrInvalid = errors.New("render: invalid request")

// ErrNoMode is returned when a request has neither a formula nor RGB bands; its text is
// django-raster's 400 message.
var ErrNoMode = errors.New("Specify raster algebra formula or provide rgb layer keys.") //nolint:staticcheck // django-raster's message, kept verbatim

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Request is everything one rendering needs.
type Request struct {
	// Width and Height of the image; 0 takes them from the bands.
	Width, Height int
	// Bands are the formula's variables, or "r", "g", "b" in RGB mode; all of one size.
	Bands map[string]*raster.Band
	// Formula selects formula mode (the tile endpoint renders the formula "x").
	Formula *formula.Program
	// RGB selects RGB mode when Formula is nil.
	RGB *RGB
	// Colormap colours the formula's result; nil means grayscale over the range.
	Colormap *colormap.Colormap
	// Entries, when not nil, keeps only these keys of a discrete colormap.
	Entries []string
	// Range is the range the caller knows (the layer's statistics) for continuous colormaps
	// and grayscale; nil means the colormap's own range, else the result's own min and max.
	Range *[2]float64
	// Enhance holds PIL ImageEnhance factors, applied after colouring.
	Enhance Enhance
}

// Output is a rendered image.
type Output struct {
	// Image is the coloured image, non-premultiplied.
	Image *image.NRGBA
	// Counts are the pixels per key of a discrete colormap (the aggregation header); nil
	// for other colormaps and RGB mode.
	Counts colormap.Counts
	// Values is the raw formula result (formula mode only).
	Values formula.Result
	// Opaque is set in RGB mode without alpha: every pixel is opaque and the PNG should be
	// RGB, as django-raster writes it.
	Opaque bool

	// discrete is the discrete colormap (its entries selected) that coloured Image, Counts
	// being its keys' counts, when no enhancement since mixed pixels (sharpness): Palette's
	// source, its colours changed as enhance (mean its contrast grey) changed the pixels.
	discrete *colormap.Colormap
	enhance  Enhance
	mean     uint8

	// pooled is set when Image's pixels and Values came from the renderer's buffer pools,
	// which Release returns them to.
	pooled bool
}

// Palette returns colours that every pixel of Image is one of, when the renderer knows them
// to be few: those of the discrete colormap's (or legend's) keys that selected a pixel, and
// transparent, which the pixels no key selected are, each changed as the enhancements
// changed its pixels (each colour once); nil for continuous colormaps, grayscale, RGB mode,
// and a discrete colormap enhanced in sharpness, which mixes a pixel with its neighbours. The
// server writes a PNG tile with one as a palette PNG (pngenc.EncodePalette), a byte or less a
// pixel; the browser's canvas takes Image as it is.
//
// Why enhanced colours too: enhance_color, enhance_contrast and enhance_brightness change a
// pixel by its own colour alone (contrast by the image's mean luminance, one number for the
// image), so the pixels of one key's colour stay one colour, which Enhance.colourMap
// computes with the same arithmetic.
func (o *Output) Palette() []color.NRGBA {
	if o == nil || o.discrete == nil {
		return nil
	}
	entries := o.discrete.Entries()
	pal := make([]color.NRGBA, 0, len(entries)+1)
	for i, e := range entries {
		if i < len(o.Counts) && o.Counts[i].N > 0 {
			pal = append(pal, o.enhance.colourMap(e.Color, o.mean))
		}
	}
	pal = append(pal, o.enhance.colourMap(color.NRGBA{}, o.mean))
	seen := make(map[color.NRGBA]bool, len(pal)) // two keys' colours, or an enhancement's, can be one
	return slices.DeleteFunc(pal, func(c color.NRGBA) bool {
		dup := seen[c]
		seen[c] = true
		return dup
	})
}

// Release hands the output's image and value buffers back to the renderer for reuse by a
// later Render; neither may be used afterwards. Calling it is optional (a caller that keeps
// the output simply does not), and calling it twice is harmless. Why: a cold tile otherwise
// allocates fresh megabytes per request, which the runtime zeroes and the GC returns to
// the OS, a tenth of the server's CPU in the cold-tile profile.
func (o *Output) Release() {
	if o == nil || !o.pooled {
		return
	}
	o.pooled = false
	if o.Image != nil {
		byteBufs.put(o.Image.Pix)
	}
	floatBufs.put(o.Values.Values)
	boolBufs.put(o.Values.Mask)
	o.Image, o.Values = nil, formula.Result{}
}

// Tile-sized buffers reused across renderings (see Output.Release), and renderBlocks' block
// buffers, in pools of their own: a pool handing a block buffer to a tile-sized request drops
// it and allocates.
var (
	floatBufs   bufPool[float64]
	boolBufs    bufPool[bool]
	byteBufs    bufPool[byte]
	blockFloats bufPool[float64]
	blockBools  bufPool[bool]
)

// bufPool holds slices of T for reuse; it stores pointers to slices (sync.Pool's advice:
// a slice value would be copied into a new allocation on every Put).
type bufPool[T any] struct{ p sync.Pool }

// get returns a slice of n elements, pooled when one of that capacity is at hand (its
// contents are stale), else new.
func (bp *bufPool[T]) get(n int) []T {
	if p, _ := bp.p.Get().(*[]T); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]T, n)
}

// put hands s back for reuse; nil or empty-capacity slices are dropped.
func (bp *bufPool[T]) put(s []T) {
	if cap(s) > 0 {
		bp.p.Put(&s)
	}
}

// Render evaluates, colours and enhances the request.
func Render(r Request) (*Output, error) {
	if err := r.Enhance.Validate(); err != nil {
		return nil, err
	}
	out := &Output{}
	switch {
	case r.Formula != nil && blockwise(r):
		if err := renderBlocks(r, out); err != nil {
			return nil, err
		}
	case r.Formula != nil:
		if err := renderWhole(r, out); err != nil {
			return nil, err
		}
	case r.RGB != nil:
		w, h, err := size(r)
		if err != nil {
			return nil, err
		}
		img, err := ComposeRGB(r.Bands["r"], r.Bands["g"], r.Bands["b"], w, h, *r.RGB)
		if err != nil {
			return nil, err
		}
		out.Image, out.Opaque = img, !r.RGB.Alpha
	default:
		return nil, ErrNoMode
	}
	mean, err := r.Enhance.apply(out.Image)
	if err != nil {
		return nil, err
	}
	if out.discrete != nil && r.Enhance.perPixel() {
		out.enhance, out.mean = r.Enhance.clone(), mean
	} else {
		out.discrete = nil // sharpness mixed the pixels: no palette
	}
	return out, nil
}

// renderWhole is the formula branch of Render: every band decoded, then the formula over the
// whole tile, then its colours.
func renderWhole(r Request, out *Output) error {
	vbuf, mbuf := floatBufs.get(0), boolBufs.get(0)
	res := formula.Result{Values: vbuf, Mask: mbuf}
	w, h, err := evaluateInto(&res, r)
	if err != nil {
		floatBufs.put(vbuf)
		boolBufs.put(mbuf)
		return err
	}
	if res.Mask == nil { // no nodata pixel: the mask buffer went unused
		boolBufs.put(mbuf)
	}
	cm := r.Colormap
	if cm != nil && r.Entries != nil {
		cm = cm.Select(r.Entries)
	}
	pix := byteBufs.get(4 * w * h) // stale bytes: Colorize writes every one
	img := &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	counts, err := colorizeInto(img, res, w, h, cm, r.Range)
	if err != nil {
		floatBufs.put(res.Values)
		boolBufs.put(res.Mask)
		byteBufs.put(pix)
		return err
	}
	out.Image, out.Counts, out.Values, out.pooled = img, counts, res, true
	if cm != nil && cm.Kind() == colormap.Discrete {
		out.discrete = cm
	}
	return nil
}

// noBand is the error for a formula variable the request has no band for.
func noBand(v string) error {
	return invalid("the formula uses %q but no layer is named so; name a layer %s=ID in layers", v, v)
}

// renderBlock is how many pixels renderBlocks carries through decoding, formula and colours
// at a time: 16 rows of a 256-pixel tile, whose float64s (32 KB a variable) stay in the
// cache from one step to the next.
const renderBlock = 4096

// blockwise reports whether r's formula can be evaluated a block of pixels at a time with the
// same result (renderBlocks): one without reductions (Program.Pixelwise).
func blockwise(r Request) bool { return r.Formula.Pixelwise() }

// colourBlocks reports whether r's colours can be made a block at a time too: a continuous
// colormap (grayscale by default) whose range is known before the values are (its own, or
// the request's); without one it is the result's own minimum and maximum. Discrete
// colormaps count their keys over the whole tile.
func colourBlocks(r Request) bool {
	cm := r.Colormap
	if cm == nil {
		return r.Range != nil
	}
	if cm.Kind() != colormap.Continuous || r.Entries != nil {
		return false
	}
	_, _, own := cm.Range()
	return own || r.Range != nil
}

// renderBlocks is the formula branch of Render for blockwise requests: each block of
// renderBlock pixels is decoded and evaluated, and coloured when colourBlocks allows, before
// the next, where the whole-tile way decodes every band, then evaluates the whole tile, then
// colours it, each step reading megabytes the step before wrote out of the cache. Other
// colormaps colour the whole result once it is complete. The values and nodata of each
// pixel, and so its colour, are the same (TestBlocksMatchWhole). out.Values holds the whole
// result.
func renderBlocks(r Request, out *Output) error {
	w, h, err := size(r)
	if err != nil {
		return err
	}
	n := w * h
	names := r.Formula.Vars()
	type input struct {
		name string
		dec  raster.BlockDecoder
		band *raster.Band
		vals []float64
		mask []bool
	}
	ins := make([]input, len(names))
	vars := make(map[string]formula.Array, len(names))
	for i, v := range names {
		b, ok := r.Bands[v]
		if !ok {
			return noBand(v)
		}
		ins[i] = input{name: v, dec: b.BlockDecoder(), band: b, vals: blockFloats.get(renderBlock), mask: blockBools.get(renderBlock)}
	}
	defer func() {
		for _, in := range ins {
			blockFloats.put(in.vals)
			blockBools.put(in.mask)
		}
	}()
	vbuf, mbuf := floatBufs.get(n), boolBufs.get(n)
	pix := byteBufs.get(4 * n) // stale bytes: Colorize writes every one
	fail := func(err error) error {
		floatBufs.put(vbuf)
		boolBufs.put(mbuf)
		byteBufs.put(pix)
		return err
	}
	res := formula.Result{Values: vbuf[:0], Mask: nil}
	anyNoData := false
	colourEach := colourBlocks(r)
	cm := r.Colormap
	if cm == nil {
		cm = colormap.Grayscale()
	}
	for off := 0; off < n; off += renderBlock {
		end := min(off+renderBlock, n)
		m := end - off
		for _, in := range ins {
			vals, mask := in.dec.Decode(in.vals[:m], in.mask, off)
			vars[in.name] = formula.Array{Values: vals, Mask: mask, HasNoData: in.band.HasNoData, NoData: in.band.NoData}
		}
		// The block's result goes straight into its place in the whole result.
		block := formula.Result{Values: vbuf[off:end], Mask: mbuf[off:end]}
		if err := r.Formula.EvalInto(&block, vars); err != nil {
			return fail(err)
		}
		if len(block.Values) != m || &block.Values[0] != &vbuf[off] {
			return fail(fmt.Errorf("render: the formula gave %d values for a block of %d", len(block.Values), m))
		}
		if block.Mask == nil {
			clear(mbuf[off:end]) // the whole mask needs this block's too, should a later one have nodata
		} else {
			anyNoData = true
		}
		res.HasNoData, res.NoData = block.HasNoData, block.NoData
		if !colourEach {
			continue
		}
		a := formula.Array{Values: block.Values, Mask: block.Mask, HasNoData: block.HasNoData, NoData: block.NoData}
		if _, err := cm.Colorize(pix[4*off:4*end], a, r.Range); err != nil {
			return fail(err)
		}
	}
	res.Values = vbuf[:n]
	if anyNoData {
		res.Mask = mbuf[:n]
	}
	img := &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	if !colourEach {
		if r.Colormap != nil && r.Entries != nil {
			cm = r.Colormap.Select(r.Entries)
		}
		counts, err := colorizeInto(img, res, w, h, cm, r.Range)
		if err != nil {
			return fail(err)
		}
		out.Counts = counts
		if cm.Kind() == colormap.Discrete {
			out.discrete = cm
		}
	}
	if !anyNoData {
		boolBufs.put(mbuf)
	}
	out.Image, out.Values, out.pooled = img, res, true
	return nil
}

// size checks that the bands share one size and returns it (or the request's, which they
// must match).
func size(r Request) (w, h int, err error) {
	w, h = r.Width, r.Height
	names := make([]string, 0, len(r.Bands))
	for n := range r.Bands {
		names = append(names, n)
	}
	slices.Sort(names) // deterministic error messages
	for _, n := range names {
		b := r.Bands[n]
		if b == nil {
			return 0, 0, invalid("band %q is missing", n)
		}
		if err := b.Validate(); err != nil {
			return 0, 0, fmt.Errorf("%w: band %q: %w", ErrInvalid, n, err)
		}
		if w == 0 && h == 0 {
			w, h = b.Width, b.Height
		}
		if b.Width != w || b.Height != h {
			return 0, 0, invalid("band %q is %dx%d, the image is %dx%d; all bands must have the image's size", n, b.Width, b.Height, w, h)
		}
	}
	if w <= 0 || h <= 0 {
		return 0, 0, invalid("image size %dx%d; give a width and height above 0 or bands", w, h)
	}
	return w, h, nil
}

// Evaluate returns the raw result of the request's formula over its bands (formula mode
// only): what the TIFF format writes.
func Evaluate(r Request) (formula.Result, error) {
	var res formula.Result
	if _, _, err := evaluateInto(&res, r); err != nil {
		return formula.Result{}, err
	}
	return res, nil
}

// evaluateInto evaluates the request's formula into *res, reusing its buffers (as
// formula.Program.EvalInto), and returns the image size. The bands are decoded into pooled buffers, returned to the
// pool once the formula has run: a result never shares a variable's buffers.
func evaluateInto(res *formula.Result, r Request) (int, int, error) {
	if r.Formula == nil {
		return 0, 0, invalid("no formula to evaluate")
	}
	w, h, err := size(r)
	if err != nil {
		return 0, 0, err
	}
	names := r.Formula.Vars()
	vars := make(map[string]formula.Array, len(names))
	var (
		vbufs [8][]float64
		mbufs [8][]bool
	)
	decoded := vbufs[:0]
	masks := mbufs[:0]
	defer func() {
		for i := range decoded {
			floatBufs.put(decoded[i])
			boolBufs.put(masks[i])
		}
	}()
	for _, v := range names {
		b, ok := r.Bands[v]
		if !ok {
			return 0, 0, noBand(v)
		}
		vb, mb := floatBufs.get(b.Len()), boolBufs.get(b.Len())
		decoded, masks = append(decoded, vb), append(masks, mb)
		vals, mask := b.Decode(vb, mb)
		vars[v] = formula.Array{Values: vals, Mask: mask, HasNoData: b.HasNoData, NoData: b.NoData}
	}
	if err := r.Formula.EvalInto(res, vars); err != nil {
		return 0, 0, err
	}
	if !res.Scalar && len(res.Values) != w*h {
		return 0, 0, fmt.Errorf("render: the formula gave %d values for %dx%d pixels", len(res.Values), w, h)
	}
	return w, h, nil
}

// ResultArray returns the result as an array of n pixels, a single number broadcast.
func ResultArray(res formula.Result, n int) formula.Array {
	a := formula.Array{Values: res.Values, Mask: res.Mask, HasNoData: res.HasNoData, NoData: res.NoData}
	if (res.Scalar || len(res.Values) == 1) && n != 1 && len(res.Values) > 0 {
		v := res.Values[0]
		a.Values = make([]float64, n)
		for i := range a.Values {
			a.Values[i] = v
		}
		a.Mask = nil
		if len(res.Mask) > 0 && res.Mask[0] {
			a.Mask = make([]bool, n)
			for i := range a.Mask {
				a.Mask[i] = true
			}
		}
	}
	return a
}

// Colorize colours a formula result of w×h pixels with cm (nil: grayscale) over the range
// rules of colormap.Colorize.
func Colorize(res formula.Result, w, h int, cm *colormap.Colormap, rng *[2]float64) (*image.NRGBA, colormap.Counts, error) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	counts, err := colorizeInto(img, res, w, h, cm, rng)
	if err != nil {
		return nil, nil, err
	}
	return img, counts, nil
}

// colorizeInto is Colorize writing into img, w×h pixels of zeroes; cm nil is grayscale.
func colorizeInto(img *image.NRGBA, res formula.Result, w, h int, cm *colormap.Colormap, rng *[2]float64) (colormap.Counts, error) {
	if cm == nil {
		cm = colormap.Grayscale()
	}
	a := ResultArray(res, w*h)
	if len(a.Values) != w*h {
		return nil, fmt.Errorf("render: %d values for %dx%d pixels", len(a.Values), w, h)
	}
	return cm.Colorize(img.Pix, a, rng)
}
