package colormap

import (
	"errors"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestDiscreteFormulas needs the real formula engine (shared/formula).
func TestDiscreteFormulas(t *testing.T) {
	nan := math.NaN()
	gray := color.NRGBA{128, 128, 128, 128}
	tests := []struct {
		name, colormap string
		vals           []float64
		want           []color.NRGBA
		counts         string
	}{
		{"django-raster's docs example, single-quoted", `{'x>0': '#FF0000', 'x<=0': '#00FF00'}`,
			[]float64{-1, 0, 2, nan},
			[]color.NRGBA{green, green, red, transparent}, `{"x>0":1,"x<=0":2}`},
		{"range expression from the legend docs", `{"(-3.0 < x) & (x <= 1)": "#0000ff"}`,
			[]float64{-3, -2.5, 1, 1.5},
			[]color.NRGBA{transparent, blue, blue, transparent}, `{"(-3.0 < x) & (x <= 1)":2}`},
		{"x == NULL colours nodata", `{"x > 0": "#ff0000", "x == NULL": "#80808080"}`,
			[]float64{nan, 1},
			[]color.NRGBA{gray, red}, `{"x > 0":1,"x == NULL":1}`},
		{"a later formula overwrites a number key", `{"2": "#ff0000", "x >= 2": "#0000ff"}`,
			[]float64{2, 3},
			[]color.NRGBA{blue, blue}, `{"2":1,"x >= 2":2}`},
		{"a one-number formula selects every valid pixel", `{"TRUE": "#00ff00"}`,
			[]float64{5, nan},
			[]color.NRGBA{green, transparent}, `{"TRUE":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, counts := colorize(t, mustParse(t, tt.colormap), tt.vals, nil)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("colours = %v, want %v", got, tt.want)
			}
			if js, _ := counts.MarshalJSON(); string(js) != tt.counts {
				t.Fatalf("counts = %s, want %s", js, tt.counts)
			}
		})
	}
}

func TestFormulaKeyErrors(t *testing.T) {
	tests := []struct{ name, in, text string }{
		{"other variable", `{"y > 1": "#fff"}`, `variable "y"`},
		{"syntax error names the key", `{"x >": "#fff"}`, `key "x >"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Parse(%s) error = %v, want ErrInvalid naming %s", tt.in, err, tt.text)
			}
		})
	}
}
