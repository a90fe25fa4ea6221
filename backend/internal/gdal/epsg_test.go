package gdal

import "testing"

func TestKnownEPSG(t *testing.T) {
	for code, want := range map[int]bool{4326: true, 3857: true, 32633: true, 2056: true, 99999999: false, 0: false, -4326: false, 1: false} {
		if got := KnownEPSG(code); got != want {
			t.Errorf("KnownEPSG(%d) = %v, want %v", code, got, want)
		}
	}
}
