package tiles

import (
	"testing"
	"time"
)

func TestTTLMap(t *testing.T) {
	type lookup struct {
		cache string
		hit   bool
	}
	tests := []struct {
		name    string
		ttl     time.Duration
		put     bool
		wantOK  bool
		counted []lookup
	}{
		{"empty", time.Hour, false, false, []lookup{{"layer", false}}},
		{"fresh", time.Hour, true, true, []lookup{{"layer", true}}},
		{"expired", time.Nanosecond, true, false, []lookup{{"layer", false}}},
		{"off", -1, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []lookup
			m := newTTLMap[string, int](tt.ttl, "layer", func(c string, hit bool) { got = append(got, lookup{c, hit}) })
			if tt.put {
				m.put("a", 7)
			}
			if tt.ttl == time.Nanosecond {
				time.Sleep(time.Millisecond)
			}
			v, ok := m.get("a")
			if ok != tt.wantOK || (ok && v != 7) {
				t.Errorf("get = %d, %v; want 7, %v", v, ok, tt.wantOK)
			}
			if len(got) != len(tt.counted) || (len(got) == 1 && got[0] != tt.counted[0]) {
				t.Errorf("lookups counted %v, want %v", got, tt.counted)
			}
		})
	}
}

func TestTTLMapBounded(t *testing.T) {
	m := newTTLMap[int, int](time.Hour, "legend", func(string, bool) {})
	for i := range maxTTLEntries + 2 {
		m.put(i, i)
	}
	if n := len(m.m); n > maxTTLEntries+1 {
		t.Fatalf("%d entries kept, want at most %d", n, maxTTLEntries+1)
	}
	if v, ok := m.get(maxTTLEntries + 1); !ok || v != maxTTLEntries+1 {
		t.Errorf("last put lost: %d, %v", v, ok)
	}
}
