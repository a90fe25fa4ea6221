package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestGCSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	p, l := gcSettings(env(nil), 256<<20, 128<<20)
	if p != serveGCPercent || l != 384<<20+serveGCHeadroom {
		t.Errorf("defaults: percent %d, limit %d; want %d, %d", p, l, serveGCPercent, 384<<20+serveGCHeadroom)
	}
	p, l = gcSettings(env(map[string]string{"GOGC": "50"}), 0, 0)
	if p != -1 || l != serveGCHeadroom {
		t.Errorf("GOGC set: percent %d, limit %d; want -1, %d", p, l, serveGCHeadroom)
	}
	p, l = gcSettings(env(map[string]string{"GOMEMLIMIT": "1GiB", "GOGC": "off"}), 1, 1)
	if p != -1 || l != -1 {
		t.Errorf("both set: percent %d, limit %d; want -1, -1", p, l)
	}

	// Cache budgets near the int64 maximum ("no bound") saturate the limit: their sum wrapped,
	// to 2 GiB for two math.MaxInt64 budgets and to a negative limit (left unset, while the
	// log said GOMEMLIMIT came from the environment) for one.
	for _, c := range [][2]int64{{math.MaxInt64, math.MaxInt64}, {math.MaxInt64, 128 << 20}, {1 << 62, 1 << 62}, {math.MaxInt64 - serveGCHeadroom, 1}} {
		if _, l := gcSettings(env(nil), c[0], c[1]); l != math.MaxInt64 {
			t.Errorf("caches %d and %d bytes: limit %d, want %d", c[0], c[1], l, int64(math.MaxInt64))
		}
	}

	// applyGC sets what it is given and leaves alone what it is not.
	oldP, oldL := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(oldP); debug.SetMemoryLimit(oldL) }()
	applyGC(321, 5<<30)
	if got := debug.SetGCPercent(-1); got != 321 {
		t.Errorf("GC percent %d, want 321", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 5<<30 {
		t.Errorf("memory limit %d, want %d", got, 5<<30)
	}
	debug.SetGCPercent(77)
	applyGC(-1, -1)
	if got := debug.SetGCPercent(-1); got != 77 {
		t.Errorf("GC percent %d after applyGC(-1, -1), want 77 (untouched)", got)
	}
}
