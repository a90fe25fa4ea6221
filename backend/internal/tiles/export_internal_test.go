package tiles

import (
	"fmt"
	"math"
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
