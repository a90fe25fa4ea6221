package render

import (
	"image"
	"image/jpeg"
	"io"
)

// Flatten returns img composited onto black: what a JPEG, which has no alpha, shows.
// Transparent pixels, nodata among them, become black, as django-raster's docs promise
// (its code failed with a 500 on every RGBA tile).
func Flatten(img *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	for i := 0; i+3 < len(img.Pix); i += 4 {
		a := uint32(img.Pix[i+3])
		out.Pix[i] = uint8((uint32(img.Pix[i])*a + 127) / 255)
		out.Pix[i+1] = uint8((uint32(img.Pix[i+1])*a + 127) / 255)
		out.Pix[i+2] = uint8((uint32(img.Pix[i+2])*a + 127) / 255)
		out.Pix[i+3] = 255
	}
	return out
}

// EncodeJPEG writes img flattened onto black (see Flatten) as JPEG of the given quality
// (1..100; 0 means 90).
func EncodeJPEG(w io.Writer, img *image.NRGBA, quality int) error {
	if quality <= 0 {
		quality = 90
	}
	return jpeg.Encode(w, Flatten(img), &jpeg.Options{Quality: min(quality, 100)})
}
