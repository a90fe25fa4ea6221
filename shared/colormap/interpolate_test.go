package colormap

import (
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

// interpolate returns the colour at t in 0..1 along equally spaced stops, each channel
// truncated toward zero (numpy's astype('uint8') on django-raster's float colours).
func interpolate(stops []color.NRGBA, t float64) color.NRGBA {
	segs := len(stops) - 1
	s := t * float64(segs)
	k := int(s)
	if k >= segs {
		k = segs - 1
	}
	f := s - float64(k)
	a, b := stops[k], stops[k+1]
	return color.NRGBA{lerp8(a.R, b.R, f), lerp8(a.G, b.G, f), lerp8(a.B, b.B, f), lerp8(a.A, b.A, f)}
}

// lerp8 is x + f·(y − x), truncated; f is in 0..1 so the result stays in 0..255.
func lerp8(x, y uint8, f float64) uint8 {
	return uint8(float64(x) + f*(float64(y)-float64(x)))
}

// TestContinuousMatchesInterpolate checks the hoisted pixel loop of continuous colormaps
// against interpolate, the per-pixel definition, byte for byte.
func TestContinuousMatchesInterpolate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for _, js := range []string{
		`{"continuous": true, "from": "#0000ff", "to": "#ff0000"}`,
		`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000", "range": [-3, 7]}`,
		`{"continuous": true, "from": "#12345678", "over": "#fedcba98", "to": "#00ff0080", "range": [0.5, 0.75]}`,
		// greySegments' fast path, and two that are almost grey (a channel or alpha off).
		`{"continuous": true, "from": "#000000", "to": "#ffffff"}`,
		`{"continuous": true, "from": "#10101080", "over": "#e0e0e080", "to": "#40404080", "range": [-1, 2]}`,
		`{"continuous": true, "from": "#000000", "to": "#fffffe"}`,
		`{"continuous": true, "from": "#000000ff", "to": "#fffffffe"}`,
	} {
		c, err := Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := -3.0, 7.0
		if a, b, ok := c.Range(); ok {
			lo, hi = a, b
		}
		vals := make([]float64, 4096)
		for i := range vals {
			vals[i] = lo + (hi-lo)*rng.Float64()
		}
		vals[0], vals[1] = lo, hi
		vals[2], vals[3], vals[4] = math.NaN(), lo-1, hi+1 // transparent
		// Every seventh pixel nodata.
		mask := make([]bool, len(vals))
		for i := range mask {
			mask[i] = i%7 == 5
		}
		pix := make([]uint8, 4*len(vals))
		for i := range pix {
			pix[i] = 0x55 // a transparent pixel must be written, not left as it was
		}
		c.continuous(pix, vals, mask, lo, hi)
		for i, v := range vals {
			want := color.NRGBA{}
			if v >= lo && v <= hi && !mask[i] {
				want = interpolate(c.stops, (v-lo)/(hi-lo))
			}
			if got := (color.NRGBA{pix[4*i], pix[4*i+1], pix[4*i+2], pix[4*i+3]}); got != want {
				t.Fatalf("%s: value %v: %v, want %v", js, v, got, want)
			}
		}
	}
}

