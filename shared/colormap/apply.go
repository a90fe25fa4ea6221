package colormap

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/tessera-gis/tessera/shared/formula"
)

// Count is the number of pixels one discrete key selected.
type Count struct {
	Key string
	N   int
}

// Counts are the per-key pixel counts of a discrete colormap, in the colormap's key order.
// Their JSON is an object {key: count} in that order: the value of the aggregation header.
type Counts []Count

// MarshalJSON writes the counts as a JSON object, keys in order.
func (cs Counts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		// An encoder without HTML escaping, so "x > 0" stays readable in the header.
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c.Key); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		fmt.Fprintf(&b, ":%d", c.N)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Map returns the counts as a map.
func (cs Counts) Map() map[string]int {
	m := make(map[string]int, len(cs))
	for _, c := range cs {
		m[c.Key] = c.N
	}
	return m
}

// Colorize writes one non-premultiplied RGBA pixel (4 bytes) for each value of x into pix,
// which must hold at least 4·len(x.Values) bytes: every byte of pix[:4·len(x.Values)], so a
// reused buffer needs no clearing (an error may leave it as it was). rng is the range the
// caller knows (the layer's statistics) for continuous colormaps; the colormap's own range
// wins over it, and without either the range is the data's own minimum and maximum. The
// counts are returned for discrete colormaps only (nil otherwise).
//
// Discrete: pix starts transparent; each key in order colours the pixels it selects, so
// later keys win. A number key selects the valid pixels equal to it: exactly, or, for a key
// with a fractional part, when the pixel is a float32 value equal to the key rounded to
// float32 (so the key 0.1 matches a Float32 band's 0.1, which is 0.100000001… as float64).
// A formula key selects the pixels where it is true (non-zero) and not nodata; x == NULL
// selects nodata pixels; a formula that is one number (TRUE) selects every valid pixel.
// A key's count is the number of pixels it selected, before later
// keys overwrite any.
//
// Continuous: nodata, NaN and infinite pixels and pixels outside the range are transparent;
// the range is inclusive (django-raster made the tile's own minimum and maximum pixels
// transparent when the tile had no nodata). With t = (v−min)/(max−min), each channel,
// alpha too, is interpolated between the equally spaced colours (from, [over,] to) and
// truncated, as django-raster does; named colormaps look t up in their table. When min ==
// max, every pixel equal to it gets t = 0 (the from colour).
func (c *Colormap) Colorize(pix []uint8, x formula.Array, rng *[2]float64) (Counts, error) {
	n := len(x.Values)
	if len(pix) < 4*n {
		return nil, fmt.Errorf("colormap: %d bytes of pixels for %d values, need %d", len(pix), n, 4*n)
	}
	if x.Mask != nil && len(x.Mask) != n {
		return nil, fmt.Errorf("colormap: mask has %d entries for %d values", len(x.Mask), n)
	}
	pix = pix[:4*n]
	if c.kind == Discrete {
		return c.discrete(pix, x)
	}
	var lo, hi float64
	switch {
	case c.rng != nil:
		lo, hi = c.rng[0], c.rng[1]
	case rng != nil:
		if err := checkRange(rng[0], rng[1]); err != nil {
			return nil, err
		}
		lo, hi = rng[0], rng[1]
	default:
		var ok bool
		if lo, hi, ok = dataRange(x.Values, x.Mask); !ok {
			clear(pix)
			return nil, nil
		}
		c.continuous(pix, x.Values, x.Mask, lo, hi)
		return nil, nil
	}
	// A range that stays from tile to tile: after a few tiles, a cell table (cells.go).
	if t := c.cells(lo, hi, n); t != nil {
		t.apply(c, pix, x.Values, x.Mask)
		return nil, nil
	}
	c.continuous(pix, x.Values, x.Mask, lo, hi)
	return nil, nil
}

