package colormap

import (
	"errors"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/shared/formula"
)

var (
	transparent = color.NRGBA{}
	red         = color.NRGBA{255, 0, 0, 255}
	green       = color.NRGBA{0, 255, 0, 255}
	blue        = color.NRGBA{0, 0, 255, 255}
)

// colorize runs c over vals (NaN marks nodata in these tests) and returns one colour per
// value and the counts.
func colorize(t *testing.T, c *Colormap, vals []float64, rng *[2]float64) ([]color.NRGBA, Counts) {
	t.Helper()
	x := formula.Array{Values: vals}
	for i, v := range vals {
		if math.IsNaN(v) {
			if x.Mask == nil {
				x.Mask = make([]bool, len(vals))
			}
			x.Mask[i] = true
			x.Values = slices.Clone(vals)
			x.Values[i] = -9999
			x.HasNoData, x.NoData = true, -9999
		}
	}
	pix := make([]uint8, 4*len(vals))
	counts, err := c.Colorize(pix, x, rng)
	if err != nil {
		t.Fatalf("Colorize: %v", err)
	}
	out := make([]color.NRGBA, len(vals))
	for i := range out {
		out[i] = color.NRGBA{pix[4*i], pix[4*i+1], pix[4*i+2], pix[4*i+3]}
	}
	return out, counts
}

func mustParse(t *testing.T, s string) *Colormap {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return c
}

func TestParseDiscrete(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Entry
	}{
		{"json keeps key order", `{"10": "#FF0000", "2": [0,255,0], "-1": "00f"}`,
			[]Entry{{"10", red}, {"2", green}, {"-1", blue}}},
		{"single-quoted pseudo-JSON from django-raster's docs", `{'1': '#FF0000', '2': '#00FF00'}`,
			[]Entry{{"1", red}, {"2", green}}},
		{"python tuple colour", `{'1': (255, 0, 0)}`, []Entry{{"1", red}}},
		{"repeated key keeps first place, last colour", `{"1": "#FF0000", "2": "#00FF00", "1": "#0000FF"}`,
			[]Entry{{"1", blue}, {"2", green}}},
		{"double quote inside single-quoted key", `{'1': '#ff0000', "2": '#00ff00'}`,
			[]Entry{{"1", red}, {"2", green}}},
		{"empty object", `{}`, []Entry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.in)
			if c.Kind() != Discrete {
				t.Fatalf("kind = %v, want Discrete", c.Kind())
			}
			if got := c.Entries(); !slices.Equal(got, tt.want) {
				t.Fatalf("entries = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		text     string // part of the message
	}{
		{"empty", ``, ErrInvalid, "empty"},
		{"array", `[1,2]`, ErrInvalid, "expected a JSON object"},
		{"number", `12`, ErrInvalid, ""},
		{"broken json", `{"1": "#ff0000"`, ErrInvalid, "not JSON"},
		{"trailing text", `{"1": "#ff0000"} x`, ErrInvalid, ""},
		{"bad colour names the key", `{"1": "#ff0000", "7": "purple"}`, ErrInvalidColor, `key "7"`},
		{"bad continuous colour", `{"continuous": true, "from": "#ff"}`, ErrInvalidColor, `key "from"`},
		{"range reversed", `{"continuous": true, "range": [5, 1]}`, ErrInvalid, "minimum above"},
		{"range of one", `{"continuous": true, "range": [5]}`, ErrInvalid, "[min, max]"},
		{"unknown name", `nosuchmap`, ErrUnknownName, "viridis"},
		{"unknown name as JSON string", `"nosuchmap_r"`, ErrUnknownName, ""},
		{"name and colours", `{"continuous": 1, "name": "viridis", "from": "#000"}`, ErrInvalid, "not both"},
		{"empty key", `{"": "#fff"}`, ErrInvalid, `key "": empty`},
		{"too big", `{"1": "` + strings.Repeat(" ", MaxBytes) + `"}`, ErrInvalid, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
}

func TestParseTooManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i <= MaxKeys; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + strings.Repeat("1", 1) + `.` + itoa(i) + `": "#fff"`)
	}
	b.WriteString("}")
	_, err := Parse([]byte(b.String()))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "keys") {
		t.Fatalf("Parse of %d keys: error = %v, want a key limit error", MaxKeys+1, err)
	}
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			return s
		}
	}
}

