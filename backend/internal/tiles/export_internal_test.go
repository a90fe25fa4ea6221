package tiles

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestMillimetres: the export README's coordinates print as %.3f of millimetres(v), and a
// value rounding to zero from below prints 0.000, not -0.000.
func TestMillimetres(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{-1e-10, "0.000"}, {math.Copysign(0, -1), "0.000"}, {-0.0004, "0.000"}, {-0.0006, "-0.001"},
		{1252344.2714, "1252344.271"}, {-20037508.342789244, "-20037508.343"}, {0.0005, "0.001"},
	} {
		if got := fmt.Sprintf("%.3f", millimetres(c.v)); got != c.want {
			t.Errorf("millimetres(%v) prints %s, want %s", c.v, got, c.want)
		}
	}
}

// TestDescribeColormap checks COLORMAP.txt: a continuous colormap from one colour to another
// said only "Continuous colormap over the range 0 to 1", without its colours; it now ends with
// the colormap= parameter as given.
func TestDescribeColormap(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"from and to", `{"continuous":true,"from":"#000000","to":"#ffffff","range":[0,1]}`,
			"Continuous colormap over the range 0 to 1\n\nAs given (colormap=): {\"continuous\":true,\"from\":\"#000000\",\"to\":\"#ffffff\",\"range\":[0,1]}\n"},
		{"named", "RdYlGn", "Continuous colormap \"rdylgn\"\n\nAs given (colormap=): RdYlGn\n"},
		{"discrete", `{"1":"#ff0000"}`, "Discrete colormap: expression: colour (#RRGGBB, or #RRGGBBAA when not opaque)\n\n1: #FF0000\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, err := ParseColormap(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeColormap(cm, tt.src); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if got := describeColormap(nil, ""); !strings.HasPrefix(got, "No colormap") {
		t.Errorf("no colormap: %q", got)
	}
}
