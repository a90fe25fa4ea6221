package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestGCSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	p, l := gcSettings(env(nil), 256<<20, 128<<20, 0)
	if p != serveGCPercent || l != 384<<20+serveGCHeadroom {
		t.Errorf("defaults: percent %d, limit %d; want %d, %d", p, l, serveGCPercent, 384<<20+serveGCHeadroom)
	}
	p, l = gcSettings(env(map[string]string{"GOGC": "50"}), 0, 0, 0)
	if p != -1 || l != serveGCHeadroom {
		t.Errorf("GOGC set: percent %d, limit %d; want -1, %d", p, l, serveGCHeadroom)
	}
	p, l = gcSettings(env(map[string]string{"GOMEMLIMIT": "1GiB", "GOGC": "off"}), 1, 1, 1<<30)
	if p != -1 || l != -1 {
		t.Errorf("both set: percent %d, limit %d; want -1, -1", p, l)
	}

	// Cache budgets near the int64 maximum ("no bound") saturate the limit: their sum wrapped,
	// to 2 GiB for two math.MaxInt64 budgets and to a negative limit (left unset, while the
	// log said GOMEMLIMIT came from the environment) for one.
	for _, c := range [][2]int64{{math.MaxInt64, math.MaxInt64}, {math.MaxInt64, 128 << 20}, {1 << 62, 1 << 62}, {math.MaxInt64 - serveGCHeadroom, 1}} {
		if _, l := gcSettings(env(nil), c[0], c[1], 0); l != math.MaxInt64 {
			t.Errorf("caches %d and %d bytes: limit %d, want %d", c[0], c[1], l, int64(math.MaxInt64))
		}
	}

	// In a container the limit stays at nine tenths of its memory.
	if _, l := gcSettings(env(nil), 256<<20, 128<<20, 1<<30); l != (1<<30)/10*9 {
		t.Errorf("a 1 GiB container: limit %d, want %d", l, (1<<30)/10*9)
	}
	if _, l := gcSettings(env(nil), 256<<20, 128<<20, 64<<30); l != 384<<20+serveGCHeadroom {
		t.Errorf("a 64 GiB container: limit %d, want the caches + headroom %d", l, 384<<20+serveGCHeadroom)
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

func TestContainerMemory(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"cgroup v2 limit", map[string]string{"/sys/fs/cgroup/memory.max": "2147483648\n"}, 2 << 30},
		{"cgroup v2 no limit", map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0},
		{"cgroup v1 limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n"}, 1 << 30},
		{"cgroup v1 no limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"none", nil, 0},
		{"garbage", map[string]string{"/sys/fs/cgroup/memory.max": "lots"}, 0},
	} {
		if got := containerMemory(files(c.files)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