func TestContinuous(t *testing.T) {
	gray := func(v uint8) color.NRGBA { return color.NRGBA{v, v, v, 255} }
	rng := func(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }
	nan := math.NaN()
	tests := []struct {
		name     string
		colormap string
		vals     []float64
		rng      *[2]float64 // the caller's range
		want     []color.NRGBA
	}{
		{"from to over own range; t truncated",
			`{"continuous": true, "from": "#000000", "to": "#ffffff", "range": [0, 100]}`,
			[]float64{0, 50, 100, 10}, nil,
			// 0.5·255 = 127.5 → 127; 0.1·255 = 25.5 → 25
			[]color.NRGBA{gray(0), gray(127), gray(255), gray(25)}},
		{"outside the range is transparent, the ends are not",
			`{"continuous": true, "from": "#000", "to": "#fff", "range": [0, 100]}`,
			[]float64{-0.001, 0, 100, 100.001, math.Inf(1)}, nil,
			[]color.NRGBA{transparent, gray(0), gray(255), transparent, transparent}},
		{"over: from→over on 2t, over→to on 2(t−0.5)",
			`{"continuous": "True", "from": "#FF0000", "over": "#00FF00", "to": "#0000FF", "range": [0, 100]}`,
			[]float64{0, 25, 50, 75, 100}, nil,
			[]color.NRGBA{red, {127, 127, 0, 255}, green, {0, 127, 127, 255}, blue}},
		{"without range: the tile's own min and max, both coloured (django-raster made them transparent)",
			`{"continuous": 1, "from": "#000", "to": "#fff"}`,
			[]float64{2, 4, 6}, nil,
			[]color.NRGBA{gray(0), gray(127), gray(255)}},
		{"the caller's range is used when the colormap has none",
			`{"continuous": 1, "from": "#000", "to": "#fff"}`,
			[]float64{2, 4, 6}, rng(0, 4),
			[]color.NRGBA{gray(127), gray(255), transparent}},
		{"the colormap's range wins over the caller's",
			`{"continuous": 1, "from": "#000", "to": "#fff", "range": [2, 6]}`,
			[]float64{2, 4, 6}, rng(0, 4),
			[]color.NRGBA{gray(0), gray(127), gray(255)}},
		{"continuous false still means continuous; to defaults to white, from to black",
			`{"continuous": false, "range": [0, 1]}`,
			[]float64{0, 1}, nil,
			[]color.NRGBA{gray(0), gray(255)}},
		{"min == max gives the from colour",
			`{"continuous": true, "from": "#f00", "to": "#00f"}`,
			[]float64{5, 5}, nil,
			[]color.NRGBA{red, red}},
		{"nodata is transparent and left out of the own range",
			`{"continuous": true, "from": "#000", "to": "#fff"}`,
			[]float64{nan, 10, 20}, nil,
			[]color.NRGBA{transparent, gray(0), gray(255)}},
		{"all nodata",
			`{"continuous": true}`,
			[]float64{nan, nan}, nil,
			[]color.NRGBA{transparent, transparent}},
		{"alpha interpolates",
			`{"continuous": true, "from": [0, 0, 0, 0], "to": "#ffffffff", "range": [0, 2]}`,
			[]float64{1}, nil,
			[]color.NRGBA{{127, 127, 127, 127}}},
		{"a range too wide for hi − lo (a panic: t was ∞/∞ = NaN at the maximum, an index out of range)",
			`{"continuous": true, "from": "#000", "to": "#fff"}`,
			[]float64{-math.MaxFloat64, 0, math.MaxFloat64, nan}, nil,
			[]color.NRGBA{gray(0), gray(127), gray(255), transparent}},
		{"a range too wide for hi − lo, with over and the colormap's range",
			`{"continuous": true, "from": "#f00", "over": "#0f0", "to": "#00f", "range": [-1.5e308, 1.5e308]}`,
			[]float64{-1.5e308, 0, 1.5e308, 1.6e308, math.Inf(-1)}, nil,
			[]color.NRGBA{red, green, blue, transparent, transparent}},
		{"a range too wide for hi − lo, named",
			`{"continuous": true, "name": "viridis"}`,
			[]float64{-math.MaxFloat64, math.MaxFloat64}, nil,
			[]color.NRGBA{{0x44, 0x01, 0x54, 255}, {0xfd, 0xe7, 0x25, 255}}},
		{"named colormap with a range",
			`{"continuous": true, "name": "viridis", "range": [0, 10]}`,
			[]float64{0, 10, 5}, nil,
			[]color.NRGBA{{0x44, 0x01, 0x54, 255}, {0xfd, 0xe7, 0x25, 255}, {0x21, 0x91, 0x8c, 255}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.colormap)
			if c.Kind() != Continuous {
				t.Fatalf("kind = %v, want Continuous", c.Kind())
			}
			got, counts := colorize(t, c, tt.vals, tt.rng)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("colours = %v, want %v", got, tt.want)
			}
			if counts != nil {
				t.Errorf("counts = %v, want nil for a continuous colormap", counts)
			}
		})
	}
}

