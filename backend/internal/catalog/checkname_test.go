package catalog

import (
	"strings"
	"testing"
)

// TestCheckName: a layer name must be non-blank, at most MaxRefLen bytes and without "/",
// which no layer route can carry.
func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"terrain": true, "Land cover 2024": true, "a.b-c_d": true, strings.Repeat("n", MaxRefLen): true,
		"": false, "  ": false, "a/b": false, "/": false, strings.Repeat("n", MaxRefLen+1): false,
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%.20q): %v", name, err)
		}
	}
}
