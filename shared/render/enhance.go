package render

import (
	"fmt"
	"image"
	"image/color"
)

// MaxFactor is the largest enhancement factor accepted; past a few the image is saturated
// anyway.
const MaxFactor = 100

// Enhance holds the factors of PIL's ImageEnhance that django-raster applies to PNG and
// JPEG tiles (enhance_color, enhance_contrast, enhance_brightness, enhance_sharpness). A nil
// factor, like a factor of 1, leaves the image unchanged; 0 is a real factor (brightness 0
// is black).
type Enhance struct {
	Color, Contrast, Brightness, Sharpness *float64
}

// Validate checks that every factor set is a finite number from 0 to MaxFactor.
func (e Enhance) Validate() error {
	for _, f := range []struct {
		name string
		v    *float64
	}{{"enhance_color", e.Color}, {"enhance_contrast", e.Contrast}, {"enhance_brightness", e.Brightness}, {"enhance_sharpness", e.Sharpness}} {
		if f.v != nil && !(*f.v >= 0 && *f.v <= MaxFactor) {
			return invalid("%s=%v: give a number from 0 to %d (1 leaves the image unchanged)", f.name, *f.v, MaxFactor)
		}
	}
	return nil
}

// Apply enhances img in place in django-raster's order: color, contrast, brightness,
// sharpness. Each step is PIL's Image.blend(degenerate, image, factor) computed as Pillow
// does it (float32 arithmetic, truncated, clipped to 0..255), so results match Pillow byte
// for byte; alpha is preserved. The degenerate images:
//   - color: the image's luminance L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16 (Pillow's
//     RGB→L conversion, its integer form of ITU-R 601-2);
//   - contrast: a uniform image of int(mean L + 0.5), the mean over every pixel;
//   - brightness: black;
//   - sharpness: the image through PIL's SMOOTH filter (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1,
//     divided by 13), the outermost rows and columns unchanged.
func (e Enhance) Apply(img *image.NRGBA) error {
	_, err := e.apply(img)
	return err
}

// apply is Apply, returning the contrast step's degenerate grey (the mean luminance; 0
// without the step), which colourMap needs to change a colour as Apply changed the pixels.
func (e Enhance) apply(img *image.NRGBA) (mean uint8, err error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	if img.Stride != 4*img.Rect.Dx() {
		return 0, fmt.Errorf("render: enhance needs a compact image (stride %d for width %d)", img.Stride, img.Rect.Dx())
	}
	pix := img.Pix
	if f, ok := factor(e.Color); ok {
		for i := 0; i+3 < len(pix); i += 4 {
			l := luma(pix[i], pix[i+1], pix[i+2])
			pix[i] = blend(l, pix[i], f)
			pix[i+1] = blend(l, pix[i+1], f)
			pix[i+2] = blend(l, pix[i+2], f)
		}
	}
	if f, ok := factor(e.Contrast); ok && len(pix) > 0 {
		var sum uint64
		for i := 0; i+3 < len(pix); i += 4 {
			sum += uint64(luma(pix[i], pix[i+1], pix[i+2]))
		}
		mean = uint8(int(float64(sum)/float64(len(pix)/4) + 0.5))
		for i := 0; i+3 < len(pix); i += 4 {
			pix[i] = blend(mean, pix[i], f)
			pix[i+1] = blend(mean, pix[i+1], f)
			pix[i+2] = blend(mean, pix[i+2], f)
		}
	}
	if f, ok := factor(e.Brightness); ok {
		for i := 0; i+3 < len(pix); i += 4 {
			pix[i] = blend(0, pix[i], f)
			pix[i+1] = blend(0, pix[i+1], f)
			pix[i+2] = blend(0, pix[i+2], f)
		}
	}
	if f, ok := factor(e.Sharpness); ok {
		sharpen(img, f)
	}
	return mean, nil
}