// dataRange returns the minimum and maximum of the valid, finite values.
//
// Plain comparisons, not the min and max builtins: those order −0 before +0 and carry
// NaN, which costs a chain of dependent instructions a pixel (4.3 of the 7.1 ns a pixel
// of a continuous colormap without a range). NaN and ±Inf are skipped here (v−v is NaN
// for them), and which zero is the minimum changes no pixel: t = (v−lo)/span is ±0 for
// v = lo either way, and base ± 0 is base.
func dataRange(vals []float64, mask []bool) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i, v := range vals {
		if (mask != nil && mask[i]) || v-v != 0 {
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, lo <= hi
}

func (c *Colormap) continuous(pix []uint8, vals []float64, mask []bool, lo, hi float64) {
	span := hi - lo
	if math.IsInf(span, 0) {
		// hi − lo overflows (ends more than math.MaxFloat64 apart, as a formula's output or
		// a colormap's range may be): t = (v − lo) / span would be 0 for every finite v − lo
		// and ∞/∞ = NaN at hi, an index out of range. Halved, the range and its values keep
		// their order (halving is exact at these magnitudes) and t the same ratio.
		half := make([]float64, len(vals))
		for i, v := range vals {
			half[i] = v / 2
		}
		c.continuous(pix, half, mask, lo/2, hi/2)
		return
	}
	// The segments (withStops): each one's start and step per channel, as interpolate
	// computes them (the same float64 operations, so the same bytes); none for a lookup table.
	segs, opaque := c.segs, c.opaque // opaque: alpha 255 without arithmetic
	if c.grey {
		continuousGrey(pix, vals, mask, lo, hi, segs)
		return
	}
	nseg := float64(len(segs))
	for i, v := range vals {
		p := pix[4*i : 4*i+4 : 4*i+4]
		// The comparison also refuses NaN; ±Inf fall outside any finite range.
		if (mask != nil && mask[i]) || !(v >= lo && v <= hi) {
			p[0], p[1], p[2], p[3] = 0, 0, 0, 0
			continue
		}
		t := 0.0
		if span > 0 {
			t = (v - lo) / span
		}
		if c.lut != nil {
			k := int(t * float64(len(c.lut)))
			if k >= len(c.lut) {
				k = len(c.lut) - 1
			}
			col := c.lut[k]
			p[0], p[1], p[2], p[3] = col.R, col.G, col.B, col.A
			continue
		}
		s := t * nseg
		k := int(s)
		if k >= len(segs) {
			k = len(segs) - 1
		}
		f := s - float64(k)
		g := &segs[k]
		p[0] = uint8(g.base[0] + f*g.step[0])
		p[1] = uint8(g.base[1] + f*g.step[1])
		p[2] = uint8(g.base[2] + f*g.step[2])
		if opaque {
			p[3] = 255 // base + f·0 = base exactly, f being finite
		} else {
			p[3] = uint8(g.base[3] + f*g.step[3])
		}
	}
}

// greySegments reports whether every segment has R = G = B and a constant alpha, as the
// default grayscale has: its pixels then take one channel's arithmetic instead of four.
func greySegments(segs []segment) bool {
	for _, g := range segs {
		if g.base[0] != g.base[1] || g.base[0] != g.base[2] || g.step[0] != g.step[1] || g.step[0] != g.step[2] || g.step[3] != 0 {
			return false
		}
	}
	return len(segs) > 0
}

// continuousGrey is continuous for greySegments: R, G and B are the one value continuous
// computes for each of them (the same float64 operations), alpha the segment's constant
// (base + f·0 = base exactly, f being finite).
func continuousGrey(pix []uint8, vals []float64, mask []bool, lo, hi float64, segs []segment) {
	span := hi - lo
	if len(segs) == 1 {
		continuousGrey1(pix, vals, mask, lo, hi, &segs[0])
		return
	}
	nseg := float64(len(segs))
	for i, v := range vals {
		p := pix[4*i : 4*i+4 : 4*i+4]
		if (mask != nil && mask[i]) || !(v >= lo && v <= hi) {
			p[0], p[1], p[2], p[3] = 0, 0, 0, 0
			continue
		}
		t := 0.0
		if span > 0 {
			t = (v - lo) / span
		}
		s := t * nseg
		k := int(s)
		if k >= len(segs) {
			k = len(segs) - 1
		}
		g := &segs[k]
		y := uint8(g.base[0] + (s-float64(k))*g.step[0])
		p[0], p[1], p[2], p[3] = y, y, y, uint8(g.base[3])
	}
}

// continuousGrey1 is continuousGrey for one segment (two stops: the default grayscale): there
// s = t·1 = t and f = s − 0 = t (t = 1 gives k = 1, clamped to 0, so f = 1 = t too), so each
// pixel is base + t·step, the same float64 operations without the segment lookup, and its
// four bytes are one 32-bit store.
func continuousGrey1(pix []uint8, vals []float64, mask []bool, lo, hi float64, g *segment) {
	span := hi - lo
	base, step := g.base[0], g.step[0]
	alpha := uint32(uint8(g.base[3])) << 24
	out := pix[:4*len(vals)] // advanced a pixel at a time: no index arithmetic and check
	for i, v := range vals {
		var c uint32 // transparent
		if (mask == nil || !mask[i]) && v >= lo && v <= hi {
			t := 0.0
			if span > 0 {
				t = (v - lo) / span
			}
			y := uint32(uint8(base + t*step))
			c = y | y<<8 | y<<16 | alpha
		}
		binary.LittleEndian.PutUint32(out, c)
		out = out[4:]
	}
}

// segment is one stretch between two stops of a continuous colormap: the first stop's
// channels and the differences to the next, as float64.
type segment struct{ base, step [4]float64 }

func (c *Colormap) discrete(pix []uint8, x formula.Array) (Counts, error) {
	clear(pix)
	counts := make(Counts, len(c.entries))
	mask := x.Mask
	for ei, e := range c.entries {
		counts[ei].Key = e.Key
		col := [4]uint8{e.Color.R, e.Color.G, e.Color.B, e.Color.A}
		n := 0
		if e.isNumber {
			k := e.number
			k32, frac := float64(float32(k)), k != math.Trunc(k)
			for i, v := range x.Values {
				if mask != nil && mask[i] {
					continue
				}
				if v == k || (frac && v == k32 && float64(float32(v)) == v) {
					copy(pix[4*i:4*i+4], col[:])
					n++
				}
			}
			counts[ei].N = n
			continue
		}
		res, err := e.prog.Eval(map[string]formula.Array{"x": x})
		if err != nil {
			return nil, fmt.Errorf("colormap: key %q: %w", e.Key, err)
		}
		if len(res.Values) == 0 {
			continue
		}
		if res.Scalar || len(res.Values) == 1 && len(x.Values) != 1 {
			v := res.Values[0]
			if v == 0 || math.IsNaN(v) || (res.Mask != nil && res.Mask[0]) {
				continue
			}
			for i := range x.Values {
				if mask == nil || !mask[i] {
					copy(pix[4*i:4*i+4], col[:])
					n++
				}
			}
			counts[ei].N = n
			continue
		}
		if len(res.Values) != len(x.Values) {
			return nil, fmt.Errorf("colormap: key %q gave %d values for %d pixels", e.Key, len(res.Values), len(x.Values))
		}
		for i, v := range res.Values {
			if v == 0 || math.IsNaN(v) || (res.Mask != nil && res.Mask[i]) {
				continue
			}
			copy(pix[4*i:4*i+4], col[:])
			n++
		}
		counts[ei].N = n
	}
	return counts, nil
}