// TestDataRange checks dataRange's comparisons against the builtins' definition of the
// range (min and max over the valid, finite values), and that a colormap without a range
// colours a tile as interpolate does over that range, zeros of both signs included.
func TestDataRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	negZero := math.Copysign(0, -1)
	cases := [][]float64{
		{},
		{math.NaN(), math.Inf(1), math.Inf(-1)},
		{5},
		{0, negZero, 3},
		{negZero, 0, -2, math.Inf(-1)},
		{math.MaxFloat64, -math.MaxFloat64, math.NaN()},
		{7, 7, 7},
	}
	for range 20 {
		vals := make([]float64, 1+rng.IntN(600))
		for i := range vals {
			switch rng.IntN(10) {
			case 0:
				vals[i] = math.NaN()
			case 1:
				vals[i] = math.Inf(1 - 2*rng.IntN(2))
			case 2:
				vals[i] = []float64{0, negZero}[rng.IntN(2)]
			default:
				vals[i] = rng.NormFloat64() * 100
			}
		}
		cases = append(cases, vals)
	}
	c, err := Parse([]byte(`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`))
	if err != nil {
		t.Fatal(err)
	}
	for ci, vals := range cases {
		for _, masked := range []bool{false, true} {
			var mask []bool
			if masked {
				mask = make([]bool, len(vals))
				for i := range mask {
					mask[i] = i%3 == 1
				}
			}
			wlo, whi := math.Inf(1), math.Inf(-1)
			for i, v := range vals {
				if (mask != nil && mask[i]) || math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				wlo, whi = min(wlo, v), max(whi, v)
			}
			lo, hi, ok := dataRange(vals, mask)
			if ok != (wlo <= whi) || (ok && (lo != wlo || hi != whi)) {
				t.Fatalf("case %d (mask %v): dataRange %v %v %v, want %v %v", ci, masked, lo, hi, ok, wlo, whi)
			}
			pix := make([]uint8, 4*len(vals))
			if _, err := c.Colorize(pix, formula.Array{Values: vals, Mask: mask}, nil); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				want := color.NRGBA{}
				if wlo <= whi && v >= wlo && v <= whi && (mask == nil || !mask[i]) {
					tt := 0.0
					if math.IsInf(whi-wlo, 0) { // continuous halves a range that overflows
						tt = (v/2 - wlo/2) / (whi/2 - wlo/2)
					} else if whi > wlo {
						tt = (v - wlo) / (whi - wlo)
					}
					want = interpolate(c.stops, tt)
				}
				if got := (color.NRGBA{pix[4*i], pix[4*i+1], pix[4*i+2], pix[4*i+3]}); got != want {
					t.Fatalf("case %d (mask %v): value %v: %v, want %v", ci, masked, v, got, want)
				}
			}
		}
	}
}

// TestColorizeWritesEveryByte: render.Render hands Colorize a pooled buffer holding an
// earlier tile's pixels, without clearing it. Every kind of colormap must then give the same
// bytes as into a zeroed buffer: transparent pixels written, not left as they were.
func TestColorizeWritesEveryByte(t *testing.T) {
	vals := make([]float64, 700)
	for i := range vals {
		vals[i] = float64(i%23) - 3
	}
	vals[5], vals[6], vals[7] = math.NaN(), math.Inf(1), math.Inf(-1)
	mask := make([]bool, len(vals))
	for i := range mask {
		mask[i] = i%11 == 4
	}
	allNaN := make([]float64, 50)
	for i := range allNaN {
		allNaN[i] = math.NaN()
	}
	huge := []float64{-math.MaxFloat64, 0, math.MaxFloat64, math.NaN()}
	for _, js := range []string{
		`{"continuous": true, "from": "#0000ff", "over": "#ffffff", "to": "#ff0000"}`,
		`{"continuous": true, "from": "#0000ff80", "to": "#ff000040", "range": [0, 10]}`,
		`{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [2, 9]}`,
		`viridis`,
		`{"1": "#ff0000", "2": "#00ff00", "x > 5": "#0000ff"}`,
	} {
		c, err := Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []formula.Array{{Values: vals}, {Values: vals, Mask: mask}, {Values: allNaN}, {Values: huge}} {
			want := make([]uint8, 4*len(x.Values))
			if _, err := c.Colorize(want, x, nil); err != nil {
				t.Fatal(err)
			}
			got := make([]uint8, len(want))
			for i := range got {
				got[i] = 0x55
			}
			if _, err := c.Colorize(got, x, nil); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s, %d values: byte %d is %#x over a dirty buffer, %#x over a zeroed one", js, len(x.Values), i, got[i], want[i])
				}
			}
		}
	}
}
