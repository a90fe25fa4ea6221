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
	"slices"

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
}

// Render evaluates, colours and enhances the request.
func Render(r Request) (*Output, error) {
	if err := r.Enhance.Validate(); err != nil {
		return nil, err
	}
	out := &Output{}
	switch {
	case r.Formula != nil:
		res, w, h, err := evaluate(r)
		if err != nil {
			return nil, err
		}
		cm := r.Colormap
		if cm != nil && r.Entries != nil {
			cm = cm.Select(r.Entries)
		}
		img, counts, err := Colorize(res, w, h, cm, r.Range)
		if err != nil {
			return nil, err
		}
		out.Image, out.Counts, out.Values = img, counts, res
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
	if err := r.Enhance.Apply(out.Image); err != nil {
		return nil, err
	}
	return out, nil
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
	res, _, _, err := evaluate(r)
	return res, err
}

func evaluate(r Request) (formula.Result, int, int, error) {
	if r.Formula == nil {
		return formula.Result{}, 0, 0, invalid("no formula to evaluate")
	}
	w, h, err := size(r)
	if err != nil {
		return formula.Result{}, 0, 0, err
	}
	vars := make(map[string]formula.Array, len(r.Bands))
	for _, v := range r.Formula.Vars() {
		b, ok := r.Bands[v]
		if !ok {
			return formula.Result{}, 0, 0, invalid("the formula uses %q but no layer is named so; name a layer %s=ID in layers", v, v)
		}
		vars[v] = formula.ArrayFromBand(b)
	}
	res, err := r.Formula.Eval(vars)
	if err != nil {
		return formula.Result{}, 0, 0, err
	}
	if !res.Scalar && len(res.Values) != w*h {
		return formula.Result{}, 0, 0, fmt.Errorf("render: the formula gave %d values for %dx%d pixels", len(res.Values), w, h)
	}
	return res, w, h, nil
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
	if cm == nil {
		cm = colormap.Grayscale()
	}
	a := ResultArray(res, w*h)
	if len(a.Values) != w*h {
		return nil, nil, fmt.Errorf("render: %d values for %dx%d pixels", len(a.Values), w, h)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	counts, err := cm.Colorize(img.Pix, a, rng)
	if err != nil {
		return nil, nil, err
	}
	return img, counts, nil
}
