package colormap

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"
)

// ErrInvalidColor is the condition every colour parsing error matches with errors.Is. Its
// text is django-raster's 400 message, kept word for word (hence the capital and the full
// stop) so front ends that show it keep working.
var ErrInvalidColor = errors.New("Invalid color, could not convert hex to rgb.") //nolint:staticcheck // django-raster's message, kept verbatim

// ColorError is returned for a colour that cannot be read; Input is what was given.
type ColorError struct {
	Input  string
	Reason string
}

func (e *ColorError) Error() string {
	return fmt.Sprintf("%s Got %s: %s; use #rgb, #rgba, #rrggbb, #rrggbbaa (the # optional) or [r,g,b] / [r,g,b,a] with 0..255 numbers.",
		ErrInvalidColor.Error(), e.Input, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidColor) true.
func (e *ColorError) Unwrap() error { return ErrInvalidColor }

// ParseColor reads a colour written as CSS hex: #rgb, #rgba, #rrggbb or #rrggbbaa, the #
// optional (django-raster's own examples write "7fcdbb"). Surrounding spaces are ignored.
//
// Tessera follows CSS where django-raster read #abc as #abcabc and knew no alpha.
func ParseColor(s string) (color.NRGBA, error) {
	h := strings.TrimSpace(s)
	h = strings.TrimPrefix(h, "#")
	var d [8]uint8
	for i := 0; i < len(h); i++ {
		v, ok := hexDigit(h[i])
		if !ok || i >= len(d) {
			return color.NRGBA{}, &ColorError{Input: quote(s), Reason: "not a hex colour"}
		}
		d[i] = v
	}
	switch len(h) {
	case 3:
		return color.NRGBA{d[0] * 17, d[1] * 17, d[2] * 17, 255}, nil
	case 4:
		return color.NRGBA{d[0] * 17, d[1] * 17, d[2] * 17, d[3] * 17}, nil
	case 6:
		return color.NRGBA{d[0]<<4 | d[1], d[2]<<4 | d[3], d[4]<<4 | d[5], 255}, nil
	case 8:
		return color.NRGBA{d[0]<<4 | d[1], d[2]<<4 | d[3], d[4]<<4 | d[5], d[6]<<4 | d[7]}, nil
	}
	return color.NRGBA{}, &ColorError{Input: quote(s), Reason: fmt.Sprintf("a hex colour has 3, 4, 6 or 8 digits, not %d", len(h))}
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// ColorFromJSON reads a colour from a JSON value: a hex string (see ParseColor) or a list
// [r,g,b] or [r,g,b,a] of numbers from 0 to 255 (alpha too is 0..255, not CSS's 0..1).
// Fractional numbers are rounded to the nearest integer, so [127.6, 0, 0] is #800000.
func ColorFromJSON(raw json.RawMessage) (color.NRGBA, error) {
	t := strings.TrimSpace(string(raw))
	if strings.HasPrefix(t, "\"") {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return color.NRGBA{}, &ColorError{Input: quote(t), Reason: "not a JSON string"}
		}
		return ParseColor(s)
	}
	if strings.HasPrefix(t, "[") {
		var l []float64
		if err := json.Unmarshal(raw, &l); err != nil {
			return color.NRGBA{}, &ColorError{Input: quote(t), Reason: "a colour list holds 3 or 4 numbers"}
		}
		return ColorFromList(l)
	}
	return color.NRGBA{}, &ColorError{Input: quote(t), Reason: "a colour is a hex string or a list of numbers"}
}

// ColorFromList reads [r,g,b] or [r,g,b,a], each a number from 0 to 255 (rounded to the
// nearest integer).
func ColorFromList(l []float64) (color.NRGBA, error) {
	if len(l) != 3 && len(l) != 4 {
		return color.NRGBA{}, &ColorError{Input: fmt.Sprint(l), Reason: fmt.Sprintf("a colour list holds 3 or 4 numbers, not %d", len(l))}
	}
	c := [4]uint8{0, 0, 0, 255}
	for i, v := range l {
		if !(v >= 0 && v <= 255) { // also refuses NaN
			return color.NRGBA{}, &ColorError{Input: fmt.Sprint(l), Reason: fmt.Sprintf("channel %d is %v, outside 0..255", i, v)}
		}
		c[i] = uint8(math.Round(v))
	}
	return color.NRGBA{c[0], c[1], c[2], c[3]}, nil
}

// Hex writes c as "#RRGGBB", or "#RRGGBBAA" when it is not opaque.
func Hex(c color.NRGBA) string {
	if c.A == 255 {
		return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
	}
	return fmt.Sprintf("#%02X%02X%02X%02X", c.R, c.G, c.B, c.A)
}
