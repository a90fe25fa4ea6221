package colormap

import (
	"encoding/json"
	"errors"
	"image/color"
	"strings"
	"testing"
)

func TestParseColor(t *testing.T) {
	tests := []struct {
		name, in string
		want     color.NRGBA
		wantErr  bool
	}{
		{"rrggbb", "#FF8000", color.NRGBA{255, 128, 0, 255}, false},
		{"lower case", "#7fcdbb", color.NRGBA{0x7f, 0xcd, 0xbb, 255}, false},
		{"no hash, as django-raster's examples", "7fcdbb", color.NRGBA{0x7f, 0xcd, 0xbb, 255}, false},
		{"rgb is CSS, not abcabc", "#abc", color.NRGBA{0xaa, 0xbb, 0xcc, 255}, false},
		{"rgba", "#f008", color.NRGBA{255, 0, 0, 0x88}, false},
		{"rrggbbaa", "#11223344", color.NRGBA{0x11, 0x22, 0x33, 0x44}, false},
		{"spaces trimmed", "  #000000 ", color.NRGBA{0, 0, 0, 255}, false},
		{"empty", "", color.NRGBA{}, true},
		{"hash only", "#", color.NRGBA{}, true},
		{"five digits", "#12345", color.NRGBA{}, true},
		{"nine digits", "#123456789", color.NRGBA{}, true},
		{"not hex", "#gg0000", color.NRGBA{}, true},
		{"css name", "red", color.NRGBA{}, true},
		{"two hashes", "##ff0000", color.NRGBA{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseColor(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidColor) {
					t.Fatalf("ParseColor(%q) error = %v, want ErrInvalidColor", tt.in, err)
				}
				if !strings.HasPrefix(err.Error(), "Invalid color, could not convert hex to rgb.") {
					t.Errorf("error text %q lacks django-raster's message", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseColor(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestColorFromJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     color.NRGBA
		wantErr  bool
	}{
		{"hex string", `"#00ff00"`, color.NRGBA{0, 255, 0, 255}, false},
		{"rgb list", `[1, 2, 3]`, color.NRGBA{1, 2, 3, 255}, false},
		{"rgba list", `[1, 2, 3, 4]`, color.NRGBA{1, 2, 3, 4}, false},
		{"fractions round", `[127.6, 0.4, 254.5, 0]`, color.NRGBA{128, 0, 255, 0}, false},
		{"two numbers", `[1, 2]`, color.NRGBA{}, true},
		{"five numbers", `[1, 2, 3, 4, 5]`, color.NRGBA{}, true},
		{"above 255", `[256, 0, 0]`, color.NRGBA{}, true},
		{"negative", `[-1, 0, 0]`, color.NRGBA{}, true},
		{"strings in list", `["a", 0, 0]`, color.NRGBA{}, true},
		{"number", `255`, color.NRGBA{}, true},
		{"null", `null`, color.NRGBA{}, true},
		{"object", `{"r": 1}`, color.NRGBA{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ColorFromJSON(json.RawMessage(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidColor) {
					t.Fatalf("ColorFromJSON(%s) error = %v, want ErrInvalidColor", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ColorFromJSON(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestHex(t *testing.T) {
	tests := []struct {
		in   color.NRGBA
		want string
	}{
		{color.NRGBA{255, 0, 16, 255}, "#FF0010"},
		{color.NRGBA{1, 2, 3, 4}, "#01020304"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Hex(tt.in); got != tt.want {
				t.Fatalf("Hex(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParseColor checks that ParseColor never panics, that every error is ErrInvalidColor,
// and that a parsed colour survives Hex → ParseColor unchanged.
func FuzzParseColor(f *testing.F) {
	for _, s := range []string{"#fff", "#ffff", "7fcdbb", "#11223344", "", "#", "zz", "#12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidColor) {
				t.Fatalf("ParseColor(%q): error %v is not ErrInvalidColor", s, err)
			}
			return
		}
		back, err := ParseColor(Hex(c))
		if err != nil || back != c {
			t.Fatalf("ParseColor(Hex(%v)) = %v, %v", c, back, err)
		}
	})
}