func TestGrayscale(t *testing.T) {
	got, _ := colorize(t, Grayscale(), []float64{0, 1, 2, math.NaN()}, nil)
	want := []color.NRGBA{{0, 0, 0, 255}, {127, 127, 127, 255}, {255, 255, 255, 255}, transparent}
	if !slices.Equal(got, want) {
		t.Fatalf("grayscale = %v, want %v", got, want)
	}
}

// TestNamed checks table lookups against matplotlib 3.6's colormaps (colors.to_hex(cmap(t))).
func TestNamed(t *testing.T) {
	tests := []struct {
		name string
		t    float64
		want string
	}{
		{"viridis", 0, "#440154"},
		{"viridis", 1, "#FDE725"},
		{"viridis", 0.5, "#21918C"},
		{"viridis_r", 0, "#FDE725"},
		{"magma", 1, "#FCFDBF"},
		{"inferno", 1, "#FCFFA4"},
		{"plasma", 0.5, "#CC4778"},
		{"cividis", 0, "#00224E"},
		{"terrain", 0.5, "#FEFE98"},
		{"RdYlGn", 0, "#A50026"},
		{"rdylgn", 1, "#006837"},
		{"RdYlGn_r", 0, "#006837"},
		{"Spectral", 0.25, "#F98E52"},
		{"greys", 0, "#FFFFFF"},
		{"Greys", 1, "#000000"},
		{" VIRIDIS_R ", 1, "#440154"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Named(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			c, err = c.WithRange(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := colorize(t, c, []float64{tt.t}, nil)
			if Hex(got[0]) != tt.want {
				t.Fatalf("%s(%v) = %s, want %s", tt.name, tt.t, Hex(got[0]), tt.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	names := List()
	for _, want := range []string{"viridis", "magma", "inferno", "plasma", "cividis", "terrain", "rdylgn", "spectral", "greys"} {
		if !slices.Contains(names, want) {
			t.Errorf("List() lacks %q", want)
		}
	}
	for _, n := range names {
		for _, name := range []string{n, n + "_r"} {
			c, err := Named(name)
			if err != nil {
				t.Fatalf("Named(%q): %v", name, err)
			}
			if len(c.lut) != 256 || c.Name() != name {
				t.Errorf("Named(%q): %d colours, name %q", name, len(c.lut), c.Name())
			}
		}
	}
}

func TestParseName(t *testing.T) {
	for _, in := range []string{`viridis`, `"viridis"`, ` "Viridis" `} {
		t.Run(in, func(t *testing.T) {
			c := mustParse(t, in)
			if c.Kind() != Continuous || c.Name() != "viridis" {
				t.Fatalf("Parse(%s) = kind %v name %q", in, c.Kind(), c.Name())
			}
		})
	}
}

func TestDiscreteNumbers(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name, colormap string
		vals           []float64
		want           []color.NRGBA
		counts         string
	}{
		{"exact values; unmatched and nodata transparent", `{"1": "#FF0000", "2": "#00FF00"}`,
			[]float64{1, 2, 3, nan, 2},
			[]color.NRGBA{red, green, transparent, transparent, green}, `{"1":1,"2":2}`},
		{"later keys overwrite earlier ones; both count", `{"1": "#FF0000", "1.0": "#0000FF"}`,
			[]float64{1, 0},
			[]color.NRGBA{blue, transparent}, `{"1":1,"1.0":1}`},
		{"integral keys match exactly", `{"2": "#FF0000"}`,
			[]float64{2.0000001, 1.9999999, 2},
			[]color.NRGBA{transparent, transparent, red}, `{"2":1}`},
		{"fractional keys match float32 pixels", `{"0.1": "#FF0000"}`,
			[]float64{float64(float32(0.1)), 0.1, 0.1000001},
			[]color.NRGBA{red, red, transparent}, `{"0.1":2}`},
		{"nodata value itself is not matched by its number", `{"-9999": "#FF0000"}`,
			[]float64{nan}, []color.NRGBA{transparent}, `{"-9999":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, counts := colorize(t, mustParse(t, tt.colormap), tt.vals, nil)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("colours = %v, want %v", got, tt.want)
			}
			js, err := counts.MarshalJSON()
			if err != nil || string(js) != tt.counts {
				t.Fatalf("counts = %s, %v; want %s", js, err, tt.counts)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	c := mustParse(t, `{"1": "#FF0000", "2": "#00FF00", "3": "#0000FF"}`).Select([]string{"3", "1", "9"})
	want := []Entry{{"1", red}, {"3", blue}}
	if got := c.Entries(); !slices.Equal(got, want) {
		t.Fatalf("Select entries = %v, want %v", got, want)
	}
	got, counts := colorize(t, c, []float64{1, 2, 3}, nil)
	if !slices.Equal(got, []color.NRGBA{red, transparent, blue}) || len(counts) != 2 {
		t.Fatalf("colours %v counts %v", got, counts)
	}
}

func TestColorizeShortBuffer(t *testing.T) {
	_, err := Grayscale().Colorize(make([]uint8, 7), formula.Array{Values: []float64{1, 2}}, nil)
	if err == nil {
		t.Fatal("Colorize with a 7-byte buffer for 2 pixels: no error")
	}
}

// FuzzParse checks that Parse never panics, that its errors are the documented ones, and
// that what it accepts can colour a few pixels.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"1": "#ff0000", "2": [0, 255, 0]}`,
		`{'x>0': '#FF0000', 'x<=0': '#00FF00'}`,
		`{"continuous": true, "from": "#000", "over": "#f00", "to": "#fff", "range": [0, 5]}`,
		`{"(-3.0 < x) & (x <= 1)": "7fcdbb", "x == NULL": "#0000"}`,
		`viridis_r`, `"magma"`, `{'continuous': True, 'name': 'terrain'}`, `{"1": "#ff0000"`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInvalidColor) && !errors.Is(err, ErrUnknownName) {
				t.Fatalf("Parse(%q): undocumented error %v", data, err)
			}
			return
		}
		if len(c.Entries()) > MaxKeys {
			t.Fatalf("Parse(%q): %d keys", data, len(c.Entries()))
		}
		vals := []float64{-1, 0, 1, 2.5, 1e9}
		pix := make([]uint8, 4*len(vals))
		if _, err := c.Colorize(pix, formula.Array{Values: vals, Mask: []bool{false, true, false, false, false}, HasNoData: true, NoData: 0}, nil); err != nil {
			// A formula key may still fail at evaluation; that must be an error, not a panic.
			return
		}
	})
}
