package render

import (
	"image"
	"math"

	"github.com/tessera-gis/tessera/shared/raster"
)

// RGB is RGB mode: three bands named "r", "g", "b" become the red, green and blue channels.
type RGB struct {
	// Scale, when set, maps [min, max] linearly onto 0..255 (the scale=min,max or scale=max
	// query parameter, min 0 for the one-number form). django-raster divided by max instead
	// of max−min and overflowed 8-bit data with the one-number form; Tessera computes
	// (v−min)·255/(max−min) in float64 and clips.
	Scale *[2]float64
	// Alpha makes pixels transparent where all three channels are 0 (as django-raster's
	// docs say; its code did it where any channel was 0) and where any band is nodata
	// (django-raster ignored nodata in RGB mode).
	Alpha bool
}

// ComposeRGB builds the RGB image of w×h pixels. Values are scaled (see RGB.Scale), or
// clipped to 0..255 without a scale; fractions are truncated, as django-raster's uint8
// conversion does. Without Alpha the image is opaque and nodata pixels are black.
func ComposeRGB(r, g, b *raster.Band, w, h int, opt RGB) (*image.NRGBA, error) {
	bands := [3]*raster.Band{r, g, b}
	for i, band := range bands {
		name := string("rgb"[i])
		if band == nil {
			return nil, invalid("RGB mode needs three layers named r, g and b; %q is missing", name)
		}
		if err := band.Validate(); err != nil {
			return nil, invalid("band %q: %v", name, err)
		}
		if band.Width != w || band.Height != h {
			return nil, invalid("band %q is %dx%d, the image is %dx%d", name, band.Width, band.Height, w, h)
		}
	}
	lo, hi := 0.0, 255.0
	if opt.Scale != nil {
		lo, hi = opt.Scale[0], opt.Scale[1]
		if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo >= hi {
			return nil, invalid("scale=%v,%v: give scale=min,max with min below max, or scale=max above 0", lo, hi)
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	pix := img.Pix
	n := w * h
	var nodata []bool
	var vals []float64
	var mask []bool
	for c, band := range bands {
		vals, mask = band.Decode(vals, mask[:0])
		if mask != nil {
			if nodata == nil {
				nodata = make([]bool, n)
			}
			for i, m := range mask {
				nodata[i] = nodata[i] || m
			}
		}
		for i, v := range vals {
			pix[4*i+c] = scale8(v, lo, hi)
		}
	}
	for i := 0; i < n; i++ {
		p := pix[4*i : 4*i+4 : 4*i+4]
		switch {
		case nodata != nil && nodata[i]:
			p[0], p[1], p[2], p[3] = 0, 0, 0, 0
			if !opt.Alpha {
				p[3] = 255
			}
		case opt.Alpha && p[0] == 0 && p[1] == 0 && p[2] == 0:
			p[3] = 0
		default:
			p[3] = 255
		}
	}
	return img, nil
}

// scale8 maps v from [lo, hi] to 0..255, clipped and truncated; NaN gives 0. The product
// comes before the division so that integer data with scale 0,255 maps to itself exactly.
func scale8(v, lo, hi float64) uint8 {
	s := (v - lo) * 255 / (hi - lo)
	switch {
	case !(s > 0):
		return 0
	case s >= 255:
		return 255
	}
	return uint8(s)
}
