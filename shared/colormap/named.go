package colormap

import (
	"fmt"
	"image/color"
	"strings"
)

// List returns the names of the named colormaps, lower case; each also exists reversed
// with the suffix "_r".
func List() []string { return namedNames() }

// Named returns a named colormap: viridis, magma, inferno, plasma, cividis, turbo, terrain,
// rdylgn, spectral, rdbu, brbg, coolwarm, greys, gray, blues, greens, reds, ylorrd, ylgnbu,
// each reversed with the suffix "_r" (see List). Names are matched case-insensitively, so
// matplotlib's "RdYlGn" works as TiTiler's "rdylgn" does.
//
// A named colormap is continuous: it colours the range like a from/to colormap, looking a
// value up in matplotlib's 256-colour table (index ⌊t·256⌋, the last colour for t = 1), so a
// tile matches what matplotlib and TiTiler draw.
func Named(name string) (*Colormap, error) {
	base := strings.ToLower(strings.TrimSpace(name))
	rev := strings.HasSuffix(base, "_r")
	base = strings.TrimSuffix(base, "_r")
	table, ok := namedTable(base)
	if !ok {
		return nil, fmt.Errorf("%w %q; use one of %s (add _r to reverse)", ErrUnknownName, name, strings.Join(List(), ", "))
	}
	lut := make([]color.NRGBA, len(table)/6)
	for i := range lut {
		var c [3]uint8
		for j := range c {
			hi, _ := hexDigit(table[6*i+2*j])
			lo, _ := hexDigit(table[6*i+2*j+1])
			c[j] = hi<<4 | lo
		}
		lut[i] = color.NRGBA{c[0], c[1], c[2], 255}
	}
	canon := base
	if rev {
		for i, j := 0, len(lut)-1; i < j; i, j = i+1, j-1 {
			lut[i], lut[j] = lut[j], lut[i]
		}
		canon += "_r"
	}
	return &Colormap{kind: Continuous, lut: lut, name: canon, cellKey: "n:" + canon}, nil
}