// perPixel reports whether Apply changes each pixel by its own colour alone, given the
// image's mean luminance (colourMap): unless a sharpness factor, which mixes a pixel with
// its neighbours, changes anything.
func (e Enhance) perPixel() bool {
	_, sharp := factor(e.Sharpness)
	return !sharp
}

// colourMap returns c as Apply changed the pixels of that colour in an image whose contrast
// step's degenerate grey was mean (apply's): the same steps, in the same arithmetic, on one
// colour. Only for an Enhance that is perPixel.
func (e Enhance) colourMap(c color.NRGBA, mean uint8) color.NRGBA {
	if f, ok := factor(e.Color); ok {
		l := luma(c.R, c.G, c.B)
		c.R, c.G, c.B = blend(l, c.R, f), blend(l, c.G, f), blend(l, c.B, f)
	}
	if f, ok := factor(e.Contrast); ok {
		c.R, c.G, c.B = blend(mean, c.R, f), blend(mean, c.G, f), blend(mean, c.B, f)
	}
	if f, ok := factor(e.Brightness); ok {
		c.R, c.G, c.B = blend(0, c.R, f), blend(0, c.G, f), blend(0, c.B, f)
	}
	return c
}

// clone returns e with factors of its own, which a change to the caller's does not reach.
func (e Enhance) clone() Enhance {
	own := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		return Factor(*p)
	}
	return Enhance{Color: own(e.Color), Contrast: own(e.Contrast), Brightness: own(e.Brightness), Sharpness: own(e.Sharpness)}
}

// factor returns the factor as Pillow sees it (a C float) and whether it changes anything.
func factor(p *float64) (float32, bool) {
	if p == nil || *p == 1 {
		return 1, false
	}
	return float32(*p), true
}

// luma is Pillow's RGB→L conversion.
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// blend is Pillow's ImagingBlend for one channel: im1 + alpha·(im2 − im1) in float32,
// clipped, truncated toward zero.
func blend(im1, im2 uint8, alpha float32) uint8 {
	// The explicit conversion keeps the compiler from fusing the multiply and add, which C
	// (and so Pillow) does not do.
	v := float32(im1) + float32(alpha*float32(int(im2)-int(im1)))
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}

// sharpen blends img with its SMOOTH-filtered self, as ImageEnhance.Sharpness does.
func sharpen(img *image.NRGBA, f float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 3 || h < 3 { // Pillow's filter returns such images unchanged
		return
	}
	// The kernel as Pillow holds it: float32 values divided by the float32 scale.
	k1, k5 := float32(1)/float32(13), float32(5)/float32(13)
	src := make([]uint8, len(img.Pix))
	copy(src, img.Pix)
	stride := img.Stride
	row := func(p []uint8, x int, side, mid float32) float32 {
		// KERNEL1x3: in[x−d]·k0 + in[x]·k1 + in[x+d]·k2, left to right, in float32.
		a := float32(float32(p[x-4]) * side)
		b := float32(float32(p[x]) * mid)
		c := float32(float32(p[x+4]) * side)
		return float32(a+b) + c
	}
	for y := 1; y < h-1; y++ {
		up, cur, down := src[(y-1)*stride:y*stride], src[y*stride:(y+1)*stride], src[(y+1)*stride:(y+2)*stride]
		out := img.Pix[y*stride : (y+1)*stride]
		for x := 1; x < w-1; x++ {
			for c := 0; c < 3; c++ {
				i := 4*x + c
				// Pillow adds 0.5 to the offset of multi-band images so the sum rounds.
				ss := float32(0.5)
				ss += row(down, i, k1, k1)
				ss += row(cur, i, k1, k5)
				ss += row(up, i, k1, k1)
				out[i] = blend(clip8(ss), cur[i], f)
			}
		}
	}
}

// clip8 is Pillow's conversion of a filter sum to a byte.
func clip8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}

// Factor returns a pointer to f, for building an Enhance literal.
func Factor(f float64) *float64 { return &f }
